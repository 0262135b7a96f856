"""Writing files so that a reader never sees half of one: the one atomic-write helper.

Every file survsim writes whole (summaries, resolved scenarios, reports, Parquet tables,
prepared maps) is written to a temporary name of its own in the same folder (unique per call:
two writers never share one) and renamed into place when complete; on any error the temporary
file is removed and the old file, if any, is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A unique temporary path next to ``path`` for the block to write; renamed to ``path``
    when the block ends, removed if it raises. (``suffix``: for writers that insist on an
    extension, as ``numpy.savez`` does.)"""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON (indented, keys in their order) atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
