"""Sorting rows by time, the way ``np.lexsort`` with time as the primary key does, but faster.

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
