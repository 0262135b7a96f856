"""The classroom's parts without a browser: the playhead, the figures against the report, the
server's limits and fairness, runs side by side, another day's luck, and the words."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from classroom import sessions as sessions_mod
from classroom.measures import Share
from classroom.playback import Playhead
from classroom.presets import LIMITS, Controls, overrides
from classroom.session import Run
from classroom.sessions import BusyError, Sessions, ranges
from classroom.story import clock, day_summary, recent
from sim.edge.api import run as sim_run
from sim.scenario import load_scenario


def _computed(controls: Controls, replication: int = 0) -> Run:
    run = Run(controls, seconds_per_day=0.0, replication=replication)
    run.compute()
    assert run.status == "computed", run.message
    return run


def _summary(controls: Controls) -> dict[str, Any]:
    path, ov = overrides(controls)
    return sim_run(load_scenario(path, ov)).summary


# ---------------------------------------------------------------- the playhead
def test_playhead_play_pause_step_speed_reset() -> None:
    ph = Playhead(seconds_per_day=24.0)  # one simulated hour per wall second
    assert ph.at(100.0, 86_400) == 0.0  # not started: stands at midnight
    ph.start(100.0)
    assert ph.at(103.0, 86_400) == 3 * 3600
    assert ph.at(103.0, 7200) == 7200  # never past what is computed
    ph.pause(103.0, 86_400)
    assert ph.at(500.0, 86_400) == 3 * 3600  # paused: stands still
    ph.step(500.0, 86_400)
    assert ph.at(900.0, 86_400) == 4 * 3600 and not ph.playing  # one simulated hour on
    ph.step(900.0, 4.5 * 3600)
    assert ph.at(900.0, 86_400) == 4.5 * 3600  # a step stops at the limit
    ph.play(900.0, 86_400)
    ph.set_speed(12.0, 901.0, 86_400)  # twice as fast from here
    assert ph.at(902.0, 86_400) == pytest.approx(4.5 * 3600 + 3600 + 7200)
    ph.reset(903.0)
    assert ph.at(1000.0, 86_400) == 0.0 and not ph.playing
    instant = Playhead(seconds_per_day=0.0)
    instant.start(0.0)
    assert instant.at(0.0, 5000.0) == 5000.0  # instant: as far as computed


def test_a_run_pauses_steps_and_plays_again_from_the_start() -> None:
    run = _computed(Controls(people=1000, cameras=20))
    run.playhead.anchor_wall = time.monotonic() - 1e6  # played long ago: at the end
    assert run.snapshot()["status"] == "done"
    run.control("reset")
    snap = run.snapshot()
    assert snap["status"] == "paused" and snap["t_s"] == 0.0 and snap["clock"] == "00:00"
    assert snap["counters"]["captures"] == 0
    for _ in range(9):
        run.control("step")
    nine = run.snapshot()
    assert nine["t_s"] == 9 * 3600 and nine["clock"] == "09:00"
    assert 0 < nine["counters"]["captures"] < run.ev.get("cap.t").size
    assert nine["series"]["hours"][-1] == 9.0 and len(nine["series"]["hours"]) == 37
    run.control("play")
    assert run.snapshot()["status"] == "done"  # instant speed: straight to the end


# ---------------------------------------------------------------- figures = the report's
def test_the_summary_states_the_reports_headline_disparity() -> None:
    """Lesson 2 asks how many times as often as White men: the summary says the report's
    false_alert_disparity (the highest ratio to the reference group, with its interval)."""
    from classroom.presets import LESSONS

    controls = LESSONS[1].controls
    run = _computed(controls)
    run.playhead.anchor_wall = time.monotonic() - 1e6
    text = run.snapshot()["summary"][2]
    d = _summary(controls)["false_alert_disparity"]
    labels = dict(zip(run.world.population.group_names, run.static["labels"], strict=True))
    assert d is not None
    assert text.startswith(
        f"{labels[d['group']]} had {d['ratio']:.1f} times the rate of false alerts per face "
        f"captured of {labels[d['reference']]}"
    )
    assert f"{d['ci'][0]:.2g} to" in text


def test_end_of_day_figures_equal_the_report() -> None:
    """The bars' rate is the report's false_alert_rate_by_group (same k and n), and the
    protest's 'named by the system' is its participants_identified_share_by_group."""
    controls = Controls(preset="protest", people=3000, cameras=60, retention_days=30)
    run = _computed(controls)
    summary = _summary(controls)
    snap = run.snapshot()
    names = list(summary["false_alert_rate_by_group"])
    g = snap["groups"]
    assert g["k"] == [summary["false_alerts_unlisted_by_group"][n] for n in names]
    assert g["n"] == [summary["unlisted_captures_by_group"][n] for n in names]
    for r, n in zip(g["rate"], names, strict=True):
        assert r == pytest.approx(summary["false_alert_rate_by_group"][n])
    assert g["too_few"] == [summary["false_alert_too_few_by_group"][n] for n in names]
    c = snap["counters"]
    shares = summary["participants_identified_share_by_group"]
    part = run.ev.get("gp.person", np.int64)[~run.ev.get("g.routine", bool)[
        run.ev.get("gp.gathering", np.int64)]]  # fmt: skip
    group = run.ev.get("person.group", np.int64)[part]
    expected = sum(
        shares[n] * np.count_nonzero(group == i) for i, n in enumerate(names) if shares[n]
    )
    assert c["protesters_named"] == round(expected) and c["protesters"] == part.size
    assert 0 < c["protesters_named"] < c["protesters"]
    for key in ("captures", "alerts", "true_alerts", "false_alerts", "assembly_alarms"):
        assert c[key] == summary[key], key


