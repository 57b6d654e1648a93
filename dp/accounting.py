"""Accountants: turn privacy events into (ε, δ), forwards and inverse.

What it computes:
  * `PureAccountant`: pure ε-DP events (Laplace, exponential mechanism) under basic composition
    (Σε) and advanced composition (Dwork, Rothblum, Vadhan 2010, Thm III.3, heterogeneous form
    in Kairouz, Oh, Viswanath 2015 §3.5): ε' = √(2 ln(1/δ') Σε_i²) + Σ ε_i(e^ε_i − 1)/(e^ε_i + 1)
    at failure probability δ'; the smaller of the two is reported.
  * `RdpAccountant`: Rényi DP through Google's `dp-accounting` (Mironov 2017; Mironov, Talwar,
    Zhang 2019 for the Poisson-subsampled Gaussian). Incremental: the RDP curve of each
    distinct event is computed once and cached, so adding k more steps of a known event to a
    running ledger costs one vector addition, and ε(δ) one conversion.
  * `PldAccountant`: privacy-loss distributions through `dp-accounting` (Koskela et al. 2020;
    Doroshenko et al. 2022), tighter and slower.
  * Poisson-subsampled Rényi DP for a mechanism given by its RDP curve (`rdp_poisson_subsampled`)
    and the distributed discrete Gaussian's event (`DistributedGaussianEvent`, one step of the
    cross-node DP-SGD): the curve of the sum of the h honest noise shares (Kairouz, Liu, Steinke
    2021 Prop. 14, `dp.distributed`) put through the subsampling bound; `distributed_dpsgd_epsilon`
    and `distributed_dpsgd_sigma` (σ for ε, δ, q, steps, parties, colluders).
  * Noise schedules: `dpsgd_schedule_epsilon` composes steps of different σ exactly (a
    ComposedEvent: dp-accounting's RDP adds the curves, its PLD convolves the distributions).
  * `epsilon(event, delta, accountant)`, `delta(event, epsilon, accountant)` and the inverse
    `smallest_noise(make_event, epsilon, delta, accountant)` (bisection on the noise multiplier,
    ε being decreasing in it), with `dpsgd_epsilon` / `dpsgd_sigma` behind `mpc dp epsilon|sigma`.

Subsampling (add/remove neighbours, Poisson rate q, integer order α ≥ 2, P the output without the
record, Q with it, M = (1 − q)P + qQ, L = log Q/P):
  * D_α(M‖P): E_P[(1 − q + q e^L)^α] = Σ_k C(α,k)(1 − q)^{α−k} q^k exp((k − 1) D_k(Q‖P)) exactly,
    so substituting any RDP bound ε(k) ≥ D_k(Q‖P) gives an upper bound (Mironov, Talwar, Zhang 2019
    §3; Zhu & Wang 2019 Thm 5 shows it is also a lower bound).
  * D_α(P‖M), `bound="symmetric"` (default): when (P, Q) is symmetric — a measure-preserving
    involution maps P to Q, as x ↦ 2s + Δ − x does for any symmetric noise added to an integer or
    real query, the discrete Gaussian and sums of discrete Gaussians included — pairing each loss
    value ℓ ≥ 0 with −ℓ (P(L = −ℓ) = e^ℓ P(L = ℓ)) reduces D_α(P‖M) ≤ D_α(M‖P) to the scalar
    inequality φ(a) + u·φ(b) ≥ 0 for u = e^ℓ ≥ 1, a = 1 − q + qu, b = 1 − q + q/u,
    φ(t) = t^α − t^{1−α}. It holds with equality at q ∈ {0, 1} and u = 1, is positive to third
    order near q = 0, and we check it numerically on a dense grid of (α, q, u)
    (tests/unit/test_dp_subsampled_rdp.py); we have not written a closed-form proof, which is
    why `bound="general"` exists.
  * `bound="general"`: Zhu & Wang 2019 Thm 6, valid for every mechanism without symmetry:
    (1 − q)^{α−1}(αq − q + 1) + C(α,2)q²(1 − q)^{α−2}e^{ε(2)}
      + 3 Σ_{ℓ≥3} C(α,ℓ)(1 − q)^{α−ℓ}q^ℓ e^{(ℓ−1)ε(ℓ)}.
  Both are capped by the unsampled curve (Rényi divergence is jointly quasi-convex; van Erven &
  Harremoës 2014 Thm 13). Fractional orders take the value at ⌈α⌉ (D_α is non-decreasing in α).

Neighbouring relation: add/remove one record.
References: Y. Zhu, Y.-X. Wang, "Poisson Subsampled Rényi Differential Privacy", ICML 2019;
P. Kairouz, Z. Liu, T. Steinke, "The Distributed Discrete Gaussian Mechanism", ICML 2021;
T. van Erven, P. Harremoës, "Rényi Divergence and Kullback-Leibler Divergence", IEEE T-IT 2014;
Dwork & Roth §3.5; I. Mironov, "Rényi Differential Privacy", CSF 2017; I. Mironov,
K. Talwar, L. Zhang, "Rényi DP of the Sampled Gaussian Mechanism", arXiv:1908.10530;
Google dp-accounting (github.com/google/differential-privacy/python/dp_accounting).
"""

