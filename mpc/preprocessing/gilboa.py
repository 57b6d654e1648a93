"""OT-based correlated randomness without a third party: Gilboa products over IKNP.

What it computes: for n compute parties, additive shares of Beaver triples (elementwise and
matrix, over Z_2^64 or GF(2^61-1)), XOR-shared AND triples on uint64 words, and daBits, edaBits
and truncation tuples (built from daBits). The core is a two-party oblivious linear evaluation
(OLE): party i holds x, party j holds y, they get u + v = x * y. For each bit y_k of y one random
OT (IKNP) with choice y_k; the sender sends c_k = H(m0) + 2^k x - H(m1), so the receiver's
H(m_{y_k}) + y_k c_k = H(m0) + y_k 2^k x, and the sender keeps -H(m0). Cross terms a_i * b_j of
a product of sums are one OLE per ordered pair of parties.

Security: semi-honest adversary corrupting up to n-1 of the n parties (dishonest majority):
every cross term is hidden by OT (receiver privacy for y, sender privacy for x: the receiver
sees c_k masked by the unknown H(m_{1-y_k})). No third party is trusted. Not secure against
malicious parties (no MAC check, no KOS consistency check).

References: N. Gilboa, "Two Party RSA Key Generation", CRYPTO 1999, Section 3 (OT-based
multiplication); M. Keller, E. Orsini, P. Scholl, "MASCOT", CCS 2016, Section 3 (the
correlation-based variant used here, without its malicious checks); daBits: D. Rotaru, T. Wood,
INDOCRYPT 2019 (bit XOR as x + y - 2xy); edaBits: Escudero et al., CRYPTO 2020.

Cost per ordered pair of parties, per element: l random OTs (l = 64 in Z_2^64, 61 in the field)
and l elements (8 B) sent by the OLE sender plus 16 l B of IKNP u matrix sent by the receiver;
elementwise triples need 2 OLE per pair, matrix triples (m x k)(k x n) m*k*n elementwise OLEs,
AND triples 1 OT and 1 bit per bit, a daBit n-1 sequential rounds of 1-OT OLEs. Setup: 128 base
OTs per ordered pair (1 round).
"""

from __future__ import annotations

import asyncio

import numpy as np

from mpc.arith.domain import Domain
from mpc.arith.field import FIELD
from mpc.arith.ring import RING
from mpc.crypto.prg import PRG
from mpc.errors import ParameterError
from mpc.net.comm import Comm
from mpc.ot.iknp import IknpReceiver, IknpSender
from mpc.preprocessing.provider import Triple, TripleSource, TruncTuple

LOW63 = np.uint64((1 << 63) - 1)


def _bits_of(domain: Domain) -> int:
    return 64 if domain is RING else 61


def _elements(pads: np.ndarray, domain: Domain) -> np.ndarray:
    """Domain elements from 16-byte OT pads (uniform; the field reduction's bias is < 2^-60)."""
    lo = np.ascontiguousarray(pads[..., :8]).view(np.uint64)[..., 0]
    return lo if domain is RING else lo % np.uint64(FIELD.p)


def _powers(domain: Domain, nbits: int) -> np.ndarray:
    return np.array([(1 << k) % (1 << 64 if domain is RING else FIELD.p) for k in range(nbits)], dtype=np.uint64)


