"""Noise calibration: Laplace scale for ε-DP, Gaussian σ for (ε, δ)-DP (continuous and discrete).

What it computes:
  * `laplace_scale(eps, l1)`: Δ₁/ε, the discrete Laplace scale giving ε-DP for integer-valued
    queries of L1 sensitivity Δ₁ (CKS20 §2; same as the continuous Laplace mechanism).
  * `analytic_gaussian_sigma(eps, delta, l2)`: the smallest σ with which the (continuous)
    Gaussian mechanism is (ε, δ)-DP, by bisection on the exact condition of Balle and Wang
    (2018, Theorem 8): Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ) ≤ δ.
  * `discrete_gaussian_delta(sigma2, eps, l2)` / `discrete_gaussian_sigma(eps, delta, l2)`:
    the same for the discrete Gaussian N_Z(0, σ²) on integer-valued queries (CKS20 Theorem 7
    for one dimension: δ = P[Y > εσ²/Δ − Δ/2] − e^ε P[Y > εσ²/Δ + Δ/2]). The tails are exact
    sums for σ ≤ 2000 and rigorous integral bounds beyond (Σ_{y≥m} f(y) lies between
    ∫_m^∞ f and f(m) + ∫_m^∞ f for decreasing f), always erring towards a larger δ. For vector
    queries we use the one-dimensional formula with the L2 sensitivity, which CKS20 Theorem 15
    justifies only up to a slack term; callers that need the multivariate guarantee account via
    zCDP (ρ = Δ₂²/(2σ²), CKS20 Theorem 14), which `dp.accounting` does.

References: C. Dwork, A. Roth, "The Algorithmic Foundations of DP" §3.3; B. Balle, Y.-X.
Wang, "Improving the Gaussian Mechanism for DP: Analytical Calibration and Optimal Denoising",
ICML 2018; C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for DP", NeurIPS 2020.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr, ndtr

from dp.errors import DPParameterError

EXACT_SUM_MAX_SIGMA = 2000.0


def _check_eps_delta(eps: float, delta: float | None = None) -> None:
    if not (math.isfinite(eps) and eps > 0):
        raise DPParameterError(f"epsilon must be a positive finite number, got {eps!r}")
    if delta is not None and not 0 < delta < 1:
        raise DPParameterError(f"delta must be in (0, 1), got {delta!r}")


def _check_sensitivity(s: float, what: str) -> None:
    if not (math.isfinite(s) and s > 0):
        raise DPParameterError(f"{what} sensitivity must be a positive finite number, got {s!r}")


def laplace_scale(eps: float, l1: float) -> float:
    """Scale Δ₁/ε of the Laplace mechanism for ε-DP."""
    _check_eps_delta(eps)
    _check_sensitivity(l1, "L1")
    return l1 / eps


def analytic_gaussian_delta(sigma: float, eps: float, l2: float) -> float:
    """δ(ε) of the continuous Gaussian mechanism with noise σ and L2 sensitivity Δ (exact)."""
    a = l2 / (2.0 * sigma)
    b = eps * sigma / l2
    first = ndtr(a - b)
    second = math.exp(eps + float(log_ndtr(-a - b)))
    return max(0.0, float(first - second))


def _bisect_sigma(delta_of, target: float, lo: float, hi: float, rel_tol: float = 1e-9) -> float:
    """Smallest σ in [lo, hi] (up to rel_tol, rounding up) with delta_of(σ) <= target; δ decreases in σ."""
    while delta_of(hi) > target:
        hi *= 2.0
    while lo > 0 and delta_of(lo) <= target:
        lo /= 2.0
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if delta_of(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def analytic_gaussian_sigma(eps: float, delta: float, l2: float) -> float:
    """Smallest σ for (ε, δ)-DP of the Gaussian mechanism (Balle–Wang 2018), by bisection."""
    _check_eps_delta(eps, delta)
    _check_sensitivity(l2, "L2")
    guess = l2 * math.sqrt(2.0 * math.log(1.25 / delta)) / eps  # classic bound (valid for eps < 1)
    return _bisect_sigma(lambda s: analytic_gaussian_delta(s, eps, l2), delta, guess / 8.0, guess)


# ----------------------------------------------------------------- discrete Gaussian (CKS20)

def _tail_sum_bounds(m: int, sigma2: float) -> tuple[float, float]:
    """Lower and upper bounds on S(m) = Σ_{y≥m} exp(-y²/(2σ²)) for m >= 1."""
    sigma = math.sqrt(sigma2)
    if sigma <= EXACT_SUM_MAX_SIGMA:
        top = m + int(math.ceil(math.sqrt(2.0 * sigma2 * 750.0))) + 2
        y = np.arange(m, top, dtype=np.float64)
        s = math.fsum(np.exp(-(y * y) / (2.0 * sigma2)))
        return s * (1 - 1e-15), s * (1 + 1e-15)
    integral = sigma * math.sqrt(2.0 * math.pi) * float(ndtr(-m / sigma))
    return integral, integral + math.exp(-(m * m) / (2.0 * sigma2))


def _prob_at_least_bounds(m: int, sigma2: float) -> tuple[float, float]:
    """Bounds on P[Y >= m] for Y ~ N_Z(0, σ²)."""
    s1_lo, s1_hi = _tail_sum_bounds(1, sigma2)
    z_lo, z_hi = 1.0 + 2.0 * s1_lo, 1.0 + 2.0 * s1_hi
    if m >= 1:
        lo, hi = _tail_sum_bounds(m, sigma2)
        return lo / z_hi, min(1.0, hi / z_lo)
    lo, hi = _tail_sum_bounds(1 - m, sigma2)  # P[Y >= m] = 1 - P[Y >= 1 - m] by symmetry
    return max(0.0, 1.0 - hi / z_lo), 1.0 - lo / z_hi


def discrete_gaussian_delta(sigma2: float, eps: float, l2: float) -> float:
    """An upper bound on δ(ε) of the discrete Gaussian mechanism N_Z(0, σ²), sensitivity Δ (CKS20 Thm 7)."""
    _check_eps_delta(eps)
    _check_sensitivity(l2, "L2")
    sigma2 = float(sigma2)
    x1 = eps * sigma2 / l2 - l2 / 2.0
    x2 = eps * sigma2 / l2 + l2 / 2.0
    p1_hi = _prob_at_least_bounds(math.floor(x1) + 1, sigma2)[1]  # P[Y > x] = P[Y >= floor(x)+1]
    p2_lo = _prob_at_least_bounds(math.floor(x2) + 1, sigma2)[0]
    return max(0.0, p1_hi - math.exp(eps) * p2_lo)


def discrete_gaussian_sigma(eps: float, delta: float, l2: float) -> float:
    """Smallest σ (up to 1e-9 relative, rounded up) for (ε, δ)-DP of the discrete Gaussian mechanism."""
    _check_eps_delta(eps, delta)
    _check_sensitivity(l2, "L2")
    start = analytic_gaussian_sigma(eps, delta, l2)
    return _bisect_sigma(lambda s: discrete_gaussian_delta(s * s, eps, l2), delta, start / 2.0, start * 1.01,
                         rel_tol=1e-7)
