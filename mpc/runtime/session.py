"""One party's view of a job: the SPMD runtime every protocol runs on.

Every compute party runs the same coroutine with its own `Session`: party id, the parties,
the threshold, the transport (through a `Comm` that numbers steps), its CSPRNG, the seeds it
shares with each other party, PRSS keys, and a `TripleSource`. `await s.input(owner, x)`
turns a party's private array into a secret array; `await s.open(x)` is the only way a value
leaves sharing.

Security: semi-honest throughout. Additive arrays (Z_2^64, fixed point) tolerate any n−1
corrupted compute parties given private triples (a dealer, if used, is trusted); Shamir
arrays (GF(2^61−1)) tolerate t < n/2 and need no dealer.
Cost of `setup()`: one round; each party sends 16 bytes per pairwise seed and per PRSS key
it chooses.
"""

from __future__ import annotations

import json
from math import comb
from typing import Sequence

import numpy as np

from mpc.arith.domain import Domain
from mpc.arith.field import FIELD
from mpc.arith.fixedpoint import FixedPoint
from mpc.arith.poly import lagrange_coefficients
from mpc.arith.ring import RING
from mpc.crypto.prg import PRG, SEED_BYTES, random_seed
from mpc.errors import ParameterError, ProtocolAbort
from mpc.net.comm import Comm
from mpc.net.transport import Transport
from mpc.ops.grr import seeded_targets
from mpc.ops.open import open_additive, open_shamir
from mpc.preprocessing.provider import TripleSource
from mpc.runtime.additive_array import AdditiveArray
from mpc.runtime.sectypes import SecretArray, default_bound
from mpc.runtime.shamir_array import ShamirArray
from mpc.sharing.prss import MAX_PRSS_KEYS, PRSS, PairwiseSeeds, prss_sets
from mpc.sharing.shamir import Shamir

MAX_INPUT_HEADER = 4096


