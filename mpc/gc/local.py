"""Both Yao parties in one process over `LocalNetwork` (tests, the CLI's local transport, benches).

`run_pair` runs the garbler and the evaluator either on one asyncio loop, or each on its own
loop in its own thread (`threads=True`): the native kernels release the GIL, so garbling of one
chunk overlaps evaluation of the previous one on a two-core machine.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import numpy as np

from mpc.gc.bristol import Circuit
from mpc.gc.yao import EVALUATOR, Evaluator, Garbler
from mpc.net.comm import Comm
from mpc.net.local import LocalNetwork


@dataclass
class PairResult:
    garbler: list | None
    evaluator: list | None
    stats: dict  # per role: the transport's counters


class LocalPair:
    """A garbler (endpoint 0) and an evaluator (endpoint 1) that keep their OT state across runs."""

    def __init__(self, job: str = "gc-local", timeout: float | None = 60.0):
        self.net = LocalNetwork(2)
        self._jobs = 0
        self.job = job
        self.timeout = timeout
        self.garbler = Garbler(Comm(self.net.endpoint(0), job=job, timeout=timeout), 1)
        self.evaluator = Evaluator(Comm(self.net.endpoint(1), job=job, timeout=timeout), 0)

    def run(self, circuit: Circuit, garbler_inputs, evaluator_inputs, *, n: int | None = None, owners=None,
            output_to=(EVALUATOR,), threads: bool = False) -> PairResult:
        """One 2PC run of N instances; both parties' results and traffic counters."""
        if n is None:  # the instance count from whichever party supplies inputs
            arrs = [np.asarray(x) for x in list(garbler_inputs) + list(evaluator_inputs)]
            n = arrs[0].shape[0] if arrs and arrs[0].ndim == 2 else 1
        before = [self.net.endpoint(i).stats.snapshot() for i in range(2)]
        g = self.garbler.run(circuit, garbler_inputs, n=n, owners=owners, output_to=output_to)
        e = self.evaluator.run(circuit, evaluator_inputs, n=n, owners=owners, output_to=output_to)
        if threads:
            gres, eres = _in_threads(g, e)
        else:
            async def both():
                return await asyncio.gather(g, e)
            gres, eres = _run(both())
        stats = {role: self.net.endpoint(i).stats.since(before[i]) for i, role in enumerate(("garbler", "evaluator"))}
        return PairResult(gres, eres, stats)


def _run(coro):
    """Run a coroutine on a fresh event loop (cheaper than asyncio.run, which installs signal
    handlers and, on Python 3.11, formats the main task's repr when it checks them)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _in_threads(*coros):
    results: list = [None] * len(coros)
    errors: list = [None] * len(coros)

    def work(i, coro):
        try:
            results[i] = _run(coro)
        except BaseException as exc:  # re-raised in the caller below
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i, c), daemon=True) for i, c in enumerate(coros)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results
