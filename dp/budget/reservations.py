"""Reservations: the redeem, commit, release and expire steps of the two-phase budget path.

What it computes: a mixin of `dp.budget.ledger.Ledger` (see its docstring for the whole path)
holding the steps after a grant reserved (ε, δ): `redeem` (a node claims the grant for one job,
single use, charging nothing), `commit` (charge the covering budgets up to a cumulative amount ≤
the reservation, just before an output opens; idempotent), `release` (refund what was not
committed when the job ends; idempotent) and the lazy expiry of reservations nobody finished.
Each step is one hash-chained ledger row written in the caller's write transaction.
Security: the caller's right to commit or release is checked by the service (`check`); job
hashes are compared in constant time; every argument is validated before anything is written.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import time
from dataclasses import dataclass, field

from dp.budget import grants as g
from dp.budget import policy
from dp.errors import DPParameterError, GrantExpired, GrantForged, GrantMismatch, GrantReused

DEFAULT_HOLD = 3600
_HEX64 = re.compile(r"[0-9a-f]{64}")
_GRANT_ID = re.compile(r"[0-9a-f]{32}")
_JOB_ID = re.compile(r"[A-Za-z0-9._-]{0,128}")


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
class CommitResult:
    """What a commit did: its ledger row (0: nothing new charged), the cumulative amounts, whether
    the reservation is now fully charged, and the alerts the charge raised."""

    seq: int
    committed_epsilon: float
    committed_delta: float
    closed: bool
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class ReleaseResult:
    """What a release did: its ledger row (0: already closed), the refund, the reservation's state."""

    seq: int
    refunded_epsilon: float
    refunded_delta: float
    state: str


def _check_ids(grant_id: str, job_hash: str, job_id: str = "") -> None:
    if not (isinstance(grant_id, str) and _GRANT_ID.fullmatch(grant_id)):
        raise DPParameterError("grant id must be 32 lowercase hex characters")
    if not (isinstance(job_hash, str) and _HEX64.fullmatch(job_hash)):
        raise DPParameterError("job hash must be 64 lowercase hex characters (SHA-256 of the job spec)")
    if not (isinstance(job_id, str) and _JOB_ID.fullmatch(job_id)):
        raise DPParameterError("job id must be at most 128 of [A-Za-z0-9._-]")


