"""End-to-end runs in memory: determinism, common random numbers, ordering, known rates."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

import sim
from sim.scenario import load_scenario
from sim.schema import TABLES, TIME_COLUMNS
from sim.world import build_world
from tests.conftest import small_dict


def run_tables(**over: object) -> dict[str, pa.Table]:
    return sim.run(load_scenario(small_dict(**over))).tables


def test_every_table_has_its_schema(tiny_run) -> None:
    assert set(tiny_run.tables) == set(TABLES)
    for name, t in tiny_run.tables.items():
        assert t.schema.equals(TABLES[name].schema(), check_metadata=False), name
    assert tiny_run.tables["trips"].num_rows > 1000, "people make trips"
    assert tiny_run.tables["captures"].num_rows > 100, "cameras capture faces"
    assert tiny_run.tables["alerts"].num_rows > 0, "the low threshold raises alerts"


def test_same_seed_identical_tables_other_seed_different() -> None:
    a = run_tables()
    b = run_tables()
    for name in TABLES:
        assert a[name].equals(b[name]), f"{name} differs between two runs of one seed"
    c = run_tables(seed=12)
    assert not a["trips"].equals(c["trips"]), "another seed moves people differently"
    assert not a["captures"].equals(c["captures"])


def test_replications_differ_but_repeat() -> None:
    sc = load_scenario(small_dict())
    r1 = sim.run(sc, replication=1).tables["captures"]
    assert r1.equals(sim.run(sc, replication=1).tables["captures"])
    assert not r1.equals(sim.run(sc, replication=0).tables["captures"])


def test_changing_cameras_changes_no_trip() -> None:
    base = run_tables()
    for over in (
        {"deployment__0__count": 60},
        {"deployment__0__placement": "random"},
        {"governance": {"ban": True}},
        {"facematch": {"threshold": 0.7}},
    ):
        other = run_tables(**over)
        assert other["trips"].equals(base["trips"]), f"{over}: trips changed"
        assert other["people"].equals(base["people"]), f"{over}: people changed"
        assert other["watchlist"].equals(base["watchlist"]), f"{over}: watchlist changed"


def test_threshold_changes_alerts_not_captures() -> None:
    base = run_tables()
    strict = run_tables(facematch={"threshold": 0.66})
    assert strict["captures"].equals(base["captures"]), "matching happens after capture"
    assert strict["alerts"].num_rows < base["alerts"].num_rows, "a stricter threshold alerts less"


def test_more_cameras_keep_every_coin_of_the_old_ones() -> None:
    """Common random numbers: adding cameras leaves the captures of the existing ones alone."""
    a = run_tables()
    b = run_tables(deployment__0__count=40)  # footfall top-40 contains the top-20
    ca, cb = a["cameras"], b["cameras"]
    pos_a = dict(
        zip(ca.column("node").to_pylist(), ca.column("camera_id").to_pylist(), strict=True)
    )
    pos_b = dict(
        zip(cb.column("node").to_pylist(), cb.column("camera_id").to_pylist(), strict=True)
    )
    assert set(pos_a) <= set(pos_b), "the busiest 20 crossings are among the busiest 40"
    hd_a = dict(
        zip(ca.column("node").to_pylist(), ca.column("heading_deg").to_pylist(), strict=True)
    )
    hd_b = dict(
        zip(cb.column("node").to_pylist(), cb.column("heading_deg").to_pylist(), strict=True)
    )
    assert all(hd_a[n] == hd_b[n] for n in pos_a), "a camera looks the same way"

    def seen(t: dict[str, pa.Table], cams: dict[int, int]) -> set[tuple[int, int, float]]:
        c = t["captures"]
        by_id = {v: k for k, v in cams.items()}
        return {
            (by_id[cam], trip, round(ts, 6))
            for cam, trip, ts in zip(
                c.column("camera_id").to_pylist(),
                c.column("trip_id").to_pylist(),
                c.column("t_s").to_pylist(),
                strict=True,
            )
            if by_id[cam] in pos_a
        }

    assert seen(a, pos_a) == seen(b, pos_b), "same passages captured at the shared cameras"


def _decoded(t: pa.Table) -> pa.Table:
    """The table with its dictionary columns as plain values."""
    for i, f in enumerate(t.schema):
        if pa.types.is_dictionary(f.type):
            t = t.set_column(i, f.name, t.column(i).cast(f.type.value_type))
    return t


@pytest.mark.parametrize("batch_s", [45.0, 300.0, 3600.0])
def test_batch_length_changes_batching_not_results(batch_s: float) -> None:
    a = sim.run(
        load_scenario(small_dict(governance={"retention_days": 7, "review": {"enabled": True}}))
    )
    b = sim.run(
        load_scenario(
            small_dict(
                governance={"retention_days": 7, "review": {"enabled": True}},
                engine={"batch_s": batch_s},
            )
        )
    )
    assert a.tables["alerts"].num_rows > 0 and a.tables["identity_log"].num_rows > 0
    for name in a.tables:  # (dictionary columns are encoded batch by batch: compare values)
        assert _decoded(a.tables[name]).equals(_decoded(b.tables[name])), (
            f"{name}: results depend on the micro-batch length"
        )
    assert a.tables["captures"].column(0).num_chunks != b.tables["captures"].column(0).num_chunks
    assert {k: v for k, v in a.summary.items() if k not in ("wall_s", "scenario_hash")} == {
        k: v for k, v in b.summary.items() if k not in ("wall_s", "scenario_hash")
    }


@pytest.mark.parametrize("scenario", ["cctv", "bodycams_doors_retention"])
def test_routing_trips_ahead_in_chunks_changes_nothing(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine expands routes (and decides their captures and matches) for several
    micro-batches at once; every table must be the same whether it routes one window at a
    time or the whole day at once."""
    import sim.engine

    over: dict[str, object] = {}
    if scenario != "cctv":
        over = {
            "deployment": [
                {"kind": "cctv", "count": 20, "placement": "footfall", "range_m": 30},
                {"kind": "bodycam", "officers": 8},
                {"kind": "entry_point", "place_type": "shop", "count": 4},
            ],
            "governance": {"scan_scope": "everyone", "retention_days": 7},
        }
    sc = load_scenario(small_dict(**over))
    tables = []
    for chunk in (1, 10**9):
        monkeypatch.setattr(sim.engine, "ROUTE_CHUNK", chunk)
        tables.append(sim.run(sc).tables)
    assert tables[0]["captures"].num_rows > 100
    for name in TABLES:
        assert tables[0][name].equals(tables[1][name]), f"{name} depends on the routing chunk"


