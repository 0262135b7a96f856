"""Reading scenario files: ``extends`` chains, ``--set`` overrides, and errors that name the
file, the line and the key path (the loading half of :mod:`sim.scenario`, whose models it
validates against)."""

from __future__ import annotations

import copy
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError, short, shown
from sim.scenario import Scenario, expand_map_path


def load_scenario(
    source: str | Path | Mapping[str, Any], overrides: Sequence[str] | Mapping[str, Any] = ()
) -> Scenario:
    """Read, merge (``extends``), override and validate a scenario.

    Parameters
    ----------
    source
        A path to a TOML file, or a dictionary with the same structure.
    overrides
        ``["key.path=value", ...]`` as on the command line, or ``{"key.path": value}``.

    Raises
    ------
    ScenarioError
        With one message per problem.
    """
    loader = _Loader()
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        label = "<scenario>"
        data = loader.resolve_dict(data, label, base_dir=Path.cwd())
    else:
        label = str(source)
        data = loader.load_file(Path(source), stack=())
    try:
        # A new city.kind first: it replaces the city table, which the other overrides fill.
        items = sorted(_parse_overrides(overrides), key=lambda kv: kv[0] != "city.kind")
        for key, value in items:
            if key == "city.kind" and _city_kind(data) != value:
                data["city"] = {}
                loader.forget("city")
            _apply_override(data, key, value)
            loader.provenance[key] = "--set"
        if any(k == "city.path" for k, _ in items):  # relative to where the command runs
            _resolve_map_path(data, "--set", Path.cwd())
    except ScenarioError as exc:
        raise ScenarioError([f"{label}: {p}" for p in exc.problems]) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(loader.format(exc, label, data=data)) from None


def _city_kind(data: Mapping[str, Any]) -> Any:
    city = data.get("city")
    return city.get("kind", "radial") if isinstance(city, Mapping) else "radial"


def _resolve_map_path(data: dict[str, Any], label: str, base_dir: Path) -> None:
    """``city.path`` relative to the file that sets it, with ``~`` and ``$VARIABLES`` expanded."""
    city = data.get("city")
    if not isinstance(city, dict) or not isinstance(city.get("path"), str) or not city["path"]:
        return
    p = expand_map_path(city["path"], label)
    try:
        city["path"] = str(p if p.is_absolute() else (base_dir / p).resolve())
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte...
        raise ScenarioError(
            f"{label}: city.path: {shown(city['path'])} is not a usable file name ({exc})"
        ) from None


_MAX_EXTENDS = 32  # files in one 'extends' chain
MAX_DEPTH = 12  # tables and arrays within one another (a scenario needs 5)


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value`` (without recursion: any depth is safe)."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, Mapping):
            todo.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list | tuple):
            todo.extend((x, d + 1) for x in v)
        else:
            continue
        deepest = max(deepest, d + 1)
        if deepest > 10 * MAX_DEPTH:
            break
    return deepest


_MAX_FILE_BYTES = 10_000_000  # a scenario is a short text file


