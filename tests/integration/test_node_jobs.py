"""Jobs across real node processes over gRPC with mutual TLS on loopback (3 parties + dealer)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from mpc.client import Client
from mpc.errors import ProtocolAbort
from netjobs import make_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    cluster, data = make_cluster(tmp_path_factory.mktemp("jobs"), no_dp=True)
    cluster.start()
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config) as client:
            yield cluster, data, client
    finally:
        cluster.stop()


ALL = {0: "patients", 1: "patients", 2: "patients"}


def test_sum_matches_plaintext_and_reports_every_party(net):
    cluster, data, client = net
    out = client.run("net_sum", ALL, {"column": "age"})
    assert out.result == pytest.approx(sum(d["age"].sum() for d in data.values()), abs=1e-3)
    assert set(out.outputs) == {0, 1, 2} and len(set(out.outputs.values())) == 1
    assert sorted(out.report) == [0, 1, 2]        # no dealer: net_sum needs no triples
    for party in (0, 1, 2):
        r = out.report[party]
        assert r["state"] == "done" and r["bytes_sent"] > 0 and r["bytes_received"] > 0 and r["rounds"] >= 1
    result, report = out              # the documented unpacking
    assert result == out.result and report is out.report


def test_dot_product_with_dealer_matches_plaintext(net):
    cluster, data, client = net
    out = client.run("net_dot", {0: "patients", 1: "patients"}, {"column": "bmi"}, output_to=[1])
    assert out.result == pytest.approx(float(data[0]["bmi"] @ data[1]["bmi"]), rel=1e-4)
    assert list(out.outputs) == [1]          # only the output party holds the result
    assert out.report[3]["state"] == "done" and out.report[3]["bytes_sent"] > 0   # the dealer served


def test_subset_of_parties_and_other_coordinator(net):
    cluster, data, client = net
    out = client.run("net_sum", {1: "patients", 2: "patients"}, {"column": "bmi"}, parties=[1, 2], node=2)
    assert out.result == pytest.approx(data[1]["bmi"].sum() + data[2]["bmi"].sum(), abs=1e-2)
    assert 0 not in out.report or out.report[0]["state"] != "done"


def test_progress_stream_reaches_done(net):
    cluster, data, client = net
    events = []
    out = client.run("net_slow", {0: "patients"}, {"column": "age", "rounds": 5}, progress=events.append)
    assert out.result == 5.0
    fractions = [e["fraction"] for e in events]
    assert events[-1]["state"] == "done" and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 1 for f in fractions)


def test_unknown_protocol_and_disallowed_dataset_are_refused(net):
    cluster, data, client = net
    with pytest.raises(ProtocolAbort, match="unknown protocol 'nope'"):
        client.run("nope", ALL, {})
    with pytest.raises(ProtocolAbort, match="has no dataset 'secret'"):
        client.run("net_sum", {0: "patients", 1: "secret"}, {"column": "age"})
    with pytest.raises(ProtocolAbort, match="params.column"):
        client.run("net_sum", ALL, {"column": 3})
    # the nodes keep serving
    assert client.run("net_sum", ALL, {"column": "age"}).result > 0


def test_spec_hash_mismatch_aborts_before_step_one(tmp_path):
    cluster, data = make_cluster(tmp_path, parties=2, dealer=False, no_dp=True)
    cluster.start([0])
    cluster.env = {**cluster.env, "NETJOBS_SCALE": "2"}     # node 1 runs different protocol code
    cluster.start([1])
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config) as client:
            with pytest.raises(ProtocolAbort, match="job spec hash .* differs"):
                client.run("net_env", {0: "patients"}, {"column": "age"})
            deadline = time.monotonic() + 10       # node 1 may log its abort a moment after node 0 reports
            while not all("differs" in cluster.log(p) for p in (0, 1)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all("differs" in cluster.log(p) for p in (0, 1))   # both nodes refused, both logged it
            # the same nodes still run jobs that do agree
            assert client.run("net_sum", {0: "patients"}, {"column": "age"}).result == pytest.approx(
                data[0]["age"].sum(), abs=1e-3)
    finally:
        cluster.stop()


def test_cancel_job(net):
    cluster, data, client = net
    job = client.submit("net_slow", {0: "patients"}, {"column": "age", "rounds": 200})
    state = client.cancel(job)
    assert state == "cancelled"
    last = client.watch(job)
    assert last["state"] == "cancelled"
    assert client.run("net_sum", ALL, {"column": "age"}).result > 0


def test_list_protocols_and_datasets(net):
    cluster, data, client = net
    names = {p["name"] for p in client.protocols()}
    assert {"net_sum", "net_dot", "net_slow"} <= names
    ds = client.datasets(node=1)
    assert ds == [{"name": "patients", "rows": 40, "columns": ["age", "bmi", "smoker", "sick", "cost", "pid"],
                   "allow": ds[0]["allow"]}]
    assert client.datasets(node=3) == []       # the dealer holds no data


def test_cli_run_and_check(net):
    cluster, data, client = net
    r = subprocess.run([sys.executable, "-m", "mpc", "run", "net_sum", "--config", str(cluster.client_config),
                        "--input", "0=patients", "--input", "2=patients", "--params", '{"column": "age"}',
                        "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["result"] == pytest.approx(data[0]["age"].sum() + data[2]["age"].sum(), abs=1e-3)
    assert "100.0%" in r.stderr          # the progress bar reached the end
    r = subprocess.run([sys.executable, "-m", "mpc", "check", "--config", str(cluster.node_configs[0])],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all 3 peers reachable and identified" in r.stdout
