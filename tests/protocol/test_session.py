"""Session behaviour at the edges: bad inputs, opening to a subset, timeouts, refusals."""

import asyncio

import numpy as np
import pytest

from mpc.arith import RING
from mpc.errors import DomainError, ParameterError, PartyUnreachable, ProtocolAbort, ShapeError
from mpc.net import Comm, LocalNetwork
from mpc.preprocessing import Dealer, DealerTriples
from mpc.preprocessing.provider import late
from mpc.runtime import Session
from tests.protocol.conftest import run


def test_owner_refusal_reaches_every_party():
    async def prog(s):
        return await s.input(0, np.array([1e6]) if s.pid == 0 else None, bound=10)

    net_errors = []

    async def collect(s):
        try:
            await prog(s)
        except Exception as exc:  # noqa: BLE001 - we inspect each party's error below
            net_errors.append((s.pid, exc))
        return None

    run(3, collect)
    by_party = dict(net_errors)
    assert "exceeds the declared public bound" in str(by_party[0])
    for p in (1, 2):
        assert isinstance(by_party[p], ProtocolAbort) and by_party[p].party == 0
        assert "party 0 could not provide its input" in str(by_party[p])


def test_open_to_subset_only():
    async def prog(s):
        a = await s.input(1, np.array([2.5, -1.0]) if s.pid == 1 else None)
        return await s.open(a, to=[2])

    res = run(3, prog)
    assert res[0] is None and res[1] is None
    np.testing.assert_array_equal(res[2], [2.5, -1.0])


def test_shape_and_domain_errors():
    async def prog(s):
        a = await s.input(0, np.zeros(3) if s.pid == 0 else None)
        b = await s.input(0, np.zeros(4) if s.pid == 0 else None)
        c = await s.input(0, np.zeros(3, dtype=int) if s.pid == 0 else None, kind="int", scheme="shamir")
        errors = []
        for f in (lambda: a + b, lambda: a + c, lambda: a + np.zeros(5)):
            try:
                f()
            except (ShapeError, DomainError) as exc:
                errors.append(type(exc).__name__)
        try:
            await (a * b)
        except ShapeError:
            errors.append("ShapeError")
        return errors

    assert run(3, prog)[0] == ["ShapeError", "DomainError", "ShapeError", "ShapeError"]


def test_expected_shape_mismatch_is_refused():
    async def prog(s):
        return await s.input(0, np.zeros(3) if s.pid == 0 else None, shape=(4,))

    async def collect(s):
        try:
            await prog(s)
        except ProtocolAbort as exc:
            return str(exc)
        return "no error"

    out = run(2, collect)
    assert "provided shape (3,), expected (4,)" in out[1]


def test_silent_peer_times_out_with_its_id():
    async def main():
        net = LocalNetwork(2)
        s = Session(net.endpoint(1), parties=[0, 1], timeout=0.3)
        with pytest.raises(PartyUnreachable) as info:
            await s.setup()  # party 0 never starts, so its seed never arrives
        assert info.value.party == 0

    asyncio.run(main())


def test_crashed_party_is_reported_not_hung():
    async def prog(s):
        if s.pid == 2:
            raise RuntimeError("party 2 crashed")
        a = await s.input(0, np.arange(3.0) if s.pid == 0 else None)
        return await s.open(await (a * a))

    with pytest.raises((RuntimeError, PartyUnreachable)):
        run(3, prog, timeout=None)


def test_malformed_message_size_aborts_naming_sender():
    async def main():
        net = LocalNetwork(2)
        c0, c1 = Comm(net.endpoint(0), "j"), Comm(net.endpoint(1), "j")
        await c1.send(0, "j/1:x", b"\x00" * 12)
        with pytest.raises(ProtocolAbort, match="party 1 sent 12 bytes") as info:
            await c0.recv_array(1, "j/1:x", np.uint64, (2,))
        assert info.value.party == 1
        await c1.send(0, "j/2:y", b"a")
        with pytest.raises(ProtocolAbort, match="second message"):
            await c1.send(0, "j/2:y", b"b")

    asyncio.run(main())


def test_dealer_refuses_oversized_request():
    async def main():
        net = LocalNetwork(3)
        dealer = Dealer(net.endpoint(2), [0, 1], job="j", timeout=5)
        sessions = [Session(net.endpoint(i), job="j", parties=[0, 1], triples=DealerTriples(2), timeout=5)
                    for i in range(2)]

        async def party(s):
            await s.setup()
            triple = await s.triples.mul_triples(s.comm, RING, (1 << 14, 1 << 14))
            return await late(triple.c)

        dealer_task = asyncio.ensure_future(dealer.serve())
        results = await asyncio.gather(*(party(s) for s in sessions), return_exceptions=True)
        dealer_task.cancel()
        return results

    results = asyncio.run(main())
    assert isinstance(results[1], ProtocolAbort) and "exceeds the limit" in str(results[1])


def test_rounds_and_bytes_of_setup_and_input():
    async def prog(s):
        before = s.stats.checkpoint()
        await s.input(0, np.zeros(1000) if s.pid == 0 else None)
        return s.stats.since(before)

    res = run(3, prog)
    # the owner sends only a small header: the other parties' shares come from shared seeds
    assert res[0]["bytes_sent"] < 100 and res[1]["bytes_sent"] == 0


def test_roster_threshold_above_job_size_only_matters_for_shamir():
    """A node passes its roster-wide t; a 2-party additive job must still run, a Shamir one refuses."""

    async def additive(s):
        a = await s.input(0, np.array([2.0]) if s.pid == 0 else None)
        return await s.open(await (a * a))

    assert run(2, additive, threshold=2)[0][0] == 4.0

    async def shamir(s):
        return await s.input(0, np.array([2]) if s.pid == 0 else None, kind="int", scheme="shamir")

    with pytest.raises(ParameterError, match="t\\+1 = 3 parties"):
        run(2, shamir, threshold=2)