def test_gatherings_are_shown_only_while_they_happen() -> None:
    run = _computed(Controls(preset="protest", people=2000, cameras=40, retention_days=30))
    ev = run.ev
    routine = ev.get("g.routine", bool)
    protest = int(np.flatnonzero(~routine)[0])
    market = int(np.flatnonzero(routine)[0])
    t_market = float(ev.get("g.start")[market] + 600)
    m = run._map(t_market)
    assert len(m["gatherings"][0]) == 0 and len(m["crowds"][0]) == 1  # a market, not a protest
    assert "protesters_named" not in run._figures(t_market)["counters"]  # before 18:00: none
    t_protest = float(ev.get("g.start")[protest] + 600)
    m = run._map(t_protest)
    assert len(m["gatherings"][0]) == 1 and len(m["crowds"][0]) == 0
    assert run._figures(t_protest)["counters"]["protesters"] > 0


def test_bodycam_preset_shows_its_stop_disparity() -> None:
    from classroom.presets import PRESETS

    run = _computed(PRESETS["bodycam"].defaults)
    snap = run.snapshot()
    summary = _summary(PRESETS["bodycam"].defaults)
    names = list(summary["patrol_stops_by_group"])
    assert snap["patrol"]["k"] == [summary["patrol_stops_by_group"][n] for n in names]
    rate = dict(zip(snap["groups"]["labels"], snap["patrol"]["rate"], strict=True))
    assert rate["Black men"] > 3 * rate["White men"]  # stop_propensity 7 in the scenario
    text = " ".join(snap["summary"])
    assert "times the rate of patrol stops per resident" in text and "Black" in text


# ---------------------------------------------------------------- limits and fairness
@pytest.mark.parametrize("key", list(LIMITS))
def test_the_page_limits_hold_whatever_a_request_says(key: str) -> None:
    lo, hi = LIMITS[key]
    for bad in (hi * 10, lo - 1, float("nan")):
        with pytest.raises(ValueError, match="between"):
            Controls(**{key: bad}).check()
    Controls(**{key: hi}).check()


def test_one_client_cannot_hold_up_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that queues many runs waits for its own; another's run is taken next."""
    s = Sessions(workers=0)  # no workers: the queue is inspected, not drained
    small = Controls(people=1000, cameras=10)
    for i in range(10):
        s.start(f"flood{i}", small, 0.0, client="10.0.0.9")
    mine = s.start("teacher", small, 0.0, client="10.0.0.1")
    with s.lock:
        first = s._next()
        second = s._next()
    assert first is not None and second is mine
    # A new run of the same session replaces its queued one (no pile-up).
    before = s._active("10.0.0.1")
    s.start("teacher", small, 0.0, client="10.0.0.1")
    assert s._active("10.0.0.1") == before == 1 and mine.cancelled
    monkeypatch.setattr(sessions_mod, "ACTIVE_PER_CLIENT", 11)
    with pytest.raises(BusyError, match="already has 11 runs"):
        for i in range(10, 13):
            s.start(f"flood{i}", small, 0.0, client="10.0.0.9")
    monkeypatch.setattr(sessions_mod, "QUEUE_MAX", 13)  # 10 + 1 waiting now
    with pytest.raises(BusyError, match="busy"):
        for i in range(3):
            s.start(f"other{i}", small, 0.0, client="10.0.0.2")


def test_sessions_per_client_are_capped_and_idle_ones_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sessions_mod, "SESSIONS_PER_CLIENT", 5)
    s = Sessions(workers=0)
    runs = [s.start(f"s{i}", Controls(people=1000), 0.0, client="c") for i in range(8)]
    assert [k for k in s.sessions] == [f"s{i}" for i in range(3, 8)]
    assert all(r.cancelled for r in runs[:3]) and not any(r.cancelled for r in runs[3:])
    monkeypatch.setattr(sessions_mod, "IDLE_S", 0.0)
    s.start("late", Controls(people=1000), 0.0, client="d")
    assert list(s.sessions) == ["late"]


