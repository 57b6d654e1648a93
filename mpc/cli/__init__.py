"""The `mpc` command. Each sub-command lives in its own module with a `register(subparsers)`.

Registration is cheap (no heavy imports); each handler imports what it needs when it runs.
Errors the engine raises on purpose (`MPCError`) are printed as one clear line, exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under mpc.cli that register sub-commands, in the order `mpc --help` lists them.
COMMAND_MODULES = ["info", "demo", "node", "check", "certs", "run", "keys", "psi", "dp", "budget", "gc", "he"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mpc",
        description="Secure multi-party computation with differential privacy and budget accounting.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"mpc.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mpc.errors import MPCError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except MPCError as exc:
        print(f"mpc {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mpc {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
