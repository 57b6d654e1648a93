"""`mpc he keygen|info`: the secret context in the encrypted key store, the public context in a file."""

import json

import pytest

pytest.importorskip("tenseal")

from mpc.cli import main  # noqa: E402
from mpc.errors import WrongPassphrase  # noqa: E402
from mpc.he.context import HEContext  # noqa: E402
from mpc.he.keys import load_key_context  # noqa: E402
from mpc.keystore import KeyStore  # noqa: E402


def test_keygen_and_info(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MPC_KEYSTORE_PASSPHRASE", "correct horse")
    monkeypatch.setattr("mpc.keystore.SCRYPT_DEFAULT", {"name": "scrypt", "n": 2 ** 14, "r": 8, "p": 1})
    keys, pub = tmp_path / "ks", tmp_path / "pub.ctx"
    assert main(["he", "keygen", "--keys", str(keys), "--name", "he1", "--depth", "1", "--precision", "16",
                 "--size", "64", "--max-value", "16", "--out", str(pub)]) == 0
    assert "secret context" in capsys.readouterr().out
    assert (keys / "he1.mpckey").stat().st_mode & 0o077 == 0
    ctx = HEContext.from_bytes(pub.read_bytes(), evaluator=True)  # the public file has no secret key
    assert not ctx.is_private and ctx.has_relin
    key = load_key_context(KeyStore(keys), "he1", "correct horse")
    assert key.is_private
    import numpy as np
    v = ctx.encrypt(np.array([0.25, -1.5]))
    assert np.allclose(key.decrypt(key.load_vector(v.serialize()))[:2], [0.25, -1.5], atol=1e-3)
    with pytest.raises(WrongPassphrase):
        load_key_context(KeyStore(keys), "he1", "wrong")
    assert main(["he", "info", "--keys", str(keys), "--name", "he1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["secret_key"] is True and info["scheme"] == "ckks" and info["depth"] >= 1
    assert main(["he", "info", "--context", str(pub), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["secret_key"] is False
    assert main(["he", "info", "--keys", str(keys)]) == 2  # missing --name: one clear error line
    assert "error" in capsys.readouterr().err
