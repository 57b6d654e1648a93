"""The model interface of `mpc.learn`: a flat parameter vector plus pure functions.

A model is an object with no training state: its parameters live in one flat float vector that
the caller owns (the trainer, a node's training job, a federated client). What a model computes:

  * ``init(rng)``: initial parameters (data-independent, so they cost no privacy);
  * ``per_example_grads(params, X, y)``: the (B, P) matrix of per-example gradients of the loss;
  * ``clipped_grad_sum(params, X, y, clip)``: Σ_i min(1, C/‖g_i‖)·g_i and the norms ‖g_i‖,
    without materialising the B×P matrix where the model allows it (dense layers: the
    per-example norm trick ‖a_i g_iᵀ‖_F = ‖a_i‖·‖g_i‖, so the clipped sum is one matrix product
    Aᵀ diag(c) G per layer — Goodfellow 2015; Lee & Kifer 2021; Li et al. 2022; Bu et al. 2023);
  * ``grad_sum(params, X, y)``: Σ_i g_i (the non-private step);
  * ``loss(params, X, y)`` (mean over rows) and ``predict(params, X)`` (regression values, or the
    class probabilities, shape (n, n_classes)).

To plug in another model, subclass `Model` and implement `n_params`, `init`, `per_example_grads`,
`loss` and `predict`; the default `clipped_grad_sum` materialises the per-example gradients,
which is correct for any model and fast enough for small ones. Noise and accounting are never
inside a model (DESIGN.md): the trainer adds them to what `clipped_grad_sum` returns.

Clipping guarantee: every row's contribution to the clipped sum has L2 norm ≤ C in exact
arithmetic on the values the model computed. Norms are computed in float64 and the factor is
min(1, C / (‖g‖·(1 + 2^-40))), so rounding in the norm (relative error far below 2^-40) cannot
push a contribution above C. The sum itself is accumulated in float64 over chunks of at most
`SUM_CHUNK` rows; its rounding error is bounded in `mpc.learn.noise` and added to the
sensitivity there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from mpc.errors import ParameterError

NORM_MARGIN = 1.0 + 2.0 ** -40
SUM_CHUNK = 4096


def clip_factors(norms: np.ndarray, clip: float) -> np.ndarray:
    """min(1, C/‖g_i‖) with the float64 safety margin (0-norm rows keep factor 1)."""
    norms = np.asarray(norms, dtype=np.float64)
    if not np.isfinite(clip):
        return np.ones_like(norms)
    with np.errstate(divide="ignore"):
        f = clip / (norms * NORM_MARGIN)
    return np.minimum(1.0, f)


def weighted_outer_sum(a: np.ndarray, g: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    """Σ_i c_i a_i g_iᵀ accumulated in float64, over row chunks of at most SUM_CHUNK."""
    if a.shape[0] <= SUM_CHUNK:
        ga = np.asarray(g, dtype=np.float64)
        return np.asarray(a, dtype=np.float64).T @ (ga * c[:, None] if c is not None else ga)
    out = np.zeros((a.shape[1], g.shape[1]), dtype=np.float64)
    for s in range(0, a.shape[0], SUM_CHUNK):
        ga = np.asarray(g[s:s + SUM_CHUNK], dtype=np.float64)
        if c is not None:
            ga = ga * c[s:s + SUM_CHUNK, None]
        out += np.asarray(a[s:s + SUM_CHUNK], dtype=np.float64).T @ ga
    return out


BLOCK_CAP = 256  # rows per float32 block (the float32 summation bound is computed for this many)
BLOCK_TARGET = 64  # expected rows per block: the trainer uses ⌈expected batch / 64⌉ block keys


def blocked_outer_sum(a: np.ndarray, g: np.ndarray, c: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Σ_i c_i a_i g_iᵀ for float32 rows grouped in blocks [bounds[k], bounds[k+1]): each block in
    float32 (at most BLOCK_CAP rows; a larger block is summed in float64), the blocks added in float64.

    The blocks are fixed by record (mpc.learn.dpsgd gives every record a random block key), so adding
    or removing one record changes one block's sum and leaves the others bit-identical; the float32
    error of that block is bounded in mpc.learn.noise.summation_slack("blocked32")."""
    c32 = (c * (1.0 - 2.0 ** -22)).astype(np.float32)  # never above c after rounding to float32
    out = np.zeros((a.shape[1], g.shape[1]), dtype=np.float64)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi == lo:
            continue
        if hi - lo <= BLOCK_CAP:
            out += a[lo:hi].T @ (g[lo:hi] * c32[lo:hi, None])
        else:
            out += weighted_outer_sum(a[lo:hi], g[lo:hi], c[lo:hi])
    return out


