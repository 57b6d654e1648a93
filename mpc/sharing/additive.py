"""Additive n-of-n secret sharing over Z_2^64 or GF(2^61-1).

What it computes: x = s_0 + ... + s_{n-1} in the domain; the first n-1 shares are uniform,
the last is x minus their sum.

Security: perfect privacy against any n-1 parties (dishonest majority); no integrity.
Cost: n-1 random arrays and one subtraction per sharing; reconstruction is n-1 additions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mpc.arith.domain import Domain
from mpc.errors import DomainError, NotEnoughShares, ParameterError, ShapeError


@dataclass(frozen=True)
class AdditiveShare:
    """Party `party`'s share (of `n`) of an array, in `domain`."""

    party: int
    n: int
    domain: Domain
    values: np.ndarray


def additive_share(x: np.ndarray, n: int, prg, domain: Domain) -> list[AdditiveShare]:
    """Split domain elements `x` into `n` additive shares."""
    if n < 2:
        raise ParameterError(f"additive sharing needs n >= 2 parties, got {n}")
    x = domain.check(x, "secret")
    rand = [domain.random(prg, x.shape) for _ in range(n - 1)]
    last = x
    for r in rand:
        last = domain.sub(last, r)
    vals = rand + [last]
    return [AdditiveShare(i, n, domain, v) for i, v in enumerate(vals)]


def additive_reconstruct(shares: Sequence[AdditiveShare]) -> np.ndarray:
    """The secret from all n shares (checks domain, shape and that every party is present)."""
    if not shares:
        raise NotEnoughShares("no shares given")
    first = shares[0]
    for s in shares:
        if not isinstance(s, AdditiveShare):
            raise DomainError(f"expected AdditiveShare, got {type(s).__name__}")
        if s.domain is not first.domain:
            raise DomainError(f"share of party {s.party} is over {s.domain}, not {first.domain}")
        if s.n != first.n:
            raise ParameterError(f"shares come from sharings among {first.n} and {s.n} parties")
        if s.values.shape != first.values.shape:
            raise ShapeError(f"share of party {s.party} has shape {s.values.shape}, not {first.values.shape}")
    parties = sorted(s.party for s in shares)
    if parties != list(range(first.n)):
        missing = sorted(set(range(first.n)) - set(parties))
        if missing:
            raise NotEnoughShares(f"additive sharing needs all {first.n} shares; missing parties {missing}")
        raise ParameterError(f"duplicate shares for parties {parties}")
    total = first.values
    for s in shares[1:]:
        total = first.domain.add(total, s.values)
    return total
