"""OT-based triples (Gilboa over IKNP): every kind reconstructs correctly for 2 and 3 parties."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mpc import _native
from mpc.arith.field import FIELD
from mpc.arith.ring import RING
from mpc.net import Comm, LocalNetwork
from mpc.preprocessing.gilboa import GilboaTriples

pytestmark = pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")


def _run(n, work):
    net = LocalNetwork(n)

    async def party(i):
        comm = Comm(net.endpoint(i), job="gilboa", timeout=30)
        src = GilboaTriples()
        await src.setup(comm)
        return await work(src, comm)

    async def main():
        return await asyncio.gather(*(party(i) for i in range(n)))

    return asyncio.run(main())


def _add(domain, shares):
    total = shares[0]
    for s in shares[1:]:
        total = domain.add(total, s)
    return total


def _xor(shares):
    total = shares[0]
    for s in shares[1:]:
        total = total ^ s
    return total


@pytest.mark.parametrize("n", [2, 3])
def test_all_kinds_reconstruct(n):
    async def work(src, comm):
        return (await src.mul_triples(comm, RING, (5, 3)), await src.mul_triples(comm, FIELD, (7,)),
                await src.matmul_triples(comm, RING, (2, 3), (3, 4)), await src.and_triples(comm, (6,)),
                await src.dabits(comm, (40,)), await src.edabits(comm, (4,)), await src.trunc_tuples(comm, (5,), 16))

    res = _run(n, work)
    for k, dom in ((0, RING), (1, FIELD)):
        a, b, c = (_add(dom, [r[k][j] for r in res]) for j in range(3))
        assert np.array_equal(c, dom.mul(a, b))
        assert len(set(a.reshape(-1).tolist())) == a.size  # random, not constant
    a, b, c = (_add(RING, [r[2][j] for r in res]) for j in range(3))
    assert np.array_equal(c, RING.matmul(a, b))
    a, b, c = (_xor([r[3][j] for r in res]) for j in range(3))
    assert np.array_equal(c, a & b)
    arith = _add(RING, [r[4][0] for r in res])
    xor = _xor([r[4][1] for r in res])
    assert set(xor.tolist()) <= {0, 1} and np.array_equal(arith, xor) and 0 < xor.sum() < 40
    r_val = _add(RING, [r[5][0] for r in res])
    assert np.array_equal(r_val, _xor([r[5][1] for r in res]))
    r_, msb, shift = (_add(RING, [r[6][j] for r in res]) for j in range(3))
    assert np.array_equal(msb, r_ >> np.uint64(63))
    assert np.array_equal(shift, (r_ & np.uint64((1 << 63) - 1)) >> np.uint64(16))


def test_session_products_without_a_dealer():
    from mpc.runtime import Session

    net = LocalNetwork(3)
    x = np.array([1.5, -2.25, 3.0])
    y = np.array([2.0, 4.0, -0.5])

    async def party(i):
        s = Session(net.endpoint(i), job="gilboa-session", parties=[0, 1, 2], triples=GilboaTriples(), timeout=30)
        await s.setup()
        a = await s.input(0, x if i == 0 else None, shape=(3,))
        b = await s.input(1, y if i == 1 else None, shape=(3,))
        prod = await s.open(await (a * b))
        less = await s.open(await a.lt(b))
        return prod, less

    async def main():
        return await asyncio.gather(*(party(i) for i in range(3)))

    for prod, less in asyncio.run(main()):
        assert np.allclose(prod, x * y, atol=1e-3)
        assert np.array_equal(np.asarray(less).round(), (x < y).astype(float))
