"""compare's intervals respect each metric's range (analysis/compare.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.compare import bounds, comparison_table, interval


def rows(scenario: str, metric: str, values: list[float]) -> list[dict[str, object]]:
    return [
        {"scenario": scenario, "metric": metric, "replication": r, "value": v}
        for r, v in enumerate(values)
    ]


def test_two_replications_never_give_a_negative_count_or_a_share_above_one() -> None:
    data = (
        rows("a", "false_alerts", [0.0, 9.0])
        + rows("a", "false_alert_share", [0.05, 0.99])
        + rows("b", "false_alerts", [1.0, 40.0])
        + rows("b", "false_alert_share", [0.0, 1.0])
        + rows("a", "false_alert_rate_ratio", [1.5, 30.0])
        + rows("b", "false_alert_rate_ratio", [2.0, 3.0])
    )
    t = comparison_table(data, ["a", "b"]).to_pylist()
    got = {(r["scenario"], r["metric"]): r for r in t}
    for s in ("a", "b"):
        c = got[(s, "false_alerts")]
        assert c["ci_low"] == 0.0 < c["ci_high"], "a t-interval of 2 would go below 0"
        sh = got[(s, "false_alert_share")]
        assert sh["ci_low"] >= 0.0 and sh["ci_high"] <= 1.0
        assert sh["diff_ci_low"] >= -1.0 and sh["diff_ci_high"] <= 1.0
        ra = got[(s, "false_alert_rate_ratio")]
        assert ra["ci_low"] > 0, "ratios on the log scale"
    # The ratio's interval is the geometric one: exp(mean log +- t sd / sqrt n).
    v = np.log([1.5, 30.0])
    half = 12.706204736174707 * v.std(ddof=1) / math.sqrt(2)
    ra = got[("a", "false_alert_rate_ratio")]
    assert (ra["ci_low"], ra["ci_high"]) == pytest.approx(
        (math.exp(v.mean() - half), math.exp(v.mean() + half))
    )
    assert ra["mean"] == pytest.approx(15.75)


def test_bounds_follow_the_values() -> None:
    assert bounds("false_alert_share", np.array([0.1, 0.9])) == (0.0, 1.0)
    assert bounds("false_alerts", np.array([0.0, 3.0])) == (0.0, math.inf)
    assert bounds("diff", np.array([-1.0, 3.0])) == (-math.inf, math.inf)
    m, lo, hi = interval(np.array([10.0, 12.0, 11.0]))
    assert m == 11.0 and lo < 11.0 < hi
