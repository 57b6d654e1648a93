"""The issue's CLI flow in separate processes: `mpc keys dkg --local 3`, then sign, verify,
encrypt and decrypt, each a fresh `python -m mpc` process reading the encrypted key store."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

pytestmark = pytest.mark.integration


def _mpc(*args, env):
    return subprocess.run([sys.executable, "-m", "mpc", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_dkg_sign_verify_encrypt_decrypt_in_processes(tmp_path):
    env = {**os.environ, "MPC_KEYSTORE_PASSPHRASE": "integration pass"}
    keys = tmp_path / "DIR"
    r = _mpc("keys", "dkg", "--local", "3", "--threshold", "1", "--out", str(keys), env=env)
    assert r.returncode == 0, r.stderr
    r = _mpc("keys", "sign", "--keys", str(keys), "--signers", "0,2", "--message", "68656c6c6f", env=env)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(fields["group public key"])).verify(
        bytes.fromhex(fields["signature"]), b"hello")
    r = _mpc("keys", "verify", "--keys", str(keys), "--message", "68656c6c6f", "--signature", fields["signature"],
             env=env)
    assert r.returncode == 0 and r.stdout.strip() == "valid"
    ct = _mpc("keys", "encrypt", "--keys", str(keys), "--message", "c0ffee", env=env).stdout.strip()
    r = _mpc("keys", "decrypt", "--keys", str(keys), "--decryptors", "0,1", "--ciphertext", ct, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "c0ffee"
    os.chmod(keys / "party1.mpckey", 0o644)
    r = _mpc("keys", "sign", "--keys", str(keys), "--signers", "0,1", "--message", "00", env=env)
    assert r.returncode == 2 and "chmod 600" in r.stderr and "Traceback" not in r.stderr
