"""HE aggregation: clients encrypt vectors under the public key, an aggregator sums the ciphertexts.

What it computes: `encrypt_contribution` (client: clip to L2 norm ≤ `clip`, then BFV — values
rounded to the fixed-point grid 2^-f and encrypted as integers modulo t, exact — or CKKS — the same
grid values as floats at the parameters' scale; vectors longer than one ciphertext are cut into chunks), `aggregate`
(aggregator: the sum of the ciphertexts, every contribution checked against the context, the
dimension and the number of chunks first), `add_encrypted` (the aggregator adds an encryption of a
public-key-encrypted vector, e.g. DP noise, `release.py`) and `decrypt_vector` (key holder).

Exactness: BFV sums are exact modulo t; they are read back centred, so they are the true integer
sum when |Σ| < t/2, which `check_range` verifies from the number of contributions, the clip bound
and the noise tail before summing. CKKS sums carry the CKKS error (`noise.py`) and their decryption
must be flooded before release (`release.py`).

Security: IND-CPA (RLWE) against the aggregator, which holds only the public context and learns the
number of contributions and their dimension. Semi-honest aggregator and key holder that do not
collude (together they would see every contribution). Contributions are not proven well-formed:
a malicious client could encrypt an unclipped vector (not covered; clipping is the honest client's
job, and `encrypt_contribution` does it).
Cost: a client does ⌈d / slots⌉ encryptions; the aggregator (K − 1)·⌈d / slots⌉ additions.
"""

from __future__ import annotations

import math

import numpy as np

from mpc.errors import HEFormatError, ParameterError, ShapeError, ValueOutOfRange
from mpc.he.context import HEContext, pack, unpack
from mpc.he.params import BFVParams, CKKSParams

KIND = "he-vector"


def clip_l2(values, clip: float) -> np.ndarray:
    """values scaled down so that ‖values‖₂ ≤ clip (the sensitivity the DP noise is calibrated for)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise ValueOutOfRange("contributions must be finite numbers")
    norm = float(np.linalg.norm(v))
    return v if norm <= clip else v * (clip / norm)


def encode_fixed(values, frac_bits: int) -> np.ndarray:
    """round(x·2^f) as int64 (the fixed-point grid of `dp.mechanisms.grid`)."""
    v = np.asarray(values, dtype=np.float64) * 2.0 ** frac_bits
    if np.any(np.abs(v) >= 2.0 ** 62):
        raise ValueOutOfRange(f"values up to {np.max(np.abs(v)) / 2 ** frac_bits:g} do not fit 62 bits at f={frac_bits}")
    return np.rint(v).astype(np.int64)


class EncryptedVector:
    """A vector of `dims` values in ⌈dims / slots⌉ ciphertexts; `frac_bits` for BFV fixed point."""

    def __init__(self, chunks: list, dims: int, frac_bits: int, count: int = 1):
        self.chunks, self.dims, self.frac_bits, self.count = chunks, dims, frac_bits, count

    def to_bytes(self) -> bytes:
        return pack({"kind": KIND, "dims": self.dims, "frac_bits": self.frac_bits, "count": self.count},
                    [c.serialize() for c in self.chunks])

    @classmethod
    def from_bytes(cls, ctx: HEContext, data: bytes, *, dims: int | None = None) -> "EncryptedVector":
        """From untrusted bytes; `dims` (if given) must match."""
        slots = ctx.params.slots
        header, blobs = unpack(data, KIND, max_bytes=ctx.max_ciphertext_bytes() * 4096, max_blobs=4096)
        try:
            d, f, count = int(header["dims"]), int(header["frac_bits"]), int(header["count"])
        except (KeyError, TypeError, ValueError):
            raise HEFormatError("he-vector header needs dims, frac_bits, count") from None
        if d < 1 or len(blobs) != math.ceil(d / slots) or not 0 <= f <= 40 or count < 1 or (dims is not None and d != dims):
            raise HEFormatError(f"he-vector of {d} values in {len(blobs)} ciphertexts (f={f}) does not fit "
                                f"{slots} slots per ciphertext{'' if dims is None else f' and {dims} values expected'}")
        return cls([ctx.load_vector(b) for b in blobs], d, f, count)


def chunks_of(ctx: HEContext, n: int) -> list[slice]:
    s = ctx.params.slots
    return [slice(i, min(n, i + s)) for i in range(0, n, s)]


def encrypt_contribution(ctx: HEContext, values, *, clip: float, frac_bits: int = 16) -> EncryptedVector:
    """A client's vector, clipped to ‖·‖₂ ≤ clip, encrypted under the public key."""
    if not (clip > 0 and math.isfinite(clip)):
        raise ParameterError(f"clip must be a positive finite number, got {clip!r}")
    v = clip_l2(values, clip)
    if isinstance(ctx.params, BFVParams):
        enc = encode_fixed(v, frac_bits)
        return EncryptedVector([ctx.encrypt(enc[s]) for s in chunks_of(ctx, v.size)], v.size, frac_bits)
    v = encode_fixed(v, frac_bits).astype(np.float64) / 2.0 ** frac_bits  # on the grid, so sum + noise is too
    return EncryptedVector([ctx.encrypt(v[s]) for s in chunks_of(ctx, v.size)], v.size, frac_bits)


