"""`mpc budget ...`: the privacy-budget service and its ledger.

serve (run the gRPC service), init (new ledger and signing key), set (create/change a budget),
list, verify (recompute the hash chain; against a saved head with --head/--rows), report
(compliance report), migrate (a schema-1 ledger to schema 2), pubkey, and the client commands
request / status.

The nodes know their datasets to the service as "party-<id>/<dataset>": a budget for party 0's
"patients" is `mpc budget set --scope ORG --dataset party-0/patients ...` (or --dataset '*').
"""

from __future__ import annotations

import sys

DEFAULT_DELTA_TOTAL = 1e-5
DEFAULT_HOLD = 3600    # = dp.budget.ledger.DEFAULT_HOLD (registration imports nothing heavy); checked by a test


def register(sub) -> None:
    p = sub.add_parser("budget", help="privacy-budget service: serve, set budgets, verify the ledger, reports")
    bsub = p.add_subparsers(dest="budget_command", metavar="ACTION")
    bsub.required = True

    s = bsub.add_parser("init", help="create a ledger file and the service's Ed25519 signing key")
    _db(s)
    s.add_argument("--key", required=True, help="signing key: a PEM file (created if missing, mode 0600) or an "
                   "encrypted key-store entry DIR/NAME.mpckey (created if missing; $MPC_KEYSTORE_PASSPHRASE)")
    s.set_defaults(func=run_init)

    s = bsub.add_parser("set", help="create or change the budget of a scope (org[/project[/analyst]]) on a dataset")
    _db(s)
    s.add_argument("--scope", required=True, help="organisation, organisation/project or .../analyst")
    s.add_argument("--dataset", required=True, help="dataset name as the nodes name it, party-<id>/<dataset> "
                   "(e.g. party-0/patients), or '*' for every dataset")
    s.add_argument("--total", type=float, required=True, help="total epsilon limit")
    s.add_argument("--delta", type=float, default=DEFAULT_DELTA_TOTAL,
                   help=f"total delta limit (default {DEFAULT_DELTA_TOTAL:g}, e.g. ten jobs at delta 1e-6; the nodes' "
                        f"distributed noise needs delta > 0 per job; 0 allows pure-DP jobs only)")
    s.add_argument("--period", default="none", help="none, hourly, daily, weekly, monthly or <N>s")
    s.add_argument("--period-limit", type=float, default=0.0, help="epsilon limit per period")
    s.set_defaults(func=run_set)

    s = bsub.add_parser("list", help="list budgets with what is spent")
    _db(s)
    s.set_defaults(func=run_list)

    s = bsub.add_parser("serve", help="run the budget gRPC service")
    _db(s)
    s.add_argument("--key", required=True, help="signing key: PEM file or DIR/NAME.mpckey (as for init)")
    s.add_argument("--listen", default="127.0.0.1:50070", help="HOST:PORT (port 0 picks a free port)")
    _tls(s)
    s.add_argument("--alert-at", default="0.75,0.9", help="alert thresholds as fractions of a limit")
    s.add_argument("--ttl", type=int, default=600,
                   help="default grant lifetime in seconds: an unredeemed reservation is refunded after it")
    s.add_argument("--hold", type=int, default=DEFAULT_HOLD,
                   help=f"seconds a redeemed reservation is kept after its last redeem or commit before it expires "
                        f"and its remainder is refunded (a node that crashed mid-job; default {DEFAULT_HOLD})")
    s.add_argument("--sync", choices=["normal", "full"], default="normal",
                   help="SQLite durability: normal survives process crashes, full also power loss")
    s.add_argument("--no-bind-principal", action="store_true",
                   help="with TLS, do not bind principals to client certificates (client-<name> may request "
                        "only for .../<name>; only node certificates may redeem): for PKIs named otherwise")
    s.set_defaults(func=run_serve)

    s = bsub.add_parser("verify", help="recompute the ledger's hash chain; name the first tampered row",
                        description="Recompute the hash chain, replay the ledger against the stored budgets and "
                                    "reservations, and print the head and row count. Save that head elsewhere: "
                                    "given --head HEX --rows N, verify also detects deleted last rows and a chain "
                                    "recomputed after an edit of the first N rows.")
    _db(s)
    s.add_argument("--head", default=None, metavar="HEX", help="a head saved earlier (64 hex characters)")
    s.add_argument("--rows", type=int, default=None, metavar="N", help="the row count that head was taken after")
    s.set_defaults(func=run_verify)

    s = bsub.add_parser("migrate", help="upgrade a schema-1 ledger (grants charged at issue) to schema 2 "
                                        "(reservations), keeping every row")
    _db(s)
    s.set_defaults(func=run_migrate)

    s = bsub.add_parser("report", help="compliance report from the ledger (per dataset and period)")
    _db(s)
    s.add_argument("--format", choices=["html", "json", "md"], default="md")
    s.add_argument("--period", choices=["day", "month"], default="month", help="period of the spending tables")
    s.add_argument("--dataset", default=None, help="only this dataset")
    s.add_argument("--out", default=None, help="write here instead of standard output")
    s.set_defaults(func=run_report)

    s = bsub.add_parser("pubkey", help="print the service's public key (hex) for node configurations")
    s.add_argument("--key", required=True, help="signing key: PEM file or DIR/NAME.mpckey")
    s.set_defaults(func=run_pubkey)

    s = bsub.add_parser("request", help="ask a running service for a grant, which reserves epsilon until a node "
                                        "commits it or it is released or expires (prints the signed grant as JSON)")
    _client(s)
    s.add_argument("--epsilon", type=float, required=True)
    s.add_argument("--delta", type=float, default=0.0)
    s.add_argument("--job-hash", required=True, help="SHA-256 of the job spec, 64 hex characters")
    s.add_argument("--protocol", default="", help="protocol name, e.g. sum/v1")
    s.add_argument("--ttl", type=int, default=0, help="grant lifetime (0: the service default)")
    s.set_defaults(func=run_request)

    s = bsub.add_parser("status", help="remaining budget at every level covering a principal and dataset")
    _client(s)
    s.set_defaults(func=run_status)


