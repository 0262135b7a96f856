"""The classroom demo: presets, sessions, forged input, binding, and the page in Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classroom.app import is_loopback, render, start_run
from classroom.presets import LESSONS, PRESETS, Controls, overrides
from classroom.session import Run
from classroom.sessions import Sessions
from classroom.story import article, singular
from sim.edge.api import run as sim_run
from sim.scenario import load_scenario
from tests.conftest import ROOT


def _wait(run: Run, timeout: float = 60.0) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        snap = run.snapshot()
        if snap["status"] in ("done", "failed"):
            return snap
        time.sleep(0.05)
    raise AssertionError(f"run still {run.status} after {timeout} s")


# ---------------------------------------------------------------- presets and sessions
@pytest.mark.parametrize(
    "controls",
    [p.defaults for p in PRESETS.values()] + [ls.controls for ls in LESSONS],
    ids=lambda c: c.preset,
)
def test_every_preset_and_lesson_is_a_valid_classroom_scenario(controls: Controls) -> None:
    path, ov = overrides(controls)
    sc = load_scenario(path, ov)  # the same validation as scenario files
    assert sc.population.people == controls.people <= 8000
    assert sc.duration_h == 24
    assert sc.governance.threshold == controls.threshold


def test_the_page_shows_what_the_simulation_produced() -> None:
    """Counters after playback equal the summary of the same scenario run through the API."""
    controls = Controls(
        preset="regulated", people=2000, cameras=40, threshold=0.58, watchlist=1000, review=True
    )
    sessions = Sessions(workers=1)
    snap = _wait(sessions.start("s1", controls, seconds_per_day=0.0))
    assert snap["status"] == "done", snap.get("message")
    path, ov = overrides(controls)
    summary = sim_run(load_scenario(path, ov)).summary
    c = snap["counters"]
    for key in ("captures", "alerts", "true_alerts", "false_alerts", "stops", "wrongful_stops"):
        assert c[key] == summary[key], key
    assert c["alerts"] > 0 and c["wrongful_stops"] > 0
    groups = snap["groups"]
    assert sum(groups["k"]) == sum(summary["false_alerts_unlisted_by_group"].values())
    assert snap["clock"] == "24:00" and snap["summary"]
    assert snap["narration"] and all(":" in line[:5] for line in snap["narration"])
    # The map shows the town: every street, every camera, the stops where they happened.
    m = snap["map"]
    assert len(m["cameras"][0]) == 40
    assert len(m["stops"][0]) == c["wrongful_stops"]
    assert len(m["true"][0]) + len(m["false"][0]) == min(c["alerts"], 600)


def test_playback_follows_the_clock_and_never_runs_ahead() -> None:
    run = Run(Controls(people=1000, cameras=20), seconds_per_day=20.0)
    run.compute()  # computed at once; playback still starts at midnight
    assert run.status == "computed"
    assert run.playhead.anchor_wall is not None
    run.playhead.anchor_wall = time.monotonic()  # as if the viewer just pressed Run
    snap0 = run.snapshot()
    assert snap0["status"] == "running" and snap0["t_s"] < 3600
    run.playhead.anchor_wall = time.monotonic() - 10.0  # ten seconds later: half the day
    half = run.snapshot()
    assert 42_000 < half["t_s"] < 45_000
    assert half["counters"]["captures"] < run.ev.get("cap.t").size
    assert "summary" not in half  # the day's summary comes at its end
    run.playhead.anchor_wall -= 20.0
    assert run.snapshot()["status"] == "done"
    # A run still computing: the playhead waits where the computation is.
    run.computed_s = 3600.0
    run.status = "running"
    assert run.snapshot()["t_s"] == 3600.0


def test_sessions_are_kept_apart() -> None:
    sessions = Sessions(workers=2)
    a = sessions.start("aaa", Controls(preset="ban", people=1000), 0.0)
    b = sessions.start("bbb", Controls(preset="capital", people=1000, cameras=20), 0.0)
    sa, sb = _wait(a), _wait(b)
    assert sa["counters"]["captures"] == 0 and sb["counters"]["captures"] > 0
    assert sessions.get("aaa") is a and sessions.get("bbb") is b
    # A new run replaces the session's old one (which is told to stop).
    c = sessions.start("aaa", Controls(preset="capital", people=1000, cameras=20), 0.0)
    assert sessions.get("aaa") is c and a.cancelled
    _wait(c)


def test_forged_input_names_no_file_and_fails_in_the_page() -> None:
    sessions = Sessions(workers=1)
    msg, stopped = start_run(sessions, "abc", "../../etc/passwd", 1000, 10, 0.6, 100, 0, [], "0")
    assert "unknown scenario" in str(msg) and stopped and sessions.get("abc") is None
    msg, stopped = start_run(sessions, "abc", "capital", "lots", 10, 0.6, 100, 0, [], "0")
    assert "not a number" in str(msg) and stopped
    msg, stopped = start_run(sessions, "../x", "capital", 1000, 10, 0.6, 100, 0, [], "0")
    assert "session" in str(msg) and stopped
    # Numbers outside the page's own limits: refused before any run, with the limit.
    msg, stopped = start_run(sessions, "abc", "capital", 1000, 10, 5.0, 100, 0, [], "0")
    assert "match threshold must be between 0.5 and 0.75" in str(msg) and stopped
    msg, stopped = start_run(sessions, "abc", "capital", 50_000_000, 10, 0.6, 100, 0, [], "0")
    assert "people in town must be between 1,000 and 8,000" in str(msg) and stopped
    assert sessions.get("abc") is None
    # A value the scenario models refuse fails in the page, without the server's paths.
    run = Run(Controls(), 0.0)
    run.controls = Controls(retention_days=-1.0)  # as if the page's check were bypassed
    run.compute()
    snap = run.snapshot()
    assert snap["status"] == "failed" and "retention" in snap["message"]
    assert str(ROOT) not in snap["message"]
    status, *_rest, poll_off = render(snap)
    assert "could not be done" in str(status) and poll_off


def test_narration_words() -> None:
    assert singular("Black women") == "Black woman"
    assert singular("Minority men") == "minority man"
    assert article(singular("Asian women")) == "an Asian woman"
    assert article("White man") == "a White man"


def test_loopback_rule_and_the_cli_refuses_other_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    p = subprocess.run(
        [sys.executable, "-m", "sim", "demo", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert p.returncode == 2
    assert "--public" in p.stderr and "Traceback" not in p.stderr


# ---------------------------------------------------------------- the page in Chromium
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("demo") / "server.log"
    log = log_path.open("w")  # a file, not a pipe nobody reads (a full pipe blocks the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "demo", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(log_path.read_text()) from None
            time.sleep(0.2)
    try:
        # Bound to this machine only.
        with pytest.raises(OSError):
            socket.create_connection((_outside_address(), port), timeout=1).close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        assert "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]


def _outside_address() -> str:
    """An address of this machine that is not loopback (or a dummy that refuses)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            addr = str(s.getsockname()[0])
            return addr if not addr.startswith("127.") else "192.0.2.1"
    except OSError:
        return "192.0.2.1"


