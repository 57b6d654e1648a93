"""Secure types: secret-shared arrays whose operators run the protocols.

`AdditiveArray`: additive shares over Z_2^64 (fixed point or integers; products by Beaver
triples, truncation, comparisons) or over GF(2^61−1). `ShamirArray`: degree-t Shamir shares
over GF(2^61−1) (honest majority; products by degree reduction, no dealer).

Linear operations are local and immediate: `x + y`, `x - c`, `-x`, `3 * x`, `x.sum()`.
Operations that communicate are awaited: `await (x * y)`, `await (x @ y)`, `await x.lt(y)`.
Every secret array is awaitable (it returns itself), so `await (x * anything)` always works.

Range: each array carries `bound`, a public bound on |value| (in real units), and `frac`, its
fractional bits. Operations propagate bounds, and any operation whose bound could leave the
representable range (|encoded| < 2^62 in the ring, < 2^60 in the field) raises
`FixedPointOverflow` / `IntegerOverflow` before running, never wrapping silently.
`x.with_bound(b)` asserts a tighter bound the caller knows (e.g. after clipping).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mpc import beaver
from mpc.arith.domain import Domain
from mpc.arith.field import FIELD
from mpc.arith.poly import lagrange_coefficients
from mpc.arith.ring import RING
from mpc.errors import DomainError, FixedPointOverflow, IntegerOverflow, ParameterError, ShapeError
from mpc.ops import compare, grr
from mpc.ops.trunc import trunc, trunc_local_2pc

if TYPE_CHECKING:  # pragma: no cover
    from mpc.runtime.session import Session

RANGE_BITS = {RING.name: 62, FIELD.name: 60}


def default_bound(domain: Domain, frac: int) -> float:
    """Default public bound for inputs: encoded magnitude 2^(R/2) − 1, so that the product of two
    such values stays below 2^R (R = 62 in the ring, 60 in the field) before truncation."""
    half = RANGE_BITS[domain.name] // 2
    return float((1 << half) - 1) / float(1 << frac)


def _check_range(domain: Domain, bound: float, frac: int, what: str) -> None:
    limit = 2.0 ** RANGE_BITS[domain.name]
    if bound * 2.0 ** frac >= limit:
        cls = FixedPointOverflow if frac else IntegerOverflow
        raise cls(
            f"{what}: a value bounded by {bound:.6g} with {frac} fractional bits may exceed the "
            f"{domain.name} range (|encoded| < 2^{RANGE_BITS[domain.name]}); declare tighter bounds "
            f"(bound=... at input, or x.with_bound(...)), clip, or rescale"
        )


def _public_array(value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ParameterError(f"public operand must be numeric, got {arr.dtype}")
    return arr


def _broadcast_shape(a: tuple, b: tuple, op: str) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ShapeError(f"{op} of shapes {a} and {b}: they do not broadcast") from None


def _is_integral(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "biu" or bool(np.all(np.mod(arr, 1) == 0))


class SecretArray:
    """Base of the secure types: a share of an array, its domain, fractional bits and bound."""

    __slots__ = ("session", "domain", "share", "frac", "bound")
    __array_priority__ = 1000  # numpy defers to our operators (ndarray * secret -> our __rmul__)

    def __init__(self, session: "Session", domain: Domain, share: np.ndarray, frac: int, bound: float):
        self.session = session
        self.domain = domain
        self.share = share
        self.frac = frac
        self.bound = float(bound)

    # ----------------------------------------------------------------- basics
    def __await__(self):
        return self
        yield  # pragma: no cover  (makes this a generator: `await x` returns x)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.share.shape

    @property
    def size(self) -> int:
        return self.share.size

    @property
    def ndim(self) -> int:
        return self.share.ndim

    def __len__(self) -> int:
        return len(self.share)

    def __repr__(self) -> str:
        kind = f"fxp{self.frac}" if self.frac else "int"
        return f"{type(self).__name__}(shape={self.shape}, {self.domain}, {kind}, |x|<={self.bound:.3g})"

    def _new(self, share, frac=None, bound=None):
        frac = self.frac if frac is None else frac
        bound = self.bound if bound is None else bound
        _check_range(self.domain, bound, frac, type(self).__name__)
        return type(self)(self.session, self.domain, share, frac, bound)

    def with_bound(self, bound: float):
        """The same secret with a tighter public bound the caller guarantees."""
        return type(self)(self.session, self.domain, self.share, self.frac, float(bound))

    def _check_peer(self, other: "SecretArray") -> None:
        if not isinstance(other, type(self)):
            raise DomainError(f"cannot combine {type(self).__name__} with {type(other).__name__}")
        if other.session is not self.session:
            raise ParameterError("secret arrays of different sessions")
        if other.domain is not self.domain:
            raise DomainError(f"cannot combine {self.domain} and {other.domain} shares")

    def _scaled_share(self, frac: int) -> np.ndarray:
        """The share re-encoded with `frac` >= self.frac fractional bits (local)."""
        if frac == self.frac:
            return self.share
        return self.domain.mul(self.share, self.domain.from_int(np.array(1 << (frac - self.frac))))

    def _encode_public(self, value, frac: int) -> np.ndarray:
        arr = _public_array(value)
        if frac:
            enc = np.rint(arr.astype(np.float64) * float(1 << frac))
            if enc.size and float(np.max(np.abs(enc))) >= 2.0 ** RANGE_BITS[self.domain.name]:
                raise FixedPointOverflow(f"public value too large for {frac} fractional bits")
            return self.domain.from_int(enc.astype(np.int64))
        if not _is_integral(arr):
            raise ParameterError("adding a non-integer public value to a secret integer; "
                                 "input the secret as kind='fxp'")
        return self.domain.from_int(arr.astype(np.int64))

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        return type(self)(self.session, self.domain, self.share.reshape(*shape), self.frac, self.bound)

    def __getitem__(self, idx):
        return type(self)(self.session, self.domain, self.share[idx], self.frac, self.bound)

    @property
    def T(self):
        return type(self)(self.session, self.domain, self.share.T, self.frac, self.bound)

    def flatten(self):
        return self.reshape(-1)

    def sum(self, axis=None):
        """Sum over `axis` (all elements by default): local."""
        count = self.size if axis is None else self.shape[axis]
        return self._new(self.domain.sum(self.share, axis=axis), bound=self.bound * max(count, 1))

    # ----------------------------------------------------------------- linear
    def _public_add_owner(self) -> bool:
        """Whether this party adds public constants (one party for additive, all for Shamir)."""
        raise NotImplementedError

    def __add__(self, other):
        if isinstance(other, SecretArray):
            self._check_peer(other)
            _broadcast_shape(self.shape, other.shape, "addition")
            frac = max(self.frac, other.frac)
            share = self.domain.add(self._scaled_share(frac), other._scaled_share(frac))
            return self._new(share, frac, self.bound + other.bound)
        arr = _public_array(other)
        peak = float(np.max(np.abs(arr))) if arr.size else 0.0
        share = self.share
        if _broadcast_shape(share.shape, arr.shape, "addition") != share.shape:
            raise ShapeError(f"public operand of shape {arr.shape} does not broadcast to {share.shape}")
        if self._public_add_owner():
            share = self.domain.add(share, np.broadcast_to(self._encode_public(arr, self.frac), share.shape))
        return self._new(np.ascontiguousarray(share), bound=self.bound + peak)

    __radd__ = __add__

    def __neg__(self):
        return self._new(self.domain.neg(self.share))

    def __sub__(self, other):
        if isinstance(other, SecretArray):
            return self + (-other)
        return self + (-_public_array(other))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, SecretArray):
            return self._mul_secret(other)
        arr = _public_array(other)
        if _is_integral(arr):
            peak = float(np.max(np.abs(arr))) if arr.size else 0.0
            shape = _broadcast_shape(self.shape, arr.shape, "product")
            share = self.domain.mul(np.broadcast_to(self.share, shape),
                                    np.broadcast_to(self.domain.from_int(arr.astype(np.int64)), shape))
            return self._new(share, bound=self.bound * peak)
        return self._mul_public_real(arr)

    __rmul__ = __mul__

    def __matmul__(self, other):
        if not isinstance(other, SecretArray):
            raise ParameterError("matmul with a public matrix: multiply by it elementwise or input it as a secret")
        return self._matmul_secret(other)

    async def _mul_public_real(self, arr):
        raise NotImplementedError

    async def _mul_secret(self, other):
        raise NotImplementedError

    async def _matmul_secret(self, other):
        raise NotImplementedError

    async def mul(self, other):
        """Elementwise product with a secret or public operand."""
        return await (self * other)

    async def dot(self, other):
        """Inner product of two 1-D secret arrays (one round, like a single product)."""
        if self.ndim != 1 or other.ndim != 1:
            raise ShapeError(f"dot needs 1-D arrays, got {self.shape} and {other.shape}")
        return (await self._matmul_secret(other, a_shape=(1, -1), b_shape=(-1, 1))).reshape(())


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


def concatenate(arrays, axis: int = 0) -> SecretArray:
    """Join secret arrays of one session, domain and fractional bits along `axis` (local)."""
    arrays = list(arrays)
    if not arrays:
        raise ParameterError("concatenate needs at least one array")
    first = arrays[0]
    for a in arrays[1:]:
        first._check_peer(a)
        if a.frac != first.frac:
            raise ParameterError("concatenating arrays with different fractional bits")
    share = np.concatenate([a.share for a in arrays], axis=axis)
    bound = max(a.bound for a in arrays)
    if isinstance(first, ShamirArray):
        return ShamirArray(first.session, share, first.frac, bound)
    return AdditiveArray(first.session, first.domain, share, first.frac, bound)


def zeros_like_public(session, shape, frac: int, domain: Domain = RING) -> "AdditiveArray":
    """A secret array of zeros (every share zero): the start of an accumulator."""
    return AdditiveArray(session, domain, domain.zeros(shape), frac, 0.0)


class ShamirArray(SecretArray):
    """Degree-t Shamir shares over GF(2^61−1) (honest majority t < n/2 for products)."""

    __slots__ = ()

    def __init__(self, session, share, frac, bound, domain=None):
        super().__init__(session, FIELD, share, frac, bound)

    def _new(self, share, frac=None, bound=None):
        frac = self.frac if frac is None else frac
        bound = self.bound if bound is None else bound
        _check_range(FIELD, bound, frac, "ShamirArray")
        return ShamirArray(self.session, share, frac, bound)

    def reshape(self, *shape):
        return ShamirArray(self.session, self.share.reshape(*shape), self.frac, self.bound)

    def __getitem__(self, idx):
        return ShamirArray(self.session, self.share[idx], self.frac, self.bound)

    @property
    def T(self):
        return ShamirArray(self.session, self.share.T, self.frac, self.bound)

    def with_bound(self, bound: float):
        return ShamirArray(self.session, self.share, self.frac, float(bound))

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
