"""Shamir shares as a secure array over GF(2^61−1).

Security: semi-honest, honest majority: privacy against t < n/2 corrupted parties; products
by degree reduction (`mpc.ops.grr`), no triples and no dealer. Costs are those of
`mpc.ops.grr` (one round per product or dot product).
"""

from __future__ import annotations

import numpy as np

from mpc.arith.field import FIELD
from mpc.arith.poly import lagrange_coefficients
from mpc.errors import DomainError, ParameterError, ShapeError
from mpc.ops import grr
from mpc.runtime.additive_array import AdditiveArray
from mpc.runtime.sectypes import SecretArray, _broadcast_shape, _check_range


class ShamirArray(SecretArray):
    """Degree-t Shamir shares over GF(2^61−1) (honest majority t < n/2 for products)."""

    __slots__ = ()

    def __init__(self, session, domain, share, frac, bound):
        if domain is not FIELD:
            raise DomainError(f"Shamir shares live in {FIELD}, not {domain}")
        super().__init__(session, domain, share, frac, bound)

    def _public_add_owner(self) -> bool:
        return True  # adding c to every share adds c to the secret

    async def _mul_public_real(self, arr):
        raise ParameterError("multiplying a Shamir array by a non-integer needs truncation; use an "
                             "additive fixed-point array (scheme='additive') or an integer factor")

    def _product_frac(self, other) -> int:
        frac = self.frac + other.frac
        if frac > self.session.fxp.frac_bits and self.frac and other.frac:
            raise ParameterError("products of two fixed-point Shamir arrays need truncation; use "
                                 "scheme='additive' for fixed-point products")
        return frac

    async def _mul_secret(self, other):
        self._check_peer(other)
        frac = self._product_frac(other)
        bound = self.bound * other.bound
        _check_range(FIELD, bound, frac, "product")
        s = self.session
        shape = _broadcast_shape(self.shape, other.shape, "product")
        x, y = np.broadcast_to(self.share, shape), np.broadcast_to(other.share, shape)
        z = await grr.mul(s.comm, s.seeds, s.t, np.ascontiguousarray(x), np.ascontiguousarray(y))
        return self._new(z, frac, bound)

    async def _matmul_secret(self, other, a_shape=None, b_shape=None):
        self._check_peer(other)
        x = self.share.reshape(a_shape) if a_shape else self.share
        y = other.share.reshape(b_shape) if b_shape else other.share
        if x.ndim > 2 or y.ndim > 2 or x.shape[-1] != y.shape[0]:
            raise ShapeError(f"matrix product of shapes {self.shape} and {other.shape}")
        frac = self._product_frac(other)
        bound = self.bound * other.bound * x.shape[-1]
        _check_range(FIELD, bound, frac, "matrix product")
        s = self.session
        z = await grr.matmul(s.comm, s.seeds, s.t, x, y)
        return self._new(z, frac, bound)

    def to_additive(self) -> AdditiveArray:
        """Additive shares over GF(2^61−1) of the same secret (local: λ_i·s_i with all n points)."""
        s = self.session
        lam = lagrange_coefficients(tuple(range(1, s.n + 1)), 0)[s.index]
        return AdditiveArray(s, FIELD, FIELD.scale(self.share, lam), self.frac, self.bound)
