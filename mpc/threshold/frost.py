"""FROST(Ed25519, SHA-512) as specified in RFC 9591: the ciphersuite and the signing steps.

What it computes: a Schnorr signature under the group key Y = s*B from t+1 Shamir shares of
s, in two rounds: (1) each signer commits to a pair of nonces (D_i, E_i); (2) given the
message and every commitment, each signer computes its share z_i = d_i + e_i*rho_i +
lambda_i*s_i*c; the aggregate (R, z = Σ z_i) is an ordinary RFC 8032 Ed25519 signature.
This module is the pure, transport-free part (each function names its RFC section);
`mpc.threshold.signing` runs it between parties.

Security: as RFC 9591 section 7: unforgeable while fewer than t+1 (MIN_PARTICIPANTS)
signers are corrupted, under the one-more discrete-log assumption in the random-oracle
model; binding factors stop the Drijvers et al. forgery on concurrent sessions. A signature
share is verifiable against the signer's verification share (section 5.4), so a wrong
share is attributed. Nonces are single-use and never stored (section 7.1).
References: RFC 9591, sections 4 (helpers), 5.1-5.3 (rounds and aggregation), 5.4
(identifiable abort), 6.1 (FROST(Ed25519, SHA-512)); Komlo-Goldberg, SAC 2020.
Cost: round 1 two base multiplications; round 2 (t+1) binding factors and one group
commitment (t+1 scalar multiplications); share verification 3 multiplications per signer.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

from mpc.crypto import group as G
from mpc.errors import ParameterError
from mpc.threshold.keys import lagrange_at_zero

CONTEXT = b"FROST-ED25519-SHA512-v1"


# ------------------------------------------------------------------- section 6.1 hashes
def H1(m: bytes) -> int:
    return G.scalar_from_wide(hashlib.sha512(CONTEXT + b"rho" + m).digest())


def H2(m: bytes) -> int:
    """The challenge hash: no context string, so that signatures are RFC 8032 compatible."""
    return G.scalar_from_wide(hashlib.sha512(m).digest())


def H3(m: bytes) -> int:
    return G.scalar_from_wide(hashlib.sha512(CONTEXT + b"nonce" + m).digest())


def H4(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT + b"msg" + m).digest()


def H5(m: bytes) -> bytes:
    return hashlib.sha512(CONTEXT + b"com" + m).digest()


# ------------------------------------------------------------------- section 4 helpers
@dataclass(frozen=True)
class SigningNonces:
    """A signer's secret nonce pair for one signing session (use once, then discard)."""

    hiding: int
    binding: int


@dataclass(frozen=True)
class Commitment:
    """A signer's public nonce commitments (D_i, E_i), tagged with its identifier."""

    identifier: int
    hiding: bytes
    binding: bytes

    def to_bytes(self) -> bytes:
        return self.hiding + self.binding

    @classmethod
    def from_bytes(cls, identifier: int, data: bytes) -> "Commitment":
        if len(data) != 64:
            raise ParameterError(f"a FROST commitment is 64 bytes, got {len(data)}")
        return cls(identifier, G.decode_point(data[:32], "hiding nonce commitment"),
                   G.decode_point(data[32:], "binding nonce commitment"))


def nonce_generate(secret: int, random_bytes: bytes | None = None) -> int:
    """Section 4.1: H3(random_bytes || SerializeScalar(secret)), 32 fresh random bytes."""
    rb = os.urandom(32) if random_bytes is None else random_bytes
    return H3(rb + G.scalar_bytes(secret))


def commit(secret_share: int, hiding_randomness: bytes | None = None,
           binding_randomness: bytes | None = None, *, identifier: int) -> tuple[SigningNonces, Commitment]:
    """Section 5.1 (round one): fresh nonces and their commitments."""
    nonces = SigningNonces(nonce_generate(secret_share, hiding_randomness),
                           nonce_generate(secret_share, binding_randomness))
    return nonces, Commitment(identifier, G.base_mul(nonces.hiding), G.base_mul(nonces.binding))


