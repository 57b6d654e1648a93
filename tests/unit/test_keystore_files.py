"""Encrypted key store: round trips, and every way a file can be wrong is refused clearly."""

from __future__ import annotations

import json
import os

import pytest

from mpc.errors import KeyStoreCorrupt, ParameterError, UnsafePermissions, WrongPassphrase
from mpc.keystore import KeyStore, seal, unseal

FAST = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}  # the minimum accepted; keeps tests quick
SECRET = b"\x00share-bytes\xff" * 7


@pytest.fixture
def store(tmp_path):
    ks = KeyStore(tmp_path / "keys", kdf=FAST)
    ks.put("party0", SECRET, "correct horse", kind="threshold-share")
    return ks


def test_round_trip_and_modes(store):
    assert store.get("party0", "correct horse") == SECRET
    assert store.kind("party0") == "threshold-share"
    assert store.names() == ["party0"]
    assert os.stat(store.folder).st_mode & 0o777 == 0o700
    assert os.stat(store.folder / "party0.mpckey").st_mode & 0o777 == 0o600
    raw = (store.folder / "party0.mpckey").read_bytes()
    assert SECRET not in raw and b"share-bytes" not in raw
    assert not [p for p in store.folder.iterdir() if p.name.endswith(".tmp")]


def test_salt_and_nonce_are_fresh_per_write(store):
    store.put("party1", SECRET, "correct horse")
    a = json.loads((store.folder / "party0.mpckey").read_bytes())
    b = json.loads((store.folder / "party1.mpckey").read_bytes())
    assert a["header"]["kdf"]["salt"] != b["header"]["kdf"]["salt"] and a["nonce"] != b["nonce"]


def test_wrong_passphrase(store):
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        store.get("party0", "Correct horse")


@pytest.mark.parametrize("field", ["ciphertext", "nonce"])
def test_flipped_byte_in_body_is_tampering(store, field):
    path = store.folder / "party0.mpckey"
    doc = json.loads(path.read_bytes())
    import base64

    raw = bytearray(base64.b64decode(doc[field]))
    raw[len(raw) // 2] ^= 0x01
    doc[field] = base64.b64encode(bytes(raw)).decode()
    path.write_bytes(json.dumps(doc).encode())
    with pytest.raises(KeyStoreCorrupt, match="tampered"):
        store.get("party0", "correct horse")


def test_flipped_header_is_refused(store):
    path = store.folder / "party0.mpckey"
    doc = json.loads(path.read_bytes())
    doc["header"]["kind"] = "tls-key"  # authenticated as associated data and by the check value
    path.write_bytes(json.dumps(doc).encode())
    with pytest.raises((WrongPassphrase, KeyStoreCorrupt)):
        store.get("party0", "correct horse")


def test_any_flipped_raw_byte_is_refused(store):
    path = store.folder / "party0.mpckey"
    raw = path.read_bytes()
    for pos in range(0, len(raw), max(1, len(raw) // 25)):
        bad = bytearray(raw)
        bad[pos] ^= 0x04
        path.write_bytes(bytes(bad))
        try:
            got = store.get("party0", "correct horse")
        except (WrongPassphrase, KeyStoreCorrupt):
            continue
        # a flip that leaves the JSON meaning unchanged (e.g. in indentation) must still give the secret
        assert got == SECRET


@pytest.mark.parametrize("keep", [0, 10, 200, -5])
def test_truncated_file(store, keep):
    path = store.folder / "party0.mpckey"
    raw = path.read_bytes()
    path.write_bytes(raw[:keep] if keep >= 0 else raw[:keep].rstrip())
    with pytest.raises(KeyStoreCorrupt, match="truncated|tampered"):
        store.get("party0", "correct horse")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606, 0o660])
def test_open_file_permissions_are_refused(store, mode):
    path = store.folder / "party0.mpckey"
    os.chmod(path, mode)
    with pytest.raises(UnsafePermissions, match="chmod 600"):
        store.get("party0", "correct horse")


def test_open_folder_permissions_are_refused(store):
    os.chmod(store.folder, 0o755)
    with pytest.raises(UnsafePermissions, match="chmod 700"):
        store.get("party0", "correct horse")


def test_swapped_files_are_detected(store):
    store.put("party1", b"other", "correct horse")
    (store.folder / "party1.mpckey").replace(store.folder / "party2.mpckey")
    with pytest.raises(KeyStoreCorrupt, match="renamed or swapped"):
        store.get("party2", "correct horse")


def test_weak_or_unknown_kdf_is_refused(tmp_path):
    with pytest.raises(ParameterError):
        KeyStore(tmp_path, kdf={"name": "pbkdf2-sha256", "iterations": 100_000})
    with pytest.raises(ParameterError):
        KeyStore(tmp_path, kdf={"name": "scrypt", "n": 2**10, "r": 8, "p": 1})
    with pytest.raises(ParameterError):
        KeyStore(tmp_path, kdf={"name": "md5"})


def test_pbkdf2_entries_round_trip(tmp_path):
    blob = seal(b"k", "pw", name="x", kind="signing-key", kdf={"name": "pbkdf2-sha256", "iterations": 600_000})
    header, data = unseal(blob, "pw")
    assert data == b"k" and header["kdf"]["iterations"] == 600_000
    with pytest.raises(WrongPassphrase):
        unseal(blob, "pw2")


def test_no_overwrite_without_asking(store):
    with pytest.raises(ParameterError, match="exists"):
        store.put("party0", b"x", "correct horse")
    store.put("party0", b"x", "correct horse", overwrite=True)
    assert store.get("party0", "correct horse") == b"x"


def test_empty_passphrase_and_bad_names(store):
    with pytest.raises(ParameterError):
        store.put("p", b"x", "")
    for bad in ("../evil", "a/b", "", ".hidden"):
        with pytest.raises(ParameterError):
            store.put(bad, b"x", "pw")


def test_rotation_all_or_nothing(store):
    store.put("tls", b"tls-private-key", "correct horse", kind="tls-key")
    with pytest.raises(WrongPassphrase):
        store.rotate("wrong", "new pass")
    assert store.get("tls", "correct horse") == b"tls-private-key"  # unchanged
    assert store.rotate("correct horse", "new pass") == ["party0", "tls"]
    assert store.get("party0", "new pass") == SECRET and store.kind("tls") == "tls-key"
    with pytest.raises(WrongPassphrase):
        store.get("party0", "correct horse")


def test_export_import_bundle(store, tmp_path):
    store.put("budget-signing", b"ed25519-seed" * 2, "correct horse", kind="signing-key")
    bundle = tmp_path / "backup.bundle"
    assert store.export_bundle(bundle, "correct horse", "bundle pass") == ["budget-signing", "party0"]
    assert os.stat(bundle).st_mode & 0o777 == 0o600
    other = KeyStore(tmp_path / "other", kdf=FAST)
    with pytest.raises(WrongPassphrase):
        other.import_bundle(bundle, "nope", "p2")
    assert other.names() == []  # nothing partial
    assert other.import_bundle(bundle, "bundle pass", "p2") == ["budget-signing", "party0"]
    assert other.get("party0", "p2") == SECRET and other.kind("budget-signing") == "signing-key"
    with pytest.raises(ParameterError, match="nothing imported"):
        other.import_bundle(bundle, "bundle pass", "p2")
    with pytest.raises(KeyStoreCorrupt):
        other.import_bundle(store.folder / "party0.mpckey", "correct horse", "p2")
