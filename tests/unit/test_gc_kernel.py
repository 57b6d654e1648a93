"""Garbling kernel: the GKWY20 hash against a reference, correctness, what the evaluator holds,
tampering detection, ISA paths, and the refusal on CPUs without AES-NI."""

from __future__ import annotations

import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mpc import _native
from mpc.crypto.prg import PRG
from mpc.errors import UnsupportedCPU
from mpc.gc import bristol as B
from mpc.gc import kernel as K

pytestmark = pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")


def ref_tccr(key: bytes, x: bytes, tweak: int, domain: int) -> bytes:
    """H(x, i) = pi(sigma(x) xor i) xor sigma(x), sigma(xL||xR) = (xL xor xR)||xL, written from the
    paper with the `cryptography` package's AES; xL is the high 64 bits (bytes 8..15)."""
    lo, hi = x[:8], x[8:]
    sig = hi + bytes(a ^ b for a, b in zip(hi, lo))  # low half = xL, high half = xL xor xR
    tw = tweak.to_bytes(8, "little") + domain.to_bytes(8, "little")
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    y = enc.update(bytes(a ^ b for a, b in zip(sig, tw)))
    return bytes(a ^ b for a, b in zip(y, sig))


@pytest.mark.parametrize("n", [1, 7, 8, 19])
def test_tccr_hash_matches_reference(n):
    key = os.urandom(16)
    x = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16)
    out = np.empty_like(x)
    _native.tccr_hash(key, x, 1000, 5, out)
    for j in range(n):
        assert out[j].tobytes() == ref_tccr(key, x[j].tobytes(), 1000 + j, 5)
    delta = os.urandom(16)
    pair = np.empty((n, 2, 16), dtype=np.uint8)
    _native.tccr_hash_pair(key, x, delta, 7, 2, pair)
    xd = x ^ np.frombuffer(delta, dtype=np.uint8)
    for j in range(n):
        assert pair[j, 0].tobytes() == ref_tccr(key, x[j].tobytes(), 7 + j, 2)
        assert pair[j, 1].tobytes() == ref_tccr(key, xd[j].tobytes(), 7 + j, 2)


def _garbled_run(c, n, prg, *, offset=0, wires=False):
    key, delta = os.urandom(16), K.new_delta(prg)
    ins = [np.random.default_rng(n).integers(0, 2, (n, w), dtype=np.uint8) for w in c.input_widths]
    bits = np.concatenate(ins, axis=1)
    in0 = K.input_labels(n, c.n_inputs, prg)
    g = K.garble(c, key, delta, in0, prg, inst_offset=offset, wires=wires)
    return key, delta, ins, bits, in0, g


@pytest.mark.parametrize("name,n", [("adder64", 1), ("neg64", 3), ("zero_equal", 17), ("mult64", 2), ("aes_128", 1),
                                    ("aes_128", 18), ("divide64", 1)])
def test_garble_evaluate_decode_matches_plaintext(name, n):
    c, prg = B.load(name), PRG()
    key, delta, ins, bits, in0, g = _garbled_run(c, n, prg, offset=11)
    assert g.tables.nbytes == 32 * c.n_and * n  # exactly 32 bytes per AND gate
    out = K.evaluate(c, key, K.select(in0, bits, delta), g.tables, g.const_mat, inst_offset=11)
    got, bad = K.decode(key, out, K.output_table(key, delta, g.out0, inst_offset=11), inst_offset=11)
    assert not bad.any()
    assert np.array_equal(got, np.concatenate(c.evaluate(ins), axis=1))


def test_constant_gates_are_garbled():
    c = B.parse("3 5\n1 2\n1 3\n\n1 1 1 2 EQ\n1 1 0 3 EQ\n2 1 0 1 4 AND\n")
    prg = PRG()
    for x in range(4):
        key, delta = os.urandom(16), K.new_delta(prg)
        in0 = K.input_labels(1, 2, prg)
        g = K.garble(c, key, delta, in0, prg)
        bits = B.int_to_bits([x], 2)
        out = K.evaluate(c, key, K.select(in0, bits, delta), g.tables, g.const_mat)
        got, bad = K.decode(key, out, K.output_table(key, delta, g.out0))
        assert not bad.any() and got.tolist() == [[1, 0, (x & 1) & (x >> 1)]]