def _type_into(page: Any, slider: str, value: str) -> None:
    """Set a slider through its number box, as a person typing would."""
    box = page.locator(f"#{slider} input").last
    box.fill(value)
    box.press("Enter")


def _counter(page: Any, key: str) -> int:
    return int(page.inner_text(f"#c-{key}").replace(",", ""))


def test_page_runs_live_in_chromium(browser: Any, server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server)
    page.wait_for_selector("#run")
    # Change a slider (through its number box) and the playback speed, then run.
    _type_into(page, "people", "2000")
    page.locator('#speed input[value="5"]').check()
    page.click("#run")
    page.wait_for_selector("#c-captures", timeout=30_000)
    first = _counter(page, "captures")
    page.wait_for_function(
        f"() => Number(document.querySelector('#c-captures').innerText.replace(/,/g, '')) > "
        f"{first}",
        timeout=30_000,
    )
    # The page stays responsive while the run plays: a tab switch answers at once.
    page.click("text=Lesson 1")
    page.wait_for_selector("text=Base rates", timeout=3_000)
    page.click("text=Free play")
    page.wait_for_selector("text=Finished", timeout=60_000)
    assert _counter(page, "captures") > first
    assert _counter(page, "false_alerts") > _counter(page, "true_alerts")
    assert "2,000 people" in page.inner_text("body") or page.locator(".narr li").count() > 0
    assert page.locator("#map .scatterlayer .trace").count() >= 4
    assert page.locator("#bars .barlayer .trace").count() == 1
    assert page.locator(".narr li").count() >= 3
    shot = page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    assert len(shot) > 60_000, "a page with a map, not a blank one"
    assert not errors, errors
    assert all(u.startswith(server) or u.startswith("data:") for u in requests), (
        "the demo must work offline"
    )
    # A lesson sets its controls.
    page.click("text=Lesson 2")
    page.click("#lesson-use")
    page.wait_for_function("() => document.querySelector('#threshold input').value === '0.57'")
    assert page.locator("#people input").last.input_value() == "5000"
    page.close()


