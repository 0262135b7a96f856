"""Human review of alerts: a reviewer with an accuracy of their own.

A reviewer compares the captured face with the watchlist photo and confirms or rejects the alert.
They reject a false alert with probability ``p_reject_false`` (lower when the two faces are of the
same group, since look-alikes are harder to tell apart) and wrongly reject a true alert with
probability ``p_reject_true``. Queueing (how many reviewers, how long a review takes) belongs to
the deployment policy; this module only decides verdicts, with keyed coins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Reviewer:
    """Verdict probabilities of a human reviewer.

    Attributes
    ----------
    p_reject_false_same_group
        Chance of rejecting a false alert when the captured person and the claimed identity are of
        the same group.
    p_reject_false_other_group
        The same when they are of different groups (easier to see the mismatch).
    p_reject_true
        Chance of wrongly rejecting a true alert.
    """

    name: str
    p_reject_false_same_group: float
    p_reject_false_other_group: float
    p_reject_true: float
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def confirms(
        self, is_true: npt.ArrayLike, same_group: npt.ArrayLike, u: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """Whether each alert is confirmed (uniforms ``u`` decide)."""
        t = np.asarray(is_true, bool)
        same = np.asarray(same_group, bool)
        p_reject = np.where(
            t,
            self.p_reject_true,
            np.where(same, self.p_reject_false_same_group, self.p_reject_false_other_group),
        )
        return np.asarray(np.asarray(u, np.float64) >= p_reject, bool)


REVIEWERS: dict[str, Reviewer] = {
    # White, Kemp, Jenkins, Matheson & Burton (2014), "Passport officers' errors in face
    # matching", PLoS ONE 9(8): e103510: officers accepted 14% of fraudulent photos (foils chosen
    # to resemble the holder: same sex and ethnicity) and rejected about 6% of valid ones
    # (6.5% used here; secondary reports round it to 6%: uncertain in the last digit).
    # Other-group false alerts are rejected with 0.98: an assumption (an obvious mismatch of sex
    # or ethnicity is rarely missed), not a measurement.
    "passport_officers_2014": Reviewer(
        name="passport_officers_2014",
        p_reject_false_same_group=0.86,
        p_reject_false_other_group=0.98,
        p_reject_true=0.065,
        caveats=(
            "Measured on photo-to-person matching at a passport desk, not on CCTV stills; "
            "review of low-quality video frames is likely worse.",
            "The 0.98 rejection of other-group false alerts is an assumption.",
        ),
        sources=(
            "White et al. (2014), Passport officers' errors in face matching, PLoS ONE "
            "9(8): e103510",
        ),
    ),
    # A reviewer who confirms everything: what 'human in the loop' means when reviewers defer to
    # the machine (automation bias). A counterfactual, not a measurement.
    "rubber_stamp": Reviewer(
        name="rubber_stamp",
        p_reject_false_same_group=0.0,
        p_reject_false_other_group=0.0,
        p_reject_true=0.0,
        caveats=("A counterfactual: every alert is confirmed.",),
    ),
}
