"""Privacy events as plain data: what was released, not how it is accounted.

An event says which mechanism ran with which noise (relative to the sensitivity), possibly
subsampled or composed; accountants (`dp.accounting`) turn events into (ε, δ). Events are
frozen dataclasses, hashable, and convert to Google's `dp_accounting` events with
`to_dp_accounting` where that library has the mechanism.

Neighbouring relation: add/remove one record, throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dp_accounting

from dp.errors import DPParameterError


def _positive(value: float, what: str) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise DPParameterError(f"{what} must be a positive finite number, got {value!r}")
    return v


@dataclass(frozen=True)
class LaplaceEvent:
    """(Discrete) Laplace noise of scale `noise_multiplier` × L1 sensitivity: ε = 1/noise_multiplier."""

    noise_multiplier: float

    def __post_init__(self):
        _positive(self.noise_multiplier, "Laplace noise multiplier")

    @property
    def epsilon(self) -> float:
        return 1.0 / self.noise_multiplier


@dataclass(frozen=True)
class GaussianEvent:
    """Gaussian noise of standard deviation `noise_multiplier` × L2 sensitivity.

    Also covers the discrete Gaussian: it has exactly the same Rényi/concentrated DP (CKS20 Thm 4).
    """

    noise_multiplier: float

    def __post_init__(self):
        _positive(self.noise_multiplier, "Gaussian noise multiplier")


@dataclass(frozen=True)
class SubsampledGaussianEvent:
    """One DP-SGD step: Poisson subsampling with rate `sample_rate`, then the Gaussian mechanism."""

    noise_multiplier: float
    sample_rate: float

    def __post_init__(self):
        _positive(self.noise_multiplier, "noise multiplier")
        if not 0 < float(self.sample_rate) <= 1:
            raise DPParameterError(f"sample rate must be in (0, 1], got {self.sample_rate!r}")


@dataclass(frozen=True)
class ZCDPEvent:
    """A mechanism known to be ρ-zero-concentrated DP (e.g. a sum of distributed discrete Gaussians)."""

    rho: float

    def __post_init__(self):
        _positive(self.rho, "rho")


@dataclass(frozen=True)
class DistributedGaussianEvent:
    """One step of the distributed discrete Gaussian, optionally Poisson-subsampled.

    The query (an integer vector of `dims` coordinates on the fixed-point grid, L2 sensitivity
    `grid_l2` grid units) is released with the sum of `honest` independent N_Z(0, σ_s²) noise
    shares, σ_s = noise_multiplier · grid_l2 / √honest: the shares that survive the colluders, so
    that σ is the multiplier of the honest noise, comparable with a central σ. Each record is in
    the step's batch independently with probability `sample_rate` (1: no sampling). Accounted in
    Rényi DP only (Kairouz, Liu, Steinke 2021 Prop. 14 for the sum; `dp.accounting` for the
    subsampling), so only the rdp accountant takes it.
    """

    noise_multiplier: float
    honest: int
    dims: int
    grid_l2: int
    sample_rate: float = 1.0

    def __post_init__(self):
        _positive(self.noise_multiplier, "noise multiplier")
        for name in ("honest", "dims", "grid_l2"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise DPParameterError(f"{name} must be a positive integer, got {v!r}")
        if not 0 < float(self.sample_rate) <= 1:
            raise DPParameterError(f"sample rate must be in (0, 1], got {self.sample_rate!r}")

    @property
    def share_sigma(self) -> float:
        """σ_s of each party's share, in grid units."""
        return self.noise_multiplier * self.grid_l2 / math.sqrt(self.honest)


@dataclass(frozen=True)
class ExponentialEvent:
    """The exponential mechanism (or report-noisy-max with Gumbel noise) at ε."""

    epsilon: float

    def __post_init__(self):
        _positive(self.epsilon, "epsilon")


@dataclass(frozen=True)
class SelfComposedEvent:
    """`event` repeated `count` times."""

    event: object
    count: int

    def __post_init__(self):
        if not isinstance(self.count, int) or self.count < 1:
            raise DPParameterError(f"count must be a positive integer, got {self.count!r}")


@dataclass(frozen=True)
class ComposedEvent:
    """Events run one after the other (on the same data)."""

    events: tuple

    def __post_init__(self):
        object.__setattr__(self, "events", tuple(self.events))


def dpsgd(noise_multiplier: float, sample_rate: float, steps: int) -> SelfComposedEvent:
    """T steps of DP-SGD with Poisson sampling: the event `mpc dp epsilon` accounts."""
    return SelfComposedEvent(SubsampledGaussianEvent(noise_multiplier, sample_rate), int(steps))


def dpsgd_schedule(sample_rate: float, runs) -> ComposedEvent:
    """DP-SGD with a noise schedule: `runs` is a sequence of (noise_multiplier, steps) in order."""
    return ComposedEvent(tuple(SelfComposedEvent(SubsampledGaussianEvent(float(m), sample_rate), int(c))
                               for m, c in runs if int(c) > 0))


def flatten_pure(event) -> list[tuple[float, int]]:
    """(ε, count) pairs of a composition of pure-DP events; raises for any other event."""
    if isinstance(event, LaplaceEvent):
        return [(event.epsilon, 1)]
    if isinstance(event, ExponentialEvent):
        return [(event.epsilon, 1)]
    if isinstance(event, SelfComposedEvent):
        return [(e, c * event.count) for e, c in flatten_pure(event.event)]
    if isinstance(event, ComposedEvent):
        return [pair for e in event.events for pair in flatten_pure(e)]
    raise DPParameterError(f"{type(event).__name__} is not a pure-DP event; use the rdp or pld accountant")


def to_dp_accounting(event) -> "dp_accounting.DpEvent":
    """The equivalent `dp_accounting` event (add/remove neighbours)."""
    if isinstance(event, LaplaceEvent):
        return dp_accounting.LaplaceDpEvent(event.noise_multiplier)
    if isinstance(event, GaussianEvent):
        return dp_accounting.GaussianDpEvent(event.noise_multiplier)
    if isinstance(event, SubsampledGaussianEvent):
        return dp_accounting.PoissonSampledDpEvent(event.sample_rate,
                                                   dp_accounting.GaussianDpEvent(event.noise_multiplier))
    if isinstance(event, ZCDPEvent):
        return dp_accounting.ZCDpEvent(event.rho)
    if isinstance(event, ExponentialEvent):
        # ε-DP exponential mechanism is ε-bounded-range, hence ε²/8-zCDP (Cesar & Rogers 2021, Lemma 3.2).
        return dp_accounting.ZCDpEvent(event.epsilon ** 2 / 8.0)
    if isinstance(event, DistributedGaussianEvent):
        raise DPParameterError("the distributed discrete Gaussian is accounted in Renyi DP only; "
                               "use the rdp accountant")
    if isinstance(event, SelfComposedEvent):
        return dp_accounting.SelfComposedDpEvent(to_dp_accounting(event.event), event.count)
    if isinstance(event, ComposedEvent):
        return dp_accounting.ComposedDpEvent([to_dp_accounting(e) for e in event.events])
    raise DPParameterError(f"unknown privacy event {event!r}")
