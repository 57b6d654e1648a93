"""Bench of the differential-privacy layer: exact samplers (beside OpenDP when installed), the
accountant (full DP-SGD update and incremental ledger update), the budget service's grants/s.

    python -m bench.dp [--quick]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from mpc.node.process import mpc_argv

AREA = "dp"


def _rec(op, system, protocol, n, seconds, repeats, transport="none", parties=1, **extra):
    return common.record(AREA, op, system, protocol=protocol, parties=parties, n=n, seconds=seconds,
                         bytes_per_party=None, rounds=None, repeats=repeats, transport=transport, **extra)


def bench_samplers(n: int, repeats: int) -> list[dict]:
    from dp.mechanisms import samplers
    from mpc.crypto import PRG

    prg = PRG()
    out = []
    cases = [("discrete_gaussian", lambda: samplers.discrete_gaussian(3.0, n, prg), "cks20-alg3 sigma=3"),
             ("discrete_laplace", lambda: samplers.discrete_laplace(3.0, n, prg), "cks20-alg2 scale=3")]
    peers = _opendp_samplers(n)
    for op, fn, proto in cases:
        ours = _rec(op, "ours", proto, n, common.median_time(fn, repeats), repeats)
        out.append(ours)
        if op in peers:
            t = common.median_time(peers[op], max(1, repeats // 2))
            peer = _rec(op, "opendp", proto, n, t, max(1, repeats // 2))
            common.add_ratio(ours, peer)
            out.append(peer)
    return out


def _opendp_samplers(n: int) -> dict:
    try:
        import opendp.prelude as odp
    except ImportError:
        return {}
    odp.enable_features("contrib")
    dom = odp.vector_domain(odp.atom_domain(T=int), size=n)
    gauss = odp.m.make_gaussian(dom, odp.l2_distance(T=int), scale=3.0)
    lap = odp.m.make_laplace(dom, odp.l1_distance(T=int), scale=3.0)
    zeros = [0] * n
    return {"discrete_gaussian": lambda: gauss(zeros), "discrete_laplace": lambda: lap(zeros)}


def bench_accountant(repeats: int, steps: int) -> list[dict]:
    from dp import accounting, events

    step = events.SubsampledGaussianEvent(1.0, 0.01)

    def full():
        acc = accounting.RdpAccountant()
        acc.compose(events.SelfComposedEvent(step, steps))
        return acc.epsilon(1e-5)

    running = accounting.RdpAccountant()
    running.compose(step, steps)

    def incremental():
        running.compose(step, 1)
        return running.epsilon(1e-5)

    out = [_rec("accountant_full_update", "ours", f"rdp dpsgd sigma=1 q=0.01 T={steps}", 1,
                common.median_time(full, repeats), repeats),
           _rec("accountant_incremental_update", "ours", "rdp running ledger +1 step", 1,
                common.median_time(incremental, repeats * 20), repeats * 20)]
    try:
        import dp_accounting

        def google():
            acc = dp_accounting.rdp.RdpAccountant()
            acc.compose(dp_accounting.SelfComposedDpEvent(
                dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(1.0)), steps))
            return acc.get_epsilon(1e-5)

        peer = _rec("accountant_full_update", "dp_accounting", f"rdp dpsgd sigma=1 q=0.01 T={steps}", 1,
                    common.median_time(google, repeats), repeats)
        common.add_ratio(out[0], peer)
        out.append(peer)
    except ImportError:
        pass
    return out


def _start_server(db: Path, key: Path):
    proc = subprocess.Popen([*mpc_argv("budget", "serve"), "--db", str(db), "--key", str(key),
                             "--listen", "127.0.0.1:0", "--insecure"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"budget service did not start: {line!r}")
    return proc, line.split()[-1]


def bench_service(grants: int, clients_list: list[int]) -> list[dict]:
    """Grants/s of a `mpc budget serve` subprocess; the clients are grpc.aio stubs in this process
    (one channel each, all concurrent), so that the client side is not what is measured."""
    import asyncio

    import grpc

    from dp.budget import grants as g
    from dp.budget.ledger import Ledger
    from dp.v1 import budget_pb2, budget_pb2_grpc

    req = budget_pb2.GrantRequest(principal="bench/p/a", dataset="ds", epsilon=1e-6, delta=0.0,
                                  job_hash=hashlib.sha256(b"bench job").digest(), protocol="bench")

    async def measure(addr: str, clients: int, per: int) -> float:
        chans = [grpc.aio.insecure_channel(addr) for _ in range(clients)]
        stubs = [budget_pb2_grpc.BudgetStub(c) for c in chans]
        await asyncio.gather(*(s.RequestGrant(req) for s in stubs))  # connect and warm up

        async def run(stub):
            for _ in range(per):
                await stub.RequestGrant(req)

        t0 = time.perf_counter()
        await asyncio.gather(*(run(s) for s in stubs))
        seconds = time.perf_counter() - t0
        for c in chans:
            await c.close()
        return seconds

    out = []
    with tempfile.TemporaryDirectory() as d:
        db, key = Path(d) / "ledger.sqlite", Path(d) / "service.key"
        with Ledger(db, create=True) as led:
            led.set_budget("bench", "*", 1e9)
        g.load_or_create_key(key)
        proc, addr = _start_server(db, key)
        try:
            for clients in clients_list:
                per = max(1, grants // clients)
                seconds = asyncio.run(measure(addr, clients, per))
                out.append(_rec("budget_grant", "ours", f"grpc sqlite-wal {clients} clients", per * clients,
                                seconds, 1, transport="grpc", parties=clients))
        finally:
            proc.terminate()
            proc.wait(10)
    return out


def main(argv=None) -> int:
    args = common.arg_parser(AREA, __doc__).parse_args(argv)
    quick = args.quick
    repeats = args.repeats or (2 if quick else 5)
    n = 100_000 if quick else 1_000_000
    # the samplers (with OpenDP's long runs) last: after them, the accountant (dp-accounting too)
    # and the in-process gRPC clients of the service bench measure up to twice as slow in this
    # process, which says nothing about either
    records = bench_accountant(repeats, 10_000)
    records += bench_service(400 if quick else 5000, [1, 50])
    records += bench_samplers(n, repeats)
    common.print_table(records)
    print(f"wrote {common.write(AREA, records, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
