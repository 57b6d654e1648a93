"""CKKS error bounds, and noise flooding of decrypted CKKS results (Li–Micciancio).

What it computes:
  * Error bounds in value units for CKKS operations, from the canonical-embedding analysis of
    Cheon, Kim, Kim, Song (ASIACRYPT 2017, Lemmas 1-3), with σ = 3.2 and secret Hamming weight h ≤ N:
        fresh encryption  B_clean = 8√2·σN + 6σ√N + 16σ√(hN)
        rescale/encoding  B_rs    = √(N/3)·(3 + 8√h)
        key switching     B_ks    = 8σN/√3 per RNS digit (SEAL: one digit per data prime, special prime P ≥ q_i)
    A value is tracked as `Approx(magnitude M, error E)`: adding adds errors; multiplying by a
    plaintext c (|c| ≤ C) gives C·E + M·e_enc + B_rs/Δ; multiplying ciphertexts gives
    M₁E₂ + M₂E₁ + E₁E₂ + (L·B_ks/Δ + B_rs)/Δ; a rotation adds L·B_ks/Δ. These are high-probability
    heuristic bounds (each term is a ~6σ tail bound of the paper's analysis), not worst-case proofs; the
    tests check measured errors against them.
  * `FloodingSpec`: noise flooding of a decrypted CKKS result before it leaves the key holder. A CKKS
    decryption returns m + e where e depends on the secret key; anyone who sees decryptions of
    ciphertexts whose messages it knows can solve for the key (Li & Micciancio, "On the Security of
    Homomorphic Encryption on Approximate Numbers", EUROCRYPT 2021, §4). The key holder therefore
    rounds the decrypted values to the grid 2^-g with 2^-g ≥ the error bound E and adds exact discrete
    Gaussian noise N_Z(0, σ²) on that grid, σ = √slots · 2^(s−1) grid units, from the CSPRNG.

Security of flooding (statistical): with |e| ≤ E ≤ 2^-g per slot, round(m + e) and round(m) differ by
at most one grid step per slot, and the statistical distance between N_Z(μ, σ²)^k and N_Z(μ + δ, σ²)^k
with ‖δ‖₂ ≤ √k is at most ‖δ‖₂/(2σ) ≤ 2^-s (Gaussian total-variation bound; the discrete Gaussian's
is the same up to a 1 + O(e^-σ²) factor). So each released vector is within 2^-s of one computed
without the key, and Q releases within Q·2^-s: s bits of statistical security per release. The price
in precision: the released values carry noise of standard deviation σ·2^-g = √slots·2^(s−1)·E, i.e.
s − 1 + log2(√slots) bits above the CKKS error; with s = 40, N = 8192 and E = 2^-60 that is about 2^-14.
Choose a larger scale (the aggregation parameters do) to keep the flooded result precise. BFV needs
none of this: its decryption is exact (the noise is removed by rounding), so it reveals only m.
References: Li, Micciancio, EUROCRYPT 2021 (attack and the noise-flooding countermeasure);
Li, Micciancio, Schultz, Sorrell, CRYPTO 2022 (tighter flooding analyses); Canonne, Kamath, Steinke 2020
(the exact discrete Gaussian sampler `dp.mechanisms.samplers` used here).
Cost: O(slots) exact samples per flooded vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpc.errors import ValueOutOfRange

SIGMA = 3.2
DEFAULT_STAT_SECURITY = 40


def b_clean(n: int) -> float:
    """High-probability bound on a fresh public-key encryption's error (canonical embedding, scaled units)."""
    return 8 * math.sqrt(2) * SIGMA * n + 6 * SIGMA * math.sqrt(n) + 16 * SIGMA * math.sqrt(n * n)


def b_rs(n: int) -> float:
    """Rounding error of a rescale or an encoding (scaled units)."""
    return math.sqrt(n / 3.0) * (3 + 8 * math.sqrt(n))


def b_ks(n: int) -> float:
    """Key-switching error per RNS digit (scaled units, special prime ≥ the digit's prime)."""
    return 8 * SIGMA * n / math.sqrt(3.0)


