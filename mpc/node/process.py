"""How the engine starts its own helper processes (local clusters, the demo, benches)."""

from __future__ import annotations

import sys


def mpc_argv(*args: str) -> list[str]:
    """`python -P -m mpc ARGS`: -P keeps the current directory off sys.path, so a process started
    from a source checkout runs the installed package (with its built native module and gRPC
    stubs), not the unbuilt sources beside it."""
    return [sys.executable, "-P", "-m", "mpc", *args]
