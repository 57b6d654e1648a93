"""The interface shared by the two algebraic domains (ring Z_2^64 and field GF(2^61-1)).

Elements are numpy uint64 arrays; every operation is vectorised over whole arrays. Protocol
code is written once against this interface and runs in either domain.
"""

from __future__ import annotations

import abc

import numpy as np

from mpc.errors import DomainError, ParameterError, ShapeError


class Domain(abc.ABC):
    """A commutative ring whose elements are stored as uint64."""

    name: str
    modulus: int
    #: bytes per element on the wire
    element_bytes = 8

    # --- validation ----------------------------------------------------------------
    def check(self, a, what: str = "array") -> np.ndarray:
        """`a` as a uint64 array of valid elements (raises DomainError otherwise)."""
        if not isinstance(a, np.ndarray) or a.dtype != np.uint64:
            raise DomainError(f"{what} must be a uint64 numpy array of {self.name} elements, got "
                              f"{type(a).__name__}{'' if not hasattr(a, 'dtype') else ' of ' + str(a.dtype)}")
        return a

    @staticmethod
    def same_shape(a: np.ndarray, b: np.ndarray, op: str) -> None:
        if a.shape != b.shape:
            raise ShapeError(f"{op}: shapes {a.shape} and {b.shape} differ")

    # --- arithmetic ----------------------------------------------------------------
    @abc.abstractmethod
    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def sub(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def neg(self, a: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def sum(self, a: np.ndarray, axis=None) -> np.ndarray: ...

    @abc.abstractmethod
    def random(self, prg, shape) -> np.ndarray:
        """Uniform elements drawn from an `mpc.crypto.PRG`."""

    @abc.abstractmethod
    def from_int(self, x) -> np.ndarray:
        """Embed signed integers (int64 array or Python ints)."""

    @abc.abstractmethod
    def to_signed(self, a: np.ndarray) -> np.ndarray:
        """The centred representative as int64 (values above modulus/2 become negative)."""

    def dot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Inner product along the last axis of two 1-D arrays (a 0-d array)."""
        if a.ndim != 1 or b.ndim != 1:
            raise ShapeError(f"dot needs 1-D arrays, got shapes {a.shape} and {b.shape}")
        self.same_shape(a, b, "dot")
        return self.matmul(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())

    def zeros(self, shape) -> np.ndarray:
        return np.zeros(shape, dtype=np.uint64)

    def scalar(self, c: int) -> np.ndarray:
        """A public constant as a 0-d element array."""
        return self.from_int(np.array(int(c), dtype=object))

    def __repr__(self) -> str:
        return self.name


def domain_by_name(name: str) -> Domain:
    """'ring' (Z_2^64) or 'field' (GF(2^61-1))."""
    from mpc.arith.field import FIELD
    from mpc.arith.ring import RING

    table = {"ring": RING, "field": FIELD, RING.name: RING, FIELD.name: FIELD}
    try:
        return table[name]
    except KeyError:
        raise ParameterError(f"unknown domain {name!r}; use 'ring' or 'field'") from None
