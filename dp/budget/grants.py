"""Signed, single-use budget grants: what a node checks before it opens any output.

What it holds: the grant body (canonical JSON: grant id, principal, dataset, ε, δ, job spec
hash, protocol, issue and expiry times, key id), Ed25519 signing by the budget service and
verification by nodes against the service public key pinned in their configuration.

Security: Ed25519 (RFC 8032) from the `cryptography` package (OpenSSL); the signature covers
the domain-separation prefix "mpc-dp-grant-v1\\0" and the exact body bytes, so a grant cannot be
replayed as anything else. A signature proves the service issued the grant; single use is
enforced by the service's ledger (`Ledger.redeem`), expiry by the verifier's clock. Grant and
job hashes are compared in constant time.
References: RFC 8032 (EdDSA) §5.1.
"""

from __future__ import annotations

import hmac
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dp.errors import DPParameterError, GrantExpired, GrantForged, GrantInvalid, GrantMismatch

GRANT_VERSION = 1
DOMAIN = b"mpc-dp-grant-v1\x00"
MAX_BODY_BYTES = 4096
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class GrantBody:
    """What a grant allows: `epsilon`/`delta` on `dataset` for the job whose spec hashes to `job_hash`."""

    grant_id: str
    principal: str
    dataset: str
    epsilon: float
    delta: float
    job_hash: str  # hex SHA-256 of the job spec
    protocol: str
    issued_at: float
    expires_at: float
    key_id: str
    version: int = GRANT_VERSION

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the exact bytes that are signed."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> "GrantBody":
        try:
            obj = json.loads(body)
            if set(obj) != set(cls.__dataclass_fields__):
                raise ValueError(f"fields {sorted(obj)}")
            grant = cls(**obj)
        except (ValueError, TypeError) as exc:
            raise GrantInvalid(f"grant body is not a version-{GRANT_VERSION} grant: {exc}") from None
        if grant.version != GRANT_VERSION:
            raise GrantInvalid(f"grant version {grant.version} is not supported (expected {GRANT_VERSION})")
        return grant


@dataclass(frozen=True)
class SignedGrant:
    """The body bytes exactly as signed, and the signature."""

    body: bytes
    signature: bytes

    def to_json(self) -> str:
        return json.dumps({"body": self.body.decode(), "signature": self.signature.hex()})

    @classmethod
    def from_json(cls, text: str) -> "SignedGrant":
        try:
            obj = json.loads(text)
            return cls(obj["body"].encode(), bytes.fromhex(obj["signature"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GrantInvalid(f"not a signed grant: {exc}") from None


# ----------------------------------------------------------------- keys

def key_id(public: bytes) -> str:
    """A short identifier of a public key (first 8 bytes of its SHA-256, hex)."""
    import hashlib

    return hashlib.sha256(public).hexdigest()[:16]


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(value: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from 32 raw bytes or 64 hex characters."""
    raw = bytes.fromhex(value.strip()) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise DPParameterError(f"an Ed25519 public key is 32 bytes (64 hex characters), got {len(raw)} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def load_or_create_key(path: str | Path) -> Ed25519PrivateKey:
    """The service signing key stored at `path`, created if missing: a PKCS#8 PEM file (mode
    0600), or, for a path `<folder>/<name>.mpckey`, an entry of an encrypted key store (scrypt +
    AES-256-GCM, `mpc.keystore`) unlocked with $MPC_KEYSTORE_PASSPHRASE."""
    from mpc.keystore import KeyStore, env_passphrase, is_entry, read_private_key

    path = Path(path)
    encrypted = is_entry(path)
    if path.exists():
        pem = read_private_key(path, lambda: env_passphrase(f"the signing key {path}"), "signing key")
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise DPParameterError(f"{path} is not a PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise DPParameterError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if encrypted:
        KeyStore(path.parent).put(path.name[: -len(".mpckey")], pem, env_passphrase(f"the signing key {path}"),
                                  kind="private-key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


# ----------------------------------------------------------------- sign / verify

def sign(key: Ed25519PrivateKey, body: GrantBody) -> SignedGrant:
    raw = body.to_bytes()
    return SignedGrant(raw, key.sign(DOMAIN + raw))


def verify(grant: SignedGrant, public_key: Ed25519PublicKey | str | bytes, *, job_hash: str | bytes,
           dataset: str, epsilon: float, delta: float = 0.0, now: float | None = None) -> GrantBody:
    """The grant's body if it is authentic, unexpired and covers this job, dataset, ε and δ.

    Raises GrantForged (bad signature), GrantExpired, GrantMismatch (other job, dataset, or less
    ε/δ than needed) or GrantInvalid (malformed). Single use is checked by the service.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        public_key = load_public_key(public_key)
    if not isinstance(grant.body, bytes) or not 0 < len(grant.body) <= MAX_BODY_BYTES:
        raise GrantInvalid(f"grant body must be 1..{MAX_BODY_BYTES} bytes")
    if not isinstance(grant.signature, bytes) or len(grant.signature) != SIGNATURE_BYTES:
        raise GrantForged(f"grant signature must be {SIGNATURE_BYTES} bytes")
    try:
        public_key.verify(grant.signature, DOMAIN + grant.body)
    except InvalidSignature:
        raise GrantForged("grant signature does not verify under the budget service's public key; "
                          "request a grant from the configured service") from None
    body = GrantBody.from_bytes(grant.body)
    want = job_hash.hex() if isinstance(job_hash, bytes) else str(job_hash).lower()
    if not hmac.compare_digest(body.job_hash.encode(), want.encode()):
        raise GrantMismatch(f"grant {body.grant_id} is for job {body.job_hash[:16]}..., not {want[:16]}...")
    if body.dataset != dataset:
        raise GrantMismatch(f"grant {body.grant_id} is for dataset {body.dataset!r}, not {dataset!r}")
    if not (math.isfinite(body.epsilon) and body.epsilon >= epsilon) or body.delta < delta:
        raise GrantMismatch(f"grant {body.grant_id} allows epsilon={body.epsilon}, delta={body.delta}; the job "
                            f"needs epsilon={epsilon}, delta={delta}")
    now = time.time() if now is None else now
    if now >= body.expires_at:
        raise GrantExpired(f"grant {body.grant_id} expired at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(body.expires_at))} "
                           f"UTC; request a new grant")
    return body
