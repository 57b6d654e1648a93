"""The ring Z_2^64 as numpy uint64: wrap-around is the hardware's, so reduction is free.

Used for additive secret sharing and fixed-point arithmetic. Cost: one numpy pass per
operation (memory-bound); matmul is numpy's integer matmul.
"""

from __future__ import annotations

import numpy as np

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
        if a.ndim < 1 or b.ndim < 1 or a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not chain")
        return np.matmul(a, b, dtype=np.uint64)

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
