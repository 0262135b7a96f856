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

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ScenarioError(UserError):
    """A scenario file (or an override of it) that cannot be used."""