def test_runs_side_by_side_and_another_days_luck() -> None:
    s = Sessions(workers=2)
    first = s.start("room", Controls(people=2000, cameras=40, threshold=0.57), 0.0)
    while first.active:
        time.sleep(0.05)
    second = s.start("room", Controls(people=2000, cameras=40, threshold=0.62), 0.0)
    while second.active:
        time.sleep(0.05)
    (before,) = s.history("room")
    assert before["controls"]["threshold"] == 0.57 and first.ev.get("cap.t").size == 0  # shelved
    after = second.record()
    assert after is not None
    assert after["counters"]["alerts"] < before["counters"]["alerts"]  # a stricter threshold
    assert before["series"]["false_alerts"][-1] == before["counters"]["false_alerts"]
    s.luck("room")
    while (got := s.luck_ranges("room")) is not None and "days" not in got:
        time.sleep(0.1)
    assert got is not None and got["days"] == 1 + sessions_mod.LUCK_DAYS
    lo, hi = got["counters"]["false_alerts"]
    assert lo <= after["counters"]["false_alerts"] <= hi and lo < hi  # other days differ
    with pytest.raises(ValueError, match="run a day first"):
        s.luck("nobody")


def test_ranges_known_answer() -> None:
    def rec(false: int, alerts: int, rate: float | None) -> dict[str, Any]:
        counters = {"false_alerts": false, "true_alerts": alerts - false, "alerts": alerts,
                    "wrongful_stops": 0, "patrol_stops": 0}  # fmt: skip
        few = [rate is None or rate < 3]
        return {"counters": counters, "groups": {"labels": ["a"], "rate": [rate], "too_few": few}}

    got = ranges([rec(8, 10, 2.0), rec(3, 4, 5.0), rec(9, 10, None)])
    assert got["counters"]["false_alerts"] == (3, 9)
    assert got["false_share"] == ("75", "90")
    assert ranges([rec(299, 300, 4.0), rec(300, 300, 4.0)])["false_share"] == (
        "more than 99",
        "100",
    )
    assert got["rate"] == [None]  # one day had no capture of the group: no range
    assert ranges([rec(8, 10, 2.0), rec(3, 4, 5.0)])["rate"] == ["few"]  # too few on a day
    assert ranges([rec(8, 10, 4.0), rec(3, 4, 5.0)])["rate"] == [(4.0, 5.0)]
    assert "protesters_named" not in got["counters"]


# ---------------------------------------------------------------- words
def test_clock_share_and_narration_words() -> None:
    assert clock(0) == "00:00" and clock(86_400) == "24:00" and clock(86_460) == "day 2, 00:01"
    assert clock(2 * 86_400) == "day 2, 24:00"
    assert Share(97, 100).of_100() == "97" and Share(299, 300).of_100() == "more than 99"
    assert Share(1, 300).of_100() == "fewer than 1" and Share(0, 5).of_100() == "0"
    assert Share(5, 5).of_100() == "100" and Share(0, 0).of_100() == "-"
    lines = recent([(60.0, "a"), (120.0, "b"), (180.0, "a"), (240.0, "a"), (900.0, "c")], 300)
    assert lines == ["00:04  a (x3 since 00:01)", "00:02  b"]


def test_day_summary_compares_only_groups_with_enough_events() -> None:
    snap = {
        "counters": {"captures": 1000, "alerts": 30, "true_alerts": 3, "false_alerts": 27},
        "relevant": [],
        "groups": {"labels": ["A", "B", "C"], "k": [20, 5, 2], "n": [1000, 1000, 10]},
    }
    text = day_summary(snap, "capital")
    assert "27 at someone else (90 of every 100 alerts wrong)" in text[1]
    assert "Too few false alerts to compare the groups with A: 1 group has 10 or more" in text[2]
    snap["groups"]["k"] = [20, 10, 2]
    text = day_summary(snap, "capital")
    assert text[2].startswith("B had 0.5 times the rate of false alerts per face captured of A")
    assert "allowing for chance" in text[2] and "cannot be told apart" in text[2]


def test_stops_count_only_stops_made_as_the_report_does() -> None:
    """Officers who arrive too late make no stop: the counter leaves them out, as the
    report's `stops` does (a setting where most intercepts are missed)."""
    controls = Controls(preset="regulated", people=8000, cameras=200, threshold=0.5)
    run = _computed(controls)
    summary = _summary(controls)
    c = run.snapshot()["counters"]
    assert summary["missed_intercepts"] > summary["stops"] > 0
    assert c["stops"] == summary["stops"] and c["wrongful_stops"] == summary["wrongful_stops"]


