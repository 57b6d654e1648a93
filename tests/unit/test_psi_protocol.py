"""The registered `psi` protocol, run through the protocol runner as nodes will run it."""

from __future__ import annotations

import numpy as np
import pytest

from mpc.errors import ParameterError
from mpc.protocols import default_registry
from mpc.protocols.local import run_protocol_local


def test_registered():
    p = default_registry().get("psi")
    assert p.qualified_name == "psi/v1" and p.max_parties == 2 and not p.needs_dealer


def test_members_and_size_through_the_runner():
    data = {0: {"id": np.array([1.0, 2.0, 3.0, 4.0])}, 1: {"id": np.array([4, 9, 2])}}
    r0, r1 = run_protocol_local("psi", data, {"key": "id"})
    assert r0 == {"set_sizes": [4, 3], "size": 2, "members": ["2", "4"]}
    assert r1 == {"set_sizes": [4, 3]}
    r0, r1 = run_protocol_local("psi", data, {"key": "id", "output": "size", "size_to_sender": True})
    assert r0["size"] == r1["size"] == 2 and "members" not in r0


def test_params_are_checked():
    check = default_registry().get("psi").check_params
    with pytest.raises(ParameterError):
        check({"key": "id", "output": "all"})
    with pytest.raises(ParameterError):
        check({"key": "id", "payload": ["x"]})
    with pytest.raises(ParameterError):
        check({})
