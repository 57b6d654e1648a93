"""A trusted dealer of correlated randomness, and the parties' view of it.

What it computes: Beaver triples (elementwise and matrix, over Z_2^64 or GF(2^61-1)), binary
AND triples on uint64 words, truncation tuples, edaBits and daBits, for n compute parties.
Each request's randomness is fixed by per-party seeds: every party expands its seed (the
dealer sent it once, at setup) for the request's label *and its kind and shapes*, and only the
last party receives a message, the correction that makes the shares sum (or XOR) to the right
value.

Requests come from the last party alone, so the dealer does not take them on trust: a label is
served once per job (a replayed label is refused), requests carry nothing but kind, label,
shapes, domain and truncation bits (anything else is refused), and the streams are derived
from the label together with the kind and shapes. Without that binding the last party could
ask again for a past triple's label as a matrix product of shapes (m,0)x(0,1), receive minus
the other parties' shares of `a`, and read another party's input from the public opening
d = x - a; with it, a request whose kind or shapes differ from what the other parties drew is
answered from streams no party uses, and tells its sender nothing.

Security: **the dealer must be trusted**: it knows every share it deals, so a dealer that
colludes with any party breaks privacy. Against the compute parties alone the shares are
perfectly private to any n−1 of them (PRG security for the seeded ones), also when the last
party sends the dealer requests of its own choosing (see above): it can make its own results
wrong, never learn the others' shares. Semi-honest otherwise: the dealer is assumed to deal
correctly. Use it for tests, demos and deployments that accept a
trusted third party; `TripleSource` implementations without a dealer plug in the same way.
References: Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO '91;
the seed-compression trick as in SPDZ-style dealers (e.g. CrypTen's trusted third party);
edaBits: Escudero et al., CRYPTO 2020; daBits: Rotaru–Wood, INDOCRYPT 2019.
Cost: one round trip between the last party and the dealer per request; the last party
receives one array per "fixed" component (e.g. c of a triple: 8 bytes per element); the other
parties receive nothing after the 16-byte seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mpc.arith.domain import Domain, domain_by_name
from mpc.arith.ring import RING
from mpc.crypto.prg import PRG, SEED_BYTES, random_seed
from mpc.errors import ParameterError, ProtocolAbort
from mpc.net.comm import Comm
from mpc.preprocessing.provider import Triple, TripleSource, TruncTuple

MAX_ELEMENTS = 1 << 27  # per request (1 GiB of uint64): refuse anything larger
LOW63 = np.uint64((1 << 63) - 1)


@dataclass(frozen=True)
class _Part:
    """One shared component: `share` is a domain name or "xor"; `bit` draws 0/1 values."""

    share: str
    shape: tuple[int, ...]
    bit: bool = False

    def draw(self, prg: PRG) -> np.ndarray:
        if self.share == "xor":
            return prg.bits(self.shape).astype(np.uint64) if self.bit else prg.uint64(self.shape)
        return domain_by_name(self.share).random(prg, self.shape)

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a ^ b if self.share == "xor" else domain_by_name(self.share).add(a, b)

    def remove(self, total: np.ndarray, part: np.ndarray) -> np.ndarray:
        return total ^ part if self.share == "xor" else domain_by_name(self.share).sub(total, part)


@dataclass(frozen=True)
class _Kind:
    """A kind of correlated randomness: free parts (seeded everywhere), fixed parts (corrected)."""

    free: Callable[[dict], list[_Part]]
    fixed: Callable[[dict], list[_Part]]
    derive: Callable[[dict, list[np.ndarray]], list[np.ndarray]]


def _shape(params: dict, key: str = "shape") -> tuple[int, ...]:
    return tuple(params[key])


def _trunc_fixed(p: dict, free: list[np.ndarray]) -> list[np.ndarray]:
    (r,) = free
    return [r >> np.uint64(63), (r & LOW63) >> np.uint64(p["f"])]


KINDS: dict[str, _Kind] = {
    "mul": _Kind(
        free=lambda p: [_Part(p["domain"], _shape(p)), _Part(p["domain"], _shape(p))],
        fixed=lambda p: [_Part(p["domain"], _shape(p))],
        derive=lambda p, f: [domain_by_name(p["domain"]).mul(f[0], f[1])],
    ),
    "matmul": _Kind(
        free=lambda p: [_Part(p["domain"], _shape(p)), _Part(p["domain"], _shape(p, "shape_b"))],
        fixed=lambda p: [_Part(p["domain"], (p["shape"][0], p["shape_b"][1]))],
        derive=lambda p, f: [domain_by_name(p["domain"]).matmul(f[0], f[1])],
    ),
    "and": _Kind(
        free=lambda p: [_Part("xor", _shape(p)), _Part("xor", _shape(p))],
        fixed=lambda p: [_Part("xor", _shape(p))],
        derive=lambda p, f: [f[0] & f[1]],
    ),
    "trunc": _Kind(
        free=lambda p: [_Part("ring", _shape(p))],
        fixed=lambda p: [_Part("ring", _shape(p)), _Part("ring", _shape(p))],
        derive=_trunc_fixed,
    ),
    "edabit": _Kind(
        free=lambda p: [_Part("ring", _shape(p))],
        fixed=lambda p: [_Part("xor", _shape(p))],
        derive=lambda p, f: [f[0].copy()],
    ),
    "dabit": _Kind(
        free=lambda p: [_Part("xor", _shape(p), bit=True)],
        fixed=lambda p: [_Part("ring", _shape(p))],
        derive=lambda p, f: [f[0].copy()],
    ),
}


_FIELDS = {"kind", "label", "shape", "shape_b", "domain", "f"}


def _stream_id(req: dict) -> str:
    """What a request's randomness is bound to besides its label: kind, shapes, domain, bits (canonical)."""
    return json.dumps({k: req[k] for k in sorted(req) if k != "label"}, separators=(",", ":"))


