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

from sim.facematch import ScoreModel
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
    """

    def __init__(self, model: ScoreModel, threshold: float,
                 watchlist_group: npt.ArrayLike, keys: dict[str, np.uint64],
                 searched: npt.ArrayLike | None = None) -> None:
        self.model = model
        self.threshold = threshold
        self.keys = keys
        all_groups = np.asarray(watchlist_group, np.int64)
        # The entries the system may search for (a warrant names a few); ids stay global.
        self.searched = (np.arange(all_groups.size) if searched is None
                         else np.unique(np.asarray(searched, np.int64)))
        wl = all_groups[self.searched]
        self.watchlist_group = wl
        n_groups = len(model.groups)
        enrolled = np.bincount(wl, minlength=n_groups).astype(np.float64)
        self.fpir = model.fpir(threshold, enrolled)
        # Whom a false match points at: entry group h with weight FMR[g, h] * N_h.
        w = model.fmr_matrix(threshold) * enrolled[None, :]
        sums = w.sum(axis=1, keepdims=True)
        self.claim_cdf = np.cumsum(np.divide(w, sums, out=np.zeros_like(w), where=sums > 0),
                                   axis=1)
        self.entries_by_group = np.argsort(wl, kind="stable").astype(np.int32)
        self.entries_start = np.concatenate([[0], np.cumsum(enrolled)]).astype(np.int64)

    def decide(self, trip: npt.ArrayLike, camera_key: npt.ArrayLike, group: npt.ArrayLike,
               entry: npt.ArrayLike, quality: npt.ArrayLike) -> Decisions:
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
        """
        trip = np.asarray(trip, np.int64)
        ckey = np.asarray(camera_key, np.int64)
        g = np.asarray(group, np.int64)
        entry = np.asarray(entry, np.int64)
        q = np.asarray(quality, np.float64)
        k = self.keys
        # The captured person's position among the searched entries (-1: not searched for).
        pos = np.searchsorted(self.searched, entry)
        ok = (entry >= 0) & (pos < self.searched.size)
        ok[ok] = self.searched[pos[ok]] == entry[ok]
        entry = np.where(ok, pos, -1)
        hit = entry >= 0
        li = np.flatnonzero(hit)
        if li.size:
            u_hit = keyed_uniform(k["hit"], trip[li], ckey[li])
            hit[li] = u_hit < self.model.p_hit(self.threshold, g[li], q[li])
        false = keyed_uniform(k["false"], trip, ckey) < self.fpir[g]
        false &= ~hit
        claimed = np.where(hit, entry, -1).astype(np.int32)
        fi = np.flatnonzero(false)
        if fi.size:
            u_g = keyed_uniform(k["claim_group"], trip[fi], ckey[fi])
            u_e = keyed_uniform(k["claim_entry"], trip[fi], ckey[fi])
            cdf = self.claim_cdf[g[fi]]
            h = np.minimum((u_g[:, None] >= cdf).sum(axis=1), cdf.shape[1] - 1)
            size = self.entries_start[h + 1] - self.entries_start[h]
            pick = self.entries_start[h] + np.minimum((u_e * size).astype(np.int64),
                                                      np.maximum(size - 1, 0))
            claimed[fi] = self.entries_by_group[pick]
        score = np.full(trip.size, np.nan)
        ai = np.flatnonzero(claimed >= 0)
        if ai.size:
            # The similarity the system sees: a genuine or impostor score above threshold.
            u_s = keyed_uniform(k["score"], trip[ai], ckey[ai])
            genuine = self.model.genuine_score_above(self.threshold, g[ai], q[ai], u_s)
            impostor = self.model.impostor_score_above(
                self.threshold, g[ai], self.watchlist_group[claimed[ai]], u_s)
            score[ai] = np.where(hit[ai], genuine, impostor)
        claimed[ai] = self.searched[claimed[ai]]
        return Decisions(claimed, hit, score)
