"""Garbling and evaluation of whole circuits (batches of instances) in one native call.

What it computes: free-XOR + half-gates garbled circuits with point-and-permute (two 16-byte
ciphertexts, 32 bytes, per AND gate; XOR, INV and wire copies are free), and the output-decoding
table that lets the evaluator both decode and check its output labels.

Security: labels are 128-bit; the global offset R (lsb 1) and all zero-labels come from the
AES-CTR PRG seeded by ``os.urandom``. The hash is the tweakable circular-correlation-robust
hash of GKWY20 (fixed-key AES, a per-run key chosen by the garbler, the gate index as tweak), so
the garbling is secure against a semi-honest evaluator. Output decoding: for every output wire
the garbler sends the 64-bit hashes of both labels (value order); the evaluator accepts a label
only if its hash matches one of them, so a wrong label (tampered table, corrupted input label)
is detected except with probability 2^-64 per output wire, instead of decoding to a wrong bit.

References: Zahur, Rosulek, Evans, "Two Halves Make a Whole", EUROCRYPT 2015, Fig. 2 (half-gates);
Kolesnikov, Schneider, ICALP 2008 (free XOR); Guo, Katz, Wang, Yu, IEEE S&P 2020, Section 7.3
(the hash H(x, i) = pi(sigma(x) xor i) xor sigma(x)).

Cost: garbling 4 AES calls per AND, evaluation 2; 32 bytes per AND, 16 per constant gate,
16 per output wire for the decoding table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc import _native
from mpc.crypto.prg import PRG
from mpc.errors import ParameterError, UnsupportedCPU
from mpc.gc.bristol import Circuit

LABEL = 16
DOMAIN_OUTPUT = 1


def require_aes() -> None:
    """Raise `UnsupportedCPU` unless the native kernels may use AES-NI on this CPU."""
    if _native.active_isa() == "portable":
        raise UnsupportedCPU(
            "garbled circuits and OT extension need AES-NI; this CPU lacks it (or MPC_NATIVE_ISA=portable "
            "caps the kernels). Run the party on an x86-64 CPU with AES-NI.")


def call_native(fn, *args, **kwargs):
    """Call a native kernel, turning its missing-AES-NI error into `UnsupportedCPU`."""
    try:
        return fn(*args, **kwargs)
    except _native.UnsupportedCpuError as exc:
        raise UnsupportedCPU(str(exc)) from None


def plan(circuit: Circuit, reuse: bool = True):
    """The native schedule of `circuit` (cached on the circuit)."""
    key = ("plan", reuse)
    if key not in circuit._cache:
        circuit._cache[key] = _native.gc_compile(circuit.op, circuit.a, circuit.b, circuit.c, circuit.n_wires,
                                                 circuit.n_inputs, circuit.n_outputs, reuse)
    return circuit._cache[key]


def new_delta(prg: PRG) -> bytes:
    """The global free-XOR offset R, with its point-and-permute bit (lsb) set."""
    d = bytearray(prg.bytes(LABEL))
    d[0] |= 1
    return bytes(d)


@dataclass
class Garbled:
    """One batch of garbled instances: what the garbler sends, and what it keeps."""

    tables: np.ndarray      # (N, n_and, 32) uint8: sent
    const_mat: np.ndarray   # (N, n_const, 16) uint8: sent (active labels of public constants)
    out0: np.ndarray        # (N, n_out, 16) uint8: kept (zero-labels of the outputs)
    wires: np.ndarray | None = None  # (N, n_slots, 16) zero-labels of every slot (tests)


def garble(circuit: Circuit, key: bytes, delta: bytes, in0: np.ndarray, prg: PRG, *, inst_offset: int = 0,
           wires: bool = False, tables: np.ndarray | None = None, const_mat: np.ndarray | None = None) -> Garbled:
    """Garble N instances whose input zero-labels are `in0` (N, n_inputs, 16); `tables` and
    `const_mat` may be given as (C-contiguous) output buffers, e.g. views of a message."""
    require_aes()
    p = plan(circuit, reuse=not wires)
    in0 = np.ascontiguousarray(in0, dtype=np.uint8)
    n = in0.shape[0]
    if in0.shape != (n, circuit.n_inputs, LABEL):
        raise ParameterError(f"input labels have shape {in0.shape}, expected (N, {circuit.n_inputs}, 16)")
    const_rand = prg.fill(np.empty((n, p.n_const, LABEL), dtype=np.uint8))
    g = Garbled(
        tables=np.empty((n, p.n_and, 2 * LABEL), dtype=np.uint8) if tables is None else tables,
        const_mat=np.empty((n, p.n_const, LABEL), dtype=np.uint8) if const_mat is None else const_mat,
        out0=np.empty((n, circuit.n_outputs, LABEL), dtype=np.uint8),
        wires=np.empty((n, p.n_slots, LABEL), dtype=np.uint8) if wires else None,
    )
    call_native(_native.gc_garble, p, key, delta, n, inst_offset, in0, const_rand, g.tables, g.out0, g.const_mat,
                g.wires)
    return g


def evaluate(circuit: Circuit, key: bytes, labels: np.ndarray, tables: np.ndarray, const_mat: np.ndarray, *,
             inst_offset: int = 0, wires: bool = False):
    """Evaluate N instances from active input labels (N, n_inputs, 16); returns output labels
    (N, n_outputs, 16), and with `wires` also every wire's label (N, n_wires, 16)."""
    require_aes()
    p = plan(circuit, reuse=not wires)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    n = labels.shape[0]
    if labels.shape != (n, circuit.n_inputs, LABEL):
        raise ParameterError(f"input labels have shape {labels.shape}, expected (N, {circuit.n_inputs}, 16)")
    tables = np.ascontiguousarray(tables, dtype=np.uint8).reshape(n, p.n_and, 2 * LABEL)
    const_mat = np.ascontiguousarray(const_mat, dtype=np.uint8).reshape(n, p.n_const, LABEL)
    out = np.empty((n, circuit.n_outputs, LABEL), dtype=np.uint8)
    w = np.empty((n, p.n_slots, LABEL), dtype=np.uint8) if wires else None
    call_native(_native.gc_evaluate, p, key, n, inst_offset, labels, tables, const_mat, out, w)
    return (out, w) if wires else out