class _Loader:
    def __init__(self) -> None:
        self.provenance: dict[str, str] = {}  # key path -> file that set it (or "--set")
        self.lines: dict[str, dict[str, int]] = {}  # file -> key path -> line number

    def load_file(self, path: Path, stack: tuple[Path, ...]) -> dict[str, Any]:
        where = str(path)
        if len(stack) >= _MAX_EXTENDS:
            raise ScenarioError(
                f"{short(where)}: 'extends' chains more than {_MAX_EXTENDS} "
                f"files (from {stack[0]}); expected a shorter chain"
            )
        try:
            resolved = path.resolve()
            is_file = path.is_file()
        except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop
            by = f" (named by 'extends' in {stack[-1]})" if stack else ""
            raise ScenarioError(f"{short(where)}: not a usable file name{by} ({exc})") from None
        if resolved in stack:
            chain = " -> ".join(str(p) for p in (*stack, resolved))
            raise ScenarioError(f"{where}: circular 'extends' ({chain})")
        if not is_file:
            raise ScenarioError(
                f"{short(where)}: no such scenario file"
                + (f" (extended by {stack[-1]})" if stack else "")
            )
        try:
            size = path.stat().st_size
            if size > _MAX_FILE_BYTES:
                raise ScenarioError(
                    f"{where}: {size:,} bytes is too large for a scenario file "
                    f"(at most {_MAX_FILE_BYTES:,})"
                )
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{where}: cannot read the file ({exc})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ScenarioError(f"{where}: nested too deeply to be a scenario") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise ScenarioError(f"{where}: cannot read a value ({exc})") from None
        self.lines[where] = _key_lines(text)
        return self.resolve_dict(data, where, base_dir=path.parent, stack=(*stack, resolved))

    def resolve_dict(
        self, data: dict[str, Any], label: str, base_dir: Path, stack: tuple[Path, ...] = ()
    ) -> dict[str, Any]:
        depth = nesting_depth(data)
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{label}: tables and arrays nested {depth} deep; a scenario "
                f"is at most {MAX_DEPTH} deep"
            )
        parent: dict[str, Any] = {}
        ext = data.pop("extends", None)
        if ext is not None:
            if not isinstance(ext, str) or not ext:
                raise ScenarioError(
                    f"{label}: extends: expected a file name (a string), got {shown(ext)}"
                )
            parent = self.load_file(base_dir / ext, stack)
        try:
            keys = _leaf_paths(data)
        except RecursionError:
            raise ScenarioError(f"{label}: nested too deeply to be a scenario") from None
        for key in keys:
            self.provenance[key] = label
        _resolve_map_path(data, label, base_dir)
        city = data.get("city")
        if (
            isinstance(city, dict)
            and "kind" in city
            and isinstance(parent.get("city"), dict)
            and _city_kind(parent) != _city_kind(data)
        ):
            # Another kind of city is another city: the parent's table does not carry over.
            parent = {k: v for k, v in parent.items() if k != "city"}
            self.forget("city", keep=label)
        return _merge(parent, data)

    def forget(self, prefix: str, keep: str | None = None) -> None:
        """Drop the provenance of keys under ``prefix`` (a table that was replaced), except
        those set by ``keep``."""
        for k in [
            k
            for k, v in self.provenance.items()
            if (k == prefix or k.startswith(prefix + ".")) and v != keep
        ]:
            del self.provenance[k]

    def format(self, exc: ValidationError, label: str, *, data: Any = None) -> list[str]:
        problems: list[tuple[str, int, str]] = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            path = ".".join(str(p) for p in loc)
            source = self._source(path) or label
            where = source
            line = self.lines.get(source, {}).get(path) or self._nearest_line(source, path)
            if line:
                where = f"{source}:{line}"
            if source == "--set":
                where = f"{label} (--set)"
            message = f"{where}: {path or '(top level)'}: {_explain(err, loc, data)}"
            problems.append((source, line or 0, message))
        # In file order, so a reader can walk down the file.
        return [m for _, _, m in sorted(problems, key=lambda p: (p[0], p[1]))]

    def _source(self, path: str) -> str | None:
        parts = path.split(".")
        while parts:
            key = ".".join(parts)
            if key in self.provenance:
                return self.provenance[key]
            # A table whose keys came from one file.
            for k, v in self.provenance.items():
                if k.startswith(key + "."):
                    return v
            parts.pop()
        return None

    def _nearest_line(self, source: str, path: str) -> int | None:
        table = self.lines.get(source, {})
        parts = path.split(".")
        while parts:
            parts.pop()
            if ".".join(parts) in table:
                return table[".".join(parts)]
        return None


def _clean_loc(loc: tuple[int | str, ...]) -> list[int | str]:
    """Drop the discriminator tags pydantic inserts into union locations."""
    out: list[int | str] = []
    for i, p in enumerate(loc):
        prev = loc[i - 1] if i else None
        if isinstance(p, str) and (
            (prev == "city" and p in ("grid", "radial", "osm"))
            or (isinstance(prev, int) and "deployment" in loc[:i] and p in _deployment_tags())
        ):
            continue
        out.append(p)
    return out


def _deployment_tags() -> set[str]:
    from sim.kinds import kind_names

    return set(kind_names())


def _model_at(loc: Sequence[int | str], data: Any = None) -> type[BaseModel] | None:
    """The model class whose field ``loc[-1]`` is (best effort, for 'unknown key' messages).

    ``data`` (the merged scenario) picks the member of a tagged union by its ``kind``.
    """
    model: type[BaseModel] | None = Scenario
    node = data
    pending: list[type[BaseModel]] = []
    for p in loc[:-1]:
        node = _step(node, p)
        if isinstance(p, int):
            if pending:
                model = _by_kind(pending, node)
            continue
        if model is None:
            return None
        field = model.model_fields.get(p)
        if field is None:
            return None
        candidates = _models_in(field.annotation)
        is_list = typing.get_origin(field.annotation) is list
        if is_list:
            pending = candidates
            model = candidates[0] if candidates else None
        else:
            model = _by_kind(candidates, node) if candidates else None
    return model


def _step(node: Any, p: int | str) -> Any:
    if isinstance(p, int) and isinstance(node, list) and p < len(node):
        return node[p]
    if isinstance(p, str) and isinstance(node, dict):
        return node.get(p)
    return None


