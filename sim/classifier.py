"""Demographic classifiers: the label a system puts on a captured face.

Systems that "alert when members of group G gather" first label each face with a sex or an
ethnicity. A :class:`Classifier` is a confusion matrix: for each true (model) group, the chance of
each label. Labels are drawn with keyed coins, so a given capture always gets the same label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.facematch import NIST_GROUPS


@dataclass(frozen=True)
class Classifier:
    """A confusion matrix from true groups (rows) to labels (columns)."""

    name: str
    attribute: str  # "sex" or "ethnicity"
    groups: tuple[str, ...]
    labels: tuple[str, ...]
    confusion: tuple[tuple[float, ...], ...]
    truth: tuple[str, ...]  # the correct label of each group
    caveats: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def matrix(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.confusion, np.float64)

    def error_by_group(self) -> npt.NDArray[np.float64]:
        """Chance that a face of each group gets a wrong label."""
        m = self.matrix()
        right = np.array([self.labels.index(t) for t in self.truth])
        return 1.0 - m[np.arange(len(self.groups)), right]

    def classify(self, group: npt.ArrayLike, u: npt.ArrayLike) -> npt.NDArray[np.int16]:
        """Label index for faces of model groups ``group``, using uniforms ``u``."""
        cdf = np.cumsum(self.matrix(), axis=1)
        rows = cdf[np.asarray(group, np.int64)]
        label = (np.asarray(u, np.float64)[:, None] >= rows).sum(axis=1)
        return np.minimum(label, len(self.labels) - 1).astype(np.int16)


def _sex(group: str) -> str:
    return group.rsplit("_", 1)[1]


def _race(group: str) -> str:
    return group.rsplit("_", 1)[0]


# Gender Shades (Buolamwini & Gebru 2018, Proceedings of FAT* 2018, Table 4): gender
# classification error for lighter male / lighter female / darker male / darker female faces
# (Fitzpatrick skin types I-III lighter, IV-VI darker). docs/calibration.md section 6.
_GENDER_SHADES = {
    "ibm": (0.003, 0.071, 0.120, 0.347),
    "faceplusplus": (0.008, 0.060, 0.007, 0.345),
    "microsoft": (0.000, 0.017, 0.060, 0.208),
}
# NIST's race groups mapped to Gender Shades' skin-type bins. White -> lighter, Black -> darker
# follow the paper's subjects; Asian -> lighter and American Indian -> darker are assumptions (the
# paper does not report by race).
_SKIN = {"white": "lighter", "asian": "lighter", "black": "darker", "amerindian": "darker"}


def gender_shades(vendor: str) -> Classifier:
    lm, lf, dm, df = _GENDER_SHADES[vendor]
    err = {
        ("lighter", "male"): lm,
        ("lighter", "female"): lf,
        ("darker", "male"): dm,
        ("darker", "female"): df,
    }
    rows = []
    for g in NIST_GROUPS:
        e = err[(_SKIN[_race(g)], _sex(g))]
        rows.append((1 - e, e) if _sex(g) == "male" else (e, 1 - e))
    return Classifier(
        name=f"gender_shades_{vendor}",
        attribute="sex",
        groups=NIST_GROUPS,
        labels=("male", "female"),
        confusion=tuple(rows),
        truth=tuple(_sex(g) for g in NIST_GROUPS),
        caveats=(
            "Gender Shades measured 2017 commercial APIs on parliamentarians' portraits; "
            "errors on live video are likely higher.",
            "Asian faces are taken as 'lighter' and American Indian faces as 'darker' "
            "(assumption: the paper reports by skin type, not race).",
        ),
        sources=(
            "Buolamwini & Gebru (2018), Gender Shades, Proceedings of Machine Learning "
            "Research 81:77-91",
        ),
    )


def ethnicity(
    accuracy: float | Mapping[str, float],
    *,
    name: str = "ethnicity",
    groups: Sequence[str] = NIST_GROUPS,
) -> Classifier:
    """A configurable ethnicity classifier: right with ``accuracy`` (overall or per group),
    wrong labels spread evenly over the other ethnicities."""
    races = tuple(dict.fromkeys(_race(g) for g in groups))
    rows = []
    for g in groups:
        a = (
            accuracy.get(g, accuracy.get(_race(g), 1.0))
            if isinstance(accuracy, Mapping)
            else float(accuracy)
        )
        wrong = (1.0 - a) / max(len(races) - 1, 1)
        rows.append(tuple(a if r == _race(g) else wrong for r in races))
    return Classifier(
        name=name,
        attribute="ethnicity",
        groups=tuple(groups),
        labels=races,
        confusion=tuple(rows),
        truth=tuple(_race(g) for g in groups),
        caveats=(
            "A configurable classifier: its accuracy is the scenario "
            "author's assumption, not a measurement.",
        ),
    )


CLASSIFIERS: dict[str, Classifier] = {
    **{f"gender_shades_{v}": gender_shades(v) for v in _GENDER_SHADES},
    # No published per-group ethnicity-classification accuracy is calibrated here yet; 0.9 is a
    # placeholder value for teaching that scenario files should override.
    "ethnicity_90": ethnicity(0.9, name="ethnicity_90"),
}


def classifier_for(
    model: str,
    model_groups: Sequence[str],
    *,
    accuracy: float = 0.9,
    accuracy_by_group: Mapping[str, float] | None = None,
) -> Classifier:
    """The classifier a scenario asks for, over the face-match model's groups."""
    if model == "ethnicity":
        given = dict(accuracy_by_group or {})
        # A group's own entry wins, then its ethnicity's, then the overall accuracy.
        acc = {g: given.get(g, given.get(_race(g), accuracy)) for g in model_groups}
        return ethnicity(acc, name="ethnicity", groups=model_groups)
    return CLASSIFIERS[model]
