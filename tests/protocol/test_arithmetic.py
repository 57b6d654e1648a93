"""Secure products (Beaver, Shamir degree reduction) and fixed point against numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.errors import FixedPointOverflow, IntegerOverflow, ParameterError
from tests.protocol.conftest import run, same_everywhere

FXP_MAX = (2**31 - 1) / 2**16  # default public bound of fixed-point inputs (f = 16)
EDGE = [0.0, -1.0, 1.0, -FXP_MAX, FXP_MAX, -3.99999, 2**-16, -(2**-16)]


def _inputs(s, x, y, **kw):
    async def both():
        a = await s.input(0, x if s.pid == 0 else None, **kw)
        b = await s.input(1, y if s.pid == 1 else None, **kw)
        return a, b
    return both()


@pytest.mark.parametrize("n", [2, 3])
def test_integer_mul_dot_matmul_ring(n):
    rng = np.random.default_rng(1)
    x = rng.integers(-(2**31) + 1, 2**31 - 1, size=200)
    y = rng.integers(-(2**31) + 1, 2**31 - 1, size=200)
    X = rng.integers(-1000, 1000, size=(7, 5))
    Y = rng.integers(-1000, 1000, size=(5, 3))

    async def prog(s):
        a, b = await _inputs(s, x, y, kind="int")
        A, B = await _inputs(s, X, Y, kind="int", bound=1000)
        return (await s.open(await (a * b)), await s.open(await (A @ B)),
                await s.open(await a[:20].with_bound(1000).dot(b[:20].with_bound(1000))))

    res = run(n, prog)
    same_everywhere([r[0] for r in res])
    np.testing.assert_array_equal(res[0][0], x * y)
    np.testing.assert_array_equal(res[n - 1][1], X @ Y)
    assert int(res[0][2]) == int(np.dot(x[:20], y[:20]))


@pytest.mark.parametrize("n,t", [(3, 1), (5, 2), (7, 3), (4, 1)])
def test_shamir_mul_dot_matmul(n, t):
    rng = np.random.default_rng(2)
    x = rng.integers(-(2**25), 2**25, size=100)
    y = rng.integers(-(2**25), 2**25, size=100)
    X = rng.integers(-50, 50, size=(4, 6))
    Y = rng.integers(-50, 50, size=(6, 2))

    async def prog(s):
        a, b = await _inputs(s, x, y, kind="int", scheme="shamir", bound=2**25)
        A, B = await _inputs(s, X, Y, kind="int", scheme="shamir", bound=50)
        z = await (a * b)
        zz = await (await (a[:10].with_bound(2**20) * b[:10].with_bound(2**20)) * 3)  # products of products, then public scale
        return (await s.open(z), await s.open(await (A @ B)), await s.open(await a[:30].dot(b[:30])),
                await s.open(zz), s.stats.snapshot())

    res = run(n, prog, threshold=t, triples=None)
    np.testing.assert_array_equal(res[0][0], x * y)
    np.testing.assert_array_equal(res[1][1], X @ Y)
    assert int(res[2][2]) == int(np.dot(x[:30], y[:30]))
    np.testing.assert_array_equal(res[0][3], x[:10] * y[:10] * 3)


def test_shamir_needs_honest_majority():
    async def prog(s):
        a = await s.input(0, np.arange(3) if s.pid == 0 else None, kind="int", scheme="shamir")
        return await (a * a)

    with pytest.raises(ParameterError, match="2t\\+1"):
        run(3, prog, threshold=2, triples=None)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_fixed_point_products_within_bound(n):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-100, 100, 300), EDGE[:5], [3.99999, -3.99999]])
    y = np.concatenate([rng.uniform(-100, 100, 300), [1.0, 1.0, -1.0, 1.0, -1.0], [-1.5, 2.5]])

    async def prog(s):
        a, b = await _inputs(s, x, y)
        z = await (a.with_bound(FXP_MAX) * b.with_bound(100))
        w = await (a * 0.3)  # public real factor: encoded, then truncated
        return await s.open(z), await s.open(w)

    res = run(n, prog)
    fxp_x = np.rint(x * 2**16) / 2**16
    fxp_y = np.rint(y * 2**16) / 2**16
    # one truncation: error within 1 ulp of the product of the encoded inputs
    assert np.max(np.abs(res[0][0] - fxp_x * fxp_y)) <= 2**-16 + 1e-9
    assert np.max(np.abs(res[0][1] - fxp_x * np.rint(0.3 * 2**16) / 2**16)) <= 2**-16 + 1e-9
    same_everywhere([r[0] for r in res])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.floats(-1000, 1000), st.floats(-1000, 1000)), min_size=1, max_size=30))
def test_fixed_point_mul_property(pairs):
    x = np.array([p for p, _ in pairs])
    y = np.array([q for _, q in pairs])

    async def prog(s):
        a, b = await _inputs(s, x, y, bound=1000)
        return await s.open(await (a * b))

    out = run(3, prog)[0]
    ex = np.rint(x * 2**16) / 2**16 * (np.rint(y * 2**16) / 2**16)
    assert np.all(np.abs(out - ex) <= 2**-16 + 1e-9)


def test_local_truncation_two_parties():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-10, 10, 2000), rng.uniform(-10, 10, 2000)

    async def prog(s):
        a, b = await _inputs(s, x, y, bound=10)
        before = s.stats.checkpoint()
        z = await (a * b)
        spent = s.stats.since(before)
        return await s.open(z), spent

    res = run(2, prog, trunc="local")
    ex = np.rint(x * 2**16) / 2**16 * (np.rint(y * 2**16) / 2**16)
    # |product| < 2^7 * 2^32: failure probability per element <= 2^(40+1-64) = 2^-23
    assert np.max(np.abs(res[0][0] - ex)) <= 2**-16 + 1e-9
    assert res[0][1]["bytes_sent"] == 2000 * 16  # no truncation traffic: 16 B per product
    with pytest.raises(ParameterError, match="two-party"):
        run(3, prog, trunc="local")


def test_overflow_detected_before_it_happens():
    async def prog(s):
        a = await s.input(0, np.array([1.0]) if s.pid == 0 else None, bound=2**20)
        return await (a * a)

    with pytest.raises(FixedPointOverflow, match="declare tighter bounds"):
        run(2, prog)

    async def prog_int(s):
        a = await s.input(0, np.array([3]) if s.pid == 0 else None, kind="int", bound=2**40)
        return await (a * a)

    with pytest.raises(IntegerOverflow):
        run(2, prog_int)


def test_bytes_per_element_two_party_product():
    async def prog(s):
        a, b = await _inputs(s, np.arange(1000), np.arange(1000), kind="int")
        before = s.stats.checkpoint()
        await (a * b)
        return s.stats.since(before)

    d = run(2, prog)[0]
    assert d["bytes_sent"] == 16 * 1000 and d["rounds"] == 1


def test_no_third_party_triples_give_the_same_results():
    """OT-based (Gilboa) triples through run_local: products, truncation and comparison."""
    x, y = np.array([1.5, -2.0, 3.25]), np.array([-4.0, 0.5, 2.0])

    async def prog(s):
        a, b = await _inputs(s, x, y, bound=10)
        return await s.open(await (a * b)), await s.open(await a.lt(b))

    prod, lt = run(3, prog, triples="gilboa")[0]
    assert np.max(np.abs(prod - x * y)) <= 2**-16
    np.testing.assert_array_equal(lt, x < y)
