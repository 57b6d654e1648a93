"""`mpc certs init --parties 3 --out DIR`: a CA, per-party node certificates, client certificates and
(`--budget`) the budget service's server certificate. `mpc certs add-client --ca-dir DIR --name bob`:
another client certificate from the existing CA. Keys are created 0600 (never readable by others)."""

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
    a = csub.add_parser("add-client", help="issue another client certificate (client-<NAME>.pem/.key) from an "
                                           "existing CA")
    a.add_argument("--ca-dir", required=True, help="the folder `mpc certs init` wrote (ca.pem, ca.key)")
    a.add_argument("--name", action="append", required=True, metavar="NAME",
                   help="client name (repeat for several); its certificate is client-NAME.pem")
    a.add_argument("--out", default=None, help="where to write the new files (default: --ca-dir)")
    a.add_argument("--ca-key", default=None,
                   help="the CA key if not CA_DIR/ca.key: a PEM file, or an encrypted key-store entry "
                        "DIR/NAME.mpckey ($MPC_KEYSTORE_PASSPHRASE)")
    a.set_defaults(func=run_add_client)


def run_init(args) -> int:
    from pathlib import Path

    from mpc.net.tls import init_certs

    written = init_certs(Path(args.out), args.parties, dealer=args.dealer, budget=args.budget,
                         clients=tuple(args.client or ["analyst"]))
    for name, path in written.items():
        print(f"{name:>16}  {path}")
    print(f"keys beside each certificate (*.key, created mode 600); the CA key is {Path(args.out) / 'ca.key'}: "
          f"move it offline once every certificate is issued (`mpc certs add-client` needs it again)")
    return 0


def run_add_client(args) -> int:
    from pathlib import Path

    from mpc.keystore import env_passphrase
    from mpc.net.tls import add_clients

    written = add_clients(Path(args.ca_dir), tuple(args.name), out=Path(args.out) if args.out else None,
                          ca_key=Path(args.ca_key) if args.ca_key else None,
                          passphrase=lambda: env_passphrase(f"CA key {args.ca_key}"))
    for name, path in written.items():
        print(f"{name:>16}  {path}  (key beside it, mode 600)")
    names = ", ".join(f'"{n}"' for n in args.name)
    print(f"next: give each client ca.pem, its certificate and its key; add a [[clients]] entry (name = {names}, "
          f"certificate = the .pem) to every node's config and restart the nodes")
    return 0
