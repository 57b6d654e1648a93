"""Echo-checked broadcast: every party sends one message to all, then all compare digests.

What it computes: each party's message at every party, with a guarantee that all honest
parties hold the same messages or abort. Each party sends its message to every peer, then
sends every peer the SHA-256 digests of all the messages it received; a message whose
digests disagree is reported as `CheatingDetected(party=sender)`.

Security: detects a sender that sends different messages to different parties (equivocation);
an echoer that misreports a party's own message is named by that party; one that
misreports a third party's message cannot be told apart from that party equivocating to it
(the sender is named), so attribution is exact when at most the sender deviates. No agreement without abort (that needs
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
    # A peer misreporting this party's own message is certainly lying: check that first.
    me = comm.parties.index(comm.pid)
    order = [(k, me) for k in echoes] + [(k, i) for k in echoes for i in range(comm.n) if i != me]
    for k, idx in order:
        if echoes[k][32 * idx: 32 * idx + 32] != digests[32 * idx: 32 * idx + 32]:
            sender = comm.parties[idx]
            culprit = k if sender == comm.pid else sender
            raise CheatingDetected(
                f"job {comm.job}: broadcast {label!r}: parties {comm.pid} and {k} hold different "
                f"messages from party {sender}; party {culprit} deviated (equivocation or a false "
                "echo). Abort and exclude it from the roster before retrying.",
                party=culprit, job=comm.job)
    return got
