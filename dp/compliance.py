"""Compliance reports from the privacy ledger: who spent what ε on which protocol, per dataset and period.

What it computes: from the ledger file alone — spending per dataset and period (principal,
protocol, number of reservations, ε and δ charged by released outputs summed by basic
composition, ε refunded), one line per job's reservation (grant id, job id and hash, what was
reserved, charged for released outputs — named — and refunded, and the outcome, so that a
release can be told apart from a refund), remaining budgets at every level (with what open
reservations hold), refusals, alerts, and the result of recomputing the hash chain — and a
section that maps these records to duties under GDPR Art. 25 and 30, HIPAA de-identification
by expert determination (45 CFR §164.514(b)(1)) and the CCPA's de-identified-data duties.
The mapping states what the records are evidence of; it is not legal advice, and the
determinations those laws require remain with the controller, its DPO or a qualified expert.
"""

from __future__ import annotations

import html
import json
import time
from collections import defaultdict
from pathlib import Path

from dp.budget.ledger import Ledger

DISCLAIMER = ("This report states what the privacy ledger records. It is evidence for the duties listed, "
              "not legal advice and not a determination of compliance.")

LEGAL_MAPPING = [
    {"framework": "GDPR Art. 25 (data protection by design and by default)",
     "evidence": "Every released output carried differential-privacy noise calibrated to a stated epsilon/delta; "
                 "each release needed a signed, single-use grant checked against per-dataset and per-principal "
                 "limits before any output was opened; with distributed noise no party, the analyst included, "
                 "saw an un-noised result. The budgets and refusals below show the limits were enforced."},
    {"framework": "GDPR Art. 30 (records of processing activities)",
     "evidence": "The ledger lists, for every job's grant, who (principal), which dataset, for which protocol "
                 "(purpose), when, what was reserved, what each released output was charged and what was refunded "
                 "because nothing was released; the hash chain makes later alteration of the record detectable "
                 "(verification result below)."},
    {"framework": "HIPAA 45 CFR §164.514(b)(1) (de-identification by expert determination)",
     "evidence": "Per-release and cumulative epsilon/delta per dataset quantify the worst-case disclosure risk an "
                 "expert can rely on when determining that the risk of re-identification is very small; the "
                 "expert's determination and its documentation are still required."},
    {"framework": "CCPA / CPRA, Cal. Civ. Code §1798.140 ('deidentified' information)",
     "evidence": "The technical measures (noise on every output, enforced budgets) and their monitoring (alerts, "
                 "refusals, tamper-evident ledger) are recorded here; the public commitment not to re-identify and "
                 "the contractual obligations on recipients are outside this system."},
]


def _period_key(ts: float, period: str) -> str:
    return time.strftime("%Y-%m-%d" if period == "day" else "%Y-%m", time.gmtime(ts))


def _jobs(rows: list[dict]) -> list[dict]:
    """One entry per reservation, from its reserve, redeem, commit, release and expire rows."""
    jobs: dict[str, dict] = {}
    for r in rows:
        gid, kind = r["grant_id"], r["kind"]
        if kind == "reserve":
            jobs[gid] = {"time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["ts"])), "grant_id": gid,
                         "job_id": "", "job_hash": r["job_hash"][:16], "dataset": r["dataset"],
                         "principal": r["principal"], "protocol": r["protocol"] or "-", "reserved": r["epsilon"],
                         "charged": 0.0, "refunded": 0.0, "outputs": [], "outcome": "open", "ts": r["ts"]}
            continue
        job = jobs.get(gid)
        if job is None or kind not in ("redeem", "commit", "release", "expire"):
            continue
        detail = json.loads(r["detail"]) if r["detail"] else {}
        job["job_id"] = job["job_id"] or detail.get("job_id", "")
        if kind == "commit":
            job["charged"] += r["epsilon"]
            if detail.get("output"):
                job["outputs"].append(detail["output"])
            if detail.get("closed"):
                job["outcome"] = "charged: outputs released"
        elif kind in ("release", "expire"):
            job["refunded"] += r["epsilon"]
            why = "expired" if kind == "expire" else "released"
            job["outcome"] = (f"refunded ({why}): no output released" if job["charged"] == 0 else
                              f"partly charged, rest refunded ({why})")
    out = []
    for job in jobs.values():
        job["outputs"] = ", ".join(job["outputs"]) or "-"
        job["job_id"] = job["job_id"] or "-"
        out.append(job)
    return out


