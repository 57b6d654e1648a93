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
  * `epsilon(event, delta, accountant)`, `delta(event, epsilon, accountant)` and the inverse
    `smallest_noise(make_event, epsilon, delta, accountant)` (bisection on the noise multiplier,
    ε being decreasing in it), with `dpsgd_epsilon` / `dpsgd_sigma` behind `mpc dp epsilon|sigma`.

Neighbouring relation: add/remove one record.
References: Dwork & Roth §3.5; I. Mironov, "Rényi Differential Privacy", CSF 2017; I. Mironov,
K. Talwar, L. Zhang, "Rényi DP of the Sampled Gaussian Mechanism", arXiv:1908.10530;
Google dp-accounting (github.com/google/differential-privacy/python/dp_accounting).
"""

from __future__ import annotations

import math
from typing import Callable

import dp_accounting
import numpy as np
from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib

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
