"""Products of additively shared tensors with Beaver triples.

What it computes: z = x·y (elementwise), X@Y (matrix product) over Z_2^64 or GF(2^61-1),
and x&y on XOR-shared uint64 words, from shares of x, y and a triple (a, b, c = a∘b) given
by a `TripleSource`. The parties open d = x − a and e = y − b (one message per peer carrying
both) and compute z_i = c_i + d∘b_i + a_i∘e (+ d∘e at the first party).

Security: semi-honest, any number of corrupted compute parties (dishonest majority) as long
as the triples are private; with `DealerTriples` the dealer is trusted (see
`mpc.preprocessing.dealer`). No integrity: a deviating party can change the result.
References: Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO '91;
matrix triples as in Mohassel–Zhang, "SecureML", S&P 2017, §4.1.
Cost: one round; each party sends (|x| + |y|) elements to each other party: for 2 parties,
16 bytes per elementwise product per party.
"""

from __future__ import annotations

import numpy as np

from mpc.arith import ring_kernels
from mpc.arith.domain import Domain
from mpc.arith.ring import RING
from mpc.errors import ShapeError
from mpc.net.comm import Comm
from mpc.preprocessing.provider import TripleSource, late


async def _open_flat(comm: Comm, domain: Domain | None, flat: np.ndarray, label: str) -> np.ndarray:
    """Open [d ; e] (one message per peer): the sum (or XOR) of every party's flat array."""
    tag = comm.tag(label)
    got = await comm.exchange_arrays(tag, {p: flat for p in comm.others}, comm.others, flat.dtype, flat.shape)
    total = flat.copy()
    for p in comm.others:
        if domain is RING:
            ring_kernels.add_into(total, got[p])
        elif domain is None:
            total ^= got[p]
        else:
            total = domain.add(total, got[p])
    return total


async def _open_pair(comm: Comm, domain: Domain | None, d: np.ndarray, e: np.ndarray, label: str):
    total = await _open_flat(comm, domain, np.concatenate([d.reshape(-1), e.reshape(-1)]), label)
    return total[: d.size].reshape(d.shape), total[d.size:].reshape(e.shape)


async def mul(comm: Comm, triples: TripleSource, domain: Domain, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shares of x∘y (elementwise; shapes must match)."""
    if x.shape != y.shape:
        raise ShapeError(f"elementwise product of shapes {x.shape} and {y.shape}")
    a, b, c = await triples.mul_triples(comm, domain, x.shape)
    if domain is RING:  # fused one-pass kernels
        total = await _open_flat(comm, RING, ring_kernels.beaver_masks(x, a, y, b), "beaver-mul")
        d, e = total[: x.size], total[x.size:]
        return ring_kernels.beaver_finish(await late(c), d, e, a, b, comm.index == 0)
    d, e = await _open_pair(comm, domain, domain.sub(x, a), domain.sub(y, b), "beaver-mul")
    c = await late(c)
    z = domain.add(c, domain.add(domain.mul(d, b), domain.mul(e, a)))
    if comm.index == 0:
        z = domain.add(z, domain.mul(d, e))
    return z


async def matmul(comm: Comm, triples: TripleSource, domain: Domain, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Shares of X@Y for 2-D X (m×k) and Y (k×n)."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
        raise ShapeError(f"matrix product of shapes {x.shape} and {y.shape}")
    a, b, c = await triples.matmul_triples(comm, domain, x.shape, y.shape)
    d, e = await _open_pair(comm, domain, domain.sub(x, a), domain.sub(y, b), "beaver-matmul")
    c = await late(c)
    z = domain.add(c, domain.add(domain.matmul(d, b), domain.matmul(a, e)))
    if comm.index == 0:
        z = domain.add(z, domain.matmul(d, e))
    return z


async def and_words(comm: Comm, triples: TripleSource, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """XOR shares of x & y for XOR-shared uint64 words (64 AND gates per word)."""
    if x.shape != y.shape:
        raise ShapeError(f"AND of shapes {x.shape} and {y.shape}")
    a, b, c = await triples.and_triples(comm, x.shape)
    d, e = await _open_pair(comm, None, x ^ a, y ^ b, "beaver-and")
    c = await late(c)
    z = c ^ (d & b) ^ (e & a)
    if comm.index == 0:
        z ^= d & e
    return z
