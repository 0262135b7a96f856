"""The run summary (``summary.json``), declared once: every key with its type, its meaning and
what kind of figure it is.

:func:`analysis.metrics.summarize` checks what it writes against :class:`Summary`; the CLI, the
reports, ``compare`` and the classroom read summaries through it (:func:`as_summary`), and
``compare`` takes each key's kind (count, share, rate, ...) from here. The JSON Schema is
``docs/summary.schema.json`` (``survsim schema --summary``) and ``docs/summary.md`` lists the
keys for readers (both written by ``make schema``; a test keeps them current).

Defaults are what a run in which nothing happened reports (no alerts: zero counts, no rate), so
a summary written by an older survsim without some key reads as it always did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# What kind of figure a key is: how compare bounds and shows it, how a reader takes it.
Measure = Literal[
    "count", "share", "rate", "ratio", "seconds", "mean", "label", "flag", "interval", "provenance"
]

ByGroup = dict[str, int]
MaybeByGroup = dict[str, float | None]
Interval = tuple[float | None, float | None]  # lower, upper (None: unbounded or undefined)


def _key(measure: Measure, description: str, default: Any = None) -> Any:
    if isinstance(default, dict):
        return Field(
            default_factory=dict, description=description, json_schema_extra={"measure": measure}
        )
    return Field(default, description=description, json_schema_extra={"measure": measure})


class Disparity(BaseModel):
    """The headline disparity: the group most often falsely flagged, against the reference."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(
        description="The group with the highest rate ratio among those with "
        "enough false alerts to tell."
    )
    reference: str = Field(description="The reference group (false_alert_reference_group).")
    ratio: float = Field(description="Its false-alert rate over the reference group's.")
    ci: Interval = Field(description="Exact conditional 95% interval of the ratio.")
    p: float | None = Field(description="Exact test of a ratio of 1 (two-sided).")


