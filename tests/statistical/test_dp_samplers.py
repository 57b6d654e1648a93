"""Statistical tests of the exact samplers: exact PMF vs empirical frequencies on 1e6 samples.

Every test fixes the PRG key, so the samples (and the test statistics) are deterministic: a
pass is reproducible, and a sampler bug shifts the frequencies far beyond the thresholds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dp.mechanisms import samplers
from mpc.crypto import PRG

N = 1_000_000


def _chi_square(samples: np.ndarray, pmf, support_max: int) -> tuple[float, float, int]:
    """Chi-square of counts on -K..K (K: expected count >= 5 per bin) plus the two pooled tails."""
    ks = np.arange(-support_max, support_max + 1)
    probs = pmf(ks)
    keep = probs * samples.size >= 5
    ks, probs = ks[keep], probs[keep]
    lo, hi = ks.min(), ks.max()
    counts = np.array([np.count_nonzero(samples == k) for k in ks], dtype=np.float64)
    expected = probs * samples.size
    tail_lo = np.count_nonzero(samples < lo)
    tail_hi = np.count_nonzero(samples > hi)
    p_tail = (1.0 - probs.sum()) / 2.0
    obs = np.concatenate([counts, [tail_lo, tail_hi]])
    exp = np.concatenate([expected, [p_tail * samples.size] * 2])
    mask = exp > 0
    chi2 = float(np.sum((obs[mask] - exp[mask]) ** 2 / exp[mask]))
    dof = int(mask.sum()) - 1
    return chi2, float(stats.chi2.sf(chi2, dof)), dof


def _symmetric_tails(samples: np.ndarray, m: int) -> float:
    """Two-sided binomial p-value that X >= m and X <= -m are equally likely."""
    up = int(np.count_nonzero(samples >= m))
    down = int(np.count_nonzero(samples <= -m))
    return float(stats.binomtest(up, up + down, 0.5).pvalue)


@pytest.mark.parametrize("scale", [0.7, 2.5, 40.0])
def test_discrete_laplace_matches_exact_pmf(scale):
    x = samplers.discrete_laplace(scale, N, PRG(b"dlap-chi2-key-01"))
    b = samplers.laplace_parameter(scale)
    chi2, p, dof = _chi_square(x, lambda k: samplers.discrete_laplace_pmf(b, k), int(60 * scale) + 10)
    assert dof >= 3
    assert p > 1e-4, f"chi2={chi2:.1f} on {dof} dof"
    assert _symmetric_tails(x, max(1, int(scale))) > 1e-4
    # exact variance of the discrete Laplace: 2 e^{-1/b} / (1 - e^{-1/b})^2
    r = math.exp(-1.0 / float(b))
    assert x.var() == pytest.approx(2 * r / (1 - r) ** 2, rel=0.01)


@pytest.mark.parametrize("sigma", [0.6, 3.0, 50.5])
def test_discrete_gaussian_matches_exact_pmf(sigma):
    x = samplers.discrete_gaussian(sigma, N, PRG(b"dgau-chi2-key-01"))
    s2 = samplers.gaussian_parameter(sigma)
    chi2, p, dof = _chi_square(x, lambda k: samplers.discrete_gaussian_pmf(s2, k), int(10 * sigma) + 10)
    assert dof >= 2
    assert p > 1e-4, f"chi2={chi2:.1f} on {dof} dof"
    assert _symmetric_tails(x, max(1, int(sigma))) > 1e-4
    assert x.var() == pytest.approx(samplers.discrete_gaussian_variance(s2), rel=0.01)


def test_large_sigma_moments():
    sigma = 2.0 ** 20 + 0.5
    x = samplers.discrete_gaussian(sigma, 200_000, PRG(b"dgau-large-key-1"))
    assert abs(x.mean()) < 5 * sigma / math.sqrt(x.size)
    assert x.std() == pytest.approx(sigma, rel=0.01)
    # fourth standardised moment of a Gaussian is 3
    assert np.mean((x / sigma) ** 4) == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("num,den", [(1, 1), (7, 2), (1, 10), (0, 5), (1000, 3)])
def test_bernoulli_exp_frequency(num, den):
    n = 400_000
    hits = samplers.bernoulli_exp(np.full(n, num, dtype=np.uint64), den, PRG(b"bern-exp-key-001"))
    p = math.exp(-num / den)
    assert stats.binomtest(int(hits.sum()), n, p).pvalue > 1e-4


def test_same_key_same_samples_and_different_keys_differ():
    a = samplers.discrete_gaussian(3.0, 1000, PRG(b"k" * 16))
    b = samplers.discrete_gaussian(3.0, 1000, PRG(b"k" * 16))
    c = samplers.discrete_gaussian(3.0, 1000, PRG(b"j" * 16))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
