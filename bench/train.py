"""Bench of private training (mpc.learn): utility of DP-SGD against the targets of issue 11, and
the cost of a DP-SGD step against a plain step, beside PyTorch and Opacus when installed.

    python -m bench.train [--quick] [--skip-utility] [--skip-overhead]

Utility (op "dp_sgd_accuracy"): breast cancer (logistic regression) and digits (64→64→10 MLP),
stratified 80/20 splits with seeds 0..4, δ = 1e-6; hyper-parameters chosen per seed on a
validation split (25 %) of the training rows, never on the test split (that choice is not
charged to ε, as for the Opacus baseline of the issue). Modes: "central" (one organisation) and
"3 contributors" (rows split three ways, each Poisson-samples its own rows, distributed noise of
3 parties tolerating 1 colluder: the honest two shares carry σ, so the total noise is 1.5× the
central variance; RDP accountant). Scaling:
  * breast cancer: log(x + 10^-3) per value, then a DP standardizer (public bounds [−10, 10] on
    the log scale, a share of the budget, its event composed into the reported ε);
  * digits: pixel values divided by 16 (the data format's range 0..16: public).
  * "reference" records standardize with the pooled training statistics — NOT private, shown only
    to compare with Opacus on the inputs of the issue's baseline (which used such scaling).
Overhead (op "dp_step_overhead"): one step on a fixed batch, ours DP (clip + grid + noise +
update) against ours plain (gradient + update): logistic d=30 at batch 64, MLP 784→128→10 at
batch 256 (float32 compute); PyTorch's plain step and Opacus's DP step on one thread.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings

import numpy as np

from bench import common

AREA = "train"
DELTA = 1e-6
TARGETS = {("breast_cancer", 0.5): 0.965, ("breast_cancer", 1.0): 0.97, ("breast_cancer", 8.0): 0.978,
           ("digits", 1.0): 0.89, ("digits", 8.0): 0.965}
OVERHEAD_TARGETS = {"logistic": 1.5, "mlp_784_128_10": 3.0}


def _quiet():
    warnings.filterwarnings("ignore")
    try:
        import absl.logging

        absl.logging.set_verbosity("error")
    except ImportError:
        pass


def _rec(op, system, protocol, n, seconds, repeats, **extra):
    return common.record(AREA, op, system, protocol=protocol, parties=extra.pop("parties", 1), n=n, seconds=seconds,
                         bytes_per_party=None, rounds=None, repeats=repeats, transport="none", **extra)


# ---------------------------------------------------------------- overhead

def _median(fn, repeats):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def bench_overhead(quick: bool) -> list[dict]:
    from threadpoolctl import threadpool_limits

    from mpc.crypto import PRG
    from mpc.learn import MLP, LogisticRegression
    from mpc.learn.model import BLOCK_TARGET
    from mpc.learn.noise import GridNoise

    cases = [("logistic", LogisticRegression(30), 64, [30, 2], 2000 if not quick else 200),
             ("mlp_784_128_10", MLP([784, 128, 10], dtype=np.float32), 256, [784, 128, 10], 60 if not quick else 5)]
    out, rng, prg = [], np.random.default_rng(0), PRG()
    for name, model, batch, layers, repeats in cases:
        X = rng.normal(size=(batch, layers[0])).astype(model.dtype)
        y = rng.integers(0, model.n_classes, batch)
        p = model.init(rng)
        blocked = model.dtype == np.float32  # float32: per-record-block float32 sums (as the trainer does)
        grid = GridNoise(1.0, model.n_params, accumulation="blocked32" if blocked else "float64")
        bounds = np.arange(0, batch + 1, BLOCK_TARGET) if blocked else None
        lr, L = 0.01, float(batch)

        def plain():
            return p - (lr / L) * model.grad_sum(p, X, y)

        def dp():
            s, _ = model.clipped_grad_sum(p, X, y, 1.0, blocks=bounds)
            return p - (lr / L) * grid.noisy_sum(s, 1.0, prg)

        with threadpool_limits(1):
            t_plain, t_dp = [], []
            for _ in range(3):  # interleave to share the machine's noise between the two
                t_plain.append(_median(plain, repeats))
                t_dp.append(_median(dp, repeats))
        tp, td = min(t_plain), min(t_dp)
        proto = f"{name} batch={batch} params={model.n_params}"
        ours_plain = _rec("plain_step", "ours", proto, batch, tp, repeats, model=name)
        ours_dp = _rec("dp_step_overhead", "ours", proto, batch, td, repeats, model=name, plain_seconds=tp,
                       overhead=td / tp, overhead_target=OVERHEAD_TARGETS[name])
        out += [ours_plain, ours_dp]
        from bench.peers import torch_train

        if torch_train.available():
            tt_plain, tt_dp = torch_train.step_times(layers, batch, repeats)
            torch_plain = _rec("plain_step", "pytorch", proto, batch, tt_plain, repeats, model=name)
            opacus_dp = _rec("dp_step_overhead", "opacus", proto, batch, tt_dp, repeats, model=name,
                             plain_seconds=tt_plain, overhead=tt_dp / tt_plain)
            common.add_ratio(ours_plain, torch_plain)
            common.add_ratio(ours_dp, opacus_dp)
            out += [torch_plain, opacus_dp]
    return out


def main(argv=None) -> int:
    parser = common.arg_parser(AREA, __doc__.splitlines()[0])
    parser.add_argument("--skip-utility", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--seeds", type=int, default=None, help="number of splits (default 5; --quick: 1)")
    parser.add_argument("--datasets", default="breast_cancer,digits", help="comma-separated: breast_cancer,digits")
    parser.add_argument("--no-opacus-utility", action="store_true",
                        help="skip Opacus's accuracy runs (slow: tens of seconds per fit on a shared machine)")
    args = parser.parse_args(argv)
    _quiet()
    records = []
    if not args.skip_overhead:
        records += bench_overhead(args.quick)
        common.print_table(records)
    if not args.skip_utility:
        from bench.train_utility import bench_utility

        seeds = args.seeds if args.seeds else (1 if args.quick else 5)
        records += bench_utility(args.quick, seeds, progress=lambda line: print(line, flush=True),
                                 opacus=not args.no_opacus_utility, datasets=args.datasets.split(","))
    common.print_table(records)
    for r in records:
        if r["op"] == "dp_sgd_accuracy":
            tgt = r.get("target")
            mark = "" if tgt is None else (" (target %.1f %%: %s)" % (100 * tgt, "met" if r["accuracy"] >= tgt else "missed"))
            eps = "non-private" if r["epsilon"] is None else f"eps={r['epsilon']}"
            print(f"{r['dataset']:14s} {r['model']:10s} {r['system']:8s} {r['mode']:15s} {r['scaling']:22s} {eps:12s} "
                  f"acc {100 * r['accuracy']:.2f} ± {100 * r['accuracy_std']:.2f}{mark}")
        elif r["op"] == "dp_step_overhead":
            print(f"{r['system']:8s} {r['model']:16s} DP step {1e3 * r['seconds']:.3f} ms = {r['overhead']:.2f}x plain")
    path = common.write(AREA, records, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
