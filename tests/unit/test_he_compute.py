"""mpc.he known answers: encrypted dot products, matrix-vector products, polynomials, models vs numpy within
the stated error; aggregation with the DP gate; encrypted training vs the same polynomial GD."""

import numpy as np
import pytest

tenseal = pytest.importorskip("tenseal")

from mpc.errors import DepthExhausted, ParameterError, ShapeError, ValueOutOfRange  # noqa: E402
from mpc.he import (EncryptedBatch, HEContext, Model, bfv_params, ckks_params, ckks_sum_params,  # noqa: E402
                    decrypt_rows, encrypt_rows, error_bound, infer, infer_bytes, sigmoid_poly, square)
from mpc.he import aggregate as ag  # noqa: E402
from mpc.he import noise  # noqa: E402
from mpc.he import release as rl  # noqa: E402

RNG = np.random.default_rng(14)


@pytest.fixture(scope="module")
def ckks3():
    return HEContext.generate(ckks_params(3, 16, 256, max_value=64))


def _run(key, model, x):
    pub = key.to_bytes()
    out = infer_bytes(pub, model.to_bytes(), encrypt_rows(HEContext.from_bytes(pub, evaluator=True), x).to_bytes())
    return decrypt_rows(key, EncryptedBatch.from_bytes(key, out))


def test_dot_products_and_matrix_vector_products(ckks3):
    x = RNG.uniform(-1, 1, (300, 12))
    w = RNG.normal(0, 0.5, (5, 12))
    b = RNG.normal(0, 0.5, 5)
    lin = Model([(w, b)], square(), None)
    got = _run(ckks3, lin, x)
    bound = error_bound(lin, ckks3.params, 1.0)
    assert got.shape == (300, 5)
    assert np.max(np.abs(got - (x @ w.T + b))) <= bound["ckks"]
    dot = Model.linear(w[0], 0.0)
    assert np.max(np.abs(_run(ckks3, dot, x)[:, 0] - x @ w[0])) <= error_bound(dot, ckks3.params, 1.0)["ckks"]


def test_polynomial_evaluation(ckks3):
    x = RNG.uniform(-4, 4, (64, 1))
    sig = sigmoid_poly(3, 5.0)
    m = Model([(np.eye(1), np.zeros(1))], square(), sig)
    got = _run(ckks3, m, x)[:, 0]
    bound = error_bound(m, ckks3.params, 4.0)
    assert np.max(np.abs(got - sig(x[:, 0]))) <= bound["ckks"]
    assert np.max(np.abs(got - 1 / (1 + np.exp(-x[:, 0])))) <= bound["total"]


def test_logistic_and_mlp_inference_within_stated_error(ckks3):
    x = RNG.uniform(-1, 1, (200, 30))
    logi = Model.logistic(RNG.normal(0, 0.2, 30), 0.1)
    got = _run(ckks3, logi, x)
    b = error_bound(logi, ckks3.params, 1.0)
    assert np.max(np.abs(got - logi.poly_forward(x))) <= b["ckks"]
    assert np.max(np.abs(got - logi.true_forward(x))) <= b["total"]
    mlp = Model.from_flat(RNG.normal(0, 0.2, 30 * 4 + 4 + 4 + 1), [30, 4, 1])
    assert mlp.depth == 3
    got = _run(ckks3, mlp, x[:50])
    assert np.max(np.abs(got - mlp.poly_forward(x[:50]))) <= error_bound(mlp, ckks3.params, 1.0)["ckks"]


def test_inference_refuses_before_evaluating(ckks3):
    pub = ckks3.public()
    batch = encrypt_rows(pub, RNG.uniform(-1, 1, (8, 3)))
    deep = Model.from_flat(RNG.normal(0, 0.1, 3 * 3 + 3 + 3 * 3 + 3 + 3 + 1), [3, 3, 3, 1], output=sigmoid_poly(3, 8.0))
    with pytest.raises(DepthExhausted, match="needs 7"):
        infer(pub, deep, batch)
    with pytest.raises(ValueOutOfRange, match="beyond the range"):
        infer(pub, Model.logistic([30.0, 30.0, 30.0]), batch)
    with pytest.raises(ParameterError, match="takes 4 features"):
        infer(pub, Model.logistic(np.ones(4) * 0.1), batch)
    with pytest.raises(ShapeError):
        Model.from_flat(np.ones(5), [3, 1])


