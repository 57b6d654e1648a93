"""Opening shared values, to everyone or to chosen parties.

What it computes: the secret behind additive (ring/field), XOR or Shamir shares.
Security: reveals the value (and, for additive shares, each party's share of it) to the
receivers; semi-honest. Opening to a subset first re-randomises the shares with a
pseudo-random zero-sharing, so receivers learn the value and nothing about the shares.
Cost: one round; each party sends its share to every receiver (8 bytes per element).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mpc.arith.domain import Domain
from mpc.arith.field import FIELD
from mpc.errors import ParameterError
from mpc.net.comm import Comm
from mpc.sharing.shamir import Shamir


def _receivers(comm: Comm, to: Sequence[int] | None) -> tuple[int, ...]:
    if to is None:
        return comm.parties
    to = tuple(sorted(set(int(p) for p in to)))
    bad = [p for p in to if p not in comm.parties]
    if bad or not to:
        raise ParameterError(f"job {comm.job}: cannot open to parties {list(to)}; compute parties are "
                             f"{list(comm.parties)}")
    return to


async def open_additive(comm: Comm, domain: Domain, share: np.ndarray, to: Sequence[int] | None = None,
                        seeds=None) -> np.ndarray | None:
    """Σ shares at the receivers (None elsewhere). `seeds` (PairwiseSeeds) re-randomise subset opens."""
    receivers = _receivers(comm, to)
    tag = comm.tag("open")
    if to is not None and seeds is not None:
        share = domain.add(share, seeds.zero_share(domain, share.shape, tag))
    outgoing = {p: share for p in receivers if p != comm.pid}
    incoming = comm.others if comm.pid in receivers else ()
    got = await comm.exchange_arrays(tag, outgoing, incoming, np.uint64, share.shape)
    if comm.pid not in receivers:
        return None
    total = share
    for p in comm.others:
        total = domain.add(total, got[p])
    return total


async def open_xor(comm: Comm, share: np.ndarray, to: Sequence[int] | None = None) -> np.ndarray | None:
    """XOR of uint64 word shares at the receivers."""
    receivers = _receivers(comm, to)
    tag = comm.tag("open-xor")
    outgoing = {p: share for p in receivers if p != comm.pid}
    incoming = comm.others if comm.pid in receivers else ()
    got = await comm.exchange_arrays(tag, outgoing, incoming, share.dtype, share.shape)
    if comm.pid not in receivers:
        return None
    total = share.copy()
    for p in comm.others:
        total ^= got[p]
    return total


async def open_shamir(comm: Comm, scheme: Shamir, share: np.ndarray,
                      to: Sequence[int] | None = None) -> np.ndarray | None:
    """Reconstruct at the receivers from every party's share, checking that they agree."""
    receivers = _receivers(comm, to)
    tag = comm.tag("open-shamir")
    outgoing = {p: share for p in receivers if p != comm.pid}
    incoming = comm.others if comm.pid in receivers else ()
    got = await comm.exchange_arrays(tag, outgoing, incoming, np.uint64, share.shape)
    if comm.pid not in receivers:
        return None
    shares = {comm.index: share}
    for p, arr in got.items():
        shares[comm.parties.index(p)] = FIELD.check(arr, f"share from party {p}")
    return scheme.reconstruct(shares)
