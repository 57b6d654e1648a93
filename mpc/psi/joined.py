"""PSI payload shares as secure arrays of a runtime `Session`, for the job that follows a PSI.

`as_additive_arrays(session, shares, bounds=...)` wraps a party's `PayloadShares` (see
`mpc.psi.payload` for the format) as `AdditiveArray`s of a two-party session whose parties
are the PSI's two parties, in the same order at both. Nothing is sent: the shares already
are additive shares over Z_2^64. `joined(...)` multiplies every column by the shared
indicator (one Beaver product), so non-joined rows become 0 and sums, dot products and
Gram matrices over the table equal those over the intersection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

from mpc.arith import RING
from mpc.errors import ParameterError, ProtocolAbort
from mpc.psi.payload import PayloadShares


def as_additive_arrays(session, shares: PayloadShares, *, bounds: Mapping[str, float],
                       frac_bits: int | Mapping[str, int] = 0):
    """(indicator, {column: AdditiveArray}) for this party of a 2-party session.

    `bounds[c]` is a public bound on |value| of column c (in real units); `frac_bits` the
    fixed-point fractional bits the column was encoded with (0 for integers).
    """
    from mpc.runtime import AdditiveArray

    if session.n != 2:
        raise ParameterError(f"PSI shares belong to a 2-party session, this one has {session.n} parties")
    missing = sorted(set(shares.columns) - set(bounds))
    if missing:
        raise ParameterError(f"give a public bound for every payload column; missing {missing}")
    fb = frac_bits if isinstance(frac_bits, Mapping) else {c: int(frac_bits) for c in shares.columns}
    ind = AdditiveArray(session, RING, shares.indicator, 0, 1.0)
    cols = {c: AdditiveArray(session, RING, v, int(fb.get(c, 0)), float(bounds[c])) for c, v in shares.columns.items()}
    return ind, cols


async def joined(session, shares: PayloadShares, *, bounds: Mapping[str, float],
                 frac_bits: int | Mapping[str, int] = 0) -> dict:
    """Every column times the indicator (0 on rows outside the intersection), plus 'indicator'."""
    ind, cols = as_additive_arrays(session, shares, bounds=bounds, frac_bits=frac_bits)
    out = {"indicator": ind}
    for c, arr in cols.items():
        out[c] = await (arr * ind)
    return out


async def table_for_job(ctx, name: str) -> PayloadShares:
    """This party's shares of the joined table `name` from its node's store, checked for the job.

    The node checks the table belongs to the job's parties and to the dataset this party names
    (`mpc.psi.tables`); then the two parties compare SHA-256 digests of what they hold (table
    name, rows, column owners, bounds, fractional bits, parties): one message each way.
    """
    s = ctx.session
    if ctx.tables is None:
        raise ParameterError(f"party {s.pid} keeps no joined tables (no state_dir in its [node] section)")
    if s.n != 2:
        raise ParameterError(f"joined table {name!r} belongs to a 2-party job; this one has {s.n} parties")
    shares = ctx.tables.check_for_job(name, parties=s.comm.parties, dataset=ctx.dataset)
    info = shares.info
    body = {"table": name, "rows": shares.rows, "owner": shares.owner, "bounds": info.get("bounds"),
            "frac_bits": info.get("frac_bits"), "parties": list(info.get("parties", []))}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    comm = s.comm.fork("joined-table")
    peer = comm.others[0]
    tag = comm.tag("digest")
    await comm.send(peer, tag, digest)
    theirs = await comm.recv(peer, tag, nbytes=32)
    if not hmac.compare_digest(theirs, digest):
        raise ProtocolAbort(f"job {comm.job}: party {peer} holds a different joined table {name!r} (rows, columns "
                            "or bounds differ); both must come from the same psi job", party=peer, job=comm.job)
    return shares
