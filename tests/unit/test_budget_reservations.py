"""The two-phase budget path in the ledger, without the network: reserve, redeem, commit, release,
expire; verification of the replay and against a saved head; schema migration; the report."""

from __future__ import annotations

import hashlib
import json
import shlex
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dp.budget import grants as g
from dp.budget.ledger import DEFAULT_HOLD, GENESIS, Ledger, row_hash
from dp.compliance import build_report, render
from dp.errors import BudgetExceeded, GrantExpired, GrantMismatch, GrantRefused, GrantReused, LedgerError
from mpc.cli import main as cli_main

JOB = hashlib.sha256(b"job spec").hexdigest()
OTHER = hashlib.sha256(b"another job").hexdigest()
T0 = 1_700_000_000.0


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


@pytest.fixture
def led(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite", create=True) as ledger:
        ledger.set_budget("acme", "ds", 2.0, delta_total=1e-4, now=T0)
        yield ledger


def _reserve(led, key, eps=1.0, delta=1e-6, *, ttl=600, now=T0, redeem=True, holder="party-0"):
    signed = led.grant("acme/p/alice", "ds", eps, delta, JOB, "mean/v1", key=key, ttl=ttl, now=now)
    if redeem:
        led.redeem(signed, g.public_bytes(key), job_hash=JOB, dataset="ds", job_id="job-7", holder=holder,
                   now=now + 1)
    return g.GrantBody.from_bytes(signed.body).grant_id


def _level(led, now=T0 + 2):
    [lv] = led.status("acme/p/alice", "ds", now=now)
    return lv


def _kinds(led):
    return [r["kind"] for r in led.rows()]


def test_a_reservation_charges_nothing_until_committed_and_holds_against_the_limit(led, key):
    gid = _reserve(led, key, 1.5)
    lv = _level(led)
    assert lv.total_spent == 0 and lv.total_reserved == 1.5 and lv.delta_reserved == 1e-6
    with pytest.raises(BudgetExceeded, match=r"0.5 of 2 remaining \(1.5 held by open reservations\)"):
        led.grant("acme/p/bob", "ds", 0.6, 0.0, JOB, "sum/v1", key=key, now=T0 + 2)
    r = led.commit(gid, job_hash=JOB, epsilon=0.75, delta=5e-7, output="sum", now=T0 + 3)
    assert r.seq and not r.closed and (r.committed_epsilon, r.committed_delta) == (0.75, 5e-7)
    lv = _level(led, T0 + 3)
    assert (lv.total_spent, lv.total_reserved, lv.delta_spent) == (0.75, 0.75, 5e-7)
    again = led.commit(gid, job_hash=JOB, epsilon=0.75, delta=5e-7, output="sum", now=T0 + 4)   # a retry
    assert again.seq == 0 and _level(led, T0 + 4).total_spent == 0.75
    done = led.commit(gid, job_hash=JOB, epsilon=1.5, delta=1e-6, output="count", now=T0 + 5)
    assert done.closed and _level(led, T0 + 5).total_spent == 1.5 and _level(led, T0 + 5).total_reserved == 0
    assert led.release(gid, job_hash=JOB, reason="job done", now=T0 + 6).seq == 0      # nothing left to refund
    assert _kinds(led) == ["budget", "reserve", "redeem", "refusal", "commit", "commit", "alert"]   # 75% of 2
    assert led.verify().ok


def test_release_refunds_what_no_output_used_and_closes_the_grant(led, key):
    gid = _reserve(led, key, 1.0)
    led.commit(gid, job_hash=JOB, epsilon=0.5, delta=5e-7, output="sum", now=T0 + 2)
    r = led.release(gid, job_hash=JOB, reason="job failed: party 1 is down", job_id="job-7", now=T0 + 3)
    assert (r.refunded_epsilon, r.refunded_delta, r.state) == (0.5, 5e-7, "released")
    lv = _level(led, T0 + 4)
    assert lv.total_spent == 0.5 and lv.total_reserved == 0
    with pytest.raises(GrantReused, match="released"):      # no output may open on it any more
        led.commit(gid, job_hash=JOB, epsilon=1.0, delta=1e-6, now=T0 + 5)
    assert led.release(gid, job_hash=JOB, now=T0 + 6).seq == 0                        # idempotent
    rows = led.rows()
    assert [r["kind"] for r in rows] == ["budget", "reserve", "redeem", "commit", "release"]
    assert json.loads(rows[-1]["detail"])["reason"] == "job failed: party 1 is down"
    assert led.verify().ok


def test_a_released_grant_cannot_be_redeemed_for_another_run(led, key):
    signed = led.grant("acme/p/alice", "ds", 1.0, 0.0, JOB, "sum/v1", key=key, now=T0)
    gid = g.GrantBody.from_bytes(signed.body).grant_id
    led.release(gid, job_hash=JOB, reason="not submitted", now=T0 + 1)   # the client could not submit
    with pytest.raises(GrantReused, match="released"):
        led.redeem(signed, g.public_bytes(key), job_hash=JOB, dataset="ds", now=T0 + 2)
    signed = led.grant("acme/p/alice", "ds", 1.0, 0.0, JOB, "sum/v1", key=key, now=T0 + 3)
    led.redeem(signed, g.public_bytes(key), job_hash=JOB, dataset="ds", now=T0 + 4)
    with pytest.raises(GrantReused, match="already used"):
        led.redeem(signed, g.public_bytes(key), job_hash=JOB, dataset="ds", now=T0 + 5)
    assert _level(led, T0 + 6).total_spent == 0


def test_commits_are_checked(led, key):
    unredeemed = _reserve(led, key, 0.5, 0.0, redeem=False)
    with pytest.raises(GrantMismatch, match="not redeemed"):
        led.commit(unredeemed, job_hash=JOB, epsilon=0.5, delta=0.0, now=T0 + 2)
    gid = _reserve(led, key, 0.5, 0.0)
    with pytest.raises(GrantMismatch, match="exceeds it"):
        led.commit(gid, job_hash=JOB, epsilon=0.6, delta=0.0, now=T0 + 2)
    with pytest.raises(GrantMismatch, match="is for job"):
        led.commit(gid, job_hash=OTHER, epsilon=0.1, delta=0.0, now=T0 + 2)

    def only_party_1(res):
        if res["holder"] != "party-1":
            raise GrantRefused(f"held by {res['holder']}")

    with pytest.raises(GrantRefused, match="held by party-0"):
        led.commit(gid, job_hash=JOB, epsilon=0.1, delta=0.0, check=only_party_1, now=T0 + 2)
    assert _level(led, T0 + 3).total_spent == 0 and "commit" not in _kinds(led)
    assert led.verify().ok


def test_an_unclaimed_reservation_expires_with_its_grant_lazily(led, key):
    _reserve(led, key, 1.5, redeem=False, ttl=5)
    assert _level(led, T0 + 4).total_reserved == 1.5
    assert _level(led, T0 + 5).total_reserved == 0          # reads ignore it from its expiry on ...
    assert "expire" not in _kinds(led)                      # ... the next write records it
    led.grant("acme/p/alice", "ds", 2.0, 0.0, JOB, "sum/v1", key=key, now=T0 + 10)   # fits only without it
    expire = [r for r in led.rows() if r["kind"] == "expire"]
    assert len(expire) == 1 and expire[0]["epsilon"] == 1.5 and expire[0]["ts"] == T0 + 10
    assert led.verify().ok


def test_a_claimed_reservation_expires_after_its_hold_and_keeps_what_was_committed(led, key):
    gid = _reserve(led, key, 1.0)       # redeemed at T0 + 1: held until T0 + 1 + DEFAULT_HOLD
    led.commit(gid, job_hash=JOB, epsilon=0.25, delta=0.0, now=T0 + 100)    # a commit extends the hold
    end = T0 + 100 + DEFAULT_HOLD
    assert _level(led, end - 1).total_reserved == 0.75
    with pytest.raises(GrantExpired, match="expired"):      # the node crashed; a late commit opens nothing
        led.commit(gid, job_hash=JOB, epsilon=1.0, delta=1e-6, now=end)
    lv = _level(led, end + 1)
    assert lv.total_spent == 0.25 and lv.total_reserved == 0
    expire = [r for r in led.rows() if r["kind"] == "expire"]
    assert len(expire) == 1 and expire[0]["epsilon"] == 0.75 and expire[0]["grant_id"] == gid
    assert led.verify().ok


def test_verify_replays_reservations(tmp_path, key):
    path = tmp_path / "l.sqlite"
    with Ledger(path, create=True) as led:
        led.set_budget("acme", "ds", 2.0, now=T0)
        gid = _reserve(led, key, 1.0, 0.0)
        led.commit(gid, job_hash=JOB, epsilon=0.5, delta=0.0, now=T0 + 2)
        assert led.verify().ok
    raw = sqlite3.connect(path)
    raw.execute("UPDATE reservations SET committed_epsilon = 0.0, state = 'released'")
    raw.commit()
    with Ledger(path) as led:
        res = led.verify()
    assert not res.ok and res.first_bad_seq is None
    assert any("committed_epsilon=0.0" in m for m in res.budget_mismatches)
    assert any("state='released'" in m for m in res.budget_mismatches)
    raw.execute("DELETE FROM reservations")
    raw.commit()
    with Ledger(path) as led:
        assert any("deleted from the reservations table" in m for m in led.verify().budget_mismatches)


def _ledger_with_rows(path, key, n=4):
    with Ledger(path, create=True) as led:
        led.set_budget("acme", "ds", 10.0, now=T0)
        for i in range(n - 1):
            led.grant("acme/p/a", "ds", 0.1, 0.0, JOB, "p", key=key, now=T0 + i)
        return led.verify()


def test_verify_against_a_saved_head_detects_a_deleted_last_row(tmp_path, key):
    path = tmp_path / "l.sqlite"
    saved = _ledger_with_rows(path, key)
    with Ledger(path) as led:
        assert led.verify((saved.rows, saved.head)).ok
        assert led.verify((2, led.rows()[1]["hash"])).ok          # an older saved head is still on the chain
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM ledger WHERE seq = 4")
    raw.execute("DELETE FROM reservations WHERE expires_at = ?", (T0 + 2 + 600,))
    raw.execute("UPDATE budgets SET total_reserved = 0.1 + 0.1")      # a careful forger fixes the tables too
    raw.commit()
    with Ledger(path) as led:
        assert led.verify().ok                                    # without the saved head it looks fine
        res = led.verify((saved.rows, saved.head))
    assert not res.ok and "taken after 4 rows but the ledger holds only 3" in res.summary()


def test_verify_against_a_saved_head_detects_a_recomputed_chain(tmp_path, key):
    path = tmp_path / "l.sqlite"
    saved = _ledger_with_rows(path, key)
    raw = sqlite3.connect(path)
    raw.row_factory = sqlite3.Row
    raw.execute("UPDATE ledger SET ts = ts + 1 WHERE seq = 2")   # an edit, then the chain recomputed after it
    prev = GENESIS
    for r in [dict(x) for x in raw.execute("SELECT * FROM ledger ORDER BY seq")]:
        h = row_hash(prev, {**r, "prev_hash": prev})
        raw.execute("UPDATE ledger SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r["seq"]))
        prev = h
    raw.commit()
    with Ledger(path) as led:
        assert led.verify().ok
        res = led.verify((saved.rows, saved.head))
    assert not res.ok and "no longer lead to the saved head" in res.head_mismatch


def test_cli_verify_with_head_and_rows(tmp_path, key, capsys):
    path = tmp_path / "l.sqlite"
    saved = _ledger_with_rows(path, key)
    args = ["budget", "verify", "--db", str(path)]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert f"--head {saved.head} --rows 4" in out
    assert cli_main(args + ["--head", saved.head, "--rows", "4"]) == 0
    assert "matches the saved head after 4 rows" in capsys.readouterr().out
    assert cli_main(args + ["--head", saved.head]) == 2                 # both or neither
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM ledger WHERE seq = 4")
    raw.commit()
    assert cli_main(args + ["--head", saved.head, "--rows", "4"]) == 1
    assert "rows 4..4 were deleted" in capsys.readouterr().out


SCHEMA_1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE budgets(
  id INTEGER PRIMARY KEY, scope TEXT NOT NULL, dataset TEXT NOT NULL,
  total_limit REAL NOT NULL, delta_limit REAL NOT NULL, period TEXT NOT NULL, period_limit REAL NOT NULL,
  total_spent REAL NOT NULL DEFAULT 0, delta_spent REAL NOT NULL DEFAULT 0,
  period_start INTEGER NOT NULL DEFAULT 0, period_spent REAL NOT NULL DEFAULT 0, UNIQUE(scope, dataset));
CREATE TABLE ledger(
  seq INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL,
  dataset TEXT NOT NULL, epsilon REAL NOT NULL, delta REAL NOT NULL, job_hash TEXT NOT NULL,
  protocol TEXT NOT NULL, grant_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX ledger_grant ON ledger(grant_id);
CREATE UNIQUE INDEX ledger_one_redeem ON ledger(grant_id) WHERE kind = 'redeem';
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO budgets(scope, dataset, total_limit, delta_limit, period, period_limit, total_spent)
  VALUES ('acme', 'ds', 2.0, 0.0, 'none', 0.0, 0.5);
"""


def test_schema_1_ledger_is_refused_until_migrated(tmp_path, key, capsys):
    path = tmp_path / "old.sqlite"
    raw = sqlite3.connect(path)           # a ledger as the previous version wrote it: a budget, a charged grant
    raw.executescript(SCHEMA_1)
    prev = GENESIS
    for row in ({"seq": 1, "ts": T0, "kind": "budget", "principal": "acme", "dataset": "ds", "epsilon": 2.0,
                 "delta": 0.0, "job_hash": "", "protocol": "", "grant_id": "",
                 "detail": '{"period":"none","period_limit":0.0}'},
                {"seq": 2, "ts": T0 + 1, "kind": "grant", "principal": "acme/p/a", "dataset": "ds", "epsilon": 0.5,
                 "delta": 0.0, "job_hash": JOB, "protocol": "sum/v1", "grant_id": "ab" * 16,
                 "detail": '{"expires_at":1700000601.0}'}):
        row["prev_hash"] = prev
        prev = row_hash(prev, row)
        raw.execute("INSERT INTO ledger VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (*row.values(), prev))
    raw.commit()
    with pytest.raises(LedgerError, match=f"mpc budget migrate --db {path}"):
        Ledger(path)
    assert cli_main(["budget", "migrate", "--db", str(path)]) == 0
    assert "schema 2" in capsys.readouterr().out
    with Ledger(path) as led:
        assert led.verify().ok and [r["kind"] for r in led.rows()] == ["budget", "grant", "migrate"]
        assert _level(led).total_spent == 0.5             # the old grant stays charged
        _reserve(led, key, 1.5, 0.0, now=T0 + 10)
        with pytest.raises(BudgetExceeded, match="0 of 2 remaining"):
            _reserve(led, key, 0.1, 0.0, now=T0 + 10)


def test_report_tells_a_release_from_a_refund(tmp_path, key):
    path = tmp_path / "l.sqlite"
    with Ledger(path, create=True) as led:
        led.set_budget("acme", "ds", 5.0, now=T0)
        done = _reserve(led, key, 1.0, 0.0)
        led.commit(done, job_hash=JOB, epsilon=0.5, delta=0.0, output="sum", job_id="job-7", now=T0 + 2)
        led.commit(done, job_hash=JOB, epsilon=1.0, delta=0.0, output="count", job_id="job-7", now=T0 + 3)
        failed = _reserve(led, key, 1.0, 0.0, now=T0 + 4)
        led.release(failed, job_hash=JOB, reason="job failed", job_id="job-8", now=T0 + 6)
        half = _reserve(led, key, 1.0, 0.0, now=T0 + 7)
        led.commit(half, job_hash=JOB, epsilon=0.5, delta=0.0, output="sum", now=T0 + 8)
        led.release(half, job_hash=JOB, reason="job failed", now=T0 + 9)
        _reserve(led, key, 1.0, 0.0, now=T0 + 10, redeem=False, ttl=1)
        led.set_budget("acme", "ds", 5.0, now=T0 + 20)                  # a write: records the expiry
    report = build_report(path)
    jobs = {j["grant_id"]: j for j in report["jobs"]}
    assert jobs[done]["outcome"] == "charged: outputs released" and jobs[done]["outputs"] == "sum, count"
    assert jobs[done]["charged"] == 1.0 and jobs[done]["job_id"] == "job-7" and jobs[done]["job_hash"] == JOB[:16]
    assert jobs[failed]["outcome"] == "refunded (released): no output released" and jobs[failed]["charged"] == 0
    assert jobs[half]["outcome"] == "partly charged, rest refunded (released)" and jobs[half]["refunded"] == 0.5
    assert [j["outcome"] for j in report["jobs"]][-1] == "refunded (expired): no output released"
    [spent] = report["spending"]
    assert (spent["reservations"], spent["charged"], spent["refunded"]) == (4, 1.5, 2.5)
    assert report["budgets"][0]["total_spent"] == 1.5 and report["verification"]["ok"]
    for fmt in ("md", "html"):
        text = render(report, fmt)
        assert done in text and "job-7" in text and "refunded (expired)" in text


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_budget_commands_admit_the_readme_dp_job(tmp_path, monkeypatch, capsys):
    """The README's DP section, as written: its `mpc budget init/set` lines make budgets under which its
    `mpc run mean ... --epsilon 1 --delta 1e-6` job gets a grant on each dataset (the nodes' distributed
    noise needs delta > 0, and the nodes name datasets party-<id>/<dataset>)."""
    text = README.read_text()
    section = text[text.index("## Differential privacy and the privacy budget"):]
    block = section[section.index("```bash") + 7:section.index("```", section.index("```bash") + 7)]
    lines = block.replace("\\\n", " ").splitlines()
    monkeypatch.chdir(tmp_path)
    for line in lines:
        cmd = line.split("#")[0].strip()
        if cmd.startswith(("mpc budget init", "mpc budget set")):
            assert cli_main(shlex.split(cmd)[1:]) == 0, cmd
    run = next(shlex.split(line) for line in lines if line.startswith("mpc run mean"))
    eps, delta = float(run[run.index("--epsilon") + 1]), float(run[run.index("--delta") + 1])
    inputs = [run[i + 1].split("=") for i, a in enumerate(run) if a == "--input"]
    key = g.load_or_create_key("service.key")
    with Ledger("ledger.sqlite") as led:
        for party, dataset in inputs:
            led.grant("acme/trial/analyst", f"party-{party}/{dataset}", eps, delta, JOB, "mean/v1", key=key)
    out = capsys.readouterr().out
    assert "delta 1e-05" in out and "note:" not in out


def test_cli_set_explains_delta_zero_and_dataset_names(tmp_path, capsys):
    db = str(tmp_path / "l.sqlite")
    Ledger(db, create=True).close()
    assert cli_main(["budget", "set", "--db", db, "--scope", "acme", "--dataset", "patients", "--total", "1",
                     "--delta", "0"]) == 0
    out = capsys.readouterr().out
    assert "pure-DP jobs only" in out and "party-0/patients" in out


def test_cli_default_hold_is_the_ledgers():
    from mpc.cli import budget

    assert budget.DEFAULT_HOLD == DEFAULT_HOLD
