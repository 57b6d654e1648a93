"""The prime field GF(p), p = 2^61 - 1 (a Mersenne prime), with kernels in `mpc._native`.

Products are 128-bit and reduced by shift-and-add; matmul accumulates up to 32 products in
128 bits before folding, so it never overflows. Used for Shamir sharing. Inputs of the
arithmetic are assumed reduced (in [0, p)); `check` verifies it at trust boundaries.
"""

from __future__ import annotations

import numpy as np

from mpc import _native
from mpc.arith.domain import Domain
from mpc.errors import DomainError, ShapeError

P = (1 << 61) - 1
_P64 = np.uint64(P)


def _c(a) -> np.ndarray:
    """A C-contiguous uint64 array (0-d arrays stay 0-d, unlike np.ascontiguousarray)."""
    a = np.asarray(a, dtype=np.uint64)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _prep(a, b):
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    if a.shape != b.shape:
        try:
            a, b = np.broadcast_arrays(a, b)
        except ValueError:
            raise ShapeError(f"shapes {a.shape} and {b.shape} do not broadcast") from None
    return _c(a), _c(b)


class Field61(Domain):
    name = "GF(2^61-1)"
    modulus = P
    p = P

    def check(self, a, what: str = "array"):
        a = super().check(a, what)
        if a.size and int(a.max()) >= P:
            raise DomainError(f"{what} holds values >= p = 2^61-1: not reduced {self.name} elements")
        return a

    def add(self, a, b):
        a, b = _prep(a, b)
        out = np.empty_like(a)
        _native.gf61_add(a, b, out)
        return out

    def sub(self, a, b):
        a, b = _prep(a, b)
        out = np.empty_like(a)
        _native.gf61_sub(a, b, out)
        return out

    def neg(self, a):
        a = _c(a)
        out = np.empty_like(a)
        _native.gf61_neg(a, out)
        return out

    def mul(self, a, b):
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        if b.ndim == 0 and a.ndim > 0:
            return self.scale(a, int(b))
        if a.ndim == 0 and b.ndim > 0:
            return self.scale(b, int(a))
        a, b = _prep(a, b)
        out = np.empty_like(a)
        _native.gf61_mul(a, b, out)
        return out

    def scale(self, a, c: int):
        """a * c for a public integer c."""
        a = _c(a)
        out = np.empty_like(a)
        _native.gf61_scale(a, int(c) % P, out)
        return out

    def lincomb(self, coeffs, arrays):
        """sum_k coeffs[k] * arrays[k] (public integer coefficients, equal-shape arrays)."""
        arrays = [_c(x) for x in arrays]
        if not arrays:
            raise ShapeError("lincomb of no arrays")
        shape = arrays[0].shape
        for x in arrays:
            if x.shape != shape:
                raise ShapeError(f"lincomb: shapes {shape} and {x.shape} differ")
        out = np.empty(shape, dtype=np.uint64)
        _native.gf61_lincomb([int(c) % P for c in coeffs], [x.reshape(-1) for x in arrays], out.reshape(-1))
        return out

    def lincomb_rows(self, coeffs, arrays) -> list:
        """[Σ_p coeffs[r][p]·arrays[p] for each row r]: several combinations in one pass."""
        arrays = [_c(x) for x in arrays]
        shape = arrays[0].shape
        for x in arrays:
            if x.shape != shape:
                raise ShapeError(f"lincomb: shapes {shape} and {x.shape} differ")
        outs = [np.empty(shape, dtype=np.uint64) for _ in coeffs]
        _native.gf61_lincomb_rows([[int(c) % P for c in row] for row in coeffs],
                                  [x.reshape(-1) for x in arrays], [o.reshape(-1) for o in outs])
        return outs

    def matmul(self, a, b):
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a2.ndim != 2 or b2.ndim != 2 or a2.shape[1] != b2.shape[0]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not chain")
        out = np.empty((a2.shape[0], b2.shape[1]), dtype=np.uint64)
        _native.gf61_matmul(_c(a2), _c(b2), out)
        if a.ndim == 1 and b.ndim == 1:
            return out.reshape(())
        if a.ndim == 1:
            return out.reshape(-1)
        if b.ndim == 1:
            return out.reshape(-1)
        return out

    def sum(self, a, axis=None):
        a = np.asarray(a, dtype=np.uint64)
        # Sums of up to 8 elements fit in 64 bits; fold in chunks to stay exact.
        if axis is None:
            a = a.reshape(-1)
            axis = 0
        a = np.moveaxis(a, axis, 0)
        total = np.zeros(a.shape[1:], dtype=np.uint64)
        for start in range(0, a.shape[0], 7):
            chunk = np.sum(a[start:start + 7], axis=0, dtype=np.uint64)
            total = self.add(total, self.reduce(chunk))
        return total

    def reduce(self, a):
        """Any uint64 values mod p."""
        a = _c(a)
        out = np.empty_like(a)
        _native.gf61_reduce(a, out)
        return out

    def inv(self, a):
        """Elementwise inverse (batch inversion); ZeroDivisionError names the first zero."""
        a = _c(a)
        out = np.empty_like(a)
        bad = _native.gf61_inv(a.reshape(-1), out.reshape(-1))
        if bad >= 0:
            idx = np.unravel_index(bad, a.shape) if a.ndim else ()
            raise ZeroDivisionError(f"0 has no inverse in {self.name} (element {idx})")
        return out

    def pow(self, a: int, e: int) -> int:
        return int(_native.gf61_pow(int(a) % P, int(e)))

    def random(self, prg, shape):
        return prg.field(shape)

    def from_int(self, x):
        arr = np.asarray(x)
        if arr.dtype == object:
            return np.array(np.vectorize(lambda v: int(v) % P, otypes=[object])(arr), dtype=np.uint64)
        if arr.dtype.kind == "u":
            return self.reduce(arr.astype(np.uint64))
        arr = arr.astype(np.int64)
        if arr.size and (int(arr.max()) >= P or int(arr.min()) <= -P):
            raise DomainError(f"integers must lie in (-p, p), p = 2^61-1, to embed in {self.name}")
        return np.where(arr < 0, arr + P, arr).astype(np.uint64)

    def to_signed(self, a):
        a = np.asarray(a, dtype=np.uint64)
        signed = a.astype(np.int64)
        return np.where(a > _P64 // np.uint64(2), signed - np.int64(P), signed)


FIELD = Field61()
