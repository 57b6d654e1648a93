"""Multilayer perceptron with per-example gradients and per-layer ghost clipping.

What it computes: dense layers z_l = a_{l−1} W_l + b_l, a_l = act(z_l) (ReLU or tanh) for the
hidden layers, then an output layer with a sigmoid (binary), softmax (multi-class) or identity
(regression) link and the matching loss (cross-entropy or ½ squared error). Parameters are
[W_1.ravel(), b_1, W_2.ravel(), b_2, ...]. One backward pass gives, per example i and layer l,
the input a_{l−1,i} and the output gradient δ_{l,i}; the example's gradient for layer l is
a_{l−1,i} δ_{l,i}ᵀ (rank one) and its bias gradient δ_{l,i}, so
    ‖g_i‖² = Σ_l (‖a_{l−1,i}‖² + 1)·‖δ_{l,i}‖²
is known without forming g_i, and the clipped sum is Σ_l a_{l−1}ᵀ diag(c) δ_l: the same matrix
products as a plain backward pass (Goodfellow 2015; Lee & Kifer 2021; Li et al. 2022 "ghost
clipping"; Bu et al. 2023). `per_example_grads` materialises the B×P matrix for the interface
and tests.

Cost: forward and backward as a plain step (2 matrix products per layer, 1 for the first); the
clipped path adds O(B·Σ d_l) for the norms and accumulates the weight products in float64.
"""

from __future__ import annotations

import numpy as np

from mpc.errors import ParameterError
from mpc.learn.linear import _sigmoid, _softmax
from mpc.learn.model import (Model, as_labels, blocked_outer_sum, clip_factors, row_sq_norms,
                             weighted_outer_sum, weighted_row_sum)

ACTIVATIONS = ("relu", "tanh")
OUTPUTS = ("sigmoid", "softmax", "identity")


