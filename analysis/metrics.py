"""Truth against the system's view: the summary of one run, computed from its event tables.

Everything here reads Arrow tables only (the files a run wrote, or the same tables in memory) and
imports nothing from the simulator but the schema. Every metric is invariant to row order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from analysis import rates
from analysis.assembly import assembly_summary
from analysis.ids import row_numbered
from analysis.summary import check_summary
from sim.schema import ARREST, AUTO_ACTED, CONFIRMED, MISSED, REJECTED, TABLES, WRONGFUL_STOP

Tables = Mapping[str, pa.Table]


def read_table(path: Path | str) -> pa.Table:
    """Read an Arrow IPC stream file, keeping every complete batch of a file cut short.

    A run killed mid-write leaves a stream without its end marker, possibly with half a batch at
    the end; the complete batches before it are returned.
    """
    path = Path(path)
    # Memory-mapped: the table's columns point into the file's pages, with no copy and no
    # small read per batch (a run's files are still in the page cache when it reads them back).
    # Writers replace a run's files (new files), never rewrite them in place.
    with pa.memory_map(str(path), "r") as f:
        data = f.read_buffer()
    try:
        reader = pa.ipc.open_stream(data)
    except pa.ArrowInvalid:
        name = path.stem
        if name in TABLES:
            return TABLES[name].schema().empty_table()
        raise
    try:
        return reader.read_all()  # the whole stream in one call
    except (pa.ArrowInvalid, OSError):
        pass  # cut short: read it again, batch by batch
    batches = []
    reader = pa.ipc.open_stream(data)
    schema = reader.schema
    while True:
        try:
            batches.append(reader.read_next_batch())
        except StopIteration:
            break
        except (pa.ArrowInvalid, OSError):
            break  # a torn last batch
    return pa.Table.from_batches(batches, schema=schema)


def read_run(run_dir: Path | str) -> dict[str, pa.Table]:
    """All tables of a run directory (``events/*.arrow``)."""
    events = Path(run_dir) / "events"
    return {p.stem: read_table(p) for p in sorted(events.glob("*.arrow"))}


def _col(t: pa.Table, name: str) -> np.ndarray:
    return t.column(name).to_numpy()


def entry_keys(watchlist: pa.Table, rows: pa.Table) -> np.ndarray:
    """One int64 key per (watchlist, entry_id) pair of ``rows`` (lists numbered in the order
    the watchlist table names them; -1 for a list it does not have)."""
    import pyarrow.compute as pc

    names = pc.unique(watchlist.column("watchlist").cast(pa.string()))
    li = pc.index_in(rows.column("watchlist").cast(pa.string()), value_set=names)
    li = li.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return li * (1 << 32) + _col(rows, "entry_id").astype(np.int64)


def claimed_person(watchlist: pa.Table, rows: pa.Table) -> np.ndarray:
    """The resident each (watchlist, entry_id) row of ``rows`` names: the person an alert
    claims to have seen (-1 for an entry who does not live in the city or is unknown)."""
    keys = entry_keys(watchlist, rows)
    wl_key = entry_keys(watchlist, watchlist)
    order = np.argsort(wl_key)
    wl_key, wl_person = wl_key[order], _col(watchlist, "person_id").astype(np.int64)[order]
    if wl_key.size == 0:
        return np.full(keys.size, -1, np.int64)
    pos = np.minimum(np.searchsorted(wl_key, keys), wl_key.size - 1)
    return np.where(wl_key[pos] == keys, wl_person[pos], -1)


def alert_is_true(watchlist: pa.Table, alerts: pa.Table, seen: np.ndarray) -> np.ndarray:
    """Which alerts are right: the identity the system claims is really the person whose face
    was captured (``seen``: that person, per alert). The one definition of a true alert, for
    the summary and the classroom alike."""
    claimed = claimed_person(watchlist, alerts)
    return np.asarray((claimed >= 0) & (claimed == seen), bool)


def summarize(
    tables: Tables, *, wall_s: float | None = None, tracking: pa.Table | None = None
) -> dict[str, Any]:
    """The run's summary (the ``summary.json`` keys), from its tables.

    Parameters
    ----------
    tables
        At least groups, people, watchlist, captures and alerts.
    wall_s
        Wall-clock time of the run, in seconds, if known.
    tracking
        The run's tracking table (:func:`analysis.tracking.tracking_table`) when the caller
        has it already; computed here otherwise.
    """
    meta = _metadata(tables)
    duration_s = float(meta.get("duration_s", 0.0))
    names, labels = _group_names(tables["groups"])
    person_group, listed = _residents(tables["people"])
    cap_id_to_person, per_person = _capture_people(tables["captures"], person_group.size)
    truth = _alert_truth(tables, cap_id_to_person, person_group, listed)
    # The keys in the order summary.json shows them (declared in analysis.summary).
    out = {
        **_run_keys(meta, tables, names, person_group, per_person),
        **_alert_keys(truth, names, person_group, listed, per_person),
        **_stops(tables, names, person_group),
        **_patrol_stops(tables, names, person_group),
        **_verifications(tables, names),
        "review_backlog_max": _review_backlog(tables),
        **_by_deployment(tables, truth.is_true),
        **_tracking(tables, person_group, names, duration_s, tracking),
        **assembly_summary(tables, names, person_group, duration_s),
        "label_error_by_group": _label_errors(tables, names, person_group, cap_id_to_person),
        **_watchlist_keys(tables["watchlist"], truth.detected),
        **_provenance_keys(meta, names, labels, wall_s),
    }
    check_summary(out)
    return out


def _per_group(names: list[str], counts: np.ndarray) -> dict[str, int]:
    """Counts indexed by group id, as a dict by group name."""
    return {n: int(c) for n, c in zip(names, counts, strict=True)}


def _group_names(groups: pa.Table) -> tuple[list[str], list[str]]:
    """The groups' names and labels, in group-id order."""
    names = [str(x) for x in groups.column("group").to_pylist()]
    order = np.argsort(_col(groups, "group_id"))
    return [names[i] for i in order], [str(groups.column("label")[int(i)]) for i in order]


def _residents(people: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Each person's group id and whether they are on a watchlist, indexed by person id."""
    person_group = np.zeros(people.num_rows, np.int64)
    person_group[_col(people, "person_id")] = _col(people, "group_id")
    listed = np.zeros(people.num_rows, bool)
    listed[_col(people, "person_id")] = _col(people, "is_listed")
    return person_group, listed


def _capture_people(caps: pa.Table, n_people: int) -> tuple[np.ndarray, np.ndarray]:
    """The person of each capture id (-1 for an unused id), and each person's captures."""
    if not caps.num_rows:
        return np.zeros(0, np.int64), np.zeros(n_people, np.int64)
    person = _col(caps, "person_id").astype(np.int64)
    if row_numbered(caps.column("capture_id")):  # as the engine writes them: no lookup table
        return person, np.bincount(person, minlength=n_people)
    cid = _col(caps, "capture_id")
    cap_id_to_person = np.full(int(cid.max()) + 1, -1, np.int64)
    cap_id_to_person[cid] = person
    return cap_id_to_person, np.bincount(person, minlength=n_people)


@dataclass
class _AlertTruth:
    """Each alert against the truth, and what the reviewers made of it."""

    is_true: np.ndarray  # per alert: it names the person the camera saw
    false_group: np.ndarray  # group of the person seen, per false alert
    false_unlisted_group: np.ndarray  # the same, per false alert on a person on no list
    detected: np.ndarray  # entry keys of the watchlist entries truly alerted on
    flagged: np.ndarray  # innocent people (on no list) falsely alerted on
    times: np.ndarray  # how many false alerts each of them drew
    confirmed: np.ndarray  # per alert: acted on
    rejected: np.ndarray  # per alert: rejected by a reviewer
    reviewed: bool  # whether the run had reviews


def _alert_truth(
    tables: Tables, cap_id_to_person: np.ndarray, person_group: np.ndarray, listed: np.ndarray
) -> _AlertTruth:
    """Which alerts are true, whom the false ones fell on, and the reviewers' verdicts."""
    wl, al = tables["watchlist"], tables["alerts"]
    if al.num_rows:
        seen = cap_id_to_person[_col(al, "capture_id")]
        alert_key = entry_keys(wl, al)
        is_true = alert_is_true(wl, al, seen)
        false_group = person_group[seen[~is_true]]
        false_unlisted_group = person_group[seen[~is_true & ~listed[seen]]]
        detected = np.unique(alert_key[is_true])
        flagged, times = np.unique(seen[~is_true & ~listed[seen]], return_counts=True)
    else:
        is_true = np.zeros(0, bool)
        false_group = false_unlisted_group = detected = np.zeros(0, np.int64)
        flagged = times = np.zeros(0, np.int64)
    confirmed, rejected, reviewed = _verdicts(tables.get("reviews"), al)
    return _AlertTruth(
        is_true,
        false_group,
        false_unlisted_group,
        detected,
        flagged,
        times,
        confirmed,
        rejected,
        reviewed,
    )


def _verdicts(reviews: pa.Table | None, al: pa.Table) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per alert, acted on and rejected; and whether there were reviews at all."""
    n_alerts = al.num_rows
    if reviews is None or not reviews.num_rows:
        # Nobody reviews: every alert is acted on.
        return np.ones(n_alerts, bool), np.zeros(n_alerts, bool), False
    # Acted on: confirmed by review or acted on unreviewed.
    verdict = np.asarray(reviews.column("verdict").to_pylist(), object)
    ok_ids = _col(reviews, "alert_id")[(verdict == CONFIRMED) | (verdict == AUTO_ACTED)]
    no_ids = _col(reviews, "alert_id")[verdict == REJECTED]
    confirmed = np.isin(_col(al, "alert_id"), ok_ids) if n_alerts else np.zeros(0, bool)
    rejected = np.isin(_col(al, "alert_id"), no_ids) if n_alerts else np.zeros(0, bool)
    return confirmed, rejected, True


def _run_keys(
    meta: dict[str, str],
    tables: Tables,
    names: list[str],
    person_group: np.ndarray,
    per_person: np.ndarray,
) -> dict[str, Any]:
    """The run: scenario, seed, people, duration and captures (in all and per group)."""
    captures_by_group = np.bincount(person_group, weights=per_person, minlength=len(names)).astype(
        np.int64
    )
    return {
        "scenario": meta.get("scenario", ""),
        "seed": int(meta.get("seed", 0)),
        "replication": int(meta.get("replication", 0)),
        "people": int(tables["people"].num_rows),
        "duration_s": float(meta.get("duration_s", 0.0)),
        "captures": int(tables["captures"].num_rows),
        "captures_by_group": _per_group(names, captures_by_group),
    }


def _alert_keys(
    truth: _AlertTruth,
    names: list[str],
    person_group: np.ndarray,
    listed: np.ndarray,
    per_person: np.ndarray,
) -> dict[str, Any]:
    """Alerts true and false, false-alert rates by group, people falsely flagged, reviews."""
    n_groups = len(names)
    n_alerts = int(truth.is_true.size)
    n_true = int(truth.is_true.sum())
    n_false = n_alerts - n_true
    false_by_group = np.bincount(truth.false_group, minlength=n_groups)
    false_unlisted = np.bincount(truth.false_unlisted_group, minlength=n_groups)
    unlisted_caps_by_group = np.bincount(
        person_group[~listed], weights=per_person[~listed], minlength=n_groups
    ).astype(np.int64)
    rate, ratio = _false_alert_rates(names, false_unlisted, unlisted_caps_by_group)
    return {
        "alerts": n_alerts,
        "true_alerts": n_true,
        "false_alerts": n_false,
        "false_alert_share": (n_false / n_alerts) if n_alerts else None,
        "false_alerts_by_group": _per_group(names, false_by_group),
        "false_alert_rate_by_group": rate,
        "false_alert_rate_ratio": ratio,
        # The counts behind each rate, exact intervals, ratios to the reference group, the
        # headline disparity and the parity test (analysis.rates).
        **rates.summary_keys(
            _per_group(names, false_unlisted), _per_group(names, unlisted_caps_by_group)
        ),
        **_flagged(truth.flagged, truth.times, person_group, names),
        "confirmed_alerts": int(truth.confirmed.sum()),
        "confirmed_false_alerts": int((truth.confirmed & ~truth.is_true).sum()),
        "false_alerts_rejected_share": (
            float((truth.rejected & ~truth.is_true).sum() / n_false)
            if n_false and truth.reviewed
            else None
        ),
    }


def _false_alert_rates(
    names: list[str], false_unlisted: np.ndarray, unlisted_caps: np.ndarray
) -> tuple[dict[str, float | None], float | None]:
    """False alerts per 1,000 captures of people on no list, by group, and highest / lowest."""
    rate = {}
    for g, name in enumerate(names):
        denom = unlisted_caps[g]
        rate[name] = float(false_unlisted[g] / denom * 1000.0) if denom else None
    observed = [r for r in rate.values() if r is not None]
    ratio = None
    if observed and min(observed) > 0:
        ratio = max(observed) / min(observed)
    return rate, ratio


def _review_backlog(tables: Tables) -> int:
    """The most alerts ever waiting for review (0 without a review queue)."""
    queue = tables.get("review_queue")
    return int(_col(queue, "waiting").max()) if queue is not None and queue.num_rows else 0


def _watchlist_keys(watchlist: pa.Table, detected: np.ndarray) -> dict[str, Any]:
    """Watchlist entries living in the city, and the share of them truly alerted on."""
    present = int((_col(watchlist, "person_id") >= 0).sum())
    return {
        "watchlist_present": present,
        "watchlist_detected_share": (len(detected) / present) if present else None,
    }


def _provenance_keys(
    meta: dict[str, str], names: list[str], labels: list[str], wall_s: float | None
) -> dict[str, Any]:
    """How the run was made: wall time, group labels, scenario hash, versions, uncertainty."""
    return {
        "wall_s": wall_s,
        "group_labels": dict(zip(names, labels, strict=True)),
        "scenario_hash": meta.get("scenario_hash"),
        "schema_version": meta.get("schema_version"),
        "survsim_version": meta.get("survsim_version"),
        "library_versions": _versions(meta),
        # "none": the model's point estimates; "ensemble draw r": one draw of its uncertainty.
        "model_uncertainty": meta.get("model_uncertainty", "none"),
        "routing": meta.get("routing", "exact"),
    }


def _flagged(
    person: np.ndarray, times: np.ndarray, person_group: np.ndarray, names: list[str]
) -> dict[str, Any]:
    """Innocent people falsely flagged (at least once, and more than once), in all and per
    group: with persistent look-alikes, the same person is flagged again and again."""
    k = len(names)
    once = np.bincount(person_group[person], minlength=k)
    again = np.bincount(person_group[person[times >= 2]], minlength=k)
    return {
        "people_falsely_flagged": int(person.size),
        "people_falsely_flagged_repeatedly": int((times >= 2).sum()),
        "false_alerts_per_flagged_person": (float(times.mean()) if times.size else None),
        "people_falsely_flagged_by_group": {n: int(c) for n, c in zip(names, once, strict=True)},
        "people_falsely_flagged_repeatedly_by_group": {
            n: int(c) for n, c in zip(names, again, strict=True)
        },
    }


def _versions(meta: dict[str, str]) -> dict[str, str]:
    """The library versions the run was made with (``library_versions`` in the metadata)."""
    try:
        got = json.loads(meta.get("library_versions", "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in got.items()} if isinstance(got, dict) else {}


def _stops(tables: Tables, names: list[str], person_group: np.ndarray) -> dict[str, Any]:
    """Stops made on alerts: arrests, wrongful stops (per group, and per 100,000 residents)."""
    n_groups = len(names)
    residents = np.bincount(person_group, minlength=n_groups)
    st = tables.get("stops")
    if st is None or st.num_rows == 0:
        outcome = np.zeros(0, object)
        person = np.zeros(0, np.int64)
        response = np.zeros(0)
    else:
        outcome = np.asarray(st.column("outcome").to_pylist(), object)
        person = _col(st, "person_id").astype(np.int64)
        response = _col(st, "response_s")
    made = outcome != MISSED
    wrongful = outcome == WRONGFUL_STOP
    by_group = np.bincount(person_group[person[wrongful]], minlength=n_groups)
    return {
        "stops": int(made.sum()),
        "arrests": int((outcome == ARREST).sum()),
        "wrongful_stops": int(wrongful.sum()),
        "wrongful_stops_by_group": {n: int(c) for n, c in zip(names, by_group, strict=True)},
        "wrongful_stops_per_100k_by_group": {
            n: (float(c / r * 100_000) if r else None)
            for n, c, r in zip(names, by_group, residents, strict=True)
        },
        "missed_intercepts": int((~made).sum()),
        "intercept_time_s_median": float(np.median(response[made])) if made.any() else None,
        # The same innocent person stopped again and again (persistent look-alikes).
        "people_wrongfully_stopped": int(np.unique(person[wrongful]).size),
        "people_wrongfully_stopped_repeatedly": int(
            (np.unique(person[wrongful], return_counts=True)[1] >= 2).sum()
        ),
    }


def _patrol_stops(tables: Tables, names: list[str], person_group: np.ndarray) -> dict[str, Any]:
    """Stops by patrol officers (body-worn cameras): how many, of whom, how many scanned."""
    residents = np.bincount(person_group, minlength=len(names))
    ps = tables.get("patrol_stops")
    if ps is None or ps.num_rows == 0:
        person = np.zeros(0, np.int64)
        scanned = np.zeros(0, bool)
    else:
        person = _col(ps, "person_id").astype(np.int64)
        scanned = _col(ps, "scanned").astype(bool)
    by_group = np.bincount(person_group[person], minlength=len(names))
    return {
        "patrol_stops": int(person.size),
        "patrol_scans": int(scanned.sum()),
        "patrol_stops_by_group": {n: int(c) for n, c in zip(names, by_group, strict=True)},
        "patrol_stops_per_100k_by_group": {
            n: (float(c / r * 100_000) if r else None)
            for n, c, r in zip(names, by_group, residents, strict=True)
        },
    }


def _verifications(tables: Tables, names: list[str]) -> dict[str, Any]:
    """One-to-one door checks at closed facilities: wrongful refusals by group, and impostors
    let through."""
    v = tables.get("verifications")
    if v is None or v.num_rows == 0:
        return {
            "verifications": 0,
            "false_rejects": 0,
            "false_reject_rate_by_group": {n: None for n in names},
            "impostor_attempts": 0,
            "false_accepts": 0,
        }
    genuine = _col(v, "genuine").astype(bool)
    accepted = _col(v, "accepted").astype(bool)
    group = _col(v, "group_id").astype(np.int64)
    checks = np.bincount(group[genuine], minlength=len(names))
    refused = np.bincount(group[genuine & ~accepted], minlength=len(names))
    return {
        "verifications": int(v.num_rows),
        "false_rejects": int((genuine & ~accepted).sum()),
        "false_reject_rate_by_group": {  # per 1,000 genuine checks
            n: (float(r / c * 1000) if c else None)
            for n, r, c in zip(names, refused, checks, strict=True)
        },
        "impostor_attempts": int((~genuine).sum()),
        "false_accepts": int((~genuine & accepted).sum()),
    }


def _tracking(
    tables: Tables,
    person_group: np.ndarray,
    names: list[str],
    end_s: float,
    tracking: pa.Table | None = None,
) -> dict[str, Any]:
    from analysis.tracking import TRACKING_KEYS, tracking_summary, tracking_table

    if "trips" not in tables or "nodes" not in tables:
        return dict.fromkeys(TRACKING_KEYS)
    if tracking is None:
        tracking = tracking_table(tables, end_s)
    return tracking_summary(tracking, person_group, names)


def _by_deployment(tables: Tables, is_true: np.ndarray) -> dict[str, Any]:
    """Alerts and false alerts per deployment (by the camera that captured the face)."""
    cams = tables.get("cameras")
    al = tables["alerts"]
    if cams is None or cams.num_rows == 0:
        return {"alerts_by_deployment": {}, "false_alerts_by_deployment": {}}
    dep = np.empty(int(_col(cams, "camera_id").max()) + 1, object)
    dep[_col(cams, "camera_id")] = cams.column("deployment").to_pylist()
    names = sorted(set(cams.column("deployment").to_pylist()))
    of_alert = dep[_col(al, "camera_id")] if al.num_rows else np.zeros(0, object)
    return {
        "alerts_by_deployment": {n: int((of_alert == n).sum()) for n in names},
        "false_alerts_by_deployment": {n: int(((of_alert == n) & ~is_true).sum()) for n in names},
    }


def _label_errors(
    tables: Tables, names: list[str], person_group: np.ndarray, cap_id_to_person: np.ndarray
) -> dict[str, float | None] | None:
    """Share of each group's captured faces that the system's classifier labelled wrongly."""
    labels = tables.get("labels")
    groups = tables["groups"]
    if labels is None or "classifier_label" not in groups.column_names:
        return None
    truth = groups.column("classifier_label").to_pylist()
    if not any(truth):
        return None
    gid = _col(groups, "group_id")
    correct = np.empty(len(names), object)
    correct[gid] = truth
    person = (
        cap_id_to_person[_col(labels, "capture_id")] if labels.num_rows else np.zeros(0, np.int64)
    )
    group = person_group[person]
    got = np.asarray(labels.column("label").to_pylist(), object)
    wrong = got != correct[group]
    n = np.bincount(group, minlength=len(names))
    bad = np.bincount(group[wrong], minlength=len(names))
    return {name: (float(bad[g] / n[g]) if n[g] else None) for g, name in enumerate(names)}


def _metadata(tables: Tables) -> dict[str, str]:
    for t in tables.values():
        md = t.schema.metadata or {}
        if b"seed" in md:
            return {k.decode(): v.decode() for k, v in md.items()}
    return {}
