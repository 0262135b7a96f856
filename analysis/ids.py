"""Row look-ups by id, for tables whose rows may come in any order."""

from __future__ import annotations

import numpy as np


def rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The row of each ``wanted`` id in a column of unique ``ids`` (-1: absent).

    The engine writes ids as row numbers (0, 1, 2, ... in order): then an id is its own row and
    no table is built. Any other order of rows is looked up, so results never depend on it.
    """
    ids = np.asarray(ids, np.int64)
    wanted = np.asarray(wanted, np.int64)
    n = ids.size
    if n and ids[0] == 0 and ids[-1] == n - 1 and np.all(np.diff(ids) == 1):
        return np.where((wanted >= 0) & (wanted < n), wanted, -1)
    by_id = np.full(int(ids.max()) + 1 if n else 0, -1, np.int64)
    by_id[ids] = np.arange(n)
    inside = (wanted >= 0) & (wanted < by_id.size)
    return np.where(inside, by_id[np.where(inside, wanted, 0)], -1)
