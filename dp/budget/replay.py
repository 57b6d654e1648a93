"""Replaying the privacy ledger: budgets and reservations recomputed from the rows alone.

What it computes: from the hash-chained rows (`dp.budget.ledger`), every budget's limits and
spent totals (per period too) and every reservation's state (reserved, committed, redeemed by
whom, expiry, open / committed / released / expired), and the list of disagreements with the
tables the ledger file stores. `Ledger.verify` runs it after recomputing the chain, so an edit of
the tables that the rows do not explain is reported even when the chain itself is intact.

Row kinds and what they change:
  budget    a budget's limits (created or changed)
  reserve   a reservation opens: the budgets covering it then (listed in the row) hold its ε and δ
  redeem    the node holding the dataset claims the reservation for its job (nothing is charged)
  commit    the row's ε and δ (the increment of a cumulative commit) move from held to spent on
            the reservation's budgets
  release   a reservation closes; the row's ε and δ, what was not committed, are no longer held
  expire    the same, because nobody finished the reservation in time
  grant     (ledgers from before schema 2) a grant charged when issued to the budgets covering it
  refusal, alert, migrate: change nothing
"""

from __future__ import annotations

import json

from dp.budget import policy

RESERVATION_FIELDS = ("principal", "dataset", "epsilon", "delta", "job_hash", "protocol", "committed_epsilon",
                      "committed_delta", "redeemed", "holder", "job_id", "expires_at", "state", "levels")
BUDGET_FIELDS = ("total_limit", "delta_limit", "period", "period_limit", "total_spent", "delta_spent",
                 "period_start", "period_spent", "total_reserved", "delta_reserved")


def _charge(st: dict, r: dict) -> None:
    """Charge the row's ε and δ to one budget's spent totals (per period too)."""
    secs = policy.period_seconds(st["period"])
    start = policy.period_start(r["ts"], secs)
    base = st["period_spent"] if secs and st["period_start"] == start else 0.0
    st["total_spent"] += r["epsilon"]
    st["delta_spent"] += r["delta"]
    st["period_start"], st["period_spent"] = start, (base + r["epsilon"]) if secs else 0.0


def replay(rows: list[dict], budgets: list[dict], reservations: list[dict]) -> list[str]:
    """Recompute budgets and reservations from the ledger rows; list disagreements with the tables."""
    state: dict[tuple[str, str], dict] = {}
    held: dict[str, dict] = {}
    for r in rows:
        kind = r["kind"]
        detail = json.loads(r["detail"]) if r["detail"] else {}
        if kind == "budget":
            st = state.setdefault((r["principal"], r["dataset"]), {"total_spent": 0.0, "delta_spent": 0.0,
                                                                   "period_start": 0, "period_spent": 0.0,
                                                                   "total_reserved": 0.0, "delta_reserved": 0.0})
            st.update(total_limit=r["epsilon"], delta_limit=r["delta"], period=detail["period"],
                      period_limit=detail["period_limit"])
        elif kind == "grant":                     # schema 1: charged when issued, to the budgets covering it
            for (scope, ds), st in state.items():
                if policy.covers(scope, r["principal"]) and ds in (r["dataset"], "*"):
                    _charge(st, r)
        elif kind == "reserve":
            levels = [tuple(lv) for lv in detail["levels"]]
            held[r["grant_id"]] = {"principal": r["principal"], "dataset": r["dataset"], "epsilon": r["epsilon"],
                                   "delta": r["delta"], "job_hash": r["job_hash"], "protocol": r["protocol"],
                                   "committed_epsilon": 0.0, "committed_delta": 0.0, "redeemed": 0, "holder": "",
                                   "job_id": "", "expires_at": detail["expires_at"], "state": "open",
                                   "levels": json.dumps(detail["levels"])}
            for key in levels:
                if key in state:
                    state[key]["total_reserved"] += r["epsilon"]
                    state[key]["delta_reserved"] += r["delta"]
        elif kind in ("redeem", "commit", "release", "expire") and r["grant_id"] in held:
            res = held[r["grant_id"]]
            budgets_held = [state[tuple(k)] for k in json.loads(res["levels"]) if tuple(k) in state]
            if kind == "redeem":
                res.update(redeemed=1, holder=detail["holder"], job_id=detail["job_id"],
                           expires_at=detail["expires_at"])
            elif kind == "commit":
                for st in budgets_held:
                    _charge(st, r)
                    st["total_reserved"] -= r["epsilon"]
                    st["delta_reserved"] -= r["delta"]
                res.update(committed_epsilon=detail["committed_epsilon"], committed_delta=detail["committed_delta"],
                           expires_at=detail["expires_at"], state="committed" if detail["closed"] else "open")
            else:
                for st in budgets_held:
                    st["total_reserved"] += -r["epsilon"]
                    st["delta_reserved"] += -r["delta"]
                res["state"] = "released" if kind == "release" else "expired"
    out = []
    seen = set()
    for b in budgets:
        key = (b["scope"], b["dataset"])
        seen.add(key)
        st = state.get(key)
        if st is None:
            out.append(f"budget {key[0]} / {key[1]} has no creation row in the ledger")
            continue
        for k in BUDGET_FIELDS:
            if b[k] != st[k]:
                out.append(f"budget {key[0]} / {key[1]}: stored {k}={b[k]!r} but the ledger gives {st[k]!r}")
    for key in state.keys() - seen:
        out.append(f"budget {key[0]} / {key[1]} is in the ledger but was deleted from the budgets table")
    stored = {r["grant_id"]: r for r in reservations}
    for gid in sorted(stored.keys() - held.keys()):
        out.append(f"reservation {gid} is in the reservations table but has no reserve row in the ledger")
    for gid in sorted(held.keys() - stored.keys()):
        out.append(f"reservation {gid} is in the ledger but was deleted from the reservations table")
    for gid in sorted(held.keys() & stored.keys()):
        for k in RESERVATION_FIELDS:
            if stored[gid][k] != held[gid][k]:
                out.append(f"reservation {gid}: stored {k}={stored[gid][k]!r} but the ledger gives {held[gid][k]!r}")
    return out