def _db(p) -> None:
    p.add_argument("--db", required=True, help="ledger file (SQLite)")


def _tls(p) -> None:
    p.add_argument("--tls-cert", help="this side's certificate (PEM)")
    p.add_argument("--tls-key", help="this side's private key: PEM file or encrypted DIR/NAME.mpckey "
                   "($MPC_KEYSTORE_PASSPHRASE)")
    p.add_argument("--tls-ca", help="CA certificate that signs the peers (PEM)")
    p.add_argument("--insecure", action="store_true", help="plaintext, for local experiments only")


def _client(p) -> None:
    p.add_argument("--server", required=True, help="HOST:PORT of the budget service")
    p.add_argument("--server-name", default="budget-service",
                   help="TLS name of the service's certificate (default: budget-service, from mpc certs init --budget)")
    p.add_argument("--principal", required=True, help="org/project/analyst")
    p.add_argument("--dataset", required=True)
    _tls(p)


def _tls_files(args):
    from dp.budget.service import TlsFiles
    from dp.errors import DPParameterError

    given = [args.tls_cert, args.tls_key, args.tls_ca]
    if any(given) and args.insecure:
        raise DPParameterError("give either the TLS files or --insecure, not both")
    if any(given) and not all(given):
        raise DPParameterError("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca")
    if not any(given) and not args.insecure:
        raise DPParameterError("give --tls-cert/--tls-key/--tls-ca (the mTLS certificates of the deployment) or "
                               "--insecure for a local experiment")
    return TlsFiles(*given) if all(given) else None


def run_init(args) -> int:
    from dp.budget import grants
    from dp.budget.ledger import Ledger

    Ledger(args.db, create=True).close()
    key = grants.load_or_create_key(args.key)
    print(f"ledger {args.db} ready; service public key {grants.public_bytes(key).hex()}")
    return 0


def run_set(args) -> int:
    from dp.budget.ledger import Ledger

    with Ledger(args.db) as led:
        led.set_budget(args.scope, args.dataset, args.total, delta_total=args.delta, period=args.period,
                       period_limit=args.period_limit)
    print(f"budget {args.scope} / {args.dataset}: total epsilon {args.total:g}, delta {args.delta:g}"
          + (f", {args.period} limit {args.period_limit:g}" if args.period != "none" else ""))
    if args.delta == 0:
        print("note: delta 0 allows pure-DP jobs only; the nodes' distributed noise (their default mode) needs "
              "delta > 0 per job, so such jobs will be refused: give --delta (e.g. 1e-5)")
    if args.dataset != "*" and not args.dataset.startswith("party-"):
        print(f"note: the nodes name their datasets party-<id>/<dataset> at the budget service (e.g. "
              f"party-0/{args.dataset}); a budget on {args.dataset!r} covers no node's dataset")
    return 0


