"""The registered `psi` protocol: nodes run DH-PSI on a key column of their datasets.

What it computes: `mpc.psi.ecdh.psi` between the job's two parties on column `key` of each
party's dataset. The receiver (`receiver`, default the first party) gets
{"size", "members"} (or {"size"} with output="size"); the other party gets {"size"} only
with `size_to_sender`, else {"set_sizes"}. Payload sharing is not offered through nodes yet
(the shares must stay at the nodes for the next job, which needs node-side job storage).

Security: semi-honest, 2 parties (see `mpc.psi.ecdh`). PSI outputs are exact, not noised:
set membership is the purpose of the protocol, so the job's approval, not the DP layer,
governs who may run it (it releases nothing through `ctx.release`).
References: as `mpc.psi.ecdh`. Cost: as `mpc.psi.ecdh` (3 rounds, 32 bytes per item).
"""

from __future__ import annotations

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
    unknown = set(params) - {"key", "output", "size_to_sender", "receiver"}
    if unknown:
        raise ParameterError(f"unknown psi parameters {sorted(unknown)} (payload sharing runs with `mpc psi "
                             "--local` only for now)")
    return {"key": P.name(params, "key"), "output": output, "size_to_sender": size_to_sender,
            "receiver": receiver}


async def run_psi(ctx: JobContext):
    s, p = ctx.session, ctx.params
    if ctx.data is None or p["key"] not in ctx.data:
        raise ParameterError(f"party {s.pid}: the dataset has no key column {p['key']!r}")
    items = ctx.data[p["key"]]
    if len(items) > MAX_ITEMS:
        raise ParameterError(f"party {s.pid}: {len(items)} keys, more than the {MAX_ITEMS} this protocol takes")
    r = await psi(s.comm.fork("psi"), items, receiver=p["receiver"], output=p["output"],
                  size_to_sender=p["size_to_sender"])
    out = {"set_sizes": list(r.set_sizes)}
    if r.size is not None:
        out["size"] = r.size
    if r.members is not None:
        out["members"] = [m.decode(errors="replace") for m in r.members]
    return out


PROTOCOLS = [
    Protocol("psi", 1, "Private set intersection of a key column (ECDH over Ed25519): size or members",
             run_psi, check_psi, needs_dealer=False, min_parties=2, max_parties=2,
             dp_exempt="exact set membership is the purpose of PSI; allowed per dataset by node policy"),
]
