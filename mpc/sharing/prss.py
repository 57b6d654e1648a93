"""Pairwise seeds and pseudo-random secret sharing: random and zero sharings without messages.

What it computes, from keys agreed once per session (`mpc.runtime.session` does the one-round
setup):
  * `PairwiseSeeds`: a PRG stream shared with each other party (per label); an additive
    zero-sharing z_i = Σ_{j>i} R_ij − Σ_{j<i} R_ji (Σ_i z_i = 0).
  * `PRSS`: replicated keys, one per set B of n−t parties (the complement of a maximal
    unqualified set A, |A| = t). A random degree-t Shamir sharing of r = Σ_A r_A has party i's
    share Σ_{A ∌ i} r_A·f_A(i+1), where f_A has degree t, f_A(0) = 1 and f_A = 0 on A; a
    degree-2t zero sharing (PRZS) adds the terms r_{A,j}·x^j·f_A(x), j = 1..t.

Security: semi-honest; PRSS keys for B are known exactly to B's members, so any t parties
miss at least the key of the set avoiding them; privacy reduces to the PRG (AES-CTR).
References: Cramer, Damgård, Ishai, "Share Conversion, Pseudorandom Secret-Sharing and
Applications to Secure Computation", TCC 2005, §3-4.
Cost: no messages. Per element: (n−1) PRG draws for a zero-sharing; C(n−1, t) PRG draws and
field products for a PRSS sharing (C(n, t) keys in all; refused above `MAX_PRSS_KEYS`).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from math import comb
from typing import Mapping

import numpy as np

from mpc.arith.domain import Domain
from mpc.arith.field import FIELD, P
from mpc.crypto.prg import PRG
from mpc.errors import ParameterError

MAX_PRSS_KEYS = 5000


class PairwiseSeeds:
    """The seeds this party shares with every other party."""

    def __init__(self, pid: int, seeds: Mapping[int, bytes]):
        self.pid = pid
        self.seeds = dict(seeds)

    def prg(self, peer: int, *labels) -> PRG:
        """The stream this party and `peer` both draw for `labels` (order-independent)."""
        try:
            seed = self.seeds[peer]
        except KeyError:
            raise ParameterError(f"party {self.pid} shares no seed with party {peer}") from None
        return PRG.derive(seed, *labels)

    def zero_share(self, domain: Domain, shape, *labels) -> np.ndarray:
        """This party's share of an additive sharing of zero."""
        acc = domain.zeros(shape)
        for peer in sorted(self.seeds):
            r = domain.random(self.prg(peer, "zero", *labels), shape)
            acc = domain.add(acc, r) if peer > self.pid else domain.sub(acc, r)
        return acc


def prss_sets(n: int, t: int) -> list[tuple[int, ...]]:
    """The key-holder sets B (size n−t) in a fixed order; each B's key is chosen by min(B)."""
    if comb(n, t) > MAX_PRSS_KEYS:
        raise ParameterError(
            f"PRSS with n={n}, t={t} needs {comb(n, t)} keys (limit {MAX_PRSS_KEYS}); "
            f"use a smaller threshold or dealt randomness"
        )
    return [tuple(b) for b in combinations(range(n), n - t)]


@lru_cache(maxsize=64)
def _f_at(n: int, t: int, B: tuple[int, ...], party: int) -> int:
    """f_A(party+1) for A = complement of B: degree t, f_A(0) = 1, zero on A."""
    A = [a for a in range(n) if a not in B]
    x = party + 1
    num, den = 1, 1
    for a in A:
        xa = a + 1
        num = num * (x - xa) % P
        den = den * (0 - xa) % P
    return num * pow(den, P - 2, P) % P


class PRSS:
    """Random Shamir sharings (degree t) and zero sharings (degree 2t) from replicated keys."""

    def __init__(self, pid: int, n: int, t: int, keys: Mapping[tuple[int, ...], bytes]):
        self.pid, self.n, self.t = pid, n, t
        mine = [B for B in prss_sets(n, t) if pid in B]
        missing = [B for B in mine if B not in keys]
        if missing:
            raise ParameterError(f"party {pid} lacks PRSS keys for sets {missing[:3]}...")
        self.keys = {B: keys[B] for B in mine}

    def random_share(self, shape, *labels) -> np.ndarray:
        """This party's degree-t share of a uniformly random field element per entry."""
        size = int(np.prod(shape, dtype=np.int64))
        coeffs, arrays = [], []
        for B, key in self.keys.items():
            coeffs.append(_f_at(self.n, self.t, B, self.pid))
            arrays.append(FIELD.random(PRG.derive(key, "prss", *labels), size))
        return FIELD.lincomb(coeffs, arrays).reshape(shape)

    def zero_share_2t(self, shape, *labels) -> np.ndarray:
        """This party's share of a degree-2t sharing of zero."""
        size = int(np.prod(shape, dtype=np.int64))
        x = self.pid + 1
        coeffs, arrays = [], []
        for B, key in self.keys.items():
            f = _f_at(self.n, self.t, B, self.pid)
            g = PRG.derive(key, "przs", *labels)
            for j in range(1, self.t + 1):
                coeffs.append(f * pow(x, j, P) % P)
                arrays.append(FIELD.random(g, size))
        if not arrays:
            return FIELD.zeros(shape)
        return FIELD.lincomb(coeffs, arrays).reshape(shape)
