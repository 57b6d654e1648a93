"""Feature scaling without pooled statistics: public transforms, public bounds, or a DP pre-pass.

What it computes:
  * `log_transform(X, offset)`: log(x + offset) per value — a fixed function of each value,
    touching no statistic of the data (for positive measurements spread over orders of magnitude);
  * `PublicBounds(lower, upper)`: clips each feature to bounds the data owner declares public
    (domain knowledge: instrument ranges, units, published reference ranges — never bounds
    computed from the training rows, which would leak them) and maps them to [−1, 1];
  * `DPStandardizer`: per-feature mean and standard deviation released with noise. Each feature is
    clipped to public bounds [lo_j, hi_j] around c_j = (lo_j + hi_j)/2, half-width h_j; one
    vector query [κ·N, Σ(x − c), Σ(x − c)²/h] (κ = ‖h‖₂) has L2 sensitivity ‖h‖₂·√3 for
    add/remove of one row; it is rounded to the 2^-16 grid and released with discrete-Gaussian noise of
    multiplier σ (dp.mechanisms.table_sampler; grid rounding inside the sensitivity as in
    dp.mechanisms.grid). Its privacy event, `GaussianEvent(σ)`, is handed to the trainer
    (`DPSGD(prior_events=...)`), whose accountant composes it with the training steps, so the
    reported ε covers the pre-pass. The noisy count is used only inside the estimate. With
    `parties` > 1 the noise is distributed as in the training (n shares, n − t honest ones
    carrying σ), the arithmetic of the statistics protocols' distributed release.
`prepass_sigma(epsilon, delta, share)` picks σ so that the pre-pass takes `share` of the zCDP
cost ρ(ε, δ) = (√(ln 1/δ + ε) − √(ln 1/δ))²; the trainer then calibrates its own noise so that
the total meets (ε, δ) exactly under its accountant.

Neighbouring relation: add/remove one row. Cost: one pass over the data, 2d + 1 noise samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dp import events as ev
from dp.errors import DPParameterError
from dp.mechanisms import grid as gridmod, table_sampler
from mpc.crypto import PRG
from mpc.errors import ParameterError

FRAC_BITS = 16


def log_transform(X, offset: float = 1e-3) -> np.ndarray:
    """log(x + offset), value by value (values must exceed −offset)."""
    X = np.asarray(X, dtype=np.float64)
    if np.any(X <= -offset):
        raise ParameterError(f"log_transform needs every value > {-offset}")
    return np.log(X + offset)


def _bounds(lower, upper, d: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (d,)).copy()
    hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (d,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi > lo)):
        raise ParameterError("public bounds must be finite with upper > lower for every feature")
    return lo, hi


@dataclass
class PublicBounds:
    """Clip to declared public bounds and map [lower, upper] to [−1, 1] per feature."""

    lower: object
    upper: object

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        lo, hi = _bounds(self.lower, self.upper, X.shape[1])
        return (np.clip(X, lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2)


def prepass_sigma(epsilon: float, delta: float, share: float) -> float:
    """σ of a Gaussian release costing `share` of the zCDP budget ρ(ε, δ) (a split heuristic)."""
    if not 0 < share < 1:
        raise DPParameterError(f"share must be in (0, 1), got {share!r}")
    L = math.log(1 / delta)
    rho = (math.sqrt(L + epsilon) - math.sqrt(L)) ** 2
    return 1.0 / math.sqrt(2 * share * rho)


class DPStandardizer:
    """DP per-feature mean and standard deviation within public bounds (see the module docstring)."""

    def __init__(self, lower, upper, noise_multiplier: float, *, min_std_fraction: float = 0.02,
                 parties: int = 1, colluders: int = 0, prg: PRG | None = None):
        if not noise_multiplier > 0:
            raise DPParameterError(f"noise multiplier must be positive, got {noise_multiplier!r}")
        if not isinstance(parties, int) or parties < 1 or not 0 <= colluders < parties:
            raise DPParameterError(f"need parties >= 1 and colluders in 0..parties-1, got {parties}, {colluders}")
        self.parties, self.colluders = parties, colluders
        self.lower, self.upper = lower, upper
        self.noise_multiplier = float(noise_multiplier)
        self.min_std_fraction = min_std_fraction
        self.prg = prg

    @property
    def event(self):
        """The privacy event of `fit` (compose it with the training: DPSGD(prior_events=[...])).

        With several parties the release carries distributed noise (each party a share of
        σ·Δ/√(parties − colluders)), accounted like the training's (RDP only)."""
        if self.parties == 1:
            return ev.GaussianEvent(self.noise_multiplier)
        return ev.DistributedGaussianEvent(self.noise_multiplier, self.parties - self.colluders, self._dims, self._sens)

    def fit(self, X) -> "DPStandardizer":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or not np.all(np.isfinite(X)):
            raise ParameterError("DPStandardizer needs a finite 2-D array")
        d = X.shape[1]
        lo, hi = _bounds(self.lower, self.upper, d)
        c, h = (lo + hi) / 2, (hi - lo) / 2
        z = np.clip(X, lo, hi) - c
        kappa = float(np.linalg.norm(h))
        query = np.concatenate([[kappa * X.shape[0]], z.sum(axis=0), (z * z / h).sum(axis=0)])
        l2 = kappa * math.sqrt(3.0)
        sens = gridmod.grid_l2(l2, FRAC_BITS, query.size)
        self._dims, self._sens = int(query.size), int(sens)
        enc = np.rint(np.ldexp(query, FRAC_BITS)).astype(np.int64)
        h_parties = self.parties - self.colluders
        share = self.noise_multiplier * sens / np.sqrt(h_parties) if self.parties > 1 else self.noise_multiplier * sens
        noise = sum(table_sampler.discrete_gaussian(share, query.size, self.prg) for _ in range(self.parties))
        noisy = np.ldexp((enc + noise).astype(np.float64), -FRAC_BITS)
        n_hat = max(noisy[0] / kappa, 1.0)
        m = np.clip(noisy[1:d + 1] / n_hat, -h, h)
        second = noisy[d + 1:] * h / n_hat
        var = np.maximum(second - m * m, (self.min_std_fraction * h) ** 2)
        self.mean_ = c + m
        self.scale_ = np.sqrt(var)
        self.lo_, self.hi_ = lo, hi
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return (np.clip(X, self.lo_, self.hi_) - self.mean_) / self.scale_
