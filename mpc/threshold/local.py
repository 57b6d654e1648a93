"""Run n parties of a protocol in one process over `LocalNetwork` (tests, `--local N`, benches).

Unlike `mpc.runtime.run_local` (which builds full Sessions for parties 0..n-1, with seed
setup and a dealer), this runs Comm-level protocols on any subset of the endpoints (e.g.
the signers {0, 2} of a 3-party key, whose ids must stay those of the key) and can return
each party's exception (tests of cheating parties). The protocols are the same code that
runs between nodes.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Sequence

from mpc.net import Comm, LocalNetwork


def run_parties(n_endpoints: int, program: Callable[[Comm], Awaitable], *, parties: Sequence[int] | None = None,
                job: str = "local", timeout: float | None = 60.0, return_exceptions: bool = False) -> list:
    """Run `program(comm)` for each of `parties` (default all endpoints) on one event loop.

    Returns the results in party order; with `return_exceptions`, a party that raised gives
    its exception instead (so tests can check what honest parties concluded about a cheater).
    """
    net = LocalNetwork(n_endpoints)
    parties = list(range(n_endpoints)) if parties is None else sorted(parties)

    async def main():
        comms = [Comm(net.endpoint(p), job=job, parties=parties, timeout=timeout) for p in parties]
        return await asyncio.gather(*(program(c) for c in comms), return_exceptions=return_exceptions)

    return list(asyncio.run(main()))