def test_ban_means_no_captures_and_no_alerts() -> None:
    t = run_tables(governance={"ban": True})
    assert t["cameras"].num_rows == 0
    assert t["captures"].num_rows == 0 and t["alerts"].num_rows == 0
    assert t["trips"].num_rows > 0, "people still move"


def test_event_times_never_decrease(tiny_run) -> None:
    for name, col in TIME_COLUMNS.items():
        times = tiny_run.tables[name].column(col).to_numpy()
        assert np.all(np.diff(times) >= 0), f"{name}.{col} goes back in time"
    for name in ("captures", "alerts"):
        key = "capture_id" if name == "captures" else "alert_id"
        ids = tiny_run.tables[name].column(key).to_numpy()
        assert np.array_equal(ids, np.arange(ids.size)), f"{name} ids are 0..n-1 in time order"


def test_every_alert_refers_to_an_earlier_capture(tiny_run) -> None:
    caps = tiny_run.tables["captures"]
    al = tiny_run.tables["alerts"]
    cap_t = caps.column("t_s").to_numpy()
    cid = al.column("capture_id").to_numpy()
    assert np.all(cid < caps.num_rows), "the capture exists"
    assert np.all(cap_t[cid] < al.column("t_s").to_numpy()), "the capture came first"
    assert np.array_equal(
        caps.column("camera_id").to_numpy()[cid], al.column("camera_id").to_numpy()
    ), "same camera"


def test_captures_happen_during_the_trip_at_a_camera_on_the_route(tiny_run) -> None:
    trips = tiny_run.tables["trips"]
    caps = tiny_run.tables["captures"]
    tid = caps.column("trip_id").to_numpy()
    t = caps.column("t_s").to_numpy()
    dep = trips.column("depart_s").to_numpy()[tid]
    arr = trips.column("arrive_s").to_numpy()[tid]
    assert np.all((t >= dep) & (t <= arr + 1e-6)), "captured while walking"
    assert np.array_equal(
        caps.column("person_id").to_numpy(), trips.column("person_id").to_numpy()[tid]
    ), "the walker's face"
    q = caps.column("quality").to_numpy()
    assert np.all((q > 0) & (q <= 1))
    cams = tiny_run.tables["cameras"]
    rng_m = cams.column("range_m").to_numpy()[caps.column("camera_id").to_numpy()]
    assert np.all(caps.column("distance_m").to_numpy() <= rng_m + 1e-3), "within range"


