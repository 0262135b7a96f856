"""The Arrow schemas of every output table: the contract between the engine and analysis.

One place owns table names, columns, types, units and meanings (house rule: a record table is the
contract). ``view`` says whose knowledge a table is: ``truth`` (what really happened, known only to
the simulator), ``system`` (what the surveillance system observed and decided) or ``setup`` (the
deployment itself, known to both).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyarrow as pa

SCHEMA_VERSION = "1"

# The run directory (the contract's other half): run.json says whether the run finished
# ("state": "running", "interrupted", "failed" or "complete"); every HTML page survsim writes
# carries PAGE_GENERATOR in its head, so survsim replaces its own pages and never a user's file.
RUN_MARKER = "run.json"
PAGE_GENERATOR = "<meta name='generator' content='survsim'>"


# The values of the enumerated columns, declared once: the modules that write or read them
# take them from here (tests/test_architecture.py checks written runs hold no other value).
AGE_BANDS: tuple[str, ...] = ("child", "adult", "senior")
PURPOSES: tuple[str, ...] = (
    "work",
    "school",
    "errand",
    "leisure",
    "home",
    "airport",
    "visit",
    "gathering",
)
PLACE_TYPES: tuple[str, ...] = (
    "workplace",
    "shop",
    "transit_hub",
    "plaza",
    "place_of_worship",
    "school",
    "hospital",
    "airport",
    "prison",
)
CAMERA_KINDS: tuple[str, ...] = ("cctv", "van", "entry_point", "bodycam", "carcam", "facility")
REVIEW_VERDICTS: tuple[str, ...] = ("confirmed", "rejected", "dropped", "auto_acted")
SUBJECTS: tuple[str, ...] = ("inmate", "staff", "visitor", "impostor")
IDENTITY_SOURCES: tuple[str, ...] = ("alert", "retained")
ASSEMBLY_FLAGS: tuple[str, ...] = ("listed", "label")
STOP_OUTCOMES: tuple[str, ...] = ("arrest", "wrongful_stop", "missed")
# The values code compares with, by name (a misspelt name fails at import, a string never).
CONFIRMED, REJECTED, DROPPED, AUTO_ACTED = REVIEW_VERDICTS
ARREST, WRONGFUL_STOP, MISSED = STOP_OUTCOMES
INMATE, STAFF, VISITOR, IMPOSTOR = SUBJECTS
FROM_ALERT, RETAINED = IDENTITY_SOURCES
LISTED, LABEL = ASSEMBLY_FLAGS


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    unit: str
    meaning: str
    values: tuple[str, ...] = ()  # an enumerated column's values (a dictionary column)


@dataclass(frozen=True, eq=False)  # hashed by identity: a cheap key for the schema cache
class Table:
    name: str
    view: str  # "truth", "system" or "setup"
    meaning: str
    columns: tuple[Column, ...]

    def schema(self, metadata: dict[str, str] | None = None) -> pa.Schema:
        plain = _plain_schema(self)  # built once per table (the engine asks every batch)
        if not metadata:
            return plain
        return plain.with_metadata(
            {**plain.metadata, **{k.encode(): v.encode() for k, v in metadata.items()}}
        )


@functools.cache
def _plain_schema(table: Table) -> pa.Schema:
    fields = [
        pa.field(c.name, c.type, nullable=False, metadata={"unit": c.unit, "meaning": c.meaning})
        for c in table.columns
    ]
    meta = {
        "table": table.name,
        "view": table.view,
        "meaning": table.meaning,
        "schema_version": SCHEMA_VERSION,
    }
    return pa.schema(fields, metadata=meta)


_DICT = pa.dictionary(pa.int16(), pa.string())

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "groups",
            "truth",
            "The demographic groups of the population.",
            (
                Column("group_id", pa.int16(), "", "Group index used by other tables."),
                Column("group", pa.string(), "", "Group identifier."),
                Column("label", pa.string(), "", "Readable name."),
                Column("share", pa.float64(), "1", "Scenario share of the population."),
                Column("model_group", pa.string(), "", "Face-match model group whose rates apply."),
                Column(
                    "classifier_label",
                    pa.string(),
                    "",
                    "The label a correct demographic classifier gives this group ('' if none).",
                ),
            ),
        ),
        Table(
            "people",
            "truth",
            "Everyone who lives in the city.",
            (
                Column("person_id", pa.int32(), "", "Person index."),
                Column("group_id", pa.int16(), "", "Demographic group (see groups)."),
                Column("age_band", _DICT, "", "child, adult or senior.", AGE_BANDS),
                Column("home_node", pa.int32(), "", "Street node of the home."),
                Column("work_node", pa.int32(), "", "Workplace or school node; -1 if none."),
                Column("speed_mps", pa.float32(), "m/s", "Walking speed."),
                Column("is_listed", pa.bool_(), "", "On the watchlist (truth)."),
            ),
        ),
        Table(
            "watchlist",
            "truth",
            "Watchlist entries and who they really are.",
            (
                Column("watchlist", _DICT, "", "Which list ('main' is [watchlist])."),
                Column("entry_id", pa.int32(), "", "Identity on the list."),
                Column("group_id", pa.int16(), "", "Group of the listed person."),
                Column(
                    "person_id", pa.int32(), "", "The listed person in the city; -1 if not in it."
                ),
            ),
        ),
        Table(
            "cameras",
            "setup",
            "Fixed cameras and their view.",
            (
                Column("camera_id", pa.int32(), "", "Camera index."),
                Column("deployment", _DICT, "", "Name of the deployment it belongs to."),
                Column("node", pa.int32(), "", "Street node it stands at."),
                Column("x_m", pa.float64(), "m", "Projected x."),
                Column("y_m", pa.float64(), "m", "Projected y."),
                Column(
                    "heading_deg",
                    pa.float64(),
                    "deg",
                    "Direction of view, counter-clockwise from +x.",
                ),
                Column("fov_deg", pa.float64(), "deg", "Horizontal field of view."),
                Column("range_m", pa.float64(), "m", "Distance at which faces are usable."),
                Column("height_m", pa.float64(), "m", "Mounting height above the street."),
                Column(
                    "kind",
                    _DICT,
                    "",
                    "cctv, van, entry_point (door camera), bodycam, carcam or facility.",
                    CAMERA_KINDS,
                ),
                Column("watchlist", _DICT, "", "The list it searches."),
                Column(
                    "active_from_s", pa.float64(), "s", "Daily start of operation (time of day)."
                ),
                Column("active_to_s", pa.float64(), "s", "Daily end of operation (time of day)."),
            ),
        ),
        Table(
            "trips",
            "truth",
            "Every trip, in departure order.",
            (
                Column("trip_id", pa.int64(), "", "Trip index (stable across policies)."),
                Column("person_id", pa.int32(), "", "Who travels."),
                Column("depart_s", pa.float64(), "s", "Departure time since the start."),
                Column("arrive_s", pa.float64(), "s", "Arrival time since the start."),
                Column("origin_node", pa.int32(), "", "Start node."),
                Column("dest_node", pa.int32(), "", "End node."),
                Column("purpose", _DICT, "", "work, school, errand, leisure or home.", PURPOSES),
                Column("length_m", pa.float64(), "m", "Route length."),
            ),
        ),
        Table(
            "captures",
            "truth",
            "Faces captured by a camera, in time order.",
            (
                Column("capture_id", pa.int64(), "", "Capture index, in time order."),
                Column("t_s", pa.float64(), "s", "Time of the capture."),
                Column("camera_id", pa.int32(), "", "Camera that captured the face."),
                Column("person_id", pa.int32(), "", "Whose face it really is (truth)."),
                Column("trip_id", pa.int64(), "", "Trip during which it was captured."),
                Column("quality", pa.float32(), "1", "Capture quality in [0, 1]."),
                Column("distance_m", pa.float32(), "m", "Horizontal distance from the camera."),
                Column("x_m", pa.float32(), "m", "Where the person was (projected x)."),
                Column("y_m", pa.float32(), "m", "Where the person was (projected y)."),
            ),
        ),
        Table(
            "alerts",
            "system",
            "Match alerts the system raised, in time order.",
            (
                Column("alert_id", pa.int64(), "", "Alert index, in time order."),
                Column("t_s", pa.float64(), "s", "Time the alert was raised."),
                Column("capture_id", pa.int64(), "", "The capture that matched."),
                Column("camera_id", pa.int32(), "", "Camera of that capture."),
                Column("watchlist", _DICT, "", "The list searched."),
                Column("entry_id", pa.int32(), "", "Watchlist identity the system claims it saw."),
                Column(
                    "score", pa.float32(), "1", "Similarity score of the match, above threshold."
                ),
            ),
        ),
        Table(
            "reviews",
            "system",
            "Human review of alerts, in order of verdict.",
            (
                Column("alert_id", pa.int64(), "", "The alert reviewed."),
                Column("t_s", pa.float64(), "s", "Time of the verdict."),
                Column("wait_s", pa.float64(), "s", "Time the alert waited for a reviewer."),
                Column(
                    "verdict",
                    _DICT,
                    "",
                    "confirmed, rejected, dropped (queue full) or auto_acted "
                    "(queue full, acted on unreviewed).",
                    REVIEW_VERDICTS,
                ),
            ),
        ),
        Table(
            "patrol_stops",
            "truth",
            "People stopped by patrol officers (body-worn cameras).",
            (
                Column("patrol_stop_id", pa.int64(), "", "Stop index, in time order."),
                Column("t_s", pa.float64(), "s", "Time of the stop."),
                Column("camera_id", pa.int32(), "", "The officer's body-worn camera."),
                Column("person_id", pa.int32(), "", "Who was stopped."),
                Column("node", pa.int32(), "", "Where (street node)."),
                Column("scanned", pa.bool_(), "", "Whether the stop included a face scan."),
            ),
        ),
        Table(
            "verifications",
            "truth",
            "One-to-one face checks at the doors of closed facilities.",
            (
                Column("verification_id", pa.int64(), "", "Check index, in time order."),
                Column("t_s", pa.float64(), "s", "Time of the check."),
                Column("camera_id", pa.int32(), "", "The facility's door camera."),
                Column(
                    "subject",
                    _DICT,
                    "",
                    "inmate, staff, visitor or impostor (someone posing as another).",
                    SUBJECTS,
                ),
                Column("person_id", pa.int32(), "", "The resident checked (-1 for inmates)."),
                Column("inmate_id", pa.int32(), "", "The inmate checked (-1 for residents)."),
                Column("group_id", pa.int16(), "", "Group of the person checked."),
                Column(
                    "genuine", pa.bool_(), "", "Whether they claimed their own identity (truth)."
                ),
                Column("accepted", pa.bool_(), "", "Whether the door let them through (system)."),
            ),
        ),
        Table(
            "identity_log",
            "system",
            "Captures the system holds, linked to an identity: "
            "matches (alerts), and retained captures a retrospective search for that face finds.",
            (
                Column("capture_id", pa.int64(), "", "The capture."),
                Column("t_s", pa.float64(), "s", "Time of the capture."),
                Column("camera_id", pa.int32(), "", "Where (camera)."),
                Column(
                    "identity",
                    pa.int32(),
                    "",
                    "The person whose face the entry is linked to (the searched face).",
                ),
                Column(
                    "source",
                    _DICT,
                    "",
                    "alert (a match against a list) or retained (found by "
                    "a retrospective search of kept captures).",
                    IDENTITY_SOURCES,
                ),
                Column("kept_until_s", pa.float64(), "s", "When the capture is deleted."),
            ),
        ),
        Table(
            "gatherings",
            "truth",
            "Gatherings that really took place.",
            (
                Column("gathering_id", pa.int32(), "", "Gathering index."),
                Column("name", pa.string(), "", "Its name in the scenario."),
                Column("node", pa.int32(), "", "Where (street node)."),
                Column("x_m", pa.float64(), "m", "Projected x."),
                Column("y_m", pa.float64(), "m", "Projected y."),
                Column("start_s", pa.float64(), "s", "Start."),
                Column("end_s", pa.float64(), "s", "End."),
                Column("size", pa.int32(), "", "Participants who came."),
                Column("routine", pa.bool_(), "", "An everyday crowd (market, rush hour)."),
            ),
        ),
        Table(
            "gathering_participants",
            "truth",
            "Who took part in each gathering.",
            (
                Column("gathering_id", pa.int32(), "", "The gathering."),
                Column("person_id", pa.int32(), "", "A participant."),
            ),
        ),
        Table(
            "assembly_alerts",
            "system",
            "Assemblies the system's detector raised.",
            (
                Column("assembly_id", pa.int64(), "", "Alarm index, in time order."),
                Column("t_s", pa.float64(), "s", "Time of the alarm."),
                Column("x_m", pa.float64(), "m", "Where (projected x of the camera)."),
                Column("y_m", pa.float64(), "m", "Where (projected y)."),
                Column("n_flagged", pa.int32(), "", "Flagged people counted."),
                Column(
                    "flag",
                    _DICT,
                    "",
                    "listed (watchlist matches) or label (classifier).",
                    ASSEMBLY_FLAGS,
                ),
            ),
        ),
        Table(
            "assembly_members",
            "system",
            "The flagged sightings that raised each assembly alarm.",
            (
                Column("assembly_id", pa.int64(), "", "The alarm (assembly_alerts)."),
                Column("t_s", pa.float64(), "s", "Time of the alarm."),
                Column(
                    "capture_id",
                    pa.int64(),
                    "",
                    "A flagged sighting within the alarm's radius and window (captures).",
                ),
            ),
        ),
        Table(
            "nodes",
            "setup",
            "The street graph's crossings.",
            (
                Column("node", pa.int32(), "", "Node index."),
                Column("x_m", pa.float64(), "m", "Projected x."),
                Column("y_m", pa.float64(), "m", "Projected y."),
                Column("district", _DICT, "", "District name."),
            ),
        ),
        Table(
            "edges",
            "setup",
            "The street graph's streets (undirected), with their shapes.",
            (
                Column("edge", pa.int32(), "", "Edge index."),
                Column("u", pa.int32(), "", "One end (node index, the smaller)."),
                Column("v", pa.int32(), "", "The other end (node index)."),
                Column("length_m", pa.float64(), "m", "Length along the street."),
                Column("x_m", pa.list_(pa.float64()), "m", "Projected x of the street's vertices."),
                Column("y_m", pa.list_(pa.float64()), "m", "Projected y of the street's vertices."),
            ),
        ),
        Table(
            "review_queue",
            "system",
            "Alerts waiting for a reviewer, at every change.",
            (
                Column("t_s", pa.float64(), "s", "Time of the change."),
                Column("waiting", pa.int32(), "", "Alerts waiting."),
            ),
        ),
        Table(
            "stops",
            "truth",
            "Officers acting on alerts: who they stopped and what happened.",
            (
                Column("stop_id", pa.int64(), "", "Intervention index, in time order."),
                Column("alert_id", pa.int64(), "", "The alert acted on."),
                Column(
                    "t_s", pa.float64(), "s", "Time the officer reached the person (or the place)."
                ),
                Column(
                    "person_id", pa.int32(), "", "Who was stopped (the person whose face alerted)."
                ),
                Column(
                    "outcome",
                    _DICT,
                    "",
                    "arrest (the listed person), wrongful_stop (someone "
                    "else) or missed (gone when the officer arrived).",
                    STOP_OUTCOMES,
                ),
                Column("duration_s", pa.float64(), "s", "How long the person was held."),
                Column("response_s", pa.float64(), "s", "Time from alert to reaching the person."),
            ),
        ),
        Table(
            "labels",
            "system",
            "Demographic label the system's classifier gave each face.",
            (
                Column("capture_id", pa.int64(), "", "The capture."),
                Column("t_s", pa.float64(), "s", "Time of the capture."),
                Column("camera_id", pa.int32(), "", "Camera of the capture."),
                Column("label", _DICT, "", "The label (e.g. male/female, or an ethnicity)."),
            ),
        ),
    )
}

# Tables that have a time column, and its name: rows never go back in time.
TIME_COLUMNS: dict[str, str] = {
    "trips": "depart_s",
    "captures": "t_s",
    "alerts": "t_s",
    "labels": "t_s",
    "reviews": "t_s",
    "review_queue": "t_s",
    "stops": "t_s",
    "patrol_stops": "t_s",
    "verifications": "t_s",
    "identity_log": "t_s",
    "assembly_alerts": "t_s",
    "assembly_members": "t_s",
}
