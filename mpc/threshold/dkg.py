"""Distributed key generation: a t-of-n Shamir-shared Ed25519 secret nobody ever holds whole.

What it computes: every party i deals a random degree-t polynomial f_i with Feldman
commitments C_ik = a_ik * B and a Schnorr proof of knowledge of a_i0; the group secret is
Σ_{i in QUAL} f_i(0), party j's share is x_j = Σ_{i in QUAL} f_i(j+1), the group key is
Y = Σ_{i in QUAL} C_i0, and every party's verification share Y_j = x_j * B is computable by
all from the commitments. Parties check their shares against the commitments and broadcast
complaints; an accused dealer must reveal the disputed share publicly. A dealer whose
commitments or proof are invalid, or whose revealed share fails, is excluded (named in
`DKGResult.excluded` with the reason); every honest party ends with the same QUAL and key.

Security: secrecy against t colluding parties (any t+1 shares reconstruct, t learn nothing)
with n >= t+1; malicious dealers are detected and excluded, assuming broadcast, which we
realise with echo-checked point-to-point messages (`mpc.threshold.broadcast`: equivocation
aborts). Not guaranteed: output delivery (a party that goes silent aborts the run) and a
uniformly distributed key against a rushing adversary (Gennaro et al. 2007 show the bias
of Feldman-Pedersen DKG; it is harmless for Schnorr/FROST and ElGamal use, per their
section 5). Trusted: nothing beyond the CSPRNG of each honest party.
References: Pedersen, EUROCRYPT 1991 (section 5, the DKG); Feldman, FOCS 1987 (verifiable
secret sharing); Gennaro-Jarecki-Krawczyk-Rabin, J. Cryptology 2007 (sections 3-4, complaints
and QUAL); Komlo-Goldberg, SAC 2020, Figure 1 (proof of knowledge of a_i0).
Cost: 4 rounds (6 when someone complains); a party sends (n-1)((t+1)*32 + 64 + 32) bytes of
deals plus echo and complaint messages (O(n^2) bytes); computation O(n*t) group
multiplications per party.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, ParameterError
from mpc.net import Comm
from mpc.threshold.broadcast import broadcast
from mpc.threshold.keys import KeyShare, check_threshold, eval_poly, identifier
from mpc.threshold.proofs import PROOF_BYTES, prove_dlog, verify_dlog

OK, BAD_SHARE = 0, 1


@dataclass(frozen=True)
class DKGResult:
    """This party's key share and the dealers excluded (party id -> reason)."""

    key_share: KeyShare
    excluded: dict[int, str] = field(default_factory=dict)


