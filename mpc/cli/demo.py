"""`mpc demo`: three hospital nodes, a trusted dealer and the privacy-budget service on loopback,
mutual TLS everywhere, every result differentially private.

Generates certificates in a temporary folder (the budget service's too), splits scikit-learn's
Wisconsin breast cancer dataset (shipped with the package: no download) by rows into three
hospitals' files and a held-out test split, starts the budget service (`mpc budget serve`, its
own process), three `mpc node` processes and a dealer node, sets an ε budget on each
hospital's dataset, then runs counts, means, a histogram and logistic regression through the
client library: for each job the client requests one grant per dataset, every node verifies and
redeems its grant before touching data, and adds its noise share before the result is opened.
Prints each noised secure result beside the plaintext answer with the ε spent, then the budget
left on each dataset and the verification of the ledger's hash chain.
"""

from __future__ import annotations

import sys

STATS = ["mean_radius", "mean_texture"]
FEATURES = ["worst_radius", "worst_concave_points", "worst_texture", "mean_concavity"]
SOURCE = {"mean_radius": 0, "mean_texture": 1, "mean_concavity": 6, "worst_radius": 20, "worst_texture": 21,
          "worst_concave_points": 27}
# public clipping bounds, picked from the published ranges of these Wisconsin features (the dataset
# is public); in a deployment they come from domain knowledge, never from the private rows
BOUNDS = {"worst_radius": [7.0, 30.0], "worst_concave_points": [0.0, 0.25], "worst_texture": [12.0, 45.0],
          "mean_concavity": [0.0, 0.35]}
L2 = 0.01
DELTA = 1e-5                 # per job
BUDGET = 10.0                # ε per hospital dataset
PRINCIPAL = "demo/breast-cancer/analyst"
NAMES = ["St. Mary's", "County General", "University Clinic"]


def register(sub) -> None:
    p = sub.add_parser("demo", help="3 hospital nodes + dealer + budget service on loopback with mTLS: "
                                    "differentially private statistics and logistic regression beside the "
                                    "plaintext answers")
    p.add_argument("--keep", metavar="DIR", default=None,
                   help="write certificates, configs, data, ledger and logs to DIR and keep them")
    p.add_argument("--iterations", type=int, default=150, help="gradient-descent steps for the regression")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="also write every job's results and privacy report as JSON")
    p.set_defaults(func=run)


def split_hospitals(seed: int = 7):
    """Breast cancer rows shuffled, 20% held out, the rest split by rows into three hospitals."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    bc = load_breast_cancer()
    cols = STATS + FEATURES
    X = bc.data[:, [SOURCE[f] for f in cols]]
    y = (bc.target == 0).astype(np.int64)          # 1 = malignant
    order = np.random.default_rng(seed).permutation(len(y))   # synthetic split, not a secret
    X, y = X[order], y[order]
    n_test = len(y) // 5
    test = (X[:n_test], y[:n_test])
    parts = np.array_split(np.arange(n_test, len(y)), 3)
    return [(X[idx], y[idx]) for idx in parts], test


def _write_csv(path, X, y) -> None:
    lines = [",".join(STATS + FEATURES + ["malignant"])]
    lines += [",".join(f"{v:.6g}" for v in row) + f",{int(label)}" for row, label in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")


def _jobs(X, y, iterations):
    """(title, protocol, params, ε, plaintext, how to show the secure result) for each demo job."""
    import numpy as np

    r = X[:, 0]
    edges = [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    return [
        ("patients (count)", "count", {}, 0.5, len(y), lambda o: o["count"]),
        ("malignant cases (count where malignant == 1)", "count",
         {"where": {"column": "malignant", "op": "==", "value": 1}}, 0.5, int(y.sum()), lambda o: o["count"]),
        ("mean radius (mean)", "mean", {"column": "mean_radius", "lower": 5.0, "upper": 30.0}, 1.0,
         float(np.clip(r, 5, 30).mean()), lambda o: o["mean"]),
        ("mean texture (mean)", "mean", {"column": "mean_texture", "lower": 8.0, "upper": 40.0}, 1.0,
         float(np.clip(X[:, 1], 8, 40).mean()), lambda o: o["mean"]),
        ("radius histogram, bins " + ",".join(f"{e:g}" for e in edges), "histogram",
         {"column": "mean_radius", "edges": edges}, 1.0,
         np.histogram(np.clip(r, 5, 30), bins=edges)[0].tolist(), lambda o: o.get("counts", o)),
        ("logistic regression (held-out accuracy)", "logistic_regression",
         {"features": FEATURES, "label": "malignant", "bounds": BOUNDS, "iterations": iterations, "l2": L2},
         2.0, None, None),
    ]


def _fmt(v) -> str:
    import numpy as np

    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(x) for x in np.asarray(v).reshape(-1).tolist()) + "]"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v - round(v)) > 1e-6 else str(int(round(v)))
    return str(v)


def _scale(X):
    """Features as the protocol sees them: clipped to the bounds and scaled to [-1, 1]."""
    import numpy as np

    lo = np.array([BOUNDS[f][0] for f in FEATURES])
    hi = np.array([BOUNDS[f][1] for f in FEATURES])
    return (np.clip(X, lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2)


def _features(X):
    """The regression's columns of the demo's rows (STATS first, then FEATURES)."""
    return X[:, len(STATS):]


def _plain_logistic(train, test) -> float:
    """Held-out accuracy of scikit-learn's (non-private) logistic regression on the same features."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e3, max_iter=1000).fit(_scale(_features(train[0])), train[1])
    return float((model.predict(_scale(_features(test[0]))) == test[1]).mean())


