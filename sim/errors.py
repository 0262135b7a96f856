"""User-facing errors.

Every problem a user can cause (a bad scenario file, an unwritable output directory) is raised as a
:class:`UserError` holding one readable line per problem. The CLI prints them and exits with code 2;
nothing else in the package prints or exits.
"""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """One or more problems the user can fix, each a readable sentence.

    Parameters
    ----------
    problems
        One message per problem. Messages name the file, the key path and what was expected.
    """

    exit_code = 2

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ScenarioError(UserError):
    """A scenario file (or an override of it) that cannot be used."""


class Interrupted(UserError):  # noqa: N818 - not an error: the user stopped the run
    """The user pressed Ctrl-C: one line saying what was left behind, exit code 130."""

    exit_code = 130


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for an error message, shortened: a message never echoes a megabyte.

    Integers too long to print in full (Python refuses beyond 4,300 digits) are described.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} too large to show"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}... ({len(text):,} characters)"


def short(text: str, limit: int = 160) -> str:
    """A text (a file name, say) for an error message, shortened like :func:`shown`."""
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text):,} characters)"
