"""Echo-checked broadcast: every party sends one message to all, then all compare digests.

What it computes: each party's message at every party, with a guarantee that all honest
parties hold the same messages or abort. Each party sends its message to every peer, then
sends every peer the SHA-256 digests of all the messages it received; a message whose
digests disagree is reported as `CheatingDetected(party=sender)`.

Security: detects a sender that sends different messages to different parties (equivocation);
a deviating echoer can make the check fail (abort) and be blamed on the sender, so
attribution holds when at most the sender deviates. No agreement without abort (that needs
a Byzantine agreement protocol, out of scope); liveness needs every party online.
References: Bracha, Inf. & Comp. 1987 (echo broadcast); Goldwasser-Lindell, J. Cryptology
2005, section 3 (broadcast with abort).
Cost: 2 rounds; a party sends (n-1) * (size + 32 n) bytes.
"""

from __future__ import annotations

import hashlib

from mpc.errors import CheatingDetected
from mpc.net import Comm


async def broadcast(comm: Comm, message: bytes, size: int, label: str = "bcast") -> dict[int, bytes]:
    """Every compute party's `size`-byte message, echo-checked; keys are party ids."""
    if len(message) != size:
        raise ValueError(f"broadcast message is {len(message)} bytes, expected {size}")
    got = await comm.exchange(comm.tag(label), {p: message for p in comm.others}, comm.others, nbytes=size)
    got[comm.pid] = message
    digests = b"".join(hashlib.sha256(got[p]).digest() for p in comm.parties)
    echoes = await comm.exchange(comm.tag(label + "-echo"), {p: digests for p in comm.others}, comm.others,
                                 nbytes=32 * comm.n)
    for k, echo in echoes.items():
        for idx, sender in enumerate(comm.parties):
            if echo[32 * idx: 32 * idx + 32] != digests[32 * idx: 32 * idx + 32]:
                culprit = sender if sender != comm.pid else k
                raise CheatingDetected(
                    f"job {comm.job}: broadcast {label!r}: parties {comm.pid} and {k} hold different "
                    f"messages from party {sender}; party {culprit} deviated (equivocation or a false "
                    "echo). Abort and exclude it from the roster before retrying.",
                    party=culprit, job=comm.job)
    return got
