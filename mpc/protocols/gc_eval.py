"""`gc_eval`: two parties evaluate a shipped Bristol Fashion circuit on their private inputs (Yao).

What it computes: the outputs of a Boolean circuit (a name from `mpc.gc.bristol.shipped_names()`,
e.g. ``aes_128``) for `instances` instances, each input value supplied by the party the job's
`owners` names, read from that party's dataset: `input_columns[k]` is one column (integers below
2^53, since node datasets hold numbers as float64, or hex strings) or a list of columns holding
32-bit limbs, least significant first (e.g. four columns for an AES-128 key). The outputs go to
the job's `output_to` parties as `int_hex` strings (one list per output value).

Security: semi-honest adversary corrupting one of the two parties (see `mpc.gc.yao`); the
garbler and evaluator roles are fixed by `garbler` (the position in the job's parties). Outputs
are exact function values, not noised: the protocol is `dp_exempt` (it does not go through the
DP release gate `ctx.release`), so a node runs it only on datasets whose policy names it, and
only for circuits whose outputs may be revealed exactly (encryption, equality tests).

References: Yao (FOCS 1986); Lindell-Pinkas (J. Cryptology 2009); half-gates (ZRE15); GKWY20
hash; Naor-Pinkas base OT (SODA 2001); IKNP (CRYPTO 2003): see mpc.gc.yao and mpc.ot.

Cost: as `mpc.gc.yao` (1.5 round trips after 1 round of base OTs; 32 B per AND gate per instance).
"""

from __future__ import annotations

import numpy as np

from mpc.errors import ParameterError
from mpc.gc import bristol as B
from mpc.gc.yao import EVALUATOR, GARBLER, Evaluator, Garbler, Layout
from mpc.protocols.registry import JobContext, Protocol

MAX_INSTANCES = 1 << 20


