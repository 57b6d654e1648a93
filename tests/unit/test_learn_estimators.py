"""scikit-learn estimators over DP-SGD and the scaling pre-pass: pipelines, get/set_params,
clear errors, and the pre-pass's privacy event composed into the reported ε."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from dp import accounting, events as ev
from mpc.crypto import PRG
from mpc.errors import ParameterError
from mpc.learn import DPSGD, LogisticRegression
from mpc.learn.estimators import DPLinearRegression, DPLogisticRegression, DPMLPClassifier, DPSoftmaxRegression
from mpc.learn.preprocess import DPStandardizer, PublicBounds, log_transform, prepass_sigma


def _blobs(seed, n=300, d=5, k=2):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2, size=(k, d))
    y = rng.integers(0, k, n)
    return centers[y] + rng.normal(size=(n, d)), y


def test_estimators_fit_predict_score_in_a_pipeline():
    X, y = _blobs(0)
    labels = np.where(y == 1, "malignant", "benign")
    pipe = make_pipeline(FunctionTransformer(lambda Z: Z / 8.0), DPLogisticRegression(epsilon=4.0, epochs=30, lr=0.2,
                                                                                     random_state=0, accountant="rdp"))
    pipe.fit(X, labels)
    est = pipe[-1]
    assert set(est.classes_) == {"benign", "malignant"}
    assert pipe.score(X, labels) > 0.85
    assert pipe.predict_proba(X).shape == (300, 2)
    assert est.report_.epsilon_spent <= 4.0 and est.report_.accountant == "rdp"
    params = est.get_params()
    assert params["epsilon"] == 4.0 and params["clip"] == 1.0
    c = clone(est).set_params(epsilon=2.0)
    assert c.epsilon == 2.0 and not hasattr(c, "params_")


def test_multiclass_mlp_and_softmax_and_regression():
    X, y = _blobs(1, k=3)
    for est in (DPSoftmaxRegression(epsilon=4.0, epochs=30, lr=0.2, accountant="rdp"), DPMLPClassifier((8,), epsilon=4.0, epochs=30,
                                                                                      lr=0.05, random_state=0,
                                                                                      accountant="rdp")):
        est.fit(X / 8, y)
        assert est.score(X / 8, y) > 0.7
        assert est.predict_proba(X / 8).shape == (300, 3)
    rng = np.random.default_rng(2)
    Xr = rng.normal(size=(400, 3))
    yr = Xr @ np.array([0.5, -0.3, 0.2]) + 0.1
    reg = DPLinearRegression(epsilon=4.0, epochs=40, lr=0.05, random_state=0, accountant="rdp").fit(Xr, yr)
    assert reg.score(Xr, yr) > 0.5


def test_estimator_errors_are_clear():
    X, y = _blobs(3, k=3)
    with pytest.raises(ParameterError, match="binary"):
        DPLogisticRegression(epsilon=1.0).fit(X, y)
    with pytest.raises(ParameterError, match="classes"):
        DPLogisticRegression(epsilon=1.0, classes=np.array([0, 1])).fit(X, y)
    with pytest.raises(ParameterError, match="not fitted"):
        DPLogisticRegression().predict(X)


def test_public_bounds_and_log_transform_use_no_data_statistics():
    X = np.array([[0.5, 10.0], [2.0, -3.0]])
    out = PublicBounds([0, -10], [1, 10]).transform(X)
    np.testing.assert_allclose(out, [[0.0, 1.0], [1.0, -0.3]])
    np.testing.assert_allclose(log_transform(np.array([[0.0, 1.0]]), 1.0), [[0.0, np.log(2.0)]])
    with pytest.raises(ParameterError):
        log_transform(np.array([[-2.0]]))


def test_dp_standardizer_estimates_and_its_event_is_charged():
    rng = np.random.default_rng(4)
    X = rng.normal([1.0, -2.0, 3.0], [0.5, 1.0, 2.0], size=(100_000, 3))
    sigma = prepass_sigma(1.0, 1e-6, 0.2)
    st = DPStandardizer(-10, 10, sigma, prg=PRG(bytes(16))).fit(X)
    np.testing.assert_allclose(st.mean_, [1.0, -2.0, 3.0], atol=0.1)
    np.testing.assert_allclose(st.scale_, [0.5, 1.0, 2.0], rtol=0.2)
    Z = st.transform(X)
    assert abs(Z.mean()) < 0.1
    # the trainer composes the pre-pass event: total ε meets the target and exceeds training alone
    y = (X[:, 0] > 1).astype(int)
    tr = DPSGD(LogisticRegression(3), epsilon=1.0, sample_rate=1.0, epochs=5, prior_events=[st.event],
               accountant="rdp", prg=PRG(bytes(16)))
    rep = tr.fit(Z[:2000], y[:2000]).report
    assert rep.epsilon_spent <= 1.0
    train_only = accounting.epsilon(ev.GaussianEvent(rep.noise_multipliers[0] / np.sqrt(5)), 1e-6, "rdp")
    assert train_only < rep.epsilon_spent
    assert rep.prior_events == [repr(st.event)]
