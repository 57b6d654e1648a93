"""Yao 2PC over the in-process transport: roles, batching, who gets the output, tampering, CLI."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mpc import _native
from mpc.errors import CheatingDetected, ParameterError, ProtocolAbort
from mpc.gc import bristol as B
from mpc.gc.local import LocalPair
from mpc.gc.yao import Evaluator, Garbler
from mpc.net import Comm, LocalNetwork
from mpc.net.local import LocalTransport

pytestmark = pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")

rng = np.random.default_rng(7)


def _rand(n, w):
    return rng.integers(0, 2, (n, w), dtype=np.uint8)


@pytest.mark.parametrize("threads", [False, True])
def test_batched_aes_matches_plaintext(threads):
    c = B.load("aes_128")
    k, p = _rand(40, 128), _rand(40, 128)
    pair = LocalPair()
    res = pair.run(c, [k], [p], threads=threads)
    assert res.garbler is None
    assert np.array_equal(res.evaluator[0], c.evaluate([k, p])[0])
    # 32 B per AND, 16 B per garbler input bit, 32 B per OT, 16 B per output bit (+ key, base OT)
    per = 32 * 6400 + 16 * 128 + 32 * 128 + 16 * 128
    assert 40 * per <= res.stats["garbler"]["bytes_sent"] <= 40 * per + 8192


def test_ot_state_is_reused_and_output_goes_to_the_garbler_only():
    c = B.load("mult64")
    pair = LocalPair()
    for _ in range(2):
        a, b = _rand(5, 64), _rand(5, 64)
        res = pair.run(c, [a], [b], output_to=("garbler",))
        assert res.evaluator is None
        assert np.array_equal(res.garbler[0], c.evaluate([a, b])[0])
    assert res.stats["garbler"]["bytes_received"] > 0


def test_all_inputs_from_one_party():
    c = B.load("adder64")
    a, b = _rand(3, 64), _rand(3, 64)
    res = LocalPair().run(c, [a, b], [], owners=("g", "g"), output_to=("garbler", "evaluator"))
    expect = c.evaluate([a, b])[0]
    assert np.array_equal(res.garbler[0], expect) and np.array_equal(res.evaluator[0], expect)
    res = LocalPair().run(c, [], [a, b], owners=("e", "e"))
    assert np.array_equal(res.evaluator[0], expect)


def test_bad_parameters_are_refused_before_any_message():
    c = B.load("adder64")
    pair = LocalPair()
    with pytest.raises(ParameterError, match="owners"):
        pair.run(c, [_rand(1, 64)], [_rand(1, 64)], owners=("g",))
    with pytest.raises(ParameterError, match="shape"):
        pair.run(c, [_rand(1, 63)], [_rand(1, 64)])
    with pytest.raises(ParameterError, match="role"):
        pair.run(c, [_rand(1, 64)], [_rand(1, 64)], output_to=("nobody",))


class Tamper(LocalTransport):
    """An endpoint that corrupts the tail of the first message whose tag contains `label`."""

    def __init__(self, network, party_id, label):
        super().__init__(network, party_id)
        self.label, self.done = label, False

    async def _send(self, peer, tag, data):
        if self.label in tag and not self.done:
            self.done = True
            data = bytes(data)
            data = data[:-512] + bytes(b ^ 0x5A for b in data[-512:])
        await super()._send(peer, tag, data)


def _tampered_run(label, tamperer, output_to):
    net = LocalNetwork(2)
    ends = [LocalTransport(net, 0), LocalTransport(net, 1)]
    ends[tamperer] = Tamper(net, tamperer, label)
    net.endpoints[:] = ends
    g = Garbler(Comm(ends[0], job="t", timeout=20), 1)
    e = Evaluator(Comm(ends[1], job="t", timeout=20), 0)
    c = B.load("aes_128")
    k, p = _rand(1, 128), _rand(1, 128)

    async def main():
        return await asyncio.gather(g.run(c, [k], output_to=output_to), e.run(c, [p], output_to=output_to),
                                    return_exceptions=True)

    return asyncio.run(main())


def test_tampered_tables_are_reported_not_decoded():
    gres, eres = _tampered_run("gc-chunk", 0, ("evaluator",))
    assert isinstance(eres, CheatingDetected) and eres.party == 0
    assert "tampered" in str(eres) and "job t" in str(eres)


def test_tampered_output_labels_are_reported_to_the_garbler():
    gres, eres = _tampered_run("gc-out", 1, ("garbler",))
    assert isinstance(gres, CheatingDetected) and gres.party == 1


def test_truncated_message_aborts_the_job():
    net = LocalNetwork(2)
    g = Garbler(Comm(net.endpoint(0), job="short", timeout=5), 1)
    cg = g.comm
    ce = Comm(net.endpoint(1), job="short", timeout=5)
    c = B.load("adder64")

    async def main():
        # the evaluator's side answers the base OT with a message of the wrong size
        async def bad_evaluator():
            await ce.recv(0, ce.tag("np-pk0"))
            await ce.send(0, ce.tag("np-r"), b"short")
        return await asyncio.gather(g.run(c, [_rand(1, 64)]), bad_evaluator(), return_exceptions=True)

    gres, _ = asyncio.run(main())
    assert isinstance(gres, ProtocolAbort) and "party 1" in str(gres)
    assert "sent 5 bytes" in str(gres) and "job short" in str(gres) and cg.job == "short"


def test_cli_run_and_info(capsys):
    from mpc.cli import main

    assert main(["gc", "run", "aes_128", "--garbler-input", "000102030405060708090a0b0c0d0e0f",
                 "--evaluator-input", "00112233445566778899aabbccddeeff"]) == 0
    assert capsys.readouterr().out.split() == ["69c4e0d86a7b0430d8cdb78070b4c55a"]
    assert main(["gc", "run", "mult2_64", "--garbler-input", "ffffffffffffffff", "--evaluator-input",
                 "ffffffffffffffff"]) == 0
    assert capsys.readouterr().out.split() == ["fffffffffffffffe", "0000000000000001"]
    assert main(["gc", "run", "zero_equal", "--evaluator-input", "0"]) == 0
    assert capsys.readouterr().out.split() == ["1"]
    assert main(["gc", "info", "aes_128"]) == 0
    out = capsys.readouterr().out
    assert "AND 6400" in out and "XOR 28176" in out and "INV 2087" in out
    assert main(["gc", "run", "adder64", "--garbler-input", "1"]) == 2
    assert "evaluator supplies 1 value" in capsys.readouterr().err
    try:
        import mpc.node  # noqa: F401  (the gRPC path itself is tested in tests/integration/test_gc_nodes.py)
    except ImportError:
        assert main(["gc", "run", "adder64", "--garbler-input", "1", "--evaluator-input", "1", "--transport",
                     "grpc"]) == 2
        assert "mpc.node" in capsys.readouterr().err


def test_messages_over_one_piece_are_split_and_reassembled():
    from mpc.gc.yao import PIECE

    c = B.load("neg64")
    n = 1100  # 1100 x 64 output labels x 16 B > PIECE: the labels back to the garbler take two messages
    assert n * 64 * 16 > PIECE
    a = _rand(n, 64)
    res = LocalPair().run(c, [], [a], owners=("e",), output_to=("garbler",))
    assert np.array_equal(res.garbler[0], c.evaluate([a])[0])
    assert res.stats["evaluator"]["messages_sent"] >= 3  # u matrix + two pieces of labels


def test_edge_circuits_no_gates_and_outputs_that_are_inputs_or_reread():
    ident = B.parse("0 4\n1 4\n1 4\n\n")  # no gates: the output is the input
    res = LocalPair().run(ident, [], [np.array([[1, 0, 1, 1]], np.uint8)], owners=("e",),
                          output_to=("garbler", "evaluator"))
    assert res.garbler[0].tolist() == res.evaluator[0].tolist() == [[1, 0, 1, 1]]
    # outputs are wires 1..4: two of them are inputs, wire 3 is an output that a later gate reads
    c = B.parse("2 5\n2 2 1\n2 2 2\n\n2 1 0 1 3 AND\n2 1 3 2 4 XOR\n")
    bits = B.int_to_bits(list(range(8)), 3)
    res = LocalPair().run(c, [bits[:, :2]], [bits[:, 2:]], output_to=("evaluator",))
    expect = c.evaluate([bits[:, :2], bits[:, 2:]])
    assert all(np.array_equal(a, b) for a, b in zip(res.evaluator, expect))
