"""A new deployment kind is one module (sensor, placement, registration) plus one model.

The toy kind here, a ticket kiosk that scans the face of everyone who sets out from a transit
hub, is written the way a newcomer would add one: a model subclassing ``Device``, a sensor
subclassing ``BaseSensor``, a placement function, one ``Kind``. Nothing in ``sim/`` is edited.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from pydantic import Field

import sim
from sim.city import City
from sim.errors import ScenarioError
from sim.kinds import Kind, Placing, kind_names, kinds, registered
from sim.scenario import load_scenario
from sim.scenario_devices import Device
from sim.sensors.base import NOTHING, BaseSensor, Context, Output
from sim.world import build_world
from tests.conftest import small_dict


class Kiosk(Device):
    """Ticket kiosks at transit hubs that scan everyone setting out from there."""

    kind: Literal["kiosk"]
    name: str = "kiosks"
    watchlist: str = "main"
    hubs: int = Field(2, ge=1)
    quality: float = Field(0.9, gt=0, le=1)


class KioskScans(BaseSensor):
    @classmethod
    def create(cls, ctx: Context) -> KioskScans | None:
        cams = np.flatnonzero(ctx.world.cameras.is_kind("kiosk"))
        return cls(ctx, cams) if cams.size else None

    def __init__(self, ctx: Context, cams: np.ndarray) -> None:
        super().__init__(ctx)
        self.at = np.full(ctx.world.city.n_nodes, -1, np.int64)
        self.at[ctx.world.cameras.node[cams]] = cams

    def on_trips(self, a: int, b: int) -> Output:
        w = self.ctx.world
        t = w.trips
        trip = a + np.flatnonzero(self.at[t.origin_node[a:b]] >= 0)
        trip = trip[t.depart_s[trip] < self.ctx.duration_s]
        if trip.size == 0:
            return NOTHING
        cam = self.at[t.origin_node[trip]]
        c = w.cameras
        return [
            (
                "captures",
                {
                    "t": t.depart_s[trip],
                    "trip": trip,
                    "camera": cam.astype(np.int32),
                    "person": t.person_id[trip],
                    "quality": c.fixed_quality[cam],
                    "distance": np.ones(trip.size),
                    "x": c.x_m[cam],
                    "y": c.y_m[cam],
                },
            )
        ]


def place_kiosks(spec: Kiosk, at: Placing) -> np.ndarray:
    return np.unique(at.city.places_of("transit_hub"))[: spec.hubs]


def check_kiosks(spec: Kiosk, index: int, city: City) -> list[str]:
    have = np.unique(city.places_of("transit_hub")).size
    return (
        []
        if spec.hubs <= have
        else [f"deployment.{index}.hubs: {spec.hubs} kiosks but {have} transit hubs"]
    )


KIOSK = Kind(Kiosk, place_kiosks, KioskScans, check_kiosks)


def _scenario(**kiosk: object) -> dict[str, object]:
    return small_dict(
        population={"people": 2000},
        facematch={"threshold": 0.5},
        watchlist={"size": 40, "present": 40},
        deployment=[{"kind": "kiosk", **kiosk}],
    )


def test_a_registered_kind_runs_end_to_end() -> None:
    with registered(KIOSK):
        sc = load_scenario(_scenario(hubs=2))
        res = sim.run(sc)
        w = build_world(sc)
    hubs = np.unique(w.city.places_of("transit_hub"))[:2]
    cams = res.tables["cameras"]
    assert cams.column("kind").to_pylist() == ["kiosk", "kiosk"]
    assert sorted(cams.column("node").to_pylist()) == sorted(hubs.tolist())
    trips = res.tables["trips"]
    from_hub = np.isin(trips.column("origin_node").to_numpy(), hubs)
    caps = res.tables["captures"]
    # Every trip that sets out from a kiosk's hub is scanned once, at its departure, at the
    # kiosk's quality; nothing else is captured.
    assert caps.num_rows == int(from_hub.sum()) > 0
    assert np.allclose(caps.column("quality").to_numpy(), 0.9)
    assert sorted(caps.column("t_s").to_pylist()) == sorted(
        trips.column("depart_s").to_numpy()[from_hub].tolist()
    )
    # The scans go through the face-match search like any capture: listed people passing a
    # hub raise alerts.
    assert res.summary["captures"] == caps.num_rows
    assert res.summary["alerts"] == res.tables["alerts"].num_rows > 0


def test_a_registered_kind_is_validated_and_checked_like_the_others() -> None:
    with registered(KIOSK):
        with pytest.raises(ScenarioError, match=r"deployment\.0\.colour"):
            load_scenario(_scenario(colour="red"))
        with pytest.raises(ScenarioError, match=r"deployment\.0\.hubs: 99 kiosks but"):
            build_world(load_scenario(_scenario(hubs=99)))
        assert kind_names()[-1] == "kiosk" and kinds()["kiosk"] is KIOSK


def test_the_kind_is_gone_after_the_block_and_the_built_ins_keep_their_order() -> None:
    with registered(KIOSK):
        pass
    assert kind_names() == ("cctv", "van", "entry_point", "bodycam", "carcam", "facility")
    with pytest.raises(ScenarioError, match=r"deployment\.0"):
        load_scenario(_scenario())
    with (
        pytest.raises(ValueError, match="registered already"),
        registered(Kind(Kiosk, place_kiosks, None)),
        registered(KIOSK),
    ):
        pass
