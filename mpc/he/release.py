"""The DP gate for HE results: noise is added under encryption, before anyone sees the plaintext.

What it computes: `noise_sum` (the aggregator, after `aggregate.aggregate`): asks the release gate
callback `gate(output, ε, δ)` first — the node job's grant check; it raises to refuse and nothing
is computed — then samples integer noise on the fixed-point grid 2^-f with the project's exact
samplers from the CSPRNG (discrete Gaussian for δ > 0, discrete Laplace for δ = 0), calibrated by
`dp.mechanisms.grid` / `calibrate` for the L2 (or L1) sensitivity of one contribution (the clip
bound; grid rounding included), encrypts it under the public key and adds it to the encrypted sum.
`release` (the key holder): decrypts; BFV is exact, CKKS is flooded (`noise.flood`) so the
released vector is statistically independent (2^-s) of the secret key. Both return the report
entry in the shape of `dp.release` ({output, epsilon, delta, mechanism, noise_scale,
grid_sensitivity, frac_bits, mode}, plus the flooding for CKKS). `noise_sum_bytes` / `release_bytes`
are the same on serialised inputs, for the node jobs of phase 2.

Security (DP): the key holder sees only sum + noise: (ε, δ)-DP for add/remove of one contribution
of norm ≤ clip (exact discrete mechanism on the grid: the clients round to it, BFV sums exactly). For
CKKS the released vector is within statistical distance η = 2^-s of post-processing of that
mechanism, so it is (ε, δ + (1 + e^ε)·η)-DP; the entry states δ_effective. Trust: the aggregator
knows the noise it added, so aggregator and key holder must not collude (then they would learn the
exact sum); both semi-honest. This layer sits above `dp.mechanisms` (as the DP gate of HE
results); the rest of `mpc.he` imports nothing from `dp`.
References: CKS20 (discrete Gaussian, calibration); Li & Micciancio, EUROCRYPT 2021 (flooding).
Cost: one encryption of d noise values; O(d) exact samples.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from mpc.errors import ParameterError
from mpc.he import noise as henoise
from mpc.he.aggregate import EncryptedVector, add_encrypted, aggregate, check_range, decrypt_vector
from mpc.he.context import HEContext
from mpc.he.params import BFVParams

Gate = Callable[[str, float, float], None]
MODE = ("he (the aggregator adds encrypted noise before decryption; the key holder sees only the noised sum; "
        "aggregator and key holder must not collude)")


def noise_spec(*, epsilon: float, delta: float, clip: float, frac_bits: int, dims: int, l1: float | None = None):
    """The calibrated noise for a sum of contributions of L2 norm ≤ clip (L1 ≤ l1 for pure DP)."""
    from dp.mechanisms import grid

    if delta > 0:
        return grid.gaussian_spec(clip, epsilon, delta, frac_bits=frac_bits, dims=dims)
    return grid.laplace_spec(l1 if l1 is not None else clip * math.sqrt(dims), epsilon, frac_bits=frac_bits, dims=dims)


def noise_sum(ctx: HEContext, total: EncryptedVector, *, output: str, epsilon: float, delta: float, clip: float,
              l1: float | None = None, gate: Gate | None = None, prg=None) -> tuple[EncryptedVector, dict]:
    """Encrypted sum + encrypted DP noise (aggregator side); `gate` is asked first and may refuse."""
    if gate is not None:
        gate(output, epsilon, delta)
    spec = noise_spec(epsilon=epsilon, delta=delta, clip=clip, frac_bits=total.frac_bits, dims=total.dims, l1=l1)
    tail = 40.0 * spec.std_grid / 2.0 ** total.frac_bits  # |noise| beyond 40 std has probability < 2^-1000
    check_range(ctx.params, total.count, clip, total.frac_bits, extra=tail)
    z = spec.sample((total.dims,), prg)
    vals = z if isinstance(ctx.params, BFVParams) else z.astype(np.float64) / 2.0 ** total.frac_bits
    entry = dict(spec.report(), output=output, mode=MODE, contributions=total.count,
                 scheme=ctx.params.scheme, value_bound=total.count * clip + tail)
    return add_encrypted(ctx, total, vals), entry


def release(ctx: HEContext, noised: EncryptedVector, entry: dict, *, stat_security: int = henoise.DEFAULT_STAT_SECURITY,
            prg=None) -> tuple[np.ndarray, dict]:
    """Decrypt the noised sum (key holder); CKKS results are flooded before they leave. Returns (values, entry)."""
    if not ctx.is_private:
        raise ParameterError("release needs the key holder's context (with the secret key)")
    values = decrypt_vector(ctx, noised)
    entry = dict(entry)
    if isinstance(ctx.params, BFVParams):
        entry.update(exact=True, delta_effective=entry["delta"])
        return values, entry
    p = ctx.params
    fresh = (henoise.b_clean(p.poly_modulus_degree) + henoise.b_rs(p.poly_modulus_degree)) / p.scale
    spec = henoise.flooding_spec((noised.count + 1) * fresh, noised.dims, stat_security,
                                 magnitude=float(entry.get("value_bound", p.max_value)))
    out = henoise.flood(values, spec, prg)
    eta = 2.0 ** -stat_security
    entry.update(spec.report(), exact=False,
                 delta_effective=entry["delta"] + (1.0 + math.exp(entry["epsilon"])) * eta)
    return out, entry


def noise_sum_bytes(public_context: bytes, contributions: list[bytes], *, dims: int, output: str, epsilon: float,
                    delta: float, clip: float, gate: Gate | None = None) -> tuple[bytes, dict]:
    """The aggregator's whole job on bytes: check, sum, add encrypted noise (after `gate` agreed)."""
    ctx = HEContext.from_bytes(public_context, evaluator=True)
    vecs = [EncryptedVector.from_bytes(ctx, b, dims=dims) for b in contributions]
    if not vecs:
        raise ParameterError("no contributions to aggregate")
    noised, entry = noise_sum(ctx, aggregate(ctx, vecs), output=output, epsilon=epsilon, delta=delta, clip=clip,
                              gate=gate)
    return noised.to_bytes(), entry


def release_bytes(key_context: HEContext, noised: bytes, entry: dict, *, dims: int,
                  stat_security: int = henoise.DEFAULT_STAT_SECURITY) -> tuple[np.ndarray, dict]:
    """The key holder's job on bytes: load (checked), decrypt, flood CKKS."""
    return release(key_context, EncryptedVector.from_bytes(key_context, noised, dims=dims), entry,
                   stat_security=stat_security)
