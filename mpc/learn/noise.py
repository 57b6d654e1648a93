"""The clipped gradient sum on the fixed-point grid, and its discrete-Gaussian noise.

What it computes: for a clipped sum S (float64, d coordinates) the released value is
    V = round(S · 2^f) + Z,   Z ~ N_Z(0, σ_g²)^d  (integers; output V / 2^f),
with σ_g = σ · Δ_g where σ is the noise multiplier chosen by the accountant and Δ_g the L2
sensitivity of round(S·2^f) in grid units (`grid_sensitivity`).

How discretisation enters the guarantee (add/remove one record):
  * Clipping: each record contributes at most C in L2 (mpc.learn.model: float64 norms with a
    2^-40 margin).
  * Floating-point summation ("float64", the default): S is accumulated in float64 over chunks of
    b = 4096 rows and the
    chunk sums added in turn, so |Ŝ − S| ≤ γ_{b+k}·Σ_i ‖c_i g_i‖ ≤ γ_{b+k}·n·C entrywise-summed
    (Higham, "Accuracy and Stability of Numerical Algorithms", §4.2 and Lemma 3.1;
    γ_m = m·u/(1 − m·u), u = 2^-53, k = ⌈n/b⌉). With n ≤ `max_batch` rows per step this is a
    public constant; both neighbours' errors count, so the real-valued sensitivity is
    C·(1 + 2·γ_{b+k}·n_max) (for n_max = 2^24: C·(1 + 2^-15)). The trainer refuses a step whose
    Poisson batch exceeds `max_batch` (it never releases that step). With float32 compute the
    trainer may use "blocked32": every record gets a random block key (PRG, independent of the
    data), the batch is summed per block in float32 and the block sums in float64; under
    add/remove only the record's block changes (the others are the same rows in the same order,
    hence bit-identical), so the extra slack is that block's float32 error, 2·γ32_{257}·256 ≈ 0.8 %
    of C (`summation_slack`).
  * Rounding to the grid: |round(a) − round(b)| ≤ |a − b|·2^f + 1 per coordinate, so
    Δ_g = ⌈(C + slack)·2^f + √d⌉ (mpc-wide convention, dp.mechanisms.grid).
  * The noise is the exact discrete Gaussian N_Z(0, σ_g²) on the integers (CKS20 Algorithm 3,
    `dp.mechanisms.samplers`) or the table sampler (`sampler="table"`) that is within
    statistical distance `TABLE_TV` per sample of it; that distance, times the number of
    samples drawn, is added to δ (`TrainingReport.delta_sampler`).
  * For integer-valued queries of L2 sensitivity Δ_g the discrete Gaussian has the Rényi
    divergence of the continuous one or less, at every order (Canonne, Kamath, Steinke 2020,
    Thm 14 / Prop. 5 for vectors), and the pair (N_Z(s, σ²), N_Z(s + Δ, σ²)) is symmetric
    under x ↦ 2s + Δ − x, so the Poisson-subsampled RDP bound of the continuous Gaussian at
    integer orders covers it (dp.accounting, "symmetric pairs"). The RDP accountant is
    therefore a proof for what runs. The PLD accountant evaluates the continuous Gaussian's
    privacy-loss distribution; for σ_g ≥ 2^10 grid units the discrete Gaussian's privacy
    curve agrees with it up to a lattice-sum (Riemann) error of relative order 1/σ_g², which
    this module does not bound formally — choose accountant="rdp" when a proof is required.

Security: noise from `mpc.crypto.PRG()` (AES-CTR, os.urandom key) only.
References: Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy",
NeurIPS 2020; Higham 2002 §3-4.
Cost: d samples per step (exact sampler ~O(10) PRG words each; table sampler ~1 word).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dp.mechanisms import samplers, table_sampler
from mpc.crypto import PRG
from mpc.errors import ParameterError
from mpc.learn.model import BLOCK_CAP, SUM_CHUNK

UNIT_ROUNDOFF = 2.0 ** -53
DEFAULT_FRAC_BITS = 16
DEFAULT_MAX_BATCH = 1 << 24
SAMPLERS = ("exact", "table")


def _gamma(m: int, u: float) -> float:
    return m * u / (1.0 - m * u)


def summation_slack(max_batch: int, chunk: int = SUM_CHUNK, accumulation: str = "float64") -> float:
    """Floating-point summation error of both neighbours' clipped sums, relative to C.

    "float64": 2·γ_{b+k+1}·n_max (chunks of b rows, k = ⌈n_max/b⌉ chunk sums added in turn).
    "blocked32": the record blocks other than the one holding the record are bit-identical in both
    neighbours, so only that block's float32 error counts, 2·γ32_{cap+1}·cap (cap = BLOCK_CAP
    rows, larger blocks are summed in float64), plus the float64 addition of the block sums,
    bounded as in "float64"."""
    k = -(-max_batch // chunk)
    f64 = 2.0 * _gamma(chunk + k + 1, UNIT_ROUNDOFF) * max_batch
    if accumulation == "float64":
        return f64
    if accumulation == "blocked32":
        return f64 + 2.0 * _gamma(BLOCK_CAP + 2, 2.0 ** -24) * BLOCK_CAP
    raise ParameterError(f"accumulation must be 'float64' or 'blocked32', got {accumulation!r}")


def sample_grid_noise(sampler: str, sigma: float, dims: int, prg: PRG | None, cache: dict | None = None) -> np.ndarray:
    """`dims` discrete-Gaussian samples of σ grid units with the named sampler (σ² parameter cached)."""
    key = (sampler, sigma)
    got = cache.get(key) if cache is not None else None
    if got is None:
        sigma2 = samplers.gaussian_parameter(sigma)
        got = table_sampler.table(sigma2) if sampler == "table" else sigma2
        if cache is not None:
            cache[key] = got
    if sampler == "table":
        return table_sampler.sample_from_table(got, dims, prg)
    return samplers.discrete_gaussian_exact(got, dims, prg)


@dataclass(frozen=True)
class GridNoise:
    """Grid encoding and noise for a clipped sum of `dims` coordinates, clip norm `clip`."""

    clip: float
    dims: int
    frac_bits: int = DEFAULT_FRAC_BITS
    max_batch: int = DEFAULT_MAX_BATCH
    sampler: str = "table"
    accumulation: str = "float64"

    def __post_init__(self):
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise ParameterError(f"clip norm must be a positive finite number for DP training, got {self.clip!r}")
        if not isinstance(self.frac_bits, int) or not 8 <= self.frac_bits <= 30:
            raise ParameterError(f"frac_bits must be an integer in [8, 30], got {self.frac_bits!r}")
        if self.dims < 1 or self.max_batch < 1:
            raise ParameterError("dims and max_batch must be positive")
        if self.sampler not in SAMPLERS:
            raise ParameterError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        slack = summation_slack(self.max_batch, accumulation=self.accumulation)
        if (self.clip * (1 + slack) * self.max_batch * 2.0 ** self.frac_bits) >= 2.0 ** 62:
            raise ParameterError("clip · max_batch · 2^frac_bits must stay below 2^62 (int64 grid)")
        real = self.clip * (1.0 + slack)
        object.__setattr__(self, "_sens", int(math.ceil(real * 2.0 ** self.frac_bits + math.sqrt(self.dims))))
        object.__setattr__(self, "_params", {})

    @property
    def sensitivity(self) -> int:
        """Δ_g: L2 sensitivity of round(Ŝ·2^f) in grid units (see the module docstring)."""
        return self._sens

    def grid_sigma(self, noise_multiplier: float) -> float:
        """σ_g = σ·Δ_g in grid units."""
        return float(noise_multiplier) * self.sensitivity

    def encode(self, clipped_sum: np.ndarray) -> np.ndarray:
        """round(Ŝ·2^f) as int64 (round half to even; |error| ≤ 1/2 per coordinate)."""
        s = np.asarray(clipped_sum, dtype=np.float64)
        if s.shape != (self.dims,):
            raise ParameterError(f"clipped sum has shape {s.shape}, expected ({self.dims},)")
        if not np.isfinite(s).all():
            raise ParameterError("clipped gradient sum is not finite (diverged parameters?)")
        scaled = s * float(2 ** self.frac_bits)  # exact: a power of two
        return np.rint(scaled, out=scaled).astype(np.int64)

    def decode(self, v: np.ndarray) -> np.ndarray:
        return v.astype(np.float64) * (2.0 ** -self.frac_bits)

    def sample(self, noise_multiplier: float, prg: PRG | None = None) -> np.ndarray:
        """Noise Z (int64, grid units) for one release."""
        return sample_grid_noise(self.sampler, self.grid_sigma(noise_multiplier), self.dims, prg, self._params)

    def noisy_sum(self, clipped_sum: np.ndarray, noise_multiplier: float, prg: PRG | None = None) -> np.ndarray:
        """(round(Ŝ·2^f) + Z) / 2^f: the released noisy sum in real units."""
        return self.decode(self.encode(clipped_sum) + self.sample(noise_multiplier, prg))

    def tv_per_sample(self) -> float:
        """Statistical distance of one noise sample from N_Z(0, σ_g²) (0 for the exact sampler)."""
        if self.sampler == "table":
            return table_sampler.TV_BOUND
        return 0.0

    def report(self) -> dict:
        return {"frac_bits": self.frac_bits, "grid_sensitivity": self.sensitivity, "max_batch": self.max_batch,
                "sampler": self.sampler, "accumulation": self.accumulation,
                "summation_slack": summation_slack(self.max_batch, accumulation=self.accumulation)}
