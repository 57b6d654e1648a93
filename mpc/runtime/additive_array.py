"""Additive shares as a secure array: Z_2^64 (fixed point or integers; Beaver products,
truncation, comparisons) or GF(2^61−1) (linear operations and Beaver products).

Security: semi-honest; privacy against any n−1 corrupted compute parties, given private
correlated randomness from the session's `TripleSource` (a trusted dealer, if that is what
is configured). Costs are those of `mpc.beaver`, `mpc.ops.trunc` and `mpc.ops.compare`.
"""

from __future__ import annotations

import numpy as np

from mpc import beaver
from mpc.arith.domain import Domain
from mpc.arith.ring import RING
from mpc.errors import DomainError, ParameterError, ShapeError
from mpc.ops import compare
from mpc.ops.trunc import trunc, trunc_local_2pc
from mpc.runtime.sectypes import SecretArray, _broadcast_shape, _check_range, _public_array


class AdditiveArray(SecretArray):
    """Additive shares (any number of corrupted compute parties; products need a TripleSource)."""

    __slots__ = ()

    def _public_add_owner(self) -> bool:
        return self.session.index == 0

    def add_private(self, values, bound: float):
        """Each party adds its own private `values` to its share: the secret becomes x + Σ_i values_i.

        `bound` is a public bound on |Σ_i values_i|. Used e.g. by the DP layer, where each party
        adds its noise share before opening.
        """
        enc = self._encode_public(values, self.frac)
        share = self.domain.add(self.share, np.broadcast_to(enc, self.share.shape))
        return self._new(np.ascontiguousarray(share), bound=self.bound + float(bound))

    async def _truncate(self, share: np.ndarray, bits: int) -> np.ndarray:
        s = self.session
        if s.trunc_mode == "local":
            return trunc_local_2pc(s.index, share, bits)
        return await trunc(s.comm, s._require_triples("truncation"), share, bits)

    async def _finish_product(self, share, frac, bound):
        """Truncate a product back to the session's fractional bits if it has more."""
        target = self.session.fxp.frac_bits
        if self.domain is RING and frac > target:
            share = await self._truncate(share, frac - target)
            frac = target
        elif frac > target:
            raise ParameterError("fixed-point products need the ring Z_2^64 (truncation); this array is "
                                 f"over {self.domain}")
        return self._new(share, frac, bound)

    async def _mul_public_real(self, arr):
        frac = self.session.fxp.frac_bits
        enc = self._encode_public(arr, frac)
        peak = float(np.max(np.abs(arr))) if arr.size else 0.0
        _check_range(self.domain, self.bound * peak, self.frac + frac, "product")
        shape = _broadcast_shape(self.shape, enc.shape, "product")
        share = self.domain.mul(np.broadcast_to(self.share, shape), np.broadcast_to(enc, shape))
        return await self._finish_product(share, self.frac + frac, self.bound * peak)

    async def _mul_secret(self, other):
        self._check_peer(other)
        shape = _broadcast_shape(self.shape, other.shape, "product")
        x, y = np.broadcast_to(self.share, shape), np.broadcast_to(other.share, shape)
        bound = self.bound * other.bound
        _check_range(self.domain, bound, self.frac + other.frac, "product")
        s = self.session
        z = await beaver.mul(s.comm, s._require_triples("multiplication"), self.domain,
                             np.ascontiguousarray(x), np.ascontiguousarray(y))
        return await self._finish_product(z, self.frac + other.frac, bound)

    async def _matmul_secret(self, other, a_shape=None, b_shape=None):
        self._check_peer(other)
        x = self.share.reshape(a_shape) if a_shape else self.share
        y = other.share.reshape(b_shape) if b_shape else other.share
        squeeze = None
        if x.ndim == 1:
            x, squeeze = x.reshape(1, -1), "a"
        if y.ndim == 1:
            y, squeeze = y.reshape(-1, 1), "b" if squeeze is None else "ab"
        if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[0]:
            raise ShapeError(f"matrix product of shapes {self.shape} and {other.shape}")
        bound = self.bound * other.bound * x.shape[1]
        _check_range(self.domain, bound, self.frac + other.frac, "matrix product")
        s = self.session
        z = await beaver.matmul(s.comm, s._require_triples("matrix multiplication"), self.domain, x, y)
        if squeeze == "a":
            z = z.reshape(-1)
        elif squeeze == "b":
            z = z.reshape(-1)
        elif squeeze == "ab":
            z = z.reshape(())
        return await self._finish_product(z, self.frac + other.frac, bound)

    # ----------------------------------------------------------------- comparison
    def _ring_only(self, what: str):
        if self.domain is not RING:
            raise DomainError(f"{what} works on additive shares over Z_2^64, not {self.domain}")
        return self.session._require_triples(what)

    def _bit(self, share) -> "AdditiveArray":
        return AdditiveArray(self.session, RING, share, 0, 1.0)

    def _diff(self, other) -> "AdditiveArray":
        return self - other if isinstance(other, SecretArray) else self + (-_public_array(other))

    async def msb(self) -> "AdditiveArray":
        """Secret bit [x < 0] (integer 0/1)."""
        triples = self._ring_only("comparison")
        return self._bit(await compare.msb(self.session.comm, triples, self.share))

    async def lt(self, other) -> "AdditiveArray":
        """Secret bit [x < other] (other secret or public)."""
        return await self._diff(other).msb()

    async def gt(self, other) -> "AdditiveArray":
        """Secret bit [x > other]."""
        if isinstance(other, SecretArray):
            return await other.lt(self)
        return await (-self._diff(other)).msb()

    async def le(self, other) -> "AdditiveArray":
        return 1 - await self.gt(other)

    async def ge(self, other) -> "AdditiveArray":
        return 1 - await self.lt(other)

    async def eq(self, other) -> "AdditiveArray":
        """Secret bit [x == other]."""
        triples = self._ring_only("equality")
        return self._bit(await compare.eqz(self.session.comm, triples, self._diff(other).share))

    async def sign(self) -> "AdditiveArray":
        """Secret −1 (x < 0) or +1 (x >= 0), as an integer."""
        return 1 - 2 * await self.msb()

    async def relu(self) -> "AdditiveArray":
        """max(x, 0)."""
        keep = 1 - await self.msb()
        return await (keep * self)

    async def select(self, bit: "AdditiveArray", other) -> "AdditiveArray":
        """Elementwise `other` where the secret bit is 1, else self (one product)."""
        return self + await (bit * (other - self))

    async def clip(self, low: float, high: float) -> "AdditiveArray":
        """min(max(x, low), high) with public limits; the result's bound becomes max(|low|, |high|)."""
        lo_bit = await self.lt(low)
        x = await self.select(lo_bit, np.full(self.shape, low))
        hi_bit = await x.gt(high)
        x = await x.select(hi_bit, np.full(self.shape, high))
        return x.with_bound(max(abs(low), abs(high)))

    async def max(self, axis: int = -1) -> "AdditiveArray":
        """Maximum along `axis` (tournament: ⌈log2 k⌉ comparison levels)."""
        value, _ = await self._tournament(axis, with_index=False)
        return value

    async def argmax(self, axis: int = -1) -> "AdditiveArray":
        """Secret index of the (first) maximum along `axis`, as an integer."""
        _, index = await self._tournament(axis, with_index=True)
        return index

    async def _tournament(self, axis: int, with_index: bool):
        triples = self._ring_only("max/argmax")
        comm = self.session.comm
        x = np.ascontiguousarray(np.moveaxis(self.share, axis, -1))
        k = x.shape[-1]
        if k == 0:
            raise ShapeError("max/argmax of an empty axis")
        idx = None
        if with_index:  # public indices 0..k-1 as shares: the first party holds them
            idx = np.broadcast_to(np.arange(k, dtype=np.uint64) if comm.index == 0 else np.uint64(0),
                                  x.shape).copy()
        while x.shape[-1] > 1:
            m = x.shape[-1] // 2 * 2
            left, right = x[..., 0:m:2], x[..., 1:m:2]
            take_right = await compare.msb(comm, triples, left - right)  # [left < right]; ties keep left
            if with_index:
                li, ri = idx[..., 0:m:2], idx[..., 1:m:2]
                prod = await beaver.mul(comm, triples, RING, np.stack([take_right, take_right]),
                                        np.stack([right - left, ri - li]))
                new_x, new_i = left + prod[0], li + prod[1]
            else:
                new_x = left + await beaver.mul(comm, triples, RING, take_right, right - left)
            if x.shape[-1] % 2:
                new_x = np.concatenate([new_x, x[..., m:]], axis=-1)
                if with_index:
                    new_i = np.concatenate([new_i, idx[..., m:]], axis=-1)
            x = new_x
            if with_index:
                idx = new_i
        value = AdditiveArray(self.session, RING, x[..., 0], self.frac, self.bound)
        index = AdditiveArray(self.session, RING, idx[..., 0], 0, float(k)) if with_index else None
        return value, index


def zeros_like_public(session, shape, frac: int, domain: Domain = RING) -> "AdditiveArray":
    """A secret array of zeros (every share zero): the start of an accumulator."""
    return AdditiveArray(session, domain, domain.zeros(shape), frac, 0.0)
