"""`mpc certs init --parties 3 --out DIR`: a CA, per-party node certificates, client certificates and
(`--budget`) the budget service's server certificate."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("certs", help="create certificates for mutual TLS between nodes and clients")
    csub = p.add_subparsers(dest="certs_command", metavar="ACTION")
    csub.required = True
    i = csub.add_parser("init", help="create a CA, party-<i> node certificates and client certificates")
    i.add_argument("--parties", type=int, required=True, help="number of compute parties")
    i.add_argument("--out", required=True, help="folder to write (must not hold a CA already)")
    i.add_argument("--dealer", action="store_true",
                   help="also a certificate for a trusted dealer node (roster id = parties)")
    i.add_argument("--budget", action="store_true",
                   help="also a server certificate for the privacy-budget service (budget-service.pem)")
    i.add_argument("--client", action="append", default=None, metavar="NAME",
                   help="client certificate(s) to create (default: analyst)")
    i.set_defaults(func=run_init)


def run_init(args) -> int:
    from pathlib import Path

    from mpc.net.tls import init_certs

    written = init_certs(Path(args.out), args.parties, dealer=args.dealer, budget=args.budget,
                         clients=tuple(args.client or ["analyst"]))
    for name, path in written.items():
        print(f"{name:>16}  {path}")
    print(f"keys beside each certificate (*.key, mode 600); the CA key is {Path(args.out) / 'ca.key'}: "
          f"keep it offline")
    return 0
