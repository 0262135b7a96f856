"""Model output must not change by accident: compare with the committed golden summaries."""

from __future__ import annotations

import json

import pytest

from tests.golden import CASES, GOLDEN, compute


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_summary(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    expected = json.loads(path.read_text())
    got = json.loads(json.dumps(compute(name), sort_keys=True))
    assert got == expected, (
        f"{name}: model output changed. If deliberate, run "
        f"`make golden` and note it in CHANGELOG.md"
    )
