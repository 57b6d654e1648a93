"""`mpc demo`: three hospital nodes and a trusted dealer on loopback, mutual TLS, real jobs.

Generates certificates in a temporary folder, splits scikit-learn's Wisconsin breast cancer
dataset (shipped with the package: no download) by rows into three hospitals' files and a
held-out test split, starts three `mpc node` processes and a dealer node, runs counts, means,
a histogram and logistic regression training through the client library, prints every secure
result beside the plaintext answer, then stops the nodes.
"""

from __future__ import annotations

import sys

FEATURES = ["mean_radius", "mean_texture", "mean_smoothness", "mean_concavity"]
SOURCE = {"mean_radius": 0, "mean_texture": 1, "mean_smoothness": 4, "mean_concavity": 6}
BOUNDS = {"mean_radius": [5.0, 30.0], "mean_texture": [8.0, 40.0], "mean_smoothness": [0.05, 0.17],
          "mean_concavity": [0.0, 0.45]}


def register(sub) -> None:
    p = sub.add_parser("demo", help="3 hospital nodes + dealer on loopback with mTLS: secure statistics and "
                                    "logistic regression beside the plaintext answers")
    p.add_argument("--keep", metavar="DIR", default=None,
                   help="write certificates, configs, data and logs to DIR and keep them")
    p.add_argument("--iterations", type=int, default=150, help="gradient-descent steps for the regression")
    p.set_defaults(func=run)


def split_hospitals(seed: int = 7):
    """Breast cancer rows shuffled, 20% held out, the rest split by rows into three hospitals."""
    import numpy as np
    from sklearn.datasets import load_breast_cancer

    bc = load_breast_cancer()
    X = bc.data[:, [SOURCE[f] for f in FEATURES]]
    y = (bc.target == 0).astype(np.int64)          # 1 = malignant
    order = np.random.default_rng(seed).permutation(len(y))   # synthetic split, not a secret
    X, y = X[order], y[order]
    n_test = len(y) // 5
    test = (X[:n_test], y[:n_test])
    parts = np.array_split(np.arange(n_test, len(y)), 3)
    return [(X[idx], y[idx]) for idx in parts], test


def _write_csv(path, X, y) -> None:
    lines = [",".join(FEATURES + ["malignant"])]
    lines += [",".join(f"{v:.6g}" for v in row) + f",{int(label)}" for row, label in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")


def _jobs(train_X, train_y, iterations):
    """(title, protocol, params, plaintext, how to show the secure result) for each demo job."""
    import numpy as np

    r = train_X[:, 0]
    edges = [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    return [
        ("patients (count)", "count", {}, len(train_y), lambda o: o["count"]),
        ("malignant cases (count where malignant == 1)", "count",
         {"where": {"column": "malignant", "op": "==", "value": 1}}, int(train_y.sum()), lambda o: o["count"]),
        ("mean radius (mean)", "mean", {"column": "mean_radius", "lower": 5.0, "upper": 30.0},
         float(np.clip(r, 5, 30).mean()), lambda o: o["mean"]),
        ("mean texture (mean)", "mean", {"column": "mean_texture", "lower": 8.0, "upper": 40.0},
         float(np.clip(train_X[:, 1], 8, 40).mean()), lambda o: o["mean"]),
        ("radius histogram, bins " + ",".join(f"{e:g}" for e in edges), "histogram",
         {"column": "mean_radius", "edges": edges},
         np.histogram(np.clip(r, 5, 30), bins=edges)[0].tolist(), lambda o: o.get("counts", o)),
        ("logistic regression (held-out accuracy)", "logistic_regression",
         {"features": FEATURES, "label": "malignant", "bounds": BOUNDS, "iterations": iterations}, None, None),
    ]


def _fmt(v) -> str:
    import numpy as np

    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_fmt(x) for x in np.asarray(v).reshape(-1).tolist()) + "]"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v - round(v)) > 1e-6 else str(int(round(v)))
    return str(v)


def _plain_logistic(train, test, iterations):
    """The same model trained in the clear (scikit-learn) on the same scaled features."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    lo = np.array([BOUNDS[f][0] for f in FEATURES])
    hi = np.array([BOUNDS[f][1] for f in FEATURES])

    def scale(X):
        return (np.clip(X, lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2)

    model = LogisticRegression(C=1e3, max_iter=1000).fit(scale(train[0]), train[1])
    return float((model.predict(scale(test[0])) == test[1]).mean())


def run(args) -> int:
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    from mpc.client import Client
    from mpc.node.localcluster import write_cluster

    t_start = time.perf_counter()
    hospitals, test = split_hospitals()
    train_X = np.vstack([h[0] for h in hospitals])
    train_y = np.concatenate([h[1] for h in hospitals])
    tmp = None
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mpc-demo-")
        root = Path(tmp.name)
    names = ["St. Mary's", "County General", "University Clinic"]
    datasets = {}
    for i, (X, y) in enumerate(hospitals):
        path = root / f"hospital{i}.csv"
        _write_csv(path, X, y)
        cols = {f: "float" for f in FEATURES}
        cols["malignant"] = "int"
        datasets[i] = {"patients": {"path": path, "columns": cols,
                                    "allow": ["count", "sum", "mean", "variance", "histogram",
                                              "logistic_regression", "linear_regression"]}}
    cluster = write_cluster(root, 3, dealer=True, datasets=datasets)
    print(f"mpc demo: Wisconsin breast cancer (scikit-learn), {len(train_y)} training rows split across three "
          f"hospitals, {len(test[1])} held out")
    for i, (X, _) in enumerate(hospitals):
        print(f"  party {i}: {names[i]:<18} {len(X):>4} rows   {cluster.addresses[i]}")
    print(f"  party 3: trusted dealer (demo convenience)   {cluster.addresses[3]}")
    print(f"  certificates and configs: {root} (mutual TLS, pinned roster certificates)")
    cluster.start()
    code = 0
    try:
        cluster.wait_ready(timeout=60)
        inputs = {0: "patients", 1: "patients", 2: "patients"}
        with Client.from_config(cluster.client_config) as client:
            registered = {p["name"] for p in client.protocols()}
            print(f"\n{'job':<50} {'secure (MPC)':>22} {'plaintext':>22}   time")
            print(f"{'':<50} {'':>22} {'(numpy / scikit-learn)':>22}")
            for title, proto, params, plain, show in _jobs(train_X, train_y, args.iterations):
                if proto not in registered:
                    print(f"{title:<50} {'not run: protocol ' + proto + ' is not registered':>46}")
                    code = 1
                    continue
                t0 = time.perf_counter()
                out = client.run(proto, inputs, params)
                secs = time.perf_counter() - t0
                if proto == "logistic_regression":
                    from mpc.protocols.regression import predict

                    score = predict(out.result, test[0])
                    secure = float(((np.asarray(score) > 0).astype(int) == test[1]).mean())
                    plain = _plain_logistic((train_X, train_y), test, args.iterations)
                    print(f"{title:<50} {secure:>22.4f} {plain:>22.4f}   {secs:.1f} s")
                else:
                    print(f"{title:<50} {_fmt(show(out.result)):>22} {_fmt(plain):>22}   {secs:.1f} s")
    finally:
        codes = cluster.stop()
        print(f"\nnodes stopped (exit codes {codes}); total {time.perf_counter() - t_start:.1f} s")
        if tmp is not None:
            tmp.cleanup()
    if code:
        print("some jobs were not run: their protocols are not in this build's registry", file=sys.stderr)
    return code
