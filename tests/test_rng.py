"""Randomness by purpose, the purpose registry, and keyed coins."""

from __future__ import annotations

import ast
import dataclasses

import numpy as np
import pytest

import sim.world  # noqa: F401  (declares the run's purposes)
from sim import rng as sim_rng
from sim.coins import Coins
from sim.rng import RandomPurposeError, Streams, declare, keyed_uniform, stable_hash
from tests.conftest import ROOT


def test_stable_hash_is_fixed() -> None:
    assert stable_hash("population") == stable_hash("population")
    assert stable_hash("population") != stable_hash("plans.day0")
    # A known value: the hash must not change between Python versions or machines.
    assert stable_hash("population") == 1306304079


def test_same_purpose_same_numbers_other_purpose_other_numbers() -> None:
    a = Streams(5).generator("cameras").random(5)
    b = Streams(5).generator("cameras").random(5)
    c = Streams(5).generator("population").random(5)
    assert np.array_equal(a, b), "one purpose, one seed: the same numbers in every run"
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, Streams(5, replication=1).generator("cameras").random(5))
    assert not np.array_equal(a, Streams(6).generator("cameras").random(5))


def test_a_purpose_is_drawn_once_per_run() -> None:
    s = Streams(1)
    s.generator("cameras")
    with pytest.raises(RandomPurposeError, match="'cameras' is drawn twice"):
        s.generator("cameras")
    s.key("coin.capture_passage")
    with pytest.raises(RandomPurposeError, match="drawn twice"):
        s.key("coin.capture_passage")


def test_undeclared_and_redeclared_purposes_are_refused() -> None:
    with pytest.raises(RandomPurposeError, match="not declared"):
        Streams(1).generator("no.such.purpose")
    with pytest.raises(RandomPurposeError, match="declared twice"):
        declare("population", "again")
    assert Streams(1).generator("plans.day7") is not None, "a member of the plans.day* family"


def test_purposes_whose_streams_collide_are_refused() -> None:
    # Two names with the same 32-bit stream hash (found by search): they would share a stream.
    a, b = "test.collide.2575", "test.collide.65917"
    assert stable_hash(a) == stable_hash(b)
    try:
        declare(a, "a test purpose")
        with pytest.raises(RandomPurposeError, match="hash to the same stream"):
            declare(b, "another")
    finally:
        sim_rng.PURPOSES.pop(a, None)
        sim_rng._BY_HASH.pop(stable_hash(a), None)


def test_every_declared_purpose_has_its_own_stream() -> None:
    names = [p for p in sim_rng.PURPOSES if not p.endswith("*")]
    assert len({stable_hash(p) for p in names}) == len(names)
    assert all(sim_rng.PURPOSES[p] for p in sim_rng.PURPOSES), "each says what it decides"


def _coin_sites() -> dict[str, list[str]]:
    """Where in sim/ (its packages too) each coin key is read (``<x>.coins.<field>`` or
    ``coins.<field>``)."""
    fields = {f.name for f in dataclasses.fields(Coins)}
    sites: dict[str, list[str]] = {f: [] for f in fields}
    for path in sorted((ROOT / "sim").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in fields
                and isinstance(node.value, ast.Attribute | ast.Name)
                and getattr(node.value, "attr", getattr(node.value, "id", "")) == "coins"
            ):
                sites[node.attr].append(f"{path.name}:{node.lineno}")
    return sites


def test_each_coin_decides_one_thing_at_one_place() -> None:
    sites = _coin_sites()
    names = [f.name for f in dataclasses.fields(Coins)]
    coins = Coins(*(np.uint64(i) for i in range(len(names))))
    # Handed to a matcher as a group (Coins.match, Coins.false_links).
    match = {names[int(v)] for v in [*coins.match().values(), *coins.false_links().values()]}
    for name, where in sites.items():
        if name in match:  # handed to the matcher as a group
            assert where == [], f"coin {name} belongs to the matcher, used at {where}"
            continue
        assert len(where) == 1, f"coin {name} is drawn at {len(where)} places: {where}"


def test_crowd_and_passage_captures_have_different_coins() -> None:
    coins = Coins.claim(Streams(4))
    trips, cams = np.arange(10_000), np.full(10_000, 3)
    passage = keyed_uniform(coins.capture_passage, trips, cams)
    crowd = keyed_uniform(coins.capture_crowd, trips, cams)
    assert not np.array_equal(passage, crowd)
    assert abs(np.corrcoef(passage, crowd)[0, 1]) < 0.05, "independent coins"


def test_keyed_uniform_depends_only_on_key_and_ids() -> None:
    key = Streams(1).key("coin.capture_passage")
    trips = np.arange(1000)
    cams = np.full(1000, 7)
    u = keyed_uniform(key, trips, cams)
    assert np.all((u >= 0) & (u < 1))
    # The coin of (trip 10, camera 7) does not depend on which other pairs are drawn with it.
    assert keyed_uniform(key, [10], [7])[0] == u[10]
    assert keyed_uniform(key, [10], [8])[0] != u[10]
    assert keyed_uniform(Streams(2).key("coin.capture_passage"), [10], [7])[0] != u[10]


def test_keyed_uniform_is_uniform() -> None:
    u = keyed_uniform(Streams(3).key("coin.score"), np.arange(200_000), 0)
    assert abs(u.mean() - 0.5) < 0.005
    hist = np.bincount((u * 10).astype(int), minlength=10) / u.size
    assert np.all(np.abs(hist - 0.1) < 0.005), "each decile holds a tenth"
