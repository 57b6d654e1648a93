"""Aggregate statistics over horizontally split data: sum, count (with a predicate), mean,
variance, histogram.

What it computes: each contributor reduces its own rows to local aggregates (clipped to the
public bounds), inputs them as secrets, and the parties add them up; only the totals are
released, through the DP gate (`ctx.release`). Mean and variance are post-processed at the
output party from the released (noised) totals: mean = sum/count, var = E[x²] − mean².

Security: semi-honest; additive sharing in Z_2^64, any number of corrupted compute parties.
Linear only: no triples are used, so no dealer is needed. A party's row count is not revealed
except through the released (noised) count; input shapes (one value per contributor) are public.
References: secure summation (e.g. Bonawitz et al., CCS 2017, without dropouts);
DP sum/count/histogram sensitivities as in Dwork–Roth 2014, §3.
Cost: one input round (seeded shares: a small header only) and one opening per release.
Sensitivity (add or remove one row): sum max(|lower|, |upper|); count 1; sum of squares
max(lower², upper²); histogram 1 (L1 and L2).
"""

from __future__ import annotations

import numpy as np

from mpc.errors import ParameterError
from mpc.protocols import params as P
from mpc.protocols.registry import JobContext, Protocol, ReleaseSpec


async def _secure_total(ctx: JobContext, local: np.ndarray | None, *, kind: str, bound: float, shape):
    """Σ over contributors of their local aggregate (a secret array)."""
    s = ctx.session
    total = None
    for p in ctx.contributors:
        v = await s.input(p, local if s.pid == p else None, kind=kind, bound=bound, shape=shape)
        total = v if total is None else total + v
    return total


def _local_clipped(ctx: JobContext, col: str, lo: float, hi: float) -> np.ndarray | None:
    if ctx.session.pid not in ctx.contributors:
        return None
    return np.clip(P.column(ctx.data, col, ctx.session.pid), lo, hi)


def _mask(ctx: JobContext, where: dict | None) -> np.ndarray | None:
    if ctx.session.pid not in ctx.contributors:
        return None
    if where is None:
        n = len(next(iter(ctx.data.values()))) if ctx.data else 0
        return np.ones(n, dtype=bool)
    values = P.column(ctx.data, where["column"], ctx.session.pid)
    return P.PREDICATES[where["op"]](values, where["value"])


# ----------------------------------------------------------------------------- sum
def check_sum(params: dict) -> dict:
    lo, hi = P.bounds(params)
    return {"column": P.name(params, "column"), "lower": lo, "upper": hi, "max_rows": P.max_rows(params),
            "where": P.predicate(params)}


def releases_sum(p: dict) -> list[ReleaseSpec]:
    m = max(abs(p["lower"]), abs(p["upper"]))
    return [ReleaseSpec("sum", l1=m, l2=m, kind="sum")]


async def run_sum(ctx: JobContext):
    p = ctx.params
    local = None
    x = _local_clipped(ctx, p["column"], p["lower"], p["upper"])
    if x is not None:
        local = np.array([np.sum(x[_mask(ctx, p["where"])])])
    bound = p["max_rows"] * max(abs(p["lower"]), abs(p["upper"]))
    total = await _secure_total(ctx, local, kind="fxp", bound=bound, shape=(1,))
    out = await ctx.release(total, releases_sum(p)[0])
    return None if out is None else {"sum": float(out[0])}


# ----------------------------------------------------------------------------- count
def check_count(params: dict) -> dict:
    return {"where": P.predicate(params), "max_rows": P.max_rows(params)}


def releases_count(p: dict) -> list[ReleaseSpec]:
    return [ReleaseSpec("count", l1=1.0, l2=1.0, kind="count")]


async def run_count(ctx: JobContext):
    p = ctx.params
    mask = _mask(ctx, p["where"])
    local = None if mask is None else np.array([int(np.count_nonzero(mask))])
    total = await _secure_total(ctx, local, kind="int", bound=p["max_rows"], shape=(1,))
    out = await ctx.release(total, releases_count(p)[0])
    return None if out is None else {"count": float(out[0])}


# ----------------------------------------------------------------------------- mean / variance
def releases_mean(p: dict) -> list[ReleaseSpec]:
    return releases_sum(p) + [ReleaseSpec("count", l1=1.0, l2=1.0, kind="count")]


def releases_variance(p: dict) -> list[ReleaseSpec]:
    m2 = max(p["lower"] ** 2, p["upper"] ** 2)
    return releases_mean(p) + [ReleaseSpec("sum_of_squares", l1=m2, l2=m2, kind="sum")]


async def _moments(ctx: JobContext, squares: bool):
    p = ctx.params
    x = _local_clipped(ctx, p["column"], p["lower"], p["upper"])
    m = max(abs(p["lower"]), abs(p["upper"]))
    local = None
    if x is not None:
        x = x[_mask(ctx, p["where"])]
        local = np.array([x.sum(), float(x.size)] + ([float(np.sum(x * x))] if squares else []))
    k = 3 if squares else 2
    bound = p["max_rows"] * max(m, 1.0) ** (2 if squares else 1)
    totals = await _secure_total(ctx, local, kind="fxp", bound=bound, shape=(k,))
    specs = releases_variance(p) if squares else releases_mean(p)
    return [await ctx.release(totals[i:i + 1], specs[i]) for i in range(k)]


async def run_mean(ctx: JobContext):
    s, c = await _moments(ctx, squares=False)
    if s is None:
        return None
    total, count = float(s[0]), float(c[0])
    return {"mean": total / count if count > 0 else float("nan"), "sum": total, "count": count}


