"""The trusted dealer against a dealer-facing party that sends requests of its own choosing.

Issue 10 defect 8(a): the last party (the only one that talks to the dealer) re-sent a past
multiplication triple's label as a matrix-product request of shapes (m,0)x(0,1); the dealer's
correction was then minus the other parties' shares of `a`, and the public Beaver opening
d = x - a gave away the other party's input. The dealer must refuse the replay, and a request
whose kind or shapes differ from what the other parties drew must tell its sender nothing.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np

from mpc.arith import RING
from mpc.net import Comm, LocalNetwork
from mpc.preprocessing import Dealer, DealerTriples
from mpc.preprocessing.dealer import _request_tags
from mpc.preprocessing.provider import late

M = 64
JOB = "j"


async def _cluster():
    """Parties 0 and 1 (1 faces the dealer), dealer at endpoint 2; seeds delivered."""
    net = LocalNetwork(3)
    dealer = Dealer(net.endpoint(2), [0, 1], job=JOB, timeout=5)
    task = asyncio.ensure_future(dealer.serve())
    comms = [Comm(net.endpoint(i), JOB, [0, 1], 5) for i in range(2)]
    sources = [DealerTriples(2) for _ in range(2)]
    await asyncio.gather(*(src.setup(c) for src, c in zip(sources, comms)))
    return task, comms, sources


async def _forge(comm: Comm, source: DealerTriples, req: dict) -> bytes:
    """What a deviating last party does: send `req` as its next dealer request; the raw reply."""
    k = source._k
    source._k += 1
    req_tag, resp_tag = _request_tags(comm.job, k)
    await comm.send(source.dealer_id, req_tag, json.dumps(req).encode())
    return await comm.recv(source.dealer_id, resp_tag)


async def _triple(comms, sources):
    """Both parties take an elementwise triple of M ring elements; returns their shares and c's check."""
    (a0, b0, c0), (a1, b1, c1) = await asyncio.gather(
        *(src.mul_triples(c, RING, (M,)) for c, src in zip(comms, sources)))
    c1 = await late(c1)
    ok = np.array_equal(RING.add(c0, c1), RING.mul(RING.add(a0, a1), RING.add(b0, b1)))
    return a0, a1, ok


def test_replayed_label_as_other_shapes_is_refused_and_leaks_nothing():
    x = np.random.default_rng(1).integers(0, 2**63, M, dtype=np.uint64)     # party 0's secret

    async def main():
        task, comms, sources = await _cluster()
        # an honest product first: the last party sees the label it sent
        sent = []
        orig_send = comms[1].send

        async def spy(peer, tag, data):
            if "/dealer/req/" in tag:
                sent.append(json.loads(data))
            await orig_send(peer, tag, data)

        comms[1].send = spy
        a0, a1, ok = await _triple(comms, sources)
        assert ok and sent and sent[0]["kind"] == "mul"
        old = sent[0]["label"]
        # 1. the replay of that label as a product of shapes (M,0)x(0,1): refused
        attack = {"kind": "matmul", "label": old, "domain": "ring", "shape": [M, 0], "shape_b": [0, 1]}
        reply = await _forge(comms[1], sources[1], attack)
        assert reply[:1] == b"\x01" and b"already served" in reply, reply[:200]
        # the same label with the same kind and shapes is refused as well
        reply = await _forge(comms[1], sources[1], dict(sent[0]))
        assert reply[:1] == b"\x01" and b"already served" in reply
        # 2. a fresh label (the one party 0 uses next) asked for with those shapes: answered, but
        # from streams no party draws, so "minus the others' share of a" is not party 0's share
        nxt = comms[1].tag("dealer-mul")
        reply = await _forge(comms[1], sources[1], dict(attack, label=nxt))
        assert reply[:1] == b"\x00"
        guess_a0 = RING.sub(np.zeros(M, np.uint64), np.frombuffer(reply[1:], dtype="<u8"))
        real_a0 = (await sources[0].mul_triples(comms[0], RING, (M,))).a     # party 0 draws under `nxt`
        # the opening d = x - a0 - a1 gives the last party (who knows a1) x - a0; with the old
        # dealer guess_a0 == real_a0 and this recovered x exactly
        recovered = RING.add(RING.sub(x, real_a0), guess_a0)
        assert not np.any(guess_a0 == real_a0) and not np.any(recovered == x)
        # 3. requests with fields the protocol does not have are refused
        reply = await _forge(comms[1], sources[1], {"kind": "mul", "label": "x/1", "domain": "ring",
                                                     "shape": [4], "seed_index": 0})
        assert reply[:1] == b"\x01" and b"unknown request field" in reply
        task.cancel()

    asyncio.run(main())


def test_honest_requests_of_every_kind_still_combine():
    """The streams bound to kind and shapes still give correct triples, tuples and bits."""
    async def main():
        task, comms, sources = await _cluster()

        async def party(c, src):
            t = await src.mul_triples(c, RING, (5,))
            mt = await src.matmul_triples(c, RING, (3, 4), (4, 2))
            tr = await src.trunc_tuples(c, (6,), 16)
            r, bits = await src.edabits(c, (6,))
            out = (t.a, t.b, await late(t.c), mt.a, mt.b, await late(mt.c), tr.r, await late(tr.r_msb),
                   await late(tr.r_shift), r, await late(bits))
            await src.close(c)
            return out

        p0, p1 = await asyncio.gather(*(party(c, s) for c, s in zip(comms, sources)))
        await asyncio.wait_for(task, 5)
        return p0, p1

    p0, p1 = asyncio.run(main())
    s = [RING.add(u, v) for u, v in zip(p0[:10], p1[:10])]
    a, b, c, ma, mb, mc, r, msb, shift, er = s
    assert np.array_equal(c, RING.mul(a, b)) and np.array_equal(mc, RING.matmul(ma, mb))
    assert np.array_equal(msb, r >> np.uint64(63))
    assert np.array_equal(shift, (r & np.uint64((1 << 63) - 1)) >> np.uint64(16))
    assert np.array_equal(p0[10] ^ p1[10], er)
