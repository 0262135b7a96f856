"""Randomness by purpose.

Every random decision draws from its own stream, derived from the run seed, the replication and a
stable hash of the purpose's name (Starsim's habit). Changing how one purpose draws never shifts the
numbers another purpose sees. Draws that must not depend on policy (whether a given passage is
captured, the match coin of a given capture) are *keyed*: a counter-based hash of the identities
involved gives the uniform number, so adding a camera does not reshuffle anyone else's coins
(common random numbers). There is no global RNG anywhere in survsim.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def stable_hash(name: str) -> int:
    """A 32-bit hash of ``name`` that is the same on every machine and Python version."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """Factory of named random streams for one run.

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

    def _sequence(self, purpose: str) -> np.random.SeedSequence:
        return np.random.SeedSequence([self.seed, self.replication, stable_hash(purpose)])

    def generator(self, purpose: str) -> np.random.Generator:
        """A fresh generator for ``purpose`` (same purpose, same numbers)."""
        return np.random.Generator(np.random.PCG64(self._sequence(purpose)))

    def key(self, purpose: str) -> np.uint64:
        """A 64-bit key for :func:`keyed_uniform` draws of ``purpose``."""
        return np.uint64(self._sequence(purpose).generate_state(1, dtype=np.uint64)[0])


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective mix with good avalanche.
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def keyed_uniform(key: np.uint64, *ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform numbers in [0, 1) that depend only on ``key`` and the identities ``ids``.

    Parameters
    ----------
    key
        A purpose key from :meth:`Streams.key`.
    ids
        Integer arrays (broadcast together), e.g. trip ids and camera ids.
    """
    arrays = np.broadcast_arrays(*[np.asarray(i, dtype=np.int64) for i in ids])
    h = np.full(arrays[0].shape, key, dtype=np.uint64)
    for a in arrays:
        h = _splitmix64(h ^ a.astype(np.uint64))
    # 53 high bits to a double in [0, 1).
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
