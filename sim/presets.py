"""Population presets. Every value carries its source."""

from __future__ import annotations

# The eight sex x race groups reported by NIST FRVT Part 3: Demographic Effects (NISTIR 8280,
# Grother, Ngan & Hanaoka 2019, Annex 15). Shares: US Census Bureau, 2020 Census Redistricting
# Data (P.L. 94-171), race alone: White 61.6%, Black or African American 12.4%, Asian 6.0%,
# American Indian and Alaska Native 1.1%. The remaining 18.9% (other races, two or more races)
# have no NIST category, so the four shares are rescaled to sum to 1 (an approximation stated in
# the report). Sex split: 50.8% female in the 2010 Census (156,964,212 of 308,745,538; the 2020
# share is about the same, not re-checked here), rounded to 50/50 because the difference is
# below the model's precision.
_RACE_SHARES = {"white": 0.616, "black": 0.124, "asian": 0.060, "amerindian": 0.011}
_RACE_LABELS = {
    "white": "White",
    "black": "Black",
    "asian": "Asian",
    "amerindian": "American Indian",
}


def _nist_sex_race() -> list[dict[str, object]]:
    total = sum(_RACE_SHARES.values())
    groups: list[dict[str, object]] = []
    for race, share in _RACE_SHARES.items():
        for sex, noun in (("male", "men"), ("female", "women")):
            groups.append(
                {
                    "name": f"{race}_{sex}",
                    "label": f"{_RACE_LABELS[race]} {noun}",
                    "share": round(share / total / 2, 6),
                }
            )
    # Put the rounding residue on the largest group so the shares sum to exactly 1.
    shares = [share / total / 2 for share in _RACE_SHARES.values() for _ in range(2)]
    residue = 1.0 - sum(round(s, 6) for s in shares)
    groups[0]["share"] = round(round(shares[0], 6) + residue, 6)
    return groups


GROUP_PRESETS: dict[str, list[dict[str, object]]] = {"nist_sex_race": _nist_sex_race()}

# Age bands, US Census Bureau 2020 (DP1): under 18 22.1%, 18-64 61.1%, 65 and over 16.8%.
AGE_BANDS_US2020 = {"child": 0.221, "adult": 0.611, "senior": 0.168}


# ---------------------------------------------------------------- watchlist compositions
# Police watchlists are drawn from custody and arrest records, not from the population. No
# published source gives the make-up of an actual face-recognition watchlist (R (Bridges) v CC
# South Wales Police [2019] EWHC 2341 (Admin): lists "primarily from a database of custody
# photographs", at most 2,000, under-18s "will not ordinarily feature"), so these presets are a
# custody proxy: the make-up of a year's arrests, by survsim's eight sex x race groups. Two
# assumptions apply to both: arrests are events, not people (repeat arrests weigh more), and
# custody images also keep people never charged.
#
# United States, 2018: FBI Uniform Crime Reports, Crime in the United States 2018, Table 43A
# (arrests by race, national; the offence rows summed: 7,710,900 arrests, White 5,319,654, Black
# 2,115,381, American Indian or Alaska Native 164,430, Asian 92,737, Native Hawaiian or Other
# Pacific Islander 18,698; the same sum reproduces the published 2015 total). Native Hawaiian
# and Pacific Islander arrests (0.24%) have no NIST group and are left out; Hispanic arrestees
# are counted within the race columns (mostly White), as the FBI does. Sex: 73% of arrests were
# of men (CIUS 2018 Table 42, as tabulated by Belknap, The Invisible Woman, Table 4.1). The FBI
# publishes race and sex separately, never crossed, so each race is split 73/27 (an assumption).
_US_ARRESTS_2018 = {"white": 5_319_654, "black": 2_115_381, "asian": 92_737, "amerindian": 164_430}
_US_MALE_SHARE_2018 = 0.73

# England and Wales, 2017/18: gov.uk Ethnicity facts and figures, "Arrests" (updated 10 February
# 2020): per 1,000 people, White 10, Black 35, men 22, women 4, White women 3, Black women 7;
# rates on 2011 Census populations: White 86.0%, Asian 7.5%, Black 3.3% (Mixed 2.2% and Other
# 1.0% have no NIST group and are left out). Assumptions: the Asian rate is not in our source
# and is taken as the White rate, 10 (the page: Asian and White rates "lower than average in
# almost every year"); Asian women are 15.9% of Asian arrests (the national share of women
# among arrests); every group is 51.04% female (2021 Census); no American Indian group exists
# in the census, so the preset gives it none. Check: with Mixed and Other kept, these figures
# give 78% White and 10.5% Black arrests, as the Home Office's 78% and 10% for 2016/17.
_EW_RATE_2018 = {"white": 10.0, "black": 35.0, "asian": 10.0}  # Asian: an assumption
_EW_POP_2011 = {"white": 0.860, "black": 0.033, "asian": 0.075}
_EW_FEMALE_RATE_2018 = {"white": 3.0, "black": 7.0}
_EW_FEMALE_POP = 0.5104
_EW_ASIAN_FEMALE_SHARE = 0.159  # an assumption (the national share of women among arrests)


def _us_arrests_2018() -> dict[str, float]:
    total = sum(_US_ARRESTS_2018.values())
    out: dict[str, float] = {}
    for race, n in _US_ARRESTS_2018.items():
        out[f"{race}_male"] = n / total * _US_MALE_SHARE_2018
        out[f"{race}_female"] = n / total * (1.0 - _US_MALE_SHARE_2018)
    return out


def _custody_england_wales_2018() -> dict[str, float]:
    weight = {r: _EW_RATE_2018[r] * _EW_POP_2011[r] for r in _EW_RATE_2018}
    out: dict[str, float] = {}
    for race, w in weight.items():
        if race in _EW_FEMALE_RATE_2018:
            female = _EW_FEMALE_RATE_2018[race] * _EW_POP_2011[race] * _EW_FEMALE_POP
        else:
            female = w * _EW_ASIAN_FEMALE_SHARE
        out[f"{race}_male"] = w - female
        out[f"{race}_female"] = female
    out["amerindian_male"] = out["amerindian_female"] = 0.0
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


WATCHLIST_PRESETS: dict[str, dict[str, float]] = {
    "arrests_us_2018": _us_arrests_2018(),
    "custody_england_wales_2018": _custody_england_wales_2018(),
}