def fresh_error_bits(n: int, scale_bits: int) -> float:
    """log2 of the error bound of a fresh encryption, in value units at scale 2^scale_bits."""
    return math.log2(b_clean(n) + b_rs(n)) - scale_bits


@dataclass(frozen=True)
class Approx:
    """An encrypted value's magnitude bound `m` and error bound `e` (value units), tracked through ops."""

    m: float
    e: float


class ErrorModel:
    """Error bounds for one parameter set (N, scale, number of data primes L)."""

    def __init__(self, n: int, scale_bits: int, levels: int):
        self.n, self.delta, self.levels = n, 2.0 ** scale_bits, max(1, levels)
        self.e_enc = b_rs(n) / self.delta
        self.e_mul = (self.levels * b_ks(n) / self.delta + b_rs(n)) / self.delta
        self.e_rot = self.levels * b_ks(n) / self.delta

    def fresh(self, m: float) -> Approx:
        return Approx(m, (b_clean(self.n) + b_rs(self.n)) / self.delta)

    def add(self, *xs: Approx) -> Approx:
        return Approx(sum(x.m for x in xs), sum(x.e for x in xs))

    def add_plain(self, x: Approx, c: float) -> Approx:
        return Approx(x.m + abs(c), x.e + self.e_enc)

    def mul_plain(self, x: Approx, c: float) -> Approx:
        c = abs(c)
        return Approx(x.m * c, x.e * c + (x.m + x.e) * self.e_enc + self.e_enc)

    def linear(self, xs: list[Approx], weights) -> Approx:
        """Σ_j w_j·x_j (plaintext weights; one rescale per product, as TenSEAL does)."""
        w = np.abs(np.asarray(weights, dtype=np.float64))
        return Approx(float(sum(wj * x.m for wj, x in zip(w, xs))),
                      float(sum(wj * x.e + (x.m + x.e) * self.e_enc + self.e_enc for wj, x in zip(w, xs))))

    def mul(self, a: Approx, b: Approx) -> Approx:
        return Approx(a.m * b.m, a.m * b.e + b.m * a.e + a.e * b.e + self.e_mul)

    def polyval(self, x: Approx, coeffs) -> Approx:
        """p(x) = Σ a_k x^k: exact propagation Σ|a_k|((M+E)^k − M^k) plus k·e_mul·max(1, M)^k per term."""
        m, e = x.m, x.e
        out_m = out_e = 0.0
        for k, a in enumerate(coeffs):
            a = abs(float(a))
            if a == 0.0:
                continue
            out_m += a * m ** k
            if k:
                out_e += a * ((m + e) ** k - m ** k) + a * k * (self.e_mul + self.e_enc) * max(1.0, m + e) ** k
            else:
                out_e += self.e_enc
        return Approx(out_m, out_e)

    def rotate_sum(self, x: Approx, count: int) -> Approx:
        """Σ over `count` slots by log2(count) rotations."""
        r = max(1, math.ceil(math.log2(max(2, count))))
        return Approx(x.m * count, x.e * count + r * self.e_rot * count)


# ----------------------------------------------------------------------------------------- flooding
@dataclass(frozen=True)
class FloodingSpec:
    """Noise flooding for a decrypted CKKS vector: grid 2^-grid_bits, σ in grid units, s bits."""

    grid_bits: int
    sigma: float
    stat_security: int
    error_bound: float
    slots: int

    @property
    def noise_std(self) -> float:
        """Standard deviation of the flooding noise in value units (the precision it costs)."""
        return self.sigma * 2.0 ** -self.grid_bits

    def report(self) -> dict:
        return {"flooding": "discrete_gaussian", "flooding_sigma": self.noise_std,
                "flooding_grid_bits": self.grid_bits, "statistical_security_bits": self.stat_security,
                "ckks_error_bound": self.error_bound,
                "reference": "Li & Micciancio, EUROCRYPT 2021 (noise flooding against key recovery)"}