class _Pair:
    """The OT extensions of one ordered pair (sender -> receiver) of parties."""

    def __init__(self, comm: Comm, sender: int, receiver: int, me: int, prg):
        self.comm = comm
        self.sender = IknpSender(comm, receiver, prg) if me == sender else None
        self.receiver = IknpReceiver(comm, sender, prg) if me == receiver else None

    async def setup(self) -> None:
        await (self.sender.setup() if self.sender else self.receiver.setup())

    async def ole_send(self, domain: Domain, x: np.ndarray, nbits: int) -> np.ndarray:
        """Sender side: u with u + v = x * y (flat arrays), y of `nbits` bits at the receiver."""
        n = x.size
        pads = await self.sender.random_ots(n * nbits)
        h0 = _elements(pads[:, 0], domain).reshape(n, nbits)
        h1 = _elements(pads[:, 1], domain).reshape(n, nbits)
        corr = domain.mul(np.repeat(x.reshape(n, 1), nbits, axis=1), np.tile(_powers(domain, nbits), (n, 1)))
        c = domain.sub(domain.add(h0, corr), h1)
        await self.comm.send_array(self.sender.peer, self.comm.tag("gilboa-c"), c)
        return domain.neg(domain.sum(h0, axis=1))

    async def ole_recv(self, domain: Domain, y: np.ndarray, nbits: int) -> np.ndarray:
        """Receiver side: v with u + v = x * y."""
        n = y.size
        choice = ((y.reshape(n, 1) >> np.arange(nbits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
        t = _elements(await self.receiver.random_ots(choice.reshape(-1)), domain).reshape(n, nbits)
        c = await self.comm.recv_array(self.receiver.peer, self.comm.tag("gilboa-c"), np.uint64, (n, nbits))
        c = domain.check(c, f"OLE message from party {self.receiver.peer}")
        picked = np.where(choice.astype(bool), c, np.uint64(0))
        return domain.sum(domain.add(t, picked), axis=1)

    async def and_send(self, x: np.ndarray) -> np.ndarray:
        """Binary OLE on uint64 words: u with u xor v = x & y."""
        n = x.size
        pads = await self.sender.random_ots(64 * n)
        h0 = (pads[:, 0, 0] & 1).reshape(n, 64)
        h1 = (pads[:, 1, 0] & 1).reshape(n, 64)
        xb = ((x.reshape(n, 1) >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
        c = np.packbits(h0 ^ h1 ^ xb, axis=1, bitorder="little")
        await self.comm.send(self.sender.peer, self.comm.tag("gilboa-and"), c.tobytes())
        return _words(h0)

    async def and_recv(self, y: np.ndarray) -> np.ndarray:
        n = y.size
        yb = ((y.reshape(n, 1) >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
        t = (await self.receiver.random_ots(yb.reshape(-1)))[:, 0] & 1
        raw = await self.comm.recv(self.receiver.peer, self.comm.tag("gilboa-and"), nbytes=8 * n)
        c = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(n, 8), axis=1, bitorder="little")
        return _words(t.reshape(n, 64) ^ (yb & c))


def _words(bits: np.ndarray) -> np.ndarray:
    """(n, 64) bits (LSB first) to n uint64 words."""
    return np.packbits(bits, axis=1, bitorder="little").view(np.uint64).reshape(-1).copy()


class GilboaTriples(TripleSource):
    """The parties' OT-based provider: no dealer. Use it as `Session(..., triples=GilboaTriples())`."""

    name = "gilboa-iknp"
    trusted_third_party = False

    def __init__(self):
        self._pairs: dict[tuple[int, int], _Pair] = {}
        self._me: int | None = None
        self._parties: tuple[int, ...] = ()
        self._prg: PRG | None = None

    async def setup(self, comm: Comm) -> None:
        """Base OTs for every ordered pair this party belongs to (all pairs concurrently)."""
        self._me, self._parties = comm.pid, tuple(comm.parties)
        self._prg = prg = PRG()
        for i in self._parties:  # every party forks every pair's comm, in the same order
            for j in self._parties:
                if i != j:
                    sub = comm.fork(f"gilboa/{i}->{j}")
                    if self._me in (i, j):
                        self._pairs[(i, j)] = _Pair(sub, i, j, self._me, prg)
        await asyncio.gather(*(p.setup() for p in self._pairs.values()))

    def _ready(self) -> None:
        if self._me is None:
            raise ParameterError("GilboaTriples used before setup(comm)")

    async def _cross(self, domain: Domain | None, x: np.ndarray, y: np.ndarray, nbits: int = 0) -> np.ndarray:
        """This party's share of sum over ordered pairs i != j of x_i * y_j (x & y if domain is None)."""
        jobs = []
        for (i, j), pair in self._pairs.items():
            if domain is None:
                jobs.append(pair.and_send(x) if i == self._me else pair.and_recv(y))
            else:
                jobs.append(pair.ole_send(domain, x, nbits) if i == self._me else pair.ole_recv(domain, y, nbits))
        parts = await asyncio.gather(*jobs)
        acc = np.zeros(x.size, dtype=np.uint64)
        for p in parts:
            acc = acc ^ p if domain is None else domain.add(acc, p)
        return acc

    async def mul_triples(self, comm, domain: Domain, shape) -> Triple:
        self._ready()
        shape = tuple(shape)
        a, b = domain.random(self._prg, shape), domain.random(self._prg, shape)
        cross = await self._cross(domain, a.reshape(-1), b.reshape(-1), _bits_of(domain))
        return Triple(a, b, domain.add(domain.mul(a, b), cross.reshape(shape)))

    async def matmul_triples(self, comm, domain: Domain, shape_a, shape_b) -> Triple:
        self._ready()
        (m, k), (k2, n) = tuple(shape_a), tuple(shape_b)
        if k != k2:
            raise ParameterError(f"matmul triple shapes {shape_a} and {shape_b} do not fit")
        a, b = domain.random(self._prg, (m, k)), domain.random(self._prg, (k, n))
        # a_i @ b_j = sum over t of the elementwise products A[r,t,c] * B[r,t,c]
        big_a = np.ascontiguousarray(np.broadcast_to(a[:, :, None], (m, k, n))).reshape(-1)
        big_b = np.ascontiguousarray(np.broadcast_to(b[None, :, :], (m, k, n))).reshape(-1)
        cross = await self._cross(domain, big_a, big_b, _bits_of(domain))
        cross = domain.sum(cross.reshape(m, k, n), axis=1)
        return Triple(a, b, domain.add(domain.matmul(a, b), cross))

    async def and_triples(self, comm, shape) -> Triple:
        self._ready()
        shape = tuple(shape)
        a, b = self._prg.uint64(shape), self._prg.uint64(shape)
        cross = await self._cross(None, a.reshape(-1), b.reshape(-1))
        return Triple(a, b, (a & b) ^ cross.reshape(shape))

    async def dabits(self, comm, shape):
        """Ring shares and XOR shares (bit 0 of a uint64 word) of uniform random bits."""
        self._ready()
        shape = tuple(shape)
        mine = self._prg.bits(shape).astype(np.uint64).reshape(-1)
        order = self._parties
        share = mine.copy() if self._me == order[0] else np.zeros_like(mine)
        for k in range(1, len(order)):  # s <- s xor b_k = s + b_k - 2 s b_k, s additively shared by parties < k
            pk = order[k]
            if self._me == pk:
                vs = await asyncio.gather(*(self._pairs[(q, pk)].ole_recv(RING, mine, 1) for q in order[:k]))
                prod = RING.sum(np.stack(vs), axis=0) if vs else np.zeros_like(mine)
                share = RING.sub(mine, RING.add(prod, prod))
            elif self._me in order[:k]:
                u = await self._pairs[(self._me, pk)].ole_send(RING, share, 1)
                share = RING.sub(share, RING.add(u, u))
        return share.reshape(shape), mine.reshape(shape)

    async def _bit_decomposed(self, comm, shape):
        arith, xor = await self.dabits(comm, tuple(shape) + (64,))
        return arith, xor

    async def edabits(self, comm, shape):
        """Ring shares of a uniform r and XOR shares of the same r as a uint64 word."""
        arith, xor = await self._bit_decomposed(comm, shape)
        k = np.arange(64, dtype=np.uint64)
        r = RING.sum(arith << k, axis=-1)
        word = np.bitwise_or.reduce(xor << k, axis=-1)
        return r, word

    async def trunc_tuples(self, comm, shape, frac_bits: int) -> TruncTuple:
        """Ring shares of r, of its top bit, and of (r mod 2^63) >> f, from 64 daBits per element."""
        if not 0 <= frac_bits < 63:
            raise ParameterError(f"frac_bits must be in 0..62, got {frac_bits}")
        arith, _ = await self._bit_decomposed(comm, shape)
        k = np.arange(64, dtype=np.uint64)
        r = RING.sum(arith << k, axis=-1)
        low = arith[..., frac_bits:63] << np.arange(63 - frac_bits, dtype=np.uint64)
        return TruncTuple(r, arith[..., 63].copy(), RING.sum(low, axis=-1))