class Summary(BaseModel):
    """One run's summary, in the order ``summary.json`` lists its keys."""

    # protected_namespaces=(): model_uncertainty is the contract's key (pydantic 2.6 to 2.9
    # warn about a "model_" prefix otherwise).
    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    # The run.
    scenario: str = _key("label", "The scenario's name.", "")
    seed: int = _key("provenance", "The run's seed.", 0)
    replication: int = _key(
        "provenance", "Replication index (its streams derive from seed and index).", 0
    )
    people: int = _key("count", "Residents of the city.", 0)
    duration_s: float = _key("seconds", "Simulated time, seconds.", 0.0)
    captures: int = _key("count", "Faces captured (truth: every face a camera caught).", 0)
    captures_by_group: ByGroup = _key("count", "Faces captured, by the group of the person.", {})
    # Alerts, and who bears the false ones.
    alerts: int = _key("count", "Alerts raised (a capture matched to a listed identity).", 0)
    true_alerts: int = _key("count", "Alerts whose face was the listed person's.", 0)
    false_alerts: int = _key("count", "Alerts whose face was someone else's.", 0)
    false_alert_share: float | None = _key("share", "False alerts / alerts (None: no alerts).")
    false_alerts_by_group: ByGroup = _key(
        "count", "False alerts, by the group of the person wrongly matched.", {}
    )
    false_alert_rate_by_group: MaybeByGroup = _key(
        "rate",
        "False alerts per 1,000 captures of people on no watchlist, by group (None: "
        "no such captures).",
        {},
    )
    false_alert_rate_ratio: float | None = _key(
        "ratio",
        "Highest group rate / lowest (None when the lowest is 0: unstable; quote "
        "false_alert_disparity).",
    )
    false_alerts_unlisted_by_group: ByGroup = _key(
        "count", "False alerts of people on no watchlist, by group (the rate's numerator).", {}
    )
    unlisted_captures_by_group: ByGroup = _key(
        "count", "Captures of people on no watchlist, by group (the rate's denominator).", {}
    )
    false_alert_rate_ci_by_group: dict[str, Interval | None] = _key(
        "interval", "Exact (Clopper-Pearson) 95% interval of each group's rate, per 1,000.", {}
    )
    false_alert_too_few_by_group: dict[str, bool] = _key(
        "flag", "Whether a group had too few false alerts (fewer than 10) to tell.", {}
    )
    false_alert_reference_group: str | None = _key(
        "label",
        "The group the ratios compare with: the population's first group with "
        "captures (White men in the NIST presets, NIST's own reference).",
    )
    false_alert_rate_ratio_by_group: MaybeByGroup = _key(
        "ratio", "Each group's rate over the reference group's.", {}
    )
    false_alert_rate_ratio_ci_by_group: dict[str, Interval | None] = _key(
        "interval", "Exact conditional 95% interval of each ratio.", {}
    )
    false_alert_disparity: Disparity | None = _key(
        "ratio", "The highest ratio among groups that can be told, with its interval and p."
    )
    false_alert_parity_by_group: dict[str, str] = _key(
        "label",
        "Four-fifths rule against the best-treated group: 'within', 'outside: "
        "flagged more often', 'too few to tell' or 'not assessed...'.",
        {},
    )
    false_alert_parity_best_group: str | None = _key(
        "label", "The best-treated group with enough false alerts."
    )
    people_falsely_flagged: int = _key(
        "count", "People on no list falsely flagged at least once.", 0
    )
    people_falsely_flagged_repeatedly: int = _key("count", "Of them, flagged twice or more.", 0)
    false_alerts_per_flagged_person: float | None = _key(
        "mean", "False alerts per person falsely flagged."
    )
    people_falsely_flagged_by_group: ByGroup = _key(
        "count", "People falsely flagged, by group.", {}
    )
    people_falsely_flagged_repeatedly_by_group: ByGroup = _key(
        "count", "People falsely flagged twice or more, by group.", {}
    )
    confirmed_alerts: int = _key(
        "count",
        "Alerts acted on: confirmed by review, or acted on unreviewed (all alerts without review).",
        0,
    )
    confirmed_false_alerts: int = _key("count", "False alerts acted on.", 0)
    false_alerts_rejected_share: float | None = _key(
        "share", "Share of false alerts that reviewers rejected (None: no review)."
    )
    # Stops on alerts.
    stops: int = _key("count", "Stops officers made on alerts.", 0)
    arrests: int = _key("count", "Stops of the listed person sought.", 0)
    wrongful_stops: int = _key("count", "Stops of someone who was not the person sought.", 0)
    wrongful_stops_by_group: ByGroup = _key("count", "Wrongful stops, by group.", {})
    wrongful_stops_per_100k_by_group: MaybeByGroup = _key(
        "rate", "Wrongful stops per 100,000 residents, by group.", {}
    )
    missed_intercepts: int = _key("count", "Alerts officers reached too late to act on.", 0)
    intercept_time_s_median: float | None = _key(
        "seconds", "Median time to reach the person, seconds."
    )
    people_wrongfully_stopped: int = _key("count", "Distinct people wrongfully stopped.", 0)
    people_wrongfully_stopped_repeatedly: int = _key("count", "Of them, stopped twice or more.", 0)
    # Patrols and door checks.
    patrol_stops: int = _key("count", "People stopped by patrol officers (body-worn cameras).", 0)
    patrol_scans: int = _key("count", "Patrol stops that included a face scan.", 0)
    patrol_stops_by_group: ByGroup = _key("count", "Patrol stops, by group.", {})
    patrol_stops_per_100k_by_group: MaybeByGroup = _key(
        "rate", "Patrol stops per 100,000 residents, by group.", {}
    )
    verifications: int = _key("count", "One-to-one face checks at facility doors.", 0)
    false_rejects: int = _key("count", "Genuine people refused at a door.", 0)
    false_reject_rate_by_group: MaybeByGroup = _key(
        "rate", "Genuine people refused per 1,000 genuine checks, by group.", {}
    )
    impostor_attempts: int = _key("count", "Attempts to pass a door as someone else.", 0)
    false_accepts: int = _key("count", "Impostors let through.", 0)
    review_backlog_max: int = _key("count", "Most alerts ever waiting for review.", 0)
    alerts_by_deployment: ByGroup = _key(
        "count", "Alerts by deployment (the capturing camera's).", {}
    )
    false_alerts_by_deployment: ByGroup = _key("count", "False alerts by deployment.", {})
    # Movement histories (what the system's identity log rebuilds).
    tracking_reach_mean: float | None = _key(
        "share",
        "Mean share of a resident's time away from home the system placed them "
        "(within 15 minutes) from correctly linked captures it held.",
    )
    tracking_reach_by_group: MaybeByGroup | None = _key(
        "share", "Tracking reach, by group (None: no trips to track).", {}
    )
    trips_linked_share_mean: float | None = _key(
        "share", "Mean share of a resident's trips with a linked capture."
    )
    home_inferred_share: float | None = _key(
        "share", "Share of residents whose home the night-time sightings give away."
    )
    home_inferred_chance_share: float | None = _key(
        "share", "The same, guessing from the same places at random (the chance baseline)."
    )
    false_links: int | None = _key("count", "Captures the searches linked to the wrong person.")
    tracking_precision_mean: float | None = _key(
        "share", "Mean share of what the system held on a person that was really theirs."
    )
    tracking_reach_believed_mean: float | None = _key(
        "share", "Tracking reach counting every link the system would claim, right or wrong."
    )
    # Assemblies.
    gatherings: int = _key("count", "Gatherings that took place (routine crowds aside).", 0)
    gatherings_detected: int = _key(
        "count", "Gatherings an alarm built from a captured participant spotted.", 0
    )
    gatherings_near_alarm: int = _key(
        "count",
        "Gatherings with any alarm nearby while under way (the coincidence rule, for comparison).",
        0,
    )
    gatherings_detected_by_chance: float = _key(
        "mean", "Gatherings background alarms would hit by chance (Poisson expectation).", 0.0
    )
    assembly_detection_latency_s: float | None = _key(
        "seconds", "Median time from a gathering's start to its first alarm, seconds."
    )
    false_assembly_alarms: int = _key("count", "Assembly alarms at no real gathering.", 0)
    assembly_alarms: int = _key("count", "Assembly alarms raised.", 0)
    assembly_detection_by_size: dict[str, float] = _key(
        "share", "Share of gatherings detected, by size band.", {}
    )
    participants_identified_share_by_group: MaybeByGroup = _key(
        "share",
        "Share of each group's participants the system could place at the gathering "
        "(a linked capture there during it).",
        {},
    )
    participants_captured_share_by_group: MaybeByGroup = _key(
        "share", "Share of each group's participants captured there (truth).", {}
    )
    label_error_by_group: MaybeByGroup | None = _key(
        "share",
        "Share of each group's captured faces the classifier labelled wrongly (None: "
        "no classifier).",
    )
    # Listed people found.
    watchlist_present: int = _key("count", "Listed people living in the city.", 0)
    watchlist_detected_share: float | None = _key(
        "share", "Share of them truly alerted on at least once."
    )
    # How the run was made.
    wall_s: float | None = _key("provenance", "Wall-clock time of the run, seconds.")
    group_labels: dict[str, str] = _key("label", "Each group's name for readers.", {})
    scenario_hash: str | None = _key("provenance", "Hash of every setting but the seed.")
    schema_version: str | None = _key("provenance", "Version of the output tables' schema.")
    survsim_version: str | None = _key("provenance", "survsim's version.")
    library_versions: dict[str, str] = _key("provenance", "Versions of the libraries used.", {})
    model_uncertainty: str = _key(
        "provenance",
        "'none' (the face-match model's point estimates) or 'ensemble draw r'.",
        "none",
    )
    routing: str = _key(
        "provenance",
        "'exact' (every trip takes a shortest path) or 'zones' (routing.paths: routes by "
        "destination zones, longer than the shortest on streets that are not a uniform grid "
        "and gathered onto fewer streets, which moves captures and alerts; see "
        "benchmarks/README.md, bench_metro.py).",
        "exact",
    )