def flooding_spec(error_bound: float, slots: int, stat_security: int = DEFAULT_STAT_SECURITY, *,
                  magnitude: float = 1.0) -> FloodingSpec:
    """Flooding that makes a decrypted vector of `slots` values with per-slot error ≤ `error_bound` and
    public magnitude bound `magnitude` statistically independent (2^-s) of the secret key.

    The grid step is at least the error bound and at least the float64 resolution at `magnitude`
    (TenSEAL decodes to float64, whose rounding of m + e is part of the error that must be hidden), so
    the flooding's cost is √slots·2^(s−1)·max(E, 2^(⌈log2 magnitude⌉ − 52)) in standard deviation."""
    if not 16 <= stat_security <= 128:
        raise ValueOutOfRange(f"statistical security must be 16..128 bits, got {stat_security!r}")
    if not (error_bound > 0 and math.isfinite(error_bound)):
        raise ValueOutOfRange(f"the CKKS error bound must be positive and finite, got {error_bound!r}")
    float_step = 2.0 ** (math.ceil(math.log2(max(magnitude, 2.0 ** -300))) - 52)
    grid_bits = math.floor(-math.log2(max(error_bound, float_step)))
    sigma = math.sqrt(slots) * 2.0 ** (stat_security - 1)
    return FloodingSpec(grid_bits, sigma, stat_security, error_bound, slots)


def flood(values: np.ndarray, spec: FloodingSpec, prg=None) -> np.ndarray:
    """Round decrypted values to the grid and add discrete Gaussian noise of σ grid units (CSPRNG)."""
    v = np.asarray(values, dtype=np.float64)
    grid = np.rint(v * 2.0 ** spec.grid_bits)
    if np.any(np.abs(grid) >= 2.0 ** 53):
        raise ValueOutOfRange(f"decrypted values up to {np.max(np.abs(v)):g} do not fit the flooding grid 2^-"
                              f"{spec.grid_bits} in 53 bits (above the stated magnitude bound)")
    return (grid + wide_discrete_gaussian(spec.sigma, v.shape, prg)) * 2.0 ** -spec.grid_bits


LOW_SIGMA_BITS, SHIFT_BITS = 30, 24


def wide_discrete_gaussian(sigma: float, shape, prg=None) -> np.ndarray:
    """Integer noise of standard deviation σ, also beyond the exact sampler's 2^30 (σ ≤ 2^54).

    Up to 2^30: exact N_Z(0, σ²) (`dp.mechanisms.samplers`). Beyond: 2^24·Z_hi + Z_lo with exact
    Z_lo ~ N_Z(0, 2^60) and Z_hi ~ N_Z(0, (σ² − 2^60)/2^48). Since σ_lo = 2^30 ≥ √2·2^24·η_ε(Z) for
    ε = 2^-60 (η_ε(Z) < 3.7), the sum is within statistical distance O(ε) of N_Z(0, σ²) by the
    convolution lemma for discrete Gaussians (Peikert, CRYPTO 2010, Thm 3.1; Micciancio–Walter, CRYPTO
    2017, §3). Returned as float64 (exact below 2^53).
    """
    from dp.mechanisms import samplers

    if not 0 < sigma <= 2.0 ** 54:
        raise ValueOutOfRange(f"flooding σ = {sigma:g} grid units is outside (0, 2^54]; use a coarser grid")
    if sigma <= 2.0 ** LOW_SIGMA_BITS:
        return samplers.discrete_gaussian(sigma, shape, prg).astype(np.float64)
    lo = samplers.discrete_gaussian(2.0 ** LOW_SIGMA_BITS, shape, prg).astype(np.float64)
    hi_sigma = math.sqrt(sigma * sigma - 2.0 ** (2 * LOW_SIGMA_BITS)) / 2.0 ** SHIFT_BITS
    hi = samplers.discrete_gaussian(max(hi_sigma, 8.0), shape, prg)  # σ_hi above smoothing too (more noise is safe).astype(np.float64)
    return hi * 2.0 ** SHIFT_BITS + lo
