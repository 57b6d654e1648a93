"""DP-SGD trainer: equals plain SGD with σ = 0 and C = ∞ on the same Poisson batches; its ε equals
dp-accounting's for the events it ran (constant and heterogeneous schedules, early stopping);
distributed noise; noise on the grid; clear errors before any noise on bad input."""

from __future__ import annotations

import math

import dp_accounting
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dp.errors import DPParameterError
from mpc.crypto import PRG
from mpc.errors import ParameterError
from mpc.learn import DPSGD, MLP, SGD, Adam, LogisticRegression, SoftmaxRegression
from mpc.learn.dpsgd import poisson_mask
from mpc.learn.noise import GridNoise
from mpc.learn.privacy import accounted_rate


def _data(seed, n=60, d=4, k=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int) if k == 2 else rng.integers(0, k, n)
    return X, y


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), q=st.sampled_from([0.1, 0.35, 1.0]), epochs=st.integers(1, 3),
       momentum=st.sampled_from([0.0, 0.9]), mlp=st.booleans())
def test_sigma_zero_infinite_clip_equals_plain_sgd_on_same_batches(seed, q, epochs, momentum, mlp):
    X, y = _data(seed, k=3 if mlp else 2)
    model = MLP([4, 5, 3]) if mlp else LogisticRegression(4)
    p0 = model.init(np.random.default_rng(seed))
    key = bytes(range(16))
    tr = DPSGD(model, noise_multiplier=0.0, clip=math.inf, sample_rate=q, epochs=epochs,
               optimizer=SGD(lr=0.05, momentum=momentum), expected_batch_size=7.0, prg=PRG(key))
    got = tr.fit(X, y, params=p0)
    # plain SGD by hand on the batches drawn from the same PRG stream
    prg, (_, thr) = PRG(key), accounted_rate(q)
    p, v = p0.copy(), None
    for _ in range(epochs * tr.steps_per_epoch()):
        idx = np.flatnonzero(poisson_mask(X.shape[0], thr, prg))
        g = model.grad_sum(p, X[idx], y[idx]) / 7.0
        v = g if v is None else momentum * v + g
        p = p - 0.05 * (v if momentum else g)
    np.testing.assert_allclose(got.params, p, rtol=1e-10, atol=1e-12)
    assert got.report.epsilon_spent == math.inf


def _ref_epsilon(runs, q, delta, accountant):
    events = [dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), k) for s, k in runs]
    acc = (dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-4) if accountant == "pld"
           else dp_accounting.rdp.RdpAccountant())
    acc.compose(dp_accounting.ComposedDpEvent(events))
    return acc.get_epsilon(delta)


@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_epsilon_equals_dp_accounting_for_a_decaying_schedule(accountant):
    X, y = _data(1)
    tr = DPSGD(LogisticRegression(4), noise_multiplier=3.0, schedule=("decaying", 0.8), clip=1.0,
               sample_rate=0.25, epochs=3, accountant=accountant, prg=PRG(bytes(16)))
    rep = tr.fit(X, y).report
    sig = rep.noise_multipliers
    assert sig == pytest.approx([3.0, 2.4, 1.92])
    ref = _ref_epsilon([(s, 4) for s in sig], rep.sample_rate, 1e-6, accountant)
    assert rep.epsilon_spent == pytest.approx(ref, rel=1e-9)
    assert rep.steps_run == rep.steps_planned == 12


