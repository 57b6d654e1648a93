"""The privacy plan of a DP-SGD run: which events, which noise, what was spent.

What it computes: from (ε, δ), the sampling rate q, the epochs and steps per epoch and a noise
schedule, the noise multiplier of every epoch (one scale found by bisection, `dp.accounting`),
and afterwards the ε of the steps that actually ran (early stopping charges only those).
Two mechanisms:
  * central (one organisation): each step is a Poisson-subsampled Gaussian event
    (`dp.events.SubsampledGaussianEvent`), accountant "pld" (default) or "rdp";
  * distributed (rows across `parties` contributors, up to `colluders` of them colluding): each
    step is a `DistributedGaussianEvent` — the h = parties − colluders honest noise shares must
    alone reach σ — accounted in RDP only (KLS21 Prop. 14 and the subsampling bound of
    `dp.accounting`). σ is the honest noise's multiplier; all n shares together carry n/h times
    the variance, which is the honest price of tolerating t colluders.
Neighbouring relation: add/remove one record (one row of one contributor).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib

from dp import accounting, events as ev
from dp.errors import DPParameterError

ACCOUNTANTS = ("pld", "rdp")


def accounted_rate(sample_rate: float) -> tuple[float, int]:
    """(q used by the accountant, 64-bit threshold): a record is sampled iff a PRG word < threshold.

    The true rate threshold/2^64 is ≥ q and within 2^-64 of it; the accountant gets the true rate
    rounded up to a float, never less than what runs.
    """
    q = Fraction(float(sample_rate))
    if not 0 < q <= 1:
        raise DPParameterError(f"sample rate must be in (0, 1], got {sample_rate!r}")
    if q == 1:
        return 1.0, 1 << 64
    thr = math.ceil(q * (1 << 64))
    rate = Fraction(thr, 1 << 64)
    f = float(rate)
    if Fraction(f) < rate:
        f = math.nextafter(f, 2.0)
    return min(f, 1.0), thr


@dataclass(frozen=True)
class Mechanism:
    """Central or distributed noise; for distributed, the parties, colluders, dims and grid L2."""

    kind: str = "central"
    parties: int = 1
    colluders: int = 0
    dims: int = 1
    grid_l2: int = 1

    def step_event(self, sigma: float, q: float):
        if self.kind == "central":
            return ev.SubsampledGaussianEvent(sigma, q)
        return ev.DistributedGaussianEvent(sigma, self.parties - self.colluders, self.dims, self.grid_l2, q)

    def spec(self) -> dict:
        if self.kind == "central":
            return {"mechanism": "poisson_subsampled_discrete_gaussian"}
        return {"mechanism": "poisson_subsampled_distributed_discrete_gaussian", "parties": self.parties,
                "colluders": self.colluders, "honest": self.parties - self.colluders}


def _epsilon(event, delta: float, accountant: str) -> float:
    """accounting.epsilon with dp-accounting's benign "excluding this order" warnings silenced."""
    try:
        import absl.logging as alog
    except ImportError:  # pragma: no cover
        return accounting.epsilon(event, delta, accountant)
    level = alog.get_verbosity()
    alog.set_verbosity(alog.ERROR)
    try:
        return accounting.epsilon(event, delta, accountant)
    finally:
        alog.set_verbosity(level)


def _event(mech: Mechanism, q: float, runs, prior: tuple = ()):
    merged: dict[float, int] = {}
    for s, k in runs:  # composition is commutative: one self-composed event per distinct σ
        if int(k) > 0:
            merged[float(s)] = merged.get(float(s), 0) + int(k)
    runs = list(merged.items())
    if (mech.kind == "central" and q == 1.0 and all(s > 0 for s, _ in runs)
            and all(isinstance(p, ev.GaussianEvent) for p in prior)):
        # Without sampling, Gaussian releases of multipliers σ_t compose exactly into one Gaussian of
        # multiplier (Σ 1/σ_t²)^(-1/2) (same Rényi curve, same privacy-loss distribution).
        inv = math.fsum(k / s ** 2 for s, k in runs) + math.fsum(1 / p.noise_multiplier ** 2 for p in prior)
        return ev.GaussianEvent(inv ** -0.5)
    return ev.ComposedEvent(tuple(prior) + tuple(ev.SelfComposedEvent(mech.step_event(s, q), k) for s, k in runs))


_FAST_ORDERS = np.arange(2, 257, dtype=np.float64)


def _rdp_bracket_epsilon(mech: Mechanism, q: float, runs, delta: float, prior: tuple = ()) -> float:
    """A fast upper bound on ε (integer-order RDP) used to bracket the calibration."""
    acc = accounting.RdpAccountant(_FAST_ORDERS)
    for p in prior:
        acc.compose(p)
    total = acc.rdp
    for s, k in runs:
        if mech.kind == "central":
            total += k * accounting.rdp_poisson_subsampled(_FAST_ORDERS, lambda a, s=s: a / (2 * s * s), q)
        else:
            total += k * accounting.distributed_gaussian_rdp(_FAST_ORDERS, mech.step_event(s, q))
    return float(rdp_lib.compute_epsilon(_FAST_ORDERS, total, delta)[0])