def run_list(args) -> int:
    import time

    from dp.budget import policy
    from dp.budget.ledger import Ledger

    now = time.time()
    with Ledger(args.db) as led:
        rows = led.budgets()
        for b in rows:
            b["held"] = led.held(b["scope"], b["dataset"], now)[0]
    for b in rows:  # period totals are reset lazily at the next commit; show the current period's
        secs = policy.period_seconds(b["period"])
        if secs and b["period_start"] != policy.period_start(now, secs):
            b["period_spent"] = 0.0
    head = ("scope", "dataset", "epsilon spent/limit", "reserved", "period", "period spent/limit",
            "delta spent/limit")
    table = [(b["scope"], b["dataset"], f"{b['total_spent']:.6g}/{b['total_limit']:g}", f"{b['held']:.6g}",
              b["period"], f"{b['period_spent']:.6g}/{b['period_limit']:g}" if b["period"] != "none" else "-",
              f"{b['delta_spent']:.3g}/{b['delta_limit']:g}") for b in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(head)]
    for line in [head, *table]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
    return 0


def run_serve(args) -> int:
    import logging

    from dp.budget import grants, policy
    from dp.budget.service import BudgetService, serve
    from dp.errors import DPParameterError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tls = _tls_files(args)
    key = grants.load_or_create_key(args.key)
    if not 1 <= args.hold <= 86400 or not 1 <= args.ttl <= 86400:
        raise DPParameterError("--ttl and --hold must be 1..86400 seconds")
    service = BudgetService(args.db, key, thresholds=policy.parse_thresholds(args.alert_at), default_ttl=args.ttl,
                            sync=args.sync, bind_principal=tls is not None and not args.no_bind_principal,
                            hold=args.hold)
    serve(service, args.listen, tls=tls, insecure=args.insecure, announce=lambda m: print(m, flush=True))
    return 0


def run_verify(args) -> int:
    from dp.budget.ledger import Ledger
    from dp.errors import DPParameterError

    if (args.head is None) != (args.rows is None):
        raise DPParameterError("give both --head HEX and --rows N (as an earlier `mpc budget verify` printed them)")
    expect = None if args.head is None else (args.rows, args.head.strip().lower())
    with Ledger(args.db) as led:
        result = led.verify(expect)
    print(result.summary())
    for m in result.budget_mismatches:
        print("  " + m)
    if result.ok:
        print(f"save this to check the ledger later: mpc budget verify --db {args.db} --head {result.head} "
              f"--rows {result.rows}")
    return 0 if result.ok else 1


def run_migrate(args) -> int:
    from dp.budget.ledger import SCHEMA_VERSION, Ledger

    with Ledger(args.db, migrate=True) as led:
        result = led.verify()
    print(f"ledger {args.db} is at schema {SCHEMA_VERSION}; {result.summary()}")
    return 0 if result.ok else 1


def run_report(args) -> int:
    from dp.compliance import build_report, render

    text = render(build_report(args.db, period=args.period, dataset=args.dataset), args.format)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"report written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def run_pubkey(args) -> int:
    from dp.budget import grants

    print(grants.public_bytes(grants.load_or_create_key(args.key)).hex())
    return 0


def run_request(args) -> int:
    from dp.budget.client import BudgetClient

    with BudgetClient(args.server, tls=_tls_files(args), insecure=args.insecure,
                      server_name=args.server_name) as client:
        grant = client.request_grant(args.principal, args.dataset, args.epsilon, args.delta, args.job_hash,
                                     args.protocol, args.ttl)
    print(grant.to_json())
    return 0


def run_status(args) -> int:
    from dp.budget.client import BudgetClient

    with BudgetClient(args.server, tls=_tls_files(args), insecure=args.insecure,
                      server_name=args.server_name) as client:
        levels = client.status(args.principal, args.dataset)
    for lv in levels:
        left = lv["total_limit"] - lv["total_spent"] - lv["total_reserved"]
        line = (f"{lv['scope']} / {lv['dataset']}: epsilon {left:.6g} of {lv['total_limit']:g} remaining "
                f"({lv['total_spent']:.6g} spent, {lv['total_reserved']:.6g} reserved)")
        if lv["period"] != "none":
            line += f"; this {lv['period']} period {lv['period_limit'] - lv['period_spent']:.6g} of {lv['period_limit']:g}"
        print(line)
    return 0
