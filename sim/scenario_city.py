"""The city a scenario declares (``[city]``, one model per ``kind``: a street grid, a radial
capital or a real OpenStreetMap map) and the places the generator puts on it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.scenario_base import _Strict


def _city_seed() -> Any:
    """The ``seed`` of every kind of city."""
    return Field(
        None,
        ge=0,
        lt=2**63,
        description="Fixes the map, its places, "
        "their names and the districts (default: derived from the other "
        "[city] settings, never from the run seed or replication).",
    )


class Places(_Strict):
    """How many places of each type the generator puts on the street graph."""

    workplaces: int = Field(200, ge=1, description="Workplace nodes (offices, shops' back rooms).")
    shops: int = Field(150, ge=1, description="Shop nodes, destinations of errands.")
    transit_hubs: int = Field(8, ge=0, description="Stations; busy at rush hours.")
    plazas: int = Field(4, ge=1, description="Public squares; the central plaza is one of them.")
    places_of_worship: int = Field(12, ge=0)
    schools: int = Field(10, ge=1)
    hospitals: int = Field(1, ge=0)
    airports: int = Field(0, ge=0, description="Airports, at the edge of the city.")
    prisons: int = Field(0, ge=0, description="Prisons, at the edge of the city.")


class GridCity(_Strict):
    """A rectangular street grid, districts in a ``districts_x`` x ``districts_y`` layout."""

    kind: Literal["grid"]
    columns: int = Field(30, ge=2, le=3000, description="Intersections along x.")
    rows: int = Field(30, ge=2, le=3000, description="Intersections along y.")
    block_m: float = Field(100.0, gt=0, le=10_000, description="Street length between crossings.")
    districts_x: int = Field(2, ge=1, le=26)
    districts_y: int = Field(2, ge=1, le=26)
    places: Places = Places()
    seed: int | None = _city_seed()


class RadialCity(_Strict):
    """A capital: a central plaza, concentric ring roads, avenues (spokes) and named districts."""

    kind: Literal["radial"]
    rings: int = Field(12, ge=1, le=400, description="Ring roads around the central plaza.")
    ring_spacing_m: float = Field(250.0, gt=0, le=10_000)
    spokes: int = Field(8, ge=3, le=256, description="Avenues from the centre to the edge.")
    block_m: float = Field(
        120.0, gt=0, le=10_000, description="Target street length between crossings on a ring."
    )
    centre_rings: int = Field(2, ge=0, description="Rings inside the 'Centre' district.")
    districts: int = Field(8, ge=1, le=32, description="Outer districts, one per sector.")
    places: Places = Places()
    seed: int | None = _city_seed()

    @model_validator(mode="after")
    def _centre_inside(self) -> RadialCity:
        if self.centre_rings > self.rings:
            raise ValueError(
                f"centre_rings ({self.centre_rings}) must be at most rings ({self.rings})"
            )
        return self


class OsmCity(_Strict):
    """A real street map from OpenStreetMap (needs the ``osm`` extra: osmnx).

    Give ``path`` (an OpenStreetMap extract: ``.osm``, ``.osm.bz2``, ``.osm.pbf``, or a GraphML
    file saved by osmnx; relative to the scenario file; ``$VARIABLES`` are expanded) or
    ``place`` (a name osmnx geocodes and downloads when the machine is online; cached on disk).
    Typed places come from the map's tags; ``places`` are then minimum counts per type, filled
    up from the street graph where the extract has fewer tagged places.
    """

    kind: Literal["osm"]
    path: str | None = Field(
        None,
        min_length=1,
        description="An OpenStreetMap extract or an "
        "osmnx GraphML file (relative to the scenario file).",
    )
    place: str | None = Field(
        None,
        min_length=1,
        description="A place name, e.g. 'Cardiff, "
        "Wales', downloaded through osmnx (online only; cached).",
    )
    consolidate_m: float = Field(
        5.0,
        ge=0,
        le=50,
        description="Merge intersection nodes "
        "within twice this distance into one crossing (0: keep all).",
    )
    districts: int = Field(
        6,
        ge=1,
        le=32,
        description="Districts made by spatial clustering "
        "when the map has no administrative boundaries.",
    )
    places: Places = Places(
        workplaces=40,
        shops=30,
        transit_hubs=2,
        plazas=2,
        places_of_worship=3,
        schools=3,
        hospitals=1,
    )
    seed: int | None = _city_seed()

    @model_validator(mode="after")
    def _one_source(self) -> OsmCity:
        if (self.path is None) == (self.place is None):
            raise ValueError(
                "give exactly one of 'path' (an extract on disk) or 'place' (a "
                "place name to download)"
            )
        return self


City = Annotated[GridCity | RadialCity | OsmCity, Field(discriminator="kind")]