def check_params(params: dict) -> dict:
    """Validate and normalise: circuit, owners (party positions 0/1 per input value), instances,
    garbler (position, default 0), input_columns (default in0, in1, ...)."""
    p = dict(params)
    name = p.get("circuit")
    if not isinstance(name, str) or B.shipped_path(name) is None:
        raise ParameterError(f"gc_eval: 'circuit' must name a shipped circuit ({', '.join(B.shipped_names())}), "
                             f"got {name!r}")
    in_widths, _ = B.header(name)
    k = len(in_widths)
    owners = p.get("owners", [0] + [1] * (k - 1))
    if not isinstance(owners, (list, tuple)) or len(owners) != k or any(o not in (0, 1) for o in owners):
        raise ParameterError(f"gc_eval: 'owners' must list party position 0 or 1 for each of the {k} input values "
                             f"of {name}, got {owners!r}")
    n = p.get("instances", 1)
    if not isinstance(n, int) or not 1 <= n <= MAX_INSTANCES:
        raise ParameterError(f"gc_eval: 'instances' must be an integer in 1..{MAX_INSTANCES}, got {n!r}")
    garbler = p.get("garbler", 0)
    if garbler not in (0, 1):
        raise ParameterError(f"gc_eval: 'garbler' must be party position 0 or 1, got {garbler!r}")
    cols = p.get("input_columns", [f"in{j}" for j in range(k)])
    if not isinstance(cols, (list, tuple)) or len(cols) != k:
        raise ParameterError(f"gc_eval: 'input_columns' must give one entry per input value ({k})")
    norm = []
    for j, (col, w) in enumerate(zip(cols, in_widths)):
        if isinstance(col, str):
            norm.append(col)
        elif (isinstance(col, (list, tuple)) and len(col) == -(-w // 32) and all(isinstance(x, str) for x in col)):
            norm.append(list(col))
        else:
            raise ParameterError(f"gc_eval: input_columns[{j}] must be a column name or a list of "
                                 f"{-(-w // 32)} column names (32-bit limbs) for a {w}-bit value, got {col!r}")
    return {"circuit": name, "owners": list(owners), "instances": n, "garbler": garbler, "input_columns": norm}


def limb_bits(cols: list, width: int, n: int, names: list[str]) -> np.ndarray:
    """(n, width) bits from 32-bit limb columns (least significant first), each in [0, 2^32)."""
    total = [0] * n
    for j, (col, name) in enumerate(zip(cols, names)):
        a = np.asarray(col)
        if a.shape != (n,) or a.dtype.kind not in "iuf":
            raise ParameterError(f"gc_eval: limb column {name!r} must hold {n} numbers, got {a.dtype} {a.shape}")
        if np.any(a < 0) or np.any(a >= 2**32) or np.any(a != np.floor(a)):
            raise ParameterError(f"gc_eval: limb column {name!r} must hold integers in [0, 2^32)")
        for i, v in enumerate(a.tolist()):
            total[i] |= int(v) << (32 * j)
    return B.int_to_bits(total, width)


def column_bits(col, width: int, n: int, name: str) -> np.ndarray:
    """A dataset column as (n, width) bits: integers (width <= 64), uint64 limbs (n, ceil(w/64),
    least significant first), or int_hex strings."""
    a = np.asarray(col)
    if a.shape[:1] != (n,):
        raise ParameterError(f"gc_eval: column {name!r} has {a.shape[:1]} rows, the job has {n} instances")
    if a.dtype.kind in "US" or a.dtype == object:
        vals = [B.hex_to_int(str(x), width) for x in a.reshape(n)]
    elif a.dtype.kind in "iu" and a.ndim == 1 and width <= 64:
        if np.any(a < 0):
            raise ParameterError(f"gc_eval: column {name!r} has negative values")
        vals = [int(x) for x in a]
    elif a.dtype.kind == "f" and a.ndim == 1:  # node datasets load numbers as float64: exact below 2^53
        if np.any(a < 0) or np.any(a >= 2.0**53) or np.any(a != np.floor(a)):
            raise ParameterError(f"gc_eval: column {name!r} must hold non-negative integers below 2^53 "
                                 "(use 32-bit limb columns for wider values)")
        vals = [int(x) for x in a]
    elif a.dtype == np.uint64 and a.ndim == 2 and a.shape[1] == -(-width // 64):
        vals = [sum(int(x) << (64 * j) for j, x in enumerate(row)) for row in a]
    else:
        raise ParameterError(f"gc_eval: column {name!r} must hold integers, uint64 limbs or hex strings "
                             f"for a {width}-bit value")
    return B.int_to_bits(vals, width)


async def run(ctx: JobContext):
    """One party's side of gc_eval; returns {"outputs": [[hex, ...] per output value]} at output parties."""
    p = check_params(ctx.params)
    comm = ctx.session.comm
    if comm.n != 2:
        raise ParameterError(f"gc_eval is a two-party protocol; job {comm.job} has {comm.n} parties")
    c = B.load(p["circuit"])
    g_pid = comm.parties[p["garbler"]]
    e_pid = comm.parties[1 - p["garbler"]]
    role_of = {g_pid: GARBLER, e_pid: EVALUATOR}
    owners = tuple(role_of[comm.parties[o]] for o in p["owners"])
    output_to = tuple(sorted({role_of[q] for q in ctx.output_to if q in role_of}))
    lay = Layout.make(c, owners, output_to)
    me = role_of[comm.pid]
    inputs = []
    for k, (w, owner) in enumerate(zip(c.input_widths, owners)):
        if owner != me:
            continue
        col = p["input_columns"][k]
        names = col if isinstance(col, list) else [col]
        missing = [x for x in names if not ctx.data or x not in ctx.data]
        if missing:
            raise ParameterError(f"gc_eval: party {comm.pid} supplies input value {k} of {c.name} but its dataset "
                                 f"has no column(s) {missing} (job {comm.job})")
        if isinstance(col, list):
            inputs.append(limb_bits([ctx.data[x] for x in names], w, p["instances"], names))
        else:
            inputs.append(column_bits(ctx.data[col], w, p["instances"], col))
    sub = comm.fork("gc_eval")
    if me == GARBLER:
        party = Garbler(sub, e_pid, ctx.session.prg)
    else:
        party = Evaluator(sub, g_pid, ctx.session.prg)
    ctx.progress(0.0, f"gc_eval {c.name}: {me}")
    outs = await party.run(c, inputs, n=p["instances"], owners=lay.owners, output_to=lay.output_to)
    ctx.progress(1.0, "done")
    if outs is None:
        return None
    return {"outputs": [[B.int_to_hex(x, w) for x in B.bits_to_int(o)] for o, w in zip(outs, c.output_widths)]}


PROTOCOLS = [
    Protocol(
        name="gc_eval",
        version=1,
        summary="Yao garbled-circuit evaluation of a shipped Bristol Fashion circuit between two parties",
        run=run,
        check_params=check_params,
        needs_dealer=False,
        dp_exempt=("an exact function value (e.g. a ciphertext, a comparison bit) that the two parties agreed to "
                   "compute, not a statistic of a dataset; a node runs it only on datasets whose policy names it"),
        min_parties=2,
        max_parties=2,
        security="semi-honest",
        parameters={
            "circuit": "a shipped Bristol Fashion circuit, e.g. aes_128 (mpc gc info lists them; required)",
            "owners": "party position (0 or 1) supplying each input value (default: value 0 from position 0, the "
                      "others from 1)",
            "instances": f"circuit evaluations, one per row (default 1, at most {MAX_INSTANCES})",
            "garbler": "party position that garbles (default 0)",
            "input_columns": "per input value: a column name, or a list of 32-bit limb columns (least significant "
                             "first); default in0, in1, ...",
        },
        columns=lambda p, party, parties: [c for k, col in enumerate(p["input_columns"])
                                           if parties[p["owners"][k]] == party
                                           for c in (col if isinstance(col, list) else [col])],
    )
]
