"""Writes the event stream to ``events/<table>.arrow`` (Arrow IPC stream files), batch by batch.

Each batch goes straight to the operating system (unbuffered ``pa.OSFile``), so a run killed at
any moment leaves every completed batch readable. The run directory is prepared before anything
is written; an existing run is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.errors import UserError
from sim.schema import TABLES

RUN_FILES = ("scenario.resolved.toml", "summary.json", "events", "tracking.arrow")
_BUFFER_BYTES = 1 << 16  # per table file; flushed after every batch


def prepare_run_dir(out: Path, *, overwrite: bool = False, check_only: bool = False) -> Path:
    """Make ``out`` ready for a run, or explain why it cannot be.

    With ``check_only`` nothing is created or removed: the checks that can be made without
    writing are made (so a run can fail fast before any work, and before touching old files).

    Raises
    ------
    UserError
        If ``out`` is a file, cannot be created or written, or already holds a run (without
        ``overwrite``).
    """
    out = Path(out)
    try:
        return _prepare(out, overwrite=overwrite, check_only=check_only)
    except (OSError, ValueError) as exc:  # names too long, NUL bytes, permissions...
        raise UserError(f"{str(out)!r}: cannot use this run directory ({exc})") from None


def _prepare(out: Path, *, overwrite: bool, check_only: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: --out must be a directory, but a file of that name exists")
    if out.is_dir() and any((out / f).exists() for f in RUN_FILES) and not overwrite:
        raise UserError(f"{out}: already holds a run; choose another --out or pass "
                        f"--overwrite to replace it")
    if check_only:
        probe = out
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            raise UserError(f"{out}: cannot write the run directory (no write permission "
                            f"in {probe})")
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
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        report = out / "report.html"
        if report.exists():
            report.unlink()
    (out / "events").mkdir(exist_ok=True)
    return out


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


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
            sink = pa.BufferedOutputStream(pa.OSFile(str(self.events_dir / f"{table}.arrow"),
                                                     "wb"), _BUFFER_BYTES)
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
