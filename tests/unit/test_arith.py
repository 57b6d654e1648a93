"""Ring and field kernels against Python integers; fixed-point encoding."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.arith import FIELD, RING, FixedPoint
from mpc.arith.poly import lagrange_coefficients, vandermonde
from mpc.crypto import PRG
from mpc.errors import DomainError, FixedPointOverflow, ParameterError, ShapeError

P = FIELD.p
elems = st.integers(min_value=0, max_value=P - 1)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(elems, elems), min_size=1, max_size=50))
def test_field_ops_match_python_ints(pairs):
    a = np.array([x for x, _ in pairs], dtype=np.uint64)
    b = np.array([y for _, y in pairs], dtype=np.uint64)
    assert [int(v) for v in FIELD.add(a, b)] == [(x + y) % P for x, y in pairs]
    assert [int(v) for v in FIELD.sub(a, b)] == [(x - y) % P for x, y in pairs]
    assert [int(v) for v in FIELD.mul(a, b)] == [(x * y) % P for x, y in pairs]
    assert [int(v) for v in FIELD.neg(a)] == [(-x) % P for x, _ in pairs]
    assert int(FIELD.dot(a, b)) == sum(x * y for x, y in pairs) % P
    assert int(FIELD.sum(a)) == sum(x for x, _ in pairs) % P


def test_field_extremes():
    a = np.array([0, 1, P - 1, P - 2], dtype=np.uint64)
    assert [int(v) for v in FIELD.mul(a, a)] == [0, 1, 1, 4]
    assert [int(v) for v in FIELD.add(a, a)] == [0, 2, P - 2, P - 4]


def test_field_matmul_and_lincomb():
    g = PRG(bytes(16))
    A, B = FIELD.random(g, (17, 70)), FIELD.random(g, (70, 33))
    C = FIELD.matmul(A, B)
    ref = [[sum(int(A[i, k]) * int(B[k, j]) for k in range(70)) % P for j in range(33)] for i in range(17)]
    assert C.tolist() == ref
    xs = [FIELD.random(g, 100) for _ in range(40)]  # more than 32 terms: exercises folding
    cs = [P - 1 - i for i in range(40)]
    assert [int(v) for v in FIELD.lincomb(cs, xs)] == [
        sum(c * int(x[j]) for c, x in zip(cs, xs)) % P for j in range(100)]


def test_field_inverse():
    a = FIELD.random(PRG(), 1000)
    a[a == 0] = 1
    assert np.all(FIELD.mul(a, FIELD.inv(a)) == 1)
    with pytest.raises(ZeroDivisionError, match="element"):
        FIELD.inv(np.array([3, 0, 5], dtype=np.uint64))


def test_field_embedding_and_checks():
    x = np.array([-5, 0, 7, -(2**60 - 1), 2**60 - 1], dtype=np.int64)
    assert FIELD.to_signed(FIELD.from_int(x)).tolist() == x.tolist()
    with pytest.raises(DomainError):
        FIELD.check(np.array([P], dtype=np.uint64))
    with pytest.raises(DomainError):
        FIELD.check(np.array([1.0]))
    with pytest.raises(ShapeError):
        FIELD.add(np.zeros(3, np.uint64), np.zeros(4, np.uint64))


def test_ring_wraps():
    a = np.array([2**64 - 1, 5], dtype=np.uint64)
    assert RING.add(a, np.array([1, 1], dtype=np.uint64)).tolist() == [0, 6]
    assert RING.to_signed(RING.from_int(np.array([-3, 4]))).tolist() == [-3, 4]
    assert RING.matmul(np.full((2, 3), 2**63, np.uint64), np.full((3, 1), 2, np.uint64)).tolist() == [[0], [0]]


def test_lagrange_interpolates():
    xs = (1, 2, 3, 4)
    coeffs = [5, 7, 11, 13]  # f(x) = 5 + 7x + 11x^2 + 13x^3
    f = lambda x: sum(c * x**k for k, c in enumerate(coeffs)) % P  # noqa: E731
    lam = lagrange_coefficients(xs, 0)
    assert sum(l * f(x) for l, x in zip(lam, xs)) % P == 5
    lam9 = lagrange_coefficients(xs, 9)
    assert sum(l * f(x) for l, x in zip(lam9, xs)) % P == f(9)
    assert vandermonde((2,), 3).tolist() == [[1, 2, 4, 8]]
    with pytest.raises(ParameterError):
        lagrange_coefficients((1, 1, 2), 0)


class TestFixedPoint:
    def test_roundtrip_and_rounding(self):
        fp = FixedPoint(16)
        x = np.array([0.0, -1.0, 1.5, -3.99999, 3.99999, -0.00001, 12345.678])
        back = fp.decode(fp.encode(x))
        assert np.all(np.abs(back - x) <= fp.resolution / 2 + 1e-12)
        # a negative value just below an integer stays just below it (never -5)
        assert -4.0 < fp.decode(fp.encode([-3.99999]))[0] < -3.99

    @settings(max_examples=200, deadline=None)
    @given(st.floats(min_value=-(2.0**40), max_value=2.0**40, allow_nan=False))
    def test_encoding_error_bound(self, v):
        fp = FixedPoint(16)
        assert abs(fp.decode(fp.encode([v]))[0] - v) <= fp.resolution / 2 + abs(v) * 2**-52

    def test_overflow_and_nan_refused(self):
        fp = FixedPoint(16)
        with pytest.raises(FixedPointOverflow, match="does not fit"):
            fp.encode([fp.max_abs])
        with pytest.raises(FixedPointOverflow, match="NaN"):
            fp.encode([np.nan])
        with pytest.raises(FixedPointOverflow):
            fp.check_product(2.0**16, 2.0**16)
        with pytest.raises(ParameterError):
            FixedPoint(40)
