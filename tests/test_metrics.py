"""The summary: known answers on hand-made tables, invariance to row order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.metrics import summarize
from sim.schema import TABLES

SUMMARY_KEYS = {
    "scenario",
    "seed",
    "replication",
    "people",
    "duration_s",
    "captures",
    "captures_by_group",
    "alerts",
    "true_alerts",
    "false_alerts",
    "false_alert_share",
    "false_alerts_by_group",
    "false_alert_rate_by_group",
    "false_alert_rate_ratio",
    "watchlist_present",
    "watchlist_detected_share",
    "wall_s",
}


def table(name: str, **cols: list) -> pa.Table:
    schema = TABLES[name].schema(
        {"scenario": "hand", "seed": "4", "replication": "0", "duration_s": "3600.0"}
    )
    arrays = []
    for f in schema:
        v = cols[f.name]
        if pa.types.is_dictionary(f.type):
            arrays.append(pa.array(v).dictionary_encode().cast(f.type))
        else:
            arrays.append(pa.array(v, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def hand_made() -> dict[str, pa.Table]:
    """Two groups; person 0 (group a) is listed as entry 0; entry 1 lives elsewhere.

    Captures: person 0 twice, person 1 (a) three times, person 2 (b) five times.
    Alerts: capture 0 -> entry 0 (true), capture 2 -> entry 0 (false, person 1 of group a),
    capture 5 -> entry 1 (false, person 2 of group b), capture 6 -> entry 1 (false, person 2).
    """
    return {
        "groups": table(
            "groups",
            group_id=[0, 1],
            group=["a", "b"],
            label=["A", "B"],
            share=[0.5, 0.5],
            model_group=["a", "b"],
            classifier_label=["", ""],
        ),
        "people": table(
            "people",
            person_id=[0, 1, 2],
            group_id=[0, 0, 1],
            age_band=["adult"] * 3,
            home_node=[0, 0, 0],
            work_node=[-1] * 3,
            speed_mps=[1.3] * 3,
            is_listed=[True, False, False],
        ),
        "watchlist": table(
            "watchlist",
            watchlist=["main", "main"],
            entry_id=[0, 1],
            group_id=[0, 1],
            person_id=[0, -1],
        ),
        "captures": table(
            "captures",
            capture_id=list(range(10)),
            t_s=[float(i) for i in range(10)],
            camera_id=[0] * 10,
            person_id=[0, 0, 1, 1, 1, 2, 2, 2, 2, 2],
            trip_id=list(range(10)),
            quality=[1.0] * 10,
            distance_m=[5.0] * 10,
            x_m=[0.0] * 10,
            y_m=[0.0] * 10,
        ),
        "alerts": table(
            "alerts",
            alert_id=[0, 1, 2, 3],
            t_s=[0.5, 2.5, 5.5, 6.5],
            capture_id=[0, 2, 5, 6],
            camera_id=[0] * 4,
            watchlist=["main"] * 4,
            entry_id=[0, 0, 1, 1],
            score=[0.9, 0.7, 0.65, 0.66],
        ),
        "reviews": table(
            "reviews",
            alert_id=[0, 1, 2, 3],
            t_s=[60.5, 62.5, 65.5, 66.5],
            wait_s=[0.0, 0.0, 0.0, 0.0],
            verdict=["confirmed", "rejected", "auto_acted", "dropped"],
        ),
        "stops": table(
            "stops",
            stop_id=[0, 1],
            alert_id=[0, 2],
            t_s=[200.5, 300.0],
            person_id=[0, 2],
            outcome=["arrest", "wrongful_stop"],
            duration_s=[1200.0, 1200.0],
            response_s=[200.0, 294.5],
        ),
    }


def test_known_answers() -> None:
    s = summarize(hand_made(), wall_s=1.5)
    assert set(s) >= SUMMARY_KEYS
    assert s["scenario"] == "hand" and s["seed"] == 4 and s["duration_s"] == 3600.0
    assert s["people"] == 3 and s["captures"] == 10
    assert s["captures_by_group"] == {"a": 5, "b": 5}
    assert (s["alerts"], s["true_alerts"], s["false_alerts"]) == (4, 1, 3)
    assert s["false_alert_share"] == pytest.approx(0.75)
    assert s["false_alerts_by_group"] == {"a": 1, "b": 2}
    # Rates per 1,000 captures of people not listed: a: 1 of 3 captures, b: 2 of 5.
    assert s["false_alert_rate_by_group"]["a"] == pytest.approx(1000 / 3)
    assert s["false_alert_rate_by_group"]["b"] == pytest.approx(400.0)
    assert s["false_alert_rate_ratio"] == pytest.approx(400 / (1000 / 3))
    assert s["watchlist_present"] == 1 and s["watchlist_detected_share"] == 1.0
    # Review: alert 0 (true) confirmed, alert 2 (false) acted on unreviewed; alerts 1 and 3
    # (false) rejected and dropped.
    assert s["confirmed_alerts"] == 2 and s["confirmed_false_alerts"] == 1
    assert s["false_alerts_rejected_share"] == pytest.approx(1 / 3), "dropped is not rejected"
    # Stops: person 0 arrested; person 2 (group b, one of 1 resident) stopped wrongly.
    assert (s["stops"], s["arrests"], s["wrongful_stops"]) == (2, 1, 1)
    assert s["wrongful_stops_by_group"] == {"a": 0, "b": 1}
    assert s["wrongful_stops_per_100k_by_group"]["b"] == pytest.approx(100_000.0)
    assert s["intercept_time_s_median"] == pytest.approx((200.0 + 294.5) / 2)
    assert s["label_error_by_group"] is None, "no classifier"
    assert s["wall_s"] == 1.5


def test_no_alerts_no_division_by_zero() -> None:
    t = hand_made()
    t["alerts"] = TABLES["alerts"].schema().empty_table()
    t["reviews"] = TABLES["reviews"].schema().empty_table()
    t["stops"] = TABLES["stops"].schema().empty_table()
    s = summarize(t)
    assert s["alerts"] == 0 and s["false_alert_share"] is None
    assert s["false_alert_rate_ratio"] is None, "no ratio when the lowest rate is zero"
    assert s["watchlist_detected_share"] == 0.0


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_summary_is_invariant_to_row_order(rnd) -> None:
    t = hand_made()
    base = summarize(t)
    shuffled = {}
    for name, tab in t.items():
        order = list(range(tab.num_rows))
        rnd.shuffle(order)
        shuffled[name] = tab.take(pa.array(order, pa.int64()))
    assert summarize(shuffled) == base


def test_real_run_summary_has_every_key(tiny_run) -> None:
    s = tiny_run.summary
    assert set(s) >= SUMMARY_KEYS
    assert s["alerts"] == s["true_alerts"] + s["false_alerts"]
    assert sum(s["captures_by_group"].values()) == s["captures"]
    assert sum(s["false_alerts_by_group"].values()) == s["false_alerts"]
    rates = [r for r in s["false_alert_rate_by_group"].values() if r is not None]
    assert all(r >= 0 for r in rates)
    assert np.isfinite(s["wall_s"])
