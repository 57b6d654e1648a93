"""Fast discrete Gaussian sampler: a 128-bit bin table plus exact rejection inside the bin.

What it computes: samples of N_Z(0, σ²) (σ² the sampler's rational parameter,
`samplers.gaussian_parameter`) at tens of millions per second, for DP-SGD's d noise coordinates
per step. |X| is written y = j·w + r with bin width w = 2^m (m chosen so σ/w ∈ [16, 32), w = 1
for σ < 32). The bin j ≥ 0 is drawn from a cumulative table with P(j) ∝ exp(−(jw)²/(2σ²)),
j ≤ J = ⌈40σ/w⌉ + 1; r is uniform on [0, w) (m PRG bits); y is accepted with probability
exp(−(y² − (jw)²)/(2σ²)) by the exact Bernoulli(exp(−n/d)) of CKS20 Algorithm 1
(native/include/mpcn/dpnoise.hpp), 0 is kept with probability 1/2 and the sign is a fair bit.
If the bin law were exact, the output would be exactly N_Z(0, σ²) truncated to |x| < (J+1)w.

Guarantee (statistical distance, folded into δ by the trainer): the table holds
T_j = ⌊F_j·2^128⌋ for the cumulative F_j computed with 60-digit decimal arithmetic (Python's
Decimal.exp is correctly rounded), so each bin probability is off by at most 2^-127 + 10^-55 and
the bin law Q̂ is within ‖Q̂ − Q‖₁ ≤ (J + 2)·2^-126 of the truncated Q; the truncation removes
mass below e^-790. Rejection sampling with acceptance probability Z ≥ 1/2 (checked when the table
is built) turns a proposal error of ε₁ into an output error of at most 2ε₁/Z, so every sample is
within total-variation distance `TV_BOUND` = 2^-100 of N_Z(0, σ²) (J ≤ 1300, so the bound above
is ≤ 2^-113). A mechanism whose k noise samples are each within η of the exact law is within kη
of it in distribution, so it is (ε, δ + (1 + e^ε)·k·η)-DP when the exact one is (ε, δ)-DP; the
trainer adds that term to δ (`TrainingReport.delta_sampler`, about 10^-18 for 10^12 samples).

Security: words from `mpc.crypto.PRG` (AES-CTR) only, as the exact samplers.
References: CKS20 (arXiv:2004.00010) Alg. 1; L. Devroye, "Non-Uniform Random Variate Generation"
(1986) §II.3 (rejection) and §III.2 (guide tables).
Cost: one table per σ (cached, ~1 ms to build); per sample about two PRG words and m + 2 bits.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

from dp.errors import DPParameterError
from dp.mechanisms import samplers
from mpc import _native
from mpc.crypto import PRG

TV_BOUND = 2.0 ** -100
TAIL_SIGMAS = 40
GUIDE_BITS = 12
MIN_ACCEPTANCE = 0.5


@functools.lru_cache(maxsize=64)
def table(sigma2: Fraction) -> dict:
    """The sampler's table for N_Z(0, sigma2) (arrays and parameters; cached per σ²)."""
    a, b = sigma2.numerator, sigma2.denominator
    if a >= 1 << 63 or b >= 1 << 63:
        raise DPParameterError(f"sigma^2 = {a}/{b} is outside the table sampler's range")
    sigma = math.sqrt(a / b)
    m = max(0, int(math.floor(math.log2(sigma / 16.0)))) if sigma >= 32 else 0
    w = 1 << m
    J = int(math.ceil(TAIL_SIGMAS * sigma / w)) + 1
    with localcontext() as ctx:
        ctx.prec = 60
        weights = [(-Decimal((j * w) ** 2 * b) / Decimal(2 * a)).exp() for j in range(J + 1)]
        total = sum(weights, Decimal(0))
        scale = Decimal(2) ** 128
        cum, T = Decimal(0), []
        for wj in weights[:-1]:
            cum += wj
            T.append(int((cum / total * scale).to_integral_value(rounding="ROUND_FLOOR")))
    T = [min(t, (1 << 128) - 1) for t in T] + [(1 << 128) - 1]
    hi = np.array([t >> 64 for t in T], dtype=np.uint64)
    lo = np.array([t & ((1 << 64) - 1) for t in T], dtype=np.uint64)
    starts = np.arange(1 << GUIDE_BITS, dtype=np.uint64) << np.uint64(64 - GUIDE_BITS)
    guide = np.minimum(np.searchsorted(hi, starts, side="left"), J).astype(np.uint32)
    acceptance = _acceptance(sigma, w, J)
    if acceptance < MIN_ACCEPTANCE:
        raise DPParameterError(f"table sampler acceptance {acceptance:.3f} below {MIN_ACCEPTANCE} for sigma={sigma}")
    return {"hi": hi, "lo": lo, "guide": guide, "m": m, "a": a, "b": b, "J": J, "acceptance": acceptance}


def _acceptance(sigma: float, w: int, J: int) -> float:
    """P(accept) of one proposal (float estimate on ≤ 256 offsets per bin, for the Z ≥ 1/2 check)."""
    j = np.arange(J + 1, dtype=np.float64)[:, None]
    r = np.linspace(0, w - 1, min(w, 256))[None, :]
    q = np.exp(-(j[:, 0] * w) ** 2 / (2 * sigma ** 2))
    q /= q.sum()
    acc = np.exp(-(2 * j * w * r + r * r) / (2 * sigma ** 2)).mean(axis=1)
    return float(np.sum(q * acc))


def discrete_gaussian(sigma, shape, prg: PRG | None = None) -> np.ndarray:
    """N_Z(0, σ²) samples (int64) within TV_BOUND each of exact; σ² per `samplers.gaussian_parameter`."""
    return discrete_gaussian_param(samplers.gaussian_parameter(sigma), shape, prg)


def discrete_gaussian_param(sigma2: Fraction, shape, prg: PRG | None = None) -> np.ndarray:
    """N_Z(0, sigma2) samples for a σ² already in sampler form."""
    return sample_from_table(table(Fraction(sigma2)), shape, prg)


def sample_from_table(t: dict, shape, prg: PRG | None = None) -> np.ndarray:
    """Samples from a table returned by `table` (lets hot loops skip the cache lookup)."""
    prg = prg if prg is not None else PRG()
    out = np.empty(shape, dtype=np.int64)
    if out.size:
        chunk = int(min(64 + 2 * out.size, 1 << 20))  # about 1.1 words per sample; refills if short
        _native.dp_table_gaussian(prg.uint64, chunk, t["hi"], t["lo"], t["guide"], GUIDE_BITS, t["m"], t["a"], t["b"],
                                  out.reshape(-1))
    return out