def _validate(req: dict) -> dict:
    """Check a request from the network; returns it normalised or raises ParameterError."""
    unknown = sorted(set(req) - _FIELDS)
    if unknown:
        raise ParameterError(f"unknown request field(s) {unknown}")
    kind = req.get("kind")
    if kind not in KINDS:
        raise ParameterError(f"unknown request kind {kind!r}")
    label = req.get("label")
    if not isinstance(label, str) or not 0 < len(label) <= 512:
        raise ParameterError("request label must be a non-empty string of at most 512 characters")
    out = {"kind": kind, "label": label}
    for key in ("shape", "shape_b"):
        if key in req:
            shape = req[key]
            if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_ELEMENTS for d in shape
            ):
                raise ParameterError(f"{key} must be a list of at most 8 non-negative integers")
            out[key] = shape
    if "shape" not in out:
        raise ParameterError("request without a shape")
    if kind in ("mul", "matmul"):
        if req.get("domain") not in ("ring", "field"):
            raise ParameterError("domain must be 'ring' or 'field'")
        out["domain"] = req["domain"]
    elif "domain" in req:
        raise ParameterError(f"a {kind!r} request has no domain")
    if "shape_b" in out and kind != "matmul":
        raise ParameterError(f"a {kind!r} request has no shape_b")
    if kind == "matmul":
        if "shape_b" not in out or len(out["shape"]) != 2 or len(out["shape_b"]) != 2 or \
                out["shape"][1] != out["shape_b"][0]:
            raise ParameterError("matmul shapes must be (m, k) and (k, n)")
    if kind == "trunc":
        f = req.get("f")
        if not isinstance(f, int) or not 0 < f < 63:
            raise ParameterError("truncation bits f must be an integer in 1..62")
        out["f"] = f
    elif "f" in req:
        raise ParameterError(f"a {kind!r} request has no truncation bits f")
    total = sum(int(np.prod(out[k], dtype=np.int64)) for k in ("shape", "shape_b") if k in out)
    if total > MAX_ELEMENTS:
        raise ParameterError(f"request for {total} elements exceeds the limit of {MAX_ELEMENTS}")
    return out