def _by_kind(candidates: list[type[BaseModel]], node: Any) -> type[BaseModel]:
    kind = node.get("kind") if isinstance(node, dict) else None
    for c in candidates:
        f = c.model_fields.get("kind")
        if f is not None and f.annotation == Literal[kind]:
            return c
    return candidates[0]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models_in(arg))
    if isinstance(annotation, types.UnionType):
        for arg in annotation.__args__:
            out.extend(m for m in _models_in(arg) if m not in out)
    return out


def _explain(err: Any, loc: Sequence[int | str], data: Any = None) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        model = _model_at(loc, data)
        allowed = f" (allowed here: {', '.join(model.model_fields)})" if model else ""
        return f"unknown key{allowed}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        word = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        bound = next(iter(ctx.values())) if ctx else "?"
        return f"expected a number {word} {bound}, got {shown(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {shown(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, got {shown(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {shown(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {shown(value)}"
    if kind in ("string_type",):
        return f"expected a string, got {shown(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {shown(value)}"
    if kind == "union_tag_invalid":
        return (
            f"expected kind {ctx.get('expected_tags')}, got {shown(ctx.get('tag'))}"
            " (this kind is not available in this version of survsim)"
        )
    if kind == "union_tag_not_found":
        tags = {"city": "'grid', 'radial', 'osm'"}.get(
            str(loc[0]) if loc else "",
            "'cctv', 'van', 'entry_point', 'bodycam', 'carcam', 'facility'",
        )
        return f"a 'kind' key is required (one of {tags})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a table, got {shown(value)}"
    if kind == "list_type":
        return f"expected an array, got {shown(value)}"
    if kind == "string_pattern_mismatch":
        return (
            f"expected lower-case letters, digits and '_' starting with a letter, "
            f"got {shown(value)}"
        )
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']} (got {shown(value)})"


# ---------------------------------------------------------------- merging and overrides
def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _leaf_paths(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in data.items():
        key = f"{prefix}{k}"
        out.append(key)
        if isinstance(v, Mapping):
            out.extend(_leaf_paths(v, key + "."))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                out.append(f"{key}.{i}")
                if isinstance(item, Mapping):
                    out.extend(_leaf_paths(item, f"{key}.{i}."))
    return out


def _parse_overrides(overrides: Sequence[str] | Mapping[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    items: list[tuple[str, Any]] = []
    problems: list[str] = []
    for raw in overrides:
        key, sep, text = raw.partition("=")
        key = key.strip()
        if not sep or not key or not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", key):
            problems.append(
                f"--set {shown(raw)}: expected key.path=value, e.g. population.people=5000"
            )
            continue
        items.append((key, _parse_value(text.strip(), key)))
    if problems:
        raise ScenarioError(problems)
    return items


def _parse_value(text: str, key: str = "") -> Any:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
        if nesting_depth(value) > MAX_DEPTH:
            raise RecursionError
        return value
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as grid or footfall
    except RecursionError:
        raise ScenarioError(
            f"--set {key}: the value is nested too deeply to be a scenario value"
        ) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError(f"--set {key}: cannot read the value {shown(text)} ({exc})") from None


def _apply_override(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node: Any = data
    for i, p in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(node, list):
            node = _list_item(node, p, key)
        else:
            if p not in node or not isinstance(node[p], dict | list):
                node[p] = [] if nxt.isdigit() and p == "deployment" else {}
            node = node[p]
        if not isinstance(node, dict | list):
            where = ".".join(parts[: i + 1])
            raise ScenarioError(
                f"--set {key}: {where} is a value ({shown(node)}), not a table; "
                f"cannot set a key inside it"
            )
    last = parts[-1]
    if isinstance(node, list):
        idx = _index(node, last, key)
        node[idx] = value
    else:
        node[last] = value


def _index(seq: list[Any], part: str, key: str) -> int:
    if not part.isdigit():
        raise ScenarioError(
            f"--set {key}: expected an index (0, 1, ...) where {shown(part)} stands"
        )
    idx = int(part)
    if idx >= len(seq):
        raise ScenarioError(
            f"--set {key}: index {idx} is out of range; the scenario has {len(seq)} entries there"
        )
    return idx


def _list_item(seq: list[Any], part: str, key: str) -> Any:
    return seq[_index(seq, part, key)]


# ---------------------------------------------------------------- line numbers
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """Map key paths to the line that sets them (first occurrence; best effort)."""
    out: dict[str, int] = {}
    current: list[str] = []
    counts: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            parts = [p.strip().strip("\"'") for p in m.group(2).split(".")]
            if m.group(1) == "[[":
                name = ".".join(parts)
                idx = counts.get(name, 0)
                counts[name] = idx + 1
                current = [*parts, str(idx)]
            else:
                current = parts
            out.setdefault(".".join(current), n)
            continue
        m = _KEYLINE.match(line)
        if m:
            parts = [p.strip().strip("\"'") for p in m.group(1).split(".")]
            out.setdefault(".".join([*current, *parts]), n)
    return out
