"""Separate hosts for real: three nodes in three network namespaces, each with its own IP, joined
by veth pairs to a bridge in a fourth (hub) namespace; a job runs across them over mutual TLS.

Runs only as root with `ip netns` available; skipped with the reason otherwise. Everything it
creates (namespaces, veth pairs, bridge) lives in namespaces it made and deletes afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from netjobs import make_cluster

pytestmark = pytest.mark.integration
SUBNET = "10.231.{}.{}"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _netns_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs the `ip` command (iproute2)"
    probe = f"mpcprobe{os.getpid()}"
    r = _ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return f"`ip netns add` failed: {r.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


@pytest.fixture
def namespaces():
    reason = _netns_available()
    if reason:
        pytest.skip(reason)
    tag = f"{os.getpid() % 100000}"
    hub, names = f"mpch{tag}", [f"mpc{tag}n{i}" for i in range(3)]
    third = os.getpid() % 200 + 20
    ips = [SUBNET.format(third, i + 1) for i in range(3)]
    try:
        _ip("netns", "add", hub)
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")
        for i, ns in enumerate(names):
            _ip("netns", "add", ns)
            _ip("-n", hub, "link", "add", f"h{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("-n", hub, "link", "set", f"h{i}", "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{ips[i]}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
        yield names, ips
    finally:
        for ns in [hub, *names]:
            _ip("netns", "del", ns, check=False)


def _in_ns(ns, *cmd, timeout=60, env=None):
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "mpc", *cmd], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_job_across_three_network_namespaces(namespaces, tmp_path):
    names, ips = namespaces
    cluster, data = make_cluster(tmp_path, parties=3, dealer=False, hosts=ips, ports=[50051] * 3, no_dp=True)
    cluster.wrap = {i: ["ip", "netns", "exec", ns] for i, ns in enumerate(names)}
    cluster.start()
    try:
        deadline = time.monotonic() + 40
        while True:        # `mpc check` from inside namespace 0 until every peer answers
            r = _in_ns(names[0], "check", "--config", str(cluster.node_configs[0]), "--timeout", "2")
            if r.returncode == 0:
                break
            assert time.monotonic() < deadline, r.stdout + r.stderr + cluster.log(1)
            time.sleep(0.5)
        assert f"{ips[1]}:50051" in r.stdout and f"{ips[2]}:50051" in r.stdout
        r = _in_ns(names[2], "run", "net_sum", "--config", str(cluster.client_config), "--input", "0=patients",
                   "--input", "1=patients", "--input", "2=patients", "--params", '{"column": "age"}', "--json",
                   env=cluster.env)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["result"] == pytest.approx(sum(d["age"].sum() for d in data.values()), abs=1e-3)
        assert all(out["report"][str(i)]["state"] == "done" for i in range(3))
    finally:
        cluster.stop()
