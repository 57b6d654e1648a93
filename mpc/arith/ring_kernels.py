"""Fused Z_2^64 kernels for Beaver products (Numba, compiled once and cached on disk per user).

numpy needs one pass over memory per operation (five to seven for a Beaver step); these do
each step in one pass. uint64 arithmetic wraps modulo 2^64 exactly as the ring requires.
`nogil=True`: parties running in threads overlap. The compiled code is cached in
`mpc.arith.jit.cache_dir()` (a per-user folder, never inside the installed package).
"""

from __future__ import annotations

import numpy as np

from mpc.arith.jit import njit


@njit(nogil=True)
def _masks(x, a, y, b, out):
    n = x.size
    for i in range(n):
        out[i] = x[i] - a[i]
    for i in range(y.size):
        out[n + i] = y[i] - b[i]


@njit(nogil=True)
def _finish(c, d, e, a, b, first, out):
    if first:
        for i in range(c.size):
            out[i] = c[i] + d[i] * b[i] + e[i] * a[i] + d[i] * e[i]
    else:
        for i in range(c.size):
            out[i] = c[i] + d[i] * b[i] + e[i] * a[i]


@njit(nogil=True)
def _add_into(acc, x):
    for i in range(acc.size):
        acc[i] += x[i]


def _flat(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.uint64).reshape(-1)


def beaver_masks(x: np.ndarray, a: np.ndarray, y: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[x − a ; y − b] as one flat array (the message of a Beaver product)."""
    out = np.empty(x.size + y.size, dtype=np.uint64)
    _masks(_flat(x), _flat(a), _flat(y), _flat(b), out)
    return out


def beaver_finish(c: np.ndarray, d: np.ndarray, e: np.ndarray, a: np.ndarray, b: np.ndarray,
                  first: bool) -> np.ndarray:
    """c + d∘b + e∘a (+ d∘e at the first party), elementwise, shaped like c."""
    out = np.empty(c.size, dtype=np.uint64)
    _finish(_flat(c), _flat(d), _flat(e), _flat(a), _flat(b), bool(first), out)
    return out.reshape(np.shape(c))


def add_into(acc: np.ndarray, x: np.ndarray) -> None:
    """acc += x in place (both flat, C-contiguous uint64)."""
    _add_into(acc, _flat(x))