def output_table(key: bytes, delta: bytes, out0: np.ndarray, *, inst_offset: int = 0) -> np.ndarray:
    """Decoding table (N, n_out, 2) uint64: the 64-bit hashes of each output's 0-label and 1-label."""
    require_aes()
    n, n_out = out0.shape[:2]
    h = np.empty((n, n_out, 2, LABEL), dtype=np.uint8)
    call_native(_native.tccr_hash_pair, key, np.ascontiguousarray(out0), delta, inst_offset * n_out, DOMAIN_OUTPUT, h)
    return np.ascontiguousarray(h[..., :8]).view(np.uint64).reshape(n, n_out, 2)


def decode(key: bytes, labels: np.ndarray, table: np.ndarray, *, inst_offset: int = 0):
    """Output bits (N, n_out) uint8 and a mask of outputs whose label matched neither hash."""
    require_aes()
    n, n_out = labels.shape[:2]
    h = np.empty((n, n_out, LABEL), dtype=np.uint8)
    call_native(_native.tccr_hash, key, np.ascontiguousarray(labels), inst_offset * n_out, DOMAIN_OUTPUT, h)
    mine = np.ascontiguousarray(h[..., :8]).view(np.uint64).reshape(n, n_out)
    is0, is1 = mine == table[..., 0], mine == table[..., 1]
    return is1.astype(np.uint8), ~(is0 | is1)


def input_labels(n: int, n_inputs: int, prg: PRG) -> np.ndarray:
    """Fresh zero-labels for N instances' inputs, from the CSPRNG-seeded AES-CTR PRG."""
    return prg.fill(np.empty((n, n_inputs, LABEL), dtype=np.uint8))


def select(zero_labels: np.ndarray, bits: np.ndarray, delta: bytes) -> np.ndarray:
    """Active labels: zero-label xor bit * R (bits broadcast over the label bytes)."""
    d = np.frombuffer(delta, dtype=np.uint8)
    return zero_labels ^ (np.asarray(bits, dtype=np.uint8)[..., None] * d)
