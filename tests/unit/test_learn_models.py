"""mpc.learn models: per-example gradients against finite differences, ghost clipping against the
explicit path, the clipping bound, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mpc.errors import ParameterError
from mpc.learn import MLP, LinearRegression, LogisticRegression, SoftmaxRegression
from mpc.learn.model import clip_factors


def _model_and_data(kind: str, seed: int, n: int, d: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0)
    if kind == "linear":
        return LinearRegression(d), X, rng.normal(size=n) * 2
    if kind == "logistic":
        return LogisticRegression(d), X, rng.integers(0, 2, n)
    if kind == "softmax":
        return SoftmaxRegression(d, 3), X, rng.integers(0, 3, n)
    if kind == "mlp_relu":
        return MLP([d, 5, 4, 3], activation="relu", output="softmax"), X, rng.integers(0, 3, n)
    if kind == "mlp_tanh_sigmoid":
        return MLP([d, 6, 1], activation="tanh", output="sigmoid"), X, rng.integers(0, 2, n)
    return MLP([d, 4, 1], activation="tanh", output="identity"), X, rng.normal(size=n)


KINDS = ["linear", "logistic", "softmax", "mlp_relu", "mlp_tanh_sigmoid", "mlp_regression"]


def _params(model, seed):
    p = model.init(np.random.default_rng(seed))
    return p + np.random.default_rng(seed + 1).normal(0, 0.3, p.size)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), d=st.integers(1, 5))
def test_per_example_grads_match_finite_differences(kind, seed, n, d):
    model, X, y = _model_and_data(kind, seed, n, d)
    p = _params(model, seed)
    g = model.per_example_grads(p, X, y)
    assert g.shape == (n, model.n_params)
    h = 1e-6
    for i in range(n):
        for j in range(model.n_params):
            e = np.zeros_like(p)
            e[j] = h
            fd = (model.loss(p + e, X[i:i + 1], y[i:i + 1]) - model.loss(p - e, X[i:i + 1], y[i:i + 1])) / (2 * h)
            assert g[i, j] == pytest.approx(fd, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40), d=st.integers(1, 8),
       clip=st.floats(1e-3, 1e3))
def test_ghost_clipping_equals_explicit_and_respects_clip(kind, seed, n, d, clip):
    model, X, y = _model_and_data(kind, seed, n, d)
    p = _params(model, seed)
    g = model.per_example_grads(p, X, y)
    norms = np.linalg.norm(g, axis=1)
    c = clip_factors(norms, clip)
    clipped = g * c[:, None]
    # the clipping guarantee, for every per-example gradient of the batch
    assert np.all(np.linalg.norm(clipped, axis=1) <= clip)
    s, ghost_norms = model.clipped_grad_sum(p, X, y, clip)
    np.testing.assert_allclose(ghost_norms, norms, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s, clipped.sum(axis=0), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.grad_sum(p, X, y), g.sum(axis=0), rtol=1e-8, atol=1e-10)
    s_inf, _ = model.clipped_grad_sum(p, X, y, np.inf)
    np.testing.assert_allclose(s_inf, g.sum(axis=0), rtol=1e-8, atol=1e-10)


def test_float32_models_agree_with_float64():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(64, 20)), rng.integers(0, 10, 64)
    m64, m32 = MLP([20, 16, 10]), MLP([20, 16, 10], dtype=np.float32)
    p = m64.init(rng)
    s64, _ = m64.clipped_grad_sum(p, X, y, 1.0)
    s32, n32 = m32.clipped_grad_sum(p, X, y, 1.0)
    assert s32.dtype == np.float64  # accumulated in float64 whatever the compute dtype
    np.testing.assert_allclose(s32, s64, rtol=1e-3, atol=1e-5)
    assert np.all(n32 > 0)


def test_predict_shapes_and_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 4))
    for model in (LogisticRegression(4), SoftmaxRegression(4, 5), MLP([4, 3, 5]), MLP([4, 3, 1], output="sigmoid")):
        proba = model.predict(model.init(rng), X)
        assert proba.shape == (7, model.n_classes)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert LinearRegression(4).predict(np.zeros(5), X).shape == (7,)


def test_bad_inputs_are_refused():
    m = LogisticRegression(3)
    p = m.init()
    with pytest.raises(ParameterError, match="labels"):
        m.per_example_grads(p, np.zeros((2, 3)), np.array([0, 2]))
    with pytest.raises(ParameterError, match="shape"):
        m.per_example_grads(p, np.zeros((2, 4)), np.array([0, 1]))
    with pytest.raises(ParameterError, match="parameters"):
        m.loss(np.zeros(3), np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ParameterError):
        MLP([3, 4, 2], activation="gelu")
    with pytest.raises(ParameterError):
        MLP([3, 4, 2], output="sigmoid")


def test_model_n_params_of_the_bench_mlp():
    assert MLP([784, 128, 10]).n_params == 784 * 128 + 128 + 128 * 10 + 10  # 101,770


def test_blocked_float32_sum_changes_only_the_records_block():
    """Adding one record to one block leaves the other blocks' float32 sums bit-identical, and the
    change of the total stays within C plus the 'blocked32' summation slack."""
    from mpc.learn.model import blocked_outer_sum
    from mpc.learn.noise import summation_slack

    rng = np.random.default_rng(7)
    a = rng.normal(size=(200, 30)).astype(np.float32)
    g = rng.normal(size=(200, 8)).astype(np.float32)
    c = np.minimum(1.0, 1.0 / (np.linalg.norm(a, axis=1) * np.linalg.norm(g, axis=1)))
    bounds = np.array([0, 60, 130, 200])
    base = blocked_outer_sum(a, g, c, bounds)
    # insert a record into the middle block
    x_a, x_g = rng.normal(size=(1, 30)).astype(np.float32), rng.normal(size=(1, 8)).astype(np.float32)
    x_c = np.array([min(1.0, 1.0 / (np.linalg.norm(x_a) * np.linalg.norm(x_g)))])
    a2, g2, c2 = (np.concatenate([v[:90], w, v[90:]]) for v, w in ((a, x_a), (g, x_g), (c, x_c)))
    bounds2 = np.array([0, 60, 131, 201])
    new = blocked_outer_sum(a2, g2, c2, bounds2)
    first = blocked_outer_sum(a, g, c, np.array([0, 60]))
    np.testing.assert_array_equal(first, blocked_outer_sum(a2, g2, c2, np.array([0, 60])))
    diff = np.linalg.norm(new - base)
    assert diff <= 1.0 * (1 + summation_slack(1 << 24, accumulation="blocked32"))
    np.testing.assert_allclose(new - base, x_c[0] * np.outer(x_a[0], x_g[0]), atol=1e-4)
