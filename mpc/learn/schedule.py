"""Noise schedules across epochs, calibrated by the accountant for the whole run.

What it computes: a schedule gives relative noise multipliers r_e per epoch; the trainer's noise
in epoch e is σ_e = s·r_e with the single scale s found by bisection so that the composition of
all planned steps reaches the target (ε, δ) under the chosen accountant, which composes the
heterogeneous steps exactly (RDP: sum of curves; PLD: convolution of the distributions). Schedules:
  * `constant()`: r_e = 1 (plain DP-SGD);
  * `decaying(ratio)`: r_e = ratio^e (ratio < 1: less noise later, when gradients are smaller;
    Yu et al. 2019 "Differentially private model publishing for deep learning");
  * `epsilon_shares(shares)`: epoch e gets a share w_e of the privacy cost, measured in the
    Gaussian's zCDP cost (∝ steps/σ²): r_e ∝ 1/√w_e. The accountant composes exactly, so the
    realised ε after each epoch (listed in the training report) is what counts, not the shares.
Early stopping charges only the steps that ran (the report's `epsilon_spent`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mpc.errors import ParameterError


@dataclass(frozen=True)
class NoiseSchedule:
    kind: str
    ratio: float = 1.0
    shares: tuple = ()

    def multipliers(self, epochs: int) -> list[float]:
        """Relative noise multiplier r_e of each epoch (e = 0..epochs-1)."""
        if self.kind == "constant":
            return [1.0] * epochs
        if self.kind == "decaying":
            return [self.ratio ** e for e in range(epochs)]
        if len(self.shares) != epochs:
            raise ParameterError(f"epsilon_shares lists {len(self.shares)} shares for {epochs} epochs")
        total = math.fsum(self.shares)
        return [1.0 / math.sqrt(w / total * epochs) for w in self.shares]

    def spec(self) -> dict:
        out = {"schedule": self.kind}
        if self.kind == "decaying":
            out["ratio"] = self.ratio
        if self.kind == "epsilon_shares":
            out["shares"] = list(self.shares)
        return out


def constant() -> NoiseSchedule:
    return NoiseSchedule("constant")


def decaying(ratio: float) -> NoiseSchedule:
    if not 0 < ratio <= 2:
        raise ParameterError(f"decay ratio must be in (0, 2], got {ratio!r}")
    return NoiseSchedule("decaying", ratio=float(ratio))


def epsilon_shares(shares) -> NoiseSchedule:
    shares = tuple(float(w) for w in shares)
    if not shares or min(shares) <= 0 or not all(math.isfinite(w) for w in shares):
        raise ParameterError("epsilon shares must be positive finite numbers, one per epoch")
    return NoiseSchedule("epsilon_shares", shares=shares)


def parse(schedule) -> NoiseSchedule:
    """A schedule from a NoiseSchedule, "constant", ("decaying", ratio) or a list of shares."""
    if isinstance(schedule, NoiseSchedule):
        return schedule
    if schedule is None or schedule == "constant":
        return constant()
    if isinstance(schedule, tuple) and len(schedule) == 2 and schedule[0] == "decaying":
        return decaying(schedule[1])
    if isinstance(schedule, (list, tuple)):
        return epsilon_shares(schedule)
    raise ParameterError(f"unknown noise schedule {schedule!r}: use 'constant', ('decaying', r) or a list of shares")