from __future__ import annotations

import math
from typing import Callable

import dp_accounting
import numpy as np
from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib
from scipy.special import gammaln, logsumexp

from dp import events as ev
from dp.errors import DPParameterError

ACCOUNTANTS = ("rdp", "pld", "pure")


def _check_delta(delta: float) -> None:
    if not 0 < delta < 1:
        raise DPParameterError(f"delta must be in (0, 1), got {delta!r}")


class PureAccountant:
    """Basic and advanced composition of pure ε-DP events."""

    def __init__(self):
        self._pairs: list[tuple[float, int]] = []

    def compose(self, event, count: int = 1) -> None:
        for eps, c in ev.flatten_pure(event):
            self._pairs.append((eps, c * count))

    def basic_epsilon(self) -> float:
        return math.fsum(e * c for e, c in self._pairs)

    def advanced_epsilon(self, delta: float) -> float:
        _check_delta(delta)
        sq = math.fsum(e * e * c for e, c in self._pairs)
        drift = math.fsum(c * e * math.expm1(e) / (math.exp(e) + 1.0) for e, c in self._pairs)
        return math.sqrt(2.0 * math.log(1.0 / delta) * sq) + drift

    def epsilon(self, delta: float = 0.0) -> float:
        """Σε for δ = 0; min(basic, advanced) for δ > 0."""
        if delta == 0:
            return self.basic_epsilon()
        return min(self.basic_epsilon(), self.advanced_epsilon(delta))


class RdpAccountant:
    """Rényi-DP accountant with cached per-event curves (incremental updates)."""

    def __init__(self, orders=None):
        self._orders = np.asarray(orders if orders is not None else rdp_lib.DEFAULT_RDP_ORDERS, dtype=np.float64)
        self._rdp = np.zeros_like(self._orders)
        self._cache: dict = {}

    @property
    def orders(self) -> np.ndarray:
        return self._orders

    @property
    def rdp(self) -> np.ndarray:
        return self._rdp.copy()

    def curve(self, event) -> np.ndarray:
        """RDP of one occurrence of `event` at every order (cached)."""
        got = self._cache.get(event)
        if got is None and isinstance(event, ev.DistributedGaussianEvent):
            got = self._cache[event] = distributed_gaussian_rdp(self._orders, event)
        if got is None:
            acc = dp_accounting.rdp.RdpAccountant(self._orders)
            acc.compose(ev.to_dp_accounting(event))
            got = self._cache[event] = np.array(acc.rdp, dtype=np.float64)
        return got

    def compose(self, event, count: int = 1) -> None:
        if isinstance(event, ev.SelfComposedEvent):
            self.compose(event.event, count * event.count)
        elif isinstance(event, ev.ComposedEvent):
            for e in event.events:
                self.compose(e, count)
        else:
            self._rdp = self._rdp + count * self.curve(event)

    def epsilon(self, delta: float) -> float:
        _check_delta(delta)
        return float(rdp_lib.compute_epsilon(self._orders, self._rdp, delta)[0])

    def delta(self, epsilon: float) -> float:
        return float(rdp_lib.compute_delta(self._orders, self._rdp, epsilon)[0])