def _plain_gd(train, iterations: int):
    """The protocol's own gradient descent (piecewise sigmoid, same step and λ) in the clear, no noise."""
    import math

    import numpy as np

    Z = np.column_stack([_scale(_features(train[0])), np.ones(len(train[1]))]) / math.sqrt(len(FEATURES) + 1)
    eta, w = 1.0 / (0.25 + L2), np.zeros(len(FEATURES) + 1)
    for _ in range(iterations):
        w = w * (1 - eta * L2) - eta * Z.T @ (np.clip(0.5 + Z @ w / 4, 0, 1) - train[1]) / len(train[1])
    return {"weights": w[:-1].tolist(), "bias": float(w[-1]),
            "feature_bounds": {f: BOUNDS[f] for f in FEATURES}}


def _accuracy(model, test) -> float:
    import numpy as np

    from mpc.protocols.regression import predict

    return float(((np.asarray(predict(model, _features(test[0]))) > 0).astype(int) == test[1]).mean())


def _noise_sd(proto, privacy) -> float:
    """The sd of the noise in the shown value, from the privacy report (a mean: its derived entry)."""
    sd = {e["output"]: e["noise_std"] for e in privacy if e.get("dp")}
    return sd["mean"] if proto == "mean" else next(iter(sd.values()))


