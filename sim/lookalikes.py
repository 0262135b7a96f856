"""Persistent look-alikes: a passer-by's resemblance to a listed face is a property of the pair.

An impostor comparison's logit score is split into a part that belongs to the two people and a
part that changes from capture to capture:

    score = mu + sd * (sqrt(rho) * A_pe + sqrt(1 - rho) * E_c),   A, E ~ N(0, 1)

``rho`` is the share of the impostor variance that persists for a pair of people (``mu``, ``sd``:
the pair's distribution, :mod:`sim.facematch`). Every comparison still has the model's false match
rate, so a capture's false-match chance averaged over people is the model's FPIR exactly; but a
person whose face happens to sit close to a listed face (a large A) is falsely matched at many of
their captures, and most people at none. The same innocent person is flagged again and again.

How it is computed. A person's chance at one capture is 1 - prod_e (1 - q(A_pe)) over the list's
entries e, with q(A) = P(sqrt(rho) A + sqrt(1 - rho) E > z). A list holds up to millions of
entries, so per group of entries (a *cell* of N) only the ``TOP`` largest A's are drawn, as order
statistics of N normals, and the other N - TOP count with their expectation below the smallest of
those. Doing that for every resident would cost more than the whole run, so it is done for
``VIRTUAL`` virtual people per (age band, group), stratified on their resemblance to the list's
own-group entries, and each resident takes one of them by a coin keyed by the resident (the same
in every policy run on one seed: common random numbers). The virtual people's chances are scaled
so that their mean is the FPIR exactly. Which entries a resident's look-alikes are is drawn for
the resident (keyed by person and cell), so two residents sharing a virtual person do not share
their look-alikes. With ``rho = 0`` every chance is the FPIR.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from sim import cache
from sim.facematch import ScoreModel, _logit
from sim.rng import keyed_index, keyed_uniform, stable_hash

TOP = 4  # the largest resemblances drawn per virtual person and cell; the rest by expectation
VIRTUAL_BITS = 11
VIRTUAL = 1 << VIRTUAL_BITS  # virtual people per (age band, group): 2048
_GRID = np.linspace(-9.0, 9.0, 3601)  # standard-normal A, for the tables of the rest
_EPS = 1e-300

Array = npt.NDArray[np.float64]


def _sf(z: npt.ArrayLike) -> Array:
    return np.asarray(ndtr(-np.asarray(z, np.float64)), np.float64)


def _phi(a: Array) -> Array:
    return np.asarray(np.exp(-0.5 * a * a) / np.sqrt(2 * np.pi), np.float64)


@dataclass(frozen=True)
class _Virtual:
    """The virtual people of one (age band, group): each one's chance, the weight of each of
    their look-alike slots (per cell: TOP entries, then the rest) and the TOP resemblances."""

    p: Array  # (VIRTUAL,)
    slots: npt.NDArray[np.float32]  # (VIRTUAL, cells, TOP + 1)
    tops: npt.NDArray[np.float32]  # (VIRTUAL, cells, TOP)


class Lookalikes:
    """Each person's chance, at a capture, of being falsely matched to some entry of one list.

    Parameters
    ----------
    model, threshold
        The face-match model and the threshold searched at.
    enrolled
        Searched entries per model group (the cells).
    rho
        The persistent share of impostor-score variance, in [0, 0.99].
    person_key, pick_key
        Keyed-coin keys: which virtual person a resident is (person), and which entries of a
        cell their look-alikes are (person, cell, k).
    n_people
        The population (residents' virtual people are then worked out once, not per capture).
    people_group, people_age
        Each resident's model group and age band (index = person id): with them every
        resident's chance is worked out once, and a capture's chance is one look-up. A capture
        must then carry its person's own group and age band.
    """

    def __init__(
        self,
        model: ScoreModel,
        threshold: float,
        enrolled: npt.ArrayLike,
        rho: float,
        person_key: np.uint64,
        pick_key: np.uint64,
        n_people: int = 0,
        people_group: npt.ArrayLike | None = None,
        people_age: npt.ArrayLike | None = None,
    ) -> None:
        self.rho = float(rho)
        self.person_key, self.pick_key = person_key, pick_key
        self.n = np.asarray(enrolled, np.float64)
        self.cells = np.flatnonzero(self.n > 0)
        pmu, psd = model.pair_params_by_age()
        self.pmu, self.psd = np.asarray(pmu), np.asarray(psd)
        self.z = (float(_logit(threshold)) - self.pmu) / self.psd  # (age, probe, group)
        self.fpir = model.fpir_by_age(threshold, self.n)  # (age, probe)
        self.a, self.b = np.sqrt(self.rho), np.sqrt(1.0 - self.rho)
        self._virtual: dict[tuple[int, int], _Virtual] = {}
        # Every virtual person's chance, by (age band, group), filled as combinations appear.
        self._p = np.full((*self.fpir.shape, VIRTUAL), np.nan)
        self._index = (
            keyed_index(person_key, VIRTUAL_BITS, np.arange(n_people)) if n_people else None
        )
        self._p_person: Array | None = None
        self._tables: (
            tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]] | None
        ) = None
        if self._index is not None and people_group is not None and people_age is not None:
            g = np.asarray(people_group, np.int64)
            a = np.asarray(people_age, np.int64)
            if g.size == a.size == n_people:
                self._fill()
                k = self.fpir.shape[1]
                self._p_person = self._p.reshape(-1).take((a * k + g) * VIRTUAL + self._index)

    # ------------------------------------------------------------ the virtual people
    def _rest_mean(self, age: int, group: int, cell: int, c: Array) -> Array:
        """E[q(A) | A < c] (an entry below the TOP's smallest resemblance c)."""
        q = _sf((self.z[age, group, cell] - self.a * _GRID) / self.b)
        dens = _phi(_GRID) * (_GRID[1] - _GRID[0])
        below, mass = np.cumsum(q * dens), np.cumsum(dens)
        return np.asarray(
            np.clip(
                np.interp(c, _GRID, below) / np.maximum(np.interp(c, _GRID, mass), _EPS), 0.0, 1.0
            ),
            np.float64,
        )

    @staticmethod
    def order_statistics(n: int, v: Array) -> Array:
        """The largest min(TOP, n) of n standard normals from uniforms ``v`` (rows: draws,
        columns: k), largest first (NaN beyond n)."""
        out = np.full(v.shape, np.nan)
        log_u = np.zeros(v.shape[0])
        for k in range(min(TOP, n)):
            log_u = log_u + np.log(np.maximum(v[:, k], _EPS)) / (n - k)
            out[:, k] = -ndtri(np.clip(-np.expm1(log_u), _EPS, 1.0))
        return out

    def virtual(self, age: int, group: int) -> _Virtual:
        """The virtual people of one age band and group (built on first use)."""
        got = self._virtual.get((age, group))
        if got is None:
            got = self._virtual[(age, group)] = _build(
                self.rho,
                tuple(self.n.tolist()),
                tuple(self.z[age, group].tolist()),
                float(self.fpir[age, group]),
                group,
            )
        return got

    def _which(self, person: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        if self._index is not None and person.size and int(person.max()) < self._index.size:
            return np.asarray(self._index.take(person), np.int64)
        return keyed_index(self.person_key, VIRTUAL_BITS, person)

    # ------------------------------------------------------------ residents
    def p_false(self, person: npt.ArrayLike, group: npt.ArrayLike, age: npt.ArrayLike) -> Array:
        """Each person's chance, at one capture, of a false match to some entry."""
        p = np.asarray(person, np.int64)
        if self._p_person is not None and (not p.size or int(p.max()) < self._p_person.size):
            return np.asarray(self._p_person.take(p), np.float64)
        g, a = np.asarray(group, np.int64), np.asarray(age, np.int64)
        k = self.fpir.shape[1]
        self._fill()
        flat = (a * k + g) * VIRTUAL + self._which(p)
        return np.asarray(self._p.reshape(-1).take(flat), np.float64)

    def _fill(self) -> None:
        """Every virtual person's chance, for every (age band, group), the first time."""
        if np.isnan(self._p[0, 0, 0]):
            for ai in range(self.fpir.shape[0]):
                for gi in range(self.fpir.shape[1]):
                    self._p[ai, gi] = self.virtual(ai, gi).p

    def claim(
        self,
        person: npt.ArrayLike,
        group: npt.ArrayLike,
        age: npt.ArrayLike,
        u_slot: npt.ArrayLike,
        u_rest: npt.ArrayLike,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Array]:
        """For false matches of these people: the cell (index into ``cells``), the entry's
        position within the cell, and the pair's A (NaN for an entry of the rest)."""
        p = np.asarray(person, np.int64)
        g, a = np.asarray(group, np.int64), np.asarray(age, np.int64)
        m, n_cells = p.size, self.cells.size
        cell_cum, slot_cum, tops_all = self._claim_tables()
        row = (a * self.fpir.shape[1] + g) * VIRTUAL + self._which(p)
        # The cell by its total, then the slot within it (TOP look-alikes, then the rest).
        u = np.asarray(u_slot, np.float64)
        per_cell = cell_cum[row]  # (m, cells): cumulative over cells of each cell's total
        target = u * per_cell[:, -1]
        cell = np.minimum((per_cell <= target[:, None]).sum(axis=1), n_cells - 1)
        before = np.where(cell > 0, per_cell[np.arange(m), np.maximum(cell - 1, 0)], 0.0)
        in_cell = slot_cum[row, cell]  # (m, TOP + 1): cumulative over the cell's slots
        k = np.minimum((in_cell <= (target - before)[:, None]).sum(axis=1), TOP)
        is_top = k < TOP
        n = self.n[self.cells][cell].astype(np.int64)
        pos = np.minimum((np.asarray(u_rest, np.float64) * n).astype(np.int64), n - 1)
        ti = np.flatnonzero(is_top)
        if ti.size:
            picks = self._floyd(p[ti], self.cells[cell[ti]], n[ti])
            pos[ti] = picks[np.arange(ti.size), k[ti]]
        big_a = np.where(
            is_top, tops_all[row, cell, np.minimum(k, TOP - 1)].astype(np.float64), np.nan
        )
        return cell.astype(np.int64), pos, big_a

    def _claim_tables(
        self,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Every virtual person's slot weights summed per cell and cumulated over cells, the
        slots cumulated within each cell, and the TOP resemblances, stacked over (age band,
        group) so that a batch of claims is three gathers (built on first use)."""
        if self._tables is None:
            virtual = [
                self.virtual(ai, gi)
                for ai in range(self.fpir.shape[0])
                for gi in range(self.fpir.shape[1])
            ]
            self._tables = (
                np.concatenate([np.cumsum(v.slots.sum(axis=2), axis=1) for v in virtual]),
                np.concatenate([np.cumsum(v.slots, axis=2) for v in virtual]),
                np.concatenate([v.tops for v in virtual]),
            )
        return self._tables

    def _floyd(
        self, person: npt.NDArray[np.int64], cell: npt.NDArray[np.int64], n: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """TOP distinct entry positions per person and cell (Floyd's sampling with keyed
        coins): the entries that a resident's TOP look-alike slots of the cell stand for."""
        k = np.minimum(TOP, n)
        out = np.full((person.size, TOP), -1, np.int64)
        for step in range(TOP):
            live = step < k
            j = n - k + step  # Floyd: for j in N-K .. N-1
            u = keyed_uniform(self.pick_key, person, cell, step)
            t = np.minimum((u * (j + 1)).astype(np.int64), j)
            taken = (out[:, :step] == t[:, None]).any(axis=1)
            out[:, step] = np.where(live, np.where(taken, j, t), -1)
        return out

    def score_above(
        self,
        age: npt.ArrayLike,
        group: npt.ArrayLike,
        cell: npt.ArrayLike,
        big_a: npt.ArrayLike,
        u: npt.ArrayLike,
    ) -> Array:
        """The impostor score of a false match of a TOP look-alike (its pair's A known): the
        capture part drawn given that the score passed the threshold."""
        a, g, h = (np.asarray(x, np.int64) for x in (age, group, cell))
        z = self.z[a, g, self.cells[h]]
        big = np.asarray(big_a, np.float64)
        e0 = (z - self.a * big) / self.b
        tail = _sf(e0) * (1.0 - np.asarray(u, np.float64))
        e = np.maximum(-ndtri(np.clip(tail, _EPS, 1.0)), e0)
        logit_s = self.pmu[a, g, self.cells[h]] + self.psd[a, g, self.cells[h]] * (
            self.a * big + self.b * e
        )
        return np.asarray(1.0 / (1.0 + np.exp(-logit_s)), np.float64)


BUILD_VERSION = "1"  # of _compute's tables: change it when they change (cached on disk)


@functools.lru_cache(maxsize=256)
def _build(
    rho: float, enrolled: tuple[float, ...], z: tuple[float, ...], fpir: float, own: int
) -> _Virtual:
    """The virtual people of one (age band, group), from the list's cells and each cell's z.

    A pure function of its arguments (its draws come from a generator seeded by them), so the
    table is the same in every run: kept for the next run in this process, and in the on-disk
    cache (``sim.cache``) for the next process (computing the 24 tables of a population takes
    about 0.3 s).
    """
    n_cells = sum(1 for x in enrolled if x > 0)
    entry = cache.route_entry(
        "lookalikes",
        BUILD_VERSION,
        repr(rho),
        repr(fpir),
        str(own),
        np.asarray(enrolled, np.float64),
        np.asarray(z, np.float64),
    )

    def fits(got: cache.Arrays) -> bool:
        return (
            got["p"].shape == (VIRTUAL,)
            and got["p"].dtype == np.float64
            and got["slots"].shape == (VIRTUAL, n_cells, TOP + 1)
            and got["tops"].shape == (VIRTUAL, n_cells, TOP)
            and got["slots"].dtype == got["tops"].dtype == np.float32
        )

    got = cache.memo(
        entry if cache.enabled() else None,
        ("p", "slots", "tops"),
        lambda: _compute(rho, enrolled, z, fpir, own),
        fits,
    )
    return _Virtual(np.asarray(got["p"]), np.asarray(got["slots"]), np.asarray(got["tops"]))


def _compute(
    rho: float, enrolled: tuple[float, ...], z: tuple[float, ...], fpir: float, own: int
) -> cache.Arrays:
    """:func:`_build`'s tables, computed."""
    n = np.asarray(enrolled, np.float64)
    zz = np.asarray(z, np.float64)
    cells = np.flatnonzero(n > 0)
    a, b = np.sqrt(rho), np.sqrt(1.0 - rho)
    seed = [
        stable_hash("lookalikes.virtual"),
        int(rho * 1e6),
        own,
        *(int(x) for x in n),
        *(int(abs(x) * 1e6) for x in zz),
    ]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    m = VIRTUAL
    slots = np.zeros((m, cells.size, TOP + 1))
    tops = np.full((m, cells.size, TOP), np.nan)
    helper = Lookalikes.__new__(Lookalikes)  # its tables only
    helper.a, helper.b = a, b
    helper.z = zz[None, None, :]
    stratified = int(own) if n[own] > 0 else int(cells[np.argmin(zz[cells])])
    for j, h in enumerate(cells.tolist()):
        v = rng.random((m, TOP))
        if h == stratified:  # every quantile of the resemblance to the own group
            v[:, 0] = (np.arange(m) + 0.5) / m
        big = Lookalikes.order_statistics(int(n[h]), v)
        tops[:, j] = big
        q = _sf((zz[h] - a * big) / b)
        slots[:, j, :TOP] = np.where(np.isnan(big), 0.0, q)
        rest = n[h] - min(TOP, int(n[h]))
        if rest > 0:
            per = helper._rest_mean(0, 0, h, big[:, min(TOP, int(n[h])) - 1])
            slots[:, j, TOP] = -np.expm1(rest * np.log1p(-np.minimum(per, 1 - 1e-16)))
    log_miss = np.log1p(-np.minimum(slots, 1 - 1e-16)).sum(axis=(1, 2))
    p = -np.expm1(log_miss)
    # The mean over people of the chance is the FPIR exactly (each entry's mean chance is its
    # FMR, and entries are independent): scale the finite sample of virtual people to it.
    scale = fpir / p.mean() if p.mean() > 0 else 1.0
    return {
        "p": np.minimum(p * scale, 1.0),
        "slots": (slots * scale).astype(np.float32),
        "tops": tops.astype(np.float32),
    }
