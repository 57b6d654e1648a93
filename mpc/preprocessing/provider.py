"""The interface of every source of preprocessed correlated randomness.

All methods are SPMD: every compute party calls them in the same order with the same
arguments (shapes are public) and gets its own shares. Arithmetic shares are additive over
the given domain; binary shares are XOR shares of uint64 words.

Late components: the parts a protocol needs only after its masked opening (c of a triple,
msb(r) and r >> f of a truncation tuple, the bits of an edaBit, the ring share of a daBit) may
be returned as awaitables, so that a provider's own round trip overlaps the protocol's round.
Consumers get them with `await late(x)`.
"""

from __future__ import annotations

import abc
import inspect
from typing import NamedTuple

import numpy as np

from mpc.arith.domain import Domain


async def late(x):
    """The value of a possibly-awaitable late component."""
    return await x if inspect.isawaitable(x) else x


class Triple(NamedTuple):
    """Shares of a, b and c = a·b (elementwise), a@b (matrix) or a&b (binary words)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


class TruncTuple(NamedTuple):
    """Ring shares of r (uniform in Z_2^64), of its top bit, and of (r mod 2^63) >> f."""

    r: np.ndarray
    r_msb: np.ndarray
    r_shift: np.ndarray


class TripleSource(abc.ABC):
    """A provider of correlated randomness for one job.

    `trusted_third_party` says whether privacy rests on a party outside the computation
    (a dealer): protocols and reports state it.
    """

    name: str = "abstract"
    trusted_third_party: bool = False

    async def setup(self, comm) -> None:
        """One-time agreement (seeds, base OTs) before the first request."""

    async def close(self, comm) -> None:
        """Tell helpers the job is over."""

    @abc.abstractmethod
    async def mul_triples(self, comm, domain: Domain, shape) -> Triple: ...

    @abc.abstractmethod
    async def matmul_triples(self, comm, domain: Domain, shape_a, shape_b) -> Triple: ...

    @abc.abstractmethod
    async def and_triples(self, comm, shape) -> Triple: ...

    @abc.abstractmethod
    async def trunc_tuples(self, comm, shape, frac_bits: int) -> TruncTuple: ...

    @abc.abstractmethod
    async def edabits(self, comm, shape) -> tuple[np.ndarray, np.ndarray]:
        """Ring shares of a uniform r and XOR shares of the same r as a uint64 word."""

    @abc.abstractmethod
    async def dabits(self, comm, shape) -> tuple[np.ndarray, np.ndarray]:
        """Ring shares of a uniform bit b and XOR shares of b (in bit 0 of a uint64 word)."""