def test_false_alert_frequency_matches_the_model() -> None:
    """Known answer: non-listed captures of group g alert falsely with probability FPIR_g."""
    over = {
        "population": {"people": 3000},
        "facematch": {"threshold": 0.52},
        "watchlist": {"size": 2000, "present": 0},
    }
    sc = load_scenario(small_dict(**over))
    world = build_world(sc)
    res = sim.run(sc)
    enrolled = np.bincount(
        world.model_group[world.watchlist.group], minlength=len(world.model.groups)
    )
    # FPIR of each (age band, population group): children and seniors resemble the list's
    # adults less than adults do.
    fpir = world.model.fpir_by_age(0.52, enrolled)[:, world.model_group]
    caps = res.tables["captures"]
    person = caps.column("person_id").to_numpy()
    group, age = world.population.group[person], world.population.age_band[person]
    n_by_cell = np.zeros(fpir.shape)
    np.add.at(n_by_cell, (age, group), 1)
    expected = float((n_by_cell * fpir).sum())
    got = res.summary["false_alerts"]
    sd = float(np.sqrt((n_by_cell * fpir * (1 - fpir)).sum()))
    assert fpir[0].mean() < fpir[1].mean(), "children's faces against adults' lists"
    assert expected > 200, "enough alerts for a sharp test"
    assert abs(got - expected) < 4 * sd, f"false alerts {got} vs expected {expected:.0f}"
    assert res.summary["true_alerts"] == 0, "nobody listed is in town"


def test_listed_people_are_found_at_the_model_rate() -> None:
    over = {
        "population": {"people": 2000},
        "watchlist": {"size": 400, "present": 400},
        "facematch": {"threshold": 0.75},
    }
    sc = load_scenario(small_dict(**over))
    world = build_world(sc)
    res = sim.run(sc)
    caps = res.tables["captures"]
    person = caps.column("person_id").to_numpy()
    listed = world.watchlist.entry_of_person(world.population.n)[person] >= 0
    q = caps.column("quality").to_numpy()[listed]
    p = world.model.p_hit(0.75, world.model_group[world.population.group[person[listed]]], q)
    expected = float(p.sum())
    sd = float(np.sqrt((p * (1 - p)).sum()))
    got = res.summary["true_alerts"]
    assert expected > 100
    assert abs(got - expected) < 4 * sd, f"true alerts {got} vs expected {expected:.0f}"


def test_run_leaves_global_random_state_untouched() -> None:
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what is guarded)
    random.seed(123)
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    run_tables()
    after = np.random.get_state()  # noqa: NPY002
    assert all(
        np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
        for a, b in zip(np_state, after, strict=True)
    ), "numpy global RNG touched"
    assert random.getstate() == py_state, "random module touched"


def test_stream_yields_the_same_batches_in_time_order() -> None:
    sc = load_scenario(small_dict(duration_h=6))
    seen: dict[str, list[pa.RecordBatch]] = {}
    last_t = -1.0
    for name, batch in sim.stream(sc):
        seen.setdefault(name, []).append(batch)
        if name == "captures" and batch.num_rows:
            t = batch.column("t_s").to_numpy()
            assert t[0] >= last_t, "captures batches in time order"
            last_t = float(t[-1])
    tables = sim.run(sc).tables
    for name, batches in seen.items():
        streamed = pa.Table.from_batches(batches)
        assert streamed.equals(tables[name].replace_schema_metadata(None).cast(streamed.schema)), (
            name
        )


def test_duration_cuts_the_run() -> None:
    t = run_tables(duration_h=10)
    dur = 10 * 3600
    assert t["trips"].column("depart_s").to_numpy().max() < dur
    assert t["captures"].column("t_s").to_numpy().max() < dur
    if t["alerts"].num_rows:
        assert t["alerts"].column("t_s").to_numpy().max() < dur


def test_multi_day_runs_repeat_the_daily_rhythm() -> None:
    t = run_tables(duration_h=48, population={"people": 400})
    dep = t["trips"].column("depart_s").to_numpy()
    day1 = (dep < 86400).sum()
    day2 = (dep >= 86400).sum()
    assert day2 == pytest.approx(day1, rel=0.1), "about as many trips each day"


def test_first_passage_per_trip_and_camera_matches_a_full_sort() -> None:
    """The street sensor's first-per-key selection: a lexsort by (key, when), each key's first."""
    import numpy as np

    from sim.sensors.street import first_per_key as _first_per_key

    rng = np.random.default_rng(11)
    for _ in range(50):
        n = int(rng.integers(0, 400))
        key = np.sort(rng.integers(0, 30, n)) * 7 + rng.integers(0, 7, n)  # nearly sorted
        when = rng.integers(0, 20, n).astype(np.float64)  # many ties
        order = np.lexsort((when, key))
        first = np.ones(n, bool)
        first[1:] = key[order][1:] != key[order][:-1]
        expected = order[first]
        np.testing.assert_array_equal(_first_per_key(key.astype(np.int64), when), expected)
