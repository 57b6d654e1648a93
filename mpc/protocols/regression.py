"""Linear and logistic regression training on horizontally split data, inside MPC.

What it computes: L2-regularised regression weights w (with a bias) by T steps of full-batch
gradient descent, w ← w − η·(Xᵀ(φ(Xw) − y)/N + λw), where X stacks every contributor's rows as
one secret matrix. Features are clipped to public bounds and scaled to [−1, 1]; each row is
divided by √(d+1) so that ‖x‖ ≤ 1. φ is, for logistic regression, the piecewise-linear sigmoid
clip(1/2 + z/4, 0, 1) (SecureML's approximation; GD then minimises the convex surrogate loss
whose derivative it is), and for linear regression the residual clipped to [−1, 1] (a Huber
loss), with labels scaled to [−1, 1]. The model stays secret until the final release; only
the weights (in the scaled coordinates, with the scaling to apply them to raw rows) leave.

Security: semi-honest; additive shares in Z_2^64, Beaver matrix products, probabilistic
truncation and comparisons with preprocessed randomness from the job's triple source (a
trusted dealer if so configured). Public: the row counts, d, T, η, λ and the bounds.
References: Mohassel–Zhang, "SecureML", S&P 2017, §4 (fixed-point training with Beaver matrix
triples, piecewise sigmoid); DP by output perturbation: Chaudhuri, Monteleoni, Sarwate, JMLR
2011, and, for the iterates of gradient descent, the contraction argument of Wu et al.,
"Bolt-on Differential Privacy", SIGMOD 2017, §3: for a 1-Lipschitz, β-smooth loss with L2
regularisation λ and step η ≤ 1/(β+λ), changing one of N rows moves the T-th iterate by at
most Σ_t (1−ηλ)^t · 2η/N ≤ 2/(Nλ) (the released L2 sensitivity, replace-one neighbours).
On a joined table (`"joined": "<psi job id>"`, the payload shares a PSI job left at both
nodes, `mpc.psi.tables`): the rows are the PSI's aligned rows, features and label may belong to
either party, and the table's own bounds (those its PSI clipped to) scale them; rows outside
the intersection are multiplied by the shared indicator and so contribute nothing. N, the
intersection size, is opened to the job's parties (the sensitivity needs it). This is vertical
regression without revealing the join: neither party sees the other's columns or which of the
sender's rows joined. Setting it up costs one Beaver product of the N'×(d+1) table by the
indicator, one truncation and one opening (N' = the sender's rows).

Cost per step: two Beaver matrix products (N×(d+1) masks opened each time), three
truncations, and for logistic regression two comparisons (16 rounds) and two products:
about 25 rounds per step.
"""

from __future__ import annotations

import math

import numpy as np

from mpc.errors import ParameterError
from mpc.protocols import params as P
from mpc.protocols.registry import JobContext, Protocol, ReleaseSpec
from mpc.psi.joined import as_additive_arrays, table_for_job
from mpc.psi.tables import check_table_name
from mpc.runtime import concatenate, zeros_like_public


def check_regression(params: dict, model: str) -> dict:
    feats = params.get("features")
    if not isinstance(feats, list) or not 1 <= len(feats) <= P.MAX_COLUMNS or len(set(feats)) != len(feats):
        raise ParameterError("features must be a non-empty list of distinct column names")
    feats = [P.name({"f": f}, "f") for f in feats]
    label = P.name(params, "label")
    joined = params.get("joined")
    checked = {}
    if joined is not None:
        joined = check_table_name(joined)
        if "bounds" in params:
            raise ParameterError("on a joined table the bounds are the table's own (set by its psi job); drop "
                                 "'bounds'")
    else:
        bounds = params.get("bounds")
        if not isinstance(bounds, dict):
            raise ParameterError("bounds must map every feature (and, for linear regression, the label) to "
                                 "[lower, upper]")
        for c in feats + ([label] if model == "linear" else []):
            b = bounds.get(c)
            if not isinstance(b, list) or len(b) != 2:
                raise ParameterError(f"bounds[{c!r}] must be [lower, upper]")
            checked[c] = list(P.bounds({"lower": b[0], "upper": b[1]}))
    lam = P.number(params, "l2", 1e-3, lo=1e-6, hi=10.0)
    beta = (0.25 if model == "logistic" else 1.0) + lam
    eta = P.number(params, "learning_rate", 1.0 / beta, lo=1e-6, hi=1.0 / beta)
    return {"features": feats, "label": label, "bounds": checked, "joined": joined, "l2": lam, "learning_rate": eta,
            "iterations": P.number(params, "iterations", 200, lo=1, hi=5000, integer=True),
            "max_rows": P.max_rows(params)}


