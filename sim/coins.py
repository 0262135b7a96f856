"""Every keyed coin of a run, declared once: what it decides and the identities that key it.

A keyed coin (:func:`sim.rng.keyed_uniform`) gives the same number for the same identities
whatever else happens in the run, which is what makes two policies comparable on one seed. Two
decisions must never share a coin: the crowd's capture chance drawn with the passage's coin would
make "caught in the crowd" and "caught walking past" the same event. So each field below is one
decision, used at one place in the code (``tests/test_rng.py`` checks both), and its purpose name
``coin.<field>`` is declared in :mod:`sim.rng`'s registry, which refuses a name twice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.rng import Streams, declare

_MEANING = {
    # Street cameras: a trip walking through a camera's view.
    "capture_passage": "a walker passing a street camera is caught (trip, camera)",
    "passage_position": "where in the view the frame is grabbed (trip, camera)",
    # Patrols: a walker meeting a body-cam officer or a patrol car.
    "patrol_stop": "an officer stops a walker they meet (trip, device)",
    "patrol_suspicion": "a stop counts as on suspicion, for scan = 'suspicion_only' (trip, device)",
    "capture_carcam": "a patrol car's camera catches a walker's face (trip, device)",
    # Gatherings: people standing in a crowd that a camera watches.
    "capture_crowd": "a camera watching a gathering catches a participant (trip, camera)",
    "crowd_time": "when during the stay the frame is grabbed (trip, camera)",
    "crowd_facing": "how far the face is turned in the crowd (trip, camera)",
    # Door cameras and closed facilities.
    "capture_door": "a door camera catches a person entering (trip, camera)",
    "verify_arrival": "a staff member's or visitor's one-to-one check passes (trip, camera)",
    "verify_inmate": "an inmate's door check or an impostor attempt passes (check, camera)",
    # The one-to-many search (sim.matching).
    "hit": "a listed person's capture is matched to their entry (trip, camera)",
    "false": "an unlisted face falsely matches some entry (trip, camera)",
    "claim_group": "the group of the entry a false match names (trip, camera)",
    "claim_entry": "which entry of that group it names (trip, camera)",
    "score": "the similarity score the system sees (trip, camera)",
    "lookalike_order": "how closely a person resembles the list's faces: which of the "
    "look-alike model's virtual people they are (person)",
    "lookalike_pick": "which entries of that group those look-alikes are (person, group, k)",
    # What the system does with captures.
    "link": "a retained capture is found by a later search for its owner (trip, camera)",
    "false_link": "a retained capture is falsely found by a later search for somebody else "
    "(trip, camera)",
    "false_link_group": "the group of the person it is falsely linked to (trip, camera)",
    "false_link_person": "which person of that group (trip, camera)",
    "label": "the demographic classifier's label of a face (trip, camera)",
    "review": "a human reviewer's verdict on an alert (trip, camera)",
}
for _name, _what in _MEANING.items():
    declare(f"coin.{_name}", _what)


@dataclass(frozen=True)
class Coins:
    """The key of each keyed coin of one run (see the module docstring)."""

    capture_passage: np.uint64
    passage_position: np.uint64
    patrol_stop: np.uint64
    patrol_suspicion: np.uint64
    capture_carcam: np.uint64
    capture_crowd: np.uint64
    crowd_time: np.uint64
    crowd_facing: np.uint64
    capture_door: np.uint64
    verify_arrival: np.uint64
    verify_inmate: np.uint64
    hit: np.uint64
    false: np.uint64
    claim_group: np.uint64
    claim_entry: np.uint64
    score: np.uint64
    lookalike_order: np.uint64
    lookalike_pick: np.uint64
    link: np.uint64
    false_link: np.uint64
    false_link_group: np.uint64
    false_link_person: np.uint64
    label: np.uint64
    review: np.uint64

    @classmethod
    def claim(cls, streams: Streams) -> Coins:
        """Every coin's key from the run's streams (each purpose claimed once)."""
        return cls(**{f.name: streams.key(f"coin.{f.name}") for f in dataclasses.fields(cls)})

    def match(self) -> dict[str, np.uint64]:
        """The keys :class:`sim.matching.Matcher` draws with."""
        return {
            k: getattr(self, k)
            for k in (
                "hit",
                "false",
                "claim_group",
                "claim_entry",
                "score",
                "lookalike_order",
                "lookalike_pick",
            )
        }

    def false_links(self) -> dict[str, np.uint64]:
        """The keys of the retrospective search's false links, for
        :meth:`sim.matching.Matcher.false_matches` (a matcher whose 'list' is every resident:
        whether a kept face falsely matches somebody, whose group and which person)."""
        return {
            "false": self.false_link,
            "claim_group": self.false_link_group,
            "claim_entry": self.false_link_person,
        }


assert set(_MEANING) == {f.name for f in dataclasses.fields(Coins)}, "one meaning per coin"
