"""survsim's classroom demo: a Dash app that runs a small city live in the browser.

An edge of the package, like ``sim.edge``: it runs simulations (``sim``) and shows them. Start
it with ``survsim demo``.
"""
