"""A whole roster on one machine: certificates, node configs, a client config, node processes.

Used by `mpc demo`, the integration tests and `bench.net`. Each node is a real `mpc node`
process; nodes bind the addresses given (loopback by default, any address for netns tests).
With `budget=True` the roster gets a privacy-budget service process too (`mpc.node.localbudget`),
named in every node's and the client's [budget]; with `no_dp=True` the nodes run with `--no-dp`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mpc.net.tls import init_certs
from mpc.node.process import mpc_argv


def free_ports(k: int, host: str = "127.0.0.1") -> list[int]:
    """`k` distinct TCP ports that were free a moment ago."""
    socks, ports = [], []
    for _ in range(k):
        s = socket.socket()
        s.bind((host, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _toml_str(v) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Cluster:
    """The files of a local roster: one config per node, one client config."""

    root: Path
    node_configs: list[Path]
    client_config: Path
    addresses: list[str]
    dealer: int | None
    processes: dict[int, subprocess.Popen] = field(default_factory=dict)
    insecure: bool = False
    env: dict | None = None
    wrap: dict = field(default_factory=dict)     # node id -> command prefix (e.g. ip netns exec NS)
    no_dp: bool = False                          # start nodes with --no-dp (exact outputs, NOT DP)
    budget: Any = None                           # mpc.node.localbudget.LocalBudget, if the roster has one

    def start(self, ids=None, log_dir: Path | None = None) -> None:
        """Start `mpc node` processes (all by default); logs go to `log_dir`/node<i>.log."""
        log_dir = Path(log_dir or self.root)
        if self.budget is not None and self.budget.process is None and ids is None:
            self.budget.start(log_dir / "budget.log")
        for i in (range(len(self.node_configs)) if ids is None else ids):
            cmd = [*self.wrap.get(i, []), *mpc_argv("node", "--config", str(self.node_configs[i]))]
            if self.insecure:
                cmd.append("--insecure")
            if self.no_dp:
                cmd.append("--no-dp")
            log = open(log_dir / f"node{i}.log", "ab")
            self.processes[i] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                 env={**os.environ, **(self.env or {})})
            log.close()

    def stop(self, ids=None, sig=signal.SIGTERM, timeout: float = 10.0) -> dict[int, int]:
        """Signal node processes and wait for them; returns their exit codes."""
        ids = list(self.processes) if ids is None else list(ids)
        for i in ids:
            p = self.processes.get(i)
            if p is not None and p.poll() is None:
                p.send_signal(sig)
        codes = {}
        for i in ids:
            p = self.processes.pop(i, None)
            if p is None:
                continue
            try:
                codes[i] = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[i] = p.wait()
        if self.budget is not None and not self.processes:
            self.budget.stop()
        return codes

    def kill(self, i: int) -> None:
        """SIGKILL node `i` (a crash, no goodbye)."""
        self.stop([i], sig=signal.SIGKILL)

    def log(self, i: int) -> str:
        p = self.root / f"node{i}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def wait_ready(self, timeout: float = 30.0, ids=None) -> None:
        """Wait until every node (or `ids`) answers the health check."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from mpc.net import tls

        if self.budget is not None and self.budget.process is not None:
            self.budget.wait_ready(timeout)
        ids = range(len(self.node_configs)) if ids is None else ids
        files = None
        if not self.insecure:
            c = self.root / "certs"
            files = tls.TlsFiles.load(c / "ca.pem", c / "client-analyst.pem", c / "client-analyst.key")
        deadline = time.monotonic() + timeout
        for i in ids:
            while True:
                p = self.processes.get(i)
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"node {i} exited with {p.returncode}:\n{self.log(i)[-3000:]}")
                if files is None:
                    ch = grpc.insecure_channel(self.addresses[i])
                else:
                    ch = grpc.secure_channel(self.addresses[i], tls.channel_credentials(files),
                                             options=[("grpc.ssl_target_name_override", tls.party_name(i))])
                try:
                    r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if r.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                finally:
                    ch.close()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"node {i} not ready after {timeout} s:\n{self.log(i)[-3000:]}")
                time.sleep(0.1)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def write_cluster(root: Path, parties: int, *, dealer: bool = True, datasets: dict | None = None,
                  hosts: list[str] | None = None, listen_hosts: list[str] | None = None,
                  ports: list[int] | None = None, timeout_s: float = 10.0, insecure: bool = False,
                  threshold: int | None = None, extra_node: str = "", no_dp: bool = False, budget: bool = False,
                  budget_mode: str = "distributed", principal: str = "local/analyst") -> Cluster:
    """Write certificates (root/certs) and configs for `parties` nodes (+ a dealer node).

    `datasets[i]` = {name: {"path": ..., "columns": {...}, "allow": [...]}} for party i.
    `hosts[i]` is the address others dial, `listen_hosts[i]` the one node i binds.
    `budget`: also a budget service on 127.0.0.1 (ledger and key under root/budget), in every
    config's [budget] (nodes in `budget_mode`; the client spends as `principal`).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    m = parties + (1 if dealer else 0)
    hosts = hosts or ["127.0.0.1"] * m
    listen_hosts = listen_hosts or hosts
    ports = ports or free_ports(m)
    certs = root / "certs"
    if not insecure:
        init_certs(certs, parties, dealer=dealer, budget=budget)
    local_budget = None
    if budget:
        from mpc.node.localbudget import write_budget

        (root / "budget").mkdir(exist_ok=True)
        local_budget = write_budget(root / "budget", None if insecure else certs, f"127.0.0.1:{free_ports(1)[0]}")
    addresses = [f"{hosts[i]}:{ports[i]}" for i in range(m)]
    roster = ""
    for i in range(m):
        role = "dealer" if dealer and i == parties else "party"
        roster += f"\n[[roster]]\nid = {i}\naddress = {_toml_str(addresses[i])}\nrole = \"{role}\"\n"
        if not insecure:
            roster += f"certificate = {_toml_str(certs / f'party-{i}.pem')}\n"
    t = (parties - 1) // 2 if threshold is None else threshold
    configs = []
    for i in range(m):
        role = "dealer" if dealer and i == parties else "party"
        text = (f"[node]\nid = {i}\nlisten = {_toml_str(f'{listen_hosts[i]}:{ports[i]}')}\nrole = \"{role}\"\n"
                f"threshold = {t}\ntriple_source = \"{'dealer' if dealer else 'none'}\"\ntimeout_s = {timeout_s}\n"
                f"state_dir = {_toml_str(root / f'state-party{i}')}\n{extra_node}\n")
        if not insecure:
            text += (f"\n[tls]\nca = {_toml_str(certs / 'ca.pem')}\ncertificate = {_toml_str(certs / f'party-{i}.pem')}\n"
                     f"key = {_toml_str(certs / f'party-{i}.key')}\n")
            text += f"\n[[clients]]\nname = \"analyst\"\ncertificate = {_toml_str(certs / 'client-analyst.pem')}\n"
        text += roster
        for name, d in ((datasets or {}).get(i) or {}).items():
            cols = ", ".join(f"{_toml_str(c)} = \"{k}\"" for c, k in d["columns"].items())
            allow = ", ".join(_toml_str(a) for a in d.get("allow", []))
            text += f"\n[datasets.{name}]\npath = {_toml_str(d['path'])}\ncolumns = {{ {cols} }}\nallow = [{allow}]\n"
        if local_budget is not None:
            text += local_budget.node_toml(budget_mode)
        path = root / f"party{i}.toml"
        path.write_text(text)
        configs.append(path)
    client = "[client]\nname = \"analyst\"\n"
    if not insecure:
        client += (f"ca = {_toml_str(certs / 'ca.pem')}\ncertificate = {_toml_str(certs / 'client-analyst.pem')}\n"
                   f"key = {_toml_str(certs / 'client-analyst.key')}\n")
    for i in range(m):
        client += f"\n[[nodes]]\nid = {i}\naddress = {_toml_str(addresses[i])}\n"
    if local_budget is not None:
        client += local_budget.client_toml(principal)
    (root / "client.toml").write_text(client)
    return Cluster(root=root, node_configs=configs, client_config=root / "client.toml", addresses=addresses,
                   dealer=parties if dealer else None, insecure=insecure, no_dp=no_dp, budget=local_budget)
