"""Closed facilities: one-to-one checks at the doors of a prison."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.facematch import MODELS
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS, small_dict

PRISON = {
    "kind": "facility",
    "inmates": 400,
    "checks_per_inmate_per_day": 8,
    "staff": 40,
    "visitors_per_day": 30,
    "impostor_attempts_per_day": 2000.0,
    "quality": 0.9,
}


def prison(**over: object) -> sim.RunResult:
    d = small_dict(population={"people": 3000}, deployment=[{**PRISON, **over}])
    d["city"]["places"]["prisons"] = 1
    return sim.run(load_scenario(d))


def test_doors_refuse_genuine_people_at_the_model_rate() -> None:
    res = prison()
    v = res.tables["verifications"]
    subject = np.asarray(v.column("subject").to_pylist())
    assert {"inmate", "staff", "visitor", "impostor"} <= set(subject)
    inmate = subject == "inmate"
    assert inmate.sum() == pytest.approx(400 * 8, rel=0.1), "checks per inmate per day"
    model = MODELS["nist_frvt2019_median"]
    group = v.column("group_id").to_numpy()
    accepted = v.column("accepted").to_numpy()
    p_refuse = 1 - model.p_hit(0.58, group[inmate], np.full(inmate.sum(), 0.9))
    expected = float(p_refuse.sum())
    got = int((~accepted[inmate]).sum())
    assert got == pytest.approx(expected, abs=4 * np.sqrt(expected) + 1)
    s = res.summary
    assert s["false_rejects"] == int((v.column("genuine").to_numpy() & ~accepted).sum())
    staff = res.tables["people"].column("work_node").to_numpy()
    assert (subject == "staff").sum() > 0 and (staff >= 0).sum() > 0


def test_impostors_rarely_pass_and_a_ban_stops_the_checks() -> None:
    s = prison().summary
    assert s["impostor_attempts"] > 1000
    assert s["false_accepts"] <= 5, "an FMR of about 1e-5 lets almost nobody through"
    banned = prison()
    d = small_dict(population={"people": 3000}, deployment=[PRISON], governance={"ban": True})
    d["city"]["places"]["prisons"] = 1
    b = sim.run(load_scenario(d))
    assert b.summary["verifications"] == 0
    assert b.tables["trips"].equals(banned.tables["trips"]), "staff and visitors still come"


def test_facility_needs_a_prison() -> None:
    with pytest.raises(ScenarioError, match=r"deployment\.0: a facility needs a prison"):
        load_scenario(small_dict(deployment=[PRISON]))


def test_prison_scenario_refuses_some_groups_more() -> None:
    s = sim.run(load_scenario(SCENARIOS / "prison.toml", ["population.people=5000"])).summary
    rates = s["false_reject_rate_by_group"]
    assert rates["amerindian_female"] > rates["black_male"], "FNMR differentials (NIST)"
    assert s["verifications"] > 5000
