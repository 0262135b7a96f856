"""Capture sources: one module per way a face reaches the system, behind one small protocol.

A sensor is simpy-free numpy: from a slice of trips (and the routes they take) and the world,
to columns of the tables it feeds. The engine (``sim.engine``) owns the clock and calls each
sensor at three moments:

- ``on_trips(a, b)``: the trips ``a:b`` depart in the coming window (doors, crowds, facility
  arrivals);
- ``on_routes(a, routes)``: the routes of trips from ``a`` on have been expanded, as the
  watched steps (``needs = "steps"``: street cameras) or whole paths (``needs = "paths"``:
  patrols);
- ``on_window(t0, t1)``: a window of simulated time begins (facility checks that follow their
  own schedule).

Each returns ``[(table, columns)]``; ``"captures"`` rows have the columns ``t, trip, camera,
person, quality, distance, x, y``, and go through the face-match search when queued; other
tables' rows are held until their ``t_s``. Every draw is a keyed coin (``sim.coins``), so when
a sensor is called, and with how many trips, changes nothing in its rows.

A new capture source is one module (a class with ``create`` returning None when the scenario has
no device of its kind, and the ``Kind`` it reads registered with :func:`sim.kinds.register`)
and its deployment kind's model (``sim.scenario_devices``); see :mod:`sim.kinds`.
"""

from __future__ import annotations

from sim.kinds import kinds
from sim.sensors.base import BaseSensor, Context, Output
from sim.sensors.crowds import CrowdCaptures
from sim.sensors.doors import DoorCaptures
from sim.sensors.facility import FacilityChecks
from sim.sensors.patrol import PatrolEncounters
from sim.sensors.street import StreetPassages

# In the order the engine calls them within a window (their rows do not depend on it: captures
# are released in time order, other rows by their time).
SENSORS: tuple[type[BaseSensor], ...] = (
    StreetPassages,
    PatrolEncounters,
    DoorCaptures,
    CrowdCaptures,
    FacilityChecks,
)


def build_sensors(ctx: Context) -> list[BaseSensor]:
    """The sensors this world has devices for (the built-in ones, then those of kinds
    registered since, :mod:`sim.kinds`)."""
    extra = [k.sensor for k in kinds().values() if k.sensor is not None and k.sensor not in SENSORS]
    return [
        s for s in (cls.create(ctx) for cls in (*SENSORS, *dict.fromkeys(extra))) if s is not None
    ]


__all__ = ["SENSORS", "BaseSensor", "Context", "Output", "build_sensors"]
