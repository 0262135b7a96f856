"""The system's assembly detector: k flagged people within r metres and T minutes.

A plain model module (no simpy). The engine feeds it each micro-batch of flagged sightings (time,
place, identity key) as they are produced; it keeps the sightings of the last T minutes and raises
an assembly alarm when a new sighting has at least k distinct flagged identities within r metres
of it in that window. After an alarm it stays quiet within r metres for T minutes (one alarm per
gathering, not one per newcomer). Each batch is put in (time, key) order first, so the order in
which sightings arrive within a batch never changes the result. Each alarm keeps the sightings
(capture ids) that raised it, so that what it was built from can be checked against the truth
(analysis.assembly); alarms are numbered in the order raised, which is time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass
class AssemblyDetector:
    """Streaming detector state.

    Parameters
    ----------
    k
        Distinct flagged identities that make an assembly.
    radius_m
        Distance within which they must be seen.
    window_s
        Time within which they must be seen.
    """

    k: int
    radius_m: float
    window_s: float
    _t: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _x: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _y: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    _key: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _cid: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _alarms: list[tuple[float, float, float, int]] = field(default_factory=list)
    raised_count: int = 0

    def feed(
        self,
        t: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        key: npt.ArrayLike,
        capture: npt.ArrayLike | None = None,
    ) -> list[tuple[float, float, float, int, int, npt.NDArray[np.int64]]]:
        """Add sightings (``capture``: their capture ids); return the alarms they raise as
        (t_s, x_m, y_m, n_flagged, alarm number, capture ids of the sightings that raised it)."""
        t = np.asarray(t, np.float64)
        if t.size == 0:
            return []
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        key = np.asarray(key, np.int64)
        cid = np.full(t.size, -1, np.int64) if capture is None else np.asarray(capture, np.int64)
        order = np.lexsort((cid, y, x, key, t))
        t, x, y, key, cid = t[order], x[order], y[order], key[order], cid[order]
        start = self._t.size
        self._t = np.concatenate([self._t, t])
        self._x = np.concatenate([self._x, x])
        self._y = np.concatenate([self._y, y])
        self._key = np.concatenate([self._key, key])
        self._cid = np.concatenate([self._cid, cid])
        raised: list[tuple[float, float, float, int, int, npt.NDArray[np.int64]]] = []
        r2 = self.radius_m**2
        for i in range(start, self._t.size):
            ti = self._t[i]
            lo = int(np.searchsorted(self._t, ti - self.window_s, side="left"))
            near = (
                (self._x[lo : i + 1] - self._x[i]) ** 2 + (self._y[lo : i + 1] - self._y[i]) ** 2
            ) <= r2
            if near.sum() < self.k:
                continue
            n = int(np.unique(self._key[lo : i + 1][near]).size)
            if n < self.k or self._quiet(ti, self._x[i], self._y[i]):
                continue
            alarm = (float(ti), float(self._x[i]), float(self._y[i]), n)
            self._alarms.append(alarm)
            raised.append((*alarm, self.raised_count, self._cid[lo : i + 1][near].copy()))
            self.raised_count += 1
        # Forget what can no longer matter.
        keep = int(np.searchsorted(self._t, self._t[-1] - self.window_s, side="left"))
        self._t, self._x, self._y, self._key, self._cid = (
            self._t[keep:],
            self._x[keep:],
            self._y[keep:],
            self._key[keep:],
            self._cid[keep:],
        )
        self._alarms = [a for a in self._alarms if a[0] >= self._t[-1] - self.window_s]
        return raised

    def _quiet(self, t: float, x: float, y: float) -> bool:
        return any(
            t - a[0] < self.window_s and (a[1] - x) ** 2 + (a[2] - y) ** 2 <= self.radius_m**2
            for a in self._alarms
        )