def releases_regression(p: dict) -> list[ReleaseSpec]:
    # total rows N is public only at run time; the spec gives the sensitivity per 1/N
    return [ReleaseSpec("weights", l2=None, kind="model")]


def scale_rows(data, p: dict, who: int, model: str) -> tuple[np.ndarray, np.ndarray]:
    """This party's rows scaled to ‖x‖ ≤ 1 (with the bias column) and its labels in [−1, 1] or {0, 1}."""
    cols = []
    for c in p["features"]:
        lo, hi = p["bounds"][c]
        v = np.clip(P.column(data, c, who), lo, hi)
        cols.append((v - (lo + hi) / 2) / ((hi - lo) / 2))
    X = np.column_stack(cols + [np.ones(len(cols[0]))]) / math.sqrt(len(cols) + 1)
    y = P.column(data, p["label"], who)
    if model == "logistic":
        if not np.all((y == 0) | (y == 1)):
            raise ParameterError(f"party {who}: logistic regression needs labels 0 or 1 in {p['label']!r}")
    else:
        lo, hi = p["bounds"][p["label"]]
        y = (np.clip(y, lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2)
    return X, y.reshape(-1, 1)


async def joined_rows(ctx: JobContext, p: dict, model: str):
    """(X, y, N) from a joined table: scaled like `scale_rows`, zero rows outside the intersection."""
    s = ctx.session
    shares = await table_for_job(ctx, p["joined"])
    bounds, frac = shares.info.get("bounds", {}), shares.info.get("frac_bits")
    need = p["features"] + [p["label"]]
    missing = [c for c in need if c not in shares.columns or c not in bounds]
    if missing:
        raise ParameterError(f"joined table {p['joined']!r} has no columns {missing} (it has {sorted(shares.columns)})")
    if frac != s.fxp.frac_bits:
        raise ParameterError(f"joined table {p['joined']!r} holds fixed point with {frac} fractional bits, this "
                             f"session uses {s.fxp.frac_bits}")
    if model == "logistic" and not (0 <= bounds[p["label"]][0] and bounds[p["label"]][1] <= 1):
        raise ParameterError(f"logistic regression needs the label {p['label']!r} bounded in [0, 1]; the joined "
                             f"table has {bounds[p['label']]}")
    ind, cols = as_additive_arrays(s, shares, bounds={c: max(abs(lo), abs(hi)) for c, (lo, hi) in bounds.items()},
                                   frac_bits=frac)
    n = int(np.rint(float(np.asarray(await s.open(ind.sum())))))
    d = len(p["features"]) + 1
    root = math.sqrt(d)
    table = concatenate([cols[c].reshape(-1, 1) for c in need], axis=1)
    lo = np.array([bounds[c][0] for c in need])
    hi = np.array([bounds[c][1] for c in need])
    factor = np.concatenate([2 / ((hi - lo)[:-1] * root), [2 / (hi - lo)[-1] if model == "linear" else 1.0]])
    centre = (lo + hi) / 2
    if model == "logistic":
        centre[-1] = 0.0
    table = (await ((table - centre) * factor)).with_bound(1.0)
    table = await (table * ind.reshape(-1, 1))
    X = concatenate([table[:, :-1], await (ind.reshape(-1, 1) * (1 / root))], axis=1).with_bound(1.0)
    return X, table[:, -1:].with_bound(1.0), n, {c: list(bounds[c]) for c in need}


async def train(ctx: JobContext, model: str):
    """Gradient descent in MPC; returns the released weights at output parties."""
    p = ctx.params
    s = ctx.session
    d = len(p["features"]) + 1
    if p.get("joined") is not None:
        X, y, n, bounds = await joined_rows(ctx, p, model)
    else:
        bounds = p["bounds"]
        Xs, ys = [], []
        local = scale_rows(ctx.data, p, s.pid, model) if s.pid in ctx.contributors else (None, None)
        for q in ctx.contributors:
            mine = s.pid == q
            Xs.append(await s.input(q, local[0] if mine else None, bound=1.0))
            ys.append(await s.input(q, local[1] if mine else None, bound=1.0))
        X, y = concatenate(Xs), concatenate(ys)
        n = X.shape[0]
    if n == 0 or X.shape[1] != d:
        raise ParameterError(f"training needs rows with {d - 1} features, got {n} rows of shape {X.shape}")
    Xt = X.T
    w = zeros_like_public(s, (d, 1), s.fxp.frac_bits)
    eta, lam, steps = p["learning_rate"], p["l2"], p["iterations"]
    w_bound = 1.0 / lam  # ‖w_t‖ stays below ‖∇ at 0‖/λ ≤ 1/λ for a contraction from w_0 = 0
    for t in range(steps):
        z = (await (X @ w)).with_bound(w_bound)  # |z| ≤ ‖x‖‖w‖ ≤ ‖w‖
        if model == "logistic":
            r = (await ((await (z * 0.25)) + 0.5).clip(0.0, 1.0)) - y
        else:
            r = await (z - y).clip(-1.0, 1.0)
        g = await ((await (Xt @ r.with_bound(1.0))) * (eta / n))
        w = (await (w * (1.0 - eta * lam)) - g).with_bound(w_bound)
        ctx.progress((t + 1) / steps, f"step {t + 1}/{steps}")
    spec = ReleaseSpec("weights", l2=2.0 / (n * lam), kind="model")
    out = await ctx.release(w.reshape(d), spec)
    if out is None:
        return None
    return {"weights": [float(v) for v in out[:-1]], "bias": float(out[-1]), "rows": n,
            "feature_bounds": {c: bounds[c] for c in p["features"]},
            "scaling": "x -> (clip(x, lo, hi) - (lo+hi)/2) / ((hi-lo)/2), then / sqrt(d+1) with a bias of 1",
            **({"label_bounds": bounds[p["label"]]} if model == "linear" else {})}


def predict(result: dict, X: np.ndarray) -> np.ndarray:
    """The released model's raw score w·x + b on raw feature rows (post-processing, any party)."""
    cols = []
    for j, (lo, hi) in enumerate(result["feature_bounds"].values()):
        cols.append((np.clip(X[:, j], lo, hi) - (lo + hi) / 2) / ((hi - lo) / 2))
    Z = np.column_stack(cols + [np.ones(len(X))]) / math.sqrt(len(cols) + 1)
    return Z @ np.array(result["weights"] + [result["bias"]])


async def run_logistic(ctx: JobContext):
    return await train(ctx, "logistic")


async def run_linear(ctx: JobContext):
    return await train(ctx, "linear")


def columns_regression(p: dict, party: int, parties) -> list[str]:
    """Features and label at every contributor; none on a joined table (its shares are the node's)."""
    return [] if p.get("joined") is not None else p["features"] + [p["label"]]


def _params(model: str) -> dict:
    label = "the 0/1 label column" if model == "logistic" else "the numeric label column (with bounds)"
    return {"features": "list of feature column names (required)",
            "label": f"{label} (required)",
            "bounds": "column -> [lower, upper] public clipping bounds for every feature"
                      + (" and the label" if model == "linear" else "") + " (required unless joined)",
            "joined": "optional: the job id of a psi job whose joined table (payload shares) to train on",
            "l2": "L2 regularisation lambda (default 1e-3); the released weights' sensitivity is 2/(N lambda)",
            "learning_rate": "gradient step (default and maximum 1/(beta + lambda))",
            "iterations": "gradient-descent steps (default 200, at most 5000)", "max_rows": "public cap on one "
            f"party's rows (default {P.MAX_ROWS_DEFAULT})"}


PROTOCOLS = [
    Protocol("logistic_regression", 1, "Train L2-regularised logistic regression (labels 0/1) by secure GD",
             run_logistic, lambda p: check_regression(p, "logistic"), releases_regression,
             parameters=_params("logistic"), columns=columns_regression),
    Protocol("linear_regression", 1, "Train L2-regularised linear regression (Huber-clipped) by secure GD",
             run_linear, lambda p: check_regression(p, "linear"), releases_regression,
             parameters=_params("linear"), columns=columns_regression),
]
