"""The classroom's scenarios, controls and lessons.

A preset is one of the shipped scenario files made classroom-sized (a small capital of a few
thousand people, one day) by overrides. The page's controls become more overrides; everything
goes through :func:`sim.scenario.load_scenario`, the same validation as files get. The browser
never names a file: it sends a preset key, looked up here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# A small capital: 6 rings of 220 m (a town about 2.6 km across), 8 avenues, fewer places.
_SMALL_CITY: dict[str, Any] = {
    "city.rings": 6,
    "city.centre_rings": 1,
    "city.places.workplaces": 60,
    "city.places.shops": 50,
    "city.places.transit_hubs": 4,
    "city.places.plazas": 3,
    "city.places.places_of_worship": 6,
    "city.places.schools": 5,
    "city.places.hospitals": 1,
    "duration_h": 24,
    "watchlist.present": 3,
}


# The page's own limits: its sliders go no further, and the server refuses anything beyond
# them whatever a request says (a classroom run stays classroom-sized: about a second).
LIMITS: dict[str, tuple[float, float]] = {
    "people": (1000, 8000),
    "cameras": (0, 200),
    "threshold": (0.50, 0.75),
    "watchlist": (50, 2000),
    "retention_days": (0, 30),
}
NAMES = {
    "people": "people in town",
    "cameras": "cameras",
    "threshold": "the match threshold",
    "watchlist": "people on the watchlist",
    "retention_days": "days unmatched faces are kept",
}


def public_message(text: str) -> str:
    """A message fit for the page: no path of the server's files in it."""
    for folder in (str(SCENARIOS) + "/", str(SCENARIOS.parent) + "/", str(SCENARIOS)):
        text = text.replace(folder, "")
    return text


@dataclass(frozen=True)
class Controls:
    """What the page's controls say (validated again by the scenario models)."""

    preset: str = "capital"
    people: int = 3000
    cameras: int = 60
    threshold: float = 0.58
    watchlist: int = 1000
    review: bool = False
    retention_days: float = 0.0
    exclusion: bool = False

    def check(self) -> Controls:
        """These controls, or ValueError naming the first value outside the page's limits
        (the preset's own, for the cameras of the body-cam preset)."""
        for key, (lo, hi) in LIMITS.items():
            v = getattr(self, key)
            if key == "cameras" and self.preset in PRESETS:
                lo = max(lo, PRESETS[self.preset].cameras_min)
            if not (lo <= v <= hi):  # also refuses nan
                raise ValueError(
                    f"{NAMES[key]} must be between {lo:,g} and {hi:,g} (the page's limits); "
                    f"got {v:,g}"
                )
        return self


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    file: str
    blurb: str
    camera_key: str | None  # the override the "cameras" slider sets (None: no cameras)
    fixed: dict[str, Any] = field(default_factory=dict)
    defaults: Controls = Controls()  # what the controls show when the preset is picked
    cameras_min: int = 0  # the cameras slider's lowest value for this preset


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "capital",
            "Capital CCTV",
            "capital_cctv.toml",
            "Live face recognition on the city's street cameras, searching a watchlist.",
            "deployment.0.count",
        ),
        Preset(
            "ban",
            "Ban",
            "ban.toml",
            "Face recognition banned: the cameras record nothing for the system.",
            None,
            defaults=Controls(preset="ban"),
        ),
        Preset(
            "bodycam",
            "Body-cam stops",
            "bodycam_stops.toml",
            "Officers on foot patrol scan the face of everyone they stop; some groups are "
            "stopped more often.",
            "deployment.0.officers",
            # Enough stops in a classroom day (officers x 14 h x 1) for the groups' stop rates
            # to be told apart; the scenario file's 0.5 an hour is for the full capital.
            {"deployment.0.beat_nodes": 6, "deployment.0.stops_per_officer_hour": 1.0},
            Controls(preset="bodycam", cameras=30),
            cameras_min=10,  # officers: the scenario needs at least one
        ),
        Preset(
            "protest",
            "Protest",
            "capital_protest.toml",
            "A protest at the Central Plaza under the camera network, with assembly analytics.",
            "deployment.0.count",
            {
                "gathering.0.size": 400,
                "gathering.0.watchlisted": 4,
                "gathering.1.size": 150,
                "gathering.1.place": "plaza",
            },
            Controls(preset="protest", retention_days=30),
        ),
        Preset(
            "minority",
            "Minority alarm",
            "minority_alarm.toml",
            "An ethnicity classifier raises an alarm when members of a minority gather.",
            "deployment.0.count",
            {"gathering.0.size": 150},
            Controls(preset="minority", retention_days=30),
        ),
        Preset(
            "regulated",
            "Regulated",
            "capital_cctv_regulated.toml",
            "A higher threshold, human review, officers dispatched, no retention, and no "
            "cameras near places of worship, schools and hospitals.",
            "deployment.0.count",
            defaults=Controls(preset="regulated", threshold=0.64, review=True, exclusion=True),
        ),
    )
}


