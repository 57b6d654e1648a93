"""Bench of the public-key layer: DKG, FROST signing, threshold decryption, PSI, key-store unlock.

`python -m bench.threshold [--quick]` prints a table and writes bench/results/threshold.json.
Everything runs in-process over LocalNetwork. DKG, signing and decryption run all parties
on one event loop (the time is that of all n parties' work on one core). PSI runs each
party in its own thread with its own event loop (libsodium calls release the GIL), and
reports items per second per party both by wall time (`ops_per_s`) and by each party's own
CPU time (`cpu_items_per_s`, the one-core figure that does not depend on other load).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time

from bench.common import arg_parser, median_time, print_table, record, write
from mpc.net import Comm, LocalNetwork

AREA = "threshold"


def _run_all(n, parties, make):
    """Run make(comm) for `parties` of an n-endpoint network on one loop; (results, stats of first)."""
    net = LocalNetwork(n)

    async def main():
        comms = [Comm(net.endpoint(p), job="bench", parties=parties, timeout=120) for p in parties]
        return await asyncio.gather(*(make(c) for c in comms))

    return asyncio.run(main()), net.endpoint(parties[0]).stats


def bench_dkg(n: int, repeats: int) -> dict:
    from mpc.threshold.dkg import dkg

    t = (n - 1) // 2
    parties = list(range(n))
    _, stats = _run_all(n, parties, lambda c: dkg(c, t))
    sec = median_time(lambda: _run_all(n, parties, lambda c: dkg(c, t)), repeats)
    return record(AREA, "dkg", "ours", protocol=f"pedersen-feldman t={t}", parties=n, n=1, seconds=sec,
                  bytes_per_party=stats.bytes_sent, rounds=stats.rounds, repeats=repeats, transport="local",
                  threshold=t)


def bench_sign(n: int, repeats: int) -> dict:
    from mpc.crypto import group as G
    from mpc.threshold.keys import deal
    from mpc.threshold.signing import frost_sign

    t = (n - 1) // 2
    keys = deal(G.random_scalar(), n, t)
    signers = list(range(t + 1))
    go = lambda: _run_all(n, signers, lambda c: frost_sign(c, keys[c.pid], b"ledger head 0123456789abcdef"))
    _, stats = go()
    sec = median_time(go, repeats)
    return record(AREA, "frost_sign", "ours", protocol=f"frost-ed25519-sha512 t={t}", parties=t + 1, n=1,
                  seconds=sec, bytes_per_party=stats.bytes_sent, rounds=stats.rounds, repeats=repeats,
                  transport="local", key_parties=n)


def bench_decrypt(n: int, repeats: int) -> dict:
    from mpc.crypto import group as G
    from mpc.threshold import elgamal
    from mpc.threshold.keys import deal

    t = (n - 1) // 2
    keys = deal(G.random_scalar(), n, t)
    blob = elgamal.encrypt(keys[0].group_key, os.urandom(32))
    c1 = elgamal.hybrid_c1(blob)
    dec = list(range(t + 1))

    def go():
        res, st = _run_all(n, dec, lambda c: elgamal.threshold_decrypt(c, keys[c.pid], [c1]))
        elgamal.decrypt_hybrid(blob, res[0].shared[0])
        return st

    stats = go()
    sec = median_time(go, repeats)
    return record(AREA, "threshold_decrypt", "ours", protocol=f"elgamal-hybrid chaum-pedersen t={t}",
                  parties=t + 1, n=1, seconds=sec, bytes_per_party=stats.bytes_sent, rounds=stats.rounds,
                  repeats=repeats, transport="local", key_parties=n)


def _psi_once(items: int):
    from mpc.psi import psi

    x = [os.urandom(12) for _ in range(items)]
    y = x[: items // 2] + [os.urandom(12) for _ in range(items - items // 2)]
    net = LocalNetwork(2)
    out = [None, None]

    def party(p):
        async def main():
            return await psi(Comm(net.endpoint(p), job="bench", timeout=3600), x if p == 0 else y)

        out[p] = asyncio.run(main())

    threads = [threading.Thread(target=party, args=(p,)) for p in (0, 1)]
    c0, t0 = time.process_time(), time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if out[0] is None or out[0].size != items // 2:
        raise RuntimeError("PSI bench run failed or gave a wrong intersection")
    return wall, cpu / 2, net.endpoint(1).stats   # CPU: the process's (both parties, worker threads too) / 2


def bench_psi(items: int, repeats: int) -> dict:
    runs = [_psi_once(items) for _ in range(repeats)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    return record(AREA, "psi", "ours", protocol="ecdh-ed25519 members", parties=2, n=items, seconds=wall,
                  bytes_per_party=runs[0][2].bytes_sent, rounds=runs[0][2].rounds, repeats=repeats,
                  transport="local", items_per_side=items, cpu_seconds_per_party=cpu,
                  cpu_items_per_s=items / cpu if cpu > 0 else None, target_items_per_s=10_000)


def bench_psi_ops(items: int, repeats: int) -> list[dict]:
    """Per-item cost of PSI's libsodium calls (one thread): where a party's time goes."""
    from mpc.crypto import group as G

    data = [os.urandom(12) for _ in range(items)]
    edwards = G.hash_many(data, b"bench")
    points = G.hash_many_montgomery(data, b"bench")
    k = G.x25519_scalar()
    ops = [("psi_op_from_uniform", "crypto_core_ed25519_from_uniform (SHA-512 + Elligator 2)",
            lambda: G.hash_many(data, b"bench")),
           ("psi_op_hash_montgomery", "from_uniform + crypto_sign_ed25519_pk_to_curve25519 (subgroup check)",
            lambda: G.hash_many_montgomery(data, b"bench")),
           ("psi_op_ed25519_mul", "crypto_scalarmult_ed25519_noclamp (checks the input point)",
            lambda: G.mul_many(G.random_scalar(), edwards)),
           ("psi_op_x25519", "crypto_scalarmult (X25519 ladder, no subgroup check)",
            lambda: G.x25519_many(k, points))]
    out = []
    for op, what, fn in ops:
        sec = median_time(fn, repeats)
        out.append(record(AREA, op, "ours", protocol=what, parties=1, n=items, seconds=sec, bytes_per_party=None,
                          rounds=None, repeats=repeats, transport="none", us_per_item=1e6 * sec / items))
    return out


def bench_unlock(repeats: int) -> dict:
    from mpc.keystore import KeyStore

    with tempfile.TemporaryDirectory() as d:
        ks = KeyStore(os.path.join(d, "ks"))
        ks.put("party0", os.urandom(300), "bench passphrase", kind="threshold-key-share")
        sec = median_time(lambda: ks.get("party0", "bench passphrase"), repeats, warmup=0)
    return record(AREA, "keystore_unlock", "ours", protocol="scrypt n=2^17 r=8 p=1 + aes-256-gcm", parties=1, n=1,
                  seconds=sec, bytes_per_party=None, rounds=None, repeats=repeats, transport="none")


def main(argv=None) -> int:
    args = arg_parser(AREA, __doc__.splitlines()[0]).parse_args(argv)
    reps = args.repeats or (1 if args.quick else 3)
    records = [bench_dkg(n, reps) for n in (3, 5, 10)]
    records += [bench_sign(n, reps) for n in (3, 5)]
    records.append(bench_decrypt(3, reps))
    for items in ((1_000,) if args.quick else (10_000, 100_000)):
        records.append(bench_psi(items, 1 if items >= 100_000 else reps))
    records += bench_psi_ops(1_000 if args.quick else 10_000, reps)
    records.append(bench_unlock(reps))
    print_table(records)
    us = {r["op"]: r["us_per_item"] for r in records if r["op"].startswith("psi_op_")}
    per_item = us["psi_op_hash_montgomery"] + 2 * us["psi_op_x25519"]
    print(f"psi per item and party: hash {us['psi_op_hash_montgomery']:.1f} us (of which the Edwards->Montgomery "
          f"map {us['psi_op_hash_montgomery'] - us['psi_op_from_uniform']:.1f} us) + 2 x X25519 "
          f"{2 * us['psi_op_x25519']:.1f} us = {per_item:.1f} us -> at most {1e6 / per_item:.0f} items/s per core")
    for r in records:
        if r["op"] == "psi":
            print(f"psi n={r['n']}: {r['ops_per_s']:.0f} items/s per party (wall), "
                  f"{r['cpu_items_per_s']:.0f} items/s per party-core (CPU time); target 10000")
    path = write(AREA, records, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
