"""Two-party private set intersection by commutative blinding in the Ed25519 group (DH-PSI).

What it computes: for a receiver R with set X and a sender S with set Y, either |X ∩ Y|
(`output="size"`) or the members of X ∩ Y (`output="members"`) at R; S learns |X| and, only
with `size_to_sender=True`, |X ∩ Y|. With `payload=...` (members mode) both parties end with
additive shares over Z_2^64 of a table aligned row by row at both parties (see
`mpc.psi.payload`): a shared 0/1 indicator of intersection membership and the payload
columns of both parties, so a following job can compute on the joined rows while S never
learns which of its rows joined and R never sees S's payload values.

Protocol: H(x) = from_uniform(SHA-512(dst || x)) in the prime-order Ed25519 group, taken to
the curve's Montgomery form (x-only u-coordinate; `mpc.crypto.group.hash_many_montgomery`).
R draws a, S draws b (fresh per run, OS CSPRNG); blinding is X25519 (clamped scalars, which
commute: a*(b*P) = b*(a*P)). R -> S: a*H(x_i); S -> R: b*H(y_j) in a random order π, sent as
soon as it is ready, so that R re-blinds it, a*(b*H(y_j)), while S computes b*(a*H(x_i)) (in
R's order for members, shuffled for size) and sends it; R matches. The group operations run
in a worker thread (libsodium releases the GIL), so a node's event loop stays responsive. Inputs are deduplicated first (PSI is on sets); payload rows need unique keys.

Security: semi-honest, both parties may be corrupted one at a time (two parties, no
honest majority); S's view is a*H(x_i) (pseudorandom under DDH in the random-oracle model),
R's view is b*a*H(x_i) and b*H(y_j) (only the matches are recognisable). Both set sizes
are revealed. Malicious behaviour is not prevented (a party can use other inputs, or S can
drop rows); every received point is checked to lie in the prime-order subgroup (libsodium)
and every size against the agreed bounds.
References: Huberman-Franklin-Hogg, ACM EC 1999 (DH-based PSI); Meadows, IEEE S&P 1986;
Pinkas-Schneider-Zohner, USENIX Security 2014, section 3 (DH-PSI analysis); Ion et al.,
EuroS&P 2020 (Private Join and Compute, section 3: payloads with the intersection).
Cost: 2 message flights (R -> S, S -> R), a third with size_to_sender or payloads, and one
schema exchange before them with payloads; R sends 32|X| bytes, S sends
32(|X| + |Y|); per party one hash-to-group per own item and one blinding multiplication per
item of each set (two multiplications per item when |X| = |Y|).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from mpc.crypto import PRG
from mpc.crypto import group as G
from mpc.errors import ParameterError, ProtocolAbort
from mpc.net import Comm
from mpc.psi.payload import PayloadShares, check_payload, share_payload

DST = b"mpc-psi-v1"
MAX_ITEMS = 1 << 24


@dataclass(frozen=True)
class PSIResult:
    """What one party learns. `size` is None where the party is not entitled to it.

    At the receiver in members mode, `members` are the common items (R's encoding) and
    `indices` their row numbers in R's input (first occurrence), in R's input order.
    """

    size: int | None
    set_sizes: tuple[int, int]
    members: list[bytes] | None = None
    indices: np.ndarray | None = None
    shares: PayloadShares | None = None


def encode_items(items) -> list[bytes]:
    """Items as bytes: bytes as they are, str as UTF-8, integers (also integral floats) as decimal text."""
    out = []
    for x in (items.tolist() if isinstance(items, np.ndarray) else items):
        if isinstance(x, (bytes, bytearray)):
            out.append(bytes(x))
        elif isinstance(x, str):
            out.append(x.encode())
        elif isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            out.append(str(int(x)).encode())
        elif isinstance(x, (float, np.floating)) and float(x).is_integer():
            out.append(str(int(x)).encode())  # integer keys read as floats (e.g. from CSV)
        else:
            raise ParameterError(f"PSI items are bytes, str or int, got {type(x).__name__}")
    return out


def _dedupe(items: list[bytes]) -> tuple[list[bytes], np.ndarray]:
    first: dict[bytes, int] = {}
    for i, x in enumerate(items):
        first.setdefault(x, i)
    return list(first), np.fromiter(first.values(), dtype=np.int64, count=len(first))


def _hash_and_blind(k: bytes, items: list[bytes]) -> bytes:
    return G.x25519_many(k, G.hash_many_montgomery(items, DST)) if items else b""


def _permutation(n: int, prg: PRG) -> np.ndarray:
    """A uniformly random permutation (sort of CSPRNG keys; ties have probability < n^2/2^64)."""
    return np.argsort(prg.uint64(n), kind="stable")


async def _recv_points(comm: Comm, peer: int, tag: str, count: int | None) -> bytes:
    data = await comm.recv(peer, tag, max_bytes=32 * MAX_ITEMS)
    if len(data) % 32 or (count is not None and len(data) != 32 * count):
        want = f"{32 * count}" if count is not None else "a multiple of 32"
        raise ProtocolAbort(f"job {comm.job}: party {peer} sent {len(data)} bytes of points under {tag!r}, "
                            f"expected {want}", party=peer, job=comm.job)
    return data


async def _checked_mul(comm: Comm, peer: int, k: bytes, points: bytes) -> bytes:
    try:
        return await asyncio.to_thread(G.x25519_many, k, points) if points else b""
    except G.InvalidPoint as exc:
        raise ProtocolAbort(f"job {comm.job}: party {peer} sent an invalid group element ({exc})",
                            party=peer, job=comm.job) from None


async def psi(comm: Comm, items, *, receiver: int | None = None, output: str = "members",
              size_to_sender: bool = False, payload: Mapping[str, np.ndarray] | None = None,
              prg: PRG | None = None) -> PSIResult:
    """Run DH-PSI as one of the two parties of `comm` (see the module docstring)."""
    if comm.n != 2:
        raise ParameterError(f"job {comm.job}: PSI runs between exactly 2 parties, got {list(comm.parties)}")
    receiver = comm.parties[0] if receiver is None else receiver
    if receiver not in comm.parties:
        raise ParameterError(f"job {comm.job}: receiver {receiver} is not one of the parties {list(comm.parties)}")
    if output not in ("members", "size"):
        raise ParameterError(f"output must be 'members' or 'size', got {output!r}")
    if payload is not None and output != "members":
        raise ParameterError("payload shares need output='members' (the receiver places rows by the matches)")
    prg = prg or PRG()
    raw = encode_items(items)
    unique, first_rows = _dedupe(raw)
    if len(unique) > MAX_ITEMS:
        raise ParameterError(f"at most {MAX_ITEMS} distinct items per party, got {len(unique)}")
    if payload is not None and len(unique) != len(raw):
        raise ParameterError(f"payload rows need unique keys: {len(raw) - len(unique)} duplicate keys in this "
                             "party's input; aggregate the rows per key first")
    peer = comm.others[0]
    cols = check_payload(payload, len(raw)) if payload is not None else None
    peer_cols: list[str] = []
    if cols is not None:  # both parties must pass `payload` (possibly {}): exchange column names
        tag = comm.tag("psi-schema")
        await comm.send(peer, tag, json.dumps(sorted(cols)).encode())
        try:
            peer_cols = [str(c) for c in json.loads(await comm.recv(peer, tag, max_bytes=1 << 16))]
        except (ValueError, TypeError):
            raise ProtocolAbort(f"job {comm.job}: party {peer} sent a malformed payload schema",
                                party=peer, job=comm.job) from None
    k = G.x25519_scalar()
    mine = await asyncio.to_thread(_hash_and_blind, k, unique)
    t_r = comm.tag("psi-r-blinded")
    t_s_double, t_s_own = comm.tag("psi-s-double"), comm.tag("psi-s-blinded")
    t_final = comm.tag("psi-final")
    final_bytes = 8 * size_to_sender + 16 * (cols is not None)
    if comm.pid == receiver:
        await comm.send(peer, t_r, mine)
        theirs = await _checked_mul(comm, peer, k, await _recv_points(comm, peer, t_s_own, None))
        double = await _recv_points(comm, peer, t_s_double, len(unique))
        n_peer = len(theirs) // 32
        position = {theirs[32 * p: 32 * p + 32]: p for p in range(n_peer)}
        hits = [(i, position.get(double[32 * i: 32 * i + 32])) for i in range(len(unique))]
        hits = [(i, p) for i, p in hits if p is not None]
        size = len(hits)
        shares = None
        if final_bytes:
            seed = prg.bytes(16) if cols is not None else b""
            await comm.send(peer, t_final, (size.to_bytes(8, "little") if size_to_sender else b"") + seed)
        if cols is not None:
            shares = share_payload(role="receiver", rows=n_peer, matches=hits, first_rows=first_rows,
                                   payload=cols, peer_columns=peer_cols, seed=seed)
        if output == "size":
            return PSIResult(size, (len(unique), n_peer))
        return PSIResult(size, (len(unique), n_peer), members=[unique[i] for i, _ in hits],
                         indices=first_rows[[i for i, _ in hits]].astype(np.int64), shares=shares)
    # sender: its own blinded set first, so that both parties' second multiplications overlap
    pi = _permutation(len(unique), prg)
    await comm.send(peer, t_s_own, b"".join(mine[32 * p: 32 * p + 32] for p in pi))
    theirs = await _recv_points(comm, peer, t_r, None)
    double = await _checked_mul(comm, peer, k, theirs)
    n_peer = len(theirs) // 32
    if output == "size":
        perm = _permutation(n_peer, prg)
        double = b"".join(double[32 * p: 32 * p + 32] for p in perm)
    await comm.send(peer, t_s_double, double)
    size = shares = None
    if final_bytes:
        msg = await comm.recv(peer, t_final, nbytes=final_bytes)
        if size_to_sender:
            size = int.from_bytes(msg[:8], "little")
            if size > min(len(unique), n_peer):
                raise ProtocolAbort(f"job {comm.job}: party {peer} reported an intersection of {size}, "
                                    "larger than either set", party=peer, job=comm.job)
        if cols is not None:
            shares = share_payload(role="sender", rows=len(unique), matches=None, first_rows=first_rows[pi],
                                   payload=cols, peer_columns=peer_cols, seed=msg[-16:])
    return PSIResult(size, (n_peer, len(unique)), shares=shares)
