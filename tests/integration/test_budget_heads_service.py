"""`GetLedgerHead` over real gRPC on 127.0.0.1 (`mpc budget serve` in a subprocess, plaintext for
this RPC-level test; the mutual-TLS path is tests/integration/test_node_headsig.py): signed heads
for the current and earlier row counts, refusal beyond the ledger, and a tampered chain refused
with LedgerTampered instead of being signed."""

from __future__ import annotations

import sqlite3

import pytest

from dp.budget import grants as g
from dp.budget import heads as h
from dp.budget.client import BudgetClient
from dp.budget.ledger import Ledger
from dp.errors import DPParameterError, LedgerTampered
from test_budget_service import Server

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path):
    db, key = tmp_path / "ledger.sqlite", tmp_path / "service.key"
    heads = {}
    with Ledger(db, create=True) as led:
        for i in range(5):
            led.set_budget(f"org{i}", "*", 1.0)
            heads[i + 1] = led.head()
    signing = g.load_or_create_key(key)
    srv = Server(db, key, "--insecure")
    try:
        yield srv, db, heads, signing.public_key()
    finally:
        srv.stop()


def test_signed_heads_over_grpc(service):
    srv, db, heads, public = service
    with BudgetClient(srv.address, insecure=True) as c:
        body = h.verify_head(c.ledger_head(0), public)
        assert (body.rows, body.head) == (5, heads[5])
        for n in (3, 1, 5):
            assert h.verify_head(c.ledger_head(n), c.public_key(), rows=n).head == heads[n]
        with pytest.raises(DPParameterError, match="has 5 rows.*not after 6"):
            c.ledger_head(6)
        with pytest.raises(DPParameterError, match="has 5 rows"):
            c.ledger_head(2**63 - 1)
        with Ledger(db) as led:                    # rows appended later are stated too
            led.set_budget("org9", "*", 1.0)
            new = led.head()
        assert h.verify_head(c.ledger_head(0), public, rows=6).head == new


def test_a_tampered_chain_is_not_signed(service):
    srv, db, heads, public = service
    con = sqlite3.connect(db)
    con.execute("UPDATE ledger SET epsilon = 42 WHERE seq = 3")
    con.commit()
    con.close()
    with BudgetClient(srv.address, insecure=True) as c:
        assert h.verify_head(c.ledger_head(2), public).head == heads[2]
        with pytest.raises(LedgerTampered, match="row 3"):
            c.ledger_head(0)
