"""Run a registered protocol with n parties in one process (tests, simulation, benches).

`release` defaults to `plain_release`, which opens the value to the output parties WITHOUT
differential-privacy noise: it is for comparing against plaintext in tests. Deployed nodes pass
the DP layer's release instead, so no output leaves without noise.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from mpc.protocols import default_registry
from mpc.protocols.registry import JobContext, ReleaseSpec
from mpc.runtime import run_local


def plain_release(output_to):
    """A release that opens to `output_to` with no noise (tests and simulation only)."""

    async def release(x, spec: ReleaseSpec):
        return await x.session.open(x, to=list(output_to))

    return release


def run_protocol_local(name: str, datasets: Mapping[int, Mapping[str, np.ndarray]], params: dict, *,
                       parties: int | None = None, output_to=(0,), release_factory=plain_release,
                       timeout: float | None = 60, threads: bool = False, tables: Mapping[int, Any] | None = None,
                       dataset_names: Mapping[int, str] | None = None) -> list[Any]:
    """Each party's result of protocol `name` (None at non-output parties).

    `tables[p]`: party p's store of joined tables (`mpc.psi.tables.JoinedTables`);
    `dataset_names[p]`: the name of p's dataset (default "local").
    """
    protocol = default_registry().get(name)
    checked = protocol.check_params(dict(params))
    n = parties or max(2, max(datasets) + 1)
    contributors = tuple(sorted(datasets))

    async def program(s):
        ctx = JobContext(session=s, params=checked, data=datasets.get(s.pid), contributors=contributors,
                         output_to=tuple(output_to), release=release_factory(output_to),
                         dataset=(dataset_names or {}).get(s.pid, "local") if s.pid in datasets else None,
                         tables=(tables or {}).get(s.pid))
        return await protocol.run(ctx)

    return run_local(n, program, triples="dealer" if protocol.needs_dealer else None, timeout=timeout,
                     threads=threads)
