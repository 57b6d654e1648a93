"""Signed ledger heads: the budget service's statement "my ledger's hash chain had head H after N rows".

What it holds: the head body (canonical JSON: head, key id, rows, service time, version), its
Ed25519 signature by the service's grant-signing key, verification against the service public
key a node pins in its configuration, and `HeadSource`, the node's (or client's) way to fetch
a verified head from the service (`GetLedgerHead`) over mutual TLS.

The nodes co-sign a head with a threshold key (`mpc keys cosign`, protocol `cosign_head`) only
after each of them has fetched this statement for the same row count and found the same head,
so a co-signed head means: t+1 nodes each saw the service sign it.

Security: Ed25519 (RFC 8032) from `cryptography`; the signature covers the domain-separation
prefix "mpc-budget-head-v1\\n" and the exact body bytes. Grants are signed over
"mpc-dp-grant-v1\\0" || body: neither prefix is a prefix of the other, so a head statement can
never be taken for a grant or the reverse. Heads and row counts are compared in constant time.
The service is trusted to state only its own ledger's head (it recomputes the chain before it
signs: `Ledger.head_after`); a signed head says what the ledger file held, not that its rows
are true. Someone who controls the service's host and key can sign any head.
References: RFC 8032 (EdDSA) section 5.1.
Cost: one gRPC round trip to the service; the service recomputes the rows appended since the
last head it stated (one SHA-256 per row, one row in memory at a time).
"""

from __future__ import annotations

import hmac
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dp.budget import grants as g
from dp.errors import DPParameterError, LedgerHeadInvalid

HEAD_VERSION = 1
DOMAIN = b"mpc-budget-head-v1\n"
MAX_BODY_BYTES = 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class HeadBody:
    """The ledger had hash-chain head `head` after `rows` rows, at service time `time`."""

    head: str
    rows: int
    time: float
    key_id: str
    version: int = HEAD_VERSION

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): the exact bytes that are signed."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> "HeadBody":
        try:
            obj = json.loads(body)
            if not isinstance(obj, dict) or set(obj) != set(cls.__dataclass_fields__):
                raise ValueError(f"fields {sorted(obj) if isinstance(obj, dict) else type(obj).__name__}")
            head = cls(**obj)
            if not (isinstance(head.head, str) and _HEX64.fullmatch(head.head)):
                raise ValueError("head is not 64 lowercase hex characters")
            if isinstance(head.rows, bool) or not isinstance(head.rows, int) or head.rows < 0:
                raise ValueError("rows is not a non-negative integer")
            if not isinstance(head.time, (int, float)) or not isinstance(head.key_id, str):
                raise ValueError("time or key_id has the wrong type")
        except (ValueError, TypeError) as exc:
            raise LedgerHeadInvalid(f"ledger-head body is not a version-{HEAD_VERSION} head statement: {exc}") from None
        if head.version != HEAD_VERSION:
            raise LedgerHeadInvalid(f"ledger-head version {head.version} is not supported (expected {HEAD_VERSION})")
        return head


