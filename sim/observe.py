"""What the world shows the system of each capture: the truth side's last step.

A capture is a face of a real person (truth: ``person``, ``trip``). What the surveillance system
can know of it is only what its instruments return, and those are models of truth decided here,
once per capture, when the capture is queued (every coin is keyed by trip and camera, so when
it is decided changes nothing):

- ``claimed``, ``score``: the one-to-many search of the camera's list: the entry it claims
  (-1: none) and the similarity score;
- ``linked_identity``: a later search of kept captures for a resident's face finds this capture
  under its owner's identity (-1: not found; only when unmatched captures are kept and
  searched);
- ``false_identity``: ... and a search for somebody else's face finds it under theirs (-1: no
  false link);
- ``label``: the demographic classifier's label (when the scenario has one);
- ``confirms``: a human reviewer's verdict on the claimed match, were it reviewed (the reviewer
  compares the two faces: truth sets how hard that is);
- ``finds_listed``: an officer who stops the person and checks their papers finds the listed
  person the match claimed (truth: was the match right).

The system view (``sim.system``) reads these columns and never ``person`` or ``trip``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.matching import Matcher
from sim.policy import searched_entries
from sim.rng import keyed_uniform
from sim.world import World

# The columns of a capture that only truth knows (tests/test_architecture.py: no module of
# sim/system reads them).
TRUTH_COLUMNS = ("person", "trip")


class Observer:
    """The instruments' answers for captures of one world (see the module docstring)."""

    def __init__(
        self,
        world: World,
        camera_key: npt.NDArray[np.int64],
        cam_threshold: npt.NDArray[np.float64],
    ) -> None:
        self.w = world
        s = world.scenario
        pop = world.population
        coins = self.coins = world.coins
        self.camera_key = camera_key
        self.lists = list(world.watchlists.values())  # index = cameras.watchlist
        # entry_of_person[l][p]: person p's entry on list l, or -1.
        self.entry_of_person = np.stack([wl.entry_of_person(pop.n) for wl in self.lists])
        # Each device searches its list at its deployment's threshold: one matcher per (list,
        # threshold) in use; a warrant limits the search of the main list.
        devices = world.cameras
        pairs = sorted(
            {
                (int(li), float(t))
                for li, t in zip(devices.watchlist.tolist(), cam_threshold.tolist(), strict=True)
            }
        ) or [(0, s.threshold)]
        rho = (
            world.model.persistence if s.facematch.persistence is None else s.facematch.persistence
        )
        self.matchers = [
            Matcher(
                world.model,
                t,
                world.model_group[self.lists[li].group],
                coins.match(),
                searched_entries(s.governance, self.lists[li].size) if li == 0 else None,
                persistence=rho,
                n_people=pop.n,
                people_group=world.model_group[pop.group],
                people_age=pop.age_band,
            )
            for li, t in pairs
        ]
        # A later search of kept captures for one person's face also finds other people's
        # faces (false links): a one-to-many search of each kept capture against every
        # resident, at the model's impostor rates (sim.matching; independent coins, residents
        # taken as adult entries: assumptions, docs/face_match.md).
        gov = s.governance
        self.retained = gov.scan_scope == "everyone" and gov.retention_days > 0
        self.link_matcher = (
            Matcher(
                world.model,
                s.threshold,
                world.model_group[pop.group],
                coins.false_links(),
                persistence=0.0,
            )
            if self.retained
            else None
        )
        index = {pair: i for i, pair in enumerate(pairs)}
        self.matcher_of_cam = np.array(
            [
                index[(int(li), float(t))]
                for li, t in zip(devices.watchlist.tolist(), cam_threshold.tolist(), strict=True)
            ],
            np.int64,
        )
        self.matcher_list = np.array([li for li, _ in pairs], np.int64)

    def observe(self, cap: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The instruments' columns for captures (``t, trip, camera, person, quality``)."""
        w = self.w
        trip, cam, person = cap["trip"], cap["camera"], cap["person"]
        group = w.model_group[w.population.group[person]]
        age = w.population.age_band[person]
        ckey = self.camera_key[cam]
        out: dict[str, np.ndarray] = {}
        if self.retained:
            u = keyed_uniform(self.coins.link, trip, ckey)
            linked = u < w.model.p_hit(w.scenario.threshold, group, cap["quality"])
            out["linked_identity"] = np.where(linked, person, -1).astype(np.int64)
            assert self.link_matcher is not None
            rows, who = self.link_matcher.false_matches(trip, ckey, group, age)
            other = np.full(trip.size, -1, np.int64)
            other[rows] = np.where(who == person[rows], -1, who)  # its owner: no false link
            out["false_identity"] = other
        claimed = np.full(trip.size, -1, np.int32)
        score = np.full(trip.size, np.nan)
        mi = self.matcher_of_cam[cam]
        for m in np.unique(mi):
            sel = slice(None) if len(self.matchers) == 1 else np.flatnonzero(mi == m)
            li = self.matcher_list[m]
            d = self.matchers[m].decide(
                trip[sel],
                ckey[sel],
                group[sel],
                self.entry_of_person[li, person[sel]],
                cap["quality"][sel],
                age[sel],
                person[sel],
            )
            claimed[sel] = d.claimed
            score[sel] = d.score
        out["claimed"] = claimed
        out["score"] = score
        # What a reviewer and an officer would find of each claimed match.
        lst = w.cameras.watchlist[cam]
        hit = np.flatnonzero(claimed >= 0)
        finds = np.zeros(trip.size, bool)
        confirms = np.ones(trip.size, bool)
        if hit.size:
            li, entry = lst[hit], claimed[hit]
            finds[hit] = entry == self.entry_of_person[li, person[hit]]
            if w.reviewer is not None:
                # The verdict, revealed when a review is done. Truth sets how hard it is: a
                # true match, or a look-alike of the same group.
                claimed_group = np.empty(hit.size, np.int64)
                for k in np.unique(li):
                    at = li == k
                    claimed_group[at] = w.model_group[self.lists[k].group[entry[at]]]
                u = keyed_uniform(self.coins.review, trip[hit], ckey[hit])
                confirms[hit] = w.reviewer.confirms(finds[hit], group[hit] == claimed_group, u)
        out["finds_listed"] = finds
        out["confirms"] = confirms
        if w.classifier is not None:
            u = keyed_uniform(self.coins.label, trip, ckey)
            out["label"] = w.classifier.classify(
                w.classifier_row[w.population.group[person]], u
            ).astype(np.int16)
        return out
