"""`mpc keys ...` end to end in one process: dkg, sign, verify, encrypt, decrypt, rotate, bundles."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mpc.cli import build_parser, main


@pytest.fixture
def keydir(tmp_path, monkeypatch):
    monkeypatch.setenv("MPC_KEYSTORE_PASSPHRASE", "cli test pass")
    out = tmp_path / "keys"
    assert main(["keys", "dkg", "--local", "3", "--threshold", "1", "--out", str(out)]) == 0
    return out


def _lines(capsys):
    return dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)


def test_dkg_then_sign_prints_key_and_rfc8032_signature(keydir, capsys):
    capsys.readouterr()
    assert main(["keys", "sign", "--keys", str(keydir), "--signers", "0,2", "--message", "74657374"]) == 0
    out = _lines(capsys)
    key = bytes.fromhex(out["group public key"])
    sig = bytes.fromhex(out["signature"])
    assert len(key) == 32 and len(sig) == 64
    Ed25519PublicKey.from_public_bytes(key).verify(sig, b"test")  # raises if invalid
    assert json.loads((keydir / "public.json").read_text())["group_public_key"] == key.hex()
    assert main(["keys", "verify", "--keys", str(keydir), "--message", "74657374", "--signature", sig.hex()]) == 0
    assert main(["keys", "verify", "--keys", str(keydir), "--message", "74657375", "--signature", sig.hex()]) == 1


def test_encrypt_then_threshold_decrypt(keydir, capsys):
    capsys.readouterr()
    assert main(["keys", "encrypt", "--keys", str(keydir), "--message", "00ff10"]) == 0
    ct = capsys.readouterr().out.strip()
    assert main(["keys", "decrypt", "--keys", str(keydir), "--decryptors", "1,2", "--ciphertext", ct]) == 0
    assert capsys.readouterr().out.strip() == "00ff10"


def test_errors_are_one_clear_line(keydir, capsys, monkeypatch):
    capsys.readouterr()
    assert main(["keys", "sign", "--keys", str(keydir), "--signers", "1", "--message", "00"]) == 2
    assert "t+1 = 2" in capsys.readouterr().err
    monkeypatch.setenv("MPC_KEYSTORE_PASSPHRASE", "not it")
    assert main(["keys", "sign", "--keys", str(keydir), "--signers", "0,1", "--message", "00"]) == 2
    assert "wrong passphrase" in capsys.readouterr().err
    assert main(["keys", "dkg", "--threshold", "1", "--out", str(keydir / "x")]) == 2
    assert "--local" in capsys.readouterr().err


def test_threshold_help_says_t_plus_1():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["keys"]
    dkg = sub._subparsers._group_actions[0].choices["dkg"]
    text = dkg.format_help()
    assert "any t+1" in text and "collud" in text


def test_rotate_export_import(keydir, tmp_path, capsys):
    new = tmp_path / "new.txt"
    new.write_text("second pass\n")
    bundle_pw = tmp_path / "bundle.txt"
    bundle_pw.write_text("bundle pass\n")
    assert main(["keys", "rotate", "--keys", str(keydir), "--new-passphrase-file", str(new)]) == 0
    assert main(["keys", "sign", "--keys", str(keydir), "--signers", "0,1", "--message", "00"]) == 2  # old pass
    assert main(["keys", "sign", "--keys", str(keydir), "--signers", "0,1", "--message", "00",
                 "--passphrase-file", str(new)]) == 0
    bundle = tmp_path / "b.bundle"
    assert main(["keys", "export", "--keys", str(keydir), "--passphrase-file", str(new), "--bundle", str(bundle),
                 "--bundle-passphrase-file", str(bundle_pw)]) == 0
    other = tmp_path / "other"
    assert main(["keys", "import", "--keys", str(other), "--passphrase-file", str(new), "--bundle", str(bundle),
                 "--bundle-passphrase-file", str(bundle_pw)]) == 0
    assert "3 entries" in capsys.readouterr().out
