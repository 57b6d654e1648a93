"""Computations over vertically split data (parties hold different columns of the same rows):
a dot product across parties, and element-wise expressions over secret columns.

What it computes:
  * `dot`: Σ_i x_i·y_i for column x held by one party and column y by another (rows aligned,
    e.g. by a prior PSI); both clipped to public bounds.
  * `expression`: an element-wise arithmetic expression over secret columns, e.g.
    "a * b + 2 * c" or "relu(a - b)", giving one value per row. Allowed: column names, numbers,
    + - *, division by a number, unary minus, comparisons (< <= > >=, giving 0/1), and the
    functions relu(e), abs(e), clip(e, lo, hi), min(e, f), max(e, f). Parsed with Python's
    `ast` into a whitelist; nothing is executed.
Security: semi-honest, additive shares in Z_2^64; products, truncation and comparisons use
preprocessed randomness from the job's triple source (a trusted dealer if so configured).
Each party learns only the released output; the number of rows is public.
References: Beaver products (mpc.beaver), comparison (mpc.ops.compare).
Cost: dot: 1 round + 1 truncation round, 2·rows·8 bytes per party per peer; expression: one
round per product, 8 per comparison.
Sensitivity (add or remove one row): dot max|x|·max|y|; expression: the bound of the
expression over the column bounds (interval arithmetic), per row.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from mpc.errors import ParameterError
from mpc.protocols import params as P
from mpc.protocols.registry import JobContext, Protocol, ReleaseSpec

MAX_EXPRESSION = 512


def _source(params: dict, key: str, n_hint=None) -> dict:
    v = params.get(key)
    if not isinstance(v, dict):
        raise ParameterError(f"parameter {key!r} must be an object {{party, column, lower, upper}}")
    lo, hi = P.bounds(v)
    return {"party": P.party(v, "party"), "column": P.name(v, "column"), "lower": lo, "upper": hi}


async def _input_column(ctx: JobContext, src: dict, rows: int | None):
    s = ctx.session
    if src["party"] not in s.comm.parties:
        raise ParameterError(f"column {src['column']!r} is assigned to party {src['party']}, not in this job")
    local = None
    if s.pid == src["party"]:
        local = np.clip(P.column(ctx.data, src["column"], s.pid), src["lower"], src["upper"])
    bound = max(abs(src["lower"]), abs(src["upper"]))
    return await s.input(src["party"], local, bound=bound, shape=None if rows is None else (rows,))


# ----------------------------------------------------------------------------- dot
def check_dot(params: dict) -> dict:
    return {"x": _source(params, "x"), "y": _source(params, "y")}


def releases_dot(p: dict) -> list[ReleaseSpec]:
    m = max(abs(p["x"]["lower"]), abs(p["x"]["upper"])) * max(abs(p["y"]["lower"]), abs(p["y"]["upper"]))
    return [ReleaseSpec("dot", l1=m, l2=m, kind="sum")]


async def run_dot(ctx: JobContext):
    x = await _input_column(ctx, ctx.params["x"], None)
    y = await _input_column(ctx, ctx.params["y"], x.shape[0])
    d = await x.dot(y)
    out = await ctx.release(d.reshape(1), releases_dot(ctx.params)[0])
    return None if out is None else {"dot": float(out[0])}


# ----------------------------------------------------------------------------- expression
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FUNCS = {"relu": 1, "abs": 1, "clip": 3, "min": 2, "max": 2}


def parse_expression(text: str, names: set[str]) -> ast.AST:
    """The expression's syntax tree, after checking every node against the whitelist."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_EXPRESSION:
        raise ParameterError(f"expression must be a string of 1 to {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ParameterError(f"expression is not valid: {exc.msg} at column {exc.offset}") from None
    _check_node(tree, names)
    return tree


def _is_number(node: ast.AST) -> bool:
    """A literal number, possibly signed (-1 parses as a unary minus applied to 1)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and \
        not isinstance(node.value, bool)


def _check_node(node: ast.AST, names: set[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ParameterError(f"expression uses {node.id!r}, which is not one of the columns {sorted(names)}")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ParameterError(f"expression constant {node.value!r} is not a number")
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        if isinstance(node.op, ast.Div) and not _is_number(node.right):
            raise ParameterError("expression may divide only by a number")
        if isinstance(node.op, ast.Div) and ast.literal_eval(node.right) == 0:
            raise ParameterError("expression divides by zero")
        _check_node(node.left, names)
        _check_node(node.right, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check_node(node.operand, names)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
        _check_node(node.left, names)
        _check_node(node.comparators[0], names)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
        if node.keywords or len(node.args) != _FUNCS[node.func.id]:
            raise ParameterError(f"{node.func.id}() takes {_FUNCS[node.func.id]} positional arguments")
        if node.func.id == "clip" and not all(_is_number(a) for a in node.args[1:]):
            raise ParameterError("clip(e, lo, hi) needs numbers for lo and hi")
        for a in node.args:
            _check_node(a, names)
    else:
        raise ParameterError(f"expression element {ast.dump(node)[:60]} is not allowed")


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def interval(node: ast.AST, cols: dict[str, Interval]) -> Interval:
    """Interval arithmetic over the tree: the public range of the expression's value."""
    if isinstance(node, ast.Name):
        return cols[node.id]
    if isinstance(node, ast.Constant):
        return Interval(float(node.value), float(node.value))
    if isinstance(node, ast.UnaryOp):
        a = interval(node.operand, cols)
        return a if isinstance(node.op, ast.UAdd) else Interval(-a.hi, -a.lo)
    if isinstance(node, ast.Compare):
        return Interval(0.0, 1.0)
    if isinstance(node, ast.BinOp):
        a, b = interval(node.left, cols), interval(node.right, cols)
        op = _BINOPS[type(node.op)]
        if op == "+":
            return Interval(a.lo + b.lo, a.hi + b.hi)
        if op == "-":
            return Interval(a.lo - b.hi, a.hi - b.lo)
        if op == "/":
            b = Interval(1.0 / b.lo, 1.0 / b.lo)  # b is a nonzero number (checked)
        prods = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        return Interval(min(prods), max(prods))
    f = node.func.id
    args = [interval(a, cols) for a in node.args]
    if f == "relu":
        return Interval(max(0.0, args[0].lo), max(0.0, args[0].hi))
    if f == "abs":
        a = args[0]
        return Interval(0.0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi)), a.mag)
    if f == "clip":
        lo, hi = args[1].lo, args[2].lo
        return Interval(min(max(args[0].lo, lo), hi), max(min(args[0].hi, hi), lo))
    a, b = args
    if f == "min":
        return Interval(min(a.lo, b.lo), min(a.hi, b.hi))
    return Interval(max(a.lo, b.lo), max(a.hi, b.hi))


