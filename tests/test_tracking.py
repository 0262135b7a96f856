"""Tracking reach and the identity log: retention, scope, and home inference."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from analysis.tracking import tracking_table
from sim.scenario import load_scenario
from sim.schema import TABLES
from tests.conftest import small_dict

BASE = {"population": {"people": 2500}, "watchlist": {"size": 200, "present": 20}}


def reach(**over: object) -> tuple[np.ndarray, sim.RunResult]:
    res = sim.run(load_scenario(small_dict(**{**BASE, **over})))
    tab = tracking_table(res.tables, res.summary["duration_s"])
    return tab.column("reach").to_numpy(), res


def test_no_retention_and_watchlist_only_leave_the_unlisted_untracked() -> None:
    for gov in ({"retention_days": 0}, {"scan_scope": "watchlist_only"}):
        r, res = reach(governance=gov)
        listed = res.tables["people"].column("is_listed").to_numpy()
        assert np.all(r[~listed] == 0.0), f"{gov}: an unlisted person was tracked"
    r, _ = reach()
    assert (r > 0).sum() > 500, "with 30-day retention many people are tracked"


def test_reach_never_falls_with_more_retention_or_cameras() -> None:
    short, _ = reach(duration_h=24, governance={"retention_days": 0.25})
    long, _ = reach(duration_h=24, governance={"retention_days": 2})
    assert np.all(long >= short - 1e-12) and long.sum() > short.sum()
    few, _ = reach()
    many, _ = reach(deployment__0__count=40)
    assert np.all(many >= few - 1e-12) and many.sum() > few.sum()


def _table(name: str, **cols: list) -> pa.Table:
    schema = TABLES[name].schema()
    arrays = []
    for f in schema:
        v = cols[f.name]
        arrays.append(
            pa.array(v).dictionary_encode().cast(f.type)
            if pa.types.is_dictionary(f.type)
            else pa.array(v, f.type)
        )
    return pa.Table.from_arrays(arrays, schema=schema)


def test_known_answers_on_a_hand_built_world() -> None:
    """Person 0 lives at node 0 and goes out 20:00-02:00 every night for two nights, seen at
    23:00 each night by camera 0, 100 m from home. Person 1 is never seen."""
    day = 86_400.0
    trips = _table(
        "trips",
        trip_id=[0, 1, 2, 3, 4, 5],
        person_id=[0, 0, 0, 0, 1, 1],
        depart_s=[20 * 3600, 25.5 * 3600, day + 20 * 3600, day + 25.5 * 3600, 9 * 3600, 17 * 3600],
        arrive_s=[
            20.5 * 3600,
            26 * 3600,
            day + 20.5 * 3600,
            day + 26 * 3600,
            9.5 * 3600,
            17.5 * 3600,
        ],
        origin_node=[0, 2, 0, 2, 1, 2],
        dest_node=[2, 0, 2, 0, 2, 1],
        purpose=["leisure", "home"] * 3,
        length_m=[500.0] * 6,
    )
    caps = _table(
        "captures",
        capture_id=[0, 1],
        t_s=[23 * 3600 + 0.0, day + 23 * 3600],
        camera_id=[0, 0],
        person_id=[0, 0],
        trip_id=[0, 2],
        quality=[0.8, 0.8],
        distance_m=[5.0, 5.0],
        x_m=[100.0, 100.0],
        y_m=[0.0, 0.0],
    )
    log = _table(
        "identity_log",
        capture_id=[0, 1],
        t_s=[23 * 3600.0, day + 23 * 3600],
        camera_id=[0, 0],
        identity=[0, 0],
        source=["retained", "retained"],
        kept_until_s=[10 * day, 10 * day],
    )
    tables = {
        "people": _table(
            "people",
            person_id=[0, 1],
            group_id=[0, 0],
            age_band=["adult", "adult"],
            home_node=[0, 1],
            work_node=[-1, -1],
            speed_mps=[1.3, 1.3],
            is_listed=[False, False],
        ),
        "trips": trips,
        "captures": caps,
        "identity_log": log,
        "cameras": _table(
            "cameras",
            camera_id=[0],
            deployment=["c"],
            node=[3],
            x_m=[100.0],
            y_m=[0.0],
            heading_deg=[0.0],
            fov_deg=[90.0],
            range_m=[25.0],
            height_m=[4.0],
            kind=["cctv"],
            watchlist=["main"],
            active_from_s=[0.0],
            active_to_s=[day],
        ),
        "nodes": _table(
            "nodes",
            node=[0, 1, 2, 3],
            x_m=[0.0, 5000.0, 900.0, 100.0],
            y_m=[0.0, 0.0, 0.0, 0.0],
            district=["a"] * 4,
        ),
    }
    t = tracking_table(tables, end_s=2 * day + 6 * 3600)
    away = 2 * 6 * 3600.0  # two outings of 6 h
    assert t.column("away_s").to_pylist()[0] == pytest.approx(away)
    assert t.column("known_s").to_pylist()[0] == pytest.approx(2 * 1800.0), "15 min each side"
    assert t.column("reach").to_pylist()[0] == pytest.approx(3600.0 / away)
    assert t.column("trips_linked").to_pylist() == [2, 0]
    assert t.column("home_inferred").to_pylist() == [True, False], "seen near home at night"
    # The only guessed place is camera 0, 100 m from person 0's home: chance 1; no guess for
    # person 1: 0.
    assert t.column("home_chance").to_pylist() == [1.0, 0.0]
    assert t.column("links").to_pylist() == [2, 0]
    assert t.column("believed_s").to_pylist()[0] == pytest.approx(2 * 1800.0)
    # A false link: capture 1 (person 0's) also linked to person 1 by a search for their face.
    tables["identity_log"] = _table(
        "identity_log",
        capture_id=[0, 1, 1],
        t_s=[23 * 3600.0, day + 23 * 3600, day + 23 * 3600],
        camera_id=[0, 0, 0],
        identity=[0, 0, 1],
        source=["retained"] * 3,
        kept_until_s=[10 * day] * 3,
    )
    t = tracking_table(tables, end_s=2 * day + 6 * 3600)
    assert t.column("links").to_pylist() == [2, 1]
    assert t.column("links_true").to_pylist() == [2, 0]
    assert t.column("known_s").to_pylist()[1] == 0.0, "a false link is no true knowledge"
    assert t.column("believed_s").to_pylist()[1] == pytest.approx(1800.0)
    assert t.column("home_inferred").to_pylist() == [True, False], (
        "the false link points to camera 0, 5 km from person 1's home"
    )
    from analysis.tracking import tracking_summary

    summ = tracking_summary(t, np.zeros(2, np.int64), ["everyone"])
    assert summ["false_links"] == 1
    assert summ["tracking_precision_mean"] == pytest.approx(0.5), "person 0: 1, person 1: 0"
    # Deleted before the end of the run: not held any more, nothing known.
    tables["identity_log"] = _table(
        "identity_log",
        capture_id=[0, 1],
        t_s=[23 * 3600.0, day + 23 * 3600],
        camera_id=[0, 0],
        identity=[0, 0],
        source=["retained"] * 2,
        kept_until_s=[day, day],
    )
    t = tracking_table(tables, end_s=2 * day + 6 * 3600)
    assert t.column("known_s").to_pylist()[0] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200_000), st.integers(0, 5)), max_size=80), st.booleans())
def test_trips_per_person_in_time_order(rows: list[tuple[int, int]], sort_times: bool) -> None:
    """The radix sort of trips by person (times already sorted) is np.lexsort((t, person)),
    ties included; unsorted times fall back to lexsort itself."""
    from analysis.tracking import _by_person_then_time

    person = np.array([r[0] for r in rows], np.int64)
    t = np.array([r[1] * 60.0 for r in rows])
    if sort_times:
        t = np.sort(t)
    assert np.array_equal(_by_person_then_time(person, t), np.lexsort((t, person)))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 70_000), st.integers(0, 4)), max_size=80),
    st.booleans(),
    st.sampled_from([1e9, 1.0]),
)
def test_outing_order_is_the_stable_sort_of_the_shifted_times(
    rows: list[tuple[int, int]], grow: bool, shift: float
) -> None:
    """The union of known stretches sorts captures by start time shifted by outing: a radix
    sort by outing gives that order when times grow within each outing, ties included;
    otherwise (unsorted times, or outings close enough to interleave) the full sort is used."""
    from analysis.tracking import _order_of_outings

    o = np.array([r[0] for r in rows], np.int64)
    lo = np.array([r[1] * 900.0 for r in rows])
    if grow:
        lo = np.sort(lo)
    lo = lo + o * shift
    assert np.array_equal(_order_of_outings(lo, o), np.argsort(lo, kind="stable"))


def test_reach_does_not_depend_on_the_order_of_rows() -> None:
    # Trip ids are not row numbers once a table is reordered (issue 18: shuffling the trips
    # table moved mean reach from 0.188 to 0.062).
    _, res = reach(governance={"retention_days": 30})
    end = res.summary["duration_s"]
    base = tracking_table(res.tables, end)
    rng = np.random.default_rng(3)
    shuffled = dict(res.tables)
    for name in ("trips", "captures", "identity_log", "people"):
        t = res.tables[name]
        shuffled[name] = t.take(rng.permutation(t.num_rows))
    got = tracking_table(shuffled, end)
    for col in ("trips", "trips_linked", "away_s", "known_s", "reach", "home_inferred"):
        assert got.column(col).to_pylist() == pytest.approx(base.column(col).to_pylist()), col
    assert np.mean(base.column("reach").to_numpy()) > 0


def test_home_inference_beats_its_chance_baseline_with_retention() -> None:
    _, res = reach(governance={"retention_days": 30})
    s = res.summary
    assert s["home_inferred_chance_share"] is not None
    assert 0 <= s["home_inferred_chance_share"] <= s["home_inferred_share"] + 1e-12


def test_false_links_come_at_the_models_impostor_rate() -> None:
    # Each kept capture is searched against every resident: it is falsely linked with the
    # FPIR of its face against the population (adults' impostor rates), in expectation.
    from sim.matching import Matcher
    from sim.world import build_world

    _, res = reach(governance={"retention_days": 30}, facematch={"threshold": 0.55})
    t = res.tables
    sc = load_scenario(
        small_dict(
            **{**BASE, "governance": {"retention_days": 30}, "facematch": {"threshold": 0.55}}
        )
    )
    world = build_world(sc)
    pop = world.population
    m = Matcher(
        world.model,
        sc.threshold,
        world.model_group[pop.group],
        {k: np.uint64(1) for k in ("hit", "false", "claim_group", "claim_entry", "score")},
    )
    person = t["captures"].column("person_id").to_numpy()
    p = m.fpir[pop.age_band[person], world.model_group[pop.group[person]]]
    log = t["identity_log"]
    owner = dict(zip(t["captures"].column("capture_id").to_pylist(), person.tolist(), strict=True))
    src = log.column("source").to_pylist()
    wrong = sum(
        1
        for c, i, s_ in zip(
            log.column("capture_id").to_pylist(),
            log.column("identity").to_pylist(),
            src,
            strict=True,
        )
        if s_ == "retained" and owner[c] != i
    )
    expected, sd = float(p.sum()), float(np.sqrt((p * (1 - p)).sum()))
    assert wrong > 0 and abs(wrong - expected) < 4 * sd + 2, (wrong, expected, sd)


def test_tracking_keys_name_every_summary_key() -> None:
    from analysis.tracking import TRACKING_KEYS, tracking_summary

    _, res = reach()
    t = tracking_table(res.tables, res.summary["duration_s"])
    assert set(tracking_summary(t, np.zeros(t.num_rows, np.int64), ["x"])) == set(TRACKING_KEYS)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=0, max_size=8),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_columns_read_batch_by_batch_as_whole(sizes: list[int], shuffle: bool, seed: int) -> None:
    """analysis.ids.take and rows_of_ids (which read a run's columns one batch at a time, not
    joined) give what the joined column gives: rows in any order, ids numbered or not."""
    from analysis.ids import row_numbered, rows_of, rows_of_ids, take

    rng = np.random.default_rng(seed)
    n = sum(sizes)
    ids = rng.permutation(n) if shuffle else np.arange(n)
    starts = np.cumsum([0, *sizes])
    col = pa.chunked_array(
        [pa.array(ids[a:b], pa.int64()) for a, b in itertools.pairwise(starts)],
        pa.int64(),
    )
    rows = rng.integers(0, max(n, 1), 30) if n else np.zeros(0, np.int64)
    assert np.array_equal(take(col, rows), ids[rows])
    wanted = rng.integers(-2, n + 3, 30)
    assert np.array_equal(rows_of_ids(col, wanted), rows_of(ids, wanted))
    assert row_numbered(col) == (not shuffle or np.array_equal(ids, np.arange(n)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), homes=st.integers(0, 60), places=st.integers(0, 40))
def test_the_home_baseline_counts_the_places_within_the_radius(
    seed: int, homes: int, places: int
) -> None:
    """The baseline's k-d tree finds what the plain all-pairs count does, pairs exactly at
    the radius included (points on a 100 m lattice: 300 m apart is common)."""
    from analysis.tracking import HOME_RADIUS_M, _weight_near

    rng = np.random.default_rng(seed)
    hx, hy = (rng.integers(0, 12, homes) * 100.0 for _ in range(2))
    px, py = (rng.integers(0, 12, places) * 100.0 for _ in range(2))
    weight = rng.integers(1, 9, places)
    d = np.hypot(hx[:, None] - px[None, :], hy[:, None] - py[None, :])
    want = ((d <= HOME_RADIUS_M) * weight[None, :]).sum(axis=1)
    assert np.array_equal(_weight_near(hx, hy, px, py, weight), want)
