"""Bench of mpc.he beside raw TenSEAL on the same operations, parameters and inputs, in one run.

`python -m bench.he [--quick]` prints a table and writes bench/results/he.json. Records carry
system "ours" (mpc.he) or "tenseal" (the same algorithm written directly against TenSEAL), and on
ours `ratio` = our median time / raw TenSEAL's for the same op (≤ 1.1 is the target; < 1 is
faster), `ratio_kind` = "time". `cpu_seconds` is the process CPU time of one run (TenSEAL uses
several threads). Ops: encrypted inference of a 30-feature logistic model (column-major, client
encrypts, evaluator evaluates, client decrypts) and, for reference, TenSEAL's row-major packing
(one ciphertext per row, `dot`) on a sample of rows; HE aggregation of K clients × d floats end to end
(encrypt, serialise, sum, decrypt); with --full also the DP release path (BFV exact and CKKS
flooded) and encrypted training on breast cancer beside plaintext training of the same polynomial.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.common import arg_parser, print_table, record, write

AREA = "he"


def _timed(fn, repeats):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def _pair(op, n, ours_fn, raw_fn, repeats, **extra):
    tr, cr, _ = _timed(raw_fn, repeats)
    to, co, _ = _timed(ours_fn, repeats)
    raw = record(AREA, op, "tenseal", protocol="ckks", parties=1, n=n, seconds=tr, bytes_per_party=None, rounds=None,
                 repeats=repeats, transport="none", cpu_seconds=cr, **extra)
    ours = record(AREA, op, "ours", protocol="ckks", parties=1, n=n, seconds=to, bytes_per_party=None, rounds=None,
                  repeats=repeats, transport="none", cpu_seconds=co, ratio_to="tenseal", ratio=to / tr,
                  ratio_kind="time", **extra)
    return [ours, raw]


def bench_inference(rows: int, repeats: int) -> list[dict]:
    import tenseal as ts

    from mpc.he import HEContext, Model, ckks_params, decrypt_rows, encrypt_rows, infer

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (rows, 30))
    model = Model.logistic(rng.normal(0, 0.15, 30), 0.1)
    params = ckks_params(model.depth, 16, min(rows, 4096), max_value=64)
    key = HEContext.generate(params)
    pub = key.public()
    w, b, coeffs = model.layers[0][0][0], float(model.layers[0][1][0]), list(model.output.coeffs)

    def ours():
        return decrypt_rows(key, infer(pub, model, encrypt_rows(pub, x)))

    def raw():
        out = []
        for r in range(0, rows, params.slots):
            cols = [ts.ckks_vector(pub.ts, x[r:r + params.slots, j].tolist()) for j in range(30)]
            acc = None
            for c, wj in zip(cols, w):
                t = c * float(wj)
                acc = t if acc is None else acc.add_(t)
            acc.add_(b)
            acc.polyval_(coeffs)
            acc.link_context(key.ts)
            out.append(acc.decrypt())
        return out

    err = float(np.max(np.abs(ours()[:, 0] - model.poly_forward(x)[:, 0])))
    recs = _pair("logistic-infer-30f", rows, ours, raw, repeats, poly_modulus_degree=params.poly_modulus_degree,
                 max_abs_error=err, packing="column-major")
    # TenSEAL's tutorial packing (one ciphertext per row, dot = multiply + rotate-and-sum), on a sample
    kg = HEContext.generate(params, galois=True)
    sample = min(rows, 64)

    def rowmajor():
        for i in range(sample):
            v = ts.ckks_vector(kg.ts, x[i].tolist()).dot(w.tolist())
            v.add_(b)
            v.polyval_(coeffs)
            v.decrypt()

    t, c, _ = _timed(rowmajor, 1)
    recs.append(record(AREA, "logistic-infer-30f-rowmajor", "tenseal", protocol="ckks", parties=1, n=sample,
                       seconds=t, bytes_per_party=None, rounds=None, repeats=1, transport="none", cpu_seconds=c,
                       packing="row-major (one ciphertext per row)", seconds_per_4096_rows=t * 4096 / sample))
    return recs


def bench_aggregation(clients: int, dims: int, repeats: int) -> list[dict]:
    import tenseal as ts

    from mpc.he import CKKSParams, HEContext
    from mpc.he import aggregate as ag

    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (clients, dims)) * 0.01
    params = CKKSParams(8192, (60, 40, 40, 60), 40)  # TenSEAL's usual parameters, for both systems
    key = HEContext.generate(params, relin=False)
    pub_bytes = key.to_bytes()
    pub = HEContext.from_bytes(pub_bytes, evaluator=True)

    def ours():
        blobs = [ag.encrypt_contribution(pub, v, clip=1e6, frac_bits=30).to_bytes() for v in x]
        total = ag.aggregate_bytes(pub_bytes, blobs, dims=dims, clip=1.0)
        return ag.decrypt_vector(key, ag.EncryptedVector.from_bytes(key, total, dims=dims))

    def raw():
        blobs = [ts.ckks_vector(pub.ts, v.tolist()).serialize() for v in x]
        ctx = ts.context_from(pub.ts.serialize())
        acc = ts.ckks_vector_from(ctx, blobs[0])
        for b in blobs[1:]:
            acc.add_(ts.ckks_vector_from(ctx, b))
        acc.link_context(key.ts)
        return acc.decrypt()

    err = float(np.max(np.abs(ours() - x.sum(axis=0))))
    return _pair(f"aggregate-{clients}x{dims}", clients * dims, ours, raw, repeats, clients=clients, dims=dims,
                 max_abs_error=err)


def bench_release(clients: int, dims: int) -> list[dict]:
    from mpc.he import HEContext, bfv_params, ckks_sum_params
    from mpc.he import aggregate as ag
    from mpc.he import release as rl

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (clients, dims)) * 0.01
    out = []
    for params in (bfv_params(dims, 40, additions=clients), ckks_sum_params(dims, 20, 2 ** 20, addends=clients)):
        key = HEContext.generate(params, relin=False)
        pub_bytes = key.to_bytes()
        pub = HEContext.from_bytes(pub_bytes, evaluator=True)

        def run():
            blobs = [ag.encrypt_contribution(pub, v, clip=1.0).to_bytes() for v in x]
            noised, entry = rl.noise_sum_bytes(pub_bytes, blobs, dims=dims, output="sum", epsilon=1.0, delta=1e-6,
                                               clip=1.0)
            return rl.release_bytes(key, noised, entry, dims=dims)

        t, c, (vals, entry) = _timed(run, 1)
        out.append(record(AREA, f"aggregate-dp-{clients}x{dims}", "ours", protocol=params.scheme, parties=clients, n=clients * dims,
                          seconds=t, bytes_per_party=None, rounds=None, repeats=1, transport="none", cpu_seconds=c,
                          dp_noise_scale=entry["noise_scale"], flooding_sigma=entry.get("flooding_sigma", 0.0),
                          exact=entry["exact"], delta_effective=entry["delta_effective"]))
    return out


def bench_training(iterations: int, features: int) -> list[dict]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    from mpc.he import HEContext, ckks_params, sigmoid_poly
    from mpc.he import training as tr

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0))[:, :features]
    sig = sigmoid_poly(3, 8.0)
    params = ckks_params(tr.training_depth(iterations, sig), 12, len(x), max_value=16)
    c0, t0 = time.process_time(), time.perf_counter()
    key = HEContext.generate(params, galois=True)
    pub = key.public()
    w = tr.decrypt_weights(key, tr.train(pub, tr.encrypt_dataset(pub, x, y), iterations=iterations, sigmoid=sig))
    t, c = time.perf_counter() - t0, time.process_time() - c0
    ref = tr.plain_train(x, y, iterations=iterations, sigmoid=sig)
    sk = LogisticRegression(max_iter=1000).fit(x, y).score(x, y)
    return [record(AREA, f"train-logistic-breast-cancer-{features}f", "ours", protocol="ckks", parties=1, n=len(x),
                   seconds=t, bytes_per_party=None, rounds=None, repeats=1, transport="none", cpu_seconds=c,
                   iterations=iterations, poly_modulus_degree=params.poly_modulus_degree,
                   accuracy=tr.accuracy(w, x, y), plain_same_polynomial_accuracy=tr.accuracy(ref, x, y),
                   sklearn_accuracy=sk, max_weight_error=float(np.max(np.abs(w - ref))))]


def main(argv=None) -> int:
    p = arg_parser(AREA, __doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also the DP release path and encrypted training (minutes)")
    args = p.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    records = bench_inference(256 if args.quick else 4096, repeats)
    records += bench_aggregation(5 if args.quick else 100, 256 if args.quick else 4096, repeats)
    if args.full:
        records += bench_release(100, 4096)
        records += bench_training(2, 30)
    print_table(records)
    print(f"wrote {write(AREA, records, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
