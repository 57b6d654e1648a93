"""Poisson-subsampled RDP of the (distributed) discrete Gaussian, against independent computations:
dp-accounting's sampled Gaussian when τ → 0, direct numerical Rényi divergences of the actual
distributions (both directions), the scalar lemma behind the symmetric bound, and σ for a target."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dp_accounting.rdp import rdp_privacy_accountant as rdp_lib
from scipy.special import logsumexp

from dp import accounting, events as ev
from dp.errors import DPParameterError
from dp.mechanisms import samplers

INT_ORDERS = np.array([2, 3, 4, 5, 8, 12, 16, 32, 64, 128, 256], dtype=np.float64)


@pytest.mark.parametrize("q", [0.001, 0.05, 0.3, 0.9, 1.0])
@pytest.mark.parametrize("sigma", [0.7, 1.3, 4.0])
def test_gaussian_curve_matches_dp_accounting_sampled_gaussian(q, sigma):
    ours = accounting.rdp_poisson_subsampled(INT_ORDERS, lambda a: a / (2 * sigma ** 2), q)
    ref = (rdp_lib._compute_rdp_poisson_subsampled_gaussian(q, sigma, INT_ORDERS) if q < 1
           else INT_ORDERS / (2 * sigma ** 2))
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


@pytest.mark.parametrize("q", [0.01, 0.2, 1.0])
def test_distributed_event_with_vanishing_tau_is_the_sampled_gaussian(q):
    # share σ_s = σ·Δ/√h ≫ 1 grid unit: τ underflows, KLS21 Prop. 14 is the Gaussian curve of σ.
    event = ev.DistributedGaussianEvent(1.1, honest=2, dims=1000, grid_l2=65_536, sample_rate=q)
    ours = accounting.distributed_gaussian_rdp(INT_ORDERS, event)
    ref = (rdp_lib._compute_rdp_poisson_subsampled_gaussian(q, 1.1, INT_ORDERS) if q < 1
           else INT_ORDERS / (2 * 1.1 ** 2))
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    acc = accounting.RdpAccountant(INT_ORDERS)
    acc.compose(event, 50)
    ref_acc = accounting.RdpAccountant(INT_ORDERS)
    ref_acc.compose(ev.SubsampledGaussianEvent(1.1, q), 50)
    assert acc.epsilon(1e-6) == pytest.approx(ref_acc.epsilon(1e-6), rel=1e-9)


def _sum_pmf(share_sigma2: float, honest: int, half: int) -> np.ndarray:
    k = np.arange(-half, half + 1)
    one = samplers.discrete_gaussian_pmf(share_sigma2, k)
    out = one
    for _ in range(honest - 1):
        out = np.convolve(out, one)
    mid = out.size // 2
    return out[mid - half: mid + half + 1]


def _renyi(p: np.ndarray, q: np.ndarray, alpha: int) -> float:
    m = (p > 0) & (q > 0)
    return float(logsumexp(alpha * np.log(p[m]) + (1 - alpha) * np.log(q[m]))) / (alpha - 1)


@pytest.mark.parametrize("honest,share_sigma,shift", [(1, 0.9, 1), (2, 0.7, 1), (3, 0.6, 2), (2, 1.5, 3)])
@pytest.mark.parametrize("q", [0.05, 0.4, 1.0])
def test_bound_dominates_direct_renyi_divergences(honest, share_sigma, shift, q):
    """Both directions of D_α for the actual 1-D distributions (sums of discrete Gaussians by
    convolution, integer shift) stay below the accountant's curve at every integer order."""
    half = 200
    p = _sum_pmf(share_sigma ** 2, honest, half)
    shifted = np.roll(p, shift)
    shifted[:shift] = 0.0
    mix = (1 - q) * p + q * shifted
    sigma = share_sigma * math.sqrt(honest) / shift  # σ_s = σ·Δ/√h
    event = ev.DistributedGaussianEvent(sigma, honest, dims=1, grid_l2=shift, sample_rate=q)
    orders = np.array([2, 3, 4, 6, 10], dtype=np.float64)
    bound = accounting.distributed_gaussian_rdp(orders, event)
    for a, b in zip(orders.astype(int), bound):
        forward, reverse = _renyi(mix, p, a), _renyi(p, mix, a)
        assert forward <= b * (1 + 1e-9) + 1e-12
        assert reverse <= b * (1 + 1e-9) + 1e-12
        assert reverse <= forward * (1 + 1e-9) + 1e-12  # the symmetric-pair lemma on a real pair


def test_symmetric_pair_scalar_lemma_on_a_dense_grid():
    """φ(a) + u·φ(b) ≥ 0 for u ≥ 1, a = 1 − q + qu, b = 1 − q + q/u, φ(t) = t^α − t^(1−α)."""
    for alpha in [1.5, 2, 3, 4, 7, 16, 64, 256]:
        q = np.linspace(1e-4, 1.0, 300)[:, None]
        u = np.exp(np.linspace(1e-5, min(60.0, 600.0 / alpha), 500))[None, :]
        a, b = 1 - q + q * u, 1 - q + q / u
        with np.errstate(over="ignore", invalid="ignore"):
            g = (a ** alpha - a ** (1 - alpha)) + u * (b ** alpha - b ** (1 - alpha))
            scale = a ** alpha + u * b ** (1 - alpha)
        ok = np.isfinite(g) & np.isfinite(scale)
        assert np.all(g[ok] >= -1e-12 * scale[ok])


def test_general_bound_is_weaker_and_both_below_unsampled():
    curve = lambda a: a / (2 * 0.9 ** 2)  # noqa: E731
    sym = accounting.rdp_poisson_subsampled(INT_ORDERS, curve, 0.1)
    gen = accounting.rdp_poisson_subsampled(INT_ORDERS, curve, 0.1, bound="general")
    assert np.all(gen >= sym - 1e-12) and np.any(gen > sym)
    assert np.all(gen <= curve(INT_ORDERS) + 1e-12)
    frac = accounting.rdp_poisson_subsampled(np.array([1.5, 2.5]), curve, 0.1)
    np.testing.assert_allclose(frac, accounting.rdp_poisson_subsampled(np.array([2.0, 3.0]), curve, 0.1))


def test_distributed_sigma_reaches_target_and_costs_more_than_central():
    kw = dict(parties=3, colluders=1, dims=31, grid_l2=65_542)
    sigma = accounting.distributed_dpsgd_sigma(1.0, 1e-6, 0.2, 100, **kw)
    assert accounting.distributed_dpsgd_epsilon(sigma, 0.2, 100, 1e-6, **kw) <= 1.0
    assert accounting.distributed_dpsgd_epsilon(sigma * 0.99, 0.2, 100, 1e-6, **kw) > 1.0
    central = accounting.dpsgd_sigma(1.0, 1e-6, 0.2, 100, "rdp")
    assert sigma >= central * 0.98  # same curve at integer orders, central also uses fractional ones
    with pytest.raises(DPParameterError):
        accounting.distributed_dpsgd_epsilon(1.0, 0.2, 10, 1e-6, parties=3, colluders=3, dims=1, grid_l2=1)
    with pytest.raises(DPParameterError, match="rdp"):
        accounting.epsilon(ev.DistributedGaussianEvent(1.0, 2, 1, 1, 0.5), 1e-6, "pld")
