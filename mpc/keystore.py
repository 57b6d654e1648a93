"""Encrypted key store: key shares, TLS private keys and signing keys, encrypted at rest.

A key store is a folder (mode 0700) of entry files `<name>.mpckey` (mode 0600). Each file is
JSON: a header (format, version, name, kind, KDF and its parameters with a per-file random
salt), a passphrase check value, and the AES-256-GCM encryption of the secret with the
header as associated data. The key comes from the passphrase with scrypt (default
N=2^17, r=8, p=1) or PBKDF2-HMAC-SHA256 (at least 600,000 iterations); 64 derived bytes give
the AES key and an HMAC key for the check value, so a wrong passphrase (`WrongPassphrase`)
is told apart from a damaged or tampered file (`KeyStoreCorrupt`). A file or folder that
others may read or write is refused (`UnsafePermissions`). Nothing is ever partly loaded:
a secret is returned only after authenticated decryption of the whole file.

Writes are atomic (temporary file in the same folder, fsync, rename, fsync of the folder).
`rotate` re-encrypts every entry under a new passphrase (all are decrypted first, so a wrong
old passphrase changes nothing); `export_bundle` / `import_bundle` move entries between
hosts in one encrypted file under a separate passphrase.

Security: confidentiality and integrity of each file against anyone without the passphrase
(AES-GCM, 96-bit random nonce per write); offline guessing costs one scrypt per guess. Not
protected: a compromised host that sees the passphrase or the process memory.
References: RFC 7914 (scrypt); NIST SP 800-132 and OWASP 2023 (PBKDF2-SHA256 >= 600,000
iterations); NIST SP 800-38D (GCM).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Iterable

from mpc.errors import KeyStoreCorrupt, ParameterError, UnsafePermissions, WrongPassphrase

FORMAT = "mpc-keystore"
VERSION = 1
SUFFIX = ".mpckey"
SCRYPT_DEFAULT = {"name": "scrypt", "n": 2**17, "r": 8, "p": 1}
PBKDF2_MIN_ITERATIONS = 600_000
_MAX_FILE = 16 << 20
_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode(), validate=True)


def _passphrase(p: str | bytes) -> bytes:
    b = p.encode() if isinstance(p, str) else bytes(p)
    if not b:
        raise ParameterError("an empty passphrase is not allowed for the key store")
    return b


def _check_kdf(kdf: dict) -> dict:
    """Validated KDF parameters (refuses weak ones and ones that would exhaust memory)."""
    name = kdf.get("name")
    if name == "scrypt":
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        if n < 2**14 or n > 2**22 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise ParameterError(f"scrypt parameters n={n}, r={r}, p={p} out of range "
                                 "(n a power of two in [2^14, 2^22], r <= 32, p <= 16)")
        return {"name": name, "n": n, "r": r, "p": p}
    if name == "pbkdf2-sha256":
        it = int(kdf["iterations"])
        if not PBKDF2_MIN_ITERATIONS <= it <= 100_000_000:
            raise ParameterError(f"PBKDF2-SHA256 needs >= {PBKDF2_MIN_ITERATIONS} iterations, got {it}")
        return {"name": name, "iterations": it}
    raise ParameterError(f"unknown key derivation {name!r} (scrypt or pbkdf2-sha256)")


def _derive(passphrase: bytes, kdf: dict, salt: bytes) -> tuple[bytes, bytes]:
    if kdf["name"] == "scrypt":
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        out = Scrypt(salt=salt, length=64, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(passphrase)
    else:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

        out = PBKDF2HMAC(hashes.SHA256(), 64, salt, kdf["iterations"]).derive(passphrase)
    return out[:32], out[32:]


def _header_bytes(header: dict) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _check_value(mac_key: bytes, header: bytes) -> bytes:
    return hmac.new(mac_key, b"mpc-keystore-check-v1" + header, "sha256").digest()


def seal(data: bytes, passphrase: str | bytes, *, name: str, kind: str, kdf: dict | None = None) -> bytes:
    """The file content that stores `data` encrypted under `passphrase`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    params = _check_kdf(dict(kdf or SCRYPT_DEFAULT))
    header = {"format": FORMAT, "version": VERSION, "name": name, "kind": kind,
              "kdf": {**params, "salt": _b64(os.urandom(16))}}
    hb = _header_bytes(header)
    enc_key, mac_key = _derive(_passphrase(passphrase), params, _unb64(header["kdf"]["salt"]))
    nonce = os.urandom(12)
    body = AESGCM(enc_key).encrypt(nonce, bytes(data), hb)
    return json.dumps({"header": header, "check": _b64(_check_value(mac_key, hb)), "nonce": _b64(nonce),
                       "ciphertext": _b64(body)}, indent=1).encode() + b"\n"


