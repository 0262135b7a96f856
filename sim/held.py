"""Rows held until their time comes, in buckets by the micro-batch that releases them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from sim.order import int_order


class Held:
    """Rows held until their time comes, in buckets by the micro-batch that releases them.

    A row with time ``t`` is released by the first window whose end is after ``t`` (never
    earlier than the next release), so each release touches only its own rows instead of
    re-filtering everything held. Within a release, rows keep the order they were added in,
    or, with ``sort`` (rows -> their order, a stable sort), come in that order: each added
    part is sorted once, when it is added, and a release is sorted again only when it
    gathers more than one part.
    """

    def __init__(
        self,
        ends: npt.NDArray[np.float64],
        key: str,
        sort: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
    ) -> None:
        self.ends = ends  # end time of each window, as the clock computes it
        self.key = key
        self.sort = sort
        self.buckets: dict[int, list[dict[str, np.ndarray]]] = {}
        self.next = 0  # the window that releases next

    def add(self, rows: dict[str, np.ndarray]) -> None:
        t = rows[self.key]
        if t.size == 0:
            return
        if self.sort is not None:
            order = self.sort(rows)
            rows = {k: v[order] for k, v in rows.items()}
            t = rows[self.key]
        b = np.maximum(np.searchsorted(self.ends, t, side="right"), self.next)
        first, last = int(b.min()), int(b.max())
        if first == last:
            self.buckets.setdefault(first, []).append(rows)
            return
        if self.sort is not None:  # in time order, so each window's rows are a slice
            cuts = np.flatnonzero(b[1:] != b[:-1]) + 1
            for lo, hi in zip(
                np.concatenate([[0], cuts]).tolist(),
                np.concatenate([cuts, [b.size]]).tolist(),
                strict=True,
            ):
                self.buckets.setdefault(int(b[lo]), []).append(
                    {k: v[lo:hi] for k, v in rows.items()}
                )
            return
        order = int_order(b)  # window numbers: small keys, a radix sort
        sb = b[order]
        cuts = np.flatnonzero(sb[1:] != sb[:-1]) + 1
        for part in np.split(order, cuts):
            self.buckets.setdefault(int(b[part[0]]), []).append(
                {k: v[part] for k, v in rows.items()}
            )

    def release(self, k: int) -> dict[str, np.ndarray]:
        """The rows window ``k`` releases (empty dict if none), in the order they were added
        (or sorted)."""
        self.next = k + 1
        chunks = self.buckets.pop(k, [])
        if not chunks:
            return {}
        if len(chunks) == 1:
            return chunks[0]
        rows = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
        if self.sort is not None:
            order = self.sort(rows)
            rows = {name: v[order] for name, v in rows.items()}
        return rows
