"""Core engine bench: Shamir share+reconstruct, secure products, matmul, comparisons.

`python -m bench.arith [--quick]` measures ours over the local transport (all parties in one
process, so the time is the whole simulated network's), and MPyC 0.11 (3 local processes over
TCP, when installed) on the same operation and inputs in the same run; our records carry the
throughput ratio. Times include preprocessing: dealer triples are generated inside the timed
region. Bytes and rounds are per party, for the timed operation.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import importlib.util

import numpy as np

from bench import common
from mpc.arith import FIELD
from mpc.crypto import PRG
from mpc.runtime import run_local
from mpc.sharing import Shamir

AREA = "arith"


def bench_shamir(n: int, t: int, size: int, repeats: int) -> dict:
    sh = Shamir(n, t)
    x = FIELD.random(PRG(), size)
    prg = PRG()

    def once():
        table = sh.share_matrix(x, prg)
        sh.reconstruct({i: table[i] for i in range(t + 1)})

    seconds = common.median_time(once, repeats)
    return common.record(AREA, "shamir_share_reconstruct", "ours", protocol=f"shamir n={n} t={t}", parties=n,
                         n=size, seconds=seconds, bytes_per_party=0, rounds=0, repeats=repeats, transport="none")


def run_op(parties: int, make_inputs, op, repeats: int, *, triples="dealer", threshold=None):
    """Time `op(s, inputs)` at every party (wall time across all parties), with its traffic."""

    async def program(s):
        inputs = await make_inputs(s)
        await op(s, inputs)  # warm-up (allocations, JIT-free but caches)
        marks = []
        for _ in range(repeats):
            before = s.stats.checkpoint()
            t0 = time.perf_counter()
            await op(s, inputs)
            marks.append((t0, time.perf_counter(), s.stats.since(before)))
        return marks

    results = run_local(parties, program, triples=triples, threshold=threshold)
    walls = [max(r[k][1] for r in results) - min(r[k][0] for r in results) for k in range(repeats)]
    traffic = [r[0][2] for r in results]
    return (float(np.median(walls)), max(d["bytes_sent"] for d in traffic), max(d["rounds"] for d in traffic))


def bench_mul(parties: int, size: int, repeats: int, scheme: str) -> dict:
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 2**20, size), rng.integers(0, 2**20, size)

    async def make(s):
        x = await s.input(0, xs if s.pid == 0 else None, kind="int", scheme=scheme, bound=2**20)
        y = await s.input(1, ys if s.pid == 1 else None, kind="int", scheme=scheme, bound=2**20)
        return x, y

    async def op(s, xy):
        return await (xy[0] * xy[1])

    t = (parties - 1) // 2
    secs, sent, rounds = run_op(parties, make, op, repeats, triples="dealer" if scheme == "additive" else None,
                                threshold=t if scheme == "shamir" else None)
    proto = "beaver+dealer" if scheme == "additive" else f"shamir-grr t={t}"
    return common.record(AREA, "mul", "ours", protocol=proto, parties=parties, n=size, seconds=secs,
                         bytes_per_party=sent, rounds=rounds, repeats=repeats, transport="local")


def bench_matmul(parties: int, dim: int, repeats: int, scheme: str = "additive") -> dict:
    rng = np.random.default_rng(1)
    A, B = rng.integers(0, 2**10, (dim, dim)), rng.integers(0, 2**10, (dim, dim))

    async def make(s):
        a = await s.input(0, A if s.pid == 0 else None, kind="int", scheme=scheme, bound=2**10)
        b = await s.input(1, B if s.pid == 1 else None, kind="int", scheme=scheme, bound=2**10)
        return a, b

    async def op(s, ab):
        return await (ab[0] @ ab[1])

    secs, sent, rounds = run_op(parties, make, op, repeats, triples="dealer" if scheme == "additive" else None)
    proto = "beaver-matrix+dealer" if scheme == "additive" else "shamir-grr"
    return common.record(AREA, "matmul", "ours", protocol=proto, parties=parties, n=dim, seconds=secs,
                         bytes_per_party=sent, rounds=rounds, repeats=repeats, transport="local",
                         shape=f"{dim}x{dim}")


def bench_lt(parties: int, size: int, repeats: int) -> dict:
    rng = np.random.default_rng(2)
    xs, ys = rng.integers(-(2**30), 2**30, size), rng.integers(-(2**30), 2**30, size)

    async def make(s):
        x = await s.input(0, xs if s.pid == 0 else None, kind="int")
        y = await s.input(1, ys if s.pid == 1 else None, kind="int")
        return x, y

    async def op(s, xy):
        return await xy[0].lt(xy[1])

    secs, sent, rounds = run_op(parties, make, op, repeats)
    return common.record(AREA, "lt", "ours", protocol="edabit+kogge-stone+dealer", parties=parties, n=size,
                         seconds=secs, bytes_per_party=sent, rounds=rounds, repeats=repeats, transport="local",
                         bits=32)


def mpyc_available() -> bool:
    return importlib.util.find_spec("mpyc") is not None


def run_mpyc(op: str, size: int, repeats: int, timeout: float = 900) -> dict | None:
    """MPyC 0.11 on the same operation: 3 local parties (processes over TCP)."""
    cmd = [sys.executable, "-m", "bench.peers.mpyc_arith"] + ([] if op == "share" else ["-M3"]) + \
          ["--no-log", op, str(size), str(repeats)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"  (MPyC {op} n={size} failed: {exc})", file=sys.stderr)
        return None
    line = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    res = json.loads(line)
    from mpyc import __version__ as mpyc_version

    names = {"mul": "mul", "matmul": "matmul", "lt": "lt", "share": "shamir_share_reconstruct"}
    protocol = {"share": "shamir n=3 t=1 (thresha)", "lt": "shamir secint32"}.get(op, "shamir secint64")
    return common.record(AREA, names[op], "mpyc", protocol=f"{protocol} (mpyc {mpyc_version})",
                         parties=3, n=res["n"], seconds=res["seconds"], bytes_per_party=res["bytes_per_party"],
                         rounds=None, repeats=res["repeats"], transport="local" if op != "share" else "none",
                         **({"shape": f"{size}x{size}"} if op == "matmul" else {}))


def main(argv=None) -> list[dict]:
    p = common.arg_parser(AREA, __doc__.splitlines()[0])
    p.add_argument("--no-peers", action="store_true", help="skip MPyC")
    args = p.parse_args(argv)
    quick = args.quick
    R = args.repeats or (2 if quick else 5)
    big = 10**4 if quick else 10**6
    dim = 32 if quick else 256
    cmp_n = 2000 if quick else 10**5
    peer_n = 2000 if quick else 10**4  # MPyC is slow: compare at a size it finishes in seconds
    records: list[dict] = []

    def add(rec):
        records.append(rec)
        print(f"  {rec['op']:<26} {rec['system']:<5} {rec['protocol']:<28} parties={rec['parties']} "
              f"n={rec['n']:<8} {rec['seconds'] * 1e3:9.2f} ms  {rec['ops_per_s']:.3g}/s", flush=True)
        return rec

    peers = mpyc_available() and not args.no_peers
    for n, t in ((3, 1), (5, 2)):
        add(bench_shamir(n, t, big, R))
    if peers:
        ours = add(bench_shamir(3, 1, peer_n * 10, R))
        peer = run_mpyc("share", peer_n * 10, R)
        if peer:
            common.add_ratio(ours, add(peer))
    mul = {}
    for parties, scheme in ((2, "additive"), (3, "additive"), (3, "shamir"), (5, "shamir")):
        mul[(parties, scheme)] = add(bench_mul(parties, scheme=scheme, size=big, repeats=R))
    if peers:
        peer = run_mpyc("mul", big, max(1, R // 2))
        if peer:
            add(peer)
            common.add_ratio(mul[(3, "additive")], peer)
            common.add_ratio(mul[(3, "shamir")], peer)
    mm = add(bench_matmul(3, dim, R))
    if peers:
        peer = run_mpyc("matmul", dim, max(1, R // 2))
        if peer:
            common.add_ratio(mm, add(peer))
    add(bench_lt(3, cmp_n, R))
    if peers:
        ours = add(bench_lt(3, peer_n, R))
        peer = run_mpyc("lt", peer_n, max(1, R // 2))
        if peer:
            common.add_ratio(ours, add(peer))
    path = common.write(AREA, records, args.out)
    print()
    common.print_table(records)
    print(f"\nwrote {path}")
    return records


if __name__ == "__main__":
    main()
