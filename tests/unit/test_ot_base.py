"""Naor-Pinkas base OT over Ed25519: correctness, and refusal of malformed network input."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mpc.errors import CheatingDetected, ProtocolAbort
from mpc.net import Comm, LocalNetwork
from mpc.crypto import group
from mpc.ot import base


def _comms(job="ot"):
    net = LocalNetwork(2)
    return Comm(net.endpoint(0), job=job, timeout=10), Comm(net.endpoint(1), job=job, timeout=10)


def test_random_ot_delivers_the_chosen_string_only():
    cs, cr = _comms()
    choices = np.array([0, 1, 1, 0, 1, 0, 0, 1] * 4, dtype=np.uint8)

    async def main():
        return await asyncio.gather(base.send(cs, 1, choices.size), base.receive(cr, 0, choices))

    (m0, m1), got = asyncio.run(main())
    assert m0.shape == m1.shape == got.shape == (choices.size, 16)
    assert np.array_equal(got, np.where(choices[:, None] == 1, m1, m0))
    other = np.where(choices[:, None] == 1, m0, m1)
    assert not np.any(np.all(got == other, axis=1))
    assert len({bytes(r) for r in np.concatenate([m0, m1])}) == 2 * choices.size  # all distinct


def test_naor_pinkas_point_c_is_a_valid_group_element():
    c = group.hash_to_group(b"session", b"naor-pinkas C")
    assert group.is_valid_point(c) and c != group.hash_to_group(b"other", b"naor-pinkas C")
    assert not group.is_valid_point(b"\x00" * 32) and not group.is_valid_point(b"\x01")


def test_sender_refuses_invalid_point():
    cs, cr = _comms("bad-point")

    async def main():
        t = cr.tag("np-pk0")
        await cr.send(0, t, b"\x00" * 32 * 4)  # identity encodings: not valid group elements
        return await base.send(cs, 1, 4)

    with pytest.raises(CheatingDetected, match="party 1"):
        asyncio.run(main())


def test_sender_refuses_wrong_size():
    cs, cr = _comms("bad-size")

    async def main():
        await cr.send(0, cr.tag("np-pk0"), b"\x00" * 31)
        return await base.send(cs, 1, 4)

    with pytest.raises(ProtocolAbort, match="expected 128"):
        asyncio.run(main())
