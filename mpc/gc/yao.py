"""Yao's two-party computation of a Boolean circuit on N instances at once (garbler and evaluator).

What it computes: for a Bristol Fashion circuit whose input values are each supplied by the
garbler or by the evaluator, the circuit's output values for N instances, delivered to the
evaluator, the garbler, or both (`output_to`).

Flow (one `run`): [first run only: 128 base OTs, 1 round] -> evaluator sends the IKNP u matrix
for its input bits -> garbler sends a fresh fixed AES key, then per chunk of instances: its own
active input labels, the OT-masked label pairs of the evaluator's inputs, the garbled tables
(32 B per AND), the active labels of constant gates and (if the evaluator gets the output) the
output decoding table -> the evaluator evaluates chunk by chunk; if the garbler gets the output,
the evaluator sends back its output labels, which the garbler checks and decodes.

Security: semi-honest adversary corrupting one of the two parties (static). The evaluator
learns only the outputs sent to it: for every wire it holds one of the two labels (checked in
tests), its input labels come from IKNP OT, the garbler's labels are random. The garbler learns
nothing of the evaluator's inputs (OT receiver privacy). Output labels are authenticated both
ways (hash table to the evaluator, label equality at the garbler), so a corrupted table or
label is reported as `CheatingDetected` rather than decoding to a wrong value; this is an
integrity check, not malicious security (no cut-and-choose, no OT consistency check).
Trusted: each party's own CSPRNG; nothing else.

References: A. Yao, FOCS 1986; Lindell, Pinkas, "A Proof of Security of Yao's Protocol for
Two-Party Computation", J. Cryptology 2009; half-gates (ZRE15) and the GKWY20 hash in
`mpc.gc.kernel`; OT in `mpc.ot.base` and `mpc.ot.iknp`.

Cost: 1.5 round trips per run after setup (2 with the base OTs). Garbler sends per instance
32 B per AND, 16 B per own input bit, 32 B per evaluator input bit, 16 B per constant gate,
16 B per output bit (decoding table); evaluator sends 16 B per own input bit (+16 B per output
bit if the garbler gets the output). Messages are at most `PIECE` bytes.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

import numpy as np

from mpc.crypto.prg import PRG
from mpc.errors import CheatingDetected, ParameterError
from mpc.gc import kernel
from mpc.gc.bristol import Circuit, split_values
from mpc.net.comm import Comm
from mpc.ot.iknp import IknpReceiver, IknpSender

GARBLER, EVALUATOR = "garbler", "evaluator"
PIECE = 1 << 20           # largest message (bytes)
CHUNK_BYTES = PIECE       # garbled material per chunk of instances (one message unless one instance is bigger)


@dataclass(frozen=True)
class Layout:
    """Who supplies which input value, who gets the outputs, and the chunk sizes that follow."""

    circuit: Circuit
    owners: tuple[str, ...]
    output_to: tuple[str, ...]
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def make(cls, circuit: Circuit, owners=None, output_to=(EVALUATOR,)) -> "Layout":
        k = len(circuit.input_widths)
        if owners is None:  # the garbler supplies the first value, the evaluator the rest
            owners = (GARBLER,) + (EVALUATOR,) * (k - 1) if k else ()
        owners = tuple(_role(o) for o in owners)
        if len(owners) != k:
            raise ParameterError(f"{circuit.name} has {k} input values; {len(owners)} owners were given")
        outs = tuple(sorted({_role(o) for o in output_to}))
        if not outs:
            raise ParameterError("output_to must name the garbler, the evaluator or both")
        return cls(circuit, owners, outs)

    def wires_of(self, role: str) -> np.ndarray:
        """Input wire indices of the values `role` supplies (cached)."""
        key = ("wires", role)
        if key not in self._memo:
            self._memo[key] = self._wires(role)
        return self._memo[key]

    def _wires(self, role: str) -> np.ndarray:
        offs = self.circuit.input_offsets()
        parts = [np.arange(o, o + w) for o, w, r in zip(offs, self.circuit.input_widths, self.owners) if r == role]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def widths_of(self, role: str) -> list[int]:
        return [w for w, r in zip(self.circuit.input_widths, self.owners) if r == role]

    def parts(self, m: int) -> list[tuple[int, ...]]:
        """Shapes (uint8) of one chunk message for m instances, in order: garbler's active labels,
        OT-masked label pairs of the evaluator's inputs, constants' labels, decoding table (when the
        evaluator gets the output), garbled tables."""
        c, p = self.circuit, kernel.plan(self.circuit)
        dec = c.n_outputs if EVALUATOR in self.output_to else 0
        return [(m, self.wires_of(GARBLER).size, 16), (m, self.wires_of(EVALUATOR).size, 2, 16),
                (m, p.n_const, 16), (m, dec, 16), (m, p.n_and, 32)]

    def chunk_sizes(self, n: int) -> list[int]:
        c = self.circuit
        p = kernel.plan(c)
        per = 32 * p.n_and + 16 * (c.n_inputs + len(self.wires_of(EVALUATOR)) + p.n_const + c.n_outputs)
        m = max(1, CHUNK_BYTES // per)
        return [min(m, n - i) for i in range(0, n, m)]


def _role(name: str) -> str:
    v = str(name).lower()
    if v in ("g", "garbler", "0"):
        return GARBLER
    if v in ("e", "evaluator", "1"):
        return EVALUATOR
    raise ParameterError(f"party role must be 'garbler' or 'evaluator', not {name!r}")


def _instances(lay: "Layout", role: str, inputs, n: int | None) -> tuple[int, np.ndarray]:
    """The instance count and this role's input bits (an empty (n, 0) array if it has none)."""
    count, bits = _bits(inputs, lay.widths_of(role), role)
    n = (count or None) if n is None else n
    if n is None or n <= 0 or (lay.widths_of(role) and count != n):
        raise ParameterError(f"instance count {n} does not match the {role}'s inputs ({count} instances); "
                             "pass n= when this party supplies no input")
    if not lay.widths_of(role):
        bits = np.zeros((n, 0), dtype=np.uint8)
    return n, bits


