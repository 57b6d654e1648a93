"""The privacy ledger: budgets and a hash-chained log of every grant, refusal, redemption and alert.

What it holds: one SQLite file (WAL mode) with the budgets (limits and running totals) and
the ledger rows. Check-and-debit happens in one `BEGIN IMMEDIATE` transaction: the covering
budgets are read, checked, debited and the grant row appended before anyone else may write, so
concurrent requests — from threads or from several server processes on the same file — never
overspend. Every row carries SHA-256(previous hash || canonical JSON of the row): `verify()`
recomputes the chain, names the first row that does not match, and replays the ledger to check
that the stored budget totals and limits agree with it.

Durability: WAL with synchronous=NORMAL survives a killed process (a committed grant is never
lost, a half-written one never appears); `sync="full"` also survives power loss.
Tamper evidence: someone who can rewrite the file can rewrite the whole chain; keep copies of
the head hash (`head()`, printed by `mpc budget verify`) elsewhere to detect that: the budget
service states signed heads (`head_after`, `dp.budget.heads`), which the nodes co-sign with a
threshold key (`mpc keys cosign`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from dp.budget import grants as g
from dp.budget import policy
from dp.errors import (BudgetExceeded, DPParameterError, GrantForged, GrantReused, LedgerError, LedgerTampered,
                       NoBudget)

SCHEMA_VERSION = "1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
GENESIS = "0" * 64
MAX_TTL = 86400
FIELDS = ("seq", "ts", "kind", "principal", "dataset", "epsilon", "delta", "job_hash", "protocol", "grant_id",
          "detail", "prev_hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budgets(
  id INTEGER PRIMARY KEY, scope TEXT NOT NULL, dataset TEXT NOT NULL,
  total_limit REAL NOT NULL, delta_limit REAL NOT NULL, period TEXT NOT NULL, period_limit REAL NOT NULL,
  total_spent REAL NOT NULL DEFAULT 0, delta_spent REAL NOT NULL DEFAULT 0,
  period_start INTEGER NOT NULL DEFAULT 0, period_spent REAL NOT NULL DEFAULT 0,
  UNIQUE(scope, dataset));
CREATE TABLE IF NOT EXISTS ledger(
  seq INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL,
  dataset TEXT NOT NULL, epsilon REAL NOT NULL, delta REAL NOT NULL, job_hash TEXT NOT NULL,
  protocol TEXT NOT NULL, grant_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_grant ON ledger(grant_id);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_redeem ON ledger(grant_id) WHERE kind = 'redeem';
"""


