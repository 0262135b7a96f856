"""What the surveillance system does with the captures it receives, from its own columns only.

Per released batch of captures (in time order, numbered), the system sees when and where each
face was captured and what its instruments returned (``sim.observe``: the search's claim and
score, the links a retrospective search made, the classifier's label, a reviewer's and an
officer's findings), never whose face it was. From those it builds

- the identity log: each capture it can attach to an identity, under that identity (a match
  under the listed person's, kept for the run; a kept capture under the identity a later search
  attached, until its retention ends);
- the alerts it raises (a claimed match whose alert comes before the end of the run), each with
  what review and a stop will find; the engine gives each its simpy process;
- the labels table, and the assembly detector's alarms with the sightings behind them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sim.scenario import Scenario
from sim.schema import FROM_ALERT, IDENTITY_SOURCES, LISTED, RETAINED
from sim.system.assembly import AssemblyDetector
from sim.tables import batch, dict_array
from sim.units import DAY

Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Alert:
    """An alert the system raises (a simpy process in the engine)."""

    row: int  # in the release
    t: float
    capture: int
    camera: int
    watchlist: int
    entry: int
    score: float
    confirms: bool  # the reviewer's verdict, revealed when a review ends
    finds_listed: bool  # what an officer who stops the person finds


@dataclass
class Released:
    """What one release of captures produces."""

    batches: list[tuple[str, pa.RecordBatch]]  # identity_log, labels
    alerts: list[Alert]
    held: list[tuple[str, Columns]]  # rows of tables held until their time (assembly alarms)


class SystemView:
    """The system's side of one run (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        camera_x: npt.NDArray[np.float64],
        camera_y: npt.NDArray[np.float64],
        camera_list: npt.NDArray[np.integer],
        list_identity: list[npt.NDArray[np.integer]],
        labels: tuple[str, ...] | None,
    ) -> None:
        self.s = scenario
        self.cam_x, self.cam_y, self.cam_list = camera_x, camera_y, camera_list
        self.list_identity = list_identity  # per list: each entry's identity (person id)
        self.labels = labels
        self.latency_s = scenario.facematch.latency_s
        self.duration_s = scenario.duration_s
        a = scenario.assembly
        self.detector = (
            AssemblyDetector(a.k, a.radius_m, a.window_min * 60.0)
            if scenario.governance.assembly_analytics
            else None
        )
        self.target_label = (
            labels.index(a.target_label) if labels is not None and a.target_label in labels else -1
        )

    def release(self, ids: npt.NDArray[np.int64], cap: Columns) -> Released:
        """The identity log, labels, alerts and assembly alarms of one release."""
        out = Released([], [], [])
        if self.labels is not None:
            out.batches.append(
                (
                    "labels",
                    batch(
                        "labels",
                        {
                            "capture_id": pa.array(ids),
                            "t_s": pa.array(cap["t"]),
                            "camera_id": pa.array(cap["camera"]),
                            "label": dict_array(cap["label"], self.labels),
                        },
                    ),
                )
            )
        flagged = self._search(ids, cap, out)
        if self.detector is not None:
            self._detect(ids, cap, flagged, out)
        return out

    def _search(
        self, ids: npt.NDArray[np.int64], cap: Columns, out: Released
    ) -> tuple[np.ndarray, np.ndarray]:
        """Identity-log rows and alerts; returns the matched rows and their (list, entry)
        identity keys."""
        cam = cap["camera"]
        lst = self.cam_list[cam]
        log: list[Columns] = []
        matched: list[tuple[np.ndarray, np.ndarray]] = []
        keep_s = self.s.governance.retention_days * DAY
        retained = IDENTITY_SOURCES.index(RETAINED)
        for column in ("linked_identity", "false_identity"):
            if column in cap:
                # Kept captures a later search found: under its owner's identity, or (searched
                # for somebody else's face) under theirs.
                found = np.flatnonzero(cap[column] >= 0)
                log.append(
                    {
                        "row": found,
                        "capture_id": ids[found],
                        "t_s": cap["t"][found],
                        "camera_id": cam[found],
                        "identity": cap[column][found],
                        "source": np.full(found.size, retained, np.int16),
                        "kept_until_s": cap["t"][found] + keep_s,
                    }
                )
        alerting = np.flatnonzero(cap["claimed"] >= 0)
        alerting = alerting[cap["t"][alerting] + self.latency_s < self.duration_s]
        single = len(self.list_identity) == 1  # every camera searches list 0
        lists = ((0,) if alerting.size else ()) if single else np.unique(lst[alerting]).tolist()
        for li in lists:
            rows = alerting if single else alerting[lst[alerting] == li]
            claimed = cap["claimed"][rows]
            matched.append((rows, np.int64(li) * (1 << 32) + claimed))
            # A match is logged under the identity it was matched to (kept for the run).
            log.append(
                {
                    "row": rows,
                    "capture_id": ids[rows],
                    "t_s": cap["t"][rows],
                    "camera_id": cam[rows],
                    "identity": self.list_identity[li][claimed],
                    "source": np.full(rows.size, IDENTITY_SOURCES.index(FROM_ALERT), np.int16),
                    "kept_until_s": np.full(rows.size, np.inf),
                }
            )
            t_alert = cap["t"][rows] + self.latency_s
            score, confirms, finds = (
                cap["score"][rows],
                cap["confirms"][rows],
                cap["finds_listed"][rows],
            )
            out.alerts += [
                Alert(
                    row=int(r),
                    t=float(t_alert[k]),
                    capture=int(ids[r]),
                    camera=int(cam[r]),
                    watchlist=int(li),
                    entry=int(claimed[k]),
                    score=float(score[k]),
                    confirms=bool(confirms[k]),
                    finds_listed=bool(finds[k]),
                )
                for k, r in enumerate(rows.tolist())
            ]
        if log:
            self._log(log, out)
        if not matched:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return (np.concatenate([m[0] for m in matched]), np.concatenate([m[1] for m in matched]))

    def _log(self, parts: list[Columns], out: Released) -> None:
        """The identity-log rows of one release, in capture order (a capture's rows in the
        order of ``parts``). Captures are numbered in time order, so capture order is the
        order of their rows in the release (``row``)."""
        if len(parts) == 1:
            rows = parts[0]
            order: slice | np.ndarray = slice(None)  # one part: already in row order
        else:
            rows = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
            order = np.argsort(rows["row"], kind="stable")
        if rows["row"].size == 0:
            return
        out.batches.append(
            (
                "identity_log",
                batch(
                    "identity_log",
                    {
                        "capture_id": pa.array(rows["capture_id"][order].astype(np.int64)),
                        "t_s": pa.array(rows["t_s"][order]),
                        "camera_id": pa.array(rows["camera_id"][order].astype(np.int32)),
                        "identity": pa.array(rows["identity"][order].astype(np.int32)),
                        "source": dict_array(rows["source"][order], IDENTITY_SOURCES),
                        "kept_until_s": pa.array(rows["kept_until_s"][order]),
                    },
                ),
            )
        )

    def _detect(
        self,
        ids: npt.NDArray[np.int64],
        cap: Columns,
        flagged: tuple[np.ndarray, np.ndarray],
        out: Released,
    ) -> None:
        """Feed the assembly detector what the system flags in this release."""
        assert self.detector is not None
        a = self.s.assembly
        if a.flag == LISTED:
            rows, key = flagged
        else:
            rows = np.flatnonzero(cap["label"] == self.target_label)
            key = ids[rows]  # unknown faces: each capture counts as a face
        if rows.size == 0:
            return
        cam = cap["camera"][rows]
        alarms = self.detector.feed(
            cap["t"][rows], self.cam_x[cam], self.cam_y[cam], key, ids[rows]
        )
        if not alarms:
            return
        t, x, y, n, seq = (np.array(v) for v in list(zip(*alarms, strict=True))[:5])
        out.held.append(
            (
                "assembly_alerts",
                {
                    "assembly_id": seq.astype(np.int64),
                    "t_s": t,
                    "x_m": x,
                    "y_m": y,
                    "n_flagged": n.astype(np.int32),
                    "flag": np.full(t.size, a.flag, object),
                },
            )
        )
        members = [m for *_, m in alarms]
        sizes = np.array([m.size for m in members])
        out.held.append(
            (
                "assembly_members",
                {
                    "assembly_id": np.repeat(seq.astype(np.int64), sizes),
                    "t_s": np.repeat(t, sizes),
                    "capture_id": np.concatenate(members),
                },
            )
        )