async def run_variance(ctx: JobContext):
    s, c, q = await _moments(ctx, squares=True)
    if s is None:
        return None
    total, count, squares = float(s[0]), float(c[0]), float(q[0])
    if count <= 1:
        return {"variance": float("nan"), "mean": float("nan"), "count": count}
    mean = total / count
    var = max(0.0, (squares - count * mean * mean) / (count - 1))
    return {"variance": var, "mean": mean, "count": count}


# ----------------------------------------------------------------------------- histogram
def check_histogram(params: dict) -> dict:
    col = P.name(params, "column")
    if "edges" in params:
        edges = params["edges"]
        if not isinstance(edges, list) or not 2 <= len(edges) <= 4097:
            raise ParameterError("edges must be a list of 2 to 4097 increasing numbers")
        edges = [P.number({"e": e}, "e") for e in edges]
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ParameterError("edges must be strictly increasing")
    else:
        lo, hi = P.bounds(params)
        bins = P.number(params, "bins", 10, lo=1, hi=4096, integer=True)
        edges = [float(v) for v in np.linspace(lo, hi, bins + 1)]
    return {"column": col, "edges": edges, "max_rows": P.max_rows(params), "where": P.predicate(params)}


def releases_histogram(p: dict) -> list[ReleaseSpec]:
    return [ReleaseSpec("counts", l1=1.0, l2=1.0, kind="count")]


async def run_histogram(ctx: JobContext):
    p = ctx.params
    edges = np.array(p["edges"])
    local = None
    if ctx.session.pid in ctx.contributors:
        x = P.column(ctx.data, p["column"], ctx.session.pid)[_mask(ctx, p["where"])]
        local, _ = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)
    total = await _secure_total(ctx, local, kind="int", bound=p["max_rows"], shape=(len(edges) - 1,))
    out = await ctx.release(total, releases_histogram(p)[0])
    return None if out is None else {"edges": p["edges"], "counts": [float(c) for c in out]}


def columns_read(p: dict, party: int, parties) -> list[str]:
    """The columns a statistics job reads at every contributor: the column and the predicate's."""
    cols = [p["column"]] if "column" in p else []
    if p.get("where") is not None and p["where"]["column"] not in cols:
        cols.append(p["where"]["column"])
    return cols


def accuracy_mean(p: dict, result, entries: list[dict]) -> list[dict]:
    """Expected error of the mean (from the released sum and count, to first order: the delta
    method with the released count), relative to the public range upper − lower."""
    sd = {e["output"]: e.get("noise_std") for e in entries}
    if not isinstance(result, dict) or sd.get("sum") is None or sd.get("count") is None:
        return []
    count, mean = max(float(result["count"]), 1.0), float(result["mean"])
    if mean != mean:            # nan: no rows were counted
        mean = 0.0
    noise = (sd["sum"] ** 2 + (mean * sd["count"]) ** 2) ** 0.5 / count
    scale = p["upper"] - p["lower"]
    return [{"output": "mean", "dp": True, "derived_from": ["sum", "count"], "noise_std": noise, "scale": scale,
             "scale_source": "public bound (upper - lower)", "relative_noise": noise / scale}]


_WHERE = ("optional predicate {\"column\": C, \"op\": one of < <= > >= == !=, \"value\": number}: only rows "
          "satisfying it count")
_MAX_ROWS = f"public cap on one party's rows (default {P.MAX_ROWS_DEFAULT}); sizes the fixed-point headroom"
_SUM_PARAMS = {"column": "the numeric column to aggregate (required)",
               "lower": "public lower clipping bound of the column (required; values below are raised to it)",
               "upper": "public upper clipping bound (required); the sensitivity is max(|lower|, |upper|)",
               "where": _WHERE, "max_rows": _MAX_ROWS}

PROTOCOLS = [
    Protocol("sum", 1, "Sum of a column over all contributors' rows (clipped to [lower, upper])",
             run_sum, check_sum, releases_sum, needs_dealer=False, parameters=_SUM_PARAMS, columns=columns_read),
    Protocol("count", 1, "Number of rows, optionally those satisfying a predicate {column, op, value}",
             run_count, check_count, releases_count, needs_dealer=False,
             parameters={"where": _WHERE, "max_rows": _MAX_ROWS}, columns=columns_read),
    Protocol("mean", 1, "Mean of a column (from the released sum and count)",
             run_mean, check_sum, releases_mean, needs_dealer=False, parameters=_SUM_PARAMS, columns=columns_read,
             accuracy=accuracy_mean),
    Protocol("variance", 1, "Sample variance of a column (from released sum, count, sum of squares)",
             run_variance, check_sum, releases_variance, needs_dealer=False, parameters=_SUM_PARAMS,
             columns=columns_read),
    Protocol("histogram", 1, "Counts of a column in bins (edges, or lower/upper/bins)",
             run_histogram, check_histogram, releases_histogram, needs_dealer=False, columns=columns_read,
             parameters={"column": "the numeric column to bin (required)",
                         "edges": "bin edges: a list of 2 to 4097 strictly increasing numbers, e.g. [20, 40, 60, 90] "
                                  "(values outside are clipped into the first or last bin)",
                         "lower": "without edges: public lower bound of equal-width bins",
                         "upper": "without edges: public upper bound of equal-width bins",
                         "bins": "without edges: number of equal-width bins between lower and upper (default 10)",
                         "where": _WHERE, "max_rows": _MAX_ROWS}),
]
