"""Process settings for the processes survsim owns (CLI runs, sweep and comparison workers).

The engine allocates and frees many arrays of a few hundred kilobytes to a few megabytes in every
micro-batch. glibc serves blocks above its mmap threshold with a fresh ``mmap`` each time (and
page faults to fill them); it normally raises that threshold as blocks are freed, but not once a
trim threshold has been set, and Dask's workers set one (``MALLOC_TRIM_THRESHOLD_=65536``), which
made sweep runs on Dask about 30% slower than the same runs in plain processes. Fixing both
thresholds at generous values keeps freed memory for reuse: runs are faster everywhere and the
same on Dask as in local processes. Results do not change (only where memory comes from).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tune_allocator(mmap_threshold: int = 32 << 20, trim_threshold: int = 128 << 20) -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); False where not glibc."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl): nothing to tune
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
    _done = ok
    return ok
