"""Job specs: canonical encoding, the spec hash, and refusal of malformed specs from peers."""

from __future__ import annotations

import numpy as np
import pytest

from mpc.errors import ParameterError
from mpc.node.jobs import JobSpec, decode_result, encode_result, spec_hash

ROSTER = [(0, "party", "aa"), (1, "party", "bb"), (2, "dealer", "cc")]


def _spec(**kw):
    base = dict(job_id="job-1", protocol="sum", version=1, params={"column": "age", "b": [1, 2]},
                inputs={0: "p", 1: "p"}, parties=(0, 1), output_to=(0,), dealer=2, threshold=0,
                timeout_s=10.0, coordinator=0)
    base.update(kw)
    return JobSpec(**base)


def test_json_roundtrip_and_hash_is_stable():
    s = _spec()
    again = JobSpec.from_json(s.to_json())
    assert again == s
    assert spec_hash(s, ROSTER) == spec_hash(again, list(reversed(ROSTER)))
    # who relayed it and the timeout do not change what is computed
    assert spec_hash(s, ROSTER) == spec_hash(_spec(coordinator=1, timeout_s=3.0), ROSTER)


@pytest.mark.parametrize("change", [
    dict(protocol="mean"), dict(version=2), dict(params={"column": "bmi", "b": [1, 2]}),
    dict(inputs={0: "p", 1: "q"}), dict(output_to=(1,)), dict(dealer=None), dict(threshold=1),
])
def test_hash_changes_with_anything_that_matters(change):
    assert spec_hash(_spec(**change), ROSTER) != spec_hash(_spec(), ROSTER)


def test_hash_depends_on_roster_pins():
    other = [(0, "party", "aa"), (1, "party", "bX"), (2, "dealer", "cc")]
    assert spec_hash(_spec(), ROSTER) != spec_hash(_spec(), other)


@pytest.mark.parametrize("text", ["not json", "[]", '{"job_id": "x"}',
                                  _spec(job_id="bad id!").to_json(), _spec(output_to=(5,)).to_json(),
                                  _spec(parties=(0, 0)).to_json(), _spec(inputs={7: "p"}).to_json()])
def test_malformed_specs_are_refused(text):
    with pytest.raises(ParameterError):
        JobSpec.from_json(text)


def test_results_roundtrip_with_arrays():
    value = {"w": np.array([[1.5, -2.0]]), "n": np.int64(3), "acc": 0.9, "l": [np.float64(1.0)]}
    back = decode_result(encode_result(value))
    assert np.array_equal(back["w"], value["w"]) and back["w"].dtype == np.float64
    assert back["n"] == 3 and back["acc"] == 0.9 and back["l"] == [1.0]
    assert decode_result("") is None
