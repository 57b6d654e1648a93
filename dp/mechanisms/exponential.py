"""The exponential mechanism for selection, sampled exactly.

What it computes: an index i of `scores` with probability ∝ exp(ε·u_i / (2Δ)) (McSherry–Talwar
2007), which is also the distribution of report-noisy-max with Gumbel noise (the Gumbel-max
trick). Sampled exactly by rejection: propose i uniformly, accept with probability
exp(-ε(u* − u_i)/(2Δ)) where u* = max u (a ratio of integers, `samplers.bernoulli_exp`); the
accepted index has exactly the target distribution. Scores are rationals on the grid 2^-f·Z
(real scores are rounded to it, which with sensitivity Δ on the grid keeps the guarantee);
ε is rounded down to a multiple of 2^-20 (less ε, never more).

Security: ε-DP for scores of sensitivity Δ (per neighbouring dataset, each score moves by at
most Δ). The utility scores are the caller's; the randomness is the CSPRNG's.
References: F. McSherry, K. Talwar, "Mechanism Design via Differential Privacy", FOCS 2007;
Dwork–Roth §3.4; CKS20 Algorithm 1 (exact Bernoulli(exp(-γ))).
Cost: expected k / Σ_i exp(-ε(u* − u_i)/(2Δ)) ≤ k proposals, drawn in vectorised batches.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from dp.errors import DPParameterError
from dp.mechanisms import samplers
from mpc.crypto import PRG

EPS_BITS = 20


def exponential_mechanism(scores, epsilon: float, sensitivity: float, *, frac_bits: int = 16,
                          prg: PRG | None = None) -> int:
    """Index chosen with probability ∝ exp(ε·score/(2Δ)), exactly."""
    u = np.asarray(scores, dtype=np.float64).reshape(-1)
    if u.size == 0:
        raise DPParameterError("the exponential mechanism needs at least one candidate")
    if not np.all(np.isfinite(u)):
        raise DPParameterError("scores must be finite")
    if not (math.isfinite(epsilon) and epsilon > 0) or not (math.isfinite(sensitivity) and sensitivity > 0):
        raise DPParameterError(f"epsilon and sensitivity must be positive, got {epsilon!r}, {sensitivity!r}")
    prg = prg if prg is not None else PRG()
    grid = np.rint(u * 2.0 ** frac_bits).astype(np.int64)
    gap = (grid.max() - grid).astype(np.uint64)  # (u* - u_i) in grid units
    # γ_i = ε·gap_i / (2Δ·2^f) with ε rounded down to e_num / 2^20, Δ rounded up on the grid.
    e_num = math.floor(Fraction(epsilon) * (1 << EPS_BITS))
    if e_num == 0:
        raise DPParameterError(f"epsilon {epsilon} is below the resolution 2^-{EPS_BITS}")
    sens_grid = math.ceil(Fraction(sensitivity) * (1 << frac_bits))
    den = 2 * sens_grid * (1 << EPS_BITS)
    if int(gap.max()) * e_num >= 1 << 64 or den >= 1 << 64:
        raise DPParameterError("scores span too wide a range for exact sampling; rescale them")
    num = gap * np.uint64(e_num)
    k = u.size
    batch = max(16, min(1 << 16, 2 * k))
    while True:
        idx = prg.below(k, batch).astype(np.int64)
        accepted = samplers.bernoulli_exp(num[idx], den, prg)
        hits = np.flatnonzero(accepted)
        if hits.size:
            return int(idx[hits[0]])


def report_noisy_max(scores, epsilon: float, sensitivity: float, *, frac_bits: int = 16,
                     prg: PRG | None = None) -> int:
    """Report-noisy-max with Gumbel noise: the same distribution as `exponential_mechanism`."""
    return exponential_mechanism(scores, epsilon, sensitivity, frac_bits=frac_bits, prg=prg)
