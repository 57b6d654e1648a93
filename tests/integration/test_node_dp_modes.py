"""How nodes release outputs when DP is not the default distributed mode: no [budget] section
(only DP-exempt protocols run), `--no-dp` (exact outputs, labelled NOT differentially private),
central mode (labelled weaker), and nodes that disagree on the mode."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mpc.client import Client
from mpc.errors import ProtocolAbort
from mpc.node.release import describe
from netjobs import make_cluster

pytestmark = pytest.mark.integration

PAIR = {0: "patients", 1: "patients"}
SUM = {"column": "age", "lower": 0, "upper": 100}


def _wait_log(cluster, i, text, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while text not in cluster.log(i) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text in cluster.log(i)


def test_without_budget_only_exempt_protocols_run_and_no_dp_labels_every_output(tmp_path):
    cluster, data = make_cluster(tmp_path, parties=2, dealer=False)
    cluster.no_dp = True
    cluster.start([0])                     # node 0: --no-dp; node 1: no [budget], no flag
    cluster.no_dp = False
    cluster.start([1])
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config) as client:
            # node 1 refuses every protocol that is not DP-exempt, naming what to configure
            for coordinator in (0, 1):
                with pytest.raises(ProtocolAbort, match=r"party 1: protocol sum .* no \[budget\] section.*--no-dp"):
                    client.run("sum", PAIR, SUM, epsilon=1.0, delta=1e-5, node=coordinator)
            # a DP-exempt protocol runs at both, its output reported as exact and why
            out = client.run("psi", PAIR, {"key": "pid"}, parties=[0, 1], node=1)
            assert out.result["size"] == 20
            assert out.privacy == [{"output": "psi result", "dp": False, "note": "exact output (not DP): exact set "
                                    "membership is the purpose of PSI; allowed per dataset by node policy"}]
            assert "no [budget] section" in cluster.log(1) and "DP OFF" in cluster.log(0)

            cluster.stop([1])              # node 1 with --no-dp too: exact outputs, every one labelled
            cluster.no_dp = True
            cluster.start([1])
            cluster.wait_ready()
            out = client.run("mean", PAIR, SUM)
            ages = np.concatenate([data[0]["age"], data[1]["age"]])
            assert out.result["mean"] == pytest.approx(ages.mean(), abs=1e-3)
            assert [e["output"] for e in out.privacy] == ["sum", "count"]
            assert all(not e["dp"] and "NOT differentially private" in e["note"] for e in out.privacy)
            assert _wait_log(cluster, 1, "DP OFF (--no-dp)")
        r = subprocess.run([sys.executable, "-m", "mpc", "run", "count", "--config", str(cluster.client_config),
                            "--input", "0=patients"], capture_output=True, text=True, timeout=60, env=None)
        assert r.returncode == 0, r.stderr
        assert "count: NOT differentially private" in r.stdout
    finally:
        cluster.stop()


def test_central_mode_is_labelled_weaker_and_modes_must_agree(tmp_path):
    cluster, data = make_cluster(tmp_path, parties=2, dealer=False, budget=True, budget_mode="central")
    for i in range(2):
        cluster.budget.set_budget("local", f"party-{i}/patients", 10.0, delta_total=1e-3)
    cluster.start()
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config) as client:
            out = client.run("sum", PAIR, SUM, epsilon=1.0, delta=1e-5, output_to=[0])
            (e,) = out.privacy
            assert e["dp"] and e["mechanism"] == "discrete_gaussian" and "central" in e["mode"]
            assert "WEAKER" in describe(e) and "colluders_tolerated" not in e
            true = float(np.clip(np.concatenate([data[0]["age"], data[1]["age"]]), 0, 100).sum())
            assert abs(out.result["sum"] - true) <= 6 * e["noise_scale"] and out.result["sum"] != true
            with pytest.raises(ProtocolAbort, match="exactly one output party"):
                client.run("sum", PAIR, SUM, epsilon=1.0, delta=1e-5)
            cluster.stop([0])              # node 0 now runs with --no-dp: the modes differ
            cluster.no_dp = True
            cluster.start([0])
            cluster.wait_ready(ids=[0, 1])
            with pytest.raises(ProtocolAbort, match=r"party 1 refused it: .*releases its outputs as 'off'.*'central'"):
                client.run("sum", PAIR, SUM, epsilon=1.0, delta=1e-5, output_to=[0])
    finally:
        cluster.stop()
    assert cluster.budget.verify().ok
