"""Distributed discrete-Gaussian noise: each party noises its own share before an output is opened.

What it computes: for an output x held in secret shares by n parties, party i adds an
independent noise share Z_i ~ N_Z(0, σ_s²) (exact sampler, its own os.urandom-seeded CSPRNG)
to its share (`add_private`), and only then is x + Σ_i Z_i opened. Nobody — the output party,
the client, any node — sees x itself.

Collusion analysis. Up to t parties may collude: they know their own Z_i and can subtract them
from the opened value, so the noise that protects x is the sum of the h = n − t honest shares.
σ_s is calibrated so that this sum alone gives (ε, δ)-DP: a sum of h independent N_Z(0, σ_s²)
is ρ-concentrated-DP-like with the Rényi bound of Kairouz, Liu & Steinke (2021, Prop. 14),
    D_α ≤ min{ α/2·Δ₂²/(hσ_s²) + τd,  α/2·(Δ₂²/(hσ_s²) + 2Δ₁τ/(√h σ_s) + τ²d),
               α/2·(Δ₂/(√h σ_s) + τ√d)² },   τ = 10·Σ_{k=1}^{h−1} exp(−2π²σ_s²·k/(k+1)),
converted to (ε, δ) over dp-accounting's orders; σ_s is the smallest (bisection) reaching the
target, and at least 1/2 (where the bound holds). The total noise variance is n·Var(Z_i); with
any t shares removed it is still h·Var(Z_i), the calibrated amount. With h = 1 (additive n-of-n
sharing against n − 1 colluders) each party adds the full central noise.

Central mode (`release_central`) is the weaker comparison: the output party reconstructs x and
adds the noise itself, so that party sees the raw output. Use it only where it is trusted.

Security: semi-honest parties; at most t of them collude (the session's threshold unless set).
A party that skips its noise share must be counted among the t: the guarantee rests on the h
honest shares only. The sensitivity is the protocol's `ReleaseSpec` claim.
References: P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete Gaussian Mechanism for
Federated Learning with Secure Aggregation", ICML 2021 (arXiv:2102.06387) Prop. 14; CKS20
(discrete Gaussian); N. Agarwal, P. Kairouz, Z. Liu, "The Skellam Mechanism", NeurIPS 2021
(the alternative we did not take: Skellam sums stay Skellam, but exact Poisson sampling is costlier).
Cost: no extra rounds (noise rides on the opening); per party O(d) exact samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib

from dp.errors import DPParameterError
from dp.mechanisms import grid, samplers
from dp.mechanisms.calibrate import _check_eps_delta
from mpc.crypto import PRG

MIN_SHARE_SIGMA = 0.5
ORDERS = np.asarray(rdp_lib.DEFAULT_RDP_ORDERS, dtype=np.float64)


def tau(share_sigma: float, honest: int) -> float:
    """τ of Kairouz–Liu–Steinke Prop. 14: how far a sum of h discrete Gaussians is from one."""
    k = np.arange(1, honest, dtype=np.float64)
    return 10.0 * float(np.sum(np.exp(-2.0 * math.pi ** 2 * share_sigma ** 2 * k / (k + 1.0))))


def rdp_sum_of_discrete_gaussians(orders, share_sigma: float, honest: int, l1: float, l2: float,
                                  dims: int) -> np.ndarray:
    """Rényi-DP curve of adding Σ of `honest` iid N_Z(0, σ_s²) to a query of grid sensitivities l1, l2."""
    if share_sigma < MIN_SHARE_SIGMA:
        raise DPParameterError(f"the sum bound needs share sigma >= 1/2, got {share_sigma}")
    a = np.asarray(orders, dtype=np.float64)
    t = tau(share_sigma, honest)
    var = honest * share_sigma ** 2
    sd = math.sqrt(var)
    b1 = a / 2 * l2 ** 2 / var + t * dims
    b2 = a / 2 * (l2 ** 2 / var + 2 * l1 * t / sd + t ** 2 * dims)
    b3 = a / 2 * (l2 / sd + t * math.sqrt(dims)) ** 2
    return np.minimum(np.minimum(b1, b2), b3)


def epsilon_of_sum(share_sigma: float, honest: int, l1: float, l2: float, dims: int, delta: float) -> float:
    """ε at δ of the sum of `honest` noise shares (what survives t colluders)."""
    rdp = rdp_sum_of_discrete_gaussians(ORDERS, share_sigma, honest, l1, l2, dims)
    return float(rdp_lib.compute_epsilon(ORDERS, rdp, delta)[0])


@dataclass(frozen=True)
class DistributedGaussian:
    """A calibrated distributed noise plan: n parties each add N_Z(0, share_sigma2); t may collude."""

    parties: int
    colluders: int
    share_sigma2: Fraction
    l1: int  # grid units
    l2: int
    dims: int
    epsilon: float
    delta: float
    frac_bits: int

    @property
    def honest(self) -> int:
        return self.parties - self.colluders

    def share(self, shape, prg: PRG | None = None) -> np.ndarray:
        """This party's noise share (int64, grid units), from its own CSPRNG."""
        return samplers.discrete_gaussian_exact(self.share_sigma2, shape, prg if prg is not None else PRG())

    def variance(self, removed: int = 0) -> float:
        """Noise variance (grid units²) left after `removed` shares are subtracted by colluders."""
        if not 0 <= removed <= self.parties:
            raise DPParameterError(f"removed must be in 0..{self.parties}")
        return (self.parties - removed) * samplers.discrete_gaussian_variance(self.share_sigma2)

    def achieved_epsilon(self) -> float:
        return epsilon_of_sum(math.sqrt(float(self.share_sigma2)), self.honest, self.l1, self.l2, self.dims,
                              self.delta)

    def tail_bound(self) -> float:
        """A public bound on |Σ noise| per coordinate in output units (exceeded w.p. < 2^-1000)."""
        return 40.0 * math.sqrt(self.parties * float(self.share_sigma2)) / 2.0 ** self.frac_bits + 1.0

    def report(self, name: str = "") -> dict:
        unit = 2.0 ** self.frac_bits
        return {"output": name, "epsilon": self.epsilon, "delta": self.delta,
                "mechanism": "distributed_discrete_gaussian",
                "noise_scale": math.sqrt(self.honest * float(self.share_sigma2)) / unit,
                "noise_scale_all_parties": math.sqrt(self.parties * float(self.share_sigma2)) / unit,
                "share_sigma": math.sqrt(float(self.share_sigma2)) / unit, "parties": self.parties,
                "colluders_tolerated": self.colluders, "grid_l2": self.l2, "frac_bits": self.frac_bits}