def test_a_forged_request_fails_in_the_page_and_the_server_keeps_serving(
    browser: Any, server: str
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def forge(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        for item in body.get("state", []):
            if item.get("id") == "threshold":
                item["value"] = 5.0  # no slider can send this
        route.continue_(post_data=json.dumps(body))

    page.route("**/_dash-update-component*", forge)
    page.goto(server)
    page.wait_for_selector("#run")
    page.click("#run")
    page.wait_for_selector(".error", timeout=30_000)
    text = page.inner_text("#status")
    assert "Not run" in text and "match threshold must be between" in text
    page.unroute("**/_dash-update-component*")
    page.locator('#speed input[value="0"]').check()
    page.click("#run")
    page.wait_for_selector("text=Finished", timeout=60_000)
    assert _counter(page, "captures") > 0
    assert not errors, errors
    page.close()


def test_twenty_concurrent_sessions(browser: Any, server: str) -> None:
    """20 pages at once, each with its own run: bans see nothing, the others their own town."""
    pages = []
    for i in range(20):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(server)
        page.wait_for_selector("#run")
        pages.append((i, ctx, page))
    for i, _, page in pages:
        if i % 2:
            page.click("#preset")
            page.get_by_text("Ban", exact=True).click()
        box = page.locator("#people input").last
        box.fill(str(1000 + 500 * (i % 4)))
        box.press("Enter")
        page.locator('#speed input[value="0"]').check()
        page.click("#run")
    for i, ctx, page in pages:
        page.wait_for_selector("text=Finished", timeout=150_000)
        captures = _counter(page, "captures")
        assert (captures == 0) if i % 2 else (captures > 0), i
        ctx.close()


def test_groups_with_too_few_false_alerts_are_marked_not_ranked() -> None:
    from analysis.rates import FEW_EVENTS
    from classroom.figures import FEW, WRONG, bars_figure

    fig = bars_figure(
        {
            "labels": ["a", "b", "c"],
            "k": [FEW_EVENTS - 1, FEW_EVENTS, 0],
            "rate": [50.0, 2.0, None],
            "too_few": [True, False, True],
        }
    )
    bar = fig["data"][0]
    assert bar["text"] == [
        f"50.0 ({FEW_EVENTS - 1} false, too few to tell)",
        f"2.0 ({FEW_EVENTS} false)",
        "none captured",
    ]
    assert bar["marker"]["color"] == [FEW, WRONG, FEW]
    assert fig["layout"]["title"]["text"] == "False alerts per 1,000 faces captured"


# ---------------------------------------------------------------- playback, runs, layout
def _status(page: Any) -> str:
    return str(page.inner_text("#status"))


def _finish(page: Any, timeout: float = 60_000) -> None:
    """Wait for the run just started to finish (the previous 'Finished' gives way first)."""
    page.wait_for_function(
        "() => !document.querySelector('#status').innerText.startsWith('Finished')",
        timeout=timeout,
    )
    page.wait_for_selector("text=Finished", timeout=timeout)


def test_pause_step_reset_and_play_in_chromium(browser: Any, server: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_selector("#run")
    page.locator('#speed input[value="45"]').check()
    page.click("#run")
    page.wait_for_selector("text=Playing", timeout=30_000)
    page.wait_for_timeout(1500)
    page.click("#pause")
    page.wait_for_selector("text=Paused at", timeout=5_000)
    held = _status(page)
    page.wait_for_timeout(1500)
    assert _status(page) == held, "paused: the clock stands still"
    hh, mm = (int(x) for x in held.split("Paused at ")[1][:5].split(":"))
    page.click("#step")
    page.wait_for_function(
        f"() => document.querySelector('#status').innerText.includes('{hh + 1:02d}:{mm:02d}')",
        timeout=5_000,
    )
    page.click("#reset")
    page.wait_for_selector("text=Paused at 00:00", timeout=5_000)
    assert _counter(page, "captures") == 0
    page.locator('#speed input[value="0"]').check()
    page.click("#play")
    page.wait_for_selector("text=Finished", timeout=30_000)
    assert _counter(page, "captures") > 0
    assert page.locator("#series .scatterlayer .trace").count() >= 2  # the day's series
    assert page.locator("#day-summary p").count() >= 3
    assert not errors, errors
    page.close()


def test_lesson_two_before_and_after_side_by_side(browser: Any, server: str) -> None:
    """Lesson 2 end to end: its settings, a run, a stricter threshold, a second run; both in
    the table and the series; then another day's luck gives ranges."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(server)
    page.wait_for_selector("#run")
    page.click("text=Lesson 2")
    page.click("#lesson-use")
    page.wait_for_function("() => document.querySelector('#threshold input').value === '0.57'")
    page.locator('#speed input[value="0"]').check()
    page.click("#run")
    page.wait_for_selector("text=Finished", timeout=60_000)
    first_false = _counter(page, "false_alerts")
    assert "per 1,000 faces captured" in page.inner_text("#bars")
    _type_into(page, "threshold", "0.62")
    page.click("#run")
    _finish(page)
    rows = page.locator("#runs-table tbody tr")
    assert rows.count() == 2
    assert "0.57" in rows.nth(0).inner_text() and "0.62" in rows.nth(1).inner_text()
    assert f"{first_false:,}" in rows.nth(0).inner_text()
    assert _counter(page, "false_alerts") < first_false
    assert "run 1" in page.inner_text("#series")  # the previous run, dotted
    page.click("#luck")
    page.wait_for_selector("#luck-ranges", timeout=60_000)
    assert "Over 6 days" in page.inner_text("#luck-ranges")
    page.close()


@pytest.mark.parametrize("size", [(1024, 768), (1366, 900)])
def test_projector_sizes_keep_the_status_line_in_view(
    browser: Any, server: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    w, h = size
    page = browser.new_page(viewport={"width": w, "height": h})
    page.goto(server)
    page.wait_for_selector("#run")
    page.mouse.wheel(0, 2000)  # scrolled down to the sliders, as a teacher would be
    page.wait_for_timeout(300)
    page.click("#run")
    page.wait_for_selector("text=Playing", timeout=30_000)
    page.wait_for_timeout(500)
    shot = tmp_path / f"demo-{w}x{h}.png"
    page.screenshot(path=str(shot))
    for part in ("#status", "#run", "#pause", "#step"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= h, part
    assert "Playing" in _status(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= w + 1, f"the page is {width} px wide at {w} px: it scrolls sideways"
    page.locator('#speed input[value="0"]').check()
    page.wait_for_selector("#runs-table", timeout=30_000)
    fits = page.evaluate(
        "() => { const t = document.querySelector('#runs-table');"
        " return t.getBoundingClientRect().right <= window.innerWidth + 1; }"
    )
    assert fits, "the runs table runs off the screen"
    assert shot.stat().st_size > 30_000
    page.close()


def _bodies(page: Any) -> dict[str, dict[str, Any]]:
    """The page's own callback requests, by output, recorded as it is used."""
    got: dict[str, dict[str, Any]] = {}

    def keep(r: Any) -> None:
        if "_dash-update-component" in r.url and r.post_data:
            body = json.loads(r.post_data)
            got[body["output"]] = body

    page.on("request", keep)
    return got


def _post(url: str, body: Any, source: str = "127.0.0.1") -> tuple[int, str]:
    import http.client
    from urllib.parse import urlparse

    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30, source_address=(source, 0))
    try:
        data = body if isinstance(body, str) else json.dumps(body)
        conn.request("POST", "/_dash-update-component", data, {"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def _with(body: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    for field in ("inputs", "state"):
        for item in out.get(field, []):
            if item["id"] == key:
                item["value"] = value
    return out


def test_a_class_cannot_knock_the_server_over(browser: Any, server: str) -> None:
    """Malformed and oversized requests get a message, never HTTP 500 nor a path; a client
    flooding the server with sessions delays only itself."""
    page = browser.new_page()
    bodies = _bodies(page)
    page.goto(server)
    page.wait_for_selector("#run")
    page.click("text=Lesson 1")
    page.locator('#speed input[value="0"]').check()
    page.click("#run")
    page.wait_for_selector("text=Finished", timeout=60_000)
    page.click("#pause")
    page.wait_for_timeout(500)
    start = next(b for k, b in bodies.items() if k.startswith("..status.children@"))
    ids = {i["id"] for b in bodies.values() for i in b.get("inputs", []) + b.get("state", [])}
    assert {"mode", "preset", "people", "session", "speed", "pb"} <= ids
    for out, body in bodies.items():
        for key in ids:
            for bad in ("²", ["x"], {"a": 1}, None, 1e308, "1e999", -5, True):
                status, text = _post(server, _with(body, key, bad))
                assert status < 500, (out, key, bad, text)
                assert str(ROOT) not in text and "Traceback" not in text, (out, key, text)
    for junk in ("nonsense", "{}", '{"output": "x"}', "x" * (2 << 20)):
        status, text = _post(server, junk)
        assert status in (400, 413) and "could not use this request" in text
    poll = next(b for k, b in bodies.items() if k.startswith("..status.children.."))
    status, text = _post(server, _with(poll, "session", "nosuchpage"))
    assert status == 200 and "were forgotten" in text
    # What no slider can send is refused with the page's limit.
    status, text = _post(server, _with(start, "people", 50_000_000))
    assert status == 200 and "people in town must be between 1,000 and 8,000" in text
    # A flood of sessions from one address (127.0.0.2) ...
    answers = []
    for i in range(100):
        flood = _with(_with(start, "session", f"flood{i}"), "people", 8000)
        answers.append(_post(server, flood, source="127.0.0.2")[1])
    refused = [i for i, a in enumerate(answers) if "runs under way" in a]
    assert refused[0] == 24 and len(refused) >= 60, "at most 24 runs under way per client"
    # ... does not hold up another's run: it is taken next, not after the flood.
    page.locator('#speed input[value="0"]').check()
    t0 = time.monotonic()
    page.click("#run")
    _finish(page)
    waited = time.monotonic() - t0
    assert waited < 10.0, f"a normal run waited {waited:.1f} s behind another client's flood"
    page.close()
