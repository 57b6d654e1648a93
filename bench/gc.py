"""Garbled circuits and OT: garbling / evaluation throughput, IKNP, and AES-128 Yao 2PC wall time.

Records (bench/results/gc.json):
  garble, evaluate     AND gates/s of one native call on one core (16 AES-128 instances per call,
                       buffers allocated once), with bytes_per_and (garbled table bytes per AND)
  iknp_cot             correlated OTs/s, native kernels alone ("none") and the whole extension
                       over the in-process transport ("local"), for 1e6 and 1e7 OTs
  aes128_2pc           wall time of a full Yao run (garble, OT, evaluate, decode) for 1 AES-128 and
                       for 1,000 batched, over the local transport (one loop, and one thread per party)
  aes128_2pc (grpc)    the same through the registered gc_eval protocol on two local node processes
                       over gRPC with mutual TLS (only when mpc.node is in the build)

Run: python -m bench.gc [--quick]
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time

import numpy as np

from bench.common import arg_parser, median_time, print_table, record, write

AREA = "gc"


def _garble_eval(c, n, repeats):
    """The native calls alone (output buffers allocated once), n AES instances per call."""
    from mpc import _native
    from mpc.crypto.prg import PRG
    from mpc.gc import kernel as K

    prg = PRG()
    key, delta = os.urandom(16), K.new_delta(prg)
    p = K.plan(c)
    in0 = K.input_labels(n, c.n_inputs, prg)
    const = np.empty((n, p.n_const, 16), np.uint8)
    tables = np.zeros((n, p.n_and, 32), np.uint8)
    out0 = np.zeros((n, c.n_outputs, 16), np.uint8)
    out = np.zeros_like(out0)
    act = K.select(in0, np.zeros((n, c.n_inputs), np.uint8), delta)
    t_g = median_time(lambda: _native.gc_garble(p, key, delta, n, 0, in0, const, tables, out0, const), repeats)
    t_e = median_time(lambda: _native.gc_evaluate(p, key, n, 0, act, tables, const, out), repeats)
    ands = c.n_and * n
    common = dict(protocol="half-gates", parties=1, n=ands, repeats=repeats, transport="none",
                  bytes_per_and=tables.nbytes / ands, circuit=c.name, instances=n)
    return [record(AREA, "garble", "ours", seconds=t_g, bytes_per_party=float(tables.nbytes), rounds=0, **common),
            record(AREA, "evaluate", "ours", seconds=t_e, bytes_per_party=0.0, rounds=0, **common)]


def _iknp(n, repeats):
    from mpc import _native
    from mpc.net import Comm, LocalNetwork
    from mpc.ot.iknp import IknpReceiver, IknpSender

    m = -(-n // 128) * 128
    k0, k1, ks = (np.frombuffer(os.urandom(2048), np.uint8) for _ in range(3))
    s = os.urandom(16)
    r = np.frombuffer(os.urandom(m // 8), np.uint8)
    u = np.empty((128, m // 8), np.uint8)
    t = np.empty((m, 16), np.uint8)
    q = np.empty((m, 16), np.uint8)

    def native():
        _native.iknp_receiver_extend(k0, k1, r, m, 0, u, t)
        _native.iknp_sender_extend(ks, s, u, m, 0, q)

    t_native = median_time(native, repeats)
    net = LocalNetwork(2)
    snd = IknpSender(Comm(net.endpoint(0), job="bench"), 1)
    rcv = IknpReceiver(Comm(net.endpoint(1), job="bench"), 0)
    choices = np.frombuffer(os.urandom(n), np.uint8) & 1

    async def setup():
        await asyncio.gather(snd.setup(), rcv.setup())

    asyncio.run(setup())

    def protocol():
        async def both():
            await asyncio.gather(snd.extend(n), rcv.extend(choices))
        asyncio.run(both())

    t_proto = median_time(protocol, repeats)
    common = dict(op="iknp_cot", system="ours", protocol="IKNP (semi-honest)", parties=2, n=n, repeats=repeats,
                  rounds=1)
    return [record(AREA, seconds=t_native, bytes_per_party=16.0 * m, transport="none", **common),
            record(AREA, seconds=t_proto, bytes_per_party=16.0 * m, transport="local", **common)]


def _aes_2pc(n, repeats, threads):
    from mpc.gc import bristol as B
    from mpc.gc.local import LocalPair

    c = B.load("aes_128")
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2, (n, 128), dtype=np.uint8)
    pt = rng.integers(0, 2, (n, 128), dtype=np.uint8)
    pair = LocalPair(job="bench-aes")
    first = time.perf_counter()
    res = pair.run(c, [key], [pt], threads=threads)  # includes the one-time base OTs
    first = time.perf_counter() - first
    assert np.array_equal(res.evaluator[0], c.evaluate([key, pt])[0])
    stats = {}

    def run():
        stats.update(pair.run(c, [key], [pt], threads=threads).stats)

    sec = median_time(run, repeats, warmup=0)
    mode = "threads" if threads else "one loop"
    return record(AREA, "aes128_2pc", "ours", protocol=f"yao half-gates + IKNP ({mode})", parties=2, n=n,
                  seconds=sec, bytes_per_party=float(stats["garbler"]["bytes_sent"]),
                  rounds=stats["garbler"]["rounds"] + stats["evaluator"]["rounds"], repeats=repeats,
                  transport="local", ms_per_block=1e3 * sec / n, first_run_with_base_ot_s=first)


def _aes_2pc_grpc(n, repeats):
    """gc_eval on two local node processes over gRPC with mutual TLS (needs mpc.node); the time is
    the client's submit-to-result time of a job, so it includes the per-job setup (base OTs, spec
    agreement), unlike the local records whose OT setup is reused."""
    from mpc.cli.gc import run_on_local_nodes

    rng = np.random.default_rng(2)
    keys = [int.from_bytes(rng.bytes(16), "big") for _ in range(n)]
    pts = [int.from_bytes(rng.bytes(16), "big") for _ in range(n)]
    _, report = run_on_local_nodes("aes_128", {"garbler": [keys], "evaluator": [pts]}, ("garbler", "evaluator"),
                                   ("evaluator",), n, repeats=repeats + 1)
    walls = report["wall_s"][1:]  # the first job warms the nodes up
    sec = float(np.median(walls))
    return record(AREA, "aes128_2pc", "ours", protocol="yao half-gates + IKNP (gc_eval on 2 nodes)", parties=2,
                  n=n, seconds=sec, bytes_per_party=float(report[0]["bytes_sent"]),
                  rounds=report[0]["rounds"] + report[1]["rounds"], repeats=repeats, transport="grpc",
                  ms_per_block=1e3 * sec / n)


def main(argv=None) -> None:
    args = arg_parser(AREA, __doc__.splitlines()[0]).parse_args(argv)
    from mpc.gc import bristol as B
    from mpc.gc.kernel import require_aes

    require_aes()
    quick = args.quick
    reps = args.repeats or (3 if quick else 7)
    aes = B.load("aes_128")
    records = []
    records += _garble_eval(aes, 16, reps if quick else 5 * reps)
    for n in ((10**5,) if quick else (10**6, 10**7)):
        records += _iknp(n, reps if n < 10**7 else max(3, reps // 2))
    for n in ((1, 50) if quick else (1, 1000)):
        for threads in (False, True):
            records.append(_aes_2pc(n, reps if n == 1 else max(3, reps // 2), threads))
    if importlib.util.find_spec("mpc.node") is None:
        print("no gRPC records: the node daemon (mpc.node) is not in this build")
    else:
        for n in ((1, 50) if quick else (1, 1000)):
            records.append(_aes_2pc_grpc(n, 2 if quick else 3))
    print_table(records)
    for r in records:
        if r["op"] == "aes128_2pc":
            first = r.get("first_run_with_base_ot_s")
            extra = f" (first run with base OTs {1e3 * first:.1f} ms)" if first is not None else ""
            print(f"aes128_2pc n={r['n']} {r['protocol']}: {r['ms_per_block']:.3f} ms per block{extra}")
        if r["op"] == "garble":
            print(f"garbling: {r['ops_per_s'] / 1e6:.1f} M AND/s, {r['bytes_per_and']:.0f} bytes per AND")
    print(f"wrote {write(AREA, records, args.out)}")


if __name__ == "__main__":
    main()
