"""Multiplication of Shamir-shared values by degree reduction, with PRG-derived sub-shares.

What it computes: degree-t shares of x·y (or of Σ_k x_k·y_k for a dot product) from
degree-t shares of x and y. Each party i of the first 2t+1 multiplies its shares locally,
h_i = x_i·y_i (a degree-2t sharing of x·y), then re-shares h_i with a fresh degree-t
polynomial g_i: its values at the t parties T_i = {i+1, ..., i+t} (mod n) are drawn from the
seeds party i shares with them (no message), which fixes g_i together with g_i(0) = h_i; the
other n−1−t parties receive g_i at their point. Every party ends with Σ_i λ_i·g_i(own point),
λ the Lagrange coefficients at 0 for the 2t+1 resharing parties.

Security: semi-honest, honest majority: t < n/2 corrupted parties learn nothing (each g_i is
uniformly random among degree-t polynomials with g_i(0) = h_i, and any t of its values are
independent of h_i); no integrity. No triples, no dealer.
References: Gennaro, Rabin, Rabin, "Simplified VSS and fast-track multiparty computations",
PODC 1998 (degree reduction); PRG-derived shares to cut messages as in MP-SPDZ's semi-honest
Shamir protocol; Damgård–Nielsen, CRYPTO 2007 (the alternative with double sharings).
Cost: one round; each of the 2t+1 resharing parties sends one field element per product to
each of n−1−t parties (n=3: 8 bytes per product per party); a dot product of any length costs
the same as one product.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mpc.arith.field import FIELD
from mpc.arith.poly import lagrange_coefficients
from mpc.errors import ParameterError, ShapeError
from mpc.net.comm import Comm
from mpc.sharing.prss import PairwiseSeeds


def seeded_targets(i: int, n: int, t: int) -> tuple[int, ...]:
    """The t parties whose points of party i's polynomial come from shared seeds."""
    return tuple((i + k) % n for k in range(1, t + 1))


@lru_cache(maxsize=256)
def _plan(n: int, t: int, i: int) -> dict[int, tuple[int, ...]]:
    """Coefficients giving g_i(point of k) from [h_i, seeded values] for every k not seeded."""
    T = seeded_targets(i, n, t)
    xs = (0,) + tuple(j + 1 for j in T)
    return {k: lagrange_coefficients(xs, k + 1) for k in range(n) if k not in T}


async def reduce_degree(comm: Comm, seeds: PairwiseSeeds, t: int, h: np.ndarray) -> np.ndarray:
    """Degree-t shares of the value whose degree-2t shares are `h` (this party's)."""
    n = comm.n
    if n < 2 * t + 1:
        raise ParameterError(f"job {comm.job}: Shamir multiplication needs n >= 2t+1 parties (n={n}, t={t})")
    me = comm.index
    tag = comm.tag("grr")
    flat = h.reshape(-1)
    resharers = range(2 * t + 1)
    # 1. My own polynomial: seeded points, and values for the parties I must send to.
    outgoing, mine = {}, None
    if me in resharers:
        T = seeded_targets(me, n, t)
        seeded = [FIELD.random(seeds.prg(comm.parties[j], tag, me), flat.size) for j in T]
        plan = _plan(n, t, me)
        values = FIELD.lincomb_rows(list(plan.values()), [flat] + seeded)
        for k, value in zip(plan, values):
            if k == me:
                mine = value
            else:
                outgoing[comm.parties[k]] = value
    # 2. What I get from the others: seeded (no message) or received.
    senders = [i for i in resharers if i != me and me not in seeded_targets(i, n, t)]
    got = await comm.exchange_arrays(tag, outgoing, [comm.parties[i] for i in senders], np.uint64, flat.shape)
    lam = lagrange_coefficients(tuple(i + 1 for i in resharers), 0)
    coeffs, arrays = [], []
    for i in resharers:
        if i == me:
            arrays.append(mine)
        elif me in seeded_targets(i, n, t):
            arrays.append(FIELD.random(seeds.prg(comm.parties[i], tag, i), flat.size))
        else:
            arrays.append(FIELD.check(got[comm.parties[i]], f"sub-share from party {comm.parties[i]}"))
        coeffs.append(lam[i])
    return FIELD.lincomb(coeffs, arrays).reshape(h.shape)


async def mul(comm: Comm, seeds: PairwiseSeeds, t: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Degree-t shares of x∘y from degree-t shares (elementwise)."""
    if x.shape != y.shape:
        raise ShapeError(f"elementwise product of shapes {x.shape} and {y.shape}")
    return await reduce_degree(comm, seeds, t, FIELD.mul(x, y))


async def matmul(comm: Comm, seeds: PairwiseSeeds, t: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Degree-t shares of X@Y: local products and sums, then one degree reduction."""
    return await reduce_degree(comm, seeds, t, FIELD.matmul(x, y))
