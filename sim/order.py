"""Sorting rows by time (or by small integer keys) the way ``np.lexsort`` / a stable argsort
does, but faster.

Event times are continuous, so ties are rare (though real: clipped commute times, arrivals
released together). One unstable sort of the times (numpy's vectorised sort) followed by a
lexsort of only the tied rows gives exactly the order of a stable lexsort by time, then by the
tie-breaking keys, then by row, at a fraction of the cost of sorting every key of every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def time_order(t: npt.NDArray[np.float64], *ties: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Indices sorting rows by ``t``, then by each of ``ties`` in turn, then by row: the same
    as ``np.lexsort((*reversed(ties), t))``."""
    t = np.asarray(t)
    order = np.argsort(t)
    ts = t[order]
    if ts.size and np.isnan(ts[-1]):  # NaNs are never "equal": let lexsort place them
        return np.lexsort((*reversed(ties), t))
    tied = np.flatnonzero(ts[1:] == ts[:-1])
    if tied.size:
        rows = np.unique(np.concatenate([tied, tied + 1]))  # every row of a run of ties
        sub = order[rows]
        order[rows] = sub[np.lexsort((sub, *(k[sub] for k in reversed(ties)), t[sub]))]
    return order.astype(np.int64, copy=False)


def int_order(keys: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """``np.argsort(keys, kind="stable")`` for integer keys, faster for small non-negative ones:
    numpy's stable sort is a radix sort on 16-bit keys, so keys below 2**16 take one pass and
    keys below 2**32 two (low half, then high half, each stable)."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, np.int64)
    low, high = int(keys.min()), int(keys.max())
    if low < 0 or high >= 1 << 32:
        return np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    if high < 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable").astype(np.int64, copy=False)
    by_low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    by_high = np.argsort((keys[by_low] >> 16).astype(np.uint16), kind="stable")
    return by_low[by_high].astype(np.int64, copy=False)
