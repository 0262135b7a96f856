"""Group rates with their uncertainty: exact intervals, rate ratios and the parity test.

A group's false-alert rate is k false alerts among n captures of its residents who are not on the
watchlist (per 1,000 captures). Everything here is exact for that count:

- :func:`rate_interval`: the Clopper-Pearson 95% interval of k / n (each capture raises at most
  one alert, so k is binomial given the per-capture chance). Repeat flagging of look-alikes
  clusters alerts within people, which this interval ignores: it is the uncertainty of a day's
  count given the people, not across populations.
- :func:`ratio_interval`: the rate ratio of two groups, (k1 / n1) / (k2 / n2), with the exact
  conditional interval: given k1 + k2 events, k1 is binomial with p = R n1 / (R n1 + n2), and the
  Clopper-Pearson interval of p turns into one for R. :func:`ratio_p_value` is the matching exact
  test of R = 1.
- :func:`parity`: each group against the **most favourably treated** group (the lowest rate
  among groups with enough events), as the US four-fifths rule compares each group with the
  group treated best; for an adverse outcome such as being falsely flagged, a group falls
  outside when its rate exceeds 5/4 of that group's and the difference is significant.

A group with fewer than :data:`FEW_EVENTS` false alerts is *too few to tell*: its rate is
reported with its interval but not ranked (the relative error of a count below 10 exceeds 30%).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from scipy.special import betaincinv  # the beta quantile, without importing scipy.stats

FEW_EVENTS = 10
ALPHA = 0.05
FOUR_FIFTHS = 1.25  # an adverse outcome: more than 5/4 of the best-treated group's rate
PER = 1000.0  # rates per 1,000 captures


def rate_interval(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float] | None:
    """Clopper-Pearson interval of k / n, per 1,000 (None without captures)."""
    if n <= 0:
        return None
    lo = 0.0 if k <= 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    hi = 1.0 if k >= n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
    return lo * PER, hi * PER


def ratio_interval(
    k1: int, n1: int, k2: int, n2: int, alpha: float = ALPHA
) -> tuple[float, float] | None:
    """Exact conditional interval of (k1 / n1) / (k2 / n2); None when it cannot be formed (no
    captures, or no events in either group). Bounds may be 0 or infinite."""
    if n1 <= 0 or n2 <= 0 or k1 + k2 == 0:
        return None
    total = k1 + k2
    p_lo = 0.0 if k1 == 0 else float(betaincinv(k1, total - k1 + 1, alpha / 2))
    p_hi = 1.0 if k1 == total else float(betaincinv(k1 + 1, total - k1, 1 - alpha / 2))

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1.0 else (p / (1.0 - p)) * (n2 / n1)

    return to_ratio(p_lo), to_ratio(p_hi)


def ratio_p_value(k1: int, n1: int, k2: int, n2: int) -> float | None:
    """Exact two-sided test of equal rates (conditional binomial); None when undefined."""
    if n1 <= 0 or n2 <= 0 or k1 + k2 == 0:
        return None
    from scipy import stats  # on first use (about 0.5 s), not when the module is imported

    return float(stats.binomtest(k1, k1 + k2, n1 / (n1 + n2)).pvalue)


def group_rates(
    false_by_group: Mapping[str, int], captures_by_group: Mapping[str, int]
) -> dict[str, dict[str, Any]]:
    """Per group: the count and denominator behind the rate, the rate per 1,000 with its
    interval, and whether the group has too few events to tell."""
    out: dict[str, dict[str, Any]] = {}
    for g, n in captures_by_group.items():
        k = int(false_by_group.get(g, 0) or 0)
        n = int(n or 0)
        ci = rate_interval(k, n)
        out[g] = {
            "false_alerts": k,
            "captures": n,
            "rate": (k / n * PER) if n else None,
            "ci": list(ci) if ci else None,
            "too_few": k < FEW_EVENTS,
        }
    return out


def reference_group(rates: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The group the ratios are taken against: the population's first group with captures
    (the order of ``[population] groups``; White men in the NIST presets, the reference of
    NIST's own ratios)."""
    return next((g for g, r in rates.items() if r["captures"]), None)


def ratios_to(
    rates: Mapping[str, Mapping[str, Any]], reference: str
) -> dict[str, dict[str, Any] | None]:
    """Each group's rate ratio to ``reference``, with its exact interval and p-value."""
    ref = rates[reference]
    k2, n2 = ref["false_alerts"], ref["captures"]
    out: dict[str, dict[str, Any] | None] = {}
    for g, r in rates.items():
        k1, n1 = r["false_alerts"], r["captures"]
        ci = ratio_interval(k1, n1, k2, n2)
        if ci is None:
            out[g] = None
            continue
        out[g] = {
            "ratio": (k1 / n1) / (k2 / n2) if k2 else None,
            "ci": _finite(ci),
            "p": ratio_p_value(k1, n1, k2, n2),
        }
    return out