def check_expression(params: dict) -> dict:
    cols = params.get("columns")
    if not isinstance(cols, dict) or not cols or len(cols) > P.MAX_COLUMNS:
        raise ParameterError("columns must map each expression name to {party, column, lower, upper}")
    sources = {}
    for key in sorted(cols):
        if not isinstance(key, str) or not key.isidentifier() or key in _FUNCS:
            raise ParameterError(f"column name {key!r} must be an identifier other than {sorted(_FUNCS)}")
        sources[key] = _source(cols, key)
    text = params.get("expr")
    tree = parse_expression(text, set(sources))
    rng = interval(tree, {k: Interval(v["lower"], v["upper"]) for k, v in sources.items()})
    if rng.mag > 2.0**20:
        raise ParameterError(f"the expression can reach {rng.mag:.3g}, beyond ±2^20; rescale the columns")
    return {"expr": text, "columns": sources, "range": [rng.lo, rng.hi]}


def releases_expression(p: dict) -> list[ReleaseSpec]:
    m = max(abs(p["range"][0]), abs(p["range"][1]))
    return [ReleaseSpec("values", l1=m, l2=m, kind="rows")]


async def _evaluate(node: ast.AST, env: dict, cols: dict[str, Interval]):
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        v = await _evaluate(node.operand, env, cols)
        return v if isinstance(node.op, ast.UAdd) else -v
    if isinstance(node, ast.Compare):
        a = await _evaluate(node.left, env, cols)
        b = await _evaluate(node.comparators[0], env, cols)
        op = _CMPOPS[type(node.ops[0])]
        if not hasattr(a, "lt"):  # public on the left: flip the comparison
            a, b, op = b, a, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        bit = await {"<": a.lt, "<=": a.le, ">": a.gt, ">=": a.ge}[op](b)
        return bit
    if isinstance(node, ast.BinOp):
        a = await _evaluate(node.left, env, cols)
        b = await _evaluate(node.right, env, cols)
        op = _BINOPS[type(node.op)]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "/":
            return await (a * (1.0 / b)) if hasattr(a, "share") else a / b
        if not hasattr(a, "share") and not hasattr(b, "share"):
            return a * b
        return await (a * b) if hasattr(a, "share") else await (b * a)
    f = node.func.id
    args = [await _evaluate(a, env, cols) for a in node.args]
    x = args[0]
    if not hasattr(x, "share"):
        raise ParameterError(f"{f}() of a constant: simplify the expression")
    if f == "relu":
        return await x.relu()
    if f == "abs":
        return await (x * await x.sign())
    if f == "clip":
        return await x.clip(args[1], args[2])
    y = args[1]
    bit = await x.lt(y)  # min: y where x >= y ... select y when bit is 0
    if f == "min":
        return await x.select(1 - bit, y if hasattr(y, "share") else np.full(x.shape, y))
    return await x.select(bit, y if hasattr(y, "share") else np.full(x.shape, y))


