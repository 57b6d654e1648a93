"""Non-interactive zero-knowledge proofs over the Ed25519 group (Fiat-Shamir with SHA-512).

- `prove_dlog` / `verify_dlog`: Schnorr proof of knowledge of x with X = x*B, bound to a
  context (used by the DKG so that a dealer cannot choose its constant term after seeing
  the others': the rogue-key defence of Komlo-Goldberg's FROST key generation).
- `prove_dleq` / `verify_dleq`: Chaum-Pedersen proof that log_B(X) = log_H(Z) (used by
  threshold ElGamal: a partial decryption Z = x_i*C1 is correct for verification share X).

Security: special soundness and honest-verifier zero knowledge, made non-interactive in the
random-oracle model; the challenge hashes the whole statement and the context (job, party),
so a proof cannot be replayed in another job or by another party.
References: Schnorr, J. Cryptology 1991; Chaum-Pedersen, CRYPTO 1992, section 3.2;
Fiat-Shamir, CRYPTO 1986; Komlo-Goldberg, SAC 2020 (FROST), section 5.1 (KeyGen round 1).
Cost: prove = 1-2 group multiplications, verify = 2-4; a proof is 64 bytes (challenge, response).
"""

from __future__ import annotations

import hashlib

from mpc.crypto import group as G
from mpc.errors import ParameterError

PROOF_BYTES = 64


def _challenge(label: bytes, context: bytes, *points: bytes) -> int:
    h = hashlib.sha512()
    for part in (label, context, *points):
        h.update(len(part).to_bytes(4, "little") + part)
    return G.scalar_from_wide(h.digest())


def _pack(e: int, z: int) -> bytes:
    return G.scalar_bytes(e) + G.scalar_bytes(z)


def _unpack(proof: bytes) -> tuple[int, int]:
    if len(proof) != PROOF_BYTES:
        raise ParameterError(f"a proof is {PROOF_BYTES} bytes, got {len(proof)}")
    return G.decode_scalar(proof[:32]), G.decode_scalar(proof[32:])


def prove_dlog(x: int, context: bytes) -> bytes:
    """Proof of knowledge of x for X = x*B."""
    k = G.random_scalar()
    X, R = G.base_mul(x), G.base_mul(k)
    e = _challenge(b"mpc-dlog-v1", context, X, R)
    return _pack(e, (k + e * x) % G.L)


def verify_dlog(X: bytes, proof: bytes, context: bytes) -> bool:
    try:
        e, z = _unpack(proof)
        R = G.sub(G.base_mul(z), G.mul(e, X))  # R = z*B - e*X
    except ParameterError:
        return False
    return _challenge(b"mpc-dlog-v1", context, X, R) == e


def prove_dleq(x: int, H: bytes, context: bytes, X: bytes | None = None, Z: bytes | None = None) -> bytes:
    """Proof that X = x*B and Z = x*H share the discrete log x."""
    X = X if X is not None else G.base_mul(x)
    Z = Z if Z is not None else G.mul(x, H)
    k = G.random_scalar()
    A, C = G.base_mul(k), G.mul(k, H)
    e = _challenge(b"mpc-dleq-v1", context, X, H, Z, A, C)
    return _pack(e, (k + e * x) % G.L)


def verify_dleq(X: bytes, H: bytes, Z: bytes, proof: bytes, context: bytes) -> bool:
    try:
        e, z = _unpack(proof)
        A = G.sub(G.base_mul(z), G.mul(e, X))
        C = G.sub(G.mul(z, H), G.mul(e, Z))
    except ParameterError:
        return False
    return _challenge(b"mpc-dleq-v1", context, X, H, Z, A, C) == e
