"""Scenario loading: defaults, inheritance, overrides, resolved output and the JSON Schema."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.scenario import Scenario, json_schema, load_scenario
from tests.conftest import SCENARIOS


def test_shipped_scenarios_are_valid() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        sc = load_scenario(path)
        assert sc.name == path.stem, f"{path.name}: name matches the file"
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), f"{path.name} starts with a comment saying what it models"


def test_capital_is_the_size_the_readme_promises() -> None:
    sc = load_scenario(SCENARIOS / "capital_cctv.toml")
    assert sc.population.people == 50_000
    assert sc.city.kind == "radial"
    assert 100 <= sum(d.count for d in sc.deployment) <= 999, "a few hundred cameras"


def test_ban_extends_the_capital() -> None:
    ban = load_scenario(SCENARIOS / "ban.toml")
    cap = load_scenario(SCENARIOS / "capital_cctv.toml")
    assert ban.governance.ban and not cap.governance.ban
    assert ban.population == cap.population and ban.city == cap.city
    assert ban.deployment == cap.deployment, "arrays are inherited when not redefined"


def test_defaults_fill_every_value() -> None:
    sc = load_scenario({})
    assert sc.population.groups[0].name == "white_male", "NIST sex x race preset by default"
    assert len(sc.population.groups) == 8
    assert abs(sum(g.share for g in sc.population.groups) - 1) < 1e-9


def test_extends_merges_tables_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(
        'name = "base"\n[population]\npeople = 900\nerrands_per_day = 2.0\n'
        '[[deployment]]\nkind = "cctv"\ncount = 3\n'
    )
    (tmp_path / "child.toml").write_text(
        'extends = "base.toml"\nname = "child"\n[population]\npeople = 100\n'
    )
    sc = load_scenario(tmp_path / "child.toml")
    assert sc.name == "child"
    assert sc.population.people == 100, "child wins"
    assert sc.population.errands_per_day == 2.0, "parent's other keys kept"
    assert sc.deployment[0].count == 3


def test_extends_chain_and_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "c.toml"\n')
    (tmp_path / "c.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="circular 'extends'") as info:
        load_scenario(tmp_path / "a.toml")
    assert "a.toml -> " in str(info.value) and "c.toml" in str(info.value)


def test_missing_parent_names_the_child(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "nowhere.toml"\n')
    with pytest.raises(ScenarioError, match=r"nowhere\.toml: no such scenario file") as info:
        load_scenario(tmp_path / "a.toml")
    assert "extended by" in str(info.value)


def test_set_overrides_any_key() -> None:
    sc = load_scenario(
        SCENARIOS / "capital_cctv.toml",
        [
            "population.people=5000",
            "facematch.threshold=0.7",
            "deployment.0.count=12",
            "deployment.0.placement=random",
            "governance.ban=true",
            "seed=3",
            "city.rings=4",
        ],
    )
    assert sc.population.people == 5000
    assert sc.facematch.threshold == 0.7
    assert sc.deployment[0].count == 12 and sc.deployment[0].placement == "random"
    assert sc.governance.ban and sc.seed == 3 and sc.city.rings == 4  # type: ignore[union-attr]


def test_set_unknown_key_is_reported() -> None:
    with pytest.raises(ScenarioError, match=r"population.peple: unknown key"):
        load_scenario(SCENARIOS / "capital_cctv.toml", ["population.peple=5"])


def test_every_problem_at_once_with_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        'seed = 1\nduration_h = -2\n[population]\npeople = "many"\n'
        "[facematch]\nthreshold = 1.5\n[watchlist]\nsize = 5\npresent = 9\n"
        '[city]\nkind = "radial"\nringz = 3\n'
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    problems = info.value.problems
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert f"{f}:2: duration_h: expected a number greater than 0" in text
    assert f"{f}:4: population.people: expected an integer" in text
    assert f"{f}:6: facematch.threshold: expected a number at most 1" in text
    assert "watchlist: present (9) cannot exceed size (5)" in text
    assert f"{f}:12: city.ringz: unknown key (allowed here: kind, rings," in text


def test_resolved_toml_round_trips() -> None:
    sc = load_scenario(SCENARIOS / "capital_cctv.toml", ["seed=99"])
    text = sc.to_toml()
    again = Scenario.model_validate(tomllib.loads(text))
    assert again == sc, "loading the resolved scenario gives the same scenario"
    assert again.content_hash() == sc.content_hash()


def test_content_hash_ignores_seed_only() -> None:
    a = load_scenario({"seed": 1})
    b = load_scenario({"seed": 2})
    c = load_scenario({"seed": 1, "duration_h": 2})
    assert a.content_hash() == b.content_hash()
    assert a.content_hash() != c.content_hash()


def test_shipped_json_schema_is_current() -> None:
    shipped = json.loads((SCENARIOS / "scenario.schema.json").read_text())
    assert shipped == json_schema(), "run `make schema` to regenerate the shipped schema"
    assert "extends" in shipped["properties"]
    assert shipped["additionalProperties"] is False, "unknown keys rejected"
