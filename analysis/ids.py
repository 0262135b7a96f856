"""Row look-ups by id, for tables whose rows may come in any order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


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
    if n == 0:
        return np.full(wanted.size, -1, np.int64)
    by_id = np.full(int(ids.max()) + 1, -1, np.int64)
    by_id[ids] = np.arange(n)
    inside = (wanted >= 0) & (wanted < by_id.size)
    return np.where(inside, by_id[np.where(inside, wanted, 0)], -1)


def take(col: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """``col.to_numpy()[rows]`` chunk by chunk: a run's columns come in many batches, and
    joining them first would copy (and read) the whole column for the rows wanted."""
    if col.num_chunks <= 1:
        return col.to_numpy()[rows]
    lengths = np.array([len(c) for c in col.chunks], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    which = np.searchsorted(starts, rows, side="right") - 1
    order = np.argsort(which, kind="stable")  # nearly sorted: rows come in id order
    bounds = np.searchsorted(which[order], np.arange(lengths.size + 1))
    out = np.empty(rows.size, col.type.to_pandas_dtype())
    for k in np.flatnonzero(np.diff(bounds)):
        sel = order[bounds[k] : bounds[k + 1]]
        out[sel] = col.chunk(int(k)).to_numpy()[rows[sel] - starts[k]]
    return out


def rows_of_ids(ids: pa.ChunkedArray, wanted: np.ndarray) -> np.ndarray:
    """:func:`analysis.ids.rows_of` for a column of ids, checked batch by batch for the usual
    case (the ids are the row numbers) without joining the column into one array."""
    if not row_numbered(ids):
        return rows_of(ids.to_numpy(), wanted)
    wanted = np.asarray(wanted, np.int64)
    return np.where((wanted >= 0) & (wanted < len(ids)), wanted, -1)


def row_numbered(ids: pa.ChunkedArray) -> bool:
    """Whether a column of ids holds its row numbers (0, 1, 2, ...), checked batch by batch."""
    at = 0
    for chunk in ids.chunks:
        a = chunk.to_numpy()
        if a.size and not (a[0] == at and a[-1] == at + a.size - 1 and np.all(np.diff(a) == 1)):
            return False
        at += a.size
    return True