def unseal(blob: bytes, passphrase: str | bytes, where: str = "key-store file") -> tuple[dict, bytes]:
    """(header, secret) from file content; raises `WrongPassphrase` or `KeyStoreCorrupt`."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        doc = json.loads(blob)
        header = doc["header"]
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise KeyStoreCorrupt(f"{where} is not a {FORMAT} v{VERSION} file")
        params = _check_kdf(header["kdf"])
        salt, check = _unb64(header["kdf"]["salt"]), _unb64(doc["check"])
        nonce, body = _unb64(doc["nonce"]), _unb64(doc["ciphertext"])
        if len(salt) < 16 or len(nonce) != 12 or len(check) != 32:
            raise KeyStoreCorrupt(f"{where}: salt, nonce or check value has the wrong length")
    except KeyStoreCorrupt:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyStoreCorrupt(f"{where} is truncated or not a key-store file ({type(exc).__name__}); "
                              "restore it from a backup or an exported bundle") from None
    hb = _header_bytes(header)
    enc_key, mac_key = _derive(_passphrase(passphrase), params, salt)
    if not hmac.compare_digest(_check_value(mac_key, hb), check):
        raise WrongPassphrase(f"wrong passphrase for {where} (or its header was altered)")
    try:
        return header, AESGCM(enc_key).decrypt(nonce, body, hb)
    except InvalidTag:
        raise KeyStoreCorrupt(f"{where} was tampered with or damaged (authentication failed); "
                              "restore it from a backup or an exported bundle") from None


def _check_private(path: Path, folder: bool = False) -> None:
    st = path.stat()
    if st.st_mode & 0o077 or st.st_uid != os.getuid():
        want = "700" if folder else "600"
        raise UnsafePermissions(
            f"{path} has permissions {stat.S_IMODE(st.st_mode):03o} (owner uid {st.st_uid}); key-store "
            f"{'folders' if folder else 'files'} must be private to their owner: run chmod {want} {path}")


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` so that a crash leaves the old file or the new one, never a part.

    The file is created with `mode` (default 0600: private keys are never readable by others,
    not even for a moment) under a fresh name (O_EXCL), then renamed over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class KeyStore:
    """A folder of encrypted entries; every method checks permissions before reading."""

    def __init__(self, folder: str | os.PathLike, kdf: dict | None = None):
        self.folder = Path(folder)
        self.kdf = _check_kdf(dict(kdf or SCRYPT_DEFAULT))

    def _path(self, name: str) -> Path:
        if not name or not set(name) <= _NAME_OK or name.startswith("."):
            raise ParameterError(f"key-store entry names use letters, digits, '-', '_', '.': got {name!r}")
        return self.folder / (name + SUFFIX)

    def _ensure_folder(self) -> None:
        if not self.folder.exists():
            self.folder.mkdir(mode=0o700, parents=True)
        _check_private(self.folder, folder=True)

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(SUFFIX)] for p in self.folder.glob("*" + SUFFIX))

    def __contains__(self, name: str) -> bool:
        return self._path(name).exists()

    def put(self, name: str, data: bytes, passphrase: str | bytes, *, kind: str = "secret",
            overwrite: bool = False) -> Path:
        """Store `data` encrypted as entry `name` (atomic write, mode 0600)."""
        self._ensure_folder()
        path = self._path(name)
        if path.exists() and not overwrite:
            raise ParameterError(f"key-store entry {name!r} exists in {self.folder}; pass overwrite=True "
                                 "(CLI: --force) to replace it")
        atomic_write(path, seal(data, passphrase, name=name, kind=kind, kdf=self.kdf))
        return path

    def _read(self, name: str) -> bytes:
        path = self._path(name)
        if not path.exists():
            raise ParameterError(f"no key-store entry {name!r} in {self.folder} (entries: {self.names()})")
        _check_private(self.folder, folder=True)
        _check_private(path)
        if path.stat().st_size > _MAX_FILE:
            raise KeyStoreCorrupt(f"{path} is larger than any key-store file ({_MAX_FILE} bytes)")
        return path.read_bytes()

    def get(self, name: str, passphrase: str | bytes) -> bytes:
        """The secret of entry `name` (whole and authenticated, or an error)."""
        header, data = unseal(self._read(name), passphrase, str(self._path(name)))
        if header["name"] != name:
            raise KeyStoreCorrupt(f"{self._path(name)} holds entry {header['name']!r}, not {name!r} "
                                  "(a file was renamed or swapped)")
        return data

    def kind(self, name: str) -> str:
        """The entry's kind from its (unauthenticated until `get`) header."""
        try:
            return str(json.loads(self._read(name))["header"]["kind"])
        except (ValueError, KeyError, TypeError):
            raise KeyStoreCorrupt(f"{self._path(name)} is truncated or not a key-store file") from None

    def rotate(self, old: str | bytes, new: str | bytes, names: Iterable[str] | None = None) -> list[str]:
        """Re-encrypt entries under `new`; all are decrypted with `old` before anything is written."""
        names = list(self.names() if names is None else names)
        plain = {n: (self.kind(n), self.get(n, old)) for n in names}
        sealed = {n: seal(d, new, name=n, kind=k, kdf=self.kdf) for n, (k, d) in plain.items()}
        for n, blob in sealed.items():
            atomic_write(self._path(n), blob)
        return names

    def export_bundle(self, path: str | os.PathLike, passphrase: str | bytes, bundle_passphrase: str | bytes,
                      names: Iterable[str] | None = None) -> list[str]:
        """Write the entries (all by default) into one encrypted bundle file (mode 0600)."""
        names = list(self.names() if names is None else names)
        entries = {n: {"kind": self.kind(n), "data": _b64(self.get(n, passphrase))} for n in names}
        blob = seal(json.dumps({"entries": entries}).encode(), bundle_passphrase, name="bundle",
                    kind="bundle", kdf=self.kdf)
        atomic_write(Path(path), blob)
        return names

    def import_bundle(self, path: str | os.PathLike, bundle_passphrase: str | bytes, passphrase: str | bytes,
                      overwrite: bool = False) -> list[str]:
        """Store every entry of a bundle under `passphrase`; nothing is written if any check fails."""
        path = Path(path)
        _check_private(path)
        header, data = unseal(path.read_bytes(), bundle_passphrase, str(path))
        if header["kind"] != "bundle":
            raise KeyStoreCorrupt(f"{path} is a key-store entry, not an exported bundle")
        try:
            entries = {n: (e["kind"], _unb64(e["data"])) for n, e in json.loads(data)["entries"].items()}
        except (ValueError, KeyError, TypeError):
            raise KeyStoreCorrupt(f"{path}: the bundle's content is malformed") from None
        for n in entries:
            if n in self and not overwrite:
                raise ParameterError(f"key-store entry {n!r} exists in {self.folder}; nothing imported "
                                     "(pass overwrite=True / --force to replace)")
        for n, (kind, secret) in entries.items():
            self.put(n, secret, passphrase, kind=kind, overwrite=overwrite)
        return sorted(entries)


