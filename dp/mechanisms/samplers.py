"""Exact discrete Laplace, discrete Gaussian and Bernoulli(exp(-x)) samplers from the CSPRNG.

What it computes: integer noise with exactly the discrete Laplace distribution
P(x) ∝ exp(-|x|/scale) and the discrete Gaussian N_Z(0, σ²), P(x) ∝ exp(-x²/(2σ²)), for
rational parameters. Floating point never touches the output distribution (floating-point
Laplace leaks through the gaps of the float grid, Mironov 2012): every test is a comparison of
integers, and every uniform integer comes from 64-bit words of `mpc.crypto.PRG` (AES-128-CTR).

Parameters are made rational by rounding *up* (more noise, never less): the scale to a
multiple of 2^-20 (relative error below 2^-20 for scales ≥ 1) and σ² to a dyadic rational with
about 40 significant bits. The parameter actually used is returned by `laplace_parameter` /
`gaussian_parameter` and is what accounting must use.

Security: the samples are a deterministic function of the PRG key, so the PRG must be seeded
from the operating system (`PRG()`), never from a reused or public key, except in tests.
Exactness: the native kernel (native/include/mpcn/dpnoise.hpp) uses 64/128-bit integers; the
only deviation is an OverflowError raised instead of a value on events of probability below
2^-1000 (a proposal beyond 2^14 standard deviations).

Timing (a side channel we accept, and how to close it): the samplers are exact, not constant
time. Each is a rejection loop: the discrete Laplace draws a geometric count whose loop runs
about |x|/scale + 1 times, and the discrete Gaussian adds rejected Laplace proposals (a number
of them independent of the sample it returns) and an acceptance test that grows with
(|y| − c)²/σ². So the time one call takes reveals, noisily, the magnitudes of the samples it
drew (summed over the array of one call), never their signs. An observer who could time one
node's sampling precisely would learn roughly how large that node's noise share is, and the
magnitude of the noise narrows where the true value lies around a release. We accept it
because the difference is a few uniform words, tens of nanoseconds, per unit of |x|/scale,
drawn in one native call per output array, while everything a remote party can observe of a
node (its gRPC messages) is separated from that call by Python, asyncio, TLS and network
scheduling whose jitter is thousands of times larger; in the distributed mode each node
samples only its own share. An adversary on the same physical host (reading CPU time,
performance counters or shared caches) is outside this argument: run party nodes on dedicated
hosts or cores and do not export per-job CPU timings. A constant-time sampler (fixed iteration
counts with a bounded tail, at a small, accounted loss of exactness) would remove the channel;
it is not implemented.

References: C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for Differential
Privacy", NeurIPS 2020 (arXiv:2004.00010), Algorithms 1-3; I. Mironov, "On Significance of the
Least Significant Bits for Differential Privacy", CCS 2012; D. Lemire, "Fast Random Integer
Generation in an Interval", ACM TOMACS 2019.

Cost: about 8-20 uniform words per sample (rejection loops of constant expected length);
several million samples per second per core.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from dp.errors import DPParameterError
from mpc import _native
from mpc.crypto import PRG

SCALE_DENOMINATOR_BITS = 20
SIGMA2_BITS = 40  # significant bits kept of sigma^2 (rounded up)
MIN_SIGMA = 2.0 ** -5
MAX_SIGMA = 2.0 ** 30
MAX_SCALE = 2.0 ** 40
MIN_SCALE = 2.0 ** -10


def _chunk(n: int) -> int:
    return int(min(max(4096, 16 * n), 1 << 20))


def _shape_size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def laplace_parameter(scale) -> Fraction:
    """The rational scale the sampler uses for `scale`: the smallest multiple of 2^-20 ≥ it."""
    if isinstance(scale, Fraction):
        exact = scale
    else:
        if not math.isfinite(float(scale)):
            raise DPParameterError(f"Laplace scale must be finite, got {scale!r}")
        exact = Fraction(float(scale))
    if not MIN_SCALE <= exact <= MAX_SCALE:
        raise DPParameterError(f"Laplace scale must be in [2^-10, 2^40] noise units, got {float(exact):.6g}")
    den = 1 << SCALE_DENOMINATOR_BITS
    return Fraction(math.ceil(exact * den), den)


def gaussian_parameter(sigma) -> Fraction:
    """The rational σ² the sampler uses for `sigma`: σ² rounded up to ~40 significant bits."""
    s = float(sigma)
    if not math.isfinite(s) or not MIN_SIGMA <= s <= MAX_SIGMA:
        raise DPParameterError(f"sigma must be in [2^-5, 2^30] noise units, got {sigma!r}")
    sigma2 = Fraction(s) ** 2
    k = max(0, min(50, SIGMA2_BITS - math.floor(math.log2(sigma2))))
    b = 1 << k
    return Fraction(math.ceil(sigma2 * b), b)


def _gaussian_abc(sigma2: Fraction) -> tuple[int, int, int]:
    a, b = sigma2.numerator, sigma2.denominator
    c = math.isqrt(a // b)  # floor(sigma), 0 when sigma < 1
    if a >= 1 << 63 or b >= 1 << 63 or b * max(c, 1) >= 1 << 63:
        raise DPParameterError(f"sigma^2 = {a}/{b} is outside the exact sampler's range")
    return a, b, c


def discrete_laplace(scale, shape, prg: PRG | None = None) -> np.ndarray:
    """Exact discrete Laplace samples (int64) with P(x) ∝ exp(-|x|/scale), scale per `laplace_parameter`."""
    frac = laplace_parameter(scale)
    prg = prg if prg is not None else PRG()
    out = np.empty(shape, dtype=np.int64)
    if out.size:
        # CKS20 Algorithm 2 samples exp(-|x| s/t), i.e. scale t/s.
        _native.dp_discrete_laplace(prg.uint64, _chunk(out.size), frac.denominator, frac.numerator, out.reshape(-1))
    return out


def discrete_gaussian(sigma, shape, prg: PRG | None = None) -> np.ndarray:
    """Exact discrete Gaussian samples (int64) N_Z(0, σ²), σ² per `gaussian_parameter`."""
    return discrete_gaussian_exact(gaussian_parameter(sigma), shape, prg)


def discrete_gaussian_exact(sigma2: Fraction, shape, prg: PRG | None = None) -> np.ndarray:
    """Exact N_Z(0, sigma2) samples for a rational variance parameter already in sampler form."""
    a, b, c = _gaussian_abc(Fraction(sigma2))
    prg = prg if prg is not None else PRG()
    out = np.empty(shape, dtype=np.int64)
    if out.size:
        _native.dp_discrete_gaussian(prg.uint64, _chunk(out.size), a, b, c, out.reshape(-1))
    return out


def bernoulli_exp(num, den: int, prg: PRG | None = None) -> np.ndarray:
    """Exact Bernoulli(exp(-num[i]/den)) for non-negative integers num[i] < 2^64, 1 <= den < 2^64."""
    num = np.ascontiguousarray(num, dtype=np.uint64)
    if not 1 <= int(den) < 1 << 64:
        raise DPParameterError(f"den must be in [1, 2^64), got {den}")
    prg = prg if prg is not None else PRG()
    out = np.empty(num.shape, dtype=np.uint8)
    if out.size:
        _native.dp_bernoulli_exp(prg.uint64, _chunk(out.size), num.reshape(-1), int(den), out.reshape(-1))
    return out.astype(bool)


def discrete_laplace_pmf(scale: Fraction | float, k) -> np.ndarray:
    """P(X = k) for the discrete Laplace with the given scale (float64, for tests and analysis)."""
    s = float(scale)
    k = np.asarray(k, dtype=np.float64)
    return math.tanh(1.0 / (2.0 * s)) * np.exp(-np.abs(k) / s)


def discrete_gaussian_normaliser(sigma2: float) -> float:
    """Σ_z exp(-z²/(2σ²)) (the sum is cut where terms fall below 1e-300)."""
    s2 = float(sigma2)
    m = int(math.ceil(math.sqrt(2.0 * s2 * 700.0))) + 1
    z = np.arange(1, m + 1, dtype=np.float64)
    return 1.0 + 2.0 * math.fsum(np.exp(-(z * z) / (2.0 * s2)))


def discrete_gaussian_pmf(sigma2: Fraction | float, k) -> np.ndarray:
    """P(X = k) for N_Z(0, σ²) (float64, for tests and analysis)."""
    s2 = float(sigma2)
    k = np.asarray(k, dtype=np.float64)
    return np.exp(-(k * k) / (2.0 * s2)) / discrete_gaussian_normaliser(s2)


def discrete_gaussian_variance(sigma2: Fraction | float) -> float:
    """Var(N_Z(0, σ²)), slightly below σ² for small σ (CKS20 Proposition 19)."""
    s2 = float(sigma2)
    m = int(math.ceil(math.sqrt(2.0 * s2 * 700.0))) + 1
    z = np.arange(1, m + 1, dtype=np.float64)
    return 2.0 * math.fsum(z * z * np.exp(-(z * z) / (2.0 * s2))) / discrete_gaussian_normaliser(s2)