def _sorted_list(commitments: Iterable[Commitment]) -> list[Commitment]:
    lst = sorted(commitments, key=lambda c: c.identifier)
    ids = [c.identifier for c in lst]
    if len(set(ids)) != len(ids) or any(not 0 < i < G.L for i in ids):
        raise ParameterError(f"commitment identifiers must be distinct and non-zero, got {ids}")
    return lst


def encode_group_commitment_list(commitments: Sequence[Commitment]) -> bytes:
    """Section 4.3: identifier || D || E for each signer, in identifier order."""
    return b"".join(G.scalar_bytes(c.identifier) + c.hiding + c.binding for c in _sorted_list(commitments))


def binding_factor_inputs(group_key: bytes, commitments: Sequence[Commitment], msg: bytes) -> dict[int, bytes]:
    """Section 4.4: rho_input for every signer (exposed for the RFC's test vectors)."""
    prefix = group_key + H4(msg) + H5(encode_group_commitment_list(commitments))
    return {c.identifier: prefix + G.scalar_bytes(c.identifier) for c in commitments}


def compute_binding_factors(group_key: bytes, commitments: Sequence[Commitment], msg: bytes) -> dict[int, int]:
    return {i: H1(inp) for i, inp in binding_factor_inputs(group_key, commitments, msg).items()}


def compute_group_commitment(commitments: Sequence[Commitment], binding_factors: dict[int, int]) -> bytes:
    """Section 4.5: R = Σ D_i + rho_i * E_i."""
    return G.add_all(G.add(c.hiding, G.mul(binding_factors[c.identifier], c.binding))
                     for c in _sorted_list(commitments))


def compute_challenge(group_commitment: bytes, group_key: bytes, msg: bytes) -> int:
    """Section 4.6: H2(R || Y || msg)."""
    return H2(group_commitment + group_key + msg)


# ------------------------------------------------------------------- section 5 rounds
def sign(identifier: int, secret_share: int, group_key: bytes, nonces: SigningNonces, msg: bytes,
         commitments: Sequence[Commitment]) -> int:
    """Section 5.2 (round two): this signer's signature share z_i."""
    ids = [c.identifier for c in _sorted_list(commitments)]
    if identifier not in ids:
        raise ParameterError(f"signer {identifier} is not in the commitment list {ids}")
    rho = compute_binding_factors(group_key, commitments, msg)
    R = compute_group_commitment(commitments, rho)
    c = compute_challenge(R, group_key, msg)
    lam = lagrange_at_zero(ids, identifier)
    return (nonces.hiding + nonces.binding * rho[identifier] + lam * secret_share * c) % G.L


def verify_signature_share(identifier: int, public_share: bytes, commitments: Sequence[Commitment],
                           sig_share: int, group_key: bytes, msg: bytes) -> bool:
    """Section 5.4: z_i * B == D_i + rho_i * E_i + (c * lambda_i) * Y_i."""
    lst = _sorted_list(commitments)
    mine = next((c for c in lst if c.identifier == identifier), None)
    if mine is None:
        return False
    rho = compute_binding_factors(group_key, lst, msg)
    R = compute_group_commitment(lst, rho)
    c = compute_challenge(R, group_key, msg)
    lam = lagrange_at_zero([x.identifier for x in lst], identifier)
    comm_share = G.add(mine.hiding, G.mul(rho[identifier], mine.binding))
    rhs = G.add(comm_share, G.mul(c * lam % G.L, public_share))
    return G.base_mul(sig_share) == rhs


def aggregate(commitments: Sequence[Commitment], msg: bytes, group_key: bytes, sig_shares: Sequence[int]) -> bytes:
    """Section 5.3: the 64-byte signature R || SerializeScalar(Σ z_i)."""
    rho = compute_binding_factors(group_key, commitments, msg)
    R = compute_group_commitment(commitments, rho)
    return R + G.scalar_bytes(sum(sig_shares) % G.L)


def verify_signature(group_key: bytes, msg: bytes, signature: bytes) -> bool:
    """An ordinary Ed25519 (RFC 8032) verification with `cryptography`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(group_key).verify(signature, msg)
        return True
    except (InvalidSignature, ValueError):
        return False