PASSPHRASE_ENV = "MPC_KEYSTORE_PASSPHRASE"


def env_passphrase(what: str) -> str:
    """The key-store passphrase from $MPC_KEYSTORE_PASSPHRASE (for clients and services without a config)."""
    text = os.environ.get(PASSPHRASE_ENV, "")
    if not text:
        raise ParameterError(f"{what} is an encrypted key-store entry: set ${PASSPHRASE_ENV} to its key-store "
                             "passphrase")
    return text


def is_entry(path: str | os.PathLike) -> bool:
    """Whether a key path names an encrypted key-store entry (`<folder>/<name>.mpckey`)."""
    return str(path).endswith(SUFFIX)


def read_private_key(path: str | os.PathLike, passphrase=None, what: str = "private key") -> bytes:
    """A private key's bytes: a key-store entry (`<folder>/<name>.mpckey`, decrypted and
    authenticated whole with `passphrase`, a string or a function returning one) or, for any
    other path, the plain file as it is (PEM files written 0600 by `mpc certs init`)."""
    path = Path(path)
    if is_entry(path):
        if passphrase is None:
            raise ParameterError(f"{what} {path} is an encrypted key-store entry and no passphrase source is "
                                 "configured")
        pw = passphrase() if callable(passphrase) else passphrase
        return KeyStore(path.parent).get(path.name[: -len(SUFFIX)], pw)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ParameterError(f"cannot read {what} {path}: {exc.strerror}") from None