def weighted_row_sum(g: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    """Σ_i c_i g_i accumulated in float64, over row chunks of at most SUM_CHUNK."""
    if g.shape[0] <= SUM_CHUNK:
        g64 = np.asarray(g, dtype=np.float64)
        return c @ g64 if c is not None else g64.sum(axis=0)
    out = np.zeros(g.shape[1], dtype=np.float64)
    for s in range(0, g.shape[0], SUM_CHUNK):
        ga = np.asarray(g[s:s + SUM_CHUNK], dtype=np.float64)
        if c is not None:
            ga = ga * c[s:s + SUM_CHUNK, None]
        out += ga.sum(axis=0)
    return out


def row_sq_norms(a: np.ndarray) -> np.ndarray:
    """‖a_i‖² per row, in float64."""
    a64 = np.asarray(a, dtype=np.float64)
    return np.einsum("ij,ij->i", a64, a64)


class Model(ABC):
    """A differentiable model over flat parameters; see the module docstring."""

    #: "regression", "binary" or "multiclass"
    task: str = "regression"
    n_classes: int = 1

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Length of the flat parameter vector."""

    @abstractmethod
    def init(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Initial parameters (data-independent)."""

    @abstractmethod
    def per_example_grads(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(B, n_params) per-example gradients of the loss of each row."""

    @abstractmethod
    def loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """Mean loss over the rows."""

    @abstractmethod
    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Regression values (n,), or class probabilities (n, n_classes)."""

    def grad_sum(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Σ_i g_i (non-private)."""
        return self.per_example_grads(params, X, y).sum(axis=0)

    def clipped_grad_sum(self, params: np.ndarray, X: np.ndarray, y: np.ndarray,
                         clip: float, blocks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(Σ_i min(1, C/‖g_i‖) g_i, ‖g_i‖): generic path through the per-example gradients
        (accumulated in float64; `blocks` is accepted for interface compatibility and ignored)."""
        g = self.per_example_grads(params, X, y)
        norms = np.sqrt(row_sq_norms(g))
        c = clip_factors(norms, clip)
        return weighted_row_sum(g, c), norms

    def check_targets(self, y) -> np.ndarray:
        """All targets valid for this model (class labels in range, or finite values), or a clear error."""
        if self.task == "regression":
            t = np.asarray(y, dtype=np.float64)
            if t.ndim != 1 or not np.all(np.isfinite(t)):
                raise ParameterError("regression targets must be a 1-D array of finite numbers")
            return t
        return as_labels(y, self.n_classes)

    def check_params(self, params: np.ndarray) -> np.ndarray:
        p = np.asarray(params)
        if p.shape != (self.n_params,):
            raise ParameterError(f"{type(self).__name__} expects {self.n_params} parameters, got shape {p.shape}")
        return p

    def spec(self) -> dict:
        """A JSON-able description (for model cards and reports)."""
        return {"model": type(self).__name__, "n_params": self.n_params, "task": self.task,
                "n_classes": self.n_classes}


def as_labels(y, n_classes: int, what: str = "labels") -> np.ndarray:
    """Integer class labels in 0..n_classes-1, or a clear error."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ParameterError(f"{what} must be a 1-D array, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr.astype(np.float64))):
        raise ParameterError(f"{what} contain non-finite values")
    lab = arr.astype(np.int64)
    if arr.size and (not np.array_equal(lab, arr.astype(np.float64)) or lab.min() < 0 or lab.max() >= n_classes):
        raise ParameterError(f"{what} must be integers in 0..{n_classes - 1} (the model's classes)")
    return lab
