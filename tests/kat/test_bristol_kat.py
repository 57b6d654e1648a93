"""Known answers from shared/circuits/kat.json (AES-128/192/256 FIPS-197, 64-bit arithmetic):
plaintext evaluation, and Yao 2PC with OT in-process (all vectors of a circuit batched in one run)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

import pytest

from mpc import _native
from mpc.gc import bristol as B


@pytest.fixture(scope="module")
def vectors(shared_dir):
    path = shared_dir / "circuits" / "kat.json"
    if not path.exists():
        pytest.skip(f"{path} not present")
    data = json.loads(path.read_text())
    groups = defaultdict(list)
    for v in data["vectors"]:
        groups[v["circuit"]].append(v)
    assert len(data["vectors"]) >= 100
    return groups


def _bits(vecs, k, key="inputs"):
    w = vecs[0][key][k]["width"]
    return B.int_to_bits([int(v[key][k]["int_hex"], 16) for v in vecs], w)


def _check(c, vecs, outs):
    for k, w in enumerate(c.output_widths):
        got = [B.int_to_hex(x, w) for x in B.bits_to_int(outs[k])]
        assert got == [v["outputs"][k]["int_hex"] for v in vecs], (c.name, k)


def test_wires_field_agrees_with_int_hex(vectors):
    for vecs in vectors.values():
        for v in vecs:
            for val in v["inputs"] + v["outputs"]:
                bits = B.int_to_bits([int(val["int_hex"], 16)], val["width"])[0]
                assert "".join(map(str, bits)) == val["wires"]


def test_plaintext_known_answers(vectors):
    for name, vecs in vectors.items():
        c = B.load(name)  # the shipped copy
        ins = [_bits(vecs, k) for k in range(len(c.input_widths))]
        _check(c, vecs, c.evaluate(ins))


def test_shipped_circuits_equal_reference_files(shared_dir):
    for name in B.shipped_names():
        ref = shared_dir / "circuits" / f"{name}.txt"
        assert ref.read_bytes() == B.shipped_path(name).read_bytes()


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
def test_garbled_known_answers_with_ot_in_process(vectors):
    from mpc.gc.local import LocalPair

    pair = LocalPair(job="kat")
    for name, vecs in sorted(vectors.items()):
        c = B.load(name)
        ins = [_bits(vecs, k) for k in range(len(c.input_widths))]
        res = pair.run(c, ins[:1], ins[1:], output_to=("garbler", "evaluator"))
        _check(c, vecs, res.evaluator)
        _check(c, vecs, res.garbler)
        # the other assignment of inputs: the evaluator supplies value 0
        owners = ("e",) + ("g",) * (len(c.input_widths) - 1)
        res = pair.run(c, ins[1:], ins[:1], owners=owners)
        _check(c, vecs, res.evaluator)


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
def test_garbled_sha256_compression_against_hashlib():
    from mpc.gc.local import LocalPair

    c = B.load("sha256")
    iv = bytes.fromhex("6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19")
    msgs = [b"", b"abc", b"x" * 55]
    blocks = []
    for m in msgs:
        pad = m + b"\x80" + b"\x00" * ((55 - len(m)) % 64) + (8 * len(m)).to_bytes(8, "big")
        assert len(pad) == 64
        blocks.append(int.from_bytes(pad, "big"))
    block_bits = B.int_to_bits(blocks, 512)
    iv_bits = B.int_to_bits([int.from_bytes(iv, "big")] * len(msgs), 256)
    res = LocalPair(job="sha").run(c, [iv_bits], [block_bits], owners=("e", "g"))
    digests = [x.to_bytes(32, "big") for x in B.bits_to_int(res.evaluator[0])]
    assert digests == [hashlib.sha256(m).digest() for m in msgs]
