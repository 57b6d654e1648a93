"""The ledger, the policy and the grants, without the network (the two-phase path: test_budget_reservations)."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.budget import grants as g
from dp.budget.ledger import Ledger
from dp.errors import (BudgetExceeded, DPParameterError, GrantExpired, GrantForged, GrantMismatch, GrantReused,
                       LedgerError, NoBudget)
from mpc.cli import main as cli_main

JOB = hashlib.sha256(b"job spec").hexdigest()
DAY = 86400.0
T0 = 1_700_000_000.0 - (1_700_000_000.0 % DAY) + 3600.0  # 01:00 UTC on some day


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def led(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite", create=True) as ledger:
        yield ledger


def spend(led, key, principal, dataset, eps, delta=0.0, *, now, thresholds=(0.75, 0.9)):
    """Reserve, redeem and commit the whole grant: what a job whose outputs were all released leaves."""
    signed = led.grant(principal, dataset, eps, delta, JOB, "sum/v1", key=key, now=now)
    led.redeem(signed, g.public_bytes(key), job_hash=JOB, dataset=dataset, job_id="job-1", now=now)
    gid = g.GrantBody.from_bytes(signed.body).grant_id
    return led.commit(gid, job_hash=JOB, epsilon=eps, delta=delta, output="sum", thresholds=thresholds, now=now)


def test_hierarchy_every_level_must_pay(led, key):
    led.set_budget("acme", "*", 1.0, now=T0)
    led.set_budget("acme/trial", "ds", 10.0, now=T0)
    led.set_budget("acme/trial/alice", "ds", 10.0, now=T0)
    led.grant("acme/trial/alice", "ds", 0.6, 0.0, JOB, "sum/v1", key=key, now=T0)
    with pytest.raises(BudgetExceeded, match=r"acme on every dataset has epsilon 0.4 of 1 remaining") as exc:
        led.grant("acme/trial/bob", "other", 0.5, 0.0, JOB, "sum/v1", key=key, now=T0)
    assert exc.value.remaining == pytest.approx(0.4) and exc.value.scope == "acme"
    led.grant("acme/trial/bob", "other", 0.4, 0.0, JOB, "sum/v1", key=key, now=T0)
    with pytest.raises(NoBudget):
        led.grant("globex/x/y", "ds", 0.1, 0.0, JOB, "sum/v1", key=key, now=T0)
    kinds = [r["kind"] for r in led.rows()]
    assert kinds.count("reserve") == 2 and kinds.count("refusal") == 2
    assert led.verify().ok


def test_period_limit_resets_at_utc_midnight(led, key):
    led.set_budget("acme", "ds", 5.0, period="daily", period_limit=1.0, now=T0)
    spend(led, key, "acme/p/a", "ds", 0.7, now=T0)
    with pytest.raises(BudgetExceeded, match="this daily period"):
        led.grant("acme/p/a", "ds", 0.5, 0.0, JOB, "p", key=key, now=T0 + 3600)
    spend(led, key, "acme/p/a", "ds", 0.9, now=T0 + DAY)  # next day
    [lv] = led.status("acme/p/a", "ds", now=T0 + DAY)
    assert lv.total_spent == pytest.approx(1.6) and lv.period_spent == pytest.approx(0.9)
    assert led.verify().ok


def test_delta_limit(led, key):
    led.set_budget("acme", "ds", 5.0, delta_total=1e-5, now=T0)
    led.grant("acme", "ds", 0.1, 6e-6, JOB, "p", key=key, now=T0)
    with pytest.raises(BudgetExceeded, match="delta"):
        led.grant("acme", "ds", 0.1, 6e-6, JOB, "p", key=key, now=T0)


def test_alerts_written_to_ledger(led, key):
    led.set_budget("acme", "ds", 1.0, now=T0)
    a1 = spend(led, key, "acme", "ds", 0.5, now=T0).alerts
    a2 = spend(led, key, "acme", "ds", 0.45, now=T0).alerts
    assert a1 == [] and [a.threshold for a in a2] == [0.75, 0.9]
    alerts = [r for r in led.rows() if r["kind"] == "alert"]
    assert len(alerts) == 2 and "passed 90%" in alerts[1]["detail"]


def test_grant_verify_and_redeem_once(led, key):
    pub = g.public_bytes(key)
    led.set_budget("acme", "ds", 2.0, delta_total=1e-4, now=T0)
    signed = led.grant("acme/p/a", "ds", 0.5, 1e-6, JOB, "sum/v1", key=key, ttl=60, now=T0)
    body = g.verify(signed, pub, job_hash=JOB, dataset="ds", epsilon=0.5, delta=1e-6, now=T0 + 1)
    assert body.principal == "acme/p/a" and body.expires_at == T0 + 60
    with pytest.raises(GrantExpired):
        g.verify(signed, pub, job_hash=JOB, dataset="ds", epsilon=0.5, now=T0 + 60)
    with pytest.raises(GrantMismatch, match="job"):
        g.verify(signed, pub, job_hash=hashlib.sha256(b"other").hexdigest(), dataset="ds", epsilon=0.5, now=T0)
    with pytest.raises(GrantMismatch, match="dataset"):
        g.verify(signed, pub, job_hash=JOB, dataset="other", epsilon=0.5, now=T0)
    with pytest.raises(GrantMismatch, match="needs epsilon"):
        g.verify(signed, pub, job_hash=JOB, dataset="ds", epsilon=0.6, now=T0)
    forged_body = g.SignedGrant(signed.body.replace(b'"epsilon":0.5', b'"epsilon":5.0'), signed.signature)
    with pytest.raises(GrantForged):
        g.verify(forged_body, pub, job_hash=JOB, dataset="ds", epsilon=0.5, now=T0)
    with pytest.raises(GrantForged):
        g.verify(signed, g.public_bytes(Ed25519PrivateKey.generate()), job_hash=JOB, dataset="ds", epsilon=0.5,
                 now=T0)
    own = g.sign(Ed25519PrivateKey.generate(), g.GrantBody.from_bytes(signed.body))
    with pytest.raises(GrantForged):
        g.verify(own, pub, job_hash=JOB, dataset="ds", epsilon=0.5, now=T0)
    seq, _ = led.redeem(signed, pub, job_hash=JOB, dataset="ds", now=T0 + 2)
    assert led.rows()[seq - 1]["kind"] == "redeem"
    with pytest.raises(GrantReused):
        led.redeem(signed, pub, job_hash=JOB, dataset="ds", now=T0 + 3)
    with pytest.raises(GrantExpired):
        led.redeem(led.grant("acme/p/a", "ds", 0.1, 0, JOB, "p", key=key, ttl=5, now=T0), pub, job_hash=JOB,
                   dataset="ds", now=T0 + 10)
    assert led.verify().ok


def test_grant_roundtrip_json_and_malformed():
    key = Ed25519PrivateKey.generate()
    body = g.GrantBody("id", "a", "ds", 1.0, 0.0, JOB, "p", 1.0, 2.0, "k")
    signed = g.sign(key, body)
    assert g.SignedGrant.from_json(signed.to_json()) == signed
    with pytest.raises(g.GrantInvalid):
        g.SignedGrant.from_json("{}")
    with pytest.raises(GrantForged):
        g.verify(g.SignedGrant(signed.body, b"x" * 10), g.public_bytes(key), job_hash=JOB, dataset="ds", epsilon=1)
    with pytest.raises(g.GrantInvalid):
        g.verify(g.SignedGrant(b"z" * 5000, signed.signature), g.public_bytes(key), job_hash=JOB, dataset="ds",
                 epsilon=1)


@pytest.mark.parametrize("kwargs", [dict(principal="a/b/c/d"), dict(principal="bad name"), dict(dataset="*"),
                                    dict(epsilon=0.0), dict(epsilon=float("nan")), dict(delta=1.0),
                                    dict(job_hash="xyz"), dict(ttl=0)])
def test_grant_input_validation(led, key, kwargs):
    led.set_budget("acme", "*", 5.0, now=T0)
    args = dict(principal="acme/p/a", dataset="ds", epsilon=0.1, delta=0.0, job_hash=JOB, protocol="p")
    ttl = kwargs.pop("ttl", 60)
    args.update(kwargs)
    with pytest.raises(DPParameterError):
        led.grant(args["principal"], args["dataset"], args["epsilon"], args["delta"], args["job_hash"],
                  args["protocol"], key=key, ttl=ttl, now=T0)
    assert led.rows()[-1]["kind"] == "budget"  # nothing was written


def test_verify_names_the_tampered_row(tmp_path, key):
    path = tmp_path / "l.sqlite"
    with Ledger(path, create=True) as led:
        led.set_budget("acme", "ds", 10.0, now=T0)
        for i in range(6):
            led.grant("acme/p/a", "ds", 0.25, 0.0, JOB, "p", key=key, now=T0 + i)
        assert led.verify().ok
    raw = sqlite3.connect(path)
    raw.execute("UPDATE ledger SET epsilon = 0.01 WHERE seq = 4")
    raw.commit()
    with Ledger(path) as led:
        res = led.verify()
    assert not res.ok and res.first_bad_seq == 4 and "contents" in res.reason
    # re-hashing the edited row moves the break to the next link, still pointing at the edit
    from dp.budget.ledger import row_hash
    raw.row_factory = sqlite3.Row
    row = dict(raw.execute("SELECT * FROM ledger WHERE seq = 4").fetchone())
    raw.execute("UPDATE ledger SET hash = ? WHERE seq = 4", (row_hash(row["prev_hash"], row),))
    raw.commit()
    with Ledger(path) as led:
        res = led.verify()
    assert res.first_bad_seq == 5 and "previous-hash" in res.reason
    raw.execute("DELETE FROM ledger WHERE seq = 4 OR seq = 5")
    raw.commit()
    with Ledger(path) as led:
        res = led.verify()
    assert res.first_bad_seq == 4 and "missing" in res.reason


def test_verify_detects_budget_table_edits(tmp_path, key):
    path = tmp_path / "l.sqlite"
    with Ledger(path, create=True) as led:
        led.set_budget("acme", "ds", 1.0, now=T0)
        spend(led, key, "acme", "ds", 0.5, now=T0)
    raw = sqlite3.connect(path)
    raw.execute("UPDATE budgets SET total_spent = 0.0, total_limit = 100.0")
    raw.commit()
    with Ledger(path) as led:
        res = led.verify()
    assert not res.ok and res.first_bad_seq is None
    assert any("total_limit" in m for m in res.budget_mismatches)
    assert any("total_spent" in m for m in res.budget_mismatches)


def test_ledger_file_errors(tmp_path):
    with pytest.raises(LedgerError, match="does not exist"):
        Ledger(tmp_path / "missing.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError):
        Ledger(bad)


def test_cli_init_set_verify_report(tmp_path, capsys):
    db, keyf = str(tmp_path / "l.sqlite"), str(tmp_path / "k.pem")
    assert cli_main(["budget", "init", "--db", db, "--key", keyf]) == 0
    pub = capsys.readouterr().out.split()[-1]
    assert cli_main(["budget", "pubkey", "--key", keyf]) == 0
    assert capsys.readouterr().out.strip() == pub
    assert cli_main(["budget", "set", "--db", db, "--scope", "acme/p", "--dataset", "ds", "--total", "2",
                     "--period", "daily", "--period-limit", "1"]) == 0
    key = g.load_or_create_key(keyf)
    with Ledger(db) as led:
        spend(led, key, "acme/p/alice", "ds", 0.8, now=None)       # reserve, redeem, commit, alert (80% of 1)
    assert cli_main(["budget", "verify", "--db", db]) == 0
    assert "ledger OK: 5 rows" in capsys.readouterr().out
    for fmt in ("md", "json", "html"):
        out = tmp_path / f"r.{fmt}"
        assert cli_main(["budget", "report", "--db", db, "--format", fmt, "--out", str(out)]) == 0
        text = out.read_text()
        assert "acme/p/alice" in text and "sum/v1" in text and "Art. 30" in text and "164.514" in text
    raw = sqlite3.connect(db)
    raw.execute("UPDATE ledger SET principal = 'acme/p/mallory' WHERE seq = 3")
    raw.commit()
    capsys.readouterr()
    assert cli_main(["budget", "verify", "--db", db]) == 1
    assert "first tampered row is seq 3" in capsys.readouterr().out
    assert cli_main(["budget", "report", "--db", db, "--format", "md"]) == 0
    assert "FAIL" in capsys.readouterr().out
    assert cli_main(["budget", "set", "--db", db, "--scope", "a b", "--dataset", "ds", "--total", "1"]) == 2