SUMMARY_KEYS: tuple[str, ...] = tuple(Summary.model_fields)


def as_summary(summary: Summary | Mapping[str, Any]) -> Summary:
    """A summary read through the declaration (a ``summary.json`` as loaded, or a part of one)."""
    return summary if isinstance(summary, Summary) else Summary.model_validate(dict(summary))


def read_summary(path: Path) -> Summary:
    """A run's ``summary.json``; a key of the wrong type is a ValueError naming the file, the
    key and what was expected."""
    try:
        return Summary.model_validate(json.loads(path.read_text("utf-8")))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {key}: {first['msg'].lower()}") from None


def check_summary(summary: Mapping[str, Any]) -> None:
    """Raise if ``summary`` does not have exactly the declared keys, each of its type (what
    :func:`analysis.metrics.summarize` writes is checked so)."""
    keys = list(summary)
    if keys != list(SUMMARY_KEYS):
        missing = [k for k in SUMMARY_KEYS if k not in summary]
        extra = [k for k in keys if k not in Summary.model_fields]
        raise ValueError(
            f"summary keys differ from analysis.summary.Summary: missing "
            f"{missing}, undeclared {extra}" + ("" if missing or extra else ", or in another order")
        )
    Summary.model_validate(dict(summary))


def measure(metric: str) -> Measure | None:
    """What kind of figure a summary key is (``key/part`` for one group's or size band's
    entry); None for a key the summary does not declare."""
    field = Summary.model_fields.get(metric.partition("/")[0])
    extra = field.json_schema_extra if field is not None else None
    return extra.get("measure") if isinstance(extra, dict) else None  # type: ignore[return-value]


def summary_schema() -> dict[str, Any]:
    """The JSON Schema of ``summary.json``."""
    schema = Summary.model_json_schema()
    schema["$id"] = "survsim/summary.schema.json"
    return schema


def summary_markdown() -> str:
    """``docs/summary.md``: every key, its type and kind, and what it means."""
    lines = [
        "# `summary.json`, key by key",
        "",
        "Generated from `analysis/summary.py` by `make schema` (a test keeps it "
        "current). The JSON Schema is "
        "`docs/summary.schema.json`. *By group* keys map each population group's name "
        "(`group_labels` gives its label) to a figure; `null` is a figure that cannot be "
        "computed (no captures of the group, no alerts, no review...).",
        "",
        "| key | kind | meaning |",
        "|---|---|---|",
    ]
    for name, field in Summary.model_fields.items():
        extra = field.json_schema_extra
        kind = extra.get("measure") if isinstance(extra, dict) else ""
        text = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {kind} | {text} |")
    lines += [
        "",
        "`false_alert_disparity`: "
        + " ".join(
            f"`{n}` {(f.description or '').rstrip('.').lower()};"
            for n, f in Disparity.model_fields.items()
        ).rstrip(";")
        + ".",
        "",
    ]
    return "\n".join(lines)
