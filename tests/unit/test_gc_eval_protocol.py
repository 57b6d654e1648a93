"""The registered gc_eval protocol: parameters, dataset columns, both parties in-process."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from mpc import _native
from mpc.errors import ParameterError
from mpc.net import LocalNetwork
from mpc.protocols import JobContext, default_registry
from mpc.protocols.gc_eval import check_params, column_bits
from mpc.runtime import Session


def test_registered_and_params_checked():
    proto = default_registry().get("gc_eval")
    assert proto.max_parties == 2 and proto.security == "semi-honest" and not proto.needs_dealer
    p = check_params({"circuit": "aes_128"})
    assert p == {"circuit": "aes_128", "owners": [0, 1], "instances": 1, "garbler": 0,
                 "input_columns": ["in0", "in1"]}
    for bad in ({"circuit": "../../etc/passwd"}, {"circuit": "aes_128", "owners": [0]},
                {"circuit": "aes_128", "owners": [0, 2]}, {"circuit": "aes_128", "instances": 0},
                {"circuit": "aes_128", "garbler": 3}, {"circuit": "adder64", "input_columns": ["a"]},
                {"circuit": "aes_128", "input_columns": [["a", "b"], "c"]}):
        with pytest.raises(ParameterError):
            check_params(bad)


def test_column_formats():
    assert column_bits(np.array([5], np.uint64), 64, 1, "c").tolist()[0][:3] == [1, 0, 1]
    limbs = np.array([[1, 2]], dtype=np.uint64)
    assert column_bits(limbs, 128, 1, "c")[0, 64 + 1] == 1
    assert column_bits(np.array(["ff"]), 8, 1, "c").sum() == 8
    assert column_bits(np.array([6.0]), 8, 1, "c").tolist()[0][:3] == [0, 1, 1]
    for bad in (np.array([1.5]), np.array([-1.0]), np.array([2.0**53])):
        with pytest.raises(ParameterError):
            column_bits(bad, 64, 1, "c")
    with pytest.raises(ParameterError, match="rows"):
        column_bits(np.array([1, 2]), 8, 3, "c")


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
def test_gc_eval_aes_between_two_sessions():
    proto = default_registry().get("gc_eval")
    net = LocalNetwork(2)
    keys = np.array(["000102030405060708090a0b0c0d0e0f", "00" * 16])
    pts = np.array(["00112233445566778899aabbccddeeff", "00" * 16])
    data = [{"key": keys}, {"pt": pts}]
    params = {"circuit": "aes_128", "instances": 2, "garbler": 1, "owners": [0, 1], "input_columns": ["key", "pt"]}

    async def party(i):
        s = Session(net.endpoint(i), job="gc-job", parties=[0, 1], timeout=20)
        ctx = JobContext(session=s, params=params, data=data[i], contributors=(0, 1), output_to=(0,),
                         release=None)
        return await proto.run(ctx)

    async def main():
        return await asyncio.gather(party(0), party(1))

    r0, r1 = asyncio.run(main())
    assert r1 is None
    assert r0 == {"outputs": [["69c4e0d86a7b0430d8cdb78070b4c55a", "66e94bd4ef8a2c3b884cfa59ca342b2e"]]}


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
def test_gc_eval_through_the_local_protocol_runner():
    from mpc.protocols.local import run_protocol_local

    a = np.array([3, 2**64 - 1, 10], dtype=np.uint64)
    b = np.array([4, 2, 5], dtype=np.uint64)
    res = run_protocol_local("gc_eval", {0: {"in0": a}, 1: {"in1": b}},
                             {"circuit": "mult64", "instances": 3}, output_to=(0, 1))
    expect = [[format(int(x) * int(y) % 2**64, "016x") for x, y in zip(a, b)]]
    assert res[0] == res[1] == {"outputs": expect}


@pytest.mark.skipif(_native.active_isa() == "portable", reason="CPU without AES-NI")
def test_gc_eval_with_32_bit_limb_columns_as_node_datasets_hold_them():
    from mpc.protocols.local import run_protocol_local

    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    k = int.from_bytes(key, "big")
    limbs = {f"k{j}": np.array([float((k >> (32 * j)) & 0xFFFFFFFF)]) for j in range(4)}  # float64, as loaded
    pt = {"pt": np.array(["00112233445566778899aabbccddeeff"])}
    params = {"circuit": "aes_128", "input_columns": [["k0", "k1", "k2", "k3"], "pt"]}
    res = run_protocol_local("gc_eval", {0: limbs, 1: pt}, params, output_to=(1,))
    assert res[0] is None and res[1] == {"outputs": [["69c4e0d86a7b0430d8cdb78070b4c55a"]]}
    with pytest.raises(ParameterError, match="2\\^32"):
        from mpc.protocols.gc_eval import limb_bits
        limb_bits([np.array([2.0**32])], 32, 1, ["x"])
