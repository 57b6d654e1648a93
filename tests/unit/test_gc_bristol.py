"""Bristol Fashion parser: structure, validation errors naming the line, value conversions."""

from __future__ import annotations

import numpy as np
import pytest

from mpc.errors import ParameterError
from mpc.gc import bristol as B

# c = (a AND b) XOR (NOT a), plus a copy of it: inputs 1+1 bits, outputs 1+1 bits.
SMALL = """4 6
2 1 1
2 1 1

2 1 0 1 2 AND
1 1 0 3 INV
2 1 2 3 4 XOR
1 1 4 5 EQW
"""


def test_parse_small_circuit_arrays_and_counts():
    c = B.parse(SMALL)
    assert c.n_wires == 6 and c.input_widths == (1, 1) and c.output_widths == (1, 1)
    assert c.counts() == {"XOR": 1, "AND": 1, "INV": 1, "EQW": 1, "EQ": 0}
    assert c.op.dtype == np.uint8 and c.a.dtype == np.int32
    assert list(c.lines) == [5, 6, 7, 8]
    assert c.and_depth() == 1


@pytest.mark.parametrize("a,b", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_plaintext_evaluation_truth_table(a, b):
    out = B.parse(SMALL).evaluate([[a], [b]])
    expect = (a & b) ^ (1 - a)
    assert out[0].tolist() == [[expect]] and out[1].tolist() == [[expect]]


def test_mand_and_eq_semantics():
    text = """4 7
1 2
1 3

4 2 0 1 0 1 2 3 MAND
1 1 1 4 EQ
1 1 0 5 EQ
2 1 2 3 6 XOR
"""
    # wires 2 = a0&a0, 3 = a1&a1, 4 = 1, 5 = 0, 6 = a0 ^ a1; outputs are the last 3 wires (4, 5, 6)
    c = B.parse(text)
    assert c.counts()["AND"] == 2 and c.counts()["EQ"] == 2
    for x in range(4):
        bits = B.int_to_bits([x], 2)
        (out,) = c.evaluate([bits])
        assert out.tolist() == [[1, 0, (x & 1) ^ (x >> 1)]]


@pytest.mark.parametrize("text,line,fragment", [
    ("1 3\n1 1\n1 1\n\n2 1 0 0 2 ANDX\n", 5, "unknown gate type"),
    ("1 3\n2 1 1\n1 1\n\n2 1 0 7 2 AND\n", 5, "out of range"),
    ("2 4\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n2 1 0 1 2 XOR\n", 6, "written a second time"),
    ("2 4\n2 1 1\n1 1\n\n2 1 0 3 2 AND\n2 1 0 1 3 XOR\n", 5, "before it is written"),
    ("1 3\n2 1 1\n1 1\n\n2 1 0 1 0 AND\n", 5, "writes input wire"),
    ("1 3\n2 1 1\n1 1\n\n1 1 0 2 AND\n", 5, "AND needs 2 input"),
    ("1 3\n2 1 1\n1 1\n\n2 1 0 x 2 AND\n", 5, "not a non-negative integer"),
    ("1 3\n2 1 1\n1 1\n\n2 1 0 1 2 3 AND\n", 5, "fields"),
    ("1 3\n2 1 1\n1 1\n\n1 1 2 2 EQ\n", 5, "EQ constant"),
    ("2 3\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n", 1, "declares 2 gates"),
    ("1 4\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n", 1, "4 are declared"),
    ("1 3 5\n2 1 1\n1 1\n\n2 1 0 1 2 AND\n", 1, "ngates"),
    ("1 3\n2 1\n1 1\n\n2 1 0 1 2 AND\n", 2, "input header"),
    ("1 3\n2 1 1\n1 0\n\n2 1 0 1 2 AND\n", 3, "positive"),
    ("1 3\n2 1 1\n1 1\n\n4 2 0 1 2 2 MAND\n", 5, "fields"),
])
def test_malformed_files_name_the_line(text, line, fragment):
    with pytest.raises(B.BristolFormatError) as err:
        B.parse(text, name="bad.txt")
    assert err.value.line == line
    assert f"bad.txt, line {line}" in str(err.value)
    assert fragment in str(err.value)


def test_unwritten_wire_and_short_file():
    with pytest.raises(B.BristolFormatError, match="write 2 wires but 4 are declared"):
        B.parse("1 4\n1 1\n1 1\n\n1 1 0 3 INV\n")  # wires 1 and 2 are never written
    with pytest.raises(B.BristolFormatError, match="three header lines"):
        B.parse("1 2\n")


def test_values_round_trip_and_hex():
    vals = [0, 1, 2**64 - 1, 0x0123456789ABCDEF]
    bits = B.int_to_bits(vals, 64)
    assert bits.shape == (4, 64) and bits[1, 0] == 1 and bits[1, 1:].sum() == 0
    assert B.bits_to_int(bits) == vals
    assert B.int_to_hex(5, 64) == "0000000000000005"
    assert B.int_to_hex(1, 1) == "1"
    assert B.hex_to_int("0xff", 8) == 255
    with pytest.raises(ParameterError):
        B.hex_to_int("1ff", 8)
    with pytest.raises(ParameterError):
        B.hex_to_int("zz", 8)
    with pytest.raises(ParameterError):
        B.int_to_bits([256], 8)


def test_shipped_circuits_load_by_name():
    names = B.shipped_names()
    assert {"aes_128", "adder64", "sha256", "neg64"} <= set(names)
    c = B.load("adder64")
    assert c.counts()["AND"] == 63 and c.n_wires == 504
    with pytest.raises(ParameterError, match="no shipped circuit"):
        B.load("no_such_circuit")


def test_shipped_counts_match_reference_table():
    # From shared/circuits/README.md ("Gate counts").
    expect = {"aes_128": (36919, 6400, 28176, 2087, 0, 60), "neg64": (254, 62, 63, 64, 1, 62),
              "zero_equal": (191, 63, 0, 64, 0, 6), "mult64": (13803, 4033, 9642, 0, 0, 63)}
    for name, (wires, ands, xors, invs, eqw, depth) in expect.items():
        c = B.load(name)
        k = c.counts()
        got = (c.n_wires, k["AND"], k["XOR"], k["INV"], k["EQW"], c.and_depth())
        assert got == (wires, ands, xors, invs, eqw, depth)


def test_evaluate_checks_input_shapes():
    c = B.parse(SMALL)
    with pytest.raises(ParameterError):
        c.evaluate([[1]])
    with pytest.raises(ParameterError):
        c.evaluate([[1, 0], [1]])


def test_header_only_read_matches_full_parse():
    for name in ("aes_128", "mult2_64", "neg64"):
        c = B.load(name)
        assert B.header(name) == (c.input_widths, c.output_widths)
