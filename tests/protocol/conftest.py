"""Helpers for multi-party tests on the in-process network."""

import numpy as np

from mpc.runtime import run_local


def run(n, program, **kw):
    """Run `program` at n parties with a short timeout so a protocol bug fails instead of hanging."""
    kw.setdefault("timeout", 20)
    return run_local(n, program, **kw)


def same_everywhere(results):
    first = results[0]
    for r in results[1:]:
        np.testing.assert_array_equal(np.asarray(r), np.asarray(first))
    return first
