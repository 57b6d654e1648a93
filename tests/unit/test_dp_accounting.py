"""Accounting: against dp-accounting itself on a grid, against published values, inverse, CLI."""

from __future__ import annotations

import math

import dp_accounting
import pytest

from dp import accounting, events as ev
from dp.errors import DPParameterError
from dp.mechanisms import calibrate
from mpc.cli import main as cli_main


@pytest.mark.parametrize("sigma", [0.8, 1.0, 2.5])
@pytest.mark.parametrize("q", [0.001, 0.01, 0.1])
@pytest.mark.parametrize("steps", [1, 100, 10_000])
@pytest.mark.parametrize("delta", [1e-5, 1e-7])
def test_rdp_matches_dp_accounting_grid(sigma, q, steps, delta):
    ref = dp_accounting.rdp.RdpAccountant()
    ref.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps))
    assert accounting.dpsgd_epsilon(sigma, q, steps, delta, "rdp") == pytest.approx(ref.get_epsilon(delta), rel=1e-9)


@pytest.mark.parametrize("sigma,q,steps", [(1.0, 0.01, 100), (2.0, 0.05, 1000), (0.9, 0.001, 500)])
def test_pld_matches_dp_accounting(sigma, q, steps):
    ref = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-4)
    ref.compose(dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps))
    ours = accounting.dpsgd_epsilon(sigma, q, steps, 1e-5, "pld")
    assert ours == pytest.approx(ref.get_epsilon(1e-5), rel=1e-9)
    assert ours <= accounting.dpsgd_epsilon(sigma, q, steps, 1e-5, "rdp") + 1e-9  # PLD is tighter


def test_published_abadi_et_al_2016():
    # Abadi et al., "Deep Learning with Differential Privacy" (CCS 2016), §3.1: q = 0.01, σ = 4,
    # δ = 1e-5, T = 10000 gives ε ≈ 1.26 with the moments accountant (strong composition: 9.34).
    # RDP over fractional orders is tighter, PLD tighter still; both stay within the published bound.
    rdp = accounting.dpsgd_epsilon(4.0, 0.01, 10_000, 1e-5, "rdp")
    pld = accounting.dpsgd_epsilon(4.0, 0.01, 10_000, 1e-5, "pld")
    assert 0.8 < pld <= rdp <= 1.26


def test_full_batch_gaussian_equals_analytic_gaussian():
    # q = 1: T Gaussian steps of noise σ are one Gaussian of noise σ/√T, whose exact (ε, δ) curve is
    # Balle & Wang's; the PLD accountant must reproduce it (up to its discretisation).
    sigma, steps, delta = 5.0, 16, 1e-6
    eps = accounting.dpsgd_epsilon(sigma, 1.0, steps, delta, "pld")
    assert calibrate.analytic_gaussian_delta(sigma / math.sqrt(steps), eps, 1.0) == pytest.approx(delta, rel=0.02)
    assert accounting.dpsgd_epsilon(sigma, 1.0, steps, delta, "rdp") >= eps


def test_pure_composition_known_answers():
    acc = accounting.PureAccountant()
    acc.compose(ev.SelfComposedEvent(ev.LaplaceEvent(10.0), 100))  # 100 × ε = 0.1
    assert acc.basic_epsilon() == pytest.approx(10.0)
    d = 1e-6
    want = math.sqrt(2 * 100 * math.log(1 / d)) * 0.1 + 100 * 0.1 * math.expm1(0.1) / (math.exp(0.1) + 1)
    assert acc.advanced_epsilon(d) == pytest.approx(want)
    assert acc.epsilon(d) == pytest.approx(min(10.0, want))
    assert acc.epsilon(0.0) == pytest.approx(10.0)
    few = accounting.PureAccountant()
    few.compose(ev.ComposedEvent([ev.LaplaceEvent(1.0), ev.ExponentialEvent(0.5)]))
    assert few.epsilon(1e-6) == pytest.approx(1.5)  # basic wins for few, large epsilons
    with pytest.raises(DPParameterError):
        accounting.PureAccountant().compose(ev.GaussianEvent(1.0))


def test_incremental_rdp_equals_one_shot():
    running = accounting.RdpAccountant()
    step = ev.SubsampledGaussianEvent(1.1, 0.02)
    for _ in range(10):
        running.compose(step, 100)
    running.compose(ev.GaussianEvent(3.0))
    running.compose(ev.ExponentialEvent(0.2))
    one = accounting.RdpAccountant()
    one.compose(ev.ComposedEvent([ev.SelfComposedEvent(step, 1000), ev.GaussianEvent(3.0), ev.ExponentialEvent(0.2)]))
    assert running.epsilon(1e-6) == pytest.approx(one.epsilon(1e-6), rel=1e-12)
    assert running.delta(running.epsilon(1e-6)) == pytest.approx(1e-6, rel=1e-3)


def test_inverse_is_smallest_sigma():
    target, delta, q, steps = 2.0, 1e-5, 0.01, 2000
    s = accounting.dpsgd_sigma(target, delta, q, steps, "rdp")
    assert accounting.dpsgd_epsilon(s, q, steps, delta) <= target
    assert accounting.dpsgd_epsilon(s * (1 - 3e-4), q, steps, delta) > target


def test_events_validate():
    for bad in (lambda: ev.GaussianEvent(0.0), lambda: ev.SubsampledGaussianEvent(1.0, 1.5),
                lambda: ev.SelfComposedEvent(ev.GaussianEvent(1.0), 0), lambda: ev.LaplaceEvent(float("nan"))):
        with pytest.raises(DPParameterError):
            bad()
    with pytest.raises(DPParameterError):
        accounting.make_accountant("moments")
    with pytest.raises(DPParameterError):
        accounting.PldAccountant().compose(ev.ZCDPEvent(0.5))


def test_cli_epsilon_and_sigma(capsys):
    assert cli_main(["dp", "epsilon", "--sigma", "1.0", "--sample-rate", "0.01", "--steps", "10000",
                     "--delta", "1e-5"]) == 0
    printed = float(capsys.readouterr().out)
    assert printed == pytest.approx(accounting.dpsgd_epsilon(1.0, 0.01, 10_000, 1e-5), rel=1e-5)
    assert cli_main(["dp", "sigma", "--epsilon", "3", "--sample-rate", "0.01", "--steps", "1000",
                     "--delta", "1e-5", "--accountant", "rdp"]) == 0
    sigma = float(capsys.readouterr().out)
    assert accounting.dpsgd_epsilon(sigma * (1 + 1e-5), 0.01, 1000, 1e-5) <= 3.0
    assert cli_main(["dp", "epsilon", "--sigma", "-1", "--sample-rate", "0.01", "--steps", "10",
                     "--delta", "1e-5"]) == 2
