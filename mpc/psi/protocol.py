"""The registered `psi` protocol: nodes run DH-PSI on a key column of their datasets.

What it computes: `mpc.psi.ecdh.psi` between the job's two parties on column `key` of each
party's dataset. The receiver (`receiver`, default the first party) gets
{"size", "members"} (or {"size"} with output="size"); the other party gets {"size"} only
with `size_to_sender`, else {"set_sizes"}.

Payload columns (`payload`: {"<party id>": {"<column>": [lower, upper], ...}, one entry per
party, possibly empty): each party's columns are clipped to the bounds, encoded as fixed point
with the session's fractional bits, and both nodes keep additive shares of the joined table
(`mpc.psi.payload`) in their store of joined tables (`mpc.psi.tables`), named by this job's id.
A following job names it (`"joined": "<this job id>"`, e.g. `linear_regression`) and so runs on
the aligned rows without anyone seeing the join. Both parties' results then also carry
{"joined": {"table", "rows", "columns", "frac_bits"}}. The receiver's node necessarily learns
which of its rows joined (it places them); with output="size" the job result leaves them out.
Keys must be unique per party when payloads are shared.

Security: semi-honest, 2 parties (see `mpc.psi.ecdh`). PSI outputs are exact, not noised:
set membership is the purpose of the protocol, so the job's approval, not the DP layer,
governs who may run it (it releases nothing through `ctx.release`). Jobs on a joined table
release through the DP layer as usual, charged to the datasets the table came from.
References: as `mpc.psi.ecdh`. Cost: as `mpc.psi.ecdh` (3 rounds, 32 bytes per item; payloads
add one schema message and 16 bytes, and no per-row traffic: the shares come from a seed).
"""

from __future__ import annotations

import numpy as np

from mpc.errors import ParameterError
from mpc.protocols import params as P
from mpc.protocols.registry import JobContext, Protocol
from mpc.psi.ecdh import psi

MAX_ITEMS = 1 << 22


def check_psi(params: dict) -> dict:
    output = params.get("output", "members")
    if output not in ("members", "size"):
        raise ParameterError(f"parameter 'output' must be 'members' or 'size', got {output!r}")
    size_to_sender = params.get("size_to_sender", False)
    if not isinstance(size_to_sender, bool):
        raise ParameterError("parameter 'size_to_sender' must be true or false")
    receiver = params.get("receiver")
    if receiver is not None:
        receiver = P.number(params, "receiver", integer=True, lo=0, hi=1 << 16)
    unknown = set(params) - {"key", "output", "size_to_sender", "receiver", "payload"}
    if unknown:
        raise ParameterError(f"unknown psi parameters {sorted(unknown)}")
    return {"key": P.name(params, "key"), "output": output, "size_to_sender": size_to_sender,
            "receiver": receiver, "payload": _check_payload_spec(params.get("payload"))}


def _check_payload_spec(spec) -> dict | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec or len(spec) > 2:
        raise ParameterError('parameter "payload" must be {"<party id>": {"<column>": [lower, upper], ...}} with an '
                             "entry (possibly {}) for each of the two parties")
    out, seen = {}, set()
    for party, cols in spec.items():
        if not isinstance(party, str) or not party.isdigit() or not isinstance(cols, dict):
            raise ParameterError(f"payload: keys are party ids and values objects of column bounds, got {party!r}")
        if len(cols) > P.MAX_COLUMNS:
            raise ParameterError(f"payload: at most {P.MAX_COLUMNS} columns per party")
        checked = {}
        for c, b in cols.items():
            name = P.name({"c": c}, "c")
            if name in seen:
                raise ParameterError(f"payload: column name {name!r} is used by both parties; rename one")
            if not isinstance(b, list) or len(b) != 2:
                raise ParameterError(f"payload[{party}][{c!r}] must be [lower, upper]")
            checked[name] = list(P.bounds({"lower": b[0], "upper": b[1]}))
            seen.add(name)
        out[str(int(party))] = checked
    return out


def _encoded_payload(ctx: JobContext, spec: dict) -> dict[str, np.ndarray]:
    s = ctx.session
    if sorted(spec) != sorted(str(p) for p in s.comm.parties):
        raise ParameterError(f"payload names parties {sorted(spec)}; give an entry (possibly {{}}) for each of "
                             f"the job's parties {list(s.comm.parties)}")
    if ctx.tables is None:
        raise ParameterError(f"party {s.pid} keeps no joined tables: set state_dir in its [node] section to run "
                             "psi with payload columns")
    return {c: s.fxp.encode(np.clip(P.column(ctx.data, c, s.pid), lo, hi)) for c, (lo, hi) in spec[str(s.pid)].items()}


async def run_psi(ctx: JobContext):
    s, p = ctx.session, ctx.params
    if ctx.data is None or p["key"] not in ctx.data:
        raise ParameterError(f"party {s.pid}: the dataset has no key column {p['key']!r}")
    items = ctx.data[p["key"]]
    if len(items) > MAX_ITEMS:
        raise ParameterError(f"party {s.pid}: {len(items)} keys, more than the {MAX_ITEMS} this protocol takes")
    spec = p.get("payload")
    payload = _encoded_payload(ctx, spec) if spec is not None else None
    r = await psi(s.comm.fork("psi"), items, receiver=p["receiver"],
                  output="members" if payload is not None else p["output"],
                  size_to_sender=p["size_to_sender"], payload=payload)
    out = {"set_sizes": list(r.set_sizes)}
    if r.size is not None:
        out["size"] = r.size
    if r.members is not None and p["output"] == "members":
        out["members"] = [m.decode(errors="replace") for m in r.members]
    if r.shares is not None:
        bounds = {c: b for cols in spec.values() for c, b in cols.items()}
        info = {"job": s.job, "parties": list(s.comm.parties), "party": s.pid, "dataset": ctx.dataset,
                "bounds": bounds, "frac_bits": s.fxp.frac_bits}
        shares = type(r.shares)(r.shares.rows, r.shares.indicator, r.shares.columns, r.shares.owner, info)
        ctx.tables.save(s.job, shares)
        out["joined"] = {"table": s.job, "rows": shares.rows, "columns": bounds, "frac_bits": s.fxp.frac_bits}
    return out


PROTOCOLS = [
    Protocol("psi", 1, "Private set intersection of a key column (ECDH over Ed25519): size or members",
             run_psi, check_psi, needs_dealer=False, min_parties=2, max_parties=2,
             dp_exempt="exact set membership is the purpose of PSI; allowed per dataset by node policy",
             parameters={"key": "the key column to intersect (required)",
                         "output": "'members' (default: the receiver gets the common keys) or 'size'",
                         "receiver": "the party that receives the result (default: the first party)",
                         "size_to_sender": "also tell the other party the intersection size (default false)",
                         "payload": '{"<party id>": {"<column>": [lower, upper], ...}} for both parties: keep '
                                    "additive shares of the joined columns for a following job (\"joined\")"},
             columns=lambda p, party, parties: [p["key"]] + list((p.get("payload") or {}).get(str(party), {}))),
]
