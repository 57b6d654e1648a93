"""Laplace and Gaussian mechanisms for real-valued queries, discretised on the fixed-point grid.

What it computes: a `NoiseSpec` (which exact sampler, which rational scale, the guarantee) for a
query with real-valued L1/L2 sensitivity released in the fixed-point format with f fractional
bits, and the mechanisms that add that noise to encoded values (`add_noise`) or to real values
(`laplace_mechanism`, `gaussian_mechanism`).

Discretisation: a value is released as an integer V on the grid 2^-f·Z. Values are rounded to
the grid (inputs, or a party's local aggregate, are encoded by rounding to nearest), and for
neighbouring datasets |round(a) − round(b)| ≤ |a − b|·2^f + 1 per coordinate, so the grid
sensitivities are ⌈Δ₁·2^f + d⌉ and ⌈Δ₂·2^f + √d⌉; integer data (f = 0) is not rounded and keeps
⌈Δ⌉. Noise is integer-valued (discrete Laplace / discrete Gaussian, exact), so the released
value stays on the grid and the guarantee of the discrete mechanism applies to it exactly
(CKS20 §2-3).

Security: ε-DP (Laplace) or (ε, δ)-DP (Gaussian, CKS20 Theorem 7 calibration) per release, for
the stated sensitivity; the sensitivity is the caller's claim (the protocol's `ReleaseSpec`).
References: CKS20 (arXiv:2004.00010) §2-3; Mironov 2012 (why not floating-point Laplace).
Cost: O(d) exact samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from dp.errors import DPParameterError
from dp.mechanisms import calibrate, samplers
from mpc.arith.fixedpoint import FixedPoint
from mpc.crypto import PRG

LAPLACE = "discrete_laplace"
GAUSSIAN = "discrete_gaussian"


@dataclass(frozen=True)
class NoiseSpec:
    """Noise for one release: `mechanism`, rational `scale` in grid units (Laplace scale or σ²),
    the guarantee (`epsilon`, `delta`) and the integer grid sensitivity it was calibrated for."""

    mechanism: str
    scale: Fraction
    epsilon: float
    delta: float
    sensitivity: int
    frac_bits: int

    @property
    def std_grid(self) -> float:
        """Noise standard deviation in grid units (Laplace: b√2; Gaussian: ≤ σ)."""
        if self.mechanism == LAPLACE:
            return float(self.scale) * math.sqrt(2.0)
        return math.sqrt(float(self.scale))

    @property
    def noise_scale(self) -> float:
        """Laplace scale b or Gaussian σ in output units (what a report shows)."""
        if self.mechanism == LAPLACE:
            return float(self.scale) / 2.0 ** self.frac_bits
        return math.sqrt(float(self.scale)) / 2.0 ** self.frac_bits

    def sample(self, shape, prg: PRG | None = None) -> np.ndarray:
        """Integer noise (int64, grid units) with exactly this distribution."""
        if self.mechanism == LAPLACE:
            return samplers.discrete_laplace(self.scale, shape, prg)
        return samplers.discrete_gaussian_exact(self.scale, shape, prg)

    def report(self) -> dict:
        """The report entry for a release: ε, δ, mechanism, noise scale (output units)."""
        return {"epsilon": self.epsilon, "delta": self.delta, "mechanism": self.mechanism,
                "noise_scale": self.noise_scale, "grid_sensitivity": self.sensitivity,
                "frac_bits": self.frac_bits}


def grid_l1(l1: float, frac_bits: int, dims: int) -> int:
    """Integer L1 sensitivity on the grid: ⌈Δ₁·2^f + d⌉ (⌈Δ₁⌉ for integer data, f = 0)."""
    calibrate._check_sensitivity(l1, "L1")
    return int(math.ceil(l1 * 2.0 ** frac_bits + (dims if frac_bits else 0)))


def grid_l2(l2: float, frac_bits: int, dims: int) -> int:
    """Integer L2 sensitivity on the grid: ⌈Δ₂·2^f + √d⌉ (⌈Δ₂⌉ for integer data, f = 0)."""
    calibrate._check_sensitivity(l2, "L2")
    return int(math.ceil(l2 * 2.0 ** frac_bits + (math.sqrt(dims) if frac_bits else 0)))


def laplace_spec(l1: float, epsilon: float, *, frac_bits: int = 16, dims: int = 1) -> NoiseSpec:
    """ε-DP discrete Laplace noise for a query of real L1 sensitivity `l1` and `dims` outputs."""
    _check_frac(frac_bits)
    sens = grid_l1(l1, frac_bits, dims)
    scale = samplers.laplace_parameter(Fraction(sens) / Fraction(epsilon))
    return NoiseSpec(LAPLACE, scale, float(epsilon), 0.0, sens, frac_bits)


def gaussian_spec(l2: float, epsilon: float, delta: float, *, frac_bits: int = 16, dims: int = 1) -> NoiseSpec:
    """(ε, δ)-DP discrete Gaussian noise (CKS20 Thm 7 calibration) for real L2 sensitivity `l2`."""
    _check_frac(frac_bits)
    sens = grid_l2(l2, frac_bits, dims)
    sigma = calibrate.discrete_gaussian_sigma(epsilon, delta, sens)
    return NoiseSpec(GAUSSIAN, samplers.gaussian_parameter(sigma), float(epsilon), float(delta), sens, frac_bits)


def add_noise(encoded: np.ndarray, spec: NoiseSpec, prg: PRG | None = None) -> np.ndarray:
    """Encoded values (uint64 ring elements on the grid) plus fresh noise, wrapping in Z_2^64."""
    enc = np.asarray(encoded, dtype=np.uint64)
    return enc + spec.sample(enc.shape, prg).view(np.uint64)


def _check_frac(frac_bits: int) -> None:
    if not isinstance(frac_bits, int) or not 0 <= frac_bits <= 30:
        raise DPParameterError(f"frac_bits must be an integer in [0, 30], got {frac_bits!r}")


def _real(values, spec: NoiseSpec, prg: PRG | None) -> np.ndarray:
    fxp = FixedPoint(spec.frac_bits)
    return fxp.decode(add_noise(fxp.encode(values), spec, prg))


def laplace_mechanism(values, l1: float, epsilon: float, *, frac_bits: int = 16,
                      prg: PRG | None = None) -> tuple[np.ndarray, NoiseSpec]:
    """ε-DP release of real `values` (central mode); returns (noised values, spec)."""
    arr = np.asarray(values, dtype=np.float64)
    spec = laplace_spec(l1, epsilon, frac_bits=frac_bits, dims=max(1, arr.size))
    return _real(arr, spec, prg), spec


def gaussian_mechanism(values, l2: float, epsilon: float, delta: float, *, frac_bits: int = 16,
                       prg: PRG | None = None) -> tuple[np.ndarray, NoiseSpec]:
    """(ε, δ)-DP release of real `values` (central mode); returns (noised values, spec)."""
    arr = np.asarray(values, dtype=np.float64)
    if not 0 < delta < 1:
        raise DPParameterError(f"delta must be in (0, 1), got {delta!r}")
    spec = gaussian_spec(l2, epsilon, delta, frac_bits=frac_bits, dims=max(1, arr.size))
    return _real(arr, spec, prg), spec