@pytest.mark.parametrize("scheme", ["bfv", "ckks"])
def test_aggregation_with_dp_gate(scheme):
    k, d = 6, 300
    params = bfv_params(d, 40, additions=k) if scheme == "bfv" else ckks_sum_params(d, 20, 2 ** 12, addends=k)
    key = HEContext.generate(params, relin=False)
    pub = key.to_bytes()
    pctx = HEContext.from_bytes(pub, evaluator=True)
    x = RNG.uniform(-1, 1, (k, d)) * 0.02
    contrib = [ag.encrypt_contribution(pctx, v, clip=1.0).to_bytes() for v in x]
    exact = (np.rint(x * 2 ** 16).sum(axis=0)) / 2 ** 16
    plain_sum = ag.decrypt_vector(key, ag.EncryptedVector.from_bytes(key, ag.aggregate_bytes(pub, contrib, dims=d, clip=1.0)))
    if scheme == "bfv":
        assert np.array_equal(plain_sum, exact)  # exact, no CKKS error
    else:
        assert np.max(np.abs(plain_sum - exact)) < 1e-9
    asked = []
    noised, entry = rl.noise_sum_bytes(pub, contrib, dims=d, output="total", epsilon=1.0, delta=1e-6, clip=1.0,
                                       gate=lambda *a: asked.append(a))
    assert asked == [("total", 1.0, 1e-6)]
    values, entry = rl.release_bytes(key, noised, entry, dims=d)
    for key_ in ("output", "epsilon", "delta", "mechanism", "noise_scale", "grid_sensitivity", "frac_bits", "mode"):
        assert key_ in entry
    sd = np.std(values - exact)
    total_sd = np.hypot(entry["noise_scale"], entry.get("flooding_sigma", 0.0))
    assert 0.8 * total_sd < sd < 1.2 * total_sd  # the noise is there and of the stated size
    assert entry["exact"] == (scheme == "bfv")


def test_gate_refusal_stops_before_noise():
    params = bfv_params(16, 30)
    key = HEContext.generate(params, relin=False)
    pub = key.to_bytes()
    contrib = [ag.encrypt_contribution(HEContext.from_bytes(pub, evaluator=True), np.ones(16) * 0.1, clip=1.0).to_bytes()]

    def refuse(*_):
        raise PermissionError("grant does not cover this release")

    with pytest.raises(PermissionError):
        rl.noise_sum_bytes(pub, contrib, dims=16, output="x", epsilon=1.0, delta=1e-6, clip=1.0, gate=refuse)
    with pytest.raises(ValueOutOfRange, match="wrap"):
        ag.aggregate_bytes(pub, contrib * 1, dims=16, clip=2.0 ** 20)


def test_flooding_spec_and_noise():
    spec = noise.flooding_spec(2.0 ** -50, 1024, 40, magnitude=10.0)
    assert spec.sigma == pytest.approx(32 * 2.0 ** 39)
    assert spec.grid_bits <= 50 and 2.0 ** -spec.grid_bits >= 2.0 ** -50
    big = noise.flooding_spec(2.0 ** -50, 4096, 40, magnitude=10.0)
    assert big.noise_std == pytest.approx(64 * 2.0 ** 39 * 2.0 ** -48)  # float64 resolution at 10 dominates E
    out = noise.flood(np.full(4096, 3.0), big)
    assert 0.9 * big.noise_std < np.std(out - 3.0) < 1.1 * big.noise_std
    with pytest.raises(ValueOutOfRange):
        noise.flooding_spec(0.0, 16)


@pytest.mark.slow
def test_encrypted_training_matches_plain_polynomial_gd():
    from sklearn.datasets import load_breast_cancer

    from mpc.he import training as tr

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0))[:, :6]
    sig = sigmoid_poly(3, 8.0)
    params = ckks_params(tr.training_depth(2, sig), 12, len(x), max_value=16)
    key = HEContext.generate(params, galois=True)
    pub = key.public()
    enc = tr.train(pub, tr.encrypt_dataset(pub, x, y), iterations=2, sigmoid=sig)
    w = tr.decrypt_weights(key, enc)
    ref = tr.plain_train(x, y, iterations=2, sigmoid=sig)
    assert np.max(np.abs(w - ref)) < 1e-2
    assert tr.accuracy(w, x, y) > 0.85
    assert abs(tr.accuracy(w, x, y) - tr.accuracy(ref, x, y)) < 0.02
    with pytest.raises(DepthExhausted, match="cannot bootstrap"):
        tr.train(pub, tr.encrypt_dataset(pub, x, y), iterations=3, sigmoid=sig)