def test_a_waiting_playhead_goes_on_from_where_it_waited() -> None:
    run = Run(Controls(), seconds_per_day=24.0)  # an hour a second
    run.playhead.start(time.monotonic() - 10.0)  # playing for ten seconds: 10:00 ...
    run.computed_s = 3600.0  # ... but the engine has only reached 01:00
    assert run.clock_s() == 3600.0
    with run.lock:
        run._advance(7200.0)
    assert 3600.0 <= run.clock_s() < 3600.0 + 600.0  # on from 01:00, not a jump to 02:00


def test_eviction_spares_the_page_being_watched_and_refusals_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sessions_mod, "SESSIONS_PER_CLIENT", 3)
    s = Sessions(workers=0)
    teacher = s.start("teacher", Controls(), 0.0, client="c")
    s.start("a", Controls(), 0.0, client="c")
    s.start("b", Controls(), 0.0, client="c")
    assert s.get("teacher") is teacher  # the teacher's page polls: seen most recently
    s.start("c", Controls(), 0.0, client="c")
    assert "teacher" in s.sessions and "a" not in s.sessions
    monkeypatch.setattr(sessions_mod, "QUEUE_MAX", 3)
    with pytest.raises(BusyError):
        s.start("d", Controls(), 0.0, client="c")
    assert set(s.sessions) == {"teacher", "b", "c"} and not teacher.cancelled


def test_bodycam_needs_an_officer() -> None:
    with pytest.raises(ValueError, match="cameras must be between 10 and 200"):
        Controls(preset="bodycam", cameras=0).check()
    Controls(preset="capital", cameras=0).check()


def test_luck_keeps_its_ranges_and_lets_its_runs_go() -> None:
    s = Sessions(workers=2)
    run = s.start("room", Controls(people=1000, cameras=20), 0.0)
    while run.active:
        time.sleep(0.05)
    s.luck("room")
    luck_runs = list(s.sessions["room"].luck)
    while (got := s.luck_ranges("room")) is not None and "days" not in got:
        time.sleep(0.1)
    assert got is not None and all(r.status == "shelved" for r in luck_runs)
    assert all(r.ev.get("cap.t").size == 0 for r in luck_runs)  # their events are gone
    run.shelve()  # the current run put away too: the ranges stay, the record too
    assert s.luck_ranges("room") == got and run.record() is not None
    assert set(got["counters"]) == {"false_alerts", "true_alerts"}  # CCTV: no stops kept
    assert all(r == "few" or r is None or r[0] <= r[1] for r in got["rate"])


def test_summary_words_for_ties_single_events_and_chance() -> None:
    from classroom.story import _compare, plural

    assert plural(1, "face") == "1 face" and plural(2, "person", "people") == "2 people"
    tie = _compare(["A", "B"], [10, 20], [100, 200], "false alerts", "per face captured")
    assert tie.startswith("B had 1.0 times the rate") and "of A" in tie
    assert "cannot be told apart" in tie
    big = _compare(["A", "B"], [10, 100], [1000, 1000], "false alerts", "per face captured")
    assert big.startswith("B had 10.0 times") and "cannot be told apart" not in big
    low = _compare(["A", "B"], [100, 10], [1000, 1000], "false alerts", "per face captured")
    assert low.startswith("B had 0.1 times") and "cannot be told apart" not in low
    snap = {
        "counters": {
            "captures": 1,
            "alerts": 1,
            "true_alerts": 0,
            "false_alerts": 1,
            "stops": 1,
            "wrongful_stops": 1,
        },
        "relevant": ["stops"],
        "groups": {"labels": ["A"], "k": [1], "n": [1]},
    }
    text = " ".join(day_summary(snap, "capital"))
    assert "captured 1 face." in text and "raised 1 alert:" in text
    assert "stopped 1 person on alerts; 1 of them was not" in text


def test_minority_alarm_summary_says_how_many_alarms_were_false() -> None:
    from classroom.presets import PRESETS

    controls = PRESETS["minority"].defaults
    run = _computed(controls)
    run.playhead.anchor_wall = time.monotonic() - 1e6
    snap = run.snapshot()
    summary = _summary(controls)
    a = snap["assemblies"]
    for key in ("false_assembly_alarms", "gatherings_detected", "gatherings", "assembly_alarms"):
        assert a[key] == summary[key], key
    assert a["false_assembly_alarms"] > 0
    text = " ".join(snap["summary"])
    assert f"{a['false_assembly_alarms']:,} at no real gathering" in text