def _finite(ci: tuple[float, float]) -> list[float | None]:
    """JSON-safe interval bounds (an infinite upper bound is None: unbounded)."""
    return [ci[0], None if math.isinf(ci[1]) else ci[1]]


def disparity(
    rates: Mapping[str, Mapping[str, Any]],
    reference: str | None,
    ratios: Mapping[str, dict[str, Any] | None] | None = None,
) -> dict[str, Any] | None:
    """The headline disparity: the highest rate ratio to the reference group among groups with
    enough events (not too few to tell), with its exact interval. None when no other group
    has enough events, or the reference has none."""
    if reference is None or rates[reference]["too_few"]:
        return None
    ratios = ratios_to(rates, reference) if ratios is None else ratios
    best: tuple[float, str] | None = None
    for g, r in rates.items():
        q = ratios.get(g)
        if g == reference or r["too_few"] or q is None or q["ratio"] is None:
            continue
        if best is None or q["ratio"] > best[0]:
            best = (q["ratio"], g)
    if best is None:
        return None
    q = ratios[best[1]]
    assert q is not None
    return {"group": best[1], "reference": reference, "ratio": best[0], "ci": q["ci"], "p": q["p"]}


def parity(rates: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each group against the most favourably treated group (lowest rate among groups with
    enough events): its ratio to that rate with the exact interval, and a verdict:

    - "too few to tell": fewer than FEW_EVENTS false alerts;
    - "outside: flagged more often": ratio above 5/4 and significantly above 1 (p < 0.05);
    - "within": otherwise (including the best-treated group itself);
    - "not assessed": no captures, or no group with enough events to compare against.
    """
    told = [(r["rate"], g) for g, r in rates.items() if r["rate"] is not None and not r["too_few"]]
    best = min(told)[1] if told else None
    out: dict[str, dict[str, Any]] = {}
    for g, r in rates.items():
        row: dict[str, Any] = {"best": best, "ratio": None, "ci": None, "p": None}
        if r["rate"] is None:
            row["verdict"] = "not assessed: no captures"
        elif r["too_few"]:
            row["verdict"] = "too few to tell"
        elif best is None:
            row["verdict"] = "not assessed"
        else:
            b = rates[best]
            row["ratio"] = r["rate"] / b["rate"] if b["rate"] else None
            ci = ratio_interval(r["false_alerts"], r["captures"], b["false_alerts"], b["captures"])
            row["ci"] = _finite(ci) if ci else None
            row["p"] = ratio_p_value(
                r["false_alerts"], r["captures"], b["false_alerts"], b["captures"]
            )
            outside = (
                row["ratio"] is not None
                and row["ratio"] > FOUR_FIFTHS
                and row["p"] is not None
                and row["p"] < ALPHA
            )
            row["verdict"] = "outside: flagged more often" if outside else "within"
        out[g] = row
    return out


def summary_keys(
    false_by_group: Mapping[str, int], captures_by_group: Mapping[str, int]
) -> dict[str, Any]:
    """The summary keys of the false-alert rates' uncertainty (analysis.metrics)."""
    rates = group_rates(false_by_group, captures_by_group)
    ref = reference_group(rates)
    ratios = ratios_to(rates, ref) if ref is not None else {}
    par = parity(rates)
    return {
        "false_alerts_unlisted_by_group": {g: r["false_alerts"] for g, r in rates.items()},
        "unlisted_captures_by_group": {g: r["captures"] for g, r in rates.items()},
        "false_alert_rate_ci_by_group": {g: r["ci"] for g, r in rates.items()},
        "false_alert_too_few_by_group": {g: r["too_few"] for g, r in rates.items()},
        "false_alert_reference_group": ref,
        "false_alert_rate_ratio_by_group": {
            g: (q["ratio"] if q else None) for g, q in ratios.items()
        },
        "false_alert_rate_ratio_ci_by_group": {
            g: (q["ci"] if q else None) for g, q in ratios.items()
        },
        "false_alert_disparity": disparity(rates, ref, ratios),
        "false_alert_parity_by_group": {g: r["verdict"] for g, r in par.items()},
        "false_alert_parity_best_group": next(iter(par.values()))["best"] if par else None,
    }
