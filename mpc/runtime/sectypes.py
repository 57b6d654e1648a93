"""Secure types: secret-shared arrays whose operators run the protocols (base class here;
`AdditiveArray` in `mpc.runtime.additive_array`, `ShamirArray` in `mpc.runtime.shamir_array`).

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

from mpc.arith.domain import Domain
from mpc.arith.field import FIELD
from mpc.arith.ring import RING
from mpc.errors import DomainError, FixedPointOverflow, IntegerOverflow, ParameterError, ShapeError

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


def concatenate(arrays, axis: int = 0) -> SecretArray:
    """Join secret arrays of one session, type, domain and fractional bits along `axis` (local)."""
    arrays = list(arrays)
    if not arrays:
        raise ParameterError("concatenate needs at least one array")
    first = arrays[0]
    for a in arrays[1:]:
        first._check_peer(a)
        if a.frac != first.frac:
            raise ParameterError("concatenating arrays with different fractional bits")
    share = np.concatenate([a.share for a in arrays], axis=axis)
    return type(first)(first.session, first.domain, share, first.frac, max(a.bound for a in arrays))
