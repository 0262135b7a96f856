"""What a person looks at, opened in a real browser (Debian's chromium, driven by playwright).

``.ci/run`` installs chromium; on a machine without it these tests are skipped, except in CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def test_error_sweep_figure_renders_offline(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "sweep.html"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "errors",
            "--model",
            "idemia_005",
            "--sweep",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector(".plotly .scatterlayer .trace", timeout=30_000)
    assert page.locator(".scatterlayer .trace").count() == 8 * 4, "8 groups x 4 panels"
    assert page.locator(".legendtext").count() == 8
    assert "idemia_005" in (page.locator(".gtitle").first.text_content() or "")
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), (
        f"the figure must open offline, it fetched {requests}"
    )
    shot = page.screenshot(path=str(tmp_path / "sweep.png"))
    assert len(shot) > 50_000, "a figure, not a blank page"
    page.close()
