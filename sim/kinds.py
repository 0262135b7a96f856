"""Deployment kinds: for each ``[[deployment]] kind``, its scenario model, where its devices
stand, what it needs of the city, and the sensor that turns its devices into captures.

A kind is declared once, by a :class:`Kind` registered in the module of the sensor that reads it
(``sim/sensors/``): the built-in six are cctv and van (``street.py``), entry_point
(``doors.py``), bodycam and carcam (``patrol.py``) and facility (``facility.py``); its model sits
in :mod:`sim.scenario_devices`. A new kind is one module (a sensor class, a placement function,
``register(Kind(...))``) plus one model (a subclass of ``sim.scenario_devices.Device`` with
``kind: Literal["name"]``); nothing else is edited. ``tests/test_kinds.py`` adds one that way.

The devices' columns (:class:`sim.cameras.Cameras`) come from the model's own fields where it
has them: ``p_capture`` (default 1), ``start_h``/``end_h`` (default the whole day), and for a
street view ``fov_deg``, ``range_m``, ``height_m``; a fixed device (at a door or on a patrol)
has ``quality``.

The built-in kinds keep their place in :data:`sim.schema.CAMERA_KINDS` (the output's ``kind``
values); a registered kind is added after them (:func:`kind_names`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import numpy.typing as npt

from sim.scenario_devices import Device
from sim.schema import CAMERA_KINDS

if TYPE_CHECKING:
    from sim.city import City
    from sim.sensors.base import BaseSensor


@dataclass(frozen=True)
class Placing:
    """What a placement function may use: the city, the expected walkers through each crossing
    (``placement = "footfall"``) and the placement random stream."""

    city: City
    footfall: npt.NDArray[np.float64]
    rng: np.random.Generator


def no_problems(spec: Any, index: int, city: City) -> list[str]:
    return []


@dataclass(frozen=True)
class Kind:
    """One deployment kind.

    ``place(spec, placing)`` gives the crossings its devices stand at (one device each; it may
    assume ``check`` found nothing). ``check(spec, index, city)`` lists what the city cannot
    honour (``deployment.<index>.<key>: ...``), before anything runs. ``street_view`` devices
    look down a street and see passers-by (street passages, crowds); the others capture at a
    fixed spot (a door, an officer). ``sensor`` reads the devices (None: read by another
    kind's sensor, as vans are by the street sensor).
    """

    model: type[Device]
    place: Callable[[Any, Placing], npt.NDArray[np.integer[Any]]]
    sensor: type[BaseSensor] | None = None
    check: Callable[[Any, int, City], list[str]] = no_problems
    street_view: bool = False

    @property
    def name(self) -> str:
        return str(get_args(self.model.model_fields["kind"].annotation)[0])


_KINDS: dict[str, Kind] = {}
_EXTRA: list[str] = []  # registered kinds beyond the built-in ones, in order


def register(kind: Kind) -> Kind:
    """Declare a kind (the built-ins at import of their sensor module)."""
    name = kind.name
    if name in _KINDS:
        if _KINDS[name] is kind:
            return kind
        raise ValueError(f"deployment kind {name!r} is registered already")
    _KINDS[name] = kind
    if name not in CAMERA_KINDS:
        _EXTRA.append(name)
        _accept_extra()
    return kind


def _accept_extra() -> None:
    """Let scenarios declare the registered kinds beyond the built-in ones."""
    from sim.scenario import accept_deployments

    accept_deployments([_KINDS[n].model for n in _EXTRA])


@contextlib.contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """A kind registered for the duration of a ``with`` block (tests, a kind being tried out)."""
    kinds()
    register(kind)
    try:
        yield kind
    finally:
        del _KINDS[kind.name]
        if kind.name in _EXTRA:
            _EXTRA.remove(kind.name)
            _accept_extra()


def kinds() -> dict[str, Kind]:
    """Every registered kind by name (the built-ins loaded on first use)."""
    if not all(k in _KINDS for k in CAMERA_KINDS):
        import sim.sensors  # noqa: F401  (its modules register the built-in kinds)
    return _KINDS


def kind_names() -> tuple[str, ...]:
    """The ``kind`` values of the devices table: the built-ins, then registered kinds."""
    return (*CAMERA_KINDS, *_EXTRA)


def kind_index(name: str) -> int:
    return kind_names().index(name)


def street_view_kinds() -> tuple[str, ...]:
    """The kinds whose devices look down a street (street passages, crowd captures)."""
    return tuple(n for n, k in kinds().items() if k.street_view)
