"""Joined tables: PSI payload shares kept by each party for the job that follows (vertical
regression on the aligned rows), the store's checks, and the runner path nodes use."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from mpc.errors import ParameterError, ProtocolAbort
from mpc.protocols import default_registry
from mpc.protocols.local import run_protocol_local
from mpc.psi.payload import PayloadShares
from mpc.psi.tables import JoinedTables

PAYLOAD = {"0": {"x1": [-1, 1], "y": [-5, 10]}, "1": {"x2": [0, 10]}}


def _data(n=120, seed=3):
    rng = np.random.default_rng(seed)          # synthetic data only
    keys = np.arange(n)
    x1, x2 = rng.uniform(-1, 1, n), rng.uniform(0, 10, n)
    y = 2 * x1 + 0.3 * x2 + 1 + rng.normal(0, 0.05, n)
    lo, hi = n // 6, n - n // 6              # party 0 has keys [0, hi), party 1 [lo, n)
    a = {"id": keys[:hi].astype(float), "x1": x1[:hi], "y": y[:hi]}
    b = {"id": keys[lo:][::-1].astype(float), "x2": x2[lo:][::-1]}   # another order at party 1
    return a, b, (x1[lo:hi], x2[lo:hi], y[lo:hi])


@pytest.fixture()
def joined(tmp_path):
    a, b, inter = _data()
    tables = {0: JoinedTables(tmp_path / "p0", 0), 1: JoinedTables(tmp_path / "p1", 1)}
    r = run_protocol_local("psi", {0: a, 1: b}, {"key": "id", "output": "size", "payload": PAYLOAD},
                           output_to=(0, 1), tables=tables, dataset_names={0: "left", 1: "right"})
    return a, b, inter, tables, r


def test_psi_keeps_a_joined_table_at_both_parties(joined):
    a, b, inter, tables, (r0, r1) = joined
    assert r0["size"] == len(inter[0]) and "members" not in r0          # output="size": no members
    assert r0["joined"] == r1["joined"] and r0["joined"]["table"] == "local"
    assert r0["joined"]["columns"] == {"x1": [-1.0, 1.0], "y": [-5.0, 10.0], "x2": [0.0, 10.0]}
    s0, s1 = tables[0].load("local"), tables[1].load("local")
    assert s0.rows == s1.rows == len(b["id"])
    assert s0.info["dataset"] == "left" and s1.info["dataset"] == "right" and s0.info["parties"] == [0, 1]
    assert os.stat(tables[0].path("local")).st_mode & 0o777 == 0o600
    # the shares add up to the joined table: indicator marks the common keys in the sender's order
    ind = (s0.indicator + s1.indicator).astype(np.int64)
    assert ind.sum() == len(inter[0])
    x2 = (s0.columns["x2"] + s1.columns["x2"]).view(np.int64) / 2.0**16
    assert sorted(np.round(x2, 3)) == sorted(np.round(b["x2"], 3))     # every sender row, permuted
    x1 = (s0.columns["x1"] + s1.columns["x1"]).view(np.int64) / 2.0**16
    pairs = sorted(zip(np.round(x1[ind == 1], 3), np.round(x2[ind == 1], 3)))
    assert pairs == sorted(zip(np.round(inter[0], 3), np.round(inter[1], 3)))   # rows aligned by key
    assert np.all(x1[ind == 0] == 0)


def test_vertical_regression_on_the_joined_table_matches_training_on_the_intersection(joined):
    a, b, (x1, x2, y), tables, _ = joined
    params = {"features": ["x1", "x2"], "label": "y", "iterations": 60, "l2": 1e-3}
    out = run_protocol_local("linear_regression", {0: a, 1: b}, {**params, "joined": "local"}, output_to=(0, 1),
                             tables=tables, dataset_names={0: "left", 1: "right"})
    assert out[0] == out[1] and out[0]["rows"] == len(x1)
    # the same training on the plaintext intersection, all rows at one party
    ref = run_protocol_local("linear_regression", {0: {"x1": x1, "x2": x2, "y": y}},
                             {**params, "bounds": {"x1": [-1, 1], "x2": [0, 10], "y": [-5, 10]}})[0]
    assert out[0]["feature_bounds"] == ref["feature_bounds"] and out[0]["label_bounds"] == ref["label_bounds"]
    assert np.allclose(out[0]["weights"], ref["weights"], atol=2e-3)
    assert math.isclose(out[0]["bias"], ref["bias"], abs_tol=2e-3)


def test_a_following_job_must_name_the_tables_dataset_and_parties(joined):
    a, b, _, tables, _ = joined
    with pytest.raises(ParameterError, match="made from dataset 'left'"):
        tables[0].check_for_job("local", parties=(0, 1), dataset="other")
    with pytest.raises(ParameterError, match="belongs to parties"):
        tables[0].check_for_job("local", parties=(0, 2), dataset="left")
    with pytest.raises(ParameterError, match="keeps no joined table 'nope'"):
        tables[0].load("nope")
    with pytest.raises(ParameterError, match="already keeps"):
        tables[0].save("local", tables[0].load("local"))
    params = {"features": ["x1", "x2"], "label": "y", "iterations": 2, "joined": "local"}
    with pytest.raises(ParameterError, match="made from dataset"):
        run_protocol_local("linear_regression", {0: a, 1: b}, params, tables=tables)   # names "local"


def test_parties_holding_different_tables_abort(joined, tmp_path):
    a, b, _, tables, _ = joined
    s1 = tables[1].load("local")
    other = JoinedTables(tmp_path / "other", 1)
    cols = {k: v[:-1] for k, v in s1.columns.items()}
    other.save("local", PayloadShares(s1.rows - 1, s1.indicator[:-1], cols, s1.owner, s1.info))
    params = {"features": ["x1", "x2"], "label": "y", "iterations": 2, "joined": "local"}
    with pytest.raises(ProtocolAbort, match="different joined table"):
        run_protocol_local("linear_regression", {0: a, 1: b}, params, tables={0: tables[0], 1: other},
                           dataset_names={0: "left", 1: "right"})


def test_unsafe_or_damaged_files_are_refused(joined):
    _, _, _, tables, _ = joined
    path = tables[0].path("local")
    path.chmod(0o644)
    with pytest.raises(ParameterError, match="chmod 600"):
        tables[0].load("local")
    path.chmod(0o600)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParameterError, match="not a readable"):
        tables[0].load("local")
    with pytest.raises(ParameterError, match="PSI job id"):
        tables[0].path("../escape")


def test_params_are_checked():
    check = default_registry().get("psi").check_params
    assert check({"key": "id", "payload": PAYLOAD})["payload"]["0"]["x1"] == [-1.0, 1.0]
    for bad in ({"0": {"x": [1, 0]}}, {"0": {"x": [0, 1]}, "1": {"x": [0, 1]}}, {"a": {}}, {"0": ["x"]}, {}):
        with pytest.raises(ParameterError):
            check({"key": "id", "payload": bad})
    reg = default_registry().get("linear_regression").check_params
    with pytest.raises(ParameterError, match="drop 'bounds'"):
        reg({"features": ["x"], "label": "y", "joined": "job-1", "bounds": {}})
    with pytest.raises(ParameterError, match="PSI job id"):
        reg({"features": ["x"], "label": "y", "joined": "../x"})


def test_psi_payload_needs_a_store_and_both_parties(tmp_path):
    a, b, _ = _data(30)
    with pytest.raises(ParameterError, match="state_dir"):
        run_protocol_local("psi", {0: a, 1: b}, {"key": "id", "payload": PAYLOAD})
    tables = {0: JoinedTables(tmp_path / "p0", 0), 1: JoinedTables(tmp_path / "p1", 1)}
    with pytest.raises(ParameterError, match="for each of the job's parties"):
        run_protocol_local("psi", {0: a, 1: b}, {"key": "id", "payload": {"0": {"x1": [-1, 1]}}}, tables=tables)
