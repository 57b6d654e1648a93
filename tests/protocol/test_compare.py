"""Comparison, equality, ReLU, sign, clip, max/argmax against numpy, including edge values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.errors import DomainError, ParameterError
from tests.protocol.conftest import run, same_everywhere

FXP_MAX = (2**31 - 1) / 2**16


def _enc(v):
    return np.rint(np.asarray(v, dtype=np.float64) * 2**16) / 2**16


@pytest.mark.parametrize("n", [2, 3])
def test_lt_eq_edge_values(n):
    vals = np.array([0.0, -1.0, 1.0, FXP_MAX, -FXP_MAX, 2**-16, -(2**-16), -3.99999, 3.99999, 0.5])
    x = np.repeat(vals, len(vals))
    y = np.tile(vals, len(vals))

    async def prog(s):
        a = await s.input(0, x if s.pid == 0 else None)
        b = await s.input(1, y if s.pid == 1 else None)
        return (await s.open(await a.lt(b)), await s.open(await a.eq(b)), await s.open(await a.gt(b)),
                await s.open(await a.le(b)), await s.open(await a.ge(b)))

    res = run(n, prog)
    lt, eq, gt, le, ge = same_everywhere([np.stack(r) for r in res])
    ex, ey = _enc(x), _enc(y)
    np.testing.assert_array_equal(lt, ex < ey)
    np.testing.assert_array_equal(eq, ex == ey)
    np.testing.assert_array_equal(gt, ex > ey)
    np.testing.assert_array_equal(le, ex <= ey)
    np.testing.assert_array_equal(ge, ex >= ey)


def test_integer_comparison_full_range():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.integers(-(2**31), 2**31, 500), [0, -1, 2**31 - 1, -(2**31) + 1]])
    y = np.concatenate([rng.integers(-(2**31), 2**31, 500), [-1, 0, -(2**31) + 1, 2**31 - 1]])

    async def prog(s):
        a = await s.input(0, x if s.pid == 0 else None, kind="int")
        b = await s.input(1, y if s.pid == 1 else None, kind="int")
        return await s.open(await a.lt(b)), await s.open(await a.lt(5)), await s.open(await a.eq(-1))

    lt, lt5, eqm1 = run(3, prog)[2]
    np.testing.assert_array_equal(lt, x < y)
    np.testing.assert_array_equal(lt5, x < 5)
    np.testing.assert_array_equal(eqm1, x == -1)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=40))
def test_relu_sign_property(vals):
    x = np.array(vals)

    async def prog(s):
        a = await s.input(0, x if s.pid == 0 else None, bound=1e4)
        return await s.open(await a.relu()), await s.open(await a.sign())

    relu, sign = run(3, prog)[1]
    ex = _enc(x)
    np.testing.assert_array_equal(relu, np.maximum(ex, 0))
    np.testing.assert_array_equal(sign, np.where(ex < 0, -1, 1))


def test_clip():
    x = np.array([-5.0, -2.0, 0.0, 0.7, 2.0, 9.0])

    async def prog(s):
        a = await s.input(0, x if s.pid == 0 else None, bound=10)
        c = await a.clip(-2.0, 2.0)
        return await s.open(c), c.bound

    out, bound = run(2, prog)[0]
    np.testing.assert_array_equal(out, np.clip(_enc(x), -2, 2))
    assert bound == 2.0


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 13])
def test_max_argmax_rows(k):
    rng = np.random.default_rng(k)
    X = rng.integers(-20, 20, size=(6, k)).astype(np.float64)
    X[0, :] = 3.0  # ties: argmax is the first occurrence
    if k > 1:
        X[1, -1] = 100.0

    async def prog(s):
        a = await s.input(0, X if s.pid == 0 else None, bound=100)
        return await s.open(await a.max()), await s.open(await a.argmax()), await s.open(await a.T.argmax(axis=0))

    mx, am, am_t = run(3, prog)[0]
    np.testing.assert_array_equal(mx, X.max(axis=1))
    np.testing.assert_array_equal(am, X.argmax(axis=1))
    np.testing.assert_array_equal(am_t, X.argmax(axis=1))


def test_comparison_cost_is_as_documented():
    async def prog(s):
        a = await s.input(0, np.arange(100.0) if s.pid == 0 else None)
        before = s.stats.checkpoint()
        await a.lt(50.0)
        return s.stats.since(before)

    spent = run(2, prog)[0]
    assert spent["rounds"] == 8
    assert spent["bytes_sent"] == 100 * 192


def test_comparison_needs_ring_and_triples():
    async def shamir(s):
        a = await s.input(0, np.arange(3) if s.pid == 0 else None, kind="int", scheme="shamir")
        return await a.to_additive().lt(1)

    with pytest.raises(DomainError, match="Z_2\\^64"):
        run(3, shamir)

    async def no_dealer(s):
        a = await s.input(0, np.arange(3.0) if s.pid == 0 else None)
        return await a.lt(1)

    with pytest.raises(ParameterError, match="triple source"):
        run(2, no_dealer, triples=None)


def test_truncation_at_the_edge_of_the_range():
    x = np.array([FXP_MAX, -FXP_MAX, FXP_MAX, 1e-4])

    async def prog(s):
        a = await s.input(0, x if s.pid == 0 else None)
        b = await s.input(1, x if s.pid == 1 else None)
        return await s.open(await (a * b))

    out = run(3, prog)[0]
    ex = _enc(x) * _enc(x)
    assert np.max(np.abs(out - ex)) <= 2**-16 + 1e-6 * np.max(np.abs(ex)) * 2**-40
