"""Polynomials over GF(2^61-1) for Shamir sharing: Vandermonde matrices and Lagrange coefficients.

Coefficient vectors are small (n parties) and computed with Python integers, then cached;
the bulk work is one field matmul (`mpc.arith.field`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mpc.arith.field import P
from mpc.errors import ParameterError


def vandermonde(xs: tuple[int, ...], degree: int) -> np.ndarray:
    """Rows [1, x, x^2, ..., x^degree] for each evaluation point x (uint64 field elements)."""
    return _vandermonde(tuple(int(x) % P for x in xs), int(degree)).copy()


@lru_cache(maxsize=256)
def _vandermonde(xs: tuple[int, ...], degree: int) -> np.ndarray:
    rows = [[pow(x, j, P) for j in range(degree + 1)] for x in xs]
    return np.array(rows, dtype=np.uint64).reshape(len(xs), degree + 1)


def lagrange_coefficients(xs: tuple[int, ...], target: int = 0) -> tuple[int, ...]:
    """λ_i with f(target) = Σ λ_i f(xs[i]) for every polynomial of degree < len(xs)."""
    xs = tuple(int(x) % P for x in xs)
    if len(set(xs)) != len(xs):
        raise ParameterError(f"interpolation points must be distinct, got {xs}")
    return _lagrange(xs, int(target) % P)


@lru_cache(maxsize=4096)
def _lagrange(xs: tuple[int, ...], target: int) -> tuple[int, ...]:
    out = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                num = num * (target - xj) % P
                den = den * (xi - xj) % P
        out.append(num * pow(den, P - 2, P) % P)
    return tuple(out)


def lagrange_matrix(xs: tuple[int, ...], targets: tuple[int, ...]) -> np.ndarray:
    """Row k holds the coefficients that interpolate from `xs` to targets[k]."""
    return np.array([lagrange_coefficients(xs, t) for t in targets], dtype=np.uint64).reshape(len(targets), len(xs))