@pytest.mark.parametrize("name", ["adder64", "neg64", "aes_128"])
def test_evaluator_holds_exactly_one_label_per_wire(name):
    """For every wire, the evaluator's label is the garbler's label of the wire's true value
    (W0 xor v*R): one of the two, never anything else."""
    c, prg = B.load(name), PRG()
    key, delta, ins, bits, in0, g = _garbled_run(c, 2, prg, wires=True)
    out, held = K.evaluate(c, key, K.select(in0, bits, delta), g.tables, g.const_mat, wires=True)
    values = c.evaluate(ins, all_wires=True)  # (N, n_wires)
    assert held.shape == g.wires.shape == (2, c.n_wires, 16)
    expect = K.select(g.wires, values, delta)
    assert np.array_equal(held, expect)
    other = K.select(g.wires, 1 - values, delta)
    assert not np.any(np.all(held == other, axis=2))


def test_tampered_table_never_decodes_silently_to_a_wrong_answer():
    c, prg = B.load("adder64"), PRG()
    key, delta, ins, bits, in0, g = _garbled_run(c, 1, prg)
    expect = np.concatenate(c.evaluate(ins), axis=1)
    table = K.output_table(key, delta, g.out0)
    rng = np.random.default_rng(1)
    detected = 0
    for pos in rng.choice(g.tables.size, 60, replace=False):
        t = g.tables.copy()
        t.reshape(-1)[pos] ^= 1 << int(rng.integers(8))
        out = K.evaluate(c, key, K.select(in0, bits, delta), t, g.const_mat)
        got, bad = K.decode(key, out, table)
        if bad.any():
            detected += 1
        else:
            assert np.array_equal(got, expect)  # a flip in a row the evaluator does not use
    assert detected > 0


def test_wrong_input_label_is_detected():
    c, prg = B.load("aes_128"), PRG()
    key, delta, ins, bits, in0, g = _garbled_run(c, 1, prg)
    labels = K.select(in0, bits, delta)
    labels[0, 5, 3] ^= 0x10  # neither label of input wire 5
    out = K.evaluate(c, key, labels, g.tables, g.const_mat)
    _, bad = K.decode(key, out, K.output_table(key, delta, g.out0))
    assert bad.any()


def test_isa_paths_garble_identically():
    c, prg = B.load("aes_128"), PRG()
    key, delta = os.urandom(16), K.new_delta(prg)
    in0 = K.input_labels(3, c.n_inputs, prg)
    seed = os.urandom(16)
    tables = {}
    feats = _native.cpu_features()
    caps = ["aesni"] + (["vaes"] if feats["vaes"] else [])
    try:
        for cap in caps:
            _native.set_isa_cap(cap)
            tables[cap] = K.garble(c, key, delta, in0, PRG(seed)).tables
    finally:
        _native.set_isa_cap("vaes")
    for cap in caps[1:]:
        assert np.array_equal(tables[cap], tables["aesni"])


def test_cpu_without_aesni_gets_a_clear_error():
    c, prg = B.load("adder64"), PRG()
    in0 = K.input_labels(1, c.n_inputs, prg)
    _native.set_isa_cap("portable")
    try:
        with pytest.raises(UnsupportedCPU, match="AES-NI"):
            K.garble(c, os.urandom(16), K.new_delta(prg), in0, prg)
        with pytest.raises(_native.UnsupportedCpuError):  # the native guard itself
            _native.tccr_hash(os.urandom(16), np.zeros((1, 16), np.uint8), 0, 0, np.zeros((1, 16), np.uint8))
    finally:
        _native.set_isa_cap("vaes")


def test_plan_reuses_slots_and_keeps_runs_independent():
    c = B.load("aes_128")
    p = K.plan(c)
    assert p.n_and == 6400 and p.n_slots < c.n_wires // 10
    assert p.n_runs == 60  # one run per AND level
    full = K.plan(c, reuse=False)
    assert full.n_slots == c.n_wires
