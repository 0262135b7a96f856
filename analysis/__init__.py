"""survsim analysis: metrics computed from a run's event tables (truth against the system's view).

Reads Arrow files; imports only the schema from ``sim``.
"""

from analysis.metrics import read_run, read_table, summarize

__all__ = ["read_run", "read_table", "summarize"]
