"""MPyC side of bench.arith: run as `python -m bench.peers.mpyc_arith -M3 --no-log OP N REPEATS`.

MPyC with -M3 and no -I starts all three parties as local processes talking over TCP; party 0
prints one JSON line {"op", "n", "seconds" (median), "bytes_per_party", "repeats"}.
Operations: mul (secure 64-bit integer arrays), matmul (N x N), lt (secure 32-bit integers),
share (Shamir share + recombine of N field elements with mpyc.thresha, n=3 t=1 in one process).
"""

import json
import statistics
import sys
import time

import numpy as np
from mpyc.runtime import mpc


def _bytes_sent() -> int:
    return sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != mpc.pid and p.protocol is not None)


async def main(op: str, n: int, repeats: int) -> None:
    await mpc.start()
    rng = np.random.default_rng(0)  # synthetic data only
    times, sent = [], []
    if op == "mul":
        secint = mpc.SecInt(64)
        x = mpc.input(secint.array(rng.integers(0, 2**20, n)), senders=0)
        y = mpc.input(secint.array(rng.integers(0, 2**20, n)), senders=0)
        run = lambda: x * y  # noqa: E731
    elif op == "matmul":
        secint = mpc.SecInt(64)
        x = mpc.input(secint.array(rng.integers(0, 2**10, (n, n))), senders=0)
        y = mpc.input(secint.array(rng.integers(0, 2**10, (n, n))), senders=0)
        run = lambda: x @ y  # noqa: E731
    elif op == "lt":
        secint = mpc.SecInt(32)
        x = mpc.input(secint.array(rng.integers(-(2**30), 2**30, n)), senders=0)
        y = mpc.input(secint.array(rng.integers(-(2**30), 2**30, n)), senders=0)
        run = lambda: x < y  # noqa: E731
    else:
        raise SystemExit(f"unknown op {op}")
    await mpc.barrier()
    for _ in range(repeats + 1):
        await mpc.barrier()
        b0, t0 = _bytes_sent(), time.perf_counter()
        z = run()
        await mpc.barrier(z)
        await mpc.gather(z)
        times.append(time.perf_counter() - t0)
        sent.append(_bytes_sent() - b0)
    await mpc.shutdown()
    if mpc.pid == 0:
        print(json.dumps({"op": op, "n": n, "seconds": statistics.median(times[1:]),
                          "bytes_per_party": statistics.median(sent[1:]), "repeats": repeats}), flush=True)


def share_local(n: int, repeats: int) -> None:
    from mpyc import thresha
    from mpyc.finfields import GF

    field = GF(2**61 - 1)
    secrets = [int(v) for v in np.random.default_rng(0).integers(0, 2**60, n)]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        shares = thresha.random_split(field, secrets, 1, 3)
        thresha.recombine(field, [(i + 1, shares[i]) for i in range(2)])
        times.append(time.perf_counter() - t0)
    print(json.dumps({"op": "share", "n": n, "seconds": statistics.median(times), "bytes_per_party": 0,
                      "repeats": repeats}), flush=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    op, n, repeats = args[-3], int(args[-2]), int(args[-1])
    if op == "share":
        share_local(n, repeats)
    else:
        mpc.run(main(op, n, repeats))
