"""Writes the event stream to ``events/<table>.arrow`` (Arrow IPC stream files), batch by batch.

Each batch goes straight to the operating system (unbuffered ``pa.OSFile``), so a run killed at
any moment leaves every completed batch readable. The run directory is prepared before anything
is written; an existing run is never overwritten unless asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.errors import UserError, short
from sim.files import write_json
from sim.schema import PAGE_GENERATOR, RUN_MARKER, TABLES

RUN_FILES = ("scenario.resolved.toml", "summary.json", "events", "tracking.arrow", RUN_MARKER)
REPORT = "report.html"
_BUFFER_BYTES = 1 << 16  # per table file; flushed after every batch
# A folder made by `survsim compare` or `survsim sweep` is not a run directory.
_OTHER_OUTPUTS = ("compare.json", "sweep.json")


def prepare_run_dir(out: Path, *, overwrite: bool = False, check_only: bool = False) -> Path:
    """Make ``out`` ready for a run, or explain why it cannot be.

    With ``check_only`` nothing is created or removed: the checks that can be made without
    writing are made (so a run can fail fast before any work, and before touching old files).
    ``overwrite`` replaces a run survsim wrote there (finished or not), and only that: the files
    a run writes, and ``report.html`` if survsim wrote it.

    Raises
    ------
    UserError
        If ``out`` is a file, cannot be created or written, already holds a run (without
        ``overwrite``), holds files survsim did not write where a run's would go, or holds a
        comparison or sweep.
    """
    out = Path(out)
    try:
        return _prepare(out, overwrite=overwrite, check_only=check_only)
    except (OSError, ValueError) as exc:  # names too long, NUL bytes, permissions...
        raise UserError(f"{short(str(out))!r}: cannot use this run directory ({exc})") from None


def run_state(out: Path) -> str | None:
    """The state of the run in ``out``: ``"complete"``, ``"running"`` (or killed),
    ``"interrupted"``, ``"failed"``, or None if there is no run. A run written before run.json
    existed counts as complete when it has its summary."""
    marker = Path(out) / RUN_MARKER
    try:
        state = json.loads(marker.read_text(encoding="utf-8")).get("state")
        return str(state) if state else "running"
    except FileNotFoundError:
        return "complete" if (Path(out) / "summary.json").is_file() else None
    except (OSError, ValueError, AttributeError):
        return "running"  # a torn marker: the run never finished writing it


_STATE_WORDS = {
    "running": "did not finish (it was stopped or killed while running)",
    "interrupted": "was interrupted (Ctrl-C) before it finished",
    "failed": "stopped with an error before it finished",
}


def describe_incomplete(out: Path, state: str) -> str:
    """A sentence for a run that did not finish."""
    return (
        f"{out}: the run there {_STATE_WORDS.get(state, 'did not finish')}; its files are "
        f"incomplete. Run it again with --overwrite"
    )


def mark_run(out: Path, state: str, **info: Any) -> None:
    """Record the run's state in ``out/run.json`` (written atomically)."""
    marker = Path(out) / RUN_MARKER
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(marker.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        data = {}
    data.update(info)
    data.update({"written_by": "survsim", "state": state})
    write_json(marker, data)


def _is_survsim_run(out: Path) -> bool:
    marker = out / RUN_MARKER
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return bool(json.loads(marker.read_text(encoding="utf-8")).get("written_by") == "survsim")
    resolved = out / "scenario.resolved.toml"  # a run of an earlier survsim, without run.json
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return resolved.read_text(encoding="utf-8")[:200].startswith("# Resolved scenario '")
    return False


def _prepare(out: Path, *, overwrite: bool, check_only: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: --out must be a directory, but a file of that name exists")
    if out.is_dir():
        other = [f for f in _OTHER_OUTPUTS if (out / f).exists()]
        if other:
            raise UserError(
                f"{out}: holds a {other[0].split('.')[0]} (it has {other[0]}), not "
                f"a run; choose another --out"
            )
        found = [f for f in RUN_FILES if (out / f).exists()]
        if found and not _is_survsim_run(out):
            raise UserError(
                f"{out}: holds {', '.join(found)} but not a run survsim wrote "
                f"(no run.json); not replacing them, even with --overwrite. "
                f"Choose another --out"
            )
        if found and not overwrite:
            state = run_state(out)
            if state not in (None, "complete"):
                raise UserError(describe_incomplete(out, state))
            raise UserError(
                f"{out}: already holds a run; choose another --out or pass "
                f"--overwrite to replace it"
            )
    if check_only:
        probe = out
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            raise UserError(
                f"{out}: cannot write the run directory (no write permission in {probe})"
            )
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UserError(f"{out}: cannot write the run directory ({exc.strerror or exc})") from None
    if overwrite:
        for f in RUN_FILES:
            p = out / f
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            elif p.exists() or p.is_symlink():
                p.unlink()
        report = out / REPORT
        if report.exists() and _is_survsim_page(report):
            report.unlink()
    (out / "events").mkdir(exist_ok=True)
    return out


def _is_survsim_page(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return PAGE_GENERATOR.encode() in f.read(4096)
    except OSError:
        return False


class ArrowRecorder:
    """One Arrow IPC stream writer per table, opened on first use.

    Parameters
    ----------
    events_dir
        Directory of the ``<table>.arrow`` files.
    metadata
        Key-value pairs stored in every file's schema (seed, replication, scenario hash...).
    """

    def __init__(self, events_dir: Path, metadata: dict[str, str]) -> None:
        self.events_dir = Path(events_dir)
        self.metadata = metadata
        self._sinks: dict[str, pa.NativeFile] = {}
        self._writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
        self.rows: dict[str, int] = {}

    def _writer(self, table: str) -> pa.ipc.RecordBatchStreamWriter:
        w = self._writers.get(table)
        if w is None:
            schema = TABLES[table].schema(self.metadata)
            # Buffered, and flushed after every batch: one write call per batch (not one per
            # column buffer), and a killed run still leaves every completed batch on disk.
            sink = pa.BufferedOutputStream(
                pa.OSFile(str(self.events_dir / f"{table}.arrow"), "wb"), _BUFFER_BYTES
            )
            w = pa.ipc.new_stream(sink, schema)
            sink.flush()
            self._sinks[table] = sink
            self._writers[table] = w
            self.rows[table] = 0
        return w

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        w = self._writer(table)
        if batch.num_rows:
            w.write_batch(batch)  # the stream's schema (with the metadata) is written once
            self._sinks[table].flush()
            self.rows[table] += batch.num_rows

    def touch_all(self) -> None:
        """Create every table's file, so an empty table is an empty file, not a missing one."""
        for name in TABLES:
            self._writer(name)

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        for s in self._sinks.values():
            s.close()
        self._writers.clear()
        self._sinks.clear()
