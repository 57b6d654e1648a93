"""Linear models with per-example gradients: linear, logistic and softmax regression.

What it computes: z = X W + b with W of shape (d, k) and b of shape (k,), flattened as
[W.ravel(), b]. The per-example gradient of row i is (x_i ⊗ e_i, e_i) with e_i = ∂ℓ_i/∂z_i:
  * `LinearRegression`: ℓ = ½(z − y)², e = z − y (k = 1);
  * `LogisticRegression`: binary cross-entropy on the logit z, e = sigmoid(z) − y (k = 1);
  * `SoftmaxRegression`: cross-entropy of softmax(z), e = softmax(z) − onehot(y) (k classes).
Its norm is ‖g_i‖² = (‖x_i‖² + 1)·‖e_i‖², so the clipped sum is Xᵀ(c∘E) and Σ c_i e_i: two
products, no B×P matrix (ghost clipping). `per_example_grads` builds the B×P matrix explicitly
(einsum) for the interface and for tests.
Cost: O(B·d·k) per step for either path.
"""

from __future__ import annotations

import numpy as np

from mpc.errors import ParameterError
from mpc.learn.model import (Model, as_labels, clip_factors, row_sq_norms, weighted_outer_sum,
                             weighted_row_sum)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class _Linear(Model):
    def __init__(self, n_features: int, n_outputs: int, *, dtype=np.float64, init_scale: float = 0.0):
        if not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise ParameterError(f"n_features must be a positive integer, got {n_features!r}")
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {dtype!r}")
        self.init_scale = float(init_scale)

    @property
    def n_params(self) -> int:
        return (self.n_features + 1) * self.n_outputs

    def init(self, rng=None) -> np.ndarray:
        if self.init_scale == 0.0:
            return np.zeros(self.n_params)
        rng = rng if rng is not None else np.random.default_rng()
        return rng.normal(0.0, self.init_scale / np.sqrt(self.n_features), self.n_params)

    def _unpack(self, params):
        p = self.check_params(params)
        d, k = self.n_features, self.n_outputs
        return p[:d * k].reshape(d, k).astype(self.dtype, copy=False), p[d * k:].astype(self.dtype, copy=False)

    def _X(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ParameterError(f"{type(self).__name__} expects X of shape (n, {self.n_features}), got {X.shape}")
        return X

    def logits(self, params, X) -> np.ndarray:
        W, b = self._unpack(params)
        return self._X(X) @ W + b

    def _errors(self, z: np.ndarray, y) -> np.ndarray:
        """∂ℓ_i/∂z_i, shape (B, k)."""
        raise NotImplementedError

    def per_example_grads(self, params, X, y) -> np.ndarray:
        X = self._X(X)
        e = self._errors(self.logits(params, X), y).astype(np.float64)
        outer = np.einsum("id,ik->idk", X.astype(np.float64), e)
        outer = outer.reshape(X.shape[0], self.n_features * self.n_outputs)
        return np.concatenate([outer, e], axis=1)

    def grad_sum(self, params, X, y) -> np.ndarray:
        X = self._X(X)
        e = self._errors(self.logits(params, X), y)
        return np.concatenate([(X.T @ e).ravel(), e.sum(axis=0)]).astype(np.float64)

    def clipped_grad_sum(self, params, X, y, clip, blocks=None):
        X = self._X(X)
        e = self._errors(self.logits(params, X), y)
        norms = np.sqrt((row_sq_norms(X) + 1.0) * row_sq_norms(e))
        c = clip_factors(norms, clip)
        return np.concatenate([weighted_outer_sum(X, e, c).ravel(), weighted_row_sum(e, c)]), norms

    def spec(self) -> dict:
        return {**super().spec(), "n_features": self.n_features}


class LinearRegression(_Linear):
    """Least squares: ℓ = ½(x·w + b − y)²; `predict` returns x·w + b."""

    task = "regression"

    def __init__(self, n_features: int, **kw):
        super().__init__(n_features, 1, **kw)

    def _errors(self, z, y):
        y = np.asarray(y, dtype=z.dtype).reshape(-1, 1)
        if y.shape[0] != z.shape[0]:
            raise ParameterError(f"y has {y.shape[0]} rows, X has {z.shape[0]}")
        return z - y

    def loss(self, params, X, y) -> float:
        z = self.logits(params, X)[:, 0].astype(np.float64)
        return float(0.5 * np.mean((z - np.asarray(y, dtype=np.float64)) ** 2))

    def predict(self, params, X) -> np.ndarray:
        return self.logits(params, X)[:, 0].astype(np.float64)


class LogisticRegression(_Linear):
    """Binary logistic regression on labels {0, 1}; `predict` returns (n, 2) probabilities."""

    task = "binary"
    n_classes = 2

    def __init__(self, n_features: int, **kw):
        super().__init__(n_features, 1, **kw)

    def _errors(self, z, y):
        lab = as_labels(y, 2).astype(z.dtype).reshape(-1, 1)
        if lab.shape[0] != z.shape[0]:
            raise ParameterError(f"y has {lab.shape[0]} rows, X has {z.shape[0]}")
        return _sigmoid(z) - lab

    def loss(self, params, X, y) -> float:
        z = self.logits(params, X)[:, 0].astype(np.float64)
        lab = as_labels(y, 2)
        # log(1 + e^z) - y z, computed stably
        return float(np.mean(np.logaddexp(0.0, z) - lab * z))

    def predict(self, params, X) -> np.ndarray:
        p1 = _sigmoid(self.logits(params, X)[:, 0].astype(np.float64))
        return np.stack([1.0 - p1, p1], axis=1)


class SoftmaxRegression(_Linear):
    """Multinomial logistic regression on labels 0..k-1; `predict` returns (n, k) probabilities."""

    task = "multiclass"

    def __init__(self, n_features: int, n_classes: int, **kw):
        if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
            raise ParameterError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        super().__init__(n_features, int(n_classes), **kw)
        self.n_classes = int(n_classes)

    def _errors(self, z, y):
        lab = as_labels(y, self.n_classes)
        if lab.shape[0] != z.shape[0]:
            raise ParameterError(f"y has {lab.shape[0]} rows, X has {z.shape[0]}")
        p = _softmax(z)
        p[np.arange(lab.shape[0]), lab] -= 1.0
        return p

    def loss(self, params, X, y) -> float:
        z = self.logits(params, X).astype(np.float64)
        lab = as_labels(y, self.n_classes)
        zmax = z.max(axis=1)
        lse = zmax + np.log(np.exp(z - zmax[:, None]).sum(axis=1))
        return float(np.mean(lse - z[np.arange(lab.shape[0]), lab]))

    def predict(self, params, X) -> np.ndarray:
        return _softmax(self.logits(params, X).astype(np.float64))