def _text(value: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise DPParameterError(f"{what} must be printable text of at most {limit} characters")
    return value



class ReservationsMixin:
    """The reservation steps of a `Ledger` (which provides `_db`, `_write`, `_append`, `_hold`)."""

    def _reservation(self, grant_id: str, job_hash: str) -> dict:
        r = self._db.execute("SELECT * FROM reservations WHERE grant_id=?", (grant_id,)).fetchone()
        if r is None:
            raise GrantForged(f"grant {grant_id} has no reservation in this ledger (not issued here, or issued "
                              f"before the ledger was migrated); request a new grant")
        if not hmac.compare_digest(r["job_hash"].encode(), job_hash.encode()):
            raise GrantMismatch(f"grant {grant_id} is for job {r['job_hash'][:16]}..., not {job_hash[:16]}...")
        return dict(r)

    @staticmethod
    def _closed(res: dict, what: str) -> Exception:
        gid = res["grant_id"]
        if res["state"] == "expired":
            return GrantExpired(f"grant {gid}'s reservation expired (nobody finished it in time) and was refunded; "
                                f"{what}: request a new grant")
        if res["state"] == "released":
            return GrantReused(f"grant {gid}'s reservation was released (its job ended or was not submitted) and "
                               f"refunded; {what}: grants are single-use, request a new one")
        return GrantReused(f"grant {gid} (job {res['job_hash'][:16]}...) is fully charged; {what}")

    def redeem(self, grant: g.SignedGrant, public_key, *, job_hash: str, dataset: str, job_id: str = "",
               holder: str = "", hold: int = DEFAULT_HOLD, now: float | None = None) -> tuple[int, g.GrantBody]:
        """Claim a grant for one job, once: verify it, check its reservation is open and unclaimed,
        record who holds it (`holder`) and keep it for `hold` seconds from now. Charges nothing."""
        when = time.time() if now is None else now
        body = g.verify(grant, public_key, job_hash=job_hash, dataset=dataset, epsilon=0.0, now=when)
        _check_ids(body.grant_id, body.job_hash, job_id)
        _text(holder, "holder", 128)
        with self._write(when) as now:
            res = self._reservation(body.grant_id, body.job_hash)
            if res["redeemed"]:
                raise GrantReused(f"grant {body.grant_id} (job {body.job_hash[:16]}...) was already used; "
                                  f"grants are single-use: request a new one")
            if res["state"] != "open":
                raise self._closed(res, "it cannot be redeemed")
            expires = max(res["expires_at"], now + int(hold))
            self._db.execute("UPDATE reservations SET redeemed=1, holder=?, job_id=?, expires_at=? WHERE grant_id=?",
                             (holder, job_id, expires, body.grant_id))
            seq = self._append("redeem", now, principal=body.principal, dataset=body.dataset, epsilon=body.epsilon,
                               delta=body.delta, job_hash=body.job_hash, protocol=body.protocol,
                               grant_id=body.grant_id, detail={"holder": holder, "job_id": job_id,
                                                               "expires_at": expires})
        return seq, body

    def commit(self, grant_id: str, *, job_hash: str, epsilon: float, delta: float, output: str = "",
               job_id: str = "", check=None, hold: int = DEFAULT_HOLD, thresholds: tuple[float, ...] = (0.75, 0.9),
               now: float | None = None) -> CommitResult:
        """Charge a redeemed reservation up to the cumulative (`epsilon`, `delta`) (≤ what it holds).

        The covering budgets are charged the increment over what was committed before (nothing if
        the totals are not larger: retries are safe). `check(reservation)` may refuse the caller.
        Raises for a closed or expired reservation: the output must then not be opened.
        """
        _check_ids(grant_id, job_hash, job_id)
        _text(output, "output name", 128)
        for v, what in ((epsilon, "epsilon"), (delta, "delta")):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
                raise DPParameterError(f"committed {what} must be a finite number >= 0, got {v!r}")
        with self._write(now) as now:
            res = self._reservation(grant_id, job_hash)
            if check is not None:
                check(res)
            if not res["redeemed"]:
                raise GrantMismatch(f"grant {grant_id} was not redeemed for a job; the node holding the dataset "
                                    f"redeems it at prepare, before it commits")
            ce, cd = res["committed_epsilon"], res["committed_delta"]
            slack_e, slack_d = 1e-9 * max(1.0, res["epsilon"]), 1e-9 * res["delta"] + 1e-18
            if res["state"] == "committed" and epsilon <= ce + slack_e and delta <= cd + slack_d:
                return CommitResult(0, ce, cd, True)
            if res["state"] != "open":
                raise self._closed(res, "the output must not be opened")
            if epsilon > res["epsilon"] + slack_e or delta > res["delta"] + slack_d:
                raise GrantMismatch(f"grant {grant_id} reserves epsilon={res['epsilon']:g}, delta={res['delta']:g}; "
                                    f"a commit of epsilon={epsilon:g}, delta={delta:g} exceeds it")
            new_e, new_d = min(max(float(epsilon), ce), res["epsilon"]), min(max(float(delta), cd), res["delta"])
            closed = new_e >= res["epsilon"] - slack_e and new_d >= res["delta"] - slack_d
            if closed:
                new_e, new_d = res["epsilon"], res["delta"]
            if new_e == ce and new_d == cd:
                return CommitResult(0, ce, cd, False)
            alerts = self._charge(json.loads(res["levels"]), new_e - ce, new_d - cd, now, thresholds)
            expires = max(res["expires_at"], now + int(hold))
            self._db.execute("UPDATE reservations SET committed_epsilon=?, committed_delta=?, state=?, expires_at=? "
                             "WHERE grant_id=?", (new_e, new_d, "committed" if closed else "open", expires, grant_id))
            seq = self._append("commit", now, principal=res["principal"], dataset=res["dataset"], epsilon=new_e - ce,
                               delta=new_d - cd, job_hash=job_hash, protocol=res["protocol"], grant_id=grant_id,
                               detail={"committed_epsilon": new_e, "committed_delta": new_d, "output": output,
                                       "job_id": job_id or res["job_id"], "closed": closed, "expires_at": expires})
            for a in alerts:
                self._append("alert", now, principal=a.scope, dataset=a.dataset, epsilon=a.spent, grant_id=grant_id,
                             detail={"threshold": a.threshold, "what": a.what, "limit": a.limit,
                                     "message": a.message()})
        return CommitResult(seq, new_e, new_d, closed, alerts)

    def _charge(self, levels: list, epsilon: float, delta: float, now: float,
                thresholds: tuple[float, ...]) -> list[Alert]:
        """Move (ε, δ) from reserved to spent on the budgets that hold the reservation; the alerts crossed."""
        alerts = []
        for scope, ds in levels:
            r = self._db.execute("SELECT * FROM budgets WHERE scope=? AND dataset=?", (scope, ds)).fetchone()
            secs = policy.period_seconds(r["period"])
            start = policy.period_start(now, secs)
            before_period = r["period_spent"] if secs and r["period_start"] == start else 0.0
            new_total, new_period = r["total_spent"] + epsilon, before_period + epsilon
            self._db.execute("UPDATE budgets SET total_spent=?, delta_spent=?, period_start=?, period_spent=?, "
                             "total_reserved=?, delta_reserved=? WHERE id=?",
                             (new_total, r["delta_spent"] + delta, start, new_period if secs else 0.0,
                              r["total_reserved"] - epsilon, r["delta_reserved"] - delta, r["id"]))
            for t in policy.crossed(r["total_spent"], new_total, r["total_limit"], thresholds):
                alerts.append(Alert(r["scope"], r["dataset"], t, "total", new_total, r["total_limit"]))
            if secs:
                for t in policy.crossed(before_period, new_period, r["period_limit"], thresholds):
                    alerts.append(Alert(r["scope"], r["dataset"], t, "period", new_period, r["period_limit"]))
        return alerts

    def release(self, grant_id: str, *, job_hash: str, reason: str = "", job_id: str = "", check=None,
                now: float | None = None) -> ReleaseResult:
        """Close a reservation and refund what was not committed (a "release" row); a closed one is left
        as it is (idempotent). `check(reservation)` may refuse the caller."""
        _check_ids(grant_id, job_hash, job_id)
        reason = _text(reason[:500] if isinstance(reason, str) else reason, "reason", 500)
        with self._write(now) as now:
            res = self._reservation(grant_id, job_hash)
            if check is not None:
                check(res)
            if res["state"] != "open":
                return ReleaseResult(0, 0.0, 0.0, res["state"])
            ce, cd = res["committed_epsilon"], res["committed_delta"]
            self._db.execute("UPDATE reservations SET state='released' WHERE grant_id=?", (grant_id,))
            self._hold(json.loads(res["levels"]), -(res["epsilon"] - ce), -(res["delta"] - cd))
            seq = self._append("release", now, principal=res["principal"], dataset=res["dataset"],
                               epsilon=res["epsilon"] - ce, delta=res["delta"] - cd, job_hash=job_hash,
                               protocol=res["protocol"], grant_id=grant_id,
                               detail={"reason": reason, "job_id": job_id or res["job_id"], "committed_epsilon": ce,
                                       "committed_delta": cd})
        return ReleaseResult(seq, res["epsilon"] - ce, res["delta"] - cd, "released")

    def _expire_due(self, now: float) -> None:
        """Close every open reservation whose time has passed (inside a write transaction)."""
        due = self._db.execute("SELECT * FROM reservations WHERE state='open' AND expires_at <= ? "
                               "ORDER BY expires_at, grant_id", (now,)).fetchall()
        for r in due:
            ce, cd = r["committed_epsilon"], r["committed_delta"]
            self._db.execute("UPDATE reservations SET state='expired' WHERE grant_id=?", (r["grant_id"],))
            self._hold(json.loads(r["levels"]), -(r["epsilon"] - ce), -(r["delta"] - cd))
            self._append("expire", now, principal=r["principal"], dataset=r["dataset"], epsilon=r["epsilon"] - ce,
                         delta=r["delta"] - cd, job_hash=r["job_hash"], protocol=r["protocol"],
                         grant_id=r["grant_id"], detail={"expires_at": r["expires_at"], "job_id": r["job_id"],
                                                         "committed_epsilon": ce, "committed_delta": cd,
                                                         "redeemed": bool(r["redeemed"])})

