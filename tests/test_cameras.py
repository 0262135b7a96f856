"""Camera geometry: what a camera sees, and which street stretches it covers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cameras import Cameras, coverage, sector
from tests.test_city_routing import grid


def one_camera(x: float = 0.0, y: float = 0.0, heading: float = 0.0, fov: float = 90.0,
               range_m: float = 25.0, node: int = 0) -> Cameras:
    return Cameras(node=np.array([node], np.int32), x_m=np.array([x]), y_m=np.array([y]),
                   heading_deg=np.array([heading]), fov_deg=np.array([fov]),
                   range_m=np.array([range_m]), p_capture=np.array([1.0]),
                   deployment=np.zeros(1, np.int16), deployment_names=["test"])


def test_camera_sees_known_points() -> None:
    cam = one_camera(heading=0.0, fov=90.0, range_m=25.0)
    xs = np.array([10.0, 10.0, 0.0, 30.0, -10.0, 17.0, 0.0])
    ys = np.array([0.0, 9.9, 10.0, 0.0, 0.0, -17.0, 0.0])
    expect = [True, True, False, False, False, True, True]
    # (17, -17) is 24.04 m away at -45 degrees: on the edge of the view, inside.
    assert cam.sees(0, xs, ys).tolist() == expect


def test_camera_heading_north() -> None:
    cam = one_camera(x=100.0, y=100.0, heading=90.0, fov=60.0, range_m=10.0)
    assert cam.sees(0, [100.0], [109.0])[0], "straight ahead"
    assert not cam.sees(0, [109.0], [100.0])[0], "90 degrees off to the side"
    assert not cam.sees(0, [100.0], [91.0])[0], "behind"


def test_full_circle_camera() -> None:
    cam = one_camera(fov=360.0, range_m=5.0)
    assert cam.sees(0, [-4.0, 0.0, 3.0], [0.0, -4.0, 3.0]).all()
    assert not cam.sees(0, [6.0], [0.0])[0]


@settings(max_examples=200, deadline=None)
@given(heading=st.floats(-180, 180), fov=st.floats(5, 350), range_m=st.floats(1, 100),
       px=st.floats(-120, 120), py=st.floats(-120, 120))
def test_sector_polygon_agrees_with_sees(heading: float, fov: float, range_m: float,
                                         px: float, py: float) -> None:
    cam = one_camera(heading=heading, fov=fov, range_m=range_m)
    poly = sector(0.0, 0.0, heading, fov, range_m, n_arc=256)
    inside = bool(cam.sees(0, [px], [py])[0])
    # The polygon approximates the arc with chords: skip points within 1% of the boundary.
    d = float(np.hypot(px, py))
    b = shapely.Point(px, py).distance(poly.exterior)
    if b > 0.01 * range_m and abs(d - range_m) > 0.01 * range_m:
        assert inside == poly.contains(shapely.Point(px, py))


def test_coverage_only_for_walkers_facing_the_camera() -> None:
    city = grid(3, 2, 100.0)  # nodes 0 -(100 m)- 1 -(100 m)- 2 along x, 3-4-5 above
    cam = one_camera(x=0.0, y=0.0, heading=0.0, fov=90.0, range_m=25.0)
    cov = coverage(city, cam)
    e01 = city.directed_edge([0], [1])[0]
    e10 = city.directed_edge([1], [0])[0]
    assert cov.ptr[e01 + 1] - cov.ptr[e01] == 0, "walking away from the camera: no face"
    assert cov.ptr[e10 + 1] - cov.ptr[e10] == 1, "walking toward it: one passage"
    k = cov.ptr[e10]
    assert cov.camera[k] == 0
    assert cov.distance_m[k] == pytest.approx(12.5), "middle of the 25 m in view"
    assert cov.frac[k] == pytest.approx(1 - 12.5 / 100.0), "passage near the end of 1->0"
    assert cov.facing[k] == pytest.approx(1.0), "walking straight at the camera"
    far = city.directed_edge([2], [1])[0]
    assert cov.ptr[far + 1] - cov.ptr[far] == 0, "the street out of range is not covered"
