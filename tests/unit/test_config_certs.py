"""`mpc certs init`: a CA, node and client certificates with the identities the nodes check."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA

from mpc.cli import main
from mpc.net import tls


def test_certs_init_writes_identities_nodes_check(tmp_path, capsys):
    assert main(["certs", "init", "--parties", "3", "--out", str(tmp_path), "--dealer", "--client", "ann"]) == 0
    for i in range(4):                       # 3 parties + the dealer (id 3)
        ident = tls.identity_of((tmp_path / f"party-{i}.pem").read_bytes())
        assert ident.name == f"party-{i}" and ident.is_node and ident.party_id == i
        assert (tmp_path / f"party-{i}.key").stat().st_mode & 0o077 == 0
    client = tls.identity_of((tmp_path / "client-ann.pem").read_bytes())
    assert client.name == "client-ann" and not client.is_node and client.party_id is None
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((tmp_path / "party-0.pem").read_bytes())
    assert leaf.issuer == ca.subject
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ECDSA(leaf.signature_hash_algorithm))
    assert leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=3000)
    # pins differ between certificates and are compared in constant time
    pins = {tls.fingerprint((tmp_path / f"party-{i}.pem").read_bytes()) for i in range(4)}
    assert len(pins) == 4


def test_certs_init_refuses_a_folder_with_a_ca(tmp_path, capsys):
    assert main(["certs", "init", "--parties", "2", "--out", str(tmp_path)]) == 0
    assert main(["certs", "init", "--parties", "2", "--out", str(tmp_path)]) == 2
    assert "already holds a CA" in capsys.readouterr().err


def test_identity_of_refuses_garbage():
    from mpc.errors import ParameterError

    with pytest.raises(ParameterError, match="not a PEM certificate"):
        tls.identity_of(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def _spy_chmod(monkeypatch):
    """Record every chmod (and do nothing), so a file's mode is the one it was created with."""
    import os
    import pathlib

    calls = []
    monkeypatch.setattr(pathlib.Path, "chmod", lambda self, mode, **kw: calls.append((str(self), mode)))
    monkeypatch.setattr(os, "chmod", lambda path, mode, **kw: calls.append((str(path), mode)))
    monkeypatch.setattr(os, "fchmod", lambda fd, mode: calls.append((fd, mode)))
    return calls


def test_certs_init_creates_keys_private_from_the_start(tmp_path, monkeypatch, capsys):
    import os

    calls = _spy_chmod(monkeypatch)
    old = os.umask(0)                  # a key written 0666 and chmod-ed later would show here
    try:
        assert main(["certs", "init", "--parties", "2", "--dealer", "--budget", "--out", str(tmp_path)]) == 0
    finally:
        os.umask(old)
    keys = sorted(tmp_path.glob("*.key"))
    assert len(keys) == 6 and not calls                     # ca, party-0..2, budget-service, client
    assert {p.name: p.stat().st_mode & 0o777 for p in keys} == {p.name: 0o600 for p in keys}
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in tmp_path.glob("*.pem"))
    assert not list(tmp_path.glob(".*"))                    # no temporary files left


def test_certs_add_client_to_an_existing_ca(tmp_path, capsys):
    assert main(["certs", "init", "--parties", "2", "--out", str(tmp_path)]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["certs", "add-client", "--ca-dir", str(tmp_path), "--name", "bob", "--name", "carol"]) == 0
    out = capsys.readouterr().out
    assert "client-bob" in out and "[[clients]]" in out
    for name in ("bob", "carol"):
        ident = tls.identity_of((tmp_path / f"client-{name}.pem").read_bytes())
        assert ident.name == f"client-{name}" and not ident.is_node
        assert tls.principal_name(ident) == name
        assert (tmp_path / f"client-{name}.key").stat().st_mode & 0o077 == 0
        ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
        leaf = x509.load_pem_x509_certificate((tmp_path / f"client-{name}.pem").read_bytes())
        ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ECDSA(leaf.signature_hash_algorithm))
    assert all((tmp_path / n).read_bytes() == b for n, b in before.items())     # nothing else changed
    # an existing name is refused and nothing is written; so is a folder without the CA's key
    assert main(["certs", "add-client", "--ca-dir", str(tmp_path), "--name", "dave", "--name", "bob"]) == 2
    assert "already holds client-bob.pem" in capsys.readouterr().err
    assert not (tmp_path / "client-dave.pem").exists()
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "ca.pem").write_bytes((tmp_path / "ca.pem").read_bytes())
    assert main(["certs", "add-client", "--ca-dir", str(other), "--name", "erin"]) == 2
    assert "cannot read CA key" in capsys.readouterr().err
    assert main(["certs", "add-client", "--ca-dir", str(other), "--name", "erin",
                 "--ca-key", str(tmp_path / "client-bob.key")]) == 2
    assert "does not belong" in capsys.readouterr().err
    assert main(["certs", "add-client", "--ca-dir", str(tmp_path), "--name", "../x"]) == 2


def test_check_writes_its_temporary_key_private_from_the_start(tmp_path, monkeypatch):
    """`mpc check` hands Python's ssl module the node key as a file: created 0600, never chmod-ed."""
    import os
    import ssl

    from mpc.node.check import _tls_pin
    from mpc.node.localcluster import free_ports

    tls.init_certs(tmp_path, 2)
    files = tls.TlsFiles.load(tmp_path / "ca.pem", tmp_path / "party-0.pem", tmp_path / "party-0.key")
    seen = []
    real = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, keyfile=None, *a, **kw):
        seen.append(os.stat(keyfile).st_mode & 0o777)
        return real(self, certfile, keyfile, *a, **kw)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    calls = _spy_chmod(monkeypatch)
    old = os.umask(0)
    try:
        with pytest.raises(OSError):                       # nobody listens there: we only need the files
            _tls_pin(f"127.0.0.1:{free_ports(1)[0]}", files, 1.0)
    finally:
        os.umask(old)
    assert seen == [0o600] and not calls
