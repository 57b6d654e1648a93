"""Threshold ElGamal over the Ed25519 group: encrypt to the group key, decrypt with t+1 parties.

What it computes: `encrypt_point` gives (C1, C2) = (r*B, M + r*Y) for a group element M;
`encrypt` is hybrid (KEM-DEM): K = r*Y, an AES-256-GCM key from HKDF-SHA256(K, C1), so any
byte string (a short message, a symmetric key) is encrypted. Decryption needs K = x*C1:
each decryptor i sends D_i = x_i*C1 with a Chaum-Pedersen proof that log_B(Y_i) =
log_C1(D_i); any t+1 valid partials give K = Σ λ_i D_i (Lagrange in the exponent). A partial
whose proof fails is rejected and its sender named; the result needs t+1 valid partials.

Security: IND-CPA (point form; DDH) and IND-CCA for the hybrid form's DEM part (AES-GCM
authenticates C1 and the associated data); the group secret is never reconstructed:
t colluding decryptors learn nothing about other ciphertexts. Proofs make decryption
robust against up to n-(t+1) deviating decryptors; the point form is malleable by design.
Trusted: the key's public verification shares (from the DKG transcript).
References: ElGamal, IEEE Trans. IT 1985; Desmedt-Frankel, CRYPTO 1989 (threshold
decryption); Chaum-Pedersen, CRYPTO 1992; Shoup-Gennaro, J. Cryptology 2002, section 3
(hybrid threshold decryption with proofs); RFC 5869 (HKDF).
Cost: encryption 1 base + 1 variable multiplication; per decryptor and ciphertext one
multiplication + a proof (3 multiplications) and 4 multiplications per checked partial;
1 round, (s-1) * 96 bytes per ciphertext per decryptor for s decryptors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, NotEnoughShares, ParameterError
from mpc.net import Comm
from mpc.threshold.keys import KeyShare, PublicKeyInfo, identifier, lagrange_at_zero
from mpc.threshold.proofs import PROOF_BYTES, prove_dleq, verify_dleq

HYBRID_VERSION = 1
NONCE_BYTES = 12
PARTIAL_BYTES = 32 + PROOF_BYTES


@dataclass(frozen=True)
class Ciphertext:
    """A point ciphertext (C1, C2) = (r*B, M + r*Y)."""

    c1: bytes
    c2: bytes

    def to_bytes(self) -> bytes:
        return self.c1 + self.c2

    @classmethod
    def from_bytes(cls, data: bytes) -> "Ciphertext":
        if len(data) != 64:
            raise ParameterError(f"a point ciphertext is 64 bytes, got {len(data)}")
        return cls(G.decode_point(data[:32], "C1"), G.decode_point(data[32:], "C2"))


def encrypt_point(group_key: bytes, message: bytes) -> Ciphertext:
    M = G.decode_point(message, "message point")
    r = G.random_scalar()
    return Ciphertext(G.base_mul(r), G.add(M, G.mul(r, group_key)))


def decrypt_point(ct: Ciphertext, shared: bytes) -> bytes:
    """M = C2 - K, given the combined K = x*C1."""
    return G.sub(ct.c2, shared)


def _dem_key(shared: bytes, c1: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"mpc-elgamal-hybrid-v1" + c1).derive(shared)


def encrypt(group_key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Hybrid encryption to the group key: version || C1 || nonce || AES-GCM(plaintext)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    G.decode_point(group_key, "group public key")
    r = G.random_scalar()
    c1 = G.base_mul(r)
    nonce = os.urandom(NONCE_BYTES)
    header = bytes([HYBRID_VERSION]) + c1
    body = AESGCM(_dem_key(G.mul(r, group_key), c1)).encrypt(nonce, plaintext, header + aad)
    return header + nonce + body


def hybrid_c1(blob: bytes) -> bytes:
    """The C1 of a hybrid ciphertext (what the decryptors need), after format checks."""
    if len(blob) < 1 + 32 + NONCE_BYTES + 16 or blob[0] != HYBRID_VERSION:
        raise ParameterError("not a version-1 hybrid ciphertext (too short or wrong version byte)")
    return G.decode_point(blob[1:33], "C1")


def decrypt_hybrid(blob: bytes, shared: bytes, aad: bytes = b"") -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    c1 = hybrid_c1(blob)
    nonce, body = blob[33:33 + NONCE_BYTES], blob[33 + NONCE_BYTES:]
    try:
        return AESGCM(_dem_key(shared, c1)).decrypt(nonce, body, blob[:33] + aad)
    except InvalidTag:
        raise ParameterError("hybrid ciphertext failed authentication (tampered, wrong key or wrong "
                             "associated data)") from None


# ------------------------------------------------------------------ partial decryptions
def _context(pub: PublicKeyInfo, party: int) -> bytes:
    return b"mpc-elgamal-partial-v1|" + pub.group_key + party.to_bytes(4, "little")


def partial_decrypt(key: KeyShare, c1: bytes) -> bytes:
    """D_i || proof for one ciphertext (96 bytes)."""
    D = G.mul(key.share, c1)
    proof = prove_dleq(key.share, c1, _context(key.public(), key.party),
                       X=key.verification_shares[key.party], Z=D)
    return D + proof


def verify_partial(pub: PublicKeyInfo, party: int, c1: bytes, partial: bytes) -> bool:
    if len(partial) != PARTIAL_BYTES or not 0 <= party < pub.n or not G.is_valid_point(partial[:32]):
        return False
    return verify_dleq(pub.verification_shares[party], c1, partial[:32], partial[32:], _context(pub, party))


@dataclass(frozen=True)
class Combined:
    """The combined K = x*C1 per ciphertext, and the rejected partials (party -> reason)."""

    shared: list[bytes]
    rejected: dict[int, str] = field(default_factory=dict)


def combine(pub: PublicKeyInfo, c1s: Sequence[bytes], partials: Mapping[int, Sequence[bytes]]) -> Combined:
    """Check every party's partials; combine t+1 valid ones per ciphertext (Lagrange at 0)."""
    rejected: dict[int, str] = {}
    good = []
    for party in sorted(partials):
        parts = partials[party]
        bad = next((k for k, (c1, d) in enumerate(zip(c1s, parts)) if not verify_partial(pub, party, c1, d)),
                   None) if len(parts) == len(c1s) else 0
        if bad is None:
            good.append(party)
        else:
            rejected[party] = f"partial decryption of ciphertext {bad} fails its Chaum-Pedersen proof"
    if len(good) < pub.threshold + 1:
        if rejected:
            culprit = min(rejected)
            raise CheatingDetected(
                f"only {len(good)} valid partial decryptions, {pub.threshold + 1} needed; rejected: "
                + "; ".join(f"party {p}: {r}" for p, r in rejected.items()), party=culprit)
        raise NotEnoughShares(f"{len(good)} partial decryptions, threshold t={pub.threshold} needs "
                              f"t+1 = {pub.threshold + 1}")
    use = good[: pub.threshold + 1]
    ids = [identifier(p) for p in use]
    lams = [lagrange_at_zero(ids, identifier(p)) for p in use]
    shared = [G.multi_mul(lams, [partials[p][k][:32] for p in use]) for k in range(len(c1s))]
    return Combined(shared, rejected)


