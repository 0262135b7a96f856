"""Population presets. Every value carries its source."""

from __future__ import annotations

# The eight sex x race groups reported by NIST FRVT Part 3: Demographic Effects (NISTIR 8280,
# Grother, Ngan & Hanaoka 2019, Annex 15). Shares: US Census Bureau, 2020 Census Redistricting
# Data (P.L. 94-171), race alone: White 61.6%, Black or African American 12.4%, Asian 6.0%,
# American Indian and Alaska Native 1.1%. The remaining 18.9% (other races, two or more races)
# have no NIST category, so the four shares are rescaled to sum to 1 (an approximation stated in
# the report). Sex split: 50.8% female (Census 2020 DP1, female persons), rounded to 50/50 here
# because the difference is below the model's precision.
_RACE_SHARES = {"white": 0.616, "black": 0.124, "asian": 0.060, "amerindian": 0.011}
_RACE_LABELS = {"white": "White", "black": "Black", "asian": "Asian",
                "amerindian": "American Indian"}


def _nist_sex_race() -> list[dict[str, object]]:
    total = sum(_RACE_SHARES.values())
    groups: list[dict[str, object]] = []
    for race, share in _RACE_SHARES.items():
        for sex, noun in (("male", "men"), ("female", "women")):
            groups.append({
                "name": f"{race}_{sex}",
                "label": f"{_RACE_LABELS[race]} {noun}",
                "share": round(share / total / 2, 6),
            })
    # Put the rounding residue on the largest group so the shares sum to exactly 1.
    shares = [share / total / 2 for share in _RACE_SHARES.values() for _ in range(2)]
    residue = 1.0 - sum(round(s, 6) for s in shares)
    groups[0]["share"] = round(round(shares[0], 6) + residue, 6)
    return groups


GROUP_PRESETS: dict[str, list[dict[str, object]]] = {"nist_sex_race": _nist_sex_race()}

# Age bands, US Census Bureau 2020 (DP1): under 18 22.1%, 18-64 61.1%, 65 and over 16.8%.
AGE_BANDS_US2020 = {"child": 0.221, "adult": 0.611, "senior": 0.168}
