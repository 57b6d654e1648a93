"""Fuzzing the Bristol parser (only BristolFormatError, never another exception or a hang) and
garbling random valid circuits (garbled result == plaintext result)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpc import _native
from mpc.crypto.prg import PRG
from mpc.gc import bristol as B
from mpc.gc import kernel as K

VALID = B.shipped_path("adder64").read_text()
SMALL = "4 6\n2 1 1\n2 1 1\n\n2 1 0 1 2 AND\n1 1 0 3 INV\n2 1 2 3 4 XOR\n1 1 4 5 EQW\n"
TOKENS = ["0", "1", "2", "3", "7", "-1", "99999999999999", "AND", "XOR", "INV", "EQ", "EQW", "MAND", "NOT",
          "\n", " ", "\t", "1.5", "0x1", "\u0661", "\u00b2", "\r", ""]


def _parse_or_format_error(text: str) -> None:
    try:
        B.parse(text)
    except B.BristolFormatError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    _parse_or_format_error(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=80))
def test_token_soup(tokens):
    _parse_or_format_error(" ".join(tokens))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([VALID, SMALL]), st.data())
def test_mutated_valid_files(base, data):
    lines = base.split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "token", "swap"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            toks = lines[i].split() or [""]
            k = data.draw(st.integers(0, len(toks) - 1))
            toks[k] = data.draw(st.sampled_from(TOKENS))
            lines[i] = " ".join(toks)
        if not lines:
            lines = [""]
    _parse_or_format_error("\n".join(lines))


@st.composite
def circuits(draw):
    """A random valid Bristol Fashion circuit as text."""
    n_in = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    wires = sum(n_in)
    gates = []
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["AND", "XOR", "INV", "EQW", "EQ", "MAND"]))
        pick = st.integers(0, wires - 1)
        if kind in ("AND", "XOR"):
            gates.append(f"2 1 {draw(pick)} {draw(pick)} {wires} {kind}")
            wires += 1
        elif kind in ("INV", "EQW"):
            gates.append(f"1 1 {draw(pick)} {wires} {kind}")
            wires += 1
        elif kind == "EQ":
            gates.append(f"1 1 {draw(st.integers(0, 1))} {wires} EQ")
            wires += 1
        else:
            m = draw(st.integers(1, 3))
            ins = [draw(pick) for _ in range(2 * m)]
            outs = list(range(wires, wires + m))
            gates.append(f"{2 * m} {m} " + " ".join(map(str, ins + outs)) + " MAND")
            wires += m
    n_out = draw(st.integers(1, min(4, wires)))
    head = f"{len(gates)} {wires}\n{len(n_in)} " + " ".join(map(str, n_in)) + f"\n1 {n_out}\n\n"
    return head + "\n".join(gates) + "\n"


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
@settings(max_examples=150, deadline=None)
@given(circuits(), st.integers(1, 20), st.integers(0, 2**32))
def test_random_circuits_garble_correctly(text, n, seed):
    c = B.parse(text)
    prg = PRG()
    r = np.random.default_rng(seed)
    ins = [r.integers(0, 2, (n, w), dtype=np.uint8) for w in c.input_widths]
    key, delta = os.urandom(16), K.new_delta(prg)
    in0 = K.input_labels(n, c.n_inputs, prg)
    g = K.garble(c, key, delta, in0, prg)
    out = K.evaluate(c, key, K.select(in0, np.concatenate(ins, axis=1), delta), g.tables, g.const_mat)
    got, bad = K.decode(key, out, K.output_table(key, delta, g.out0))
    assert not bad.any()
    assert np.array_equal(got, np.concatenate(c.evaluate(ins), axis=1))
