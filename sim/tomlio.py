"""Reading and writing scenario TOML.

Reading uses the standard library's ``tomllib``. Writing covers what a resolved scenario holds
(tables, arrays of tables, scalars and arrays of scalars); there is no TOML writer in the standard
library and the format is small enough not to need a dependency.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and len(v) > 0 and all(isinstance(x, Mapping) for x in v)


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """Serialise nested dictionaries to TOML text (None values are omitted)."""
    lines: list[str] = [f"# {h}" if h else "#" for h in header.splitlines()]
    if lines:
        lines.append("")
    _emit(data, [], lines)
    return "\n".join(lines).rstrip() + "\n"


def _emit(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items()
               if v is not None and not isinstance(v, Mapping) and not _is_table_array(v)]
    for k, v in scalars:
        lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in table.items():
        if isinstance(v, Mapping):
            lines.append("")
            lines.append("[" + ".".join(_key(p) for p in [*path, k]) + "]")
            _emit(v, [*path, k], lines)
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append("[[" + ".".join(_key(p) for p in [*path, k]) + "]]")
                _emit(item, [*path, k], lines)