def run(args) -> int:
    import json
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    from mpc.client import Client
    from mpc.node.localcluster import write_cluster
    from mpc.node.release import warnings

    t_start = time.perf_counter()
    hospitals, test = split_hospitals()
    train = (np.vstack([h[0] for h in hospitals]), np.concatenate([h[1] for h in hospitals]))
    tmp = None
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mpc-demo-")
        root = Path(tmp.name)
    datasets = {}
    for i, (X, y) in enumerate(hospitals):
        path = root / f"hospital{i}.csv"
        _write_csv(path, X, y)
        cols = {f: "float" for f in STATS + FEATURES}
        cols["malignant"] = "int"
        datasets[i] = {"patients": {"path": path, "columns": cols,
                                    "allow": ["count", "sum", "mean", "variance", "histogram",
                                              "logistic_regression", "linear_regression"]}}
    cluster = write_cluster(root, 3, dealer=True, datasets=datasets, budget=True, principal=PRINCIPAL)
    ds_names = [f"party-{i}/patients" for i in range(3)]
    for d in ds_names:       # what `mpc budget set --scope demo --dataset party-<i>/patients --total 10` does
        cluster.budget.set_budget("demo", d, BUDGET, delta_total=1e-3)
    print(f"mpc demo: Wisconsin breast cancer (scikit-learn), {len(train[1])} training rows split across three "
          f"hospitals, {len(test[1])} held out")
    for i, (X, _) in enumerate(hospitals):
        print(f"  party {i}: {NAMES[i]:<18} {len(X):>4} rows   {cluster.addresses[i]}")
    print(f"  party 3: trusted dealer (demo convenience)   {cluster.addresses[3]}")
    print(f"  budget service (own process, ledger {cluster.budget.db.name})   {cluster.budget.address}: "
          f"epsilon {BUDGET:g} per hospital dataset for {PRINCIPAL}")
    print(f"  certificates and configs: {root} (mutual TLS, pinned roster certificates)")
    cluster.start()
    code, rows, remaining = 0, [], {}
    try:
        cluster.wait_ready(timeout=60)
        inputs = {0: "patients", 1: "patients", 2: "patients"}
        with Client.from_config(cluster.client_config) as client:
            registered = {p["name"] for p in client.protocols()}
            print(f"\n{'job':<46} {'epsilon':>7} {'secure (MPC + DP)':>22} {'plaintext':>22} {'noise sd':>9}"
                  f"   time")
            print(f"{'':<46} {'':>7} {'':>22} {'(numpy / scikit-learn)':>22}")
            for title, proto, params, eps, plain, show in _jobs(train[0], train[1], args.iterations):
                if proto not in registered:
                    print(f"{title:<46} {'not run: protocol ' + proto + ' is not registered':>46}")
                    code = 1
                    continue
                t0 = time.perf_counter()
                out = client.run(proto, inputs, params, epsilon=eps, delta=DELTA)
                secs = time.perf_counter() - t0
                row = {"title": title, "protocol": proto, "epsilon": eps, "delta": DELTA, "result": out.result,
                       "privacy": out.privacy}
                if proto == "logistic_regression":
                    secure, plain = _accuracy(out.result, test), _plain_logistic(train, test)
                    gd = _plain_gd(train, args.iterations)
                    sd = out.privacy[0]["noise_std"]
                    row.update(secure=secure, plain=plain, noise_sd=sd, plain_gd=gd,
                               plain_gd_accuracy=_accuracy(gd, test))
                    print(f"{title:<46} {eps:>7g} {secure:>22.4f} {plain:>22.4f} {sd:>9.3g}   {secs:.1f} s")
                else:
                    sd = _noise_sd(proto, out.privacy)
                    row.update(secure=show(out.result), plain=plain, noise_sd=sd)
                    print(f"{title:<46} {eps:>7g} {_fmt(show(out.result)):>22} {_fmt(plain):>22} {sd:>9.3g}   "
                          f"{secs:.1f} s")
                for line in warnings(out.privacy):
                    print(f"  {line}")
                rows.append(row)
            lr = next((r for r in rows if r["protocol"] == "logistic_regression"), None)
            if rows:
                e = rows[0]["privacy"][0]
                print(f"\nevery secure result was noised before it was opened: {e['mechanism']}, each node adds "
                      f"a noise share (holds against {e['colluders_tolerated']} colluding node); delta {DELTA:g} "
                      f"per job; a job's epsilon is split over its outputs (mean: sum and count)")
            if lr is not None:
                print(f"logistic regression: {len(FEATURES)} features ({', '.join(FEATURES)}), l2 = {L2:g}; the same "
                      f"gradient descent in the clear without noise scores {lr['plain_gd_accuracy']:.4f}; "
                      f"noise sd {lr['noise_sd']:.3g} per weight")
            status = client.budget_status(ds_names)
            print(f"\nprivacy budget left for {PRINCIPAL}:")
            for i, d in enumerate(ds_names):
                lv = status[d][0]
                remaining[d] = lv["total_limit"] - lv["total_spent"]
                print(f"  {d + ' (' + NAMES[i] + ')':<38} epsilon {remaining[d]:.4g} of {lv['total_limit']:g} left "
                      f"({lv['total_spent']:.4g} spent), delta {lv['delta_spent']:.3g} of {lv['delta_limit']:g} spent")
    finally:
        codes = cluster.stop()
        verified = cluster.budget.verify()
        print(f"ledger verify: {verified.summary()}")
        print(f"\nnodes stopped (exit codes {codes}); budget service stopped; total "
              f"{time.perf_counter() - t_start:.1f} s")
        if args.json:
            from mpc.node.jobs import plain as plain_json

            Path(args.json).write_text(json.dumps(plain_json({"jobs": rows, "remaining": remaining,
                                                               "ledger_ok": verified.ok}), indent=1))
        if tmp is not None:
            tmp.cleanup()
    if not verified.ok:
        code = 1
    if code:
        print("some jobs were not run, or the ledger does not verify", file=sys.stderr)
    return code
