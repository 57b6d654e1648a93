"""Certificates for mutual TLS between nodes and clients: creation and identity checks.

Identity is the roster entry: a node named `party-<id>` presents a certificate whose common
name and DNS SAN are `party-<id>`, signed by the roster's CA, with both server and client
authentication usages; a client named `client-<name>` has a client-only certificate. A node
pins each peer's certificate to the one its roster lists (SHA-256 of the DER), so a valid
certificate of the right CA under another name, or a client certificate, is refused as a peer.
Development certificates are valid for ten years, so they do not silently expire mid-project.
Keys are ECDSA P-256 (supported by every gRPC TLS stack), made by the `cryptography` package.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mpc.errors import ParameterError

VALIDITY_DAYS = 3650


def party_name(party_id: int) -> str:
    """The TLS identity (CN and DNS SAN) of roster entry `party_id`."""
    return f"party-{int(party_id)}"


def client_name(name: str) -> str:
    return f"client-{name}"


#: the TLS identity (CN and DNS SAN) of the privacy-budget service's server certificate
BUDGET_SERVICE_NAME = "budget-service"


def principal_name(identity: "Identity") -> str | None:
    """The analyst name a client certificate stands for (`client-<name>` -> `<name>`); None for others."""
    if identity.is_node or not identity.name.startswith("client-") or len(identity.name) == 7:
        return None
    return identity.name[7:]


@dataclass(frozen=True)
class Identity:
    """What a presented certificate says: its name, whether it may act as a node, its pin."""

    name: str
    is_node: bool
    fingerprint: bytes  # SHA-256 of the DER certificate

    @property
    def party_id(self) -> int | None:
        if self.is_node and self.name.startswith("party-") and self.name[6:].isdigit():
            return int(self.name[6:])
        return None


def fingerprint(cert_pem: bytes) -> bytes:
    """SHA-256 of a PEM certificate's DER encoding (the pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def identity_of(cert_pem: bytes) -> Identity:
    """The identity a PEM certificate claims (CN; node = has the serverAuth usage)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise ParameterError(f"not a PEM certificate: {exc}") from None
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(cns[0].value) if cns else ""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        is_node = ExtendedKeyUsageOID.SERVER_AUTH in usages
    except x509.ExtensionNotFound:
        is_node = False
    der = cert.public_bytes(serialization.Encoding.DER)
    return Identity(name=name, is_node=is_node, fingerprint=hashlib.sha256(der).digest())


def same_pin(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two certificate pins."""
    return hmac.compare_digest(a, b)


# ------------------------------------------------------------------ creation

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(org: str = "mpc roster") -> tuple[bytes, bytes]:
    """A self-signed CA: (certificate PEM, key PEM)."""
    key = _key()
    now = _dt.datetime.now(_dt.timezone.utc)
    name = _name(f"{org} CA", org)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(int.from_bytes(os.urandom(16), "big") >> 1)
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def issue(ca_cert_pem: bytes, ca_key_pem: bytes, cn: str, *, node: bool,
          org: str = "mpc roster") -> tuple[bytes, bytes]:
    """A leaf certificate for `cn` signed by the CA: (certificate PEM, key PEM).

    `node=True` gives server and client usages (a party node); `node=False` client only.
    """
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    key = _key()
    now = _dt.datetime.now(_dt.timezone.utc)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if node else [])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org)).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(int.from_bytes(os.urandom(16), "big") >> 1)
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def _write_pairs(out: Path, files: dict[str, bytes]) -> None:
    """Write certificates (0644) and keys (`*.key`, created 0600: never readable by others, not even
    for a moment), each atomically; refuses before writing anything if one of them exists."""
    from mpc.keystore import atomic_write

    taken = [name for name in files if (out / name).exists()]
    if taken:
        raise ParameterError(f"{out} already holds {', '.join(taken)}; choose another name or folder "
                             f"(nothing was written)")
    for name, data in files.items():
        atomic_write(out / name, data, mode=0o600 if name.endswith(".key") else 0o644)


