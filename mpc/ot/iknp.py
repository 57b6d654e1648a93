"""IKNP OT extension: millions of correlated, random or chosen-message OTs from 128 base OTs.

What it computes: after a one-time `setup` (128 Naor-Pinkas base OTs, roles reversed), each
`extend` gives correlated OTs with the sender's global offset s (128 bits):
sender q_j, receiver t_j = q_j xor c_j * s for the receiver's choice bits c_j. On top of them,
`send_chosen` / `receive_chosen` transfer chosen 16-byte messages (m0_j, m1_j) with
pads H(q_j), H(q_j xor s), and `random_ots` gives random OTs.

Security: semi-honest adversary corrupting one of the two parties (no KOS consistency check, so
a malicious receiver could learn bits of s: do not use against malicious parties). The column
PRG is AES-128-CTR keyed by the base-OT outputs; the hash is the GKWY20 TCCR hash under a
fixed public AES key with the OT index as tweak (correlation robustness is what IKNP needs;
GKWY20 Section 7 shows a TCCR hash gives it). Each OT index is used once per pair of parties
and direction, since the sender's state keeps a counter.

References: Y. Ishai, J. Kilian, K. Nissim, E. Petrank, "Extending Oblivious Transfers
Efficiently", CRYPTO 2003, Section 3 (Fig. 1); Guo, Katz, Wang, Yu, IEEE S&P 2020, Section 7.

Cost: setup 1 round (base OT, 4 KiB each way). `extend(n)`: receiver -> sender 16 B per OT (the
u matrix, n rounded up to a multiple of 128, in messages of at most 2^16 OTs); chosen-message OT adds 1 message
sender -> receiver of 32 B per OT. Native: 2 AES-CTR streams per column and one 128 x n bit
transpose per side.
"""

from __future__ import annotations

import hashlib

import numpy as np

from mpc import _native
from mpc.crypto.prg import PRG
from mpc.errors import ParameterError
from mpc.gc.kernel import call_native, require_aes
from mpc.net.comm import Comm
from mpc.ot import base

KAPPA = 128
BLOCK = 16
PIECE = 1 << 16  # OTs per u message (1 MiB), so no message outgrows a transport's limit
DOMAIN_OT = 2
# Fixed public key of the hash's permutation (the fixed-key-AES model of GKWY20).
HASH_KEY = hashlib.sha256(b"mpc.ot.iknp: fixed AES key of the TCCR hash, v1").digest()[:16]