async def run_expression(ctx: JobContext):
    p = ctx.params
    tree = parse_expression(p["expr"], set(p["columns"]))
    env, rows = {}, None
    for key, src in p["columns"].items():
        env[key] = await _input_column(ctx, src, rows)
        rows = env[key].shape[0]
    cols = {k: Interval(v["lower"], v["upper"]) for k, v in p["columns"].items()}
    value = await _evaluate(tree, env, cols)
    if not hasattr(value, "share"):
        raise ParameterError("the expression does not depend on any column")
    out = await ctx.release(value.with_bound(max(abs(p["range"][0]), abs(p["range"][1]))),
                            releases_expression(p)[0])
    return None if out is None else {"values": [float(v) for v in out]}


def columns_dot(p: dict, party: int, parties) -> list[str]:
    """The columns `party` reads: those of x and y assigned to it."""
    return [src["column"] for src in (p["x"], p["y"]) if src["party"] == party]


def columns_expression(p: dict, party: int, parties) -> list[str]:
    return [src["column"] for src in p["columns"].values() if src["party"] == party]


_SOURCE = "{party: P, column: C, lower: L, upper: U}: party P's column C, clipped to the public [L, U]"

PROTOCOLS = [
    Protocol("dot", 1, "Dot product of two columns held by different parties (vertical split)",
             run_dot, check_dot, releases_dot, columns=columns_dot,
             parameters={"x": f"first column {_SOURCE} (required)", "y": f"second column {_SOURCE} (required); "
                         "rows are aligned by position"}),
    Protocol("expression", 1, "Element-wise expression over secret columns, e.g. 'a * b + 2 * c'",
             run_expression, check_expression, releases_expression, columns=columns_expression,
             parameters={"expr": f"the expression (at most {MAX_EXPRESSION} characters) over the names of "
                                 f"'columns', numbers and {', '.join(sorted(_FUNCS))}, e.g. 'a * b + 2 * c'",
                         "columns": f"name -> {_SOURCE}, one entry per name the expression uses"}),
]
