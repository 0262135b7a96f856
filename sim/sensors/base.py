"""What every sensor is given and returns (the protocol of :mod:`sim.sensors`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from sim.coins import Coins
from sim.units import DAY
from sim.world import World

# [(table, columns)]: "captures" rows, or rows of a table held until their t_s.
Output = list[tuple[str, dict[str, np.ndarray]]]
NOTHING: Output = []


@dataclass(frozen=True)
class Context:
    """The world a sensor reads, with what the engine derives from it once."""

    world: World
    coins: Coins
    camera_key: npt.NDArray[np.int64]  # each device's stable key for keyed coins
    cam_threshold: npt.NDArray[np.float64]  # each device's search threshold
    duration_s: float

    def active(
        self, cam: npt.NDArray[np.int64], when: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Whether each device is operating at that time of day (vans work set hours)."""
        c = self.world.cameras
        tod = when % DAY
        return np.asarray((tod >= c.active_from_s[cam]) & (tod < c.active_to_s[cam]), bool)


class BaseSensor:
    """A capture source (see :mod:`sim.sensors`): every hook returns nothing unless a sensor
    overrides it; ``create`` is each sensor's own."""

    routed: ClassVar[bool] = False  # works on routes (on_routes, for chunks of trips)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @classmethod
    def create(cls, ctx: Context) -> BaseSensor | None:
        """The sensor for this world, or None if it has no device of this kind."""
        raise NotImplementedError

    def on_trips(self, a: int, b: int) -> Output:
        """Rows of the trips ``a:b``, departing in the coming window."""
        return NOTHING

    def on_routes(self, a: int, b: int) -> Output:
        """Rows of the trips ``a:b`` from the routes they take (``routed`` sensors: called
        for chunks of whole windows, ahead of their time)."""
        return NOTHING

    def on_window(self, t0: float, t1: float) -> Output:
        """Rows of the window ``[t0, t1)`` that no trip causes."""
        return NOTHING


def captures(
    *,
    t: npt.NDArray[np.float64],
    trip: npt.NDArray[np.integer[Any]],
    camera: npt.NDArray[np.integer[Any]],
    person: npt.NDArray[np.integer[Any]],
    quality: npt.NDArray[np.float64],
    distance: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
) -> tuple[str, dict[str, np.ndarray]]:
    """One ``"captures"`` output: the columns every capture source gives, one row per face
    (time, trip, device, whose face, quality, distance in metres, where)."""
    return (
        "captures",
        {
            "t": t,
            "trip": trip,
            "camera": camera.astype(np.int32),
            "person": person,
            "quality": quality,
            "distance": distance,
            "x": x,
            "y": y,
        },
    )


def take(sel: npt.NDArray[Any], *arrays: npt.NDArray[Any]) -> list[Any]:
    """The same rows of several columns."""
    return [a[sel] for a in arrays]
