"""DH-PSI over LocalNetwork: sizes, members, duplicates, empty sets, what each side learns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.errors import ParameterError, ProtocolAbort
from mpc.psi import psi
from mpc.threshold.local import run_parties


def _run(x, y, **kw):
    items = {0: x, 1: y}
    return run_parties(2, lambda c: psi(c, items[c.pid], **kw), timeout=20)


def test_members_overlap_with_duplicates():
    x = ["alice", "bob", "carol", "bob", "dave", 17]
    y = ["erin", "carol", "alice", "alice", "17", "zed"]
    r, s = _run(x, y)
    assert r.members == [b"alice", b"carol", b"17"]  # receiver's input order, deduplicated
    assert r.indices.tolist() == [0, 2, 5]
    assert r.size == 3 and r.set_sizes == (5, 5)
    # the sender learns only the receiver's set size: no members, no intersection size
    assert s.members is None and s.indices is None and s.size is None and s.set_sizes == (5, 5)


def test_size_only_mode_hides_members_from_the_receiver():
    r, s = _run([b"a", b"b", b"c"], [b"b", b"c", b"d", b"e"], output="size")
    assert r.size == 2 and r.members is None and r.indices is None
    assert s.size is None


def test_size_to_sender():
    r, s = _run(list(range(10)), list(range(5, 30)), output="size", size_to_sender=True)
    assert r.size == s.size == 5 and s.set_sizes == (10, 25)


@pytest.mark.parametrize("x,y", [([], ["a"]), (["a"], []), ([], [])])
def test_empty_sets(x, y):
    r, s = _run(x, y, size_to_sender=True)
    assert r.size == 0 and r.members == [] and s.size == 0


def test_disjoint_and_identical_sets():
    r, _ = _run(["a", "b"], ["c", "d"])
    assert r.members == []
    r, _ = _run(["a", "b"], ["b", "a"])
    assert r.members == [b"a", b"b"]


def test_receiver_can_be_party_1():
    x, y = ["a", "b", "c"], ["c", "b", "z"]
    items = {0: x, 1: y}
    r0, r1 = run_parties(2, lambda c: psi(c, items[c.pid], receiver=1), timeout=20)
    assert r1.members == [b"c", b"b"] and r0.members is None


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=25), st.lists(st.integers(0, 40), max_size=25))
def test_matches_python_sets(x, y):
    r, _ = _run(x, y)
    expect = [str(v).encode() for v in dict.fromkeys(x) if v in set(y)]
    assert r.members == expect and r.size == len(expect)


def test_parameters_are_checked():
    with pytest.raises(ParameterError):
        run_parties(3, lambda c: psi(c, ["a"]))
    with pytest.raises(ParameterError):
        _run(["a"], ["a"], output="everything")
    with pytest.raises(ParameterError):
        _run([1.5], ["a"])


def test_invalid_points_from_the_peer_abort_naming_it():
    from mpc.crypto import group as G

    async def prog(c):
        if c.pid == 1:  # a sender that answers with the identity element
            await c.recv(0, c.tag("psi-r-blinded"))
            await c.send(0, c.tag("psi-s-double"), G.IDENTITY)
            await c.send(0, c.tag("psi-s-blinded"), G.IDENTITY * 2)
            return None
        return await psi(c, ["a"])

    r, _ = run_parties(2, prog, return_exceptions=True, timeout=5)
    assert isinstance(r, ProtocolAbort) and r.party == 1


def test_wrong_sized_reply_aborts():
    async def prog(c):
        if c.pid == 1:
            t_r, t_double, t_own = c.tag("psi-r-blinded"), c.tag("psi-s-double"), c.tag("psi-s-blinded")
            await c.send(0, t_own, (9).to_bytes(32, "little") * 2)  # valid points first
            await c.recv(0, t_r)
            await c.send(0, t_double, b"\x00" * 33)
            return None
        return await psi(c, ["a", "b"])

    r, _ = run_parties(2, prog, return_exceptions=True, timeout=5)
    assert isinstance(r, ProtocolAbort) and r.party == 1 and "expected 64" in str(r)
