"""survsim's on-disk cache: prepared street maps, routing tables and camera coverage.

All are pure functions of their inputs, slow to compute and the same in every run of a city (or
camera network), so a run keeps them in ``$SURVSIM_CACHE`` (default: the platform's cache
folder, ``$XDG_CACHE_HOME/survsim``, else ``~/.cache/survsim`` on Linux) and the next run loads
them instead.
Entries are keyed by a hash of everything they are computed from (and the versions of the code
that computes them), written under a temporary name of their own and renamed, so concurrent
runs (a sweep's workers, the classroom's sessions) never read half an entry; an entry that
cannot be read is computed again. A cache that cannot be written costs only time.
``SURVSIM_CACHE=off`` turns caching off.

The ``routes`` folder (routing tables, coverage) is bounded: entries are evicted least recently
used first once it passes ``SURVSIM_ROUTE_CACHE_MB`` (default 8192 MB: the compact trees of a
metropolis of 40,000 crossings take 2 GB), and an entry larger than half of that is not stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs

Arrays = dict[str, np.ndarray]

_OFF = {"off", "0", "no", "none", "false"}
_ROUTE_CACHE_MB = 8192


def enabled() -> bool:
    """Whether runs read and write the cache (``SURVSIM_CACHE=off`` turns it off)."""
    return os.environ.get("SURVSIM_CACHE", "").strip().lower() not in _OFF


def cache_dir() -> Path:
    """Where prepared maps, routing trees and osmnx's download cache are kept."""
    env = os.environ.get("SURVSIM_CACHE", "").strip()
    if env and env.lower() not in _OFF:
        return Path(env)
    return Path(platformdirs.user_cache_dir("survsim", appauthor=False))


def route_cache_bytes() -> int:
    """The routing-tree folder's size bound in bytes (``SURVSIM_ROUTE_CACHE_MB``)."""
    raw = os.environ.get("SURVSIM_ROUTE_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else _ROUTE_CACHE_MB
    except ValueError:
        mb = _ROUTE_CACHE_MB
    return int(max(mb, 0.0) * 2**20)


def route_entry(kind: str, *parts: str | bytes | np.ndarray) -> Path:
    """The ``routes`` folder entry of a ``kind`` of table computed from ``parts``: a hash of
    every part (arrays with their type and shape), so that any change of input is a miss."""
    h = hashlib.sha256(kind.encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"|")
    return cache_dir() / "routes" / f"{kind}-{h.hexdigest()[:32]}"


def memo(
    entry: Path | None,
    names: tuple[str, ...],
    compute: Callable[[], Arrays],
    fits: Callable[[Arrays], bool],
) -> Arrays:
    """The arrays ``names`` of ``entry`` if it holds them and they ``fit`` (shapes, types);
    otherwise ``compute()``, stored in ``entry`` for the next run (under the ``routes``
    bound). ``entry`` None: always computed, never stored."""
    if entry is not None:
        got = read_arrays(entry, names)
        if got is not None and fits(got):
            return got
    arrays = compute()
    if entry is not None:
        write_arrays(entry, arrays, limit=route_cache_bytes())
    return arrays


def read_arrays(entry: Path, names: tuple[str, ...]) -> Arrays | None:
    """The named arrays of a cache entry (a folder of ``.npy`` files), or None when it is
    missing or unreadable. The arrays are memory-mapped read-only: loading costs nothing
    until a page is used, and nothing can change them in place. A hit marks the entry as
    recently used (its modification time), for eviction."""
    if not enabled() or not entry.is_dir():
        return None
    try:
        out = {
            name: np.asarray(np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False))
            for name in names
        }
    except (OSError, ValueError, EOFError):
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)
    return out


def write_arrays(entry: Path, arrays: Arrays, *, limit: int | None = None) -> bool:
    """Store arrays as one cache entry, a folder of ``.npy`` files written under a temporary
    name and renamed into place (a concurrent writer of the same entry leaves the first one
    in place). With ``limit`` (bytes), the entries next to it are kept under it by evicting
    the least recently used, and an entry larger than half the limit is not stored.
    Returns whether the entry is in place."""
    if not enabled():
        return False
    size = sum(a.nbytes for a in arrays.values())
    if limit is not None and size > limit // 2:
        return False
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent))
    except OSError:
        return False
    try:
        for name, a in arrays.items():
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
        os.replace(tmp, entry)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return entry.is_dir()
    if limit is not None:
        _evict(entry.parent, limit, keep=entry, added=size)
    return True


# What each folder held at this process's last look, plus what it has written since. A look at a
# folder stats every file of every entry (thousands for a full cache: 0.3 s), so it is taken only
# when this process's writes may have filled the bound, and eviction leaves a tenth of it free.
# Other processes' writes are seen at the next look: the bound is kept within what the processes
# write between two of their looks.
_HELD: dict[Path, int] = {}
_FREED = 0.9


def _evict(folder: Path, limit: int, keep: Path, added: int = 0) -> None:
    """Delete the least recently used entries of ``folder`` until it fits in ``_FREED`` of
    ``limit``, when the writes of this process may have filled ``limit``."""
    held = _HELD.get(folder)
    if held is not None and held + added <= limit:
        _HELD[folder] = held + added
        return
    entries = []
    for p in folder.iterdir():
        if p.name.startswith(".") or not p.is_dir():
            continue
        with contextlib.suppress(OSError):
            size = sum(f.stat().st_size for f in p.iterdir())
            entries.append((p.stat().st_mtime, size, p))
    total = sum(size for _, size, _ in entries)
    if total > limit:
        for _, size, p in sorted(entries, key=lambda e: e[0]):
            if total <= _FREED * limit:
                break
            if p == keep:
                continue
            shutil.rmtree(p, ignore_errors=True)
            total -= size
    _HELD[folder] = total