class PldAccountant:
    """Privacy-loss-distribution accountant (dp-accounting's PLDAccountant)."""

    def __init__(self, value_discretization_interval: float = 1e-4):
        self._acc = dp_accounting.pld.PLDAccountant(value_discretization_interval=value_discretization_interval)

    def compose(self, event, count: int = 1) -> None:
        target = ev.to_dp_accounting(event)
        if not self._acc.supports(target):
            raise DPParameterError(f"the PLD accountant does not support {event!r}; use --accountant rdp")
        self._acc.compose(target, count)

    def epsilon(self, delta: float) -> float:
        _check_delta(delta)
        return float(self._acc.get_epsilon(delta))

    def delta(self, epsilon: float) -> float:
        return float(self._acc.get_delta(epsilon))


def make_accountant(name: str):
    """A fresh accountant by name: "rdp", "pld" or "pure"."""
    if name == "rdp":
        return RdpAccountant()
    if name == "pld":
        return PldAccountant()
    if name == "pure":
        return PureAccountant()
    raise DPParameterError(f"unknown accountant {name!r}; choose one of {', '.join(ACCOUNTANTS)}")


def epsilon(event, delta: float, accountant: str = "rdp") -> float:
    """ε at δ of `event` under the named accountant."""
    acc = make_accountant(accountant)
    acc.compose(event)
    return acc.epsilon(delta)


def delta(event, eps: float, accountant: str = "rdp") -> float:
    """δ at ε of `event` (rdp or pld)."""
    acc = make_accountant(accountant)
    if isinstance(acc, PureAccountant):
        raise DPParameterError("the pure accountant has no delta(epsilon); use rdp or pld")
    acc.compose(event)
    return acc.delta(eps)


def smallest_noise(make_event: Callable[[float], object], target_epsilon: float, target_delta: float,
                   accountant: str = "rdp", *, rel_tol: float = 1e-4, hi: float = 1.0) -> float:
    """The smallest noise multiplier m (to rel_tol, rounded up) with ε(make_event(m)) <= target_epsilon."""
    if not (math.isfinite(target_epsilon) and target_epsilon > 0):
        raise DPParameterError(f"target epsilon must be positive, got {target_epsilon!r}")
    _check_delta(target_delta)

    def eps_at(m: float) -> float:
        return epsilon(make_event(m), target_delta, accountant)

    lo = hi
    while eps_at(hi) > target_epsilon:
        lo, hi = hi, hi * 2.0
        if hi > 1e6:
            raise DPParameterError(f"no noise multiplier up to 1e6 reaches epsilon {target_epsilon}")
    if lo == hi:
        lo = hi / 2.0
        while lo > 1e-3 and eps_at(lo) <= target_epsilon:
            hi, lo = lo, lo / 2.0
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if eps_at(mid) <= target_epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def dpsgd_epsilon(sigma: float, sample_rate: float, steps: int, delta: float, accountant: str = "rdp") -> float:
    """ε of DP-SGD (Poisson-subsampled Gaussian, add/remove neighbours)."""
    return epsilon(ev.dpsgd(sigma, sample_rate, steps), delta, accountant)


def dpsgd_sigma(target_epsilon: float, delta: float, sample_rate: float, steps: int,
                accountant: str = "rdp", rel_tol: float = 1e-4) -> float:
    """The smallest noise multiplier for which DP-SGD reaches `target_epsilon` at `delta`."""
    return smallest_noise(lambda m: ev.dpsgd(m, sample_rate, steps), target_epsilon, delta, accountant,
                          rel_tol=rel_tol)


SUBSAMPLING_BOUNDS = ("symmetric", "general")


