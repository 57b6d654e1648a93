"""Fixed-point truncation of additively shared Z_2^64 values: shares of ⌊x / 2^f⌋ (±1 ulp).

What it computes, for signed x with |x| < 2^62 (the `FixedPoint` headroom):
  * `trunc` (any n): probabilistic truncation with a preprocessed tuple (r, msb(r),
    (r mod 2^63) >> f). Shift x' = x + 2^62 ∈ [0, 2^63); open c = x' + r; with
    b = msb(c) ⊕ msb(r) (the carry out of the low 63 bits), x' >> f = (c mod 2^63) >> f
    − (r mod 2^63) >> f + b·2^(63−f) + {0, 1}. The opened c is uniform (r is), so nothing
    leaks, and the result is always within 1 ulp: error e ∈ {0, +1}·2^-f.
  * `trunc_local_2pc` (2 parties only, no communication): SecureML's share-wise shift:
    party 0 takes x_0 >> f, party 1 takes −((−x_1) >> f). Correct within 1 ulp except with
    probability ≤ 2^(l+1−64) for |x| < 2^l, when the result is off by about 2^(64−f).

Security: semi-honest, dishonest majority; the tuple comes from the `TripleSource` (trusted
if it is a dealer).
References: Dalskov, Escudero, Keller, "Secure Evaluation of Quantized Neural Networks",
PETS 2020, §3 (probabilistic truncation in Z_2^k with the top bit); Mohassel–Zhang, "SecureML",
S&P 2017, Theorem 1 (local truncation).
Cost: `trunc`: one round, 8 bytes per element to each other party; `trunc_local_2pc`: none.
"""

from __future__ import annotations

import numpy as np

from mpc.arith.ring import RING
from mpc.errors import ParameterError
from mpc.net.comm import Comm
from mpc.ops.open import open_additive
from mpc.preprocessing.provider import TripleSource, late

LOW63 = np.uint64((1 << 63) - 1)
OFFSET = np.uint64(1 << 62)


async def trunc(comm: Comm, triples: TripleSource, x: np.ndarray, f: int) -> np.ndarray:
    """Shares of ⌊x / 2^f⌋ or ⌊x / 2^f⌋ + 1 for shared signed x with |x| < 2^62."""
    if not 0 < f < 62:
        raise ParameterError(f"truncation by {f} bits: need 0 < f < 62")
    r, r_msb, r_shift = await triples.trunc_tuples(comm, x.shape, f)
    first = comm.index == 0
    masked = x + r
    if first:
        masked = masked + OFFSET
    c = await open_additive(comm, RING, masked)
    r_msb, r_shift = await late(r_msb), await late(r_shift)
    c_msb = c >> np.uint64(63)
    c_shift = (c & LOW63) >> np.uint64(f)
    # b = c_msb XOR r_msb = c_msb + r_msb - 2 c_msb r_msb, linear in the shares of r_msb.
    b = r_msb * (np.uint64(1) - np.uint64(2) * c_msb)
    y = b * np.uint64(1 << (63 - f)) - r_shift
    if first:
        y = y + c_shift + c_msb * np.uint64(1 << (63 - f)) - np.uint64(1 << (62 - f))
    return y


def trunc_local_2pc(index: int, x: np.ndarray, f: int) -> np.ndarray:
    """Party `index` (0 or 1) of two: its share of ⌊x / 2^f⌋ (±1 ulp, see the module docstring)."""
    if index == 0:
        return x >> np.uint64(f)
    if index == 1:
        return np.negative(np.negative(x) >> np.uint64(f))
    raise ParameterError("local truncation is a two-party protocol (party index 0 or 1)")