def row_hash(prev_hash: str, row: dict) -> str:
    """SHA-256 over the previous hash and the row's canonical JSON (without its own hash)."""
    payload = json.dumps({k: row[k] for k in FIELDS}, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()


@dataclass
class Alert:
    scope: str
    dataset: str
    threshold: float
    what: str  # "total" or "period"
    spent: float
    limit: float

    def message(self) -> str:
        return (f"budget {self.scope} / {self.dataset}: {self.what} use {self.spent:.6g} of {self.limit:g} "
                f"passed {self.threshold:.0%}")


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    head: str
    first_bad_seq: int | None = None
    reason: str = ""
    budget_mismatches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return f"ledger OK: {self.rows} rows, chain verifies, budgets agree; head {self.head}"
        if self.first_bad_seq is not None:
            return f"ledger TAMPERED: first tampered row is seq {self.first_bad_seq} ({self.reason})"
        return "ledger TAMPERED: " + "; ".join(self.budget_mismatches)


class Ledger:
    """One connection to a ledger file (use one per thread).

    `write_lock`: a lock shared by the connections of one process (the service's threads), taken
    around every write transaction, so that threads queue on it instead of meeting SQLite's busy
    handler, which sleeps for milliseconds; `BEGIN IMMEDIATE` still serialises writers across
    processes.
    """

    def __init__(self, path: str | Path, *, create: bool = False, sync: str = "normal",
                 write_lock: threading.Lock | None = None):
        self.path = Path(path)
        self._write_lock = write_lock
        if not create and not self.path.exists():
            raise LedgerError(f"ledger {self.path} does not exist; create it with `mpc budget init --db {self.path}`")
        if sync not in ("normal", "full"):
            raise DPParameterError(f"sync must be 'normal' or 'full', got {sync!r}")
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=60.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={sync.upper()}")
            if create:
                with self._tx():
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        self._db.execute(statement)
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            got = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a usable ledger: {exc}") from None
        if got is None or got[0] != SCHEMA_VERSION:
            raise LedgerError(f"{self.path} has ledger schema {got[0] if got else 'none'}, expected {SCHEMA_VERSION}")

    def _key_id(self, key) -> str:
        """The signing key's id (cached: deriving the public key costs as much as a query)."""
        if getattr(self, "_kid", (None,))[0] is not key:
            self._kid = (key, g.key_id(g.public_bytes(key)))
        return self._kid[1]

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def _tx(self):
        lock = self._write_lock if self._write_lock is not None else nullcontext()
        with lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _append(self, kind: str, ts: float, *, principal: str = "", dataset: str = "", epsilon: float = 0.0,
                delta: float = 0.0, job_hash: str = "", protocol: str = "", grant_id: str = "",
                detail: dict | None = None) -> int:
        last = self._db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        row = {"seq": (last["seq"] + 1) if last else 1, "ts": float(ts), "kind": kind, "principal": principal,
               "dataset": dataset, "epsilon": float(epsilon), "delta": float(delta), "job_hash": job_hash,
               "protocol": protocol, "grant_id": grant_id,
               "detail": json.dumps(detail, sort_keys=True, separators=(",", ":")) if detail else "",
               "prev_hash": last["hash"] if last else GENESIS}
        row["hash"] = row_hash(row["prev_hash"], row)
        self._db.execute(f"INSERT INTO ledger({','.join(FIELDS)},hash) VALUES ({','.join('?' * (len(FIELDS) + 1))})",
                         [row[k] for k in FIELDS] + [row["hash"]])
        return row["seq"]

    # ----------------------------------------------------------------- administration
    def set_budget(self, scope: str, dataset: str, total: float, *, delta_total: float = 0.0,
                   period: str = "none", period_limit: float = 0.0, now: float | None = None) -> None:
        """Create or change the budget of `scope` on `dataset` ("*" = every dataset); spent totals are kept."""
        policy.check_principal(scope, scope=True)
        policy.check_dataset(dataset, wildcard=True)
        secs = policy.period_seconds(period)
        for v, what in ((total, "total"), (period_limit, "period limit"), (delta_total, "delta total")):
            if not (math.isfinite(v) and v >= 0):
                raise DPParameterError(f"{what} must be a non-negative number, got {v!r}")
        if secs and period_limit <= 0:
            raise DPParameterError(f"a {period} budget needs --period-limit > 0")
        now = time.time() if now is None else now
        with self._tx():
            self._db.execute(
                "INSERT INTO budgets(scope,dataset,total_limit,delta_limit,period,period_limit) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(scope,dataset) DO UPDATE SET total_limit=excluded.total_limit, "
                "delta_limit=excluded.delta_limit, period=excluded.period, period_limit=excluded.period_limit",
                (scope, dataset, float(total), float(delta_total), period, float(period_limit) if secs else 0.0))
            self._append("budget", now, principal=scope, dataset=dataset, epsilon=float(total), delta=float(delta_total),
                          detail={"period": period, "period_limit": float(period_limit) if secs else 0.0})

    def budgets(self) -> list[dict]:
        return [dict(r) for r in self._db.execute("SELECT * FROM budgets ORDER BY scope, dataset")]

    # ----------------------------------------------------------------- check and debit
    def _levels(self, principal: str, dataset: str, now: float) -> list[policy.Level]:
        scopes = policy.scopes_of(principal)
        rows = self._db.execute(
            f"SELECT * FROM budgets WHERE dataset IN (?, '*') AND scope IN ({','.join('?' * len(scopes))}) "
            "ORDER BY length(scope), dataset", [dataset, *scopes]).fetchall()
        levels = []
        for r in rows:
            secs = policy.period_seconds(r["period"])
            same = secs and r["period_start"] == policy.period_start(now, secs)
            levels.append(policy.Level(r["id"], r["scope"], r["dataset"], r["total_limit"], r["delta_limit"],
                                       r["period"], r["period_limit"], r["total_spent"], r["delta_spent"],
                                       r["period_spent"] if same else 0.0))
        return levels

    def status(self, principal: str, dataset: str, now: float | None = None) -> list[policy.Level]:
        """The budgets covering a principal and dataset, with the current period's spending."""
        policy.check_principal(principal)
        policy.check_dataset(dataset)
        return self._levels(principal, dataset, time.time() if now is None else now)

    def grant(self, principal: str, dataset: str, epsilon: float, delta: float, job_hash: str, protocol: str, *,
              key, ttl: int = 600, thresholds: tuple[float, ...] = (0.75, 0.9),
              now: float | None = None) -> tuple[g.SignedGrant, list[Alert]]:
        """Check every covering budget and debit them, append the grant row, return the signed grant.

        Refusals are recorded too (kind "refusal") and raise BudgetExceeded / NoBudget.
        """
        policy.check_principal(principal)
        policy.check_dataset(dataset)
        policy.check_spend(epsilon, delta)
        if not (isinstance(job_hash, str) and _HEX64.fullmatch(job_hash)):
            raise DPParameterError("job hash must be 64 lowercase hex characters (SHA-256 of the job spec)")
        if not isinstance(protocol, str) or len(protocol) > 128:
            raise DPParameterError("protocol name must be at most 128 characters")
        if not 1 <= int(ttl) <= MAX_TTL:
            raise DPParameterError(f"grant lifetime must be 1..{MAX_TTL} seconds, got {ttl}")
        common = dict(principal=principal, dataset=dataset, epsilon=epsilon, delta=delta, job_hash=job_hash,
                      protocol=protocol)
        refusal: Exception | None = None
        alerts: list[Alert] = []
        with self._tx():
            now = time.time() if now is None else now
            levels = self._levels(principal, dataset, now)
            try:
                if not levels:
                    raise NoBudget(f"no budget covers principal {principal!r} on dataset {dataset!r}; an "
                                   f"administrator must create one (mpc budget set)")
                policy.check_levels(levels, epsilon, delta)
            except (BudgetExceeded, NoBudget) as exc:
                refusal = exc
                self._append("refusal", now, detail={"reason": str(exc)}, **common)
            else:
                grant_id = secrets.token_hex(16)
                for lv in levels:
                    secs = policy.period_seconds(lv.period)
                    new_total, new_period = lv.total_spent + epsilon, lv.period_spent + epsilon
                    self._db.execute("UPDATE budgets SET total_spent=?, delta_spent=?, period_start=?, period_spent=? "
                                     "WHERE id=?", (new_total, lv.delta_spent + delta, policy.period_start(now, secs),
                                                    new_period if secs else 0.0, lv.id))
                    for t in policy.crossed(lv.total_spent, new_total, lv.total_limit, thresholds):
                        alerts.append(Alert(lv.scope, lv.dataset, t, "total", new_total, lv.total_limit))
                    if secs:
                        for t in policy.crossed(lv.period_spent, new_period, lv.period_limit, thresholds):
                            alerts.append(Alert(lv.scope, lv.dataset, t, "period", new_period, lv.period_limit))
                body = g.GrantBody(grant_id, principal, dataset, float(epsilon), float(delta), job_hash, protocol,
                                   float(now), float(now) + int(ttl), self._key_id(key))
                signed = g.sign(key, body)
                self._append("grant", now, grant_id=grant_id, detail={"expires_at": body.expires_at}, **common)
                for a in alerts:
                    self._append("alert", now, principal=a.scope, dataset=a.dataset, epsilon=a.spent,
                                 grant_id=grant_id, detail={"threshold": a.threshold, "what": a.what,
                                                            "limit": a.limit, "message": a.message()})
        if refusal is not None:
            raise refusal
        return signed, alerts

    def redeem(self, grant: g.SignedGrant, public_key, *, job_hash: str, dataset: str,
               now: float | None = None) -> tuple[int, g.GrantBody]:
        """Mark a grant used, once: verify it, check it was issued here, append the redeem row."""
        now = time.time() if now is None else now
        body = g.verify(grant, public_key, job_hash=job_hash, dataset=dataset, epsilon=0.0, now=now)
        with self._tx():
            issued = self._db.execute("SELECT 1 FROM ledger WHERE grant_id=? AND kind='grant'",
                                      (body.grant_id,)).fetchone()
            if issued is None:
                raise GrantForged(f"grant {body.grant_id} was not issued by this ledger")
            if self._db.execute("SELECT 1 FROM ledger WHERE grant_id=? AND kind='redeem'",
                                (body.grant_id,)).fetchone():
                raise GrantReused(f"grant {body.grant_id} (job {body.job_hash[:16]}...) was already used; "
                                  f"grants are single-use: request a new one")
            seq = self._append("redeem", now, principal=body.principal, dataset=body.dataset, epsilon=body.epsilon,
                               delta=body.delta, job_hash=body.job_hash, protocol=body.protocol,
                               grant_id=body.grant_id)
        return seq, body

    # ----------------------------------------------------------------- reading and verifying
    def rows(self) -> list[dict]:
        return [dict(r) for r in self._db.execute("SELECT * FROM ledger ORDER BY seq")]

    def head(self) -> str:
        last = self._db.execute("SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        return last["hash"] if last else GENESIS

    def head_after(self, rows: int = 0, *, anchor: tuple[int, str] | None = None) -> tuple[int, str]:
        """(row count, hash-chain head after that many rows); `rows` = 0: the current head.

        The head is not taken on trust from the file: the chain is recomputed from `anchor` (the
        (seq, hash) of a prefix the caller verified earlier; the genesis without one) while the
        rows stream past, one at a time, so a large ledger is never loaded into memory. For a row
        count below the anchor the rows from there up to the anchor are recomputed instead: the
        head is in the verified chain exactly if its successors lead to the anchor's hash.
        Raises DPParameterError for more rows than the ledger holds, LedgerTampered if a row does
        not link to its predecessor or match its hash.
        """
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise DPParameterError(f"rows must be a non-negative integer (0: the current head), got {rows!r}")
        last = self._db.execute("SELECT seq FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
        count = last["seq"] if last else 0
        if rows > count:
            raise DPParameterError(f"the ledger {self.path.name} has {count} rows; a head can be stated after 1.."
                                   f"{count} rows (or 0 for the current head), not after {rows}")
        rows = rows or count
        seq0, hash0 = anchor if anchor is not None and 0 <= anchor[0] <= count else (0, GENESIS)
        if rows == 0:
            return 0, GENESIS
        if rows >= seq0:
            return rows, self._chain(seq0, hash0, rows)
        first = self._db.execute("SELECT hash FROM ledger WHERE seq=?", (rows,)).fetchone()
        if first is None:
            raise LedgerTampered(f"ledger {self.path.name}: row {rows} is missing", seq=rows)
        if self._chain(rows, first["hash"], seq0) != hash0:
            raise LedgerTampered(f"ledger {self.path.name}: rows {rows + 1}..{seq0} no longer lead to the head "
                                 f"verified earlier; run `mpc budget verify`", seq=rows + 1)
        return rows, first["hash"]

    def _chain(self, seq: int, prev: str, upto: int) -> str:
        """Recompute the chain over rows seq+1..upto starting from hash `prev`; its last hash."""
        expect = seq + 1
        for r in self._db.execute("SELECT * FROM ledger WHERE seq > ? AND seq <= ? ORDER BY seq", (seq, upto)):
            if r["seq"] != expect:
                raise LedgerTampered(f"ledger {self.path.name}: row {expect} is missing (next row is {r['seq']})",
                                     seq=expect)
            if r["prev_hash"] != prev or row_hash(prev, r) != r["hash"]:
                raise LedgerTampered(f"ledger {self.path.name}: row {expect} does not match the hash chain; run "
                                     f"`mpc budget verify`", seq=expect)
            prev, expect = r["hash"], expect + 1
        if expect != upto + 1:
            raise LedgerTampered(f"ledger {self.path.name}: row {expect} is missing", seq=expect)
        return prev

    def verify(self) -> VerifyResult:
        """Recompute the hash chain and replay the ledger against the stored budgets."""
        with self._tx():  # a consistent snapshot
            rows = self.rows()
            budgets = self.budgets()
        prev, expect_seq = GENESIS, 1
        for r in rows:
            bad = None
            if r["seq"] != expect_seq:
                bad = (expect_seq, f"row {expect_seq} is missing (next row is {r['seq']})")
            elif r["prev_hash"] != prev:
                bad = (r["seq"], "its previous-hash link does not match the row before it")
            elif row_hash(prev, r) != r["hash"]:
                bad = (r["seq"], "its contents do not match its hash")
            if bad:
                return VerifyResult(False, len(rows), prev, bad[0], bad[1])
            prev, expect_seq = r["hash"], expect_seq + 1
        mismatches = _replay(rows, budgets)
        return VerifyResult(not mismatches, len(rows), prev, None, "", mismatches)


def _replay(rows: list[dict], budgets: list[dict]) -> list[str]:
    """Recompute every budget's limits and totals from the ledger rows; list disagreements."""
    state: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["kind"] == "budget":
            d = json.loads(r["detail"])
            st = state.setdefault((r["principal"], r["dataset"]), {"total_spent": 0.0, "delta_spent": 0.0,
                                                                   "period_start": 0, "period_spent": 0.0})
            st.update(total_limit=r["epsilon"], delta_limit=r["delta"], period=d["period"],
                      period_limit=d["period_limit"])
        elif r["kind"] == "grant":
            for (scope, ds), st in state.items():
                if policy.covers(scope, r["principal"]) and ds in (r["dataset"], "*"):
                    secs = policy.period_seconds(st["period"])
                    start = policy.period_start(r["ts"], secs)
                    base = st["period_spent"] if secs and st["period_start"] == start else 0.0
                    st["total_spent"] += r["epsilon"]
                    st["delta_spent"] += r["delta"]
                    st["period_start"], st["period_spent"] = start, (base + r["epsilon"]) if secs else 0.0
    out = []
    seen = set()
    for b in budgets:
        key = (b["scope"], b["dataset"])
        seen.add(key)
        st = state.get(key)
        if st is None:
            out.append(f"budget {key[0]} / {key[1]} has no creation row in the ledger")
            continue
        for k in ("total_limit", "delta_limit", "period", "period_limit", "total_spent", "delta_spent",
                  "period_start", "period_spent"):
            if b[k] != st[k]:
                out.append(f"budget {key[0]} / {key[1]}: stored {k}={b[k]!r} but the ledger gives {st[k]!r}")
    for key in state.keys() - seen:
        out.append(f"budget {key[0]} / {key[1]} is in the ledger but was deleted from the budgets table")
    return out
