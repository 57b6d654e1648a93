"""`mpc check --config party0.toml`: dial every peer; name those unreachable or with the wrong identity."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("check", help="dial every roster peer and report which are unreachable or not who "
                                     "the roster says")
    p.add_argument("--config", required=True, help="the node's TOML file")
    p.add_argument("--insecure", action="store_true", help="plain text (identities unchecked)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per peer (default 5)")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio

    from mpc.net import tls
    from mpc.net.grpc_transport import PeerAddress
    from mpc.node.check import check_all
    from mpc.node.config import load_node_config

    cfg = load_node_config(args.config, insecure=args.insecure)
    files = None
    roster = {}
    for e in cfg.roster:
        pin = None if args.insecure else tls.fingerprint(e.certificate.read_bytes())
        roster[e.id] = PeerAddress(e.id, e.address, e.role, pin)
    if not args.insecure:
        from mpc.node.keys import read_passphrase

        files = tls.TlsFiles.load(cfg.tls.ca, cfg.tls.certificate, cfg.tls.key,
                                  passphrase=lambda: read_passphrase(cfg.keystore, cfg.id))
    results = asyncio.run(check_all(cfg.id, roster, files, args.timeout))
    bad = [r for r in results if not r.ok]
    for r in results:
        rtt = f"  {r.rtt_ms:.2f} ms" if r.rtt_ms is not None else ""
        print(f"party {r.peer:<3} {r.address:<24} {r.status}{rtt}  {r.detail}")
    if bad:
        print(f"party {cfg.id}: {len(bad)} of {len(results)} peers not ok: "
              + ", ".join(f"party {r.peer} ({r.status})" for r in bad))
        return 1
    print(f"party {cfg.id}: all {len(results)} peers reachable and identified")
    return 0
