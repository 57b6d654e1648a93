"""Every registered protocol against the plaintext computation (within the fixed-point bound)."""

import numpy as np
import pytest

from mpc.errors import ParameterError
from mpc.protocols import default_registry
from mpc.protocols.local import run_protocol_local
from mpc.protocols.regression import predict

rng = np.random.default_rng(7)
DATA = {p: {"age": rng.uniform(20, 90, 50 + 10 * p), "bmi": rng.uniform(15, 45, 50 + 10 * p),
            "sick": (rng.uniform(0, 1, 50 + 10 * p) < 0.3).astype(float)} for p in range(3)}
ALL = {k: np.concatenate([DATA[p][k] for p in range(3)]) for k in DATA[0]}
TOL = 1e-3


def run(name, params, datasets=DATA, **kw):
    res = run_protocol_local(name, datasets, params, **kw)
    assert all(r is None for r in res[1:]), "only the output party receives the result"
    return res[0]


def test_registry_lists_all():
    names = default_registry().names()
    for n in ["sum", "count", "mean", "variance", "histogram", "dot", "expression", "linear_regression",
              "logistic_regression"]:
        assert n in names


def test_sum_count_mean_variance():
    p = {"column": "age", "lower": 0, "upper": 120}
    assert run("sum", p)["sum"] == pytest.approx(ALL["age"].sum(), abs=TOL * 10)
    assert run("count", {})["count"] == len(ALL["age"])
    where = {"column": "bmi", "op": ">=", "value": 30}
    assert run("count", {"where": where})["count"] == int(np.sum(ALL["bmi"] >= 30))
    m = run("mean", p)
    assert m["mean"] == pytest.approx(ALL["age"].mean(), abs=TOL)
    v = run("variance", p)
    assert v["variance"] == pytest.approx(ALL["age"].var(ddof=1), rel=1e-4)
    clipped = run("sum", {"column": "age", "lower": 0, "upper": 50})
    assert clipped["sum"] == pytest.approx(np.clip(ALL["age"], 0, 50).sum(), abs=TOL * 10)


def test_histogram():
    h = run("histogram", {"column": "bmi", "lower": 15, "upper": 45, "bins": 6})
    ref, _ = np.histogram(ALL["bmi"], bins=np.linspace(15, 45, 7))
    assert h["counts"] == [float(c) for c in ref]
    h2 = run("histogram", {"column": "age", "edges": [0, 40, 60, 200]})
    ref2, _ = np.histogram(ALL["age"], bins=[0, 40, 60, 200])
    assert h2["counts"] == [float(c) for c in ref2]


def test_vertical_dot_and_expression():
    a, b, c = rng.uniform(-5, 5, 40), rng.uniform(0, 3, 40), rng.uniform(-1, 1, 40)
    data = {0: {"a": a}, 1: {"b": b}, 2: {"c": c}}
    src = {"a": {"party": 0, "column": "a", "lower": -5, "upper": 5},
           "b": {"party": 1, "column": "b", "lower": 0, "upper": 3},
           "c": {"party": 2, "column": "c", "lower": -1, "upper": 1}}
    d = run("dot", {"x": src["a"], "y": src["b"]}, datasets=data)
    assert d["dot"] == pytest.approx(float(a @ b), abs=0.01)
    e = run("expression", {"expr": "a * b + 2 * c - relu(a - 1) / 2", "columns": src}, datasets=data)
    ref = a * b + 2 * c - np.maximum(a - 1, 0) / 2
    np.testing.assert_allclose(e["values"], ref, atol=1e-3)
    e2 = run("expression", {"expr": "max(a, c) + (b > 1.5) + clip(a, -1, 1) + abs(c)", "columns": src},
             datasets=data)
    ref2 = np.maximum(a, c) + (b > 1.5) + np.clip(a, -1, 1) + np.abs(c)
    np.testing.assert_allclose(e2["values"], ref2, atol=1e-3)


@pytest.mark.parametrize("bad", [
    {"expr": "__import__('os').system('x')"},
    {"expr": "a ** 2"},
    {"expr": "a / c"},
    {"expr": "zzz + 1"},
    {"expr": "a +"},
])
def test_expression_refuses_anything_else(bad):
    cols = {"a": {"party": 0, "column": "a", "lower": 0, "upper": 1},
            "c": {"party": 1, "column": "c", "lower": 0, "upper": 1}}
    with pytest.raises(ParameterError):
        default_registry().get("expression").check_params({**bad, "columns": cols})


def test_parameter_errors_are_clear():
    reg = default_registry()
    with pytest.raises(ParameterError, match="lower"):
        reg.get("sum").check_params({"column": "age", "lower": 5, "upper": 1})
    with pytest.raises(ParameterError, match="op"):
        reg.get("count").check_params({"where": {"column": "x", "op": "~", "value": 1}})
    with pytest.raises(ParameterError, match="unknown protocol"):
        reg.get("nope")
    with pytest.raises(ParameterError, match="no column 'weight'"):
        run("sum", {"column": "weight", "lower": 0, "upper": 1})


def test_logistic_regression_learns():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    train, test = idx[:455], idx[455:]
    feats = [f"f{j}" for j in range(X.shape[1])]
    parts = np.array_split(train, 3)
    data = {p: {**{f: X[rows, j] for j, f in enumerate(feats)}, "y": y[rows].astype(float)}
            for p, rows in enumerate(parts)}
    bounds = {f: [float(X[:, j].min()), float(X[:, j].max())] for j, f in enumerate(feats)}
    res = run("logistic_regression", {"features": feats, "label": "y", "bounds": bounds, "iterations": 60},
              datasets=data)
    acc = float(np.mean((predict(res, X[test]) > 0) == y[test]))
    assert acc > 0.85, acc


def test_linear_regression_fits():
    x = rng.uniform(-1, 1, (90, 2))
    yv = 0.6 * x[:, 0] - 0.3 * x[:, 1] + 0.1
    data = {p: {"x0": x[30 * p:30 * p + 30, 0], "x1": x[30 * p:30 * p + 30, 1], "y": yv[30 * p:30 * p + 30]}
            for p in range(3)}
    res = run("linear_regression", {"features": ["x0", "x1"], "label": "y", "iterations": 150, "l2": 1e-3,
                                     "bounds": {"x0": [-1, 1], "x1": [-1, 1], "y": [-1, 1]}}, datasets=data)
    pred = predict(res, x)
    assert np.sqrt(np.mean((pred - yv) ** 2)) < 0.05
