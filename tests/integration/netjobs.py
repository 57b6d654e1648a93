"""Small protocols the node tests load through `protocol_modules` (they are not built-ins).

`net_sum`: the sum of one column over the contributing parties (additive fixed point, no
triples). `net_dot`: the dot product of two parties' columns (vertical split; Beaver products
from the trusted dealer). `net_slow`: many small rounds with progress reports, so that a test
can kill a node mid-job. Security: semi-honest, as the runtime they use.
"""

from __future__ import annotations

import asyncio

import numpy as np

from mpc.errors import ParameterError
from mpc.protocols import Protocol, ReleaseSpec


def _column(params: dict) -> dict:
    if not isinstance(params.get("column"), str):
        raise ParameterError("params.column must be a column name")
    return {"column": params["column"], "rounds": int(params.get("rounds", 1))}


async def _sum(ctx):
    s = ctx.session
    col = ctx.params["column"]
    total = None
    for p in ctx.contributors:
        mine = np.array([ctx.data[col].sum()]) if s.pid == p else None
        x = await s.input(p, mine, shape=(1,), bound=2.0 ** 20)
        total = x if total is None else total + x
    ctx.progress(0.5, "inputs shared")
    out = await ctx.release(total, ReleaseSpec("sum"))
    return None if out is None else float(out[0])


async def _dot(ctx):
    s = ctx.session
    a, b = ctx.contributors[:2]
    col = ctx.params["column"]
    xa = ctx.data[col] if s.pid == a else None
    xb = ctx.data[col] if s.pid == b else None
    x = await s.input(a, xa, bound=1000.0)
    y = await s.input(b, xb, bound=1000.0)
    prod = await (x * y)
    ctx.progress(0.8, "product done")
    out = await ctx.release(prod.sum(), ReleaseSpec("dot"))
    return None if out is None else float(np.asarray(out).reshape(-1)[0])


async def _slow(ctx):
    s = ctx.session
    rounds = ctx.params["rounds"]
    for r in range(rounds):
        v = np.array([float(r)]) if s.pid == ctx.contributors[0] else None
        x = await s.input(ctx.contributors[0], v, shape=(1,))
        await s.open(x)
        ctx.progress((r + 1) / rounds, f"round {r + 1}/{rounds}")
        await asyncio.sleep(0.05)
    return float(rounds)


def _fail_params(params: dict) -> dict:
    out = _column(params)
    out["fail_at"] = int(params.get("fail_at", -1))
    return out


def _fail_releases(p: dict) -> list:
    return [ReleaseSpec("first", l1=200.0, l2=200.0), ReleaseSpec("second", l1=200.0, l2=200.0)]


async def _fail(ctx):
    """Two releases of a column's sum; every party raises before release number `fail_at` (-1: never)."""
    from mpc.errors import ProtocolAbort

    s = ctx.session
    col = ctx.params["column"]
    total = None
    for p in ctx.contributors:
        mine = np.array([np.clip(ctx.data[col], 0, 200).sum()]) if s.pid == p else None
        x = await s.input(p, mine, shape=(1,), bound=2.0 ** 20)
        total = x if total is None else total + x
    out = []
    for i, spec in enumerate(_fail_releases(ctx.params)):
        if i == ctx.params["fail_at"]:
            raise ProtocolAbort(f"net_fail: injected failure before release {i} ({spec.name})", job=s.job)
        out.append(await ctx.release(total, spec))
    return None if out[0] is None else [float(v[0]) for v in out]


PROTOCOLS = [
    Protocol("net_sum", 1, "sum of a column (test)", _sum, check_params=_column, needs_dealer=False),
    Protocol("net_fail", 1, "two releases, an injected failure before one of them (test)", _fail,
             check_params=_fail_params, releases=_fail_releases, needs_dealer=False),
    Protocol("net_dot", 1, "vertical dot product (test)", _dot, check_params=lambda p: {**_column(p)},
             needs_dealer=True),
    Protocol("net_slow", 1, "many small rounds (test)", _slow, check_params=_column, needs_dealer=False),
]


# ---------------------------------------------------------------- test support (not protocols)

HERE = __import__("pathlib").Path(__file__).resolve().parent
BUILTIN = ["sum", "count", "mean", "variance", "histogram", "dot", "expression", "linear_regression",
           "logistic_regression", "psi", "gc_eval"]
ALLOW = ["net_sum", "net_dot", "net_slow", "net_env", "net_fail"] + BUILTIN


def _env_params(params: dict) -> dict:
    """Parameters completed from the node's environment: lets a test make two nodes disagree."""
    import os

    out = _column(params)
    out["scale"] = float(os.environ.get("NETJOBS_SCALE", "1"))
    return out


PROTOCOLS.append(Protocol("net_env", 1, "sum with an environment default (test)", _sum,
                          check_params=_env_params, needs_dealer=False))


def make_cluster(root, parties=3, *, dealer=True, rows=40, seed=0, timeout_s=10.0, **kw):
    """A cluster whose parties each hold a 'patients' dataset (columns age, bmi); returns (cluster, data)."""
    from mpc.node.localcluster import write_cluster

    rng = np.random.default_rng(seed)
    data, ds = {}, {}
    for i in range(parties):
        age = rng.integers(20, 90, size=rows).astype(float)
        bmi = np.round(rng.uniform(15, 40, size=rows), 2)
        smoker = rng.integers(0, 2, size=rows)
        risk = (age - 55) / 20 + (bmi - 27.5) / 7 + rng.normal(0, 0.5, rows)
        sick = (risk > 0).astype(np.int64)
        cost = np.round(0.5 * age + 0.8 * bmi + rng.normal(0, 2, rows), 3)
        pid = np.arange(i * rows // 2, i * rows // 2 + rows)     # patient ids: neighbours share half
        data[i] = {"age": age, "bmi": bmi, "smoker": smoker, "sick": sick, "cost": cost, "pid": pid}
        path = root / f"patients{i}.csv"
        path.write_text("age,bmi,smoker,sick,cost,pid\n" + "\n".join(
            f"{a},{b},{c},{d},{e},{f}" for a, b, c, d, e, f in zip(age, bmi, smoker, sick, cost, pid)) + "\n")
        cols = {"age": "float", "bmi": "float", "smoker": "int", "sick": "int", "cost": "float", "pid": "int"}
        ds[i] = {"patients": {"path": path, "columns": cols, "allow": ALLOW}}
    cluster = write_cluster(root, parties, dealer=dealer, datasets=ds, timeout_s=timeout_s,
                            extra_node='protocol_modules = ["netjobs"]', **kw)
    cluster.env = {"PYTHONPATH": str(HERE)}
    return cluster, data