def rdp_poisson_subsampled(orders, curve: Callable[[np.ndarray], np.ndarray], sample_rate: float,
                           bound: str = "symmetric") -> np.ndarray:
    """RDP at `orders` of a mechanism with RDP curve `curve` (vectorised over integer orders ≥ 2)
    run on a Poisson sample of rate q; see the module docstring for the two bounds."""
    if bound not in SUBSAMPLING_BOUNDS:
        raise DPParameterError(f"bound must be one of {SUBSAMPLING_BOUNDS}, got {bound!r}")
    q = float(sample_rate)
    if not 0 < q <= 1:
        raise DPParameterError(f"sample rate must be in (0, 1], got {sample_rate!r}")
    orders = np.asarray(orders, dtype=np.float64)
    ints = np.maximum(2, np.ceil(orders)).astype(np.int64)
    top = int(ints.max())
    ks = np.arange(2, top + 1)
    eps_k = np.asarray(curve(ks.astype(np.float64)), dtype=np.float64)
    unsampled = dict(zip(ks.tolist(), eps_k.tolist()))
    if q == 1.0:
        return np.array([unsampled[int(a)] for a in ints])
    lq, l1q = math.log(q), math.log1p(-q)
    out = {}
    for a in np.unique(ints).tolist():
        k = ks[:a - 1]  # 2..a
        terms = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1) + (a - k) * l1q + k * lq + (k - 1) * eps_k[:a - 1]
        if bound == "general":
            terms = terms + np.where(k >= 3, math.log(3.0), 0.0)
        head = (a - 1) * l1q + math.log1p((a - 1) * q)  # k = 0 and k = 1
        log_moment = logsumexp(np.concatenate([[head], terms]))
        out[a] = min(log_moment / (a - 1), unsampled[a])
    return np.array([out[int(a)] for a in ints])


def distributed_gaussian_rdp(orders, event: "ev.DistributedGaussianEvent", bound: str = "symmetric") -> np.ndarray:
    """RDP curve of one (subsampled) distributed discrete-Gaussian step (KLS21 Prop. 14 + subsampling)."""
    from dp.distributed import rdp_sum_of_discrete_gaussians

    l1 = int(math.ceil(math.sqrt(event.dims) * event.grid_l2))

    def curve(a):
        return rdp_sum_of_discrete_gaussians(a, event.share_sigma, event.honest, l1, event.grid_l2, event.dims)

    return rdp_poisson_subsampled(orders, curve, event.sample_rate, bound)


def dpsgd_schedule_epsilon(sample_rate: float, runs, delta: float, accountant: str = "pld") -> float:
    """ε of DP-SGD whose steps run with noise multipliers given as (σ, steps) runs, in order."""
    return epsilon(ev.dpsgd_schedule(sample_rate, runs), delta, accountant)


def distributed_dpsgd_event(sigma: float, sample_rate: float, steps: int, *, parties: int, colluders: int,
                            dims: int, grid_l2: int) -> "ev.SelfComposedEvent":
    """`steps` steps of cross-node DP-SGD: n parties, t colluders, h = n − t honest noise shares."""
    if not isinstance(parties, int) or parties < 1:
        raise DPParameterError(f"parties must be a positive integer, got {parties!r}")
    if not isinstance(colluders, int) or not 0 <= colluders < parties:
        raise DPParameterError(f"colluders must be in 0..{parties - 1} (at least one honest party), got {colluders!r}")
    return ev.SelfComposedEvent(ev.DistributedGaussianEvent(float(sigma), parties - colluders, int(dims),
                                                            int(grid_l2), float(sample_rate)), int(steps))


def distributed_dpsgd_epsilon(sigma: float, sample_rate: float, steps: int, delta: float, *, parties: int,
                              colluders: int, dims: int, grid_l2: int) -> float:
    """ε (RDP) of cross-node DP-SGD with honest-noise multiplier σ against `colluders` colluding parties."""
    return epsilon(distributed_dpsgd_event(sigma, sample_rate, steps, parties=parties, colluders=colluders,
                                           dims=dims, grid_l2=grid_l2), delta, "rdp")


def distributed_dpsgd_sigma(target_epsilon: float, delta: float, sample_rate: float, steps: int, *, parties: int,
                            colluders: int, dims: int, grid_l2: int, rel_tol: float = 1e-4) -> float:
    """The smallest honest-noise multiplier σ reaching `target_epsilon` at `delta` (each party then adds
    shares of σ_s = σ·grid_l2/√(parties − colluders) grid units)."""
    def make(m):
        return distributed_dpsgd_event(m, sample_rate, steps, parties=parties, colluders=colluders,
                                       dims=dims, grid_l2=grid_l2)

    def floor_ok(m):  # KLS21 Prop. 14 needs σ_s ≥ 1/2
        return m * grid_l2 / math.sqrt(parties - colluders) >= 0.5

    sigma = smallest_noise(make, target_epsilon, delta, "rdp", rel_tol=rel_tol)
    if not floor_ok(sigma):
        sigma = 0.5 * math.sqrt(parties - colluders) / grid_l2
    return sigma
