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
