"""Utility half of bench.train: accuracy of DP-SGD per ε on breast cancer and digits (see
bench/train.py for the protocol). Hyper-parameters are chosen per seed on a validation split of
the training rows; the test split is used once, for the reported accuracy."""

from __future__ import annotations

import itertools

import numpy as np

from bench import common
from bench.train import AREA, DELTA, TARGETS

PARTIES, COLLUDERS = 3, 1


def _splits(X, y, seed):
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    Xfit, Xval, yfit, yval = train_test_split(Xtr, ytr, test_size=0.25, stratify=ytr, random_state=seed)
    return (Xtr, ytr, Xte, yte), (Xfit, yfit, Xval, yval)


def _parts(X, y, seed):
    """Rows split three ways (as three organisations would hold them)."""
    perm = np.random.default_rng(1000 + seed).permutation(len(X))
    return [(X[idx], y[idx]) for idx in np.array_split(perm, PARTIES)]


def _train_eval(dataset, mode, eps, hp, Xa, ya, Xb, yb, seed):
    """Fit on (Xa, ya) with hyper-parameters hp at ε; accuracy on (Xb, yb); returns (acc, report)."""
    from mpc.learn import DPSGD, MLP, Adam, LogisticRegression
    from mpc.learn.preprocess import DPStandardizer, log_transform, prepass_sigma

    dist = mode == "3 contributors"
    prior = []
    if dataset == "breast_cancer":
        Xa, Xb = log_transform(Xa), log_transform(Xb)
        if hp["scaling"] == "reference":
            m, s = Xa.mean(0), Xa.std(0)
            Xa, Xb = (Xa - m) / s, (Xb - m) / s
        else:
            st = DPStandardizer(-10.0, 10.0, prepass_sigma(eps, DELTA, hp["share"]),
                                parties=PARTIES if dist else 1, colluders=COLLUDERS if dist else 0).fit(Xa)
            Xa, Xb = st.transform(Xa), st.transform(Xb)
            prior = [st.event]
        model = LogisticRegression(Xa.shape[1])
    else:
        Xa, Xb = Xa / 16.0, Xb / 16.0
        model = MLP([64, 64, 10], activation="tanh")
    trainer = DPSGD(model, epsilon=eps, delta=DELTA, clip=hp["clip"], sample_rate=1.0, epochs=hp["epochs"],
                    optimizer=Adam(lr=hp["lr"]), expected_batch_size=float(len(Xa)), prior_events=prior,
                    accountant="rdp" if dist else "pld", parties=PARTIES if dist else 1,
                    colluders=COLLUDERS if dist else 0, ema=hp.get("ema"))
    rng = np.random.default_rng(seed)
    res = trainer.fit(parts=_parts(Xa, ya, seed), rng=rng) if dist else trainer.fit(Xa, ya, rng=rng)
    acc = float((model.predict(res.params, Xb).argmax(1) == yb).mean())
    return acc, res.report


def _grid(dataset, quick):
    if dataset == "breast_cancer":
        base = dict(epochs=[30, 100], lr=[0.05, 0.15], clip=[1.0], share=[0.1, 0.3], scaling=["dp_prepass"])
        if quick:
            base = dict(epochs=[30], lr=[0.1], clip=[1.0], share=[0.2], scaling=["dp_prepass"])
    else:
        base = dict(epochs=[100], lr=[0.01, 0.03], clip=[1.0], ema=[0.9])
        if quick:
            base = dict(epochs=[20], lr=[0.03], clip=[1.0], ema=[0.9])
    keys = list(base)
    return [dict(zip(keys, vals)) for vals in itertools.product(*base.values())]


def _run_private(dataset, X, y, eps, mode, seeds, quick, progress, scaling="dp_prepass"):
    accs, chosen, spent = [], [], []
    for seed in range(seeds):
        (Xtr, ytr, Xte, yte), (Xfit, yfit, Xval, yval) = _splits(X, y, seed)
        grid = _grid(dataset, quick)
        if scaling == "reference":
            first = grid[0].get("share")
            grid = [dict(hp, scaling="reference", share=None) for hp in grid if hp.get("share") == first]
        best = max(grid, key=lambda hp: _train_eval(dataset, mode, eps, hp, Xfit, yfit, Xval, yval, seed)[0])
        acc, rep = _train_eval(dataset, mode, eps, best, Xtr, ytr, Xte, yte, seed)
        accs.append(acc)
        chosen.append(best)
        spent.append(rep.epsilon_spent)
    progress(f"  {dataset} {mode} {scaling} eps={eps}: {100 * np.mean(accs):.2f} ± {100 * np.std(accs):.2f} "
             f"(chosen {chosen})")
    return accs, chosen, max(spent), rep


