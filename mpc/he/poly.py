"""Polynomial activations for encrypted evaluation, with their approximation error stated.

What it computes: `Poly` (power-basis coefficients, the input range [−r, r] on which its error is
stated, the error bound sup|p − f| there, and the multiplicative depth TenSEAL's `polyval` spends),
`sigmoid_poly(degree, r)` (Chebyshev interpolation of the sigmoid on [−r, r], odd part kept, so
p(x) = ½ + a₁x + a₃x³ + ...), and `square()` (x², exact). The error bound is rigorous: the maximum
of |p − σ| on a grid of spacing h, plus h/2 times a Lipschitz bound of p − σ (|σ'| ≤ ¼ and
|p'| ≤ Σ k|a_k| r^(k−1)).

Security: none (public model arithmetic).
References: Kim, Song, Kim, Lee, Cheon, "Secure logistic regression based on homomorphic
encryption", BMC Medical Genomics 2018 (degree-3 sigmoid on [−8, 8]); Trefethen, "Approximation
Theory and Approximation Practice", ch. 4 (Chebyshev interpolation).
Cost: O(grid) float operations when built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpc.errors import ParameterError


@dataclass(frozen=True)
class Poly:
    """p(x) = Σ coeffs[k]·x^k, with sup|p − f| ≤ `error` for |x| ≤ `radius` (f is what it approximates)."""

    coeffs: tuple[float, ...]
    radius: float
    error: float
    name: str

    @property
    def degree(self) -> int:
        nz = [k for k, a in enumerate(self.coeffs) if a != 0.0]
        return max(nz) if nz else 0

    @property
    def depth(self) -> int:
        """Levels TenSEAL's polyval spends: ⌈log2(degree + 1)⌉ (x^k by repeated squaring, then × a_k)."""
        if self.coeffs == (0.0, 0.0, 1.0):
            return 1  # x² alone: one squaring
        d = self.degree
        return 0 if d == 0 else math.ceil(math.log2(d + 1))

    def __call__(self, x):
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=np.float64), self.coeffs)

    def scaled(self, c: float) -> "Poly":
        """c·p (used to fold a constant, e.g. a learning rate, into the coefficients: no extra level)."""
        return Poly(tuple(c * a for a in self.coeffs), self.radius, abs(c) * self.error, f"{c:g}·{self.name}")

    def to_dict(self) -> dict:
        return {"coeffs": list(self.coeffs), "radius": self.radius, "error": self.error, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict) -> "Poly":
        return cls(tuple(float(a) for a in d["coeffs"]), float(d["radius"]), float(d["error"]), str(d["name"]))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def sigmoid_poly(degree: int = 3, radius: float = 8.0) -> Poly:
    """Odd-degree approximation ½ + Σ a_{2i+1}x^{2i+1} of the sigmoid on [−radius, radius]."""
    if degree < 1 or degree % 2 == 0 or degree > 15:
        raise ParameterError(f"the sigmoid approximation takes an odd degree 1..15, got {degree!r}")
    if not 0 < radius <= 64:
        raise ParameterError(f"the approximation radius must be in (0, 64], got {radius!r}")
    cheb = np.polynomial.chebyshev.Chebyshev.interpolate(_sigmoid, degree, domain=[-radius, radius])
    coeffs = np.array(cheb.convert(kind=np.polynomial.Polynomial, domain=[-radius, radius],
                                   window=[-radius, radius]).coef, dtype=np.float64)
    coeffs = np.pad(coeffs, (0, degree + 1 - coeffs.size))
    coeffs[0] = 0.5
    coeffs[2::2] = 0.0  # the sigmoid minus ½ is odd: drop the (round-off) even terms
    return Poly(tuple(float(a) for a in coeffs), float(radius), _sup_error(coeffs, _sigmoid, radius, 0.25),
                f"sigmoid_deg{degree}_r{radius:g}")


def square() -> Poly:
    """x² (exact): the activation of CryptoNets-style networks."""
    return Poly((0.0, 0.0, 1.0), math.inf, 0.0, "square")


def identity() -> Poly:
    return Poly((0.0, 1.0), math.inf, 0.0, "identity")


def _sup_error(coeffs: np.ndarray, f, radius: float, f_lipschitz: float, points: int = 200_001) -> float:
    """A rigorous bound on sup_{|x|≤radius} |p(x) − f(x)|: grid maximum + h/2 · Lipschitz(p − f)."""
    x = np.linspace(-radius, radius, points)
    grid_max = float(np.max(np.abs(np.polynomial.polynomial.polyval(x, coeffs) - f(x))))
    dp = sum(k * abs(a) * radius ** (k - 1) for k, a in enumerate(coeffs) if k)
    h = 2 * radius / (points - 1)
    return grid_max + 0.5 * h * (dp + f_lipschitz)
