"""Comparison of additively shared Z_2^64 values: sign bit, less-than, equality, and what
follows from them (ReLU, max, argmax live in `mpc.ops.select`).

What it computes: ring shares of the bit msb(x) (x < 0 in two's complement) and of [x == 0].
  msb: open c = x + r for an edaBit r (ring shares and XOR-shared bits of the same uniform r).
  Then x = c − r, so msb(x) = msb(c) ⊕ msb(r) ⊕ borrow, the borrow out of (c − r) on the low
  63 bits, i.e. [c_low < r_low]: a comparison of a public word with a bit-shared one. With
  generate g = r ∧ ¬c and propagate p = ¬(c ⊕ r) (both local), a Kogge–Stone prefix over the
  64-bit word (shifts 1, 2, ..., 32; two AND gates per level, all 64 lanes of a word at once)
  gives the borrow in bit 62. The XOR-shared result bit becomes a ring share with a daBit.
  eqz: x = 0 iff r = c, i.e. all 64 bits of ¬(r ⊕ c) are 1: an AND tree of 6 levels.
Comparing a and b is msb(a − b), exact whenever |a − b| < 2^63.

Security: semi-honest, dishonest majority; the edaBits, daBits and AND triples come from the
`TripleSource` (trusted if it is a dealer). The opened c is uniform, so it reveals nothing.
References: Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved Primitives for MPC over Mixed
Arithmetic-Binary Circuits" (edaBits), CRYPTO 2020; Rotaru–Wood (daBits), INDOCRYPT 2019;
Kogge–Stone parallel prefix; Catrina–de Hoogh, "Improved Primitives for Secure Multiparty
Integer Computation", SCN 2010 (comparison via masked opening).
Cost: msb: 8 rounds; per element and per other party: 8 B (open c) + 5·32 B + 16 B (prefix
ANDs) + 8 B (daBit open) = 192 B. eqz: 8 rounds, 8 + 6·16 + 8 = 112 B.
"""

from __future__ import annotations

import numpy as np

from mpc.arith.ring import RING
from mpc.beaver import and_words
from mpc.net.comm import Comm
from mpc.ops.open import open_additive, open_xor
from mpc.preprocessing.provider import TripleSource, late

ONE = np.uint64(1)
ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
LOW63 = np.uint64((1 << 63) - 1)


async def bit_to_ring(comm: Comm, triples: TripleSource, bit: np.ndarray) -> np.ndarray:
    """Ring shares of the bit whose XOR shares are `bit` (bit 0 of uint64 words)."""
    b_arith, b_bool = await triples.dabits(comm, bit.shape)
    v = await open_xor(comm, (bit ^ b_bool) & ONE)
    b_arith = await late(b_arith)
    # bit = v XOR b = v + b - 2vb
    out = b_arith * (ONE - np.uint64(2) * v)
    if comm.index == 0:
        out = out + v
    return out


async def _masked_open(comm: Comm, triples: TripleSource, x: np.ndarray):
    r_arith, r_bits = await triples.edabits(comm, x.shape)
    c = await open_additive(comm, RING, x + r_arith)
    return c, await late(r_bits)


async def msb(comm: Comm, triples: TripleSource, x: np.ndarray) -> np.ndarray:
    """Ring shares of the most significant bit of shared x (1 iff x < 0 as a signed value)."""
    c, r = await _masked_open(comm, triples, x)
    first = comm.index == 0
    # XOR shares of g = r & ~c and p = ~(c ^ r), restricted to the low 63 bits.
    g = r & ~c & LOW63
    p = (r ^ ~c) & LOW63 if first else r & LOW63
    shift = 1
    while shift < 64:
        if shift < 32:
            both = await and_words(comm, triples, np.stack([p, p]), np.stack([g << np.uint64(shift),
                                                                             p << np.uint64(shift)]))
            g ^= both[0]
            p = both[1]
        else:  # last level: only the generate word is needed
            g ^= await and_words(comm, triples, p, g << np.uint64(shift))
        shift *= 2
    borrow = (g >> np.uint64(62)) & ONE
    bit = borrow ^ ((r >> np.uint64(63)) & ONE)
    if first:
        bit ^= (c >> np.uint64(63)) & ONE
    return await bit_to_ring(comm, triples, bit)


async def eqz(comm: Comm, triples: TripleSource, x: np.ndarray) -> np.ndarray:
    """Ring shares of [x == 0]."""
    c, r = await _masked_open(comm, triples, x)
    w = r ^ ~c if comm.index == 0 else r.copy()  # all ones iff x == 0
    width = 32
    while width >= 1:
        w = await and_words(comm, triples, w, w >> np.uint64(width))
        width //= 2
    return await bit_to_ring(comm, triples, w & ONE)
