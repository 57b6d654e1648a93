"""Run n parties of an SPMD program in one process over a `LocalNetwork`.

`run_local(n, program)` builds n sessions and their triple source, runs
`await program(session)` at every party concurrently, and returns the list of results in party
order. `triples`: "dealer" (a trusted dealer at its own endpoint, the default), "gilboa"
(OT-based triples, no third party: `mpc.preprocessing.gilboa`), or None (no triple source:
linear operations and Shamir arithmetic only). With `threads=True` each party (and the dealer) runs its own event loop in
its own thread, so native kernels (which release the GIL) use several cores.
If a party fails, its endpoint leaves the network, the others fail with
`PartyUnreachable`, and the first error is raised.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from mpc.net.local import LocalNetwork
from mpc.errors import ParameterError
from mpc.preprocessing.dealer import Dealer, DealerTriples
from mpc.preprocessing.gilboa import GilboaTriples
from mpc.runtime.session import Session

Program = Callable[[Session], Awaitable[Any]]


def _source(kind: str | None, n: int):
    if kind == "dealer":
        return DealerTriples(n)
    if kind == "gilboa":
        return GilboaTriples()
    return None


def run_local(n: int, program: Program, *, threshold: int | None = None, triples: str | None = "dealer",
              frac_bits: int = 16, timeout: float | None = None, job: str = "local",
              threads: bool = False, trunc: str = "tuple", return_sessions: bool = False) -> list:
    """Results of `program` at parties 0..n-1 (plus the sessions, if `return_sessions`)."""
    if triples not in ("dealer", "gilboa", None):
        raise ParameterError(f"triples must be 'dealer', 'gilboa' or None, got {triples!r}")
    dealer = triples == "dealer"
    network = LocalNetwork(n + (1 if dealer else 0))
    parties = list(range(n))
    sessions: list[Session | None] = [None] * n

    async def party(i: int):
        endpoint = network.endpoint(i)
        s = Session(endpoint, job=job, parties=parties, threshold=threshold,
                    triples=_source(triples, n), frac_bits=frac_bits,
                    timeout=timeout, trunc=trunc)
        sessions[i] = s
        try:
            await s.setup()
            result = await program(s)
            await s.close()
            return result
        except BaseException:
            await endpoint.close()
            raise

    async def dealer_task():
        endpoint = network.endpoint(n)
        try:
            await Dealer(endpoint, parties, job, timeout).serve()
        except BaseException:
            await endpoint.close()
            raise

    coros = [lambda i=i: party(i) for i in range(n)]
    if dealer:
        coros.append(dealer_task)

    if threads:
        with ThreadPoolExecutor(max_workers=len(coros)) as pool:
            futures = [pool.submit(asyncio.run, make()) for make in coros]
            results = [f.result() for f in futures]
    else:
        async def main():
            return await asyncio.gather(*(make() for make in coros))

        results = asyncio.run(main())
    results = list(results[:n])
    return (results, sessions) if return_sessions else results