def _record(system, dataset, model, mode, scaling, eps, accs, protocol, seconds=0.0, **extra):
    return common.record(AREA, "dp_sgd_accuracy", system, protocol=protocol, parties=PARTIES if mode != "central" else 1,
                         n=len(accs), seconds=seconds, bytes_per_party=None, rounds=None, repeats=len(accs),
                         transport="none", dataset=dataset, model=model, mode=mode, scaling=scaling, epsilon=eps,
                         delta=DELTA if eps is not None else None, accuracy=float(np.mean(accs)),
                         accuracy_std=float(np.std(accs)), target=TARGETS.get((dataset, eps)), **extra)


def bench_utility(quick: bool, seeds: int, progress=print, opacus: bool = True,
                  datasets=("breast_cancer", "digits")) -> list[dict]:
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bench.peers import torch_train

    out = []
    sets = {"breast_cancer": (load_breast_cancer(return_X_y=True), "logistic", [0.5, 1.0, 8.0]),
            "digits": (load_digits(return_X_y=True), "mlp_64_64_10", [1.0, 8.0])}
    for dataset, ((X, y), model_name, epsilons) in sets.items():
        if dataset not in datasets:
            continue
        if quick:
            epsilons = epsilons[-1:]
        # non-private reference
        accs = []
        for seed in range(seeds):
            (Xtr, ytr, Xte, yte), _ = _splits(X, y, seed)
            est = (make_pipeline(StandardScaler(), SkLR(max_iter=5000)) if dataset == "breast_cancer"
                   else MLPClassifier((64,), max_iter=500, random_state=seed))
            accs.append(est.fit(Xtr, ytr).score(Xte, yte))
        out.append(_record("sklearn", dataset, model_name, "central", "standardized (not private)", None, accs,
                           "non-private"))
        progress(f"  {dataset} sklearn non-private: {100 * np.mean(accs):.2f}")
        for eps in epsilons:
            for mode in ("central", "3 contributors"):
                scaling = "dp_prepass" if dataset == "breast_cancer" else "public range /16"
                accs, chosen, spent, rep = _run_private(dataset, X, y, eps, mode, seeds, quick, progress, scaling)
                out.append(_record("ours", dataset, model_name, mode, scaling, eps, accs,
                                   f"dp-sgd {rep.accountant}, {rep.mechanism['mechanism']}",
                                   epsilon_spent_max=spent, hyperparameters=chosen, accountant=rep.accountant))
            if dataset == "breast_cancer":
                accs, chosen, spent, rep = _run_private(dataset, X, y, eps, "central", seeds, quick, progress,
                                                        "reference")
                out.append(_record("ours", dataset, model_name, "central", "reference (pooled, not private)", eps,
                                   accs, "dp-sgd pld; scaling NOT private (comparison with Opacus only)",
                                   epsilon_spent_max=spent, hyperparameters=chosen))
            if opacus and torch_train.available() and not quick:
                out.append(_opacus(dataset, X, y, eps, seeds, progress))
    return out


def _opacus(dataset, X, y, eps, seeds, progress):
    from bench.peers import torch_train

    layers = [30, 2] if dataset == "breast_cancer" else [64, 64, 10]
    grid = [dict(epochs=e, lr=0.1) for e in (30, 60)] if dataset == "breast_cancer" else \
        [dict(epochs=e, lr=0.01) for e in (30, 60)]

    def prep(Xa, Xb):
        if dataset == "breast_cancer":
            Xa, Xb = np.log(Xa + 1e-3), np.log(Xb + 1e-3)
            m, s = Xa.mean(0), Xa.std(0)
            return (Xa - m) / s, (Xb - m) / s
        return Xa / 16.0, Xb / 16.0

    accs = []
    for seed in range(seeds):
        (Xtr, ytr, Xte, yte), (Xfit, yfit, Xval, yval) = _splits(X, y, seed)
        q = 0.25

        def score(hp, Xa, ya, Xb, yb):
            Xa, Xb = prep(Xa, Xb)
            return torch_train.opacus_accuracy(layers, Xa, ya, Xb, yb, epsilon=eps, delta=DELTA, epochs=hp["epochs"],
                                               lr=hp["lr"], clip=1.0, sample_rate=q, seed=seed)

        best = max(grid, key=lambda hp: score(hp, Xfit, yfit, Xval, yval))
        accs.append(score(best, Xtr, ytr, Xte, yte))
    scaling = "reference (pooled, not private)" if dataset == "breast_cancer" else "public range /16"
    progress(f"  {dataset} opacus eps={eps}: {100 * np.mean(accs):.2f} ± {100 * np.std(accs):.2f}")
    return _record("opacus", dataset, "logistic" if dataset == "breast_cancer" else "mlp_64_64_10", "central", scaling,
                   eps, accs, "opacus 1.6 dp-sgd (q=0.25, Adam, rdp accountant)")