def plan_distributed_gaussian(l2: float, epsilon: float, delta: float, *, parties: int, colluders: int,
                              frac_bits: int = 16, dims: int = 1, l1: float | None = None) -> DistributedGaussian:
    """The smallest per-party σ_s for which any n − t honest shares give (ε, δ)-DP."""
    _check_eps_delta(epsilon, delta)
    if not isinstance(parties, int) or parties < 1:
        raise DPParameterError(f"parties must be a positive integer, got {parties!r}")
    if not isinstance(colluders, int) or not 0 <= colluders < parties:
        raise DPParameterError(f"colluders must be in 0..{parties - 1} (at least one honest party), got {colluders!r}")
    g2 = grid.grid_l2(l2, frac_bits, dims)
    g1 = grid.grid_l1(l1, frac_bits, dims) if l1 is not None else int(math.ceil(g2 * math.sqrt(dims)))
    h = parties - colluders

    def eps_at(s: float) -> float:
        return epsilon_of_sum(s, h, g1, g2, dims, delta)

    central = math.sqrt(g2 ** 2 / (2.0 * (math.sqrt(epsilon + math.log(1 / delta)) - math.sqrt(math.log(1 / delta))) ** 2))
    hi = max(MIN_SHARE_SIGMA, central / math.sqrt(h))
    while eps_at(hi) > epsilon:
        hi *= 1.5
    lo = hi / 2
    if lo < MIN_SHARE_SIGMA or eps_at(lo) <= epsilon:
        lo = MIN_SHARE_SIGMA if eps_at(MIN_SHARE_SIGMA) > epsilon else None
    if lo is None:
        hi = MIN_SHARE_SIGMA
    else:
        while hi - lo > 1e-6 * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if eps_at(mid) <= epsilon else (mid, hi)
    sigma2 = samplers.gaussian_parameter(hi)
    return DistributedGaussian(parties, colluders, sigma2, g1, g2, dims, float(epsilon), float(delta), frac_bits)