def _round(n: int) -> int:
    return -(-n // KAPPA) * KAPPA


class IknpSender:
    """The party that holds the offset s (in Yao, the garbler)."""

    def __init__(self, comm: Comm, peer: int, prg: PRG | None = None):
        self.comm, self.peer = comm, peer
        self.prg = prg or PRG()
        self._keys: np.ndarray | None = None
        self.s = b""
        self._ctr = 0      # AES-CTR block offset of the column PRGs
        self._index = 0    # OTs used so far (hash tweaks)

    @property
    def ready(self) -> bool:
        return self._keys is not None

    async def setup(self) -> None:
        """128 base OTs as the receiver, with choice bits s."""
        require_aes()
        self.s = self.prg.bytes(KAPPA // 8)
        bits = np.unpackbits(np.frombuffer(self.s, dtype=np.uint8), bitorder="little")
        self._keys = await base.receive(self.comm, self.peer, bits, label="iknp-base")

    async def extend(self, n: int) -> np.ndarray:
        """n correlated OTs: the rows q_j (n, 16) uint8; the receiver holds q_j xor c_j * s."""
        if not self.ready:
            raise ParameterError("IknpSender.extend before setup()")
        if n <= 0:
            raise ParameterError(f"number of OTs must be positive, got {n}")
        q = np.empty((_round(n), BLOCK), dtype=np.uint8)
        for start in range(0, n, PIECE):
            m = _round(min(PIECE, n - start))
            u = await self.comm.recv(self.peer, self.comm.tag("iknp-u"), nbytes=BLOCK * m)
            call_native(_native.iknp_sender_extend, self._keys, self.s, np.frombuffer(u, dtype=np.uint8), m,
                        self._ctr, q[start : start + m])
            self._ctr += m // KAPPA
        return q[:n]

    def pads(self, q: np.ndarray) -> np.ndarray:
        """(n, 2, 16): H(q_j), H(q_j xor s) with fresh tweaks (random-OT messages)."""
        out = np.empty((q.shape[0], 2, BLOCK), dtype=np.uint8)
        call_native(_native.tccr_hash_pair, HASH_KEY, np.ascontiguousarray(q), self.s, self._index, DOMAIN_OT, out)
        self._index += q.shape[0]
        return out

    async def random_ots(self, n: int) -> np.ndarray:
        """n random OTs: (n, 2, 16) message pairs; the receiver learns one of each pair."""
        return self.pads(await self.extend(n))

    async def send_chosen(self, m0: np.ndarray, m1: np.ndarray) -> None:
        """Chosen-message OT of n pairs of 16-byte strings ((n, 16) uint8 each)."""
        m0 = np.asarray(m0, dtype=np.uint8)
        m1 = np.asarray(m1, dtype=np.uint8)
        if m0.shape != m1.shape or m0.ndim != 2 or m0.shape[1] != BLOCK:
            raise ParameterError(f"messages must be two (n, 16) arrays, got {m0.shape} and {m1.shape}")
        p = self.pads(await self.extend(m0.shape[0]))
        p[:, 0] ^= m0
        p[:, 1] ^= m1
        await self.comm.send(self.peer, self.comm.tag("iknp-y"), p.tobytes())


class IknpReceiver:
    """The party that chooses (in Yao, the evaluator)."""

    def __init__(self, comm: Comm, peer: int, prg: PRG | None = None):
        self.comm, self.peer = comm, peer
        self.prg = prg or PRG()
        self._k0: np.ndarray | None = None
        self._k1: np.ndarray | None = None
        self._ctr = 0
        self._index = 0

    @property
    def ready(self) -> bool:
        return self._k0 is not None

    async def setup(self) -> None:
        """128 base OTs as the sender."""
        require_aes()
        self._k0, self._k1 = await base.send(self.comm, self.peer, KAPPA, label="iknp-base")

    async def extend(self, choices: np.ndarray) -> np.ndarray:
        """Correlated OTs for 0/1 `choices` (n,): returns t_j (n, 16) = q_j xor c_j * s."""
        if not self.ready:
            raise ParameterError("IknpReceiver.extend before setup()")
        c = np.asarray(choices, dtype=np.uint8).reshape(-1)
        n = c.size
        if n == 0 or np.any(c > 1):
            raise ParameterError("OT choices must be a non-empty array of 0/1")
        t = np.empty((_round(n), BLOCK), dtype=np.uint8)
        for start in range(0, n, PIECE):
            m = _round(min(PIECE, n - start))
            r = np.zeros(m, dtype=np.uint8)
            piece = c[start : start + m]
            r[: piece.size] = piece
            u = np.empty((KAPPA, m // 8), dtype=np.uint8)
            call_native(_native.iknp_receiver_extend, self._k0, self._k1, np.packbits(r, bitorder="little"), m,
                        self._ctr, u, t[start : start + m])
            self._ctr += m // KAPPA
            await self.comm.send(self.peer, self.comm.tag("iknp-u"), memoryview(u.reshape(-1)).toreadonly())
        return t[:n]

    def pads(self, t: np.ndarray) -> np.ndarray:
        """(n, 16): H(t_j) with the same tweaks as the sender's `pads`."""
        out = np.empty((t.shape[0], BLOCK), dtype=np.uint8)
        call_native(_native.tccr_hash, HASH_KEY, np.ascontiguousarray(t), self._index, DOMAIN_OT, out)
        self._index += t.shape[0]
        return out

    async def random_ots(self, choices: np.ndarray) -> np.ndarray:
        """Random OTs: the chosen message of each pair (n, 16)."""
        return self.pads(await self.extend(choices))

    async def receive_chosen(self, choices: np.ndarray) -> np.ndarray:
        """Chosen-message OT: m{c_j}_j for each choice bit, (n, 16) uint8."""
        c = np.asarray(choices, dtype=np.uint8).reshape(-1)
        mine = self.pads(await self.extend(c))
        n = c.size
        y = await self.comm.recv(self.peer, self.comm.tag("iknp-y"), nbytes=2 * BLOCK * n)
        y = np.frombuffer(y, dtype=np.uint8).reshape(n, 2, BLOCK)
        return y[np.arange(n), c] ^ mine