@functools.lru_cache(maxsize=256)
def _calibrate(target: float, delta: float, q: float, rel_runs: tuple, accountant: str, mech: Mechanism,
               prior: tuple = ()) -> float:
    def eps(scale):
        return _epsilon(_event(mech, q, [(scale * r, k) for r, k in rel_runs], prior), delta, accountant)

    def bracket(scale):
        return _rdp_bracket_epsilon(mech, q, [(scale * r, k) for r, k in rel_runs], delta, prior)

    hi = 1.0
    while bracket(hi) > target:
        hi *= 2.0
        if hi > 1e7:
            raise DPParameterError(f"no noise multiplier up to 1e7 reaches epsilon {target}")
    while eps(hi) > target:  # the bracket bounds the accountant from above; be safe anyway
        hi *= 1.25
    lo = hi / 2.0
    while lo > 1e-6 and eps(lo) <= target:
        hi, lo = lo, lo / 2.0
    while hi - lo > 1e-3 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if eps(mid) <= target else (mid, hi)
    scale = hi
    if mech.kind == "distributed":
        floor = 0.5 * math.sqrt(mech.parties - mech.colluders) / mech.grid_l2 / min(r for r, _ in rel_runs)
        scale = max(scale, floor)  # KLS21 Prop. 14 needs every share σ_s ≥ 1/2 grid unit
    return scale


@dataclass
class PrivacyPlan:
    """Noise multiplier per epoch and the accounting of a run."""

    sample_rate: float
    steps_per_epoch: list
    multipliers: list
    delta: float
    accountant: str
    mechanism: Mechanism = field(default_factory=Mechanism)
    target_epsilon: float | None = None
    prior: tuple = ()

    @property
    def steps(self) -> int:
        return int(sum(self.steps_per_epoch))

    def runs(self, steps_run: int | None = None) -> list[tuple[float, int]]:
        """(σ, steps) per epoch for the first `steps_run` steps (all planned steps by default)."""
        left = self.steps if steps_run is None else int(steps_run)
        out = []
        for s, k in zip(self.multipliers, self.steps_per_epoch):
            take = min(k, left)
            if take > 0:
                out.append((s, take))
            left -= take
        return out

    def event(self, steps_run: int | None = None):
        """The privacy event of the prior releases and the first `steps_run` steps (all by default)."""
        return _event(self.mechanism, self.sample_rate, self.runs(steps_run), self.prior)

    def epsilon(self, steps_run: int | None = None) -> float:
        runs = self.runs(steps_run)
        if not runs and not self.prior:
            return 0.0
        if any(s == 0 for s, _ in runs):
            return math.inf
        return _epsilon(self.event(steps_run), self.delta, self.accountant)

    def sigma_at(self, step: int) -> float:
        k = 0
        for s, n in zip(self.multipliers, self.steps_per_epoch):
            k += n
            if step < k:
                return s
        raise IndexError(step)

    def spec(self) -> dict:
        return {"prior_events": [repr(p) for p in self.prior], "sample_rate": self.sample_rate,
                "steps_planned": self.steps, "steps_per_epoch": list(self.steps_per_epoch),
                "noise_multipliers": list(self.multipliers), "delta": self.delta, "accountant": self.accountant,
                **self.mechanism.spec()}


def plan(*, sample_rate: float, steps_per_epoch, delta: float, accountant: str, epsilon: float | None = None,
         noise_multiplier: float | None = None, relative=None, mechanism: Mechanism | None = None,
         prior=()) -> PrivacyPlan:
    """A plan for (ε, δ) (σ calibrated) or for a given base noise multiplier (ε computed); `prior`
    events (e.g. a DP feature-scaling pre-pass) are composed into the total."""
    prior = tuple(prior)
    mech = mechanism or Mechanism()
    if accountant not in ACCOUNTANTS:
        raise DPParameterError(f"accountant must be one of {ACCOUNTANTS}, got {accountant!r}")
    if mech.kind == "distributed" and accountant != "rdp":
        raise DPParameterError("the distributed discrete Gaussian is accounted in Renyi DP only: use accountant='rdp'")
    if not 0 < delta < 1:
        raise DPParameterError(f"delta must be in (0, 1), got {delta!r}")
    relative = list(relative or [1.0] * len(steps_per_epoch))
    q, _ = accounted_rate(sample_rate)
    if (epsilon is None) == (noise_multiplier is None):
        raise DPParameterError("give exactly one of epsilon (the noise is calibrated) and noise_multiplier")
    if epsilon is not None:
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise DPParameterError(f"epsilon must be a positive finite number, got {epsilon!r}")
        rel_runs = tuple((float(r), int(k)) for r, k in zip(relative, steps_per_epoch))
        scale = _calibrate(float(epsilon), float(delta), q, rel_runs, accountant, mech, prior)
    else:
        if not noise_multiplier >= 0:
            raise DPParameterError(f"noise multiplier must be >= 0, got {noise_multiplier!r}")
        scale = float(noise_multiplier)
    return PrivacyPlan(q, [int(k) for k in steps_per_epoch], [scale * r for r in relative], float(delta), accountant,
                       mech, float(epsilon) if epsilon is not None else None, prior)
