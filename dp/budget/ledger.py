"""The privacy ledger: budgets, reservations and a hash-chained log of every step of the budget path.

What it holds: one SQLite file (WAL mode) with the budgets (limits and spent totals), the
reservations (one per grant) and the ledger rows. The budget path is two-phase, one row per step:

* **reserve** (`grant`): the covering budgets are checked against what they have spent *plus*
  what open reservations hold, and the reservation, its "reserve" row and the signed grant are
  made in one `BEGIN IMMEDIATE` transaction, so concurrent requests — from threads or from
  several server processes on the same file — never over-reserve. Nothing is charged yet.
* **redeem**: the node that holds the dataset claims the grant for its job (single use; a
  released or expired reservation cannot be claimed). Nothing is charged.
* **commit**: just before an output opens, the node commits a cumulative (ε, δ) ≤ the
  reservation; the covering budgets are charged the increment ("commit" row). Repeating a
  commit charges nothing more (retries are safe). A commit reaching the whole reservation
  closes it.
* **release**: when the job ends (done, failed, refused, aborted) the node, or the client that
  could not submit, releases the reservation: what was not committed is refunded ("release" row).
* **expire**: a reservation nobody finishes expires — at the grant's expiry if it was never
  redeemed (the client vanished), else `hold` seconds after its last redeem or commit (the node
  crashed) — and its remainder is refunded ("expire" row).

Expiry is applied lazily: every write transaction first closes the reservations whose time has
passed, one "expire" row each, and reads (the budget check, `status`) ignore reservations past
their expiry, so an expired reservation holds nothing even before a write records it. There is
no sweeper thread: a ledger that nobody writes to has nothing that needs recording.

Every row carries SHA-256(previous hash || canonical JSON of the row): `verify()` recomputes the
chain, names the first row that does not match, replays the ledger (`dp.budget.replay`) to check
that the stored budgets and reservations agree with it, and, given a head saved earlier
(`expect=(rows, head)`), detects deleted last rows and rewritten chains.

Durability: WAL with synchronous=NORMAL survives a killed process (a committed row is never
lost, a half-written one never appears); `sync="full"` also survives power loss.
Tamper evidence: someone who can rewrite the file can rewrite the whole chain; keep copies of
the head hash and row count (printed by `mpc budget verify`, checked by `mpc budget verify
--head HEX --rows N`) elsewhere to detect that: the budget service states signed heads
(`head_after`, `dp.budget.heads`), which the nodes co-sign with a threshold key (`mpc keys cosign`).

Schema: version 2 (reservations). A schema-1 file (grants charged when issued) is refused with
the command that migrates it: `mpc budget migrate --db FILE` (`Ledger(path, migrate=True)`), which
keeps every row, adds the reservations table and appends a "migrate" row; its old "grant" rows
stay charged, as they were.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from dp.budget import grants as g
from dp.budget import policy
from dp.budget.chain import FIELDS, GENESIS, ChainMixin, VerifyResult, row_hash
from dp.budget.reservations import DEFAULT_HOLD, Alert, CommitResult, ReleaseResult, ReservationsMixin
from dp.errors import BudgetExceeded, DPError, DPParameterError, LedgerError, NoBudget

__all__ = ["Alert", "CommitResult", "DEFAULT_HOLD", "FIELDS", "GENESIS", "Ledger", "MAX_TTL", "ReleaseResult",
           "SCHEMA_VERSION", "VerifyResult", "row_hash"]

SCHEMA_VERSION = "2"
_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_TTL = 86400

_RESERVATIONS = """
CREATE TABLE IF NOT EXISTS reservations(
  grant_id TEXT PRIMARY KEY, principal TEXT NOT NULL, dataset TEXT NOT NULL, epsilon REAL NOT NULL,
  delta REAL NOT NULL, job_hash TEXT NOT NULL, protocol TEXT NOT NULL,
  committed_epsilon REAL NOT NULL DEFAULT 0, committed_delta REAL NOT NULL DEFAULT 0,
  redeemed INTEGER NOT NULL DEFAULT 0, holder TEXT NOT NULL DEFAULT '', job_id TEXT NOT NULL DEFAULT '',
  expires_at REAL NOT NULL, state TEXT NOT NULL, levels TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reservations_open ON reservations(state, expires_at);
"""
_RESERVED_COLUMNS = ("total_reserved", "delta_reserved")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budgets(
  id INTEGER PRIMARY KEY, scope TEXT NOT NULL, dataset TEXT NOT NULL,
  total_limit REAL NOT NULL, delta_limit REAL NOT NULL, period TEXT NOT NULL, period_limit REAL NOT NULL,
  total_spent REAL NOT NULL DEFAULT 0, delta_spent REAL NOT NULL DEFAULT 0,
  period_start INTEGER NOT NULL DEFAULT 0, period_spent REAL NOT NULL DEFAULT 0,
  total_reserved REAL NOT NULL DEFAULT 0, delta_reserved REAL NOT NULL DEFAULT 0,
  UNIQUE(scope, dataset));
CREATE TABLE IF NOT EXISTS ledger(
  seq INTEGER PRIMARY KEY, ts REAL NOT NULL, kind TEXT NOT NULL, principal TEXT NOT NULL,
  dataset TEXT NOT NULL, epsilon REAL NOT NULL, delta REAL NOT NULL, job_hash TEXT NOT NULL,
  protocol TEXT NOT NULL, grant_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_grant ON ledger(grant_id);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_one_redeem ON ledger(grant_id) WHERE kind = 'redeem';
""" + _RESERVATIONS


class Ledger(ChainMixin, ReservationsMixin):
    """One connection to a ledger file (use one per thread).

    `write_lock`: a lock shared by the connections of one process (the service's threads), taken
    around every write transaction, so that threads queue on it instead of meeting SQLite's busy
    handler, which sleeps for milliseconds; `BEGIN IMMEDIATE` still serialises writers across
    processes. `migrate=True` upgrades a schema-1 file in place (see the module docstring).
    """

    def __init__(self, path: str | Path, *, create: bool = False, sync: str = "normal",
                 write_lock: threading.Lock | None = None, migrate: bool = False):
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
            if got is not None and got[0] == "1" and migrate:
                self._migrate_from_1()
                got = (SCHEMA_VERSION,)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{self.path} is not a usable ledger: {exc}") from None
        if got is not None and got[0] == "1":
            raise LedgerError(f"{self.path} has ledger schema 1 (grants were charged when issued); this version "
                              f"reserves epsilon when a grant is issued and charges it only when an output is "
                              f"released (schema {SCHEMA_VERSION}): run `mpc budget migrate --db {self.path}` once "
                              f"(it keeps every row and appends a 'migrate' row)")
        if got is None or got[0] != SCHEMA_VERSION:
            raise LedgerError(f"{self.path} has ledger schema {got[0] if got else 'none'}, expected {SCHEMA_VERSION}")

    def _migrate_from_1(self) -> None:
        with self._tx():
            for statement in filter(str.strip, _RESERVATIONS.split(";")):
                self._db.execute(statement)
            for column in _RESERVED_COLUMNS:
                self._db.execute(f"ALTER TABLE budgets ADD COLUMN {column} REAL NOT NULL DEFAULT 0")
            self._db.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
            self._append("migrate", time.time(), detail={"from": "1", "to": SCHEMA_VERSION})

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

    @contextmanager
    def _write(self, now: float | None):
        """A write transaction that first records due expiries; yields the transaction's time.

        A refusal (a `DPError`) raised inside is re-raised after the transaction commits, so the
        expiry and refusal rows written before it are kept: every body checks before it writes
        anything else. Any other exception rolls everything back.
        """
        refusal = None
        with self._tx():
            when = time.time() if now is None else float(now)
            self._expire_due(when)
            try:
                yield when
            except DPError as exc:
                refusal = exc
        if refusal is not None:
            raise refusal

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
        if not delta_total < 1:
            raise DPParameterError(f"delta total must be below 1, got {delta_total!r}")
        if secs and period_limit <= 0:
            raise DPParameterError(f"a {period} budget needs --period-limit > 0")
        with self._write(now) as now:
            self._db.execute(
                "INSERT INTO budgets(scope,dataset,total_limit,delta_limit,period,period_limit) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(scope,dataset) DO UPDATE SET total_limit=excluded.total_limit, "
                "delta_limit=excluded.delta_limit, period=excluded.period, period_limit=excluded.period_limit",
                (scope, dataset, float(total), float(delta_total), period, float(period_limit) if secs else 0.0))
            self._append("budget", now, principal=scope, dataset=dataset, epsilon=float(total), delta=float(delta_total),
                          detail={"period": period, "period_limit": float(period_limit) if secs else 0.0})

    def budgets(self) -> list[dict]:
        return [dict(r) for r in self._db.execute("SELECT * FROM budgets ORDER BY scope, dataset")]

    def reservations(self) -> list[dict]:
        """Every reservation (one per grant issued since schema 2), oldest grant id order is not kept."""
        return [dict(r) for r in self._db.execute("SELECT * FROM reservations ORDER BY grant_id")]

    # ----------------------------------------------------------------- levels and what they hold
    def _covering(self, principal: str, dataset: str) -> list[sqlite3.Row]:
        scopes = policy.scopes_of(principal)
        return self._db.execute(
            f"SELECT * FROM budgets WHERE dataset IN (?, '*') AND scope IN ({','.join('?' * len(scopes))}) "
            "ORDER BY length(scope), dataset", [dataset, *scopes]).fetchall()

    def _lapsed(self, now: float) -> dict[tuple[str, str], tuple[float, float]]:
        """What reservations past their expiry but not yet recorded as expired still add to each budget's
        stored reserved totals (empty inside a write transaction, which records expiries first)."""
        out: dict[tuple[str, str], tuple[float, float]] = {}
        for r in self._db.execute("SELECT * FROM reservations WHERE state='open' AND expires_at <= ?", (now,)):
            for scope, ds in json.loads(r["levels"]):
                e, d = out.get((scope, ds), (0.0, 0.0))
                out[(scope, ds)] = (e + r["epsilon"] - r["committed_epsilon"], d + r["delta"] - r["committed_delta"])
        return out

    def held(self, scope: str, dataset: str, now: float | None = None) -> tuple[float, float]:
        """(ε, δ) that open, unexpired reservations hold under the budget of `scope` on `dataset`."""
        r = self._db.execute("SELECT total_reserved, delta_reserved FROM budgets WHERE scope=? AND dataset=?",
                             (scope, dataset)).fetchone()
        if r is None:
            return 0.0, 0.0
        e, d = self._lapsed(time.time() if now is None else now).get((scope, dataset), (0.0, 0.0))
        return max(0.0, r[0] - e), max(0.0, r[1] - d)

    def _levels(self, principal: str, dataset: str, now: float) -> list[policy.Level]:
        levels = []
        lapsed = self._lapsed(now)
        for r in self._covering(principal, dataset):
            secs = policy.period_seconds(r["period"])
            same = secs and r["period_start"] == policy.period_start(now, secs)
            e, d = lapsed.get((r["scope"], r["dataset"]), (0.0, 0.0))
            levels.append(policy.Level(r["id"], r["scope"], r["dataset"], r["total_limit"], r["delta_limit"],
                                       r["period"], r["period_limit"], r["total_spent"], r["delta_spent"],
                                       r["period_spent"] if same else 0.0, max(0.0, r["total_reserved"] - e),
                                       max(0.0, r["delta_reserved"] - d)))
        return levels

    def status(self, principal: str, dataset: str, now: float | None = None) -> list[policy.Level]:
        """The budgets covering a principal and dataset: spent (this period too) and held by reservations."""
        policy.check_principal(principal)
        policy.check_dataset(dataset)
        return self._levels(principal, dataset, time.time() if now is None else now)

    # ----------------------------------------------------------------- reserve
    def grant(self, principal: str, dataset: str, epsilon: float, delta: float, job_hash: str, protocol: str, *,
              key, ttl: int = 600, now: float | None = None) -> g.SignedGrant:
        """Reserve (ε, δ) on every covering budget and return the signed grant (a "reserve" row).

        Refusals are recorded too (kind "refusal") and raise BudgetExceeded / NoBudget. Nothing is
        charged until a node commits (`commit`); an unclaimed reservation expires with the grant.
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
        with self._write(now) as now:
            levels = self._levels(principal, dataset, now)
            try:
                if not levels:
                    raise NoBudget(f"no budget covers principal {principal!r} on dataset {dataset!r}; an "
                                   f"administrator must create one (mpc budget set; a node's datasets are named "
                                   f"party-<id>/<dataset> at the budget service)")
                policy.check_levels(levels, epsilon, delta)
            except (BudgetExceeded, NoBudget) as exc:
                self._append("refusal", now, detail={"reason": str(exc)}, **common)
                raise
            grant_id = secrets.token_hex(16)
            body = g.GrantBody(grant_id, principal, dataset, float(epsilon), float(delta), job_hash, protocol,
                               float(now), float(now) + int(ttl), self._key_id(key))
            signed = g.sign(key, body)
            held = [[lv.scope, lv.dataset] for lv in levels]     # the budgets that accepted it: they hold it
            self._db.execute("INSERT INTO reservations(grant_id,principal,dataset,epsilon,delta,job_hash,protocol,"
                             "expires_at,state,levels) VALUES (?,?,?,?,?,?,?,?,'open',?)",
                             (grant_id, principal, dataset, float(epsilon), float(delta), job_hash, protocol,
                              body.expires_at, json.dumps(held)))
            self._hold(held, float(epsilon), float(delta))
            self._append("reserve", now, grant_id=grant_id, detail={"expires_at": body.expires_at, "levels": held},
                         **common)
        return signed

    def _hold(self, levels: list, epsilon: float, delta: float) -> None:
        """Add (ε, δ) to the reserved totals of the budgets `levels` ([scope, dataset] pairs; negative: un-hold)."""
        for scope, ds in levels:
            self._db.execute("UPDATE budgets SET total_reserved = total_reserved + ?, delta_reserved = "
                             "delta_reserved + ? WHERE scope=? AND dataset=?", (epsilon, delta, scope, ds))
