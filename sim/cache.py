"""survsim's on-disk cache: prepared street maps and routing trees.

Both are pure functions of their inputs, slow to compute and the same in every run of a city, so
a run keeps them in ``$SURVSIM_CACHE`` (default ``$XDG_CACHE_HOME/survsim``, else
``~/.cache/survsim``) and the next run of the same city loads them instead. Entries are keyed
by a hash of everything they are computed from (and the versions of the code that computes
them), written to a temporary file and renamed, so concurrent runs (a sweep's workers) never
read half an entry; an entry that cannot be read is computed again. A cache that cannot be
written costs only time. ``SURVSIM_CACHE=off`` turns caching off.

Routing trees are bounded: entries are evicted oldest-used first once the ``routes`` folder
passes ``SURVSIM_ROUTE_CACHE_MB`` (default 2048 MB), and a city whose trees alone exceed half
of that is not cached.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

_OFF = {"off", "0", "no", "none", "false"}
_ROUTE_CACHE_MB = 2048


def enabled() -> bool:
    """Whether runs read and write the cache (``SURVSIM_CACHE=off`` turns it off)."""
    return os.environ.get("SURVSIM_CACHE", "").strip().lower() not in _OFF


def cache_dir() -> Path:
    """Where prepared maps, routing trees and osmnx's download cache are kept."""
    env = os.environ.get("SURVSIM_CACHE", "").strip()
    if env and env.lower() not in _OFF:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "survsim"


def route_cache_bytes() -> int:
    """The routing-tree folder's size bound in bytes (``SURVSIM_ROUTE_CACHE_MB``)."""
    raw = os.environ.get("SURVSIM_ROUTE_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else _ROUTE_CACHE_MB
    except ValueError:
        mb = _ROUTE_CACHE_MB
    return int(max(mb, 0.0) * 2**20)


def read_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The named arrays of a cache entry, or None when it is missing or unreadable. A hit
    marks the entry as recently used (its modification time), for eviction."""
    if not enabled() or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {name: z[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)
    return out


def write_arrays(path: Path, arrays: dict[str, np.ndarray], *, limit: int | None = None) -> bool:
    """Store arrays as one uncompressed ``.npz`` entry (atomically). With ``limit`` (bytes), the
    entry's folder is kept under it by evicting the least recently used entries, and an entry
    larger than half the limit is not stored. Returns whether the entry was written."""
    if not enabled():
        return False
    size = sum(a.nbytes for a in arrays.values())
    if limit is not None and size > limit // 2:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    if limit is not None:
        _evict(path.parent, limit, keep=path)
    return True


def _evict(folder: Path, limit: int, keep: Path) -> None:
    """Delete the least recently used ``.npz`` entries of ``folder`` until it fits ``limit``."""
    entries = []
    for p in folder.glob("*.npz"):
        if p.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            st = p.stat()
            entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if p == keep:
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            total -= size