def _request_tags(job: str, k: int) -> tuple[str, str]:
    return f"{job}/dealer/req/{k}", f"{job}/dealer/resp/{k}"


class Dealer:
    """The dealer's side: runs on its own transport endpoint and serves one job.

    `serve()` sends each compute party its seed, then answers the last party's requests until
    it says the job is over. The dealer is trusted (see the module docstring).
    """

    def __init__(self, transport, parties: Sequence[int], job: str = "job", timeout: float | None = None):
        self.comm = Comm(transport, job, parties, timeout)
        if transport.party_id in self.comm.parties:
            raise ParameterError("the dealer must be an endpoint other than the compute parties")
        if len(self.comm.parties) < 2:
            raise ParameterError("a dealer serves at least 2 compute parties")
        self.job = job
        self._seeds = {p: random_seed() for p in self.comm.parties}
        self._labels: dict[bytes, int] = {}   # digest of each label served -> its request number
        self.requests_served = 0

    async def serve(self) -> None:
        comm = self.comm
        for p in comm.parties:
            await comm.send(p, f"{self.job}/dealer/seed", self._seeds[p])
        last = comm.parties[-1]
        k = 0
        while True:
            req_tag, resp_tag = _request_tags(self.job, k)
            raw = await comm.recv(last, req_tag, max_bytes=4096)
            k += 1
            try:
                req = json.loads(raw.decode())
                if not isinstance(req, dict):
                    raise ParameterError("request must be a JSON object")
                if req.get("kind") == "close":
                    return
                req = _validate(req)
                self._claim(req["label"], k - 1)
                reply = b"\x00" + self._correction(req)
            except (ValueError, ParameterError, KeyError, TypeError) as exc:
                reply = b"\x01" + f"dealer refused request {k - 1} of job {self.job}: {exc}".encode()
            await comm.send(last, resp_tag, reply)
            self.requests_served += 1

    def _claim(self, label: str, k: int) -> None:
        """Serve each label once per job: a replay (same or other kind and shapes) is refused."""
        digest = hashlib.blake2b(label.encode(), digest_size=16).digest()
        first = self._labels.get(digest)
        if first is not None:
            raise ParameterError(f"label {label!r} was already served (request {first}); every request "
                                 f"needs a fresh label")
        self._labels[digest] = k

    def _correction(self, req: dict) -> bytes:
        kind = KINDS[req["kind"]]
        free_parts, fixed_parts = kind.free(req), kind.fixed(req)
        last = self.comm.parties[-1]
        free_tot = [None] * len(free_parts)
        fixed_others = [None] * len(fixed_parts)
        for p in self.comm.parties:
            prg = PRG.derive(self._seeds[p], "dealer", req["label"], _stream_id(req))
            for i, part in enumerate(free_parts):
                v = part.draw(prg)
                free_tot[i] = v if free_tot[i] is None else part.combine(free_tot[i], v)
            if p != last:
                for i, part in enumerate(fixed_parts):
                    v = part.draw(prg)
                    fixed_others[i] = v if fixed_others[i] is None else part.combine(fixed_others[i], v)
        totals = kind.derive(req, free_tot)
        out = [part.remove(t, o) for part, t, o in zip(fixed_parts, totals, fixed_others)]
        return b"".join(bytes(Comm.encode(o)) for o in out)