def test_calibrated_epsilon_is_met_and_early_stopping_charges_only_steps_run():
    X, y = _data(2)
    seen = []
    tr = DPSGD(LogisticRegression(4), epsilon=2.0, delta=1e-5, clip=1.0, sample_rate=1.0, epochs=4,
               accountant="rdp", progress=seen.append, early_stopping=lambda e, p, info: e == 2,
               monitor=(X, y), prg=PRG(bytes(16)))
    rep = tr.fit(X, y).report
    planned = _ref_epsilon([(rep.noise_multipliers[0], 4)], rep.sample_rate, 1e-5, "rdp")
    assert planned <= 2.0 and planned > 1.99
    assert rep.early_stopped and rep.steps_run == 2 and rep.epochs_run == 2
    spent = _ref_epsilon([(rep.noise_multipliers[0], 2)], rep.sample_rate, 1e-5, "rdp")
    assert rep.epsilon_spent == pytest.approx(spent, rel=1e-9) and rep.epsilon_spent < planned
    assert [i["epoch"] for i in seen] == [1, 2] and all("loss" in i and "epsilon_spent" in i for i in seen)
    assert seen[-1]["epsilon_spent"] == pytest.approx(rep.epsilon_spent)
    assert rep.to_dict()["neighbouring"] == "add/remove one record"


def test_epsilon_shares_schedule_puts_less_noise_where_the_share_is_larger():
    X, y = _data(3)
    tr = DPSGD(LogisticRegression(4), epsilon=3.0, clip=1.0, sample_rate=1.0, epochs=3, accountant="pld",
               schedule=[0.2, 0.3, 0.5], prg=PRG(bytes(16)))
    rep = tr.fit(X, y).report
    s = rep.noise_multipliers
    assert s[0] > s[1] > s[2]
    assert s[0] / s[2] == pytest.approx(math.sqrt(0.5 / 0.2))
    assert rep.epsilon_spent <= 3.0


def test_noise_is_on_the_grid_with_the_planned_scale():
    grid = GridNoise(clip=0.5, dims=2000, frac_bits=16)
    assert grid.sensitivity == math.ceil(0.5 * (1 + grid.report()["summation_slack"]) * 2 ** 16 + math.sqrt(2000))
    s = np.linspace(-1, 1, 2000)
    out = grid.noisy_sum(s, 2.0, PRG(bytes(16)))
    z = out * 2 ** 16 - np.rint(s * 2 ** 16)
    np.testing.assert_array_equal(z, np.rint(z))  # integer noise on the grid
    assert np.std(z) == pytest.approx(2.0 * grid.sensitivity, rel=0.1)


def test_distributed_contributors_train_and_account_in_rdp():
    X, y = _data(4, n=90)
    parts = [(X[i::3], y[i::3]) for i in range(3)]
    model = LogisticRegression(4)
    tr = DPSGD(model, epsilon=4.0, clip=1.0, sample_rate=1.0, epochs=5, accountant="rdp", parties=3, colluders=1,
               optimizer=Adam(lr=0.2), prg=PRG(bytes(16)))
    res = tr.fit(parts=parts, rng=np.random.default_rng(0))
    rep = res.report
    assert rep.mechanism["honest"] == 2 and rep.epsilon_spent <= 4.0
    assert (model.predict(res.params, X).argmax(1) == y).mean() > 0.7
    with pytest.raises(DPParameterError, match="rdp"):
        DPSGD(model, epsilon=1.0, parties=3, colluders=1, accountant="pld").fit(parts=parts)


def test_bad_input_is_refused_before_any_noise():
    X, y = _data(5)
    m = SoftmaxRegression(4, 3)
    with pytest.raises(ParameterError, match="classes"):
        DPSGD(m, epsilon=1.0).fit(X, np.full(60, 3))
    bad = y.copy()
    bad[-1] = 7  # only the last label is out of range
    with pytest.raises(ParameterError, match="classes"):
        DPSGD(m, epsilon=1.0).fit(X, bad)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        DPSGD(m, epsilon=1.0).fit(Xn, y)
    with pytest.raises(ParameterError, match="non-empty"):
        DPSGD(m, epsilon=1.0).fit(np.zeros((0, 4)), np.zeros(0))
    with pytest.raises(DPParameterError, match="epsilon"):
        DPSGD(m, epsilon=-1.0).fit(X, y)
    with pytest.raises(DPParameterError, match="delta"):
        DPSGD(m, epsilon=1.0, delta=1.5).fit(X, y)
    with pytest.raises(DPParameterError, match="max_batch"):
        DPSGD(m, noise_multiplier=1.0, sample_rate=1.0, max_batch=10).fit(X, y)
