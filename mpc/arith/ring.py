"""The ring Z_2^64 as numpy uint64: wrap-around is the hardware's, so reduction is free.

Used for additive secret sharing and fixed-point arithmetic. Cost: one numpy pass per
operation (memory-bound); matmul is a blocked native kernel (numpy's integer matmul has no
fast path).
"""

from __future__ import annotations

import numpy as np

from mpc import _native
from mpc.arith.domain import Domain
from mpc.errors import ShapeError


class Ring64(Domain):
    name = "Z2^64"
    modulus = 1 << 64

    def add(self, a, b):
        return np.add(a, b, dtype=np.uint64)

    def sub(self, a, b):
        return np.subtract(a, b, dtype=np.uint64)

    def neg(self, a):
        return np.negative(a, dtype=np.uint64)

    def mul(self, a, b):
        return np.multiply(a, b, dtype=np.uint64)

    def matmul(self, a, b):
        a = np.asarray(a, dtype=np.uint64)
        b = np.asarray(b, dtype=np.uint64)
        if a.ndim < 1 or b.ndim < 1 or a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not chain")
        if a.ndim > 2 or b.ndim > 2:
            return np.matmul(a, b, dtype=np.uint64)
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        out = np.empty((a2.shape[0], b2.shape[1]), dtype=np.uint64)
        _native.z64_matmul(np.ascontiguousarray(a2), np.ascontiguousarray(b2), out)
        if a.ndim == 1 and b.ndim == 1:
            return out.reshape(())
        return out.reshape(-1) if (a.ndim == 1 or b.ndim == 1) else out

    def sum(self, a, axis=None):
        return np.sum(a, axis=axis, dtype=np.uint64)

    def random(self, prg, shape):
        return prg.uint64(shape)

    def from_int(self, x):
        arr = np.asarray(x)
        if arr.dtype == object:
            return np.array(np.vectorize(lambda v: int(v) % (1 << 64), otypes=[object])(arr), dtype=np.uint64)
        if arr.dtype.kind == "u":
            return arr.astype(np.uint64)
        return arr.astype(np.int64).view(np.uint64)

    def to_signed(self, a):
        return np.asarray(a, dtype=np.uint64).view(np.int64)


RING = Ring64()
