"""Optimisers and learning-rate schedules for DP-SGD (pure post-processing of the noisy gradient).

What it computes: `SGD` (heavy-ball momentum, optional Nesterov) and `Adam` (Kingma & Ba 2015,
with bias correction) over a flat parameter vector, and learning-rate multipliers by step
("constant", "cosine", "linear" decay to `final` × lr, with optional warm-up). They see only the
released noisy gradient, so they cost no privacy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mpc.errors import ParameterError

LR_SCHEDULES = ("constant", "cosine", "linear")


def lr_multiplier(schedule: str, step: int, total: int, *, final: float = 0.0, warmup: int = 0) -> float:
    """The factor applied to the base learning rate at `step` (0-based) of `total`."""
    if schedule not in LR_SCHEDULES:
        raise ParameterError(f"lr schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or total <= 1:
        return 1.0
    t = min(1.0, (step - warmup) / max(1, total - warmup - 1))
    if schedule == "linear":
        return 1.0 - (1.0 - final) * t
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))


@dataclass
class SGD:
    """params ← params − lr·v, v ← μ·v + g (Nesterov: params ← params − lr·(g + μ·v))."""

    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    _v: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self.lr > 0 or not 0 <= self.momentum < 1:
            raise ParameterError(f"SGD needs lr > 0 and momentum in [0, 1), got lr={self.lr}, momentum={self.momentum}")

    def reset(self) -> None:
        self._v = None

    def step(self, params: np.ndarray, grad: np.ndarray, lr_scale: float = 1.0) -> np.ndarray:
        if self.momentum == 0.0:
            return params - self.lr * lr_scale * grad
        self._v = grad.copy() if self._v is None else self.momentum * self._v + grad
        d = grad + self.momentum * self._v if self.nesterov else self._v
        return params - self.lr * lr_scale * d

    def spec(self) -> dict:
        return {"optimizer": "sgd", "lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


@dataclass
class Adam:
    """Adam with bias correction: m, v moving averages of g and g²."""

    lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    _m: np.ndarray | None = field(default=None, repr=False)
    _v: np.ndarray | None = field(default=None, repr=False)
    _t: int = field(default=0, repr=False)

    def __post_init__(self):
        if not self.lr > 0 or not 0 <= self.beta1 < 1 or not 0 <= self.beta2 < 1 or not self.eps > 0:
            raise ParameterError("Adam needs lr > 0, beta1 and beta2 in [0, 1), eps > 0")

    def reset(self) -> None:
        self._m = self._v = None
        self._t = 0

    def step(self, params: np.ndarray, grad: np.ndarray, lr_scale: float = 1.0) -> np.ndarray:
        if self._m is None:
            self._m = np.zeros_like(grad)
            self._v = np.zeros_like(grad)
        self._t += 1
        self._m = self.beta1 * self._m + (1 - self.beta1) * grad
        self._v = self.beta2 * self._v + (1 - self.beta2) * grad * grad
        mhat = self._m / (1 - self.beta1 ** self._t)
        vhat = self._v / (1 - self.beta2 ** self._t)
        return params - self.lr * lr_scale * mhat / (np.sqrt(vhat) + self.eps)

    def spec(self) -> dict:
        return {"optimizer": "adam", "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def make_optimizer(name: str, lr: float, momentum: float = 0.9):
    """An optimiser by name: "sgd" (with `momentum`) or "adam"."""
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum)
    if name == "adam":
        return Adam(lr=lr)
    raise ParameterError(f"optimizer must be 'sgd' or 'adam', got {name!r}")
