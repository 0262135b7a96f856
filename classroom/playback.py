"""The playhead: which simulated moment a viewer sees, under play, pause, step, speed and reset.

The playhead moves at ``seconds_per_day`` of wall time per simulated day while playing and
stands still while paused. It never passes what the engine has computed (nor the end of the
run): a playhead that catches up with the computation waits there. The wall clock is passed in
(``now``) so that tests can drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.units import DAY

STEP_S = 3600.0  # one press of Step: one simulated hour


@dataclass
class Playhead:
    seconds_per_day: float  # wall seconds per simulated day; 0: instant (straight to the end)
    playing: bool = True
    anchor_s: float = 0.0  # the simulated time at ``anchor_wall``
    anchor_wall: float | None = None  # when the playhead last started moving (None: not yet)

    def at(self, now: float, limit_s: float) -> float:
        """The simulated time shown at wall time ``now``, at most ``limit_s``."""
        t = self.anchor_s
        if self.playing and self.anchor_wall is not None:
            if self.seconds_per_day <= 0:
                t = math.inf
            else:
                t += (now - self.anchor_wall) * DAY / self.seconds_per_day
        return float(max(0.0, min(t, limit_s)))

    def start(self, now: float) -> None:
        """The run is ready to be shown: a playing playhead starts moving now."""
        if self.anchor_wall is None:
            self.anchor_wall = now

    def _hold(self, now: float, limit_s: float) -> None:
        self.anchor_s = self.at(now, limit_s)
        if self.anchor_wall is not None:  # not started yet: it starts when the run is ready
            self.anchor_wall = now

    def play(self, now: float, limit_s: float) -> None:
        self._hold(now, limit_s)
        self.playing = True

    def pause(self, now: float, limit_s: float) -> None:
        self._hold(now, limit_s)
        self.playing = False

    def step(self, now: float, limit_s: float) -> None:
        """Pause, then move one simulated hour on (at most to the limit)."""
        self.pause(now, limit_s)
        self.anchor_s = min(self.anchor_s + STEP_S, limit_s)

    def set_speed(self, seconds_per_day: float, now: float, limit_s: float) -> None:
        self._hold(now, limit_s)
        self.seconds_per_day = seconds_per_day

    def reset(self, now: float) -> None:
        """Back to the start of the run, paused (press Play to watch it again)."""
        self.anchor_s = 0.0
        if self.anchor_wall is not None:
            self.anchor_wall = now
        self.playing = False
