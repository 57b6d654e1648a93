"""A privacy-budget service on one machine: ledger, signing key, the public-key file nodes pin,
and an `mpc budget serve` process over mutual TLS with the roster's certificates.

Used by `mpc demo`, the integration tests and `write_cluster(..., budget=True)`. The service
runs as its own process; administration (setting budgets, verifying the chain) opens the
ledger file directly, as `mpc budget set` / `mpc budget verify` do.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from mpc.net.tls import BUDGET_SERVICE_NAME
from mpc.node.process import mpc_argv


def _toml_str(v) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class LocalBudget:
    """The files and process of one local budget service."""

    root: Path
    db: Path
    key: Path
    public_key: Path            # the service's Ed25519 public key in hex: what node configs pin
    address: str
    certs: Path | None          # the roster's certificate folder (None: plain text, --insecure)
    process: subprocess.Popen | None = None
    tls_key: Path | None = None  # the service's TLS key if not certs/budget-service.key (e.g. a .mpckey entry)

    def start(self, log_path: Path | None = None) -> None:
        """Start `mpc budget serve` (mutual TLS with budget-service.pem unless `certs` is None)."""
        cmd = [*mpc_argv("budget", "serve"), "--db", str(self.db), "--key", str(self.key),
               "--listen", self.address]
        if self.certs is None:
            cmd.append("--insecure")
        else:
            c = self.certs
            cmd += ["--tls-cert", str(c / f"{BUDGET_SERVICE_NAME}.pem"), "--tls-key",
                    str(self.tls_key or c / f"{BUDGET_SERVICE_NAME}.key"), "--tls-ca", str(c / "ca.pem")]
        log = open(log_path or self.root / "budget.log", "ab")
        self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def client(self, name: str = "analyst", timeout: float = 10.0):
        """A `BudgetClient` with the certificate of client `name` (or plain text)."""
        from dp.budget.client import BudgetClient
        from dp.budget.service import TlsFiles

        if self.certs is None:
            return BudgetClient(self.address, insecure=True, timeout=timeout)
        c = self.certs
        files = TlsFiles(c / f"client-{name}.pem", c / f"client-{name}.key", c / "ca.pem")
        return BudgetClient(self.address, tls=files, server_name=BUDGET_SERVICE_NAME, timeout=timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the service answers (its public key is the one the nodes pin)."""
        from dp.errors import BudgetServiceUnavailable

        deadline = time.monotonic() + timeout
        want = self.public_key.read_text().strip()
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"budget service exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                with self.client(timeout=1.0) as c:
                    got = c.public_key().hex()
                if got != want:
                    raise RuntimeError(f"budget service at {self.address} has key {got}, nodes pin {want}")
                return
            except BudgetServiceUnavailable:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"budget service not ready after {timeout} s:\n{self.log()[-3000:]}") from None
                time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> int | None:
        p, self.process = self.process, None
        if p is None:
            return None
        if p.poll() is None:
            p.terminate()
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def log(self) -> str:
        p = self.root / "budget.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def set_budget(self, scope: str, dataset: str, total: float, delta_total: float = 0.0) -> None:
        from dp.budget.ledger import Ledger

        with Ledger(self.db) as led:
            led.set_budget(scope, dataset, total, delta_total=delta_total)

    def verify(self):
        from dp.budget.ledger import Ledger

        with Ledger(self.db) as led:
            return led.verify()

    def node_toml(self, mode: str = "distributed") -> str:
        return (f"\n[budget]\naddress = {_toml_str(self.address)}\npublic_key = {_toml_str(self.public_key)}\n"
                f"server_name = \"{BUDGET_SERVICE_NAME}\"\nmode = {_toml_str(mode)}\n")

    def client_toml(self, principal: str) -> str:
        return (f"\n[budget]\naddress = {_toml_str(self.address)}\nprincipal = {_toml_str(principal)}\n"
                f"server_name = \"{BUDGET_SERVICE_NAME}\"\n")


def write_budget(root: Path, certs: Path | None, address: str) -> LocalBudget:
    """A new ledger (root/ledger.sqlite), signing key (root/budget.key) and public-key file (root/budget.pub)."""
    from dp.budget import grants
    from dp.budget.ledger import Ledger

    root = Path(root)
    db, key, pub = root / "ledger.sqlite", root / "budget.key", root / "budget.pub"
    Ledger(db, create=True).close()
    pub.write_text(grants.public_bytes(grants.load_or_create_key(key)).hex() + "\n")
    return LocalBudget(root=root, db=db, key=key, public_key=pub, address=address, certs=certs)