class ThresholdDecryptor:
    """One decryptor's run on `comm` (its parties, at least t+1, are the decryptors)."""

    def __init__(self, comm: Comm, key: KeyShare):
        if len(comm.parties) < key.threshold + 1:
            raise ParameterError(f"job {comm.job}: {len(comm.parties)} decryptors; threshold "
                                 f"t={key.threshold} needs any t+1 = {key.threshold + 1}")
        if key.party != comm.pid or any(not 0 <= p < key.n for p in comm.parties):
            raise ParameterError(f"job {comm.job}: decryptors {list(comm.parties)} do not fit this "
                                 f"{key.n}-party key share of party {key.party}")
        self.comm, self.key = comm, key

    def partials(self, c1s: Sequence[bytes]) -> bytes:
        """This party's partials with proofs (a hook: tests override it to send wrong ones)."""
        return b"".join(partial_decrypt(self.key, c1) for c1 in c1s)

    async def run(self, c1s: Sequence[bytes]) -> Combined:
        comm = self.comm
        c1s = [G.decode_point(c, f"C1 of ciphertext {k}") for k, c in enumerate(c1s)]
        mine = self.partials(c1s)
        got = await comm.exchange(comm.tag("elgamal-partials"), {p: mine for p in comm.others}, comm.others,
                                  nbytes=PARTIAL_BYTES * len(c1s))
        got[comm.pid] = mine
        partials = {p: [d[k * PARTIAL_BYTES:(k + 1) * PARTIAL_BYTES] for k in range(len(c1s))]
                    for p, d in got.items()}
        try:
            return combine(self.key.public(), c1s, partials)
        except CheatingDetected as exc:
            exc.job = comm.job
            raise


async def threshold_decrypt(comm: Comm, key: KeyShare, c1s: Sequence[bytes]) -> Combined:
    """Every decryptor (`comm.parties`, at least t+1) ends with K = x*C1 for each C1.

    One round: each decryptor sends its partials with proofs to the others. Partials that
    fail their proofs are named in `Combined.rejected`; fewer than t+1 valid raises
    `CheatingDetected` naming a culprit.
    """
    return await ThresholdDecryptor(comm, key).run(c1s)