def build_report(db: str | Path, *, period: str = "month", dataset: str | None = None) -> dict:
    """The report as plain data (what `render` formats)."""
    with Ledger(db) as led:
        result = led.verify()
        rows = led.rows()
        budgets = led.budgets()
        held = {(b["scope"], b["dataset"]): led.held(b["scope"], b["dataset"]) for b in budgets}
    spend: dict = defaultdict(lambda: {"reservations": 0, "reserved": 0.0, "charged": 0.0, "charged_delta": 0.0,
                                       "refunded": 0.0})
    refusals, alerts = [], []
    jobs = [j for j in _jobs(rows) if dataset is None or j["dataset"] == dataset]
    for r in rows:
        if dataset is not None and r["dataset"] not in (dataset, "*"):
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["ts"]))
        key = (r["dataset"], _period_key(r["ts"], period), r["principal"], r["protocol"] or "-")
        if r["kind"] == "reserve":
            spend[key]["reservations"] += 1
            spend[key]["reserved"] += r["epsilon"]
        elif r["kind"] in ("commit", "grant"):     # "grant": charged at issue (ledgers before schema 2)
            spend[key]["charged"] += r["epsilon"]
            spend[key]["charged_delta"] += r["delta"]
        elif r["kind"] in ("release", "expire"):
            spend[key]["refunded"] += r["epsilon"]
        elif r["kind"] == "refusal":
            refusals.append({"seq": r["seq"], "time": when, "principal": r["principal"], "dataset": r["dataset"],
                             "epsilon": r["epsilon"], "reason": json.loads(r["detail"])["reason"]})
        elif r["kind"] == "alert":
            alerts.append({"seq": r["seq"], "time": when, "scope": r["principal"], "dataset": r["dataset"],
                           "message": json.loads(r["detail"])["message"]})
    spending = [{"dataset": k[0], "period": k[1], "principal": k[2], "protocol": k[3], **v}
                for k, v in sorted(spend.items())]
    levels = [{"scope": b["scope"], "dataset": b["dataset"], "total_limit": b["total_limit"],
               "total_spent": b["total_spent"], "reserved": held[(b["scope"], b["dataset"])][0],
               "remaining": max(0.0, b["total_limit"] - b["total_spent"] - held[(b["scope"], b["dataset"])][0]),
               "period": b["period"], "period_limit": b["period_limit"], "delta_limit": b["delta_limit"],
               "delta_spent": b["delta_spent"]}
              for b in budgets if dataset is None or b["dataset"] in (dataset, "*")]
    return {
        "title": "Differential-privacy ledger report",
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "ledger": str(db),
        "dataset_filter": dataset,
        "period": period,
        "composition": "epsilon and delta add up across the outputs released (basic composition); a job's grant "
                       "reserves its epsilon, each released output is charged its share, and what no output used "
                       "is refunded",
        "verification": {"ok": result.ok, "rows": result.rows, "head": result.head,
                         "first_bad_seq": result.first_bad_seq, "summary": result.summary(),
                         "budget_mismatches": result.budget_mismatches},
        "spending": spending,
        "jobs": [{k: v for k, v in j.items() if k != "ts"} for j in sorted(jobs, key=lambda j: j["ts"])],
        "budgets": levels,
        "refusals": refusals,
        "alerts": alerts,
        "legal_mapping": LEGAL_MAPPING,
        "disclaimer": DISCLAIMER,
    }


_SPEND_COLS = ("dataset", "period", "principal", "protocol", "reservations", "reserved", "charged", "charged_delta",
               "refunded")
_JOB_COLS = ("time", "job_id", "job_hash", "grant_id", "dataset", "principal", "protocol", "reserved", "charged",
             "outputs", "refunded", "outcome")
_BUDGET_COLS = ("scope", "dataset", "total_limit", "total_spent", "reserved", "remaining", "period", "period_limit",
                "delta_limit", "delta_spent")


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _md_table(rows: list[dict], cols) -> str:
    if not rows:
        return "_none_\n"
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_fmt(r[c]).replace("|", "\\|") for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _html_table(rows: list[dict], cols) -> str:
    if not rows:
        return "<p><em>none</em></p>\n"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"


def render(report: dict, fmt: str) -> str:
    """The report as "json", "md" or "html"."""
    if fmt == "json":
        return json.dumps(report, indent=1) + "\n"
    sections = [
        ("Ledger verification", None, None),
        (f"Spending per dataset and {report['period']} (epsilon)", report["spending"], _SPEND_COLS),
        ("Jobs: what each grant reserved, charged for released outputs, and refunded", report["jobs"], _JOB_COLS),
        ("Budgets and what remains", report["budgets"], _BUDGET_COLS),
        ("Refused requests", report["refusals"], ("seq", "time", "principal", "dataset", "epsilon", "reason")),
        ("Alerts", report["alerts"], ("seq", "time", "scope", "dataset", "message")),
        ("What these records evidence", report["legal_mapping"], ("framework", "evidence")),
    ]
    v = report["verification"]
    if fmt == "md":
        out = [f"# {report['title']}\n", f"Generated {report['generated_at']} from `{report['ledger']}`. "
               f"Composition: {report['composition']}.\n"]
        for title, rows, cols in sections:
            out.append(f"\n## {title}\n\n")
            out.append(f"**{'PASS' if v['ok'] else 'FAIL'}**: {v['summary']}\n" if rows is None else _md_table(rows, cols))
        out.append(f"\n_{report['disclaimer']}_\n")
        return "".join(out)
    if fmt == "html":
        e = html.escape
        out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>", e(report["title"]),
               "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
               "td,th{border:1px solid #999;padding:4px 8px;text-align:left}.fail{color:#b00}.pass{color:#070}"
               "</style></head><body>", f"<h1>{e(report['title'])}</h1>",
               f"<p>Generated {e(report['generated_at'])} from <code>{e(report['ledger'])}</code>. "
               f"Composition: {e(report['composition'])}.</p>"]
        for title, rows, cols in sections:
            out.append(f"<h2>{e(title)}</h2>")
            if rows is None:
                cls = "pass" if v["ok"] else "fail"
                out.append(f"<p class='{cls}'><b>{'PASS' if v['ok'] else 'FAIL'}</b>: {e(v['summary'])}</p>")
            else:
                out.append(_html_table(rows, cols))
        out.append(f"<p><em>{e(report['disclaimer'])}</em></p></body></html>\n")
        return "".join(out)
    raise ValueError(f"unknown report format {fmt!r}")