def _bits(inputs, widths: list[int], who: str) -> tuple[int, np.ndarray]:
    """Check a party's input values (one (N, w) 0/1 array each) and join them to (N, sum w)."""
    if len(inputs) != len(widths):
        raise ParameterError(f"the {who} supplies {len(widths)} input values, {len(inputs)} were given")
    arrs = []
    for k, (x, w) in enumerate(zip(inputs, widths)):
        a = np.asarray(x, dtype=np.uint8)
        a = a.reshape(1, -1) if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != w or np.any(a > 1):
            raise ParameterError(f"{who} input value {k} must be 0/1 bits of shape (N, {w}), got {a.shape}")
        arrs.append(a)
    n = {a.shape[0] for a in arrs}
    if len(n) > 1:
        raise ParameterError(f"{who} input values have different instance counts {sorted(n)}")
    count = n.pop() if n else 0
    return count, (np.concatenate(arrs, axis=1) if arrs else np.zeros((count, 0), dtype=np.uint8))


async def send_big(comm: Comm, peer: int, label: str, data: np.ndarray) -> None:
    """Send an array's bytes in pieces of at most PIECE bytes (each under its own tag). Zero-copy
    transports keep references: the caller must not modify `data` afterwards."""
    view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8)).toreadonly()
    n = len(view)
    for off in range(0, max(n, 1), PIECE):
        await comm.send(peer, comm.tag(label), view[off : off + PIECE])


async def recv_big(comm: Comm, peer: int, label: str, nbytes: int) -> np.ndarray:
    """Receive exactly `nbytes` sent by `send_big` (anything else aborts the job); read-only."""
    if nbytes <= PIECE:  # one message: no copy
        return np.frombuffer(await comm.recv(peer, comm.tag(label), nbytes=nbytes), dtype=np.uint8)
    out = np.empty(nbytes, dtype=np.uint8)
    for off in range(0, max(nbytes, 1), PIECE):
        size = min(PIECE, nbytes - off)
        piece = await comm.recv(peer, comm.tag(label), nbytes=size)
        out[off : off + size] = np.frombuffer(piece, dtype=np.uint8)
    return out


def _carve(buf: np.ndarray, shapes) -> list[np.ndarray]:
    """Consecutive views of `buf` with the given shapes."""
    out, pos = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(buf[pos : pos + size].reshape(shape))
        pos += size
    return out


def _cheating(comm: Comm, peer: int, what: str) -> CheatingDetected:
    return CheatingDetected(
        f"job {comm.job}: {what} from party {peer} matches neither label of its wire: the garbled material was "
        "corrupted or tampered with; the output is withheld. Abort the job and check that party and the network.",
        party=peer, job=comm.job)


