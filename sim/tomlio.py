"""Reading and writing scenario TOML.

Reading uses the standard library's ``tomllib``; writing uses ``tomli-w`` (the standard
library has no writer), which escapes every string and key so that whatever a scenario holds
(control characters, characters outside the Basic Multilingual Plane) loads back as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import tomli_w

# Characters a TOML comment may not hold (every control character but the tab).
_NOT_IN_COMMENT = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _drop_none(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list | tuple):
        return [_drop_none(x) for x in v if x is not None]
    return v


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """Serialise nested dictionaries to TOML text (None values are omitted); ``header``
    becomes comment lines at the top (characters a comment cannot hold become ``?``)."""
    lines = [f"# {_NOT_IN_COMMENT.sub('?', h)}" if h else "#" for h in header.splitlines()]
    body = tomli_w.dumps(_drop_none(data))
    return ("\n".join(lines) + "\n\n" if lines else "") + body


def value(v: Any) -> str:
    """One value as TOML text (as on the right of ``key = ``), e.g. for ``--set key=value``."""
    text = tomli_w.dumps({"v": _drop_none(v)})
    return text.partition("=")[2].strip()