class DealerTriples(TripleSource):
    """A compute party's view of a trusted `Dealer` at endpoint `dealer_id`."""

    name = "dealer"
    trusted_third_party = True

    def __init__(self, dealer_id: int):
        self.dealer_id = dealer_id
        self._seed: bytes | None = None
        self._k = 0

    async def setup(self, comm: Comm) -> None:
        self._seed = await comm.recv(self.dealer_id, f"{comm.job}/dealer/seed", nbytes=SEED_BYTES)

    async def close(self, comm: Comm) -> None:
        if self._seed is not None and comm.pid == comm.parties[-1]:
            req_tag, _ = _request_tags(comm.job, self._k)
            await comm.send(self.dealer_id, req_tag, b'{"kind": "close"}')
        self._seed = None

    async def _request(self, comm: Comm, req: dict) -> list:
        """Free parts now; fixed parts now (seeded parties) or as an awaitable (the last party)."""
        if self._seed is None:
            raise ProtocolAbort(f"job {comm.job}: dealer triples used before setup() or after close()",
                                job=comm.job)
        req = dict(req, label=comm.tag(f"dealer-{req['kind']}"))
        for key in ("shape", "shape_b"):
            if key in req:
                req[key] = [int(d) for d in req[key]]
        k = self._k
        self._k += 1
        kind = KINDS[req["kind"]]
        prg = PRG.derive(self._seed, "dealer", req["label"], _stream_id(req))
        free = [part.draw(prg) for part in kind.free(req)]
        fixed_parts = kind.fixed(req)
        if comm.pid != comm.parties[-1]:
            return free + [part.draw(prg) for part in fixed_parts]
        req_tag, resp_tag = _request_tags(comm.job, k)
        await comm.send(self.dealer_id, req_tag, json.dumps(req).encode())
        reply = asyncio.ensure_future(self._corrections(comm, k, resp_tag, fixed_parts))
        return free + [_Late(reply, i) for i in range(len(fixed_parts))]

    async def _corrections(self, comm: Comm, k: int, resp_tag: str, fixed_parts) -> list[np.ndarray]:
        reply = await comm.recv(self.dealer_id, resp_tag)
        if reply[:1] != b"\x00":
            raise ProtocolAbort(reply[1:].decode(errors="replace"), party=self.dealer_id, job=comm.job)
        body = memoryview(reply)[1:]
        fixed, offset = [], 0
        for part in fixed_parts:
            size = int(np.prod(part.shape, dtype=np.int64)) * 8
            fixed.append(comm.decode(body[offset:offset + size], np.uint64, part.shape,
                                     self.dealer_id, resp_tag))
            offset += size
        if offset != len(body):
            raise ProtocolAbort(f"job {comm.job}: dealer reply {k} has {len(body)} bytes, expected {offset}",
                                party=self.dealer_id, job=comm.job)
        return fixed

    async def mul_triples(self, comm, domain: Domain, shape) -> Triple:
        a, b, c = await self._request(comm, {"kind": "mul", "domain": _dname(domain), "shape": list(shape)})
        return Triple(a, b, c)

    async def matmul_triples(self, comm, domain: Domain, shape_a, shape_b) -> Triple:
        a, b, c = await self._request(comm, {"kind": "matmul", "domain": _dname(domain),
                                             "shape": list(shape_a), "shape_b": list(shape_b)})
        return Triple(a, b, c)

    async def and_triples(self, comm, shape) -> Triple:
        a, b, c = await self._request(comm, {"kind": "and", "shape": list(shape)})
        return Triple(a, b, c)

    async def trunc_tuples(self, comm, shape, frac_bits: int) -> TruncTuple:
        r, msb, shift = await self._request(comm, {"kind": "trunc", "shape": list(shape), "f": int(frac_bits)})
        return TruncTuple(r, msb, shift)

    async def edabits(self, comm, shape):
        r, bits = await self._request(comm, {"kind": "edabit", "shape": list(shape)})
        return r, bits

    async def dabits(self, comm, shape):
        bits, arith = await self._request(comm, {"kind": "dabit", "shape": list(shape)})
        return arith, bits


class _Late:
    """Component i of a dealer reply that is still on its way (awaitable)."""

    __slots__ = ("_reply", "_i")

    def __init__(self, reply: asyncio.Future, i: int):
        self._reply, self._i = reply, i

    def __await__(self):
        return self._get().__await__()

    async def _get(self):
        return (await self._reply)[self._i]


def _dname(domain: Domain) -> str:
    return "ring" if domain is RING else "field"
