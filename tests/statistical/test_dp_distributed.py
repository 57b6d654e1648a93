"""Distributed noise: the sum of n shares has the target variance; t colluders removing their own
shares leave at least the calibrated variance; the calibration meets (ε, δ)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dp.distributed import epsilon_of_sum, plan_distributed_gaussian, rdp_sum_of_discrete_gaussians
from dp.errors import DPParameterError
from dp.mechanisms import samplers
from mpc.crypto import PRG

SAMPLES = 200_000


@pytest.mark.parametrize("n,t", [(2, 1), (3, 1), (5, 2), (7, 3), (4, 0)])
def test_share_sums_have_target_variance_even_after_collusion(n, t):
    plan = plan_distributed_gaussian(1.0, 1.0, 1e-6, parties=n, colluders=t, frac_bits=0)
    # the target: the one-party noise that gives the same guarantee under the same bound
    target = plan_distributed_gaussian(1.0, 1.0, 1e-6, parties=1, colluders=0, frac_bits=0)
    target_var = samplers.discrete_gaussian_variance(target.share_sigma2)
    shares = np.stack([plan.share(SAMPLES, PRG(bytes([i]) * 16)) for i in range(n)])
    total = shares.sum(axis=0)
    se = math.sqrt(2.0 / SAMPLES)  # relative standard error of a sample variance (Gaussian)
    assert total.var() == pytest.approx(plan.variance(0), rel=6 * se)
    # any t colluders subtract their own shares: what is left is the honest sum
    for removed in (list(range(t)), list(range(n - t, n))):
        left = total - shares[removed].sum(axis=0)
        assert left.var() >= target_var * (1 - 6 * se)
        assert plan.variance(len(removed)) >= target_var * (1 - 1e-9)
    assert abs(total.mean()) < 6 * math.sqrt(plan.variance(0) / SAMPLES)
    assert plan.achieved_epsilon() <= 1.0 + 1e-9


def test_calibration_is_tight_and_shrinks_per_party_noise():
    plans = [plan_distributed_gaussian(2.0, 0.5, 1e-5, parties=n, colluders=n // 3, frac_bits=8, dims=3)
             for n in (1, 3, 6, 12)]
    sig = [math.sqrt(float(p.share_sigma2)) for p in plans]
    assert sig == sorted(sig, reverse=True)  # more honest parties, less noise each
    for p in plans:
        s = math.sqrt(float(p.share_sigma2))
        assert epsilon_of_sum(s, p.honest, p.l1, p.l2, p.dims, p.delta) <= 0.5 + 1e-9
        assert epsilon_of_sum(s * 0.999, p.honest, p.l1, p.l2, p.dims, p.delta) > 0.5


def test_single_summand_bound_is_the_discrete_gaussian_rdp():
    orders = np.array([1.5, 2.0, 8.0, 64.0])
    got = rdp_sum_of_discrete_gaussians(orders, 3.0, 1, 2.0, 2.0, 1)
    assert np.allclose(got, orders * 4.0 / (2 * 9.0))  # α Δ² / (2σ²), CKS20 Prop. 5


def test_plan_validation():
    with pytest.raises(DPParameterError):
        plan_distributed_gaussian(1.0, 1.0, 1e-5, parties=3, colluders=3)
    with pytest.raises(DPParameterError):
        plan_distributed_gaussian(1.0, 0.0, 1e-5, parties=3, colluders=1)
    with pytest.raises(DPParameterError):
        plan_distributed_gaussian(1.0, 1.0, 0.0, parties=3, colluders=1)
