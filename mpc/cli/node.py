"""`mpc node --config party0.toml`: run a party node (or the dealer node) until SIGTERM."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("node", help="run a party node (gRPC peer and control services, mutual TLS)")
    p.add_argument("--config", required=True, help="the node's TOML file")
    p.add_argument("--insecure", action="store_true",
                   help="plain-text gRPC, identities unchecked: local experiments only")
    p.add_argument("--no-dp", action="store_true",
                   help="release every output EXACTLY, without budget grants (NOT differentially private): "
                        "local experiments and tests only; without it a node needs a [budget] section to run "
                        "protocols that are not DP-exempt")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio

    from mpc.node.config import load_node_config
    from mpc.node.logs import setup_logging
    from mpc.node.memory import keep_freed_memory
    from mpc.node.server import Node

    keep_freed_memory()
    setup_logging(args.log_level)
    config = load_node_config(args.config, insecure=args.insecure)

    async def main():
        node = Node(config, insecure=args.insecure, no_dp=args.no_dp)
        await node.run_until_signal()

    asyncio.run(main())
    return 0