class PedersenDKG:
    """One party's run of the DKG on `comm` (compute parties 0..n-1 of the job)."""

    def __init__(self, comm: Comm, threshold: int):
        check_threshold(comm.n, threshold)
        if tuple(comm.parties) != tuple(range(comm.n)):
            raise ParameterError(f"job {comm.job}: the DKG runs on parties 0..n-1, got {comm.parties}")
        self.comm = comm
        self.t = threshold
        self.n = comm.n
        self.me = comm.pid

    # ------------------------------------------------------------------ dealing
    def context(self, dealer: int) -> bytes:
        return f"mpc-dkg-v1|{self.comm.job}|n={self.n}|t={self.t}|dealer={dealer}".encode()

    def deal(self) -> tuple[bytes, dict[int, int]]:
        """This party's public deal (commitments || proof) and the share for every party."""
        coeffs = [G.random_scalar() for _ in range(self.t + 1)]
        commitments = b"".join(G.base_mul(a) for a in coeffs)
        proof = prove_dlog(coeffs[0], self.context(self.me))
        shares = {p: eval_poly(coeffs, identifier(p)) for p in range(self.n)}
        return commitments + proof, shares

    def share_to_send(self, peer: int, shares: dict[int, int]) -> int:
        """The share sent to `peer` (a hook: tests override it to play a cheating dealer)."""
        return shares[peer]

    def reveal(self, complainer: int, shares: dict[int, int]) -> int:
        """The share revealed publicly after `complainer` accused this dealer (hook as above)."""
        return shares[complainer]

    async def broadcast(self, message: bytes, size: int, label: str) -> dict[int, bytes]:
        """Echo-checked broadcast (a hook: tests override it to play an equivocating dealer)."""
        return await broadcast(self.comm, message, size, label)

    # ------------------------------------------------------------------ checks
    def _parse_deal(self, dealer: int, data: bytes) -> list[bytes] | None:
        """The dealer's commitments if they and the proof are valid, else None."""
        try:
            comms = [G.decode_point(data[32 * k: 32 * k + 32]) for k in range(self.t + 1)]
        except ParameterError:
            return None
        proof = data[32 * (self.t + 1):]
        return comms if verify_dlog(comms[0], proof, self.context(dealer)) else None

    @staticmethod
    def _share_ok(share: int, commitments: list[bytes], party: int) -> bool:
        return G.base_mul(share) == G.poly_eval_points(commitments, identifier(party))

    # ------------------------------------------------------------------ protocol
    async def run(self) -> DKGResult:
        comm, n, t, me = self.comm, self.n, self.t, self.me
        deal_size = 32 * (t + 1) + PROOF_BYTES
        public, shares = self.deal()
        # Round 1: private shares, then the echo-checked broadcast of commitments and proofs.
        share_tag = comm.tag("dkg-shares")
        for p in comm.others:  # sent before the broadcast starts, so both share one round
            await comm.send(p, share_tag, G.scalar_bytes(self.share_to_send(p, shares)))
        deals = await self.broadcast(public, deal_size, "dkg-deal")
        got = {p: await comm.recv(p, share_tag, nbytes=32) for p in comm.others}
        my_share = {me: shares[me]}
        excluded: dict[int, str] = {}
        commitments: dict[int, list[bytes]] = {}
        complaints = bytearray(n)
        for dealer in range(n):
            comms = self._parse_deal(dealer, deals[dealer])
            if comms is None:
                excluded[dealer] = "invalid commitments or proof of knowledge"
                continue
            commitments[dealer] = comms
            if dealer == me:
                continue
            try:
                s = G.decode_scalar(got[dealer])
            except ParameterError:
                s = None
            if s is not None and self._share_ok(s, comms, me):
                my_share[dealer] = s
            else:
                complaints[dealer] = BAD_SHARE
        # Round 2: complaints (complaints[i] = 1: my share from dealer i is wrong).
        all_complaints = await self.broadcast(bytes(complaints), n, "dkg-complaints")
        disputed = {(d, c) for c, row in all_complaints.items() for d in range(n)
                    if row[d] == BAD_SHARE and d not in excluded}
        if disputed:
            # Round 3: every accused dealer reveals the disputed shares (everyone sends n slots).
            reveal = bytearray(32 * n)
            for d, c in disputed:
                if d == me:
                    reveal[32 * c: 32 * c + 32] = G.scalar_bytes(self.reveal(c, shares))
            reveals = await self.broadcast(bytes(reveal), 32 * n, "dkg-reveal")
            for d, c in sorted(disputed):
                if d in excluded:
                    continue
                raw = reveals[d][32 * c: 32 * c + 32]
                try:
                    s = G.decode_scalar(raw)
                    ok = self._share_ok(s, commitments[d], c)
                except ParameterError:
                    ok = False
                if not ok:
                    excluded[d] = f"share for party {c} does not match its commitments (complaint upheld)"
                elif c == me:
                    my_share[d] = s
        qual = [d for d in range(n) if d not in excluded]
        if me not in qual:
            raise CheatingDetected(f"job {comm.job}: party {me} was excluded from its own DKG "
                                   f"({excluded[me]}); check this node's configuration", party=me, job=comm.job)
        x = sum(my_share[d] for d in qual) % G.L
        aggregate = [G.add_all(commitments[d][k] for d in qual) for k in range(t + 1)]
        group_key = aggregate[0]
        vshares = tuple(G.poly_eval_points(aggregate, identifier(p)) for p in range(n))
        if G.base_mul(x) != vshares[me]:  # cannot happen when the checks above passed
            raise CheatingDetected(f"job {comm.job}: party {me}'s share does not match the commitments",
                                   party=me, job=comm.job)
        return DKGResult(KeyShare(me, n, t, x, group_key, vshares), excluded)


async def dkg(comm: Comm, threshold: int) -> DKGResult:
    """Run the DKG as one party of `comm`: any `threshold`+1 parties can later use the key."""
    return await PedersenDKG(comm, threshold).run()
