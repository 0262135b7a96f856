"""The watchlist (truth): the identities the system searches for, and which of them are in town.

Each entry has a group. ``present`` entries are people of the city's population (chosen within the
entry's group); the others live elsewhere and can only ever be *claimed* by a false match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.errors import ScenarioError
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
    group = rng.choice(n_groups, size=spec.size, p=shares / shares.sum()).astype(np.int16)
    person = np.full(spec.size, -1, np.int32)
    present = np.sort(rng.choice(spec.size, size=spec.present, replace=False)).astype(np.int64) \
        if spec.present else np.zeros(0, np.int64)
    problems = []
    for g in range(n_groups):
        entries = present[group[present] == g]
        if entries.size == 0:
            continue
        members = np.flatnonzero(pop.group == g)
        if members.size < entries.size:
            problems.append(f"watchlist.present: {entries.size} listed people of group "
                            f"{pop.group_names[g]!r} should live in the city but it has only "
                            f"{members.size} residents of that group; lower watchlist.present")
            continue
        person[entries] = rng.choice(members, size=entries.size, replace=False)
    if problems:
        raise ScenarioError(problems)
    return Watchlist(group, person)