class Garbler:
    """The garbling party; keeps its IKNP sender state across runs with the same evaluator."""

    def __init__(self, comm: Comm, peer: int, prg: PRG | None = None):
        self.comm, self.peer = comm, peer
        self.prg = prg or PRG()
        self.ot = IknpSender(comm, peer, self.prg)

    async def run(self, circuit: Circuit, inputs, *, n: int | None = None, owners=None,
                  output_to=(EVALUATOR,)) -> list[np.ndarray] | None:
        """Garble N instances; `inputs` are the garbler's values (one (N, w) bit array each).
        Returns the output values ((N, v) bit arrays) if the garbler is in `output_to`."""
        lay = Layout.make(circuit, owners, output_to)
        n, gbits = _instances(lay, GARBLER, inputs, n)
        comm, peer, c = self.comm, self.peer, circuit
        gw, ew = lay.wires_of(GARBLER), lay.wires_of(EVALUATOR)
        if not self.ot.ready and ew.size:
            await self.ot.setup()
        pads = self.ot.pads(await self.ot.extend(n * ew.size)).reshape(n, ew.size, 2, 16) if ew.size else None
        key, delta = os.urandom(16), kernel.new_delta(self.prg)
        await comm.send(peer, comm.tag("gc-key"), key)
        send_dec = EVALUATOR in lay.output_to
        out0_all = np.empty((n, c.n_outputs, 16), dtype=np.uint8) if GARBLER in lay.output_to else None
        dvec = np.frombuffer(delta, dtype=np.uint8)
        i0 = 0
        for m in lay.chunk_sizes(n):
            shapes = lay.parts(m)
            buf = np.empty(sum(int(np.prod(sh)) for sh in shapes), dtype=np.uint8)  # sent without a copy
            glab, y, cmat, dec, tables = _carve(buf, shapes)
            in0 = kernel.input_labels(m, c.n_inputs, self.prg)
            g = kernel.garble(c, key, delta, in0, self.prg, inst_offset=i0, tables=tables, const_mat=cmat)
            glab[:] = kernel.select(in0[:, gw], gbits[i0 : i0 + m], delta)
            if ew.size:
                w0 = in0[:, ew]
                np.bitwise_xor(pads[i0 : i0 + m, :, 0], w0, out=y[:, :, 0])
                np.bitwise_xor(pads[i0 : i0 + m, :, 1], w0 ^ dvec, out=y[:, :, 1])
            if send_dec:
                dec[:] = kernel.output_table(key, delta, g.out0, inst_offset=i0).view(np.uint8).reshape(dec.shape)
            await send_big(comm, peer, "gc-chunk", buf)
            await asyncio.sleep(0)  # let an evaluator on the same loop take the chunk while it is in cache
            if out0_all is not None:
                out0_all[i0 : i0 + m] = g.out0
            i0 += m
        if out0_all is None:
            return None
        labels = (await recv_big(comm, peer, "gc-out", n * c.n_outputs * 16)).reshape(n, c.n_outputs, 16)
        is0 = np.all(labels == out0_all, axis=2)
        is1 = np.all(labels == (out0_all ^ dvec), axis=2)
        if not np.all(is0 | is1):
            i, j = np.argwhere(~(is0 | is1))[0]
            raise _cheating(comm, peer, f"the output label of instance {i}, output bit {j}")
        return split_values(is1.astype(np.uint8), c.output_widths)


class Evaluator:
    """The evaluating party; keeps its IKNP receiver state across runs with the same garbler."""

    def __init__(self, comm: Comm, peer: int, prg: PRG | None = None):
        self.comm, self.peer = comm, peer
        self.ot = IknpReceiver(comm, peer, prg or PRG())

    async def run(self, circuit: Circuit, inputs, *, n: int | None = None, owners=None,
                  output_to=(EVALUATOR,)) -> list[np.ndarray] | None:
        """Evaluate N instances; `inputs` are the evaluator's values. Returns the output values
        ((N, v) bit arrays) if the evaluator is in `output_to`."""
        lay = Layout.make(circuit, owners, output_to)
        n, ebits = _instances(lay, EVALUATOR, inputs, n)
        comm, peer, c = self.comm, self.peer, circuit
        gw, ew = lay.wires_of(GARBLER), lay.wires_of(EVALUATOR)
        if not self.ot.ready and ew.size:
            await self.ot.setup()
        mine = self.ot.pads(await self.ot.extend(ebits.reshape(-1))).reshape(n, ew.size, 16) if ew.size else None
        key = bytes(await comm.recv(peer, comm.tag("gc-key"), nbytes=16))
        get_dec = EVALUATOR in lay.output_to
        out_bits = np.empty((n, c.n_outputs), dtype=np.uint8) if get_dec else None
        out_labels = np.empty((n, c.n_outputs, 16), dtype=np.uint8) if GARBLER in lay.output_to else None
        i0 = 0
        for m in lay.chunk_sizes(n):
            shapes = lay.parts(m)
            buf = await recv_big(comm, peer, "gc-chunk", sum(int(np.prod(sh)) for sh in shapes))
            glab, y, cmat, dec, tables = _carve(buf, shapes)
            labels = np.empty((m, c.n_inputs, 16), dtype=np.uint8)
            labels[:, gw] = glab
            if ew.size:
                choice = ebits[i0 : i0 + m, :, None].astype(bool)
                labels[:, ew] = np.where(choice, y[:, :, 1], y[:, :, 0]) ^ mine[i0 : i0 + m]
            out = kernel.evaluate(c, key, labels, tables, cmat, inst_offset=i0)
            if get_dec:
                table = np.ascontiguousarray(dec).view(np.uint64).reshape(m, c.n_outputs, 2)
                bits, bad = kernel.decode(key, out, table, inst_offset=i0)
                if bad.any():
                    i, j = np.argwhere(bad)[0]
                    raise _cheating(comm, peer, f"the output label of instance {i0 + i}, output bit {j}")
                out_bits[i0 : i0 + m] = bits
            if out_labels is not None:
                out_labels[i0 : i0 + m] = out
            i0 += m
        if out_labels is not None:
            await send_big(comm, peer, "gc-out", out_labels)
        return split_values(out_bits, c.output_widths) if get_dec else None