class Session:
    """A party's runtime for one job (see the module docstring).

    `threshold` t: any t+1 parties reconstruct a Shamir value and t may collude (default
    ⌊(n−1)/2⌋); `triples`: the `TripleSource` for additive products, truncation and
    comparison (None: only linear additive operations and Shamir arithmetic);
    `frac_bits`: fixed-point fractional bits; `timeout`: seconds to wait for a peer
    (`PartyUnreachable` after); `trunc`: "tuple" (any n) or "local" (2 parties, see
    `mpc.ops.trunc`).
    """

    def __init__(self, transport: Transport, *, job: str = "job", parties: Sequence[int] | None = None,
                 threshold: int | None = None, triples: TripleSource | None = None, frac_bits: int = 16,
                 timeout: float | None = None, trunc: str = "tuple"):
        self.comm = Comm(transport, job, parties, timeout)
        self.pid = self.comm.pid
        self.index = self.comm.index
        self.n = self.comm.n
        if self.n < 2:
            raise ParameterError("a session needs at least 2 compute parties")
        t = (self.n - 1) // 2 if threshold is None else threshold
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            raise ParameterError(f"threshold t must be a non-negative integer (any t+1 parties reconstruct, "
                                 f"t may collude), got {threshold!r}")
        self.t = t
        # Shamir sharing needs t+1 <= n; jobs that use only additive sharing (or none) may run with
        # fewer parties than a roster-wide threshold, so the check waits until Shamir is used.
        self._shamir = Shamir(self.n, t) if t < self.n else None
        self.triples = triples
        self.fxp = FixedPoint(frac_bits)
        if trunc not in ("tuple", "local"):
            raise ParameterError("trunc must be 'tuple' or 'local'")
        if trunc == "local" and self.n != 2:
            raise ParameterError("local truncation is a two-party protocol; use trunc='tuple'")
        self.trunc_mode = trunc
        self.prg = PRG()
        self.seeds: PairwiseSeeds | None = None
        self.prss: PRSS | None = None
        self._ready = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def shamir(self) -> Shamir:
        """The t-of-n Shamir scheme of this session (needs t+1 <= n)."""
        if self._shamir is None:
            raise ParameterError(f"job {self.job}: Shamir sharing with threshold t={self.t} needs at least "
                                 f"t+1 = {self.t + 1} parties, this job has {self.n}")
        return self._shamir

    @property
    def job(self) -> str:
        return self.comm.job

    @property
    def stats(self):
        """Byte and round counters of this party's transport."""
        return self.comm.stats

    async def setup(self) -> None:
        """Agree pairwise seeds and PRSS keys (one round), then set up the triple source."""
        comm = self.comm
        parties = comm.parties
        me = self.index
        sets = prss_sets(self.n, self.t) if self.t < self.n and comb(self.n, self.t) <= MAX_PRSS_KEYS else []
        chosen = {B: random_seed() for B in sets if B[0] == me}
        pair = {}
        tag = comm.tag("setup")
        for j in range(me + 1, self.n):
            pair[j] = random_seed()
            keys = [chosen[B] for B in sets if B[0] == me and j in B]
            await comm.send(parties[j], tag, pair[j] + b"".join(keys))
        keys = dict(chosen)
        for j in range(me):
            mine = [B for B in sets if B[0] == j and me in B]
            data = await comm.recv(parties[j], tag, nbytes=SEED_BYTES * (1 + len(mine)))
            pair[j] = data[:SEED_BYTES]
            for k, B in enumerate(mine):
                keys[B] = data[SEED_BYTES * (1 + k): SEED_BYTES * (2 + k)]
        self.seeds = PairwiseSeeds(self.pid, {parties[j]: s for j, s in pair.items()})
        self.prss = PRSS(me, self.n, self.t, keys) if sets else None
        if self.triples is not None:
            await self.triples.setup(comm)
        self._ready = True

    async def close(self) -> None:
        if self.triples is not None and self._ready:
            await self.triples.close(self.comm)
        self._ready = False

    async def __aenter__(self) -> "Session":
        await self.setup()
        return self

    async def __aexit__(self, *exc) -> None:
        if exc[0] is None:
            await self.close()

    def _require_ready(self) -> None:
        if not self._ready:
            raise ProtocolAbort(f"job {self.job}: call `await session.setup()` first", job=self.job)

    def _require_triples(self, what: str) -> TripleSource:
        if self.triples is None:
            raise ParameterError(f"{what} on additive shares needs a triple source (e.g. a trusted dealer: "
                                 f"run_local(..., triples='dealer') or Session(triples=DealerTriples(...)))")
        return self.triples

    # ------------------------------------------------------------------ input
    async def input(self, owner: int, value=None, *, shape=None, kind: str = "fxp", scheme: str = "additive",
                    bound: float | None = None) -> SecretArray:
        """Party `owner`'s array as a secret array (other parties pass None).

        `kind`: "fxp" (reals, fixed point) or "int" (integers); `scheme`: "additive" (Z_2^64)
        or "shamir" (GF(2^61−1)); `bound`: a public bound on |value| used for overflow checks
        (default 2^(31−f) for fixed point, 2^31 for integers); the owner checks its data
        against it. The owner announces the shape (and any refusal) in a small header.
        """
        self._require_ready()
        if kind not in ("fxp", "int"):
            raise ParameterError(f"kind must be 'fxp' or 'int', got {kind!r}")
        if scheme not in ("additive", "shamir"):
            raise ParameterError(f"scheme must be 'additive' or 'shamir', got {scheme!r}")
        if owner not in self.comm.parties:
            raise ParameterError(f"input owner {owner} is not a compute party of job {self.job}")
        if scheme == "shamir":
            self.shamir  # noqa: B018 - raises a clear error when t+1 > n
        frac = self.fxp.frac_bits if kind == "fxp" else 0
        domain = RING if scheme == "additive" else FIELD
        bound = float(default_bound(domain, frac) if bound is None else bound)
        tag = self.comm.tag("input")
        header, encoded = None, None
        if self.pid == owner:
            try:
                encoded, header = self._encode_input(value, kind, domain, frac, bound)
            except (ParameterError, OverflowError, ValueError, TypeError) as exc:
                message = json.dumps({"error": str(exc)}).encode()
                await self.comm.broadcast_bytes(tag, owner, message)
                raise
            await self.comm.broadcast_bytes(tag, owner, json.dumps(header).encode())
        else:
            raw = await self.comm.broadcast_bytes(tag, owner, max_bytes=MAX_INPUT_HEADER)
            header = self._parse_header(raw, owner, shape)
        in_shape = tuple(header["shape"])
        if scheme == "additive":
            share = self._additive_input(owner, encoded, in_shape, tag)
            return AdditiveArray(self, RING, share, frac, bound)
        share = await self._shamir_input(owner, encoded, in_shape, self.comm.tag("input-share"))
        return ShamirArray(self, FIELD, share, frac, bound)

    def _encode_input(self, value, kind, domain: Domain, frac: int, bound: float):
        if value is None:
            raise ParameterError(f"party {self.pid} owns this input but passed no value")
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ParameterError(f"input must be a numeric array, got dtype {arr.dtype}")
        if arr.size and float(np.max(np.abs(arr.astype(np.float64)))) > bound:
            raise ParameterError(f"party {self.pid}'s input exceeds the declared public bound {bound:g}; "
                                 f"pass a larger bound= or rescale the data")
        if kind == "fxp":
            enc = self.fxp.encode(arr)
            if domain is FIELD:
                enc = FIELD.from_int(enc.view(np.int64))
        else:
            if arr.dtype.kind == "f" and not np.all(np.equal(np.mod(arr, 1), 0)):
                raise ParameterError("kind='int' input holds non-integers; use kind='fxp'")
            enc = domain.from_int(arr.astype(np.int64))
        return np.ascontiguousarray(enc), {"shape": list(arr.shape)}

    def _parse_header(self, raw: bytes, owner: int, expected_shape) -> dict:
        try:
            header = json.loads(raw.decode())
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ProtocolAbort(f"job {self.job}: malformed input header from party {owner}",
                                party=owner, job=self.job) from None
        if "error" in header:
            raise ProtocolAbort(f"job {self.job}: party {owner} could not provide its input: {header['error']}",
                                party=owner, job=self.job)
        shape = header.get("shape")
        if not isinstance(shape, list) or len(shape) > 8 or not all(isinstance(d, int) and d >= 0 for d in shape) \
                or int(np.prod(shape, dtype=np.int64)) > (1 << 28):
            raise ProtocolAbort(f"job {self.job}: party {owner} announced an invalid input shape {shape!r}",
                                party=owner, job=self.job)
        if expected_shape is not None and tuple(shape) != tuple(expected_shape):
            raise ProtocolAbort(f"job {self.job}: party {owner} provided shape {tuple(shape)}, "
                                f"expected {tuple(expected_shape)}", party=owner, job=self.job)
        return header

    def _additive_input(self, owner: int, encoded, shape, tag: str) -> np.ndarray:
        # Every other party's share comes from the seed it shares with the owner: no message.
        if self.pid != owner:
            return RING.random(self.seeds.prg(owner, tag, "input"), shape)
        share = encoded
        for p in self.comm.others:
            share = RING.sub(share, RING.random(self.seeds.prg(p, tag, "input"), shape))
        return share

    async def _shamir_input(self, owner: int, encoded, shape, tag: str) -> np.ndarray:
        # The t parties after the owner get seeded points; the owner sends the rest.
        oi = self.comm.parties.index(owner)
        seeded = seeded_targets(oi, self.n, self.t)
        size = int(np.prod(shape, dtype=np.int64))
        if self.pid != owner:
            if self.index in seeded:
                return FIELD.random(self.seeds.prg(owner, tag, "input"), size).reshape(shape)
            return FIELD.check(await self.comm.recv_array(owner, tag, np.uint64, (size,)),
                               f"input share from party {owner}").reshape(shape)
        points = [FIELD.random(self.seeds.prg(self.comm.parties[j], tag, "input"), size) for j in seeded]
        xs = (0,) + tuple(j + 1 for j in seeded)
        mine = None
        for k in range(self.n):
            if k in seeded:
                continue
            value = FIELD.lincomb(lagrange_coefficients(xs, k + 1), [encoded.reshape(-1)] + points)
            if k == self.index:
                mine = value
            else:
                await self.comm.send_array(self.comm.parties[k], tag, value)
        return mine.reshape(shape)

    # ------------------------------------------------------------------ output
    async def open(self, x: SecretArray, to: Sequence[int] | None = None) -> np.ndarray | None:
        """The value of `x` at the parties `to` (default: all); None at the others.

        Fixed-point values decode to float64, integers to int64.
        """
        self._require_ready()
        if not isinstance(x, SecretArray) or x.session is not self:
            raise ParameterError("open() takes a secret array of this session")
        if isinstance(x, ShamirArray):
            value = await open_shamir(self.comm, self.shamir, x.share, to)
        else:
            value = await open_additive(self.comm, x.domain, x.share, to, self.seeds)
        if value is None:
            return None
        signed = x.domain.to_signed(value)
        if x.frac:
            return signed.astype(np.float64) / float(1 << x.frac)
        return signed

    # ------------------------------------------------------------------ randomness
    def random(self, shape, scheme: str = "additive") -> SecretArray:
        """A uniformly random secret (no messages): additive in Z_2^64, or Shamir via PRSS."""
        self._require_ready()
        if scheme == "additive":
            return AdditiveArray(self, RING, self.prg.uint64(shape), 0, float(2 ** 63))
        if self.prss is None:
            raise ParameterError(f"PRSS is unavailable for n={self.n}, t={self.t} (too many keys)")
        return ShamirArray(self, FIELD, self.prss.random_share(shape, self.comm.tag("prss")), 0, float(2 ** 60))
