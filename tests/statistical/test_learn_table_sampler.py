"""Statistical tests of the table discrete-Gaussian sampler used for DP-SGD noise: the exact PMF
against empirical frequencies (chi-square on 10^6 samples, fixed PRG keys), for the w = 1 path
(σ < 32) and the binned paths with in-bin rejection (σ = 40: w = 2; σ = 700: w = 32), symmetry,
the variance, and agreement with the exact CKS20 sampler on a coarse binning at large σ."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dp.mechanisms import samplers, table_sampler
from mpc.crypto import PRG

N = 1_000_000


def _chi_square(x: np.ndarray, sigma2, edges: np.ndarray) -> tuple[float, float]:
    """Chi-square of counts in integer bins [edges[i], edges[i+1]) against the exact PMF."""
    k = np.arange(edges[0], edges[-1])
    pmf = samplers.discrete_gaussian_pmf(sigma2, k)
    expected = np.add.reduceat(pmf, edges[:-1] - edges[0]) * x.size
    counts = np.histogram(x, bins=edges)[0]
    keep = expected >= 5
    chi2 = float(np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep]))
    return chi2, float(stats.chi2.sf(chi2, int(keep.sum()) - 1))


@pytest.mark.parametrize("sigma,step", [(0.6, 1), (3.0, 1), (40.0, 1), (700.0, 50)])
def test_table_sampler_matches_exact_pmf(sigma, step):
    x = table_sampler.discrete_gaussian(sigma, N, PRG(b"table-chi2-key01"))
    s2 = samplers.gaussian_parameter(sigma)
    half = int(6 * sigma) + 2
    edges = np.arange(-half, half + step + 1, step)
    chi2, p = _chi_square(x, s2, edges)
    assert p > 1e-4, f"chi2={chi2:.1f}"
    up, down = int(np.count_nonzero(x > 0)), int(np.count_nonzero(x < 0))
    assert stats.binomtest(up, up + down, 0.5).pvalue > 1e-4
    assert x.var() == pytest.approx(samplers.discrete_gaussian_variance(s2), rel=0.01)


def test_table_sampler_agrees_with_exact_sampler_at_dp_sgd_scale():
    sigma = 2.0e5  # noise of a DP-SGD coordinate on the 2^16 grid
    fast = table_sampler.discrete_gaussian(sigma, 400_000, PRG(b"table-vs-exact-1"))
    exact = samplers.discrete_gaussian(sigma, 400_000, PRG(b"table-vs-exact-2"))
    edges = np.linspace(-5 * sigma, 5 * sigma, 41)
    a, b = np.histogram(fast, edges)[0], np.histogram(exact, edges)[0]
    keep = (a + b) > 20
    assert stats.chi2_contingency(np.stack([a[keep], b[keep]]))[1] > 1e-4
    assert table_sampler.table(samplers.gaussian_parameter(sigma))["acceptance"] > 0.9


def test_table_is_monotone_and_deterministic_per_key():
    t = table_sampler.table(samplers.gaussian_parameter(1234.5))
    full = (t["hi"].astype(object) << 64) + t["lo"].astype(object)
    assert all(full[i] <= full[i + 1] for i in range(len(full) - 1))
    a = table_sampler.discrete_gaussian(1234.5, 1000, PRG(bytes(16)))
    b = table_sampler.discrete_gaussian(1234.5, 1000, PRG(bytes(16)))
    np.testing.assert_array_equal(a, b)
