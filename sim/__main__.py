"""``python -m sim``: the survsim command line."""

from sim.edge.cli import main

if __name__ == "__main__":
    main()
