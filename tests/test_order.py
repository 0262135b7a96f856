"""sim.order.time_order: the order of a stable lexsort by time, then tie-breaking keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.order import time_order

ROWS = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(0, 2)), max_size=60)


@settings(max_examples=80, deadline=None)
@given(ROWS)
def test_time_order_equals_lexsort(rows: list[tuple[int, int, int]]) -> None:
    """Few distinct times, so most rows tie (clipped commute times, arrivals released together)."""
    t = np.array([r[0] * 0.25 for r in rows], np.float64)
    a = np.array([r[1] for r in rows], np.int64)
    b = np.array([r[2] for r in rows], np.int32)
    assert np.array_equal(time_order(t), np.lexsort((t,)))
    assert np.array_equal(time_order(t, a), np.lexsort((a, t)))
    assert np.array_equal(time_order(t, a, b), np.lexsort((b, a, t)))


def test_time_order_continuous_times_and_nan() -> None:
    rng = np.random.default_rng(7)
    t = rng.uniform(0, 86_400, 50_000)
    t[::1000] = 3600.0  # a run of exact ties
    key = rng.integers(0, 100, t.size)
    assert np.array_equal(time_order(t, key), np.lexsort((key, t)))
    t[5] = np.nan
    assert np.array_equal(time_order(t, key), np.lexsort((key, t))), "NaN last, like lexsort"
    assert time_order(np.zeros(0)).size == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**33), max_size=60), st.sampled_from([2**8, 2**20, 2**34]))
def test_int_order_equals_a_stable_argsort(values: list[int], bound: int) -> None:
    """One radix pass below 2**16, two below 2**32, numpy's own stable sort above."""
    from sim.order import int_order

    keys = np.array([v % bound for v in values], np.int64)
    assert np.array_equal(int_order(keys), np.argsort(keys, kind="stable"))
    assert np.array_equal(int_order(-keys - 1), np.argsort(-keys - 1, kind="stable"))
