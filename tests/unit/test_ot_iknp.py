"""IKNP extension: the bit transpose, correlated / random / chosen-message OTs, state across calls."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mpc import _native
from mpc.net import Comm, LocalNetwork
from mpc.ot.iknp import PIECE, IknpReceiver, IknpSender

pytestmark = pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")


@pytest.mark.parametrize("m", [128, 256, 1024 + 128])
def test_bit_transpose_matches_numpy(m):
    a = np.random.default_rng(m).integers(0, 256, (128, m // 8), dtype=np.uint8)
    out = np.empty((m, 16), dtype=np.uint8)
    _native.bit_transpose_128(a, m, out)
    expect = np.packbits(np.unpackbits(a, axis=1, bitorder="little").T, axis=1, bitorder="little")
    assert np.array_equal(out, expect)


def _pair():
    net = LocalNetwork(2)
    s = IknpSender(Comm(net.endpoint(0), job="iknp", timeout=20), 1)
    r = IknpReceiver(Comm(net.endpoint(1), job="iknp", timeout=20), 0)
    return s, r


def test_correlated_random_and_chosen_ots():
    s, r = _pair()
    rng = np.random.default_rng(3)

    async def main():
        await asyncio.gather(s.setup(), r.setup())
        out = []
        for n in (1, 300, PIECE + 77):  # several extensions; the last spans two u messages
            c = rng.integers(0, 2, n, dtype=np.uint8)
            q, t = await asyncio.gather(s.extend(n), r.extend(c))
            out.append((c, q, t))
        c = rng.integers(0, 2, 500, dtype=np.uint8)
        pairs, mine = await asyncio.gather(s.random_ots(500), r.random_ots(c))
        m0 = rng.integers(0, 256, (400, 16), dtype=np.uint8)
        m1 = rng.integers(0, 256, (400, 16), dtype=np.uint8)
        c2 = rng.integers(0, 2, 400, dtype=np.uint8)
        _, got = await asyncio.gather(s.send_chosen(m0, m1), r.receive_chosen(c2))
        return out, (c, pairs, mine), (m0, m1, c2, got)

    cots, (c, pairs, mine), (m0, m1, c2, got) = asyncio.run(main())
    delta = np.frombuffer(s.s, dtype=np.uint8)
    seen = set()
    for c_, q, t in cots:
        assert np.array_equal(t, q ^ (c_[:, None] * delta))  # t_j = q_j xor c_j * s
        seen |= {bytes(x) for x in q}
    assert len(seen) == sum(q.shape[0] for _, q, _ in cots)  # fresh every extension
    assert np.array_equal(mine, pairs[np.arange(500), c])
    assert not np.any(np.all(mine == pairs[np.arange(500), 1 - c], axis=1))
    assert np.array_equal(got, np.where(c2[:, None] == 1, m1, m0))


def test_extend_before_setup_is_refused():
    s, r = _pair()
    from mpc.errors import ParameterError

    with pytest.raises(ParameterError, match="setup"):
        asyncio.run(s.extend(10))
    with pytest.raises(ParameterError, match="setup"):
        asyncio.run(r.extend(np.zeros(10, np.uint8)))
