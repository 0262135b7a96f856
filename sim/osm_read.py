"""Reading a real map's source for :mod:`sim.osm`: an OpenStreetMap extract on disk or a place
downloaded through osmnx, as a street graph, its tagged features and its administrative
boundaries.

An extract is OSM XML (``.osm``, bz2- or gzip-compressed), ``.osm.pbf`` (read by
:mod:`sim.osm_stream`; here only converted to XML with pyosmium, for comparisons with osmnx's
graph) or an osmnx GraphML file. One streaming pass over the XML keeps the tagged elements the
city needs (:class:`Feature`) and checks that the file is a complete OpenStreetMap extract with
streets; osmnx builds the street graph. :func:`place_type_of` turns an element's tags into a
survsim place type. osmnx is not imported here: the caller passes it in (``sim.osm._osmnx``).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sim.errors import ScenarioError


# ---------------------------------------------------------------- extracts and downloads
def _read_extract(ox: Any, path: Path) -> tuple[Any, list[Feature], Any]:
    name = path.name.lower()
    if name.endswith(".graphml"):
        try:
            graph = ox.load_graphml(path)
        except Exception as exc:
            raise ScenarioError(
                f"city.path: {path}: not a GraphML street graph saved by osmnx "
                f"({type(exc).__name__}: {exc})"
            ) from None
        return graph, [], None
    if name.endswith(".pbf"):
        with tempfile.TemporaryDirectory() as tmp:
            xml_path = _pbf_to_xml(path, Path(tmp) / "extract.osm")
            return _read_xml(ox, xml_path, shown=path)
    return _read_xml(ox, path, shown=path)


def need_osmium(path: Path) -> Any:
    """pyosmium, or one message saying how to install it."""
    try:
        import osmium
    except ImportError:
        from sim.osm import INSTALL_HINT

        raise ScenarioError(
            f"city.path: {path}: reading .osm.pbf needs pyosmium, part of the "
            f"osm extra: {INSTALL_HINT}"
        ) from None
    return osmium


def _pbf_to_xml(path: Path, out: Path) -> Path:
    osmium = need_osmium(path)
    try:
        with osmium.SimpleWriter(str(out)) as writer:
            for obj in osmium.FileProcessor(str(path)):
                writer.add(obj)
    except Exception as exc:
        raise ScenarioError(
            f"city.path: {path}: not a readable OpenStreetMap PBF file ({exc})"
        ) from None
    return out


def _open_text(path: Path) -> io.BufferedIOBase:
    raw = path.open("rb")
    head = raw.read(3)
    raw.seek(0)
    if head == b"BZh":
        return bz2.BZ2File(raw)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)
    return raw


@dataclass
class Feature:
    """A tagged OSM element reduced to what the city needs: tags, a point, an area."""

    tags: dict[str, str]
    lon: float
    lat: float
    ring: npt.NDArray[np.float64] | None = None  # closed way's lon/lat, for building areas


@dataclass
class Streets:
    """A walking graph as read, before projection: crossings (sorted by OSM id) and streets."""

    x: npt.NDArray[np.float64]  # longitude, or x in ``crs``
    y: npt.NDArray[np.float64]
    crs: str | None  # the projected CRS of x and y, or None: degrees (WGS 84)
    # (u, v, shape points in the same units or None for a straight line, street class)
    edges: list[tuple[int, int, npt.NDArray[np.float64] | None, str]]


def _scan_xml(path: Path, shown: Path) -> tuple[list[Feature], bool, int]:
    """One streaming pass: tagged features, whether there are admin boundaries, street ways."""
    coords: dict[str, tuple[float, float]] = {}
    features: list[Feature] = []
    admin = False
    streets = 0
    root_seen = False
    try:
        with _open_text(path) as f:
            for event, el in ET.iterparse(f, events=("start", "end")):
                if event == "start":
                    if not root_seen:
                        if el.tag != "osm":
                            raise ScenarioError(
                                f"city.path: {shown}: not an OpenStreetMap "
                                f"XML file (its root element is <{el.tag}>, "
                                f"expected <osm>)"
                            )
                        root_seen = True
                    continue
                if el.tag == "node":
                    lon, lat = float(el.get("lon", "nan")), float(el.get("lat", "nan"))
                    coords[el.get("id", "")] = (lon, lat)
                    tags = _tags(el)
                    if tags and _interesting(tags):
                        features.append(Feature(tags, lon, lat))
                    el.clear()
                elif el.tag == "way":
                    tags = _tags(el)
                    if "highway" in tags:
                        streets += 1
                    if tags.get("boundary") == "administrative":
                        admin = True
                    if tags and _interesting(tags):
                        refs = [nd.get("ref", "") for nd in el.iter("nd")]
                        pts = np.array([coords[r] for r in refs if r in coords], np.float64)
                        if pts.size:
                            closed = len(refs) > 3 and refs[0] == refs[-1]
                            mid = pts.mean(axis=0)
                            features.append(
                                Feature(tags, float(mid[0]), float(mid[1]), pts if closed else None)
                            )
                    el.clear()
                elif el.tag == "relation":
                    if _tags(el).get("boundary") == "administrative":
                        admin = True
                    el.clear()
    except ScenarioError:
        raise
    except (ET.ParseError, EOFError, OSError, ValueError) as exc:
        raise ScenarioError(
            f"city.path: {shown}: not a complete OpenStreetMap XML file "
            f"({type(exc).__name__}: {exc}); is it truncated?"
        ) from None
    if not root_seen:
        raise ScenarioError(f"city.path: {shown}: empty, not an OpenStreetMap XML file")
    return features, admin, streets


def _tags(el: ET.Element) -> dict[str, str]:
    return {t.get("k", ""): t.get("v", "") for t in el.iter("tag")}


def _read_xml(ox: Any, path: Path, shown: Path) -> tuple[Any, list[Feature], Any]:
    features, admin, streets = _scan_xml(path, shown)
    if streets == 0:
        raise ScenarioError(
            f"city.path: {shown}: the extract has no streets (no ways tagged highway=*)"
        )
    try:
        graph = ox.graph_from_xml(path, bidirectional=True, simplify=True, retain_all=True)
    except Exception as exc:
        raise ScenarioError(
            f"city.path: {shown}: osmnx could not build a street graph from "
            f"it ({type(exc).__name__}: {exc})"
        ) from None
    boundaries = None
    if admin:
        with contextlib.suppress(Exception):  # districts fall back to clustering
            boundaries = ox.features_from_xml(path, tags={"boundary": "administrative"})
    return graph, features, boundaries


def _download(ox: Any, place: str) -> tuple[Any, list[Feature], Any]:
    try:
        graph = ox.graph_from_place(place, network_type="walk", retain_all=True)
        gdf = ox.features_from_place(place, tags=_FEATURE_TAGS)
    except Exception as exc:
        raise ScenarioError(
            f"city.place: could not download {place!r} through osmnx ({type(exc).__name__}: "
            f"{_short(exc)}). The machine may be offline, or the name unknown to the "
            f"geocoder; download an extract elsewhere and give it as city.path"
        ) from None
    features = []
    for _, row in gdf.iterrows():
        geom = row["geometry"]
        tags = {k: str(v) for k, v in row.items() if k != "geometry" and isinstance(v, str)}
        c = geom.representative_point() if geom.geom_type != "Point" else geom
        ring = np.asarray(geom.exterior.coords) if geom.geom_type == "Polygon" else None
        features.append(Feature(tags, float(c.x), float(c.y), ring))
    boundaries = None
    with contextlib.suppress(Exception):
        boundaries = ox.features_from_place(place, tags={"boundary": "administrative"})
    return graph, features, boundaries


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


# ---------------------------------------------------------------- tagged features
_FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "amenity": True,
    "shop": True,
    "office": True,
    "building": True,
    "leisure": ["park"],
    "place": ["square"],
    "railway": ["station", "halt", "subway_entrance"],
    "public_transport": ["station"],
    "aeroway": ["aerodrome", "terminal"],
    "craft": True,
}


def _interesting(tags: dict[str, str]) -> bool:
    return any(
        k in tags
        for k in (
            "amenity",
            "shop",
            "office",
            "building",
            "leisure",
            "place",
            "railway",
            "public_transport",
            "aeroway",
            "craft",
        )
    )


def place_type_of(tags: dict[str, str]) -> str | None:
    """The survsim place type of an OSM element's tags, or None."""
    amenity = tags.get("amenity", "")
    if amenity == "place_of_worship":
        return "place_of_worship"
    if amenity in ("school", "college", "university", "kindergarten"):
        return "school"
    if amenity in ("hospital", "clinic"):
        return "hospital"
    if amenity == "prison":
        return "prison"
    if tags.get("aeroway") in ("aerodrome", "terminal"):
        return "airport"
    if (
        tags.get("railway") in ("station", "halt", "subway_entrance")
        or tags.get("public_transport") == "station"
        or amenity == "bus_station"
    ):
        return "transit_hub"
    if amenity == "marketplace" or tags.get("place") == "square" or tags.get("leisure") == "park":
        return "plaza"
    if "shop" in tags or amenity in (
        "restaurant",
        "cafe",
        "fast_food",
        "bar",
        "pub",
        "pharmacy",
        "bank",
    ):
        return "shop"
    if (
        "office" in tags
        or "craft" in tags
        or tags.get("building") in ("office", "commercial", "industrial")
        or amenity in ("townhall", "courthouse", "police", "fire_station", "post_office")
    ):
        return "workplace"
    return None
