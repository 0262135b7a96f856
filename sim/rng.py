"""Randomness by purpose.

Every random decision draws from its own stream, derived from the run seed, the replication and a
stable hash of the purpose's name (Starsim's habit). Changing how one purpose draws never shifts the
numbers another purpose sees. Draws that must not depend on policy (whether a given passage is
captured, the match coin of a given capture) are *keyed*: a counter-based hash of the identities
involved gives the uniform number, so adding a camera does not reshuffle anyone else's coins
(common random numbers). There is no global RNG anywhere in survsim.

Purposes are declared once (:func:`declare`), each with what it decides; declaring a name twice,
or two names whose stream hashes collide, is refused at import time, and a run that asks for one
purpose's numbers twice is refused too (as Starsim's ``check_seeds``): two decisions sharing a
stream would be silently correlated. Names that carry an index (``plans.day3``) are declared as
families (``declare("plans.day*", ...)``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


class RandomPurposeError(RuntimeError):
    """A random purpose declared twice, undeclared, or drawn twice in one run (a bug)."""


def stable_hash(name: str) -> int:
    """A 32-bit hash of ``name`` that is the same on every machine and Python version."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


# name (or family prefix ending in '*') -> what it decides
PURPOSES: dict[str, str] = {}
_BY_HASH: dict[int, str] = {}


def declare(name: str, meaning: str) -> str:
    """Declare a random purpose (once, in the module that draws it); returns the name.

    Raises
    ------
    RandomPurposeError
        If the name is already declared, or its stream hash collides with another purpose's.
    """
    if name in PURPOSES:
        raise RandomPurposeError(
            f"random purpose {name!r} is declared twice: two decisions "
            f"would share their random numbers; give each its own name"
        )
    if not name.endswith("*"):
        h = stable_hash(name)
        other = _BY_HASH.get(h)
        if other is not None:
            raise RandomPurposeError(
                f"random purposes {name!r} and {other!r} hash to the same stream; rename one"
            )
        _BY_HASH[h] = name
    PURPOSES[name] = meaning
    return name


def is_declared(name: str) -> bool:
    """Whether ``name`` is a declared purpose or a member of a declared family."""
    if name in PURPOSES:
        return True
    return any(
        p.endswith("*") and name.startswith(p[:-1]) and len(name) > len(p) - 1 for p in PURPOSES
    )


class Streams:
    """Factory of named random streams for one run.

    Each purpose may be drawn once per run (:meth:`generator` or :meth:`key`); asking again is a
    :class:`RandomPurposeError`, because two consumers of one stream see the same numbers.

    Parameters
    ----------
    seed
        The scenario's integer seed.
    replication
        Replication index; replication ``r`` of every scenario gets the same streams, so two
        scenarios compared at the same seed and replication share their common random numbers.
    """

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = int(seed)
        self.replication = int(replication)
        self._claimed: dict[int, str] = {}  # stream hash -> purpose drawn in this run

    def _sequence(self, purpose: str) -> np.random.SeedSequence:
        if not is_declared(purpose):
            raise RandomPurposeError(
                f"random purpose {purpose!r} is not declared; declare it "
                f"with sim.rng.declare(name, what it decides)"
            )
        h = stable_hash(purpose)
        before = self._claimed.get(h)
        if before is not None:
            what = (
                "drawn twice in one run"
                if before == purpose
                else f"hashes to the same stream as {before!r}"
            )
            raise RandomPurposeError(
                f"random purpose {purpose!r} is {what}: two decisions "
                f"would share their random numbers"
            )
        self._claimed[h] = purpose
        return np.random.SeedSequence([self.seed, self.replication, h])

    def generator(self, purpose: str) -> np.random.Generator:
        """The generator of ``purpose`` (claimed: a second request in this run is an error)."""
        return np.random.Generator(np.random.PCG64(self._sequence(purpose)))

    def key(self, purpose: str) -> np.uint64:
        """The 64-bit key of ``purpose`` for :func:`keyed_uniform` draws (claimed likewise)."""
        return np.uint64(self._sequence(purpose).generate_state(1, dtype=np.uint64)[0])


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective mix with good avalanche.
    Works in place on ``x`` (callers pass an array of their own) with one scratch array, so a
    batch of millions of coins makes two passes of memory per step, not four."""
    t = np.empty_like(x)
    with np.errstate(over="ignore"):
        x += _MIX[0]
        np.right_shift(x, np.uint64(30), out=t)
        x ^= t
        x *= _MIX[1]
        np.right_shift(x, np.uint64(27), out=t)
        x ^= t
        x *= _MIX[2]
        np.right_shift(x, np.uint64(31), out=t)
        x ^= t
    return x


def _keyed_hash(key: np.uint64, ids: tuple[npt.ArrayLike, ...]) -> npt.NDArray[np.uint64]:
    arrays = np.broadcast_arrays(*[np.asarray(i, dtype=np.int64) for i in ids])
    h = np.full(arrays[0].shape, key, dtype=np.uint64)
    for a in arrays:
        h ^= a.view(np.uint64)  # the same bits as astype, without a copy
        _splitmix64(h)
    return h


def keyed_index(key: np.uint64, bits: int, *ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Integers uniform in [0, 2**bits) keyed like :func:`keyed_uniform` (the hash's top bits:
    an index into a table of 2**bits equally likely rows)."""
    return (_keyed_hash(key, ids) >> np.uint64(64 - bits)).astype(np.int64)


def keyed_uniform(key: np.uint64, *ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform numbers in [0, 1) that depend only on ``key`` and the identities ``ids``.

    Parameters
    ----------
    key
        A purpose key from :meth:`Streams.key`.
    ids
        Integer arrays (broadcast together), e.g. trip ids and camera ids.
    """
    h = _keyed_hash(key, ids)
    # 53 high bits to a double in [0, 1).
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