@dataclass(frozen=True)
class SignedHead:
    """The body bytes exactly as signed, and the signature."""

    body: bytes
    signature: bytes

    def to_json(self) -> str:
        return json.dumps({"body": self.body.decode(), "signature": self.signature.hex()})

    @classmethod
    def from_json(cls, text: str) -> "SignedHead":
        try:
            obj = json.loads(text)
            return cls(obj["body"].encode(), bytes.fromhex(obj["signature"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LedgerHeadInvalid(f"not a signed ledger head: {exc}") from None


def sign_head(key: Ed25519PrivateKey, head: str, rows: int, *, now: float | None = None) -> SignedHead:
    """The service's signed statement of `head` after `rows` rows."""
    body = HeadBody(head, int(rows), float(time.time() if now is None else now), g.key_id(g.public_bytes(key)))
    raw = body.to_bytes()
    HeadBody.from_bytes(raw)  # never sign what a verifier would refuse
    return SignedHead(raw, key.sign(DOMAIN + raw))


def verify_head(signed: SignedHead, public_key: Ed25519PublicKey | str | bytes, *,
                rows: int | None = None) -> HeadBody:
    """The body if the signature verifies under `public_key` (and, if given, it states `rows` rows).

    Raises LedgerHeadInvalid naming what is wrong.
    """
    if not isinstance(public_key, Ed25519PublicKey):
        public_key = g.load_public_key(public_key)
    if not isinstance(signed.body, bytes) or not 0 < len(signed.body) <= MAX_BODY_BYTES:
        raise LedgerHeadInvalid(f"ledger-head body must be 1..{MAX_BODY_BYTES} bytes")
    if not isinstance(signed.signature, bytes) or len(signed.signature) != g.SIGNATURE_BYTES:
        raise LedgerHeadInvalid(f"ledger-head signature must be {g.SIGNATURE_BYTES} bytes")
    try:
        public_key.verify(signed.signature, DOMAIN + signed.body)
    except InvalidSignature:
        raise LedgerHeadInvalid("the ledger-head signature does not verify under the budget service's public "
                                "key; check the public_key pinned in [budget] against `mpc budget pubkey`") from None
    body = HeadBody.from_bytes(signed.body)
    if rows is not None and not hmac.compare_digest(str(body.rows).encode(), str(int(rows)).encode()):
        raise LedgerHeadInvalid(f"the budget service stated the head after {body.rows} rows, not after {rows}")
    return body


class HeadSource:
    """Fetches signed ledger heads from one budget service and verifies them with a pinned key.

    Cheap to build (no file or network access until `signed_head` is called); every call opens
    and closes its own connection, so a job that does not ask costs nothing.
    """

    def __init__(self, address: str, *, public_key: Path | str | bytes | Ed25519PublicKey, tls=None,
                 insecure: bool = False, server_name: str | None = None, timeout: float = 10.0):
        self.address = address
        self._public_key = public_key
        self._tls = tls              # dp.budget.service.TlsFiles (paths) or mpc.net.tls.TlsFiles (PEM bytes)
        self._insecure = insecure
        self._server_name = server_name
        self._timeout = timeout

    @classmethod
    def for_node(cls, config, tls=None) -> "HeadSource | None":
        """From a node's config ([budget]) and the TLS material it runs with (`mpc.net.tls.TlsFiles`,
        None for --insecure); None without [budget]."""
        b = getattr(config, "budget", None)
        if b is None:
            return None
        return cls(b.address, public_key=Path(b.public_key), tls=tls, insecure=tls is None, server_name=b.server_name)

    def public_key(self) -> Ed25519PublicKey:
        """The pinned key: a file holding it in hex (`mpc budget pubkey`), hex, raw bytes or a key object."""
        pk = self._public_key
        if isinstance(pk, Ed25519PublicKey):
            return pk
        if isinstance(pk, Path):
            try:
                pk = pk.read_text()
            except OSError as exc:
                raise DPParameterError(f"cannot read the budget service's public key {self._public_key}: "
                                       f"{exc.strerror}") from None
        try:
            return g.load_public_key(pk)
        except ValueError as exc:
            raise DPParameterError(f"the budget service's public key {self._public_key!s:.80} is not an Ed25519 key in "
                                   f"hex (write it with `mpc budget pubkey`): {exc}") from None

    def signed_head(self, rows: int = 0) -> tuple[HeadBody, SignedHead]:
        """The service's signed head after `rows` rows (0: current), verified under the pinned key."""
        from dp.budget.client import BudgetClient

        key = self.public_key()
        with BudgetClient(self.address, tls=self._tls, insecure=self._insecure, server_name=self._server_name,
                          timeout=self._timeout) as client:
            signed = client.ledger_head(rows)
        body = verify_head(signed, key, rows=rows or None)
        return body, signed
