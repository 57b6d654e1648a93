"""PSI through two real node processes (gRPC with mutual TLS): each node reads the key column of
its own dataset; the receiver gets the members (or only the size), the other party only the set
sizes unless it is entitled to the intersection size. Run through `mpc psi --config` (a fresh
process) and through the client library. With payload columns each node keeps its shares of the
joined table, and a vertical regression then runs on it through the nodes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mpc.client import Client
from mpc.errors import MPCError
from mpc.protocols.local import run_protocol_local
from netjobs import make_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    cluster, data = make_cluster(tmp_path_factory.mktemp("psi"), parties=2, dealer=True, timeout_s=20.0,
                                 no_dp=True)
    cluster.start()
    try:
        cluster.wait_ready()
        common = set(data[0]["pid"].tolist()) & set(data[1]["pid"].tolist())
        assert len(common) == 20
        yield cluster, data, common
    finally:
        cluster.stop()


def _psi(cluster, *args):
    return subprocess.run([sys.executable, "-m", "mpc", "psi", "--config", str(cluster.client_config),
                           "--datasets", "patients", "--key", "pid", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **cluster.env})


def test_cli_members_to_the_receiver_only(net):
    cluster, data, common = net
    r = _psi(cluster)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "party 0 (receiver): set sizes [40, 40], intersection size 20"
    assert lines[1] == "party 1: set sizes [40, 40]"          # the sender learns the sizes only
    assert {int(m) for m in lines[2:]} == common


def test_cli_size_only_and_size_to_sender(net):
    cluster, _, _ = net
    r = _psi(cluster, "--output", "size", "--size-to-sender", "--receiver", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["party 0: set sizes [40, 40], intersection size 20",
                                     "party 1 (receiver): set sizes [40, 40], intersection size 20"]


def test_client_outputs_are_as_entitled(net):
    cluster, data, common = net
    with Client.from_config(cluster.client_config) as client:
        out = client.run("psi", {0: "patients", 1: "patients"}, {"key": "pid", "receiver": 1}, parties=[0, 1])
    assert set(out.outputs) == {0, 1}
    assert out.outputs[1]["size"] == 20 and {int(m) for m in out.outputs[1]["members"]} == common
    assert set(out.outputs[0]) == {"set_sizes"}
    assert out.cosignature is None                              # these nodes name no co-signing key


def test_cli_refuses_bad_requests_clearly(net):
    cluster, _, _ = net
    r = _psi(cluster, "--parties", "0")
    assert r.returncode == 2 and "2 parties" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "mpc", "psi", "--config", str(cluster.client_config),
                        "--datasets", "patients", "--key", "nope"], capture_output=True, text=True, timeout=120)
    # refused at prepare (the columns a job reads are checked before it runs), naming the column
    assert r.returncode == 2 and "has no column(s) ['nope']" in r.stderr and "Traceback" not in r.stderr


def test_payload_shares_stay_at_the_nodes_for_a_vertical_regression(net):
    cluster, data, common = net
    r = _psi(cluster, "--output", "size", "--payload-a", "age=20:90,cost=0:200", "--payload-b", "bmi=15:40")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "party 0 (receiver): set sizes [40, 40], intersection size 20"
    assert lines[2].startswith("joined table job-") and "40 rows" in lines[2] and len(lines) == 3  # no members
    table = lines[2].split()[2].rstrip(":")
    for i in (0, 1):   # each node keeps its shares, private to its user
        path = cluster.root / f"state-party{i}" / "joined" / f"{table}.npz"
        assert path.stat().st_mode & 0o777 == 0o600
    params = {"features": ["age", "bmi"], "label": "cost", "iterations": 40, "l2": 1e-3}
    with Client.from_config(cluster.client_config) as client:
        out = client.run("linear_regression", {0: "patients", 1: "patients"}, {**params, "joined": table},
                         parties=[0, 1])
        with pytest.raises(MPCError, match="keeps no joined table 'job-none'"):
            client.run("linear_regression", {0: "patients", 1: "patients"}, {**params, "joined": "job-none"},
                       parties=[0, 1])
        with pytest.raises(MPCError, match="made from dataset 'patients'"):
            client.run("linear_regression", {0: "patients"}, {**params, "joined": table}, parties=[0, 1])
    assert out.outputs[0] == out.outputs[1] and out.outputs[0]["rows"] == 20
    # reference: the same training on the plaintext join (rows by patient id, all at one party)
    a, b = data[0], data[1]
    common_ids = sorted(common)
    ia = [int(np.flatnonzero(a["pid"] == k)[0]) for k in common_ids]
    ib = [int(np.flatnonzero(b["pid"] == k)[0]) for k in common_ids]
    joined = {"age": a["age"][ia], "cost": a["cost"][ia], "bmi": b["bmi"][ib]}
    ref = run_protocol_local("linear_regression", {0: joined},
                             {**params, "bounds": {"age": [20, 90], "bmi": [15, 40], "cost": [0, 200]}})[0]
    assert np.allclose(out.outputs[0]["weights"], ref["weights"], atol=2e-3)
    assert abs(out.outputs[0]["bias"] - ref["bias"]) < 2e-3
