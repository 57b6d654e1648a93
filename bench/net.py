"""Network bench: real node processes over gRPC with mutual TLS on loopback.

    python -m bench.net [--quick] [--no-peers]

Measures (records in bench/results/net.json, shape as in DESIGN.md):
  - round-trip latency between two nodes: p50 and p99 of a tagged 8-byte ping-pong over the
    nodes' peer stream (the path every protocol message takes), op "rtt";
  - throughput of 3-party multiplication of n-element vectors between three node processes
    (plus the dealer's process for Beaver triples), op "mul": additive shares with Beaver
    triples from the trusted dealer, and Shamir (t=1) with GRR degree reduction (no dealer);
  - MPyC 0.11's 3 local parties on the same multiplication in the same run (when installed).
The timings are taken inside the job (after setup), the median over `repeats` products.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import common
from mpc.protocols import Protocol

AREA = "net"
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ protocols the bench nodes load

def _params(p: dict) -> dict:
    return {"n": int(p.get("n", 1000)), "repeats": int(p.get("repeats", 3)), "scheme": str(p.get("scheme", "additive"))}


async def _rtt(ctx):
    """Party 0 sends 8 bytes to party 1, which answers; `repeats` round trips, latencies in seconds."""
    comm = ctx.session.comm
    a, b = ctx.session.comm.parties[:2]
    lat = []
    for _ in range(ctx.params["repeats"]):
        tag = comm.tag("ping")
        t0 = time.perf_counter()
        if comm.pid == a:
            await comm.send(b, tag, b"\0" * 8)
            await comm.recv(b, tag, nbytes=8)
        elif comm.pid == b:
            await comm.recv(a, tag, nbytes=8)
            await comm.send(a, tag, b"\1" * 8)
        lat.append(time.perf_counter() - t0)
    return {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}


async def _mul(ctx):
    """`repeats` products of two random secret n-vectors; median seconds, bytes and rounds per product."""
    s = ctx.session
    n, scheme = ctx.params["n"], ctx.params["scheme"]
    rng = np.random.default_rng(s.pid)              # synthetic bench data, not secrets
    a, b = s.comm.parties[:2]
    x = await s.input(a, rng.integers(0, 2**20, n) if s.pid == a else None, shape=(n,), kind="int",
                      scheme=scheme, bound=2**20)
    y = await s.input(b, rng.integers(0, 2**20, n) if s.pid == b else None, shape=(n,), kind="int",
                      scheme=scheme, bound=2**20)
    await (x * y)                                   # warm-up
    times, sent, rounds = [], [], []
    for _ in range(ctx.params["repeats"]):
        before = s.stats.snapshot()
        t0 = time.perf_counter()
        await (x * y)
        times.append(time.perf_counter() - t0)
        d = s.stats.since(before)
        sent.append(d["bytes_sent"])
        rounds.append(d["rounds"])
    return {"seconds": statistics.median(times), "bytes_sent": statistics.median(sent),
            "rounds": statistics.median(rounds)}


PROTOCOLS = [
    Protocol("bench_rtt", 1, "ping-pong latency between two parties (bench)", _rtt, check_params=_params,
             needs_dealer=False),
    Protocol("bench_mul", 1, "n-element secret product, additive with dealer triples (bench)", _mul,
             check_params=_params, needs_dealer=True),
    Protocol("bench_mul_shamir", 1, "n-element secret product, Shamir GRR (bench)", _mul,
             check_params=_params, needs_dealer=False),
]


# ------------------------------------------------------------------ driver

def _cluster(root: Path):
    from mpc.node.localcluster import write_cluster

    cluster = write_cluster(root, 3, dealer=True, timeout_s=60.0, no_dp=True,   # raw speed: exact outputs
                            extra_node='protocol_modules = ["bench.net"]\nchunk_kb = 2048')
    cluster.env = {"PYTHONPATH": str(ROOT)}
    return cluster


def main(argv=None) -> list[dict]:
    p = common.arg_parser(AREA, "gRPC + mTLS node network: latency and 3-party multiplication throughput")
    p.add_argument("--no-peers", action="store_true", help="skip MPyC")
    p.add_argument("--n", type=int, default=None, help="vector length for the multiplication")
    args = p.parse_args(argv)
    n = args.n or (20_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 5)
    pings = 200 if args.quick else 2000
    records = []
    from mpc.client import Client

    with tempfile.TemporaryDirectory() as d:
        cluster = _cluster(Path(d))
        cluster.start()
        try:
            cluster.wait_ready()
            with Client.from_config(cluster.client_config) as client:
                out = client.run("bench_rtt", {}, {"repeats": pings}, parties=[0, 1], output_to=[0])
                r = out.result
                for q in ("p50", "p99"):
                    records.append(common.record(AREA, f"rtt_{q}", "ours", protocol="grpc stream, mTLS", parties=2,
                                                 n=1, seconds=r[q], bytes_per_party=8, rounds=1, repeats=pings,
                                                 transport="grpc"))
                for proto, label in (("bench_mul", "beaver+dealer"), ("bench_mul_shamir", "shamir-grr t=1")):
                    scheme = "additive" if proto == "bench_mul" else "shamir"
                    out = client.run(proto, {}, {"n": n, "repeats": repeats, "scheme": scheme}, timeout_s=120)
                    r = out.result
                    records.append(common.record(AREA, "mul", "ours", protocol=label, parties=3, n=n,
                                                 seconds=r["seconds"], bytes_per_party=r["bytes_sent"],
                                                 rounds=int(r["rounds"]), repeats=repeats, transport="grpc"))
        finally:
            cluster.stop()

    if not args.no_peers:
        from bench.arith import mpyc_available, run_mpyc

        if mpyc_available():
            peer_n = n if not args.quick else 5_000
            peer = run_mpyc("mul", peer_n, max(1, repeats // 2))
            if peer is not None:
                peer["area"] = AREA
                records.append(peer)
                for rec in records:
                    if rec["op"] == "mul" and rec["system"] == "ours":
                        common.add_ratio(rec, peer)
        else:
            print("(MPyC not installed: pip install -e '.[bench]')", file=sys.stderr)
    common.print_table(records)
    path = common.write(AREA, records, args.out)
    print(f"wrote {path}")
    return records


if __name__ == "__main__":
    main()
