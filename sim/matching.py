"""One-to-many search of captured faces against the watchlist, decided in bulk.

A plain model module (no simpy): given a batch of captures, who is listed, and the capture
quality, decide for each capture whether the system raises an alert, which watchlist identity it
claims and with what similarity score. No loop over watchlist entries: the chance of any false
candidate is the closed-form FPIR of the probe's group, and the claimed identity is sampled from
the list's groups weighted by FMR[g, h] * N_h. Every coin is keyed by (trip, camera), so a
capture's outcome does not depend on which other captures exist (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.facematch import ADULT, ScoreModel
from sim.lookalikes import Lookalikes
from sim.rng import keyed_uniform

IntArray = npt.NDArray[np.int64]


@dataclass
class Decisions:
    """Outcome per capture: claimed entry (-1: no alert), whether it is a genuine hit, score."""

    claimed: npt.NDArray[np.int32]
    is_hit: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]  # NaN where no alert


class Matcher:
    """Decides matches for one model, threshold and watchlist.

    Parameters
    ----------
    model
        The face-match model.
    threshold
        Similarity threshold.
    watchlist_group
        Model group of each watchlist entry.
    keys
        Keyed-coin keys for "hit", "false", "claim_group", "claim_entry" and "score".
    searched
        Entry ids searched for (default: all).
    persistence
        The persistent share of impostor-score variance (:mod:`sim.lookalikes`); 0: every
        capture's false-match coin is independent of the person's other captures.
    n_people
        With ``persistence``: the population size (each person's look-alikes are then looked
        up, not hashed at every capture).
    people_group, people_age
        With ``persistence`` and ``n_people``: each person's model group and age band, so that
        each person's chance of a false match is worked out once (captures must then carry
        their person's own group and age band).
    """

    def __init__(
        self,
        model: ScoreModel,
        threshold: float,
        watchlist_group: npt.ArrayLike,
        keys: dict[str, np.uint64],
        searched: npt.ArrayLike | None = None,
        *,
        persistence: float = 0.0,
        n_people: int = 0,
        people_group: npt.ArrayLike | None = None,
        people_age: npt.ArrayLike | None = None,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.keys = keys
        all_groups = np.asarray(watchlist_group, np.int64)
        # The entries the system may search for (a warrant names a few); ids stay global.
        self.searched = (
            np.arange(all_groups.size)
            if searched is None
            else np.unique(np.asarray(searched, np.int64))
        )
        wl = all_groups[self.searched]
        self.watchlist_group = wl
        n_groups = len(model.groups)
        enrolled = np.bincount(wl, minlength=n_groups).astype(np.float64)
        # Per probe age band and group (entries are adults; sim.facematch).
        self.fpir = model.fpir_by_age(threshold, enrolled)
        # Whom a false match points at: entry group h with weight FMR[a, g, h] * N_h.
        w = model.fmr_matrix_by_age(threshold) * enrolled[None, None, :]
        sums = w.sum(axis=2, keepdims=True)
        self.claim_cdf = np.cumsum(np.divide(w, sums, out=np.zeros_like(w), where=sums > 0), axis=2)
        self.entries_by_group = np.argsort(wl, kind="stable").astype(np.int32)
        self.entries_start = np.concatenate([[0], np.cumsum(enrolled)]).astype(np.int64)
        self.lookalikes = (
            Lookalikes(
                model,
                threshold,
                enrolled,
                persistence,
                keys["lookalike_order"],
                keys["lookalike_pick"],
                n_people,
                people_group,
                people_age,
            )
            if persistence > 0
            else None
        )

    def _pick(
        self,
        a: npt.NDArray[np.int64],
        g: npt.NDArray[np.int64],
        u_g: npt.NDArray[np.float64],
        u_e: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int64]:
        """Without look-alikes: the position (in ``entries_by_group``) of the entry a false
        match names: its group h with weight FMR[a, g, h] N_h, then an entry of it."""
        cdf = self.claim_cdf[a, g]
        h = np.minimum((u_g[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)
        size = self.entries_start[h + 1] - self.entries_start[h]
        return np.asarray(
            self.entries_start[h]
            + np.minimum((u_e * size).astype(np.int64), np.maximum(size - 1, 0)),
            np.int64,
        )

    def false_matches(
        self,
        trip: npt.ArrayLike,
        camera_key: npt.ArrayLike,
        group: npt.ArrayLike,
        age: npt.ArrayLike,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Only the false matches of faces none of which is on the list (rows, claimed entry
        ids), with the very coins :meth:`decide` draws: the cheap path for searching every
        kept capture against every resident (no scores, no hits; no look-alikes)."""
        if self.lookalikes is not None:
            raise ValueError("false_matches is for matchers without persistent look-alikes")
        trip = np.asarray(trip, np.int64)
        ckey = np.asarray(camera_key, np.int64)
        g = np.asarray(group, np.int64)
        a = np.asarray(age, np.int64)
        k = self.keys
        fi = np.flatnonzero(keyed_uniform(k["false"], trip, ckey) < self.fpir[a, g])
        if not fi.size:
            return fi, fi
        u_g = keyed_uniform(k["claim_group"], trip[fi], ckey[fi])
        u_e = keyed_uniform(k["claim_entry"], trip[fi], ckey[fi])
        claimed = self.entries_by_group[self._pick(a[fi], g[fi], u_g, u_e)]
        return fi, self.searched[claimed].astype(np.int64)

    def p_false(
        self,
        person: npt.NDArray[np.int64],
        group: npt.NDArray[np.int64],
        age: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.float64]:
        """Each captured person's chance of a false match at a capture: the group's FPIR, or,
        with persistent look-alikes, the person's own."""
        if self.lookalikes is None:
            return np.asarray(self.fpir[age, group], np.float64)
        return self.lookalikes.p_false(person, group, age)

    def decide(
        self,
        trip: npt.ArrayLike,
        camera_key: npt.ArrayLike,
        group: npt.ArrayLike,
        entry: npt.ArrayLike,
        quality: npt.ArrayLike,
        age: npt.ArrayLike | None = None,
        person: npt.ArrayLike | None = None,
    ) -> Decisions:
        """Decide a batch of captures.

        Parameters
        ----------
        trip, camera_key
            Identities keying the coins (trip id, stable camera key).
        group
            Model group of the captured person.
        entry
            The captured person's watchlist entry, -1 if not listed (truth: the face either
            belongs to a listed person or not).
        quality
            Capture quality in [0, 1].
        age
            Age band of the captured person (index into ``sim.facematch.AGE_BANDS``; default
            adults).
        person
            Who was captured (needed with persistent look-alikes).
        """
        trip = np.asarray(trip, np.int64)
        ckey = np.asarray(camera_key, np.int64)
        g = np.asarray(group, np.int64)
        entry = np.asarray(entry, np.int64)
        q = np.asarray(quality, np.float64)
        a = np.full(trip.size, ADULT, np.int64) if age is None else np.asarray(age, np.int64)
        k = self.keys
        # The captured person's entry among the searched ones (-1: not searched for), looked up
        # for the few captures of listed people only.
        hit = np.zeros(trip.size, bool)
        li = np.flatnonzero(entry >= 0)
        own = np.full(li.size, -1, np.int64)
        if li.size:
            pos = np.searchsorted(self.searched, entry[li])
            ok = pos < self.searched.size
            ok[ok] = self.searched[pos[ok]] == entry[li][ok]
            own = np.where(ok, pos, -1)
            li, own = li[ok], own[ok]
            u_hit = keyed_uniform(k["hit"], trip[li], ckey[li])
            hit[li] = u_hit < self.model.p_hit(self.threshold, g[li], q[li])
        if self.lookalikes is not None and person is None:
            raise ValueError("persistent look-alikes need the captured person")
        who = np.asarray(person, np.int64) if person is not None else trip
        false = keyed_uniform(k["false"], trip, ckey) < self.p_false(who, g, a)
        false[hit] = False
        claimed = np.full(trip.size, -1, np.int32)
        score = np.full(trip.size, np.nan)
        hi = li[hit[li]]
        if hi.size:
            claimed[hi] = own[hit[li]]
            u_s = keyed_uniform(k["score"], trip[hi], ckey[hi])
            score[hi] = self.model.genuine_score_above(self.threshold, g[hi], q[hi], u_s)
        fi = np.flatnonzero(false)
        if fi.size:
            u_g = keyed_uniform(k["claim_group"], trip[fi], ckey[fi])
            u_e = keyed_uniform(k["claim_entry"], trip[fi], ckey[fi])
            u_s = keyed_uniform(k["score"], trip[fi], ckey[fi])
            if self.lookalikes is not None:
                # Whom the person resembles: one of their own look-alikes, mostly.
                cell, within, big_a = self.lookalikes.claim(who[fi], g[fi], a[fi], u_g, u_e)
                h = self.lookalikes.cells[cell]
                pick = self.entries_start[h] + within
            else:
                pick = self._pick(a[fi], g[fi], u_g, u_e)
            claimed[fi] = self.entries_by_group[pick]
            # The similarity the system sees: an impostor score above the threshold (given
            # the pair's persistent resemblance, for a look-alike).
            s = self.model.impostor_score_above(
                self.threshold, g[fi], self.watchlist_group[claimed[fi]], u_s, a[fi]
            )
            if self.lookalikes is not None:
                known = np.flatnonzero(~np.isnan(big_a))
                s[known] = self.lookalikes.score_above(
                    a[fi][known], g[fi][known], cell[known], big_a[known], u_s[known]
                )
            score[fi] = s
        ai = np.flatnonzero(claimed >= 0)
        claimed[ai] = self.searched[claimed[ai]]
        return Decisions(claimed, hit, score)
