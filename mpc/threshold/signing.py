"""Threshold signing between parties: FROST(Ed25519, SHA-512) over a `Comm`.

What it computes: an RFC 8032 Ed25519 signature on `message` under the group key, by the
signers named (at least t+1 of the key's n parties). No coordinator: every signer sends its
nonce commitments to all signers (round 1), then its signature share to all (round 2);
each signer checks every share against the sender's verification share (RFC 9591 section
5.4), aggregates, and checks the result with an ordinary Ed25519 verifier. A wrong share
raises `CheatingDetected(party=...)` naming its sender; a signer that signs another message
is named too (round 1 carries H4(message)).

Security: RFC 9591 section 7: unforgeable while at most t parties are corrupt; a deviating
signer cannot make the honest signers accept a wrong signature (every share is checked)
but can abort the run (identifiable abort). Nonces come from the OS CSPRNG hedged with the
secret share (section 4.1), live only in this call, and are never reused.
References: RFC 9591, sections 5.1-5.4; Komlo-Goldberg, SAC 2020.
Cost: 2 rounds; a signer sends (s-1) * (64 + 64 + 32) bytes for s signers; about 3s + 3
group multiplications per signer.
"""

from __future__ import annotations

import hmac
from typing import Sequence

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, ParameterError, ProtocolAbort
from mpc.net import Comm
from mpc.threshold import frost
from mpc.threshold.keys import KeyShare, identifier


class FrostSigner:
    """One signer's run of FROST on `comm` (whose parties are exactly the signers)."""

    def __init__(self, comm: Comm, key: KeyShare, message: bytes):
        signers = tuple(comm.parties)
        if len(signers) < key.threshold + 1:
            raise ParameterError(
                f"job {comm.job}: {len(signers)} signers {list(signers)} cannot sign with threshold "
                f"t={key.threshold}: any t+1 = {key.threshold + 1} of the {key.n} parties are needed")
        if any(not 0 <= s < key.n for s in signers) or key.party != comm.pid:
            raise ParameterError(f"job {comm.job}: signers {list(signers)} are not parties of this "
                                 f"{key.n}-party key, or this key share belongs to another party")
        self.comm, self.key, self.message = comm, key, bytes(message)

    def signature_share(self, nonces: frost.SigningNonces, commitments: list[frost.Commitment]) -> int:
        """This signer's share (a hook: tests override it to play a cheating signer)."""
        return frost.sign(self.key.identifier, self.key.share, self.key.group_key, nonces,
                          self.message, commitments)

    async def run(self) -> bytes:
        comm, key = self.comm, self.key
        digest = frost.H4(self.message)
        nonces, mine = frost.commit(key.share, identifier=key.identifier)
        got = await comm.exchange(comm.tag("frost-commit"), {p: mine.to_bytes() + digest for p in comm.others},
                                  comm.others, nbytes=128)
        commitments = [mine]
        for p, data in got.items():
            if not hmac.compare_digest(data[64:], digest):
                raise ProtocolAbort(f"job {comm.job}: signer {p} is signing a different message; "
                                    "check that every node was given the same message", party=p, job=comm.job)
            try:
                commitments.append(frost.Commitment.from_bytes(identifier(p), data[:64]))
            except ParameterError as exc:
                raise CheatingDetected(f"job {comm.job}: signer {p} sent an invalid nonce commitment ({exc})",
                                       party=p, job=comm.job) from None
        z = self.signature_share(nonces, commitments)
        del nonces  # single use
        shares = await comm.exchange(comm.tag("frost-share"), {p: G.scalar_bytes(z) for p in comm.others},
                                     comm.others, nbytes=32)
        zs = {comm.pid: z}
        for p in sorted(shares):
            try:
                zp = G.decode_scalar(shares[p])
                ok = frost.verify_signature_share(identifier(p), key.verification_shares[p], commitments, zp,
                                                  key.group_key, self.message)
            except ParameterError:
                ok = False
            if not ok:
                raise CheatingDetected(f"job {comm.job}: signer {p} sent a signature share that fails "
                                       "verification against its verification share (RFC 9591 5.4); "
                                       f"exclude party {p} and sign again", party=p, job=comm.job)
            zs[p] = zp
        sig = frost.aggregate(commitments, self.message, key.group_key, list(zs.values()))
        if not frost.verify_signature(key.group_key, self.message, sig):
            raise ProtocolAbort(f"job {comm.job}: the aggregate signature does not verify although every "
                                "share did; this key share may not belong to the group key", job=comm.job)
        return sig


async def frost_sign(comm: Comm, key: KeyShare, message: bytes) -> bytes:
    """Sign `message` with the signers `comm.parties`; returns the 64-byte Ed25519 signature."""
    return await FrostSigner(comm, key, message).run()


def signers_comm(transport, job: str, signers: Sequence[int], timeout: float | None = None) -> Comm:
    """A `Comm` over exactly the signers (sorted), for `frost_sign`."""
    return Comm(transport, job=job, parties=sorted(set(signers)), timeout=timeout)
