"""A synthetic whole-city OpenStreetMap extract (``.osm.pbf``), for measuring the OSM path at the
size of a real city: no extract of 100,000+ crossings is at hand, so one is written with pyosmium.

The city is a jittered grid of streets (``--side`` x ``--side`` crossings, about 100 m apart,
placed at 45.0 N, 21.88 E; anywhere would do), each street an OSM way running several blocks with a
shape node between crossings (as real ways have), tagged like real streets (a few primary roads,
the rest residential, and motorways that the walking filter must drop), plus
tagged places (shops, schools, places of worship, hospitals, a station, plazas) and residential
buildings. Deterministic for a given ``--side`` and ``--seed``.

    python benchmarks/osm_synth.py --side 330 --out /tmp/city.osm.pbf    # ~109,000 crossings
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

LAT0, LON0 = 45.0, 21.88
STEP_DEG = 0.0009  # about 100 m of latitude
BLOCKS_PER_WAY = 6


def write_city(out: Path, side: int, seed: int = 1) -> dict[str, int]:
    """Write the extract; returns counts of what it holds."""
    import osmium

    rng = np.random.default_rng(seed)
    lat = LAT0 + STEP_DEG * (np.arange(side)[:, None] + rng.uniform(-0.15, 0.15, (side, side)))
    lon = LON0 + STEP_DEG * 1.41 * (
        np.arange(side)[None, :] + rng.uniform(-0.15, 0.15, (side, side))
    )
    crossing = np.arange(side * side).reshape(side, side) + 1  # node ids 1..side^2
    next_id = side * side + 1
    counts = {"crossings": side * side, "nodes": side * side, "ways": 0, "places": 0}
    out.unlink(missing_ok=True)
    with osmium.SimpleWriter(str(out)) as w:
        for i in range(side):
            for j in range(side):
                where = (float(lon[i, j]), float(lat[i, j]))
                w.add_node(osmium.osm.mutable.Node(id=int(crossing[i, j]), location=where))
        ways: list[tuple[list[int], dict[str, str]]] = []
        shape_nodes: list[tuple[int, float, float]] = []

        def street(cells: list[tuple[int, int]], tags: dict[str, str]) -> None:
            nonlocal next_id
            refs: list[int] = []
            for k, (a, b) in enumerate(cells):
                if k:  # a shape node halfway, slightly off the straight line
                    pa_, pb = cells[k - 1]
                    mid_lat = (lat[pa_, pb] + lat[a, b]) / 2 + rng.uniform(-1e-5, 1e-5)
                    mid_lon = (lon[pa_, pb] + lon[a, b]) / 2 + rng.uniform(-1e-5, 1e-5)
                    shape_nodes.append((next_id, float(mid_lon), float(mid_lat)))
                    refs.append(next_id)
                    next_id += 1
                refs.append(int(crossing[a, b]))
            ways.append((refs, tags))

        for horizontal in (True, False):
            for r in range(side):
                kind = "primary" if r % 25 == 0 else "residential"
                if r % 97 == 50:
                    kind = "motorway"  # not walkable: the filter drops it (a gap the grid bridges)
                for start in range(0, side - 1, BLOCKS_PER_WAY):
                    end = min(start + BLOCKS_PER_WAY, side - 1)
                    cells = [(r, c) if horizontal else (c, r) for c in range(start, end + 1)]
                    tags = {"highway": kind, "name": f"{'Row' if horizontal else 'Col'} {r}"}
                    street(cells, tags)
        for nid, x, y in shape_nodes:
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y)))
        counts["nodes"] += len(shape_nodes)
        # Tagged places (nodes) and residential buildings (closed ways), near random crossings.
        kinds = [({"shop": "supermarket"}, side * side // 40),
                 ({"amenity": "school"}, side * side // 400),
                 ({"amenity": "place_of_worship"}, side * side // 400),
                 ({"amenity": "hospital"}, max(1, side * side // 10000)),
                 ({"railway": "station"}, max(1, side * side // 2000)),
                 ({"place": "square"}, max(1, side * side // 4000))]  # fmt: skip
        place_nodes = []
        for tags, n in kinds:
            at = rng.integers(0, side, (n, 2))
            for a, b in at:
                place_nodes.append(
                    (next_id, float(lon[a, b]) + 2e-4, float(lat[a, b]) + 1e-4, tags)
                )
                next_id += 1
        buildings = rng.integers(0, side, (side * side // 8, 2))
        building_nodes = []
        building_ways = []
        for a, b in buildings:
            x0, y0 = float(lon[a, b]) + 3e-4, float(lat[a, b]) + 2e-4
            ids = []
            for dx, dy in ((0, 0), (2e-4, 0), (2e-4, 1.5e-4), (0, 1.5e-4)):
                building_nodes.append((next_id, x0 + dx, y0 + dy))
                ids.append(next_id)
                next_id += 1
            building_ways.append([*ids, ids[0]])
        for nid, x, y, tags in place_nodes:
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y), tags=tags))
        for nid, x, y in building_nodes:
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(x, y)))
        way_id = 1
        for refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
            way_id += 1
        for refs in building_ways:
            tags = {"building": "residential", "building:levels": "3"}
            w.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
            way_id += 1
        counts["nodes"] += len(place_nodes) + len(building_nodes)
        counts["ways"] = way_id - 1
        counts["places"] = len(place_nodes)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--side", type=int, default=330)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    print(write_city(args.out, args.side, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