class MLP(Model):
    """Dense network `layers` = [n_in, hidden..., n_out]; see the module docstring."""

    def __init__(self, layers, *, activation: str = "relu", output: str = "softmax", dtype=np.float64):
        layers = [int(v) for v in layers]
        if len(layers) < 2 or min(layers) < 1:
            raise ParameterError(f"layers must list at least an input and an output size, got {layers!r}")
        if activation not in ACTIVATIONS:
            raise ParameterError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if output not in OUTPUTS:
            raise ParameterError(f"output must be one of {OUTPUTS}, got {output!r}")
        if output == "sigmoid" and layers[-1] != 1:
            raise ParameterError("a sigmoid output needs exactly one output unit")
        if output == "softmax" and layers[-1] < 2:
            raise ParameterError("a softmax output needs at least two output units")
        self.layers = layers
        self.activation = activation
        self.output = output
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype must be float32 or float64, got {dtype!r}")
        self.task = {"sigmoid": "binary", "softmax": "multiclass", "identity": "regression"}[output]
        self.n_classes = {"sigmoid": 2, "softmax": layers[-1], "identity": 1}[output]
        self._shapes = list(zip(layers[:-1], layers[1:]))
        self._n = sum(i * o + o for i, o in self._shapes)

    @property
    def n_params(self) -> int:
        return self._n

    def init(self, rng=None) -> np.ndarray:
        """He (ReLU) or Glorot (tanh) normal weights, zero biases; data-independent."""
        rng = rng if rng is not None else np.random.default_rng()
        parts = []
        for i, o in self._shapes:
            scale = np.sqrt(2.0 / i) if self.activation == "relu" else np.sqrt(2.0 / (i + o))
            parts += [rng.normal(0.0, scale, i * o), np.zeros(o)]
        return np.concatenate(parts)

    def _unpack(self, params):
        p = self.check_params(params)
        out, k = [], 0
        for i, o in self._shapes:
            W = p[k:k + i * o].reshape(i, o).astype(self.dtype, copy=False)
            k += i * o
            out.append((W, p[k:k + o].astype(self.dtype, copy=False)))
            k += o
        return out

    def _X(self, X):
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.layers[0]:
            raise ParameterError(f"MLP expects X of shape (n, {self.layers[0]}), got {X.shape}")
        return X

    def _forward(self, weights, X):
        acts, a = [X], X
        for li, (W, b) in enumerate(weights):
            z = a @ W
            z += b
            if li < len(weights) - 1:
                a = np.maximum(z, 0) if self.activation == "relu" else np.tanh(z)
                acts.append(a)
            else:
                return acts, z
        raise AssertionError("unreachable")

    def _output_error(self, z, y):
        n = z.shape[0]
        if self.output == "identity":
            t = np.asarray(y, dtype=z.dtype).reshape(-1, 1)
            if t.shape[0] != n:
                raise ParameterError(f"y has {t.shape[0]} rows, X has {n}")
            return z - t
        if self.output == "sigmoid":
            lab = as_labels(y, 2).astype(z.dtype).reshape(-1, 1)
            if lab.shape[0] != n:
                raise ParameterError(f"y has {lab.shape[0]} rows, X has {n}")
            return _sigmoid(z) - lab
        lab = as_labels(y, self.layers[-1])
        if lab.shape[0] != n:
            raise ParameterError(f"y has {lab.shape[0]} rows, X has {n}")
        p = _softmax(z)
        p[np.arange(n), lab] -= 1.0
        return p

    def _backward(self, params, X, y):
        """(weights, layer inputs a_{l-1}, output gradients δ_l) for every layer."""
        weights = self._unpack(params)
        X = self._X(X)
        acts, z = self._forward(weights, X)
        deltas = [None] * len(weights)
        d = self._output_error(z, y)
        deltas[-1] = d
        for li in range(len(weights) - 1, 0, -1):
            d = d @ weights[li][0].T
            a = acts[li]
            if self.activation == "relu":
                d *= a > 0
            else:
                d *= 1.0 - a * a
            deltas[li - 1] = d
        return weights, acts, deltas

    def per_example_grads(self, params, X, y) -> np.ndarray:
        _, acts, deltas = self._backward(params, X, y)
        parts = []
        for a, d in zip(acts, deltas):
            a64, d64 = a.astype(np.float64), d.astype(np.float64)
            parts += [np.einsum("id,ik->idk", a64, d64).reshape(a.shape[0], a.shape[1] * d.shape[1]), d64]
        return np.concatenate(parts, axis=1)

    def grad_sum(self, params, X, y) -> np.ndarray:
        _, acts, deltas = self._backward(params, X, y)
        parts = []
        for a, d in zip(acts, deltas):
            parts += [(a.T @ d).ravel(), d.sum(axis=0)]
        return np.concatenate(parts).astype(np.float64)

    def clipped_grad_sum(self, params, X, y, clip, blocks=None):
        """Clipped sum; with float32 compute and `blocks` (row boundaries of the record blocks), the
        weight products run in float32 per block and are added in float64 (model.blocked_outer_sum)."""
        _, acts, deltas = self._backward(params, X, y)
        blocked = blocks is not None and self.dtype == np.float32
        sq = np.zeros(acts[0].shape[0])
        for a, d in zip(acts, deltas):
            sq += (row_sq_norms(a) + 1.0) * row_sq_norms(d)  # float64 norms
        norms = np.sqrt(sq)
        c = clip_factors(norms, clip)
        parts = []
        for a, d in zip(acts, deltas):
            w = blocked_outer_sum(a, d, c, blocks) if blocked else weighted_outer_sum(a, d, c)
            parts += [w.ravel(), weighted_row_sum(d, c)]
        return np.concatenate(parts), norms

    def loss(self, params, X, y) -> float:
        weights = self._unpack(params)
        _, z = self._forward(weights, self._X(X))
        z = z.astype(np.float64)
        if self.output == "identity":
            return float(0.5 * np.mean((z[:, 0] - np.asarray(y, dtype=np.float64)) ** 2))
        if self.output == "sigmoid":
            lab = as_labels(y, 2)
            return float(np.mean(np.logaddexp(0.0, z[:, 0]) - lab * z[:, 0]))
        lab = as_labels(y, self.layers[-1])
        zmax = z.max(axis=1)
        lse = zmax + np.log(np.exp(z - zmax[:, None]).sum(axis=1))
        return float(np.mean(lse - z[np.arange(lab.shape[0]), lab]))

    def predict(self, params, X) -> np.ndarray:
        weights = self._unpack(params)
        _, z = self._forward(weights, self._X(X))
        z = z.astype(np.float64)
        if self.output == "identity":
            return z[:, 0]
        if self.output == "sigmoid":
            p1 = _sigmoid(z[:, 0])
            return np.stack([1.0 - p1, p1], axis=1)
        return _softmax(z)

    def spec(self) -> dict:
        return {**super().spec(), "layers": self.layers, "activation": self.activation, "output": self.output}