def overrides(c: Controls) -> tuple[Path, dict[str, Any]]:
    """The scenario file and the overrides for a set of controls.

    Raises KeyError for a preset that does not exist (the page only offers those that do).
    """
    p = PRESETS[c.preset]
    out: dict[str, Any] = dict(_SMALL_CITY)
    out.update(p.fixed)
    out["population.people"] = c.people
    out["watchlist.size"] = c.watchlist
    out["governance.threshold"] = c.threshold
    out["governance.retention_days"] = c.retention_days
    if p.camera_key is not None:
        out[p.camera_key] = c.cameras
    if c.review:
        out["governance.review.enabled"] = True
    if c.exclusion:
        out["governance.exclusion_zones"] = [
            {"place_types": ["place_of_worship", "school", "hospital"], "buffer_m": 100.0}
        ]
    elif p.key == "regulated":
        out["governance.exclusion_zones"] = []
    if p.key == "regulated" and not c.review:
        out["governance.review.enabled"] = False
    return SCENARIOS / p.file, out


@dataclass(frozen=True)
class Lesson:
    title: str
    text: str
    question: str
    controls: Controls
    look_at: str


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "1. Base rates",
        "A face-recognition system compares every passing face with every face on its "
        "watchlist. Each comparison is almost always right, but thousands of innocent faces "
        "pass the cameras for every person on the list who does.",
        "The system is very accurate per comparison. Out of every 100 alerts, how many "
        "do you think point at the right person?",
        Controls(preset="capital", people=3000, cameras=60, threshold=0.58, watchlist=1000),
        "Watch the counters: compare 'true alerts' with 'false alerts'.",
    ),
    Lesson(
        "2. Bias by group",
        "The same algorithm makes more false matches for some groups than for others "
        "(NIST FRVT 2019, NISTIR 8280). Everyone in town walks past the same cameras.",
        "Which group is falsely flagged most often, and how many times as often as White "
        "men? Does a stricter threshold close the gap?",
        Controls(preset="capital", people=5000, cameras=100, threshold=0.57, watchlist=1000),
        "Watch the bars: false alerts per 1,000 faces captured, by group (grey: too few to "
        "tell). Then raise the threshold to 0.62 and run again: the table below the map keeps "
        "both runs, before and after.",
    ),
    Lesson(
        "3. Assemblies and tracking",
        "About 400 people join a protest at the Central Plaza. The cameras capture faces in the "
        "crowd; kept captures can be searched later to name who was there.",
        "How many protesters can the system name afterwards when captures are kept for 30 "
        "days? And with no retention?",
        Controls(
            preset="protest",
            people=3000,
            cameras=60,
            threshold=0.58,
            watchlist=1000,
            retention_days=30,
        ),
        "Watch 'at the protest, named by the system' (it starts when the protest does, at 18:00) "
        "and the purple assembly alarms; then set retention to 0 and run again.",
    ),
)
