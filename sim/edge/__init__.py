"""The edge layer: where survsim meets its users and its analysis.

- ``api``: ``sim.run`` and ``sim.stream`` (build a world, run the engine, write the files,
  summarise);
- ``cli``: the ``survsim`` command line, a thin layer over ``api`` and ``experiments`` (its
  tables in ``cli_tables``, its helpers and longer printouts in ``cli_helpers``);
- ``experiments``: many runs, compare and sweep, and ``sensitivity_runs`` the sensitivity
  analysis; ``batch`` runs their tasks on local processes or Dask and writes their tables.

Only this layer imports ``analysis`` (tests/test_architecture.py): the model below it (``sim``)
produces event tables and never reads its own results.
"""
