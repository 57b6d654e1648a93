"""Named protocols that nodes run. `default_registry()` holds the built-in ones.

Each module listed in `BUILTIN_MODULES` exposes `PROTOCOLS`, a list of `Protocol` objects.
"""

from __future__ import annotations

import importlib

from mpc.protocols.registry import JobContext, Protocol, Registry, ReleaseSpec

# Modules whose PROTOCOLS lists make up the built-in catalogue.
BUILTIN_MODULES: list[str] = [
    "mpc.protocols.stats",
    "mpc.protocols.vertical",
    "mpc.protocols.regression",
    "mpc.psi.protocol",
    "mpc.protocols.gc_eval",
]


def default_registry() -> Registry:
    """A registry with every built-in protocol (a fresh object each call: no global state)."""
    reg = Registry()
    for name in BUILTIN_MODULES:
        for protocol in importlib.import_module(name).PROTOCOLS:
            reg.register(protocol)
    return reg


__all__ = ["BUILTIN_MODULES", "JobContext", "Protocol", "Registry", "ReleaseSpec", "default_registry"]
