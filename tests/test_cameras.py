"""Camera geometry: what a camera sees, and which street stretches it covers."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.cameras import Cameras, coverage, sector
from tests.test_city_routing import grid


def one_camera(
    x: float = 0.0,
    y: float = 0.0,
    heading: float = 0.0,
    fov: float = 90.0,
    range_m: float = 25.0,
    node: int = 0,
) -> Cameras:
    return Cameras(
        node=np.array([node], np.int32),
        x_m=np.array([x]),
        y_m=np.array([y]),
        heading_deg=np.array([heading]),
        fov_deg=np.array([fov]),
        range_m=np.array([range_m]),
        p_capture=np.array([1.0]),
        deployment=np.zeros(1, np.int16),
        height_m=np.array([4.0]),
        deployment_names=["test"],
    )


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
@given(
    heading=st.floats(-180, 180),
    fov=st.floats(5, 350),
    range_m=st.floats(1, 100),
    px=st.floats(-120, 120),
    py=st.floats(-120, 120),
)
def test_sector_polygon_agrees_with_sees(
    heading: float, fov: float, range_m: float, px: float, py: float
) -> None:
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
    assert cov.ptr[e10 + 1] - cov.ptr[e10] == 1, "walking toward it: one stretch in view"
    k = cov.ptr[e10]
    assert cov.camera[k] == 0
    # Walking 1 -> 0 the view starts 25 m before node 0, i.e. 75% along the edge.
    assert cov.frac0[k] == pytest.approx(0.75) and cov.frac1[k] == pytest.approx(1.0)
    assert (cov.x0_m[k], cov.x1_m[k]) == pytest.approx((25.0, 0.0))
    frac, dist, facing, px, py = cov.passage([k, k, k], [0.0, 0.5, 1.0], 0.0, 0.0)
    assert px == pytest.approx([25.0, 12.5, 0.0]) and py == pytest.approx([0.0, 0.0, 0.0])
    assert frac == pytest.approx([0.75, 0.875, 1.0])
    assert dist == pytest.approx([25.0, 12.5, 0.0])
    assert facing == pytest.approx([1.0, 1.0, 0.0]), "straight at the camera; none from below"
    far = city.directed_edge([2], [1])[0]
    assert cov.ptr[far + 1] - cov.ptr[far] == 0, "the street out of range is not covered"


def test_oblique_street_faces_the_camera_only_at_first() -> None:
    city = grid(3, 2, 100.0)
    # A camera beside the street (10 m off it), looking along it: a walker approaching sees it
    # head-on at first and side-on when passing.
    cam = one_camera(x=100.0, y=10.0, heading=180.0, fov=120.0, range_m=30.0)
    cov = coverage(city, cam)
    e01 = city.directed_edge([0], [1])[0]
    k = cov.ptr[e01]
    assert cov.ptr[e01 + 1] - k == 1
    facing = cov.passage([k, k], [0.0, 1.0], 100.0, 10.0)[2]
    assert facing[0] > 0.9 and facing[1] < facing[0], "the angle opens as the walker nears"


def test_capture_quality_known_answers() -> None:
    from sim.cameras import capture_quality

    # Daytime, 12 m away, camera 4 m up, head-on, no crowd, normal walk.
    q = capture_quality(12.0, 4.0, 25.0, 1.0, 12, 0.0, 1.3)
    d = np.hypot(12, 4) / 25
    assert q == pytest.approx((1 - 0.3 * d) * (0.6 + 0.4 * 12 / np.hypot(12, 4)))
    assert capture_quality(12.0, 4.0, 25.0, 1.0, 23, 0.0, 1.3) == pytest.approx(0.7 * q), "dark"
    assert capture_quality(12.0, 4.0, 25.0, 1.0, 12, 120.0, 1.3) == pytest.approx(q / 2), "crowd"
    assert capture_quality(0.5, 4.0, 25.0, 1.0, 12, 0.0, 1.3) < 0.75 * q, "right under the camera"
    assert capture_quality(12.0, 4.0, 25.0, 1.0, 12, 0.0, 2.4) < q, "running blurs"


def test_all_sectors_at_once_equal_one_by_one() -> None:
    """Cameras.sectors builds the views in one vectorised call; each must be the polygon
    sector() gives for that camera alone (coordinates bit for bit), full circles included."""
    rng = np.random.default_rng(8)
    n = 40
    fov = rng.choice([60.0, 90.0, 135.0, 360.0], n)
    cams = Cameras(
        node=np.zeros(n, np.int32),
        x_m=rng.uniform(-500, 500, n),
        y_m=rng.uniform(-500, 500, n),
        heading_deg=rng.uniform(0, 360, n),
        fov_deg=fov,
        range_m=rng.uniform(10, 40, n),
        p_capture=np.ones(n),
        deployment=np.zeros(n, np.int16),
        height_m=np.full(n, 4.0),
        deployment_names=["test"],
    )
    got = cams.sectors()
    for i in range(n):
        one = sector(
            float(cams.x_m[i]),
            float(cams.y_m[i]),
            float(cams.heading_deg[i]),
            float(fov[i]),
            float(cams.range_m[i]),
        )
        assert np.array_equal(shapely.get_coordinates(got[i]), shapely.get_coordinates(one))
        assert got[i].is_valid and got[i].area > 0
    quarter = sector(0.0, 0.0, 0.0, 90.0, 10.0)
    assert quarter.area == pytest.approx(np.pi * 100 / 4, rel=0.01), "a quarter disc"
