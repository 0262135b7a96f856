"""The watchlist (truth): the identities the system searches for, and which of them are in town.

Each entry has a group. ``present`` entries are people of the city's population (chosen within the
entry's group); the others live elsewhere and can only ever be *claimed* by a false match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.population import Population
from sim.scenario import Watchlist as WatchlistSpec


@dataclass
class Watchlist:
    """Watchlist entries as columns; ``person_id`` is -1 for listed people not in the city."""

    group: npt.NDArray[np.int16]
    person_id: npt.NDArray[np.int32]

    @property
    def size(self) -> int:
        return int(self.group.size)

    def enrolled_by_group(self, n_groups: int) -> npt.NDArray[np.int64]:
        return np.bincount(self.group, minlength=n_groups)

    def entry_of_person(self, n_people: int) -> npt.NDArray[np.int32]:
        """For each person, their entry id, or -1 if not listed."""
        out = np.full(n_people, -1, np.int32)
        here = self.person_id >= 0
        out[self.person_id[here]] = np.flatnonzero(here).astype(np.int32)
        return out


def build_watchlist(spec: WatchlistSpec, pop: Population, population_shares: npt.ArrayLike,
                    rng: np.random.Generator) -> Watchlist:
    """Draw the list's group composition and pick which listed people live in the city.

    ``proportional`` follows the scenario's group shares (the population the list is drawn
    from), not the handful of residents a small town happens to have.
    """
    n_groups = len(pop.group_names)
    if spec.composition == "proportional":
        shares = np.asarray(population_shares, np.float64)
    else:
        shares = np.array([spec.group_shares.get(name, 0.0) for name in pop.group_names])
    p_group = shares / shares.sum()
    group = rng.choice(n_groups, size=spec.size, p=p_group).astype(np.int16)
    person = np.full(spec.size, -1, np.int32)
    if spec.present:
        # The listed residents: drawn from the population so that their groups follow the
        # list's composition (weight = group's list share / its number of residents).
        counts = pop.group_counts().astype(np.float64)
        per_person = np.divide(p_group, counts, out=np.zeros(n_groups), where=counts > 0)
        w = per_person[pop.group]
        if np.count_nonzero(w) < spec.present:
            w = w + 1e-12  # the list's groups are too rare here: take anyone
        residents = rng.choice(pop.n, size=spec.present, replace=False, p=w / w.sum())
        entries = np.sort(rng.choice(spec.size, size=spec.present, replace=False))
        person[entries] = residents.astype(np.int32)
        group[entries] = pop.group[residents]
    return Watchlist(group, person)
