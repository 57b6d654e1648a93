"""Echo-checked broadcast: agreement when honest, equivocation and false echoes named."""

from __future__ import annotations

import hashlib

from mpc.errors import CheatingDetected
from mpc.threshold.broadcast import broadcast
from mpc.threshold.local import run_parties


def test_everyone_gets_everyones_message():
    out = run_parties(4, lambda c: broadcast(c, bytes([c.pid]) * 3, 3))
    assert all(o == {p: bytes([p]) * 3 for p in range(4)} for o in out)


def test_false_echo_is_blamed_on_the_echoer():
    async def prog(c):
        if c.pid != 2:
            return await broadcast(c, bytes([c.pid]), 1)
        tag = c.tag("bcast")
        for p in c.others:
            await c.send(p, tag, b"\x02")
        for p in c.others:
            await c.recv(p, tag)
        lie = b"".join(hashlib.sha256(b"\x09").digest() for _ in range(3))  # claims other messages
        echo = c.tag("bcast-echo")
        for p in c.others:
            await c.send(p, echo, lie)
        return None

    out = run_parties(3, prog, return_exceptions=True, timeout=5)
    for p in (0, 1):
        assert isinstance(out[p], CheatingDetected) and out[p].party == 2
