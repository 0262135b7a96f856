"""The watchlist (truth): the identities the system searches for, and which of them are in town.

Each entry has a group. ``present`` entries are people of the city's population (chosen within the
entry's group); the others live elsewhere and can only ever be *claimed* by a false match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.population import Population
from sim.presets import WATCHLIST_PRESETS
from sim.scenario import Watchlist as WatchlistSpec


@dataclass
class Watchlist:
    """Watchlist entries as columns; ``person_id`` is -1 for listed people not in the city."""

    group: npt.NDArray[np.int16]
    person_id: npt.NDArray[np.int32]

    @property
    def size(self) -> int:
        return int(self.group.size)

    def entry_of_person(self, n_people: int) -> npt.NDArray[np.int32]:
        """For each person, their entry id, or -1 if not listed."""
        out = np.full(n_people, -1, np.int32)
        here = self.person_id >= 0
        out[self.person_id[here]] = np.flatnonzero(here).astype(np.int32)
        return out


def quotas(total: int, shares: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``total`` split over groups in proportion to ``shares``, exactly (largest remainders;
    ties to the lower group index): the same counts in every replication."""
    p = np.asarray(shares, np.float64)
    p = p / p.sum() if p.sum() > 0 else np.full(p.size, 1.0 / max(p.size, 1))
    raw = total * p
    out = np.floor(raw).astype(np.int64)
    short = total - int(out.sum())
    if short > 0:
        order = np.lexsort((np.arange(p.size), -(raw - out)))
        out[order[:short]] += 1
    return out


def build_watchlist(
    spec: WatchlistSpec,
    pop: Population,
    population_shares: npt.ArrayLike,
    rng: np.random.Generator,
    group_keys: list[str] | None = None,
) -> Watchlist:
    """The list's group composition, by exact quotas, and which listed people live in the city.

    ``proportional`` follows the scenario's group shares (the population the list is drawn
    from), not the handful of residents a small town happens to have; ``skewed`` takes
    ``group_shares``. Either way the number of entries of each group is its quota of the list
    (the same in every replication), and so is the number of listed residents of each group;
    which residents they are varies with the replication. Entries are numbered group by group.
    A custody preset (``sim.presets.WATCHLIST_PRESETS``) is read by ``group_keys`` (each
    group's model group; default the group names).
    """
    n_groups = len(pop.group_names)
    if spec.composition == "proportional":
        shares = np.asarray(population_shares, np.float64)
    elif spec.composition == "skewed":
        shares = np.array([spec.group_shares.get(name, 0.0) for name in pop.group_names])
    else:
        preset = WATCHLIST_PRESETS[spec.composition]
        shares = np.array([preset.get(k, 0.0) for k in (group_keys or pop.group_names)])
    per_group = quotas(spec.size, shares)
    group = np.repeat(np.arange(n_groups), per_group).astype(np.int16)
    person = np.full(spec.size, -1, np.int32)
    if spec.present:
        counts = pop.group_counts()
        wanted = np.minimum(quotas(spec.present, per_group), per_group)
        # Where a group has fewer residents than its quota, the rest come from the groups with
        # residents to spare, in proportion (a small town cannot hold every list's make-up).
        take = np.minimum(wanted, counts)
        missing = spec.present - int(take.sum())
        if missing > 0:
            room = np.minimum(counts, per_group) - take
            extra = np.minimum(quotas(missing, room), room)
            take = take + extra
        start = np.concatenate([[0], np.cumsum(per_group)])
        for g in np.flatnonzero(take).tolist():
            residents = rng.choice(np.flatnonzero(pop.group == g), size=int(take[g]), replace=False)
            entries = start[g] + rng.choice(int(per_group[g]), size=int(take[g]), replace=False)
            person[entries] = residents.astype(np.int32)
        left = spec.present - int(take.sum())
        if left > 0:
            # Still short (the list's groups hardly live here): residents of other groups
            # take unfilled entries, whose group becomes theirs.
            listed = np.zeros(pop.n, bool)
            listed[person[person >= 0]] = True
            residents = rng.choice(np.flatnonzero(~listed), size=left, replace=False)
            entries = rng.choice(np.flatnonzero(person < 0), size=left, replace=False)
            person[entries] = residents.astype(np.int32)
            group[entries] = pop.group[residents]
    return Watchlist(group, person)