def init_certs(out: Path, parties: int, *, dealer: bool = False, budget: bool = False,
               clients: tuple[str, ...] = ("analyst",)) -> dict[str, Path]:
    """Write ca.pem/ca.key, party-<i>.pem/.key (and the dealer's, id `parties`), client-<c>.pem/.key,
    and with `budget` the budget service's server certificate budget-service.pem/.key."""
    if parties < 1:
        raise ParameterError(f"--parties must be at least 1, got {parties}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "ca.key").exists():
        raise ParameterError(f"{out} already holds a CA (ca.key); choose an empty folder, or add clients to it "
                             f"with `mpc certs add-client --ca-dir {out} --name NAME`")
    for c in clients:
        _check_client_name(c)
    ca_pem, ca_key = make_ca()
    files = {"ca.pem": ca_pem, "ca.key": ca_key}
    names = [party_name(i) for i in range(parties + (1 if dealer else 0))] + ([BUDGET_SERVICE_NAME] if budget else [])
    for cn in names:
        files[f"{cn}.pem"], files[f"{cn}.key"] = issue(ca_pem, ca_key, cn, node=True)
    for c in clients:
        cn = client_name(c)
        files[f"{cn}.pem"], files[f"{cn}.key"] = issue(ca_pem, ca_key, cn, node=False)
    _write_pairs(out, files)
    return {"ca": out / "ca.pem", **{n[:-4]: out / n for n in files if n.endswith(".pem") and n != "ca.pem"}}


def _check_client_name(name: str) -> None:
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_." for ch in name) or name[0] == ".":
        raise ParameterError(f"client name {name!r}: use 1-64 letters, digits, '-', '_' or '.' (not first)")


def add_clients(ca_dir: Path, names: tuple[str, ...], *, out: Path | None = None,
                ca_key: Path | None = None, passphrase=None) -> dict[str, Path]:
    """Issue client certificates client-<name>.pem/.key from an existing CA (ca_dir/ca.pem and its key,
    ca_dir/ca.key unless `ca_key` names another file or an encrypted `.mpckey` entry), into `out`
    (default ca_dir). Refuses names whose files exist."""
    from mpc.keystore import read_private_key

    ca_dir = Path(ca_dir)
    out = Path(out) if out is not None else ca_dir
    if not names:
        raise ParameterError("name at least one client (--name NAME)")
    for n in names:
        _check_client_name(n)
    try:
        ca_pem = (ca_dir / "ca.pem").read_bytes()
    except OSError as exc:
        raise ParameterError(f"cannot read the CA certificate {ca_dir / 'ca.pem'}: {exc.strerror}") from None
    key_pem = read_private_key(ca_key or ca_dir / "ca.key", passphrase, "CA key")
    try:
        ca_cert = x509.load_pem_x509_certificate(ca_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{ca_dir}: ca.pem or the CA key is not a PEM certificate / unencrypted PEM key: "
                             f"{exc}") from None
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            ca_cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo):
        raise ParameterError(f"the CA key does not belong to {ca_dir / 'ca.pem'}")
    org = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    org = str(org[0].value) if org else "mpc roster"
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for n in names:
        cn = client_name(n)
        files[f"{cn}.pem"], files[f"{cn}.key"] = issue(ca_pem, key_pem, cn, node=False, org=org)
    _write_pairs(out, files)
    return {n[:-4]: out / n for n in files if n.endswith(".pem")}


# ------------------------------------------------------------------ gRPC credentials

@dataclass(frozen=True)
class TlsFiles:
    """The PEM bytes a node or client needs: the roster's CA, its own certificate and key."""

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def load(cls, ca: Path, cert: Path, key: Path, passphrase=None) -> "TlsFiles":
        """Read the three files; `key` may be an encrypted key-store entry (`<name>.mpckey`),
        unlocked with `passphrase` (a string or a function returning one; `mpc.keystore`)."""
        from mpc.keystore import read_private_key

        try:
            ca_pem, cert_pem = Path(ca).read_bytes(), Path(cert).read_bytes()
        except OSError as exc:
            raise ParameterError(f"cannot read a TLS file: {exc}") from None
        return cls(ca_pem, cert_pem, read_private_key(key, passphrase, "TLS private key"))


def server_credentials(files: TlsFiles):
    """Server credentials that require a client certificate signed by the roster's CA."""
    import grpc

    return grpc.ssl_server_credentials([(files.key, files.cert)], root_certificates=files.ca,
                                       require_client_auth=True)


def channel_credentials(files: TlsFiles):
    """Channel credentials presenting our certificate and trusting only the roster's CA."""
    import grpc

    return grpc.ssl_channel_credentials(root_certificates=files.ca, private_key=files.key,
                                        certificate_chain=files.cert)


def presented_certificate(context) -> bytes | None:
    """The PEM certificate the TLS peer of a gRPC call presented (None on a plain-text channel)."""
    auth = context.auth_context() or {}
    pems = auth.get("x509_pem_cert") or []
    return pems[0] if pems else None