def check_range(params: CKKSParams | BFVParams, count: int, clip: float, frac_bits: int, extra: float = 0.0) -> None:
    """Refuse sums that could leave the plaintext range (wrap modulo t, or CKKS garbage)."""
    top = count * clip + extra
    if isinstance(params, BFVParams):
        if top * 2.0 ** frac_bits + count >= params.max_value:
            raise ValueOutOfRange(f"{count} contributions of norm ≤ {clip:g} (+ noise tail {extra:g}) at f={frac_bits} "
                                  f"reach {top * 2 ** frac_bits:.3g} grid units, beyond ±(t−1)/2 = {params.max_value}: "
                                  f"the BFV sum would wrap modulo t; use a larger plain modulus or fewer fractional bits")
    elif top >= params.max_value:
        raise ValueOutOfRange(f"{count} contributions of norm ≤ {clip:g} may sum to {top:.3g}, beyond the {params.max_value:g} "
                              f"the CKKS modulus holds")


def aggregate(ctx: HEContext, contributions: list[EncryptedVector]) -> EncryptedVector:
    """The encrypted sum of the contributions (all of one dimension and grid)."""
    if not contributions:
        raise ParameterError("no contributions to aggregate")
    first = contributions[0]
    for i, c in enumerate(contributions):
        if c.dims != first.dims or c.frac_bits != first.frac_bits or len(c.chunks) != len(first.chunks):
            raise ShapeError(f"contribution {i} has {c.dims} values at f={c.frac_bits}; contribution 0 has "
                             f"{first.dims} at f={first.frac_bits}")
    acc = [v.copy() for v in first.chunks]
    for c in contributions[1:]:
        for a, v in zip(acc, c.chunks):
            a.add_(v)
    return EncryptedVector(acc, first.dims, first.frac_bits, sum(c.count for c in contributions))


def aggregate_bytes(public_context: bytes, contributions: list[bytes], *, dims: int, clip: float) -> bytes:
    """`aggregate` on serialised inputs (the aggregator's job): refuses a context with a secret key,
    contributions of another dimension, and sums that could leave the plaintext range."""
    ctx = HEContext.from_bytes(public_context, evaluator=True)
    vecs = [EncryptedVector.from_bytes(ctx, b, dims=dims) for b in contributions]
    check_range(ctx.params, len(vecs), clip, vecs[0].frac_bits if vecs else 0)
    return aggregate(ctx, vecs).to_bytes()


def add_encrypted(ctx: HEContext, total: EncryptedVector, values) -> EncryptedVector:
    """total + Enc(values) (public key): the aggregator's way to add noise before anyone decrypts.

    BFV: `values` are integers on the grid (grid units); CKKS: reals."""
    vals = np.asarray(values).reshape(-1)
    if vals.size != total.dims:
        raise ShapeError(f"{vals.size} values to add to a vector of {total.dims}")
    out = []
    for v, s in zip(total.chunks, chunks_of(ctx, total.dims)):
        out.append(v + ctx.encrypt(vals[s]))
    return EncryptedVector(out, total.dims, total.frac_bits, total.count)


def decrypt_vector(ctx: HEContext, vec: EncryptedVector) -> np.ndarray:
    """The plaintext (key holder only): BFV as reals on the grid (exact), CKKS as floats (approximate)."""
    parts = [ctx.decrypt(v)[: s.stop - s.start] for v, s in zip(vec.chunks, chunks_of(ctx, vec.dims))]
    out = np.concatenate(parts)
    if isinstance(ctx.params, BFVParams):
        return out.astype(np.float64) / 2.0 ** vec.frac_bits
    return out
