"""Node and client configuration files (TOML, read with `tomllib`), checked when loaded.

A node's file (`mpc node --config party0.toml`)::

    [node]
    id = 0                        # this node's roster id
    listen = "0.0.0.0:50051"      # any address to bind
    role = "party"                # or "dealer" (trusted dealer: an explicit opt-in)
    threshold = 1                 # Shamir threshold t (n >= 2t + 1 for honest-majority protocols)
    triple_source = "dealer"      # where Beaver triples come from: "dealer" or "none"
    timeout_s = 10.0              # how long a job waits for a peer before naming it unreachable
    protocol_modules = []         # extra modules with a PROTOCOLS list (the operator's choice)
    state_dir = "state/party0"    # optional: what the node keeps between jobs (joined tables of PSI)

    [tls]                         # omitted only with `mpc node --insecure`
    ca = "certs/ca.pem"
    certificate = "certs/party-0.pem"
    key = "certs/party-0.key"

    [[roster]]                    # one entry per node, ids 0..m-1; the dealer, if any, is last
    id = 0
    address = "10.0.0.1:50051"
    certificate = "certs/party-0.pem"
    role = "party"

    [[clients]]                   # who may submit jobs (their certificates are pinned)
    name = "analyst"
    certificate = "certs/client-analyst.pem"

    [datasets.patients]           # only this node reads these files
    path = "data/patients.csv"    # CSV with a header row, or NPY (2-D, columns in schema order)
    columns = { age = "float", smoker = "int" }
    allow = ["sum", "mean"]       # protocols that may use this dataset

    [budget]                      # the privacy-budget service (without it: only DP-exempt protocols,
    address = "budget.example:50060"  #  or every protocol unnoised with `mpc node --no-dp`)
    public_key = "keys/budget.pub"    # the service's Ed25519 key, hex (`mpc budget pubkey`)
    server_name = "budget-service"    # TLS name of its certificate (default)
    mode = "distributed"              # or "central" (weaker: the output party sees the raw value)

    [keystore]                    # optional: threshold key shares, co-signing (mpc.node.keys)
    path = "keys/party0"
    passphrase_env = "MPC_KEYSTORE_PASSPHRASE"   # or passphrase_file; never the passphrase itself
    cosign_key = "cosign"         # optional: co-sign every job result with this threshold key

Relative paths are relative to the file. A client's file has `[client]` (name, ca, certificate,
key), `[[nodes]]` (id, address) and, to run DP jobs, `[budget]` (address, principal
"org/project/analyst", server_name).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mpc.errors import ParameterError
from mpc.keystore import is_entry
from mpc.node.keys import KeyStoreConfig, parse_keystore_section

ROLES = ("party", "dealer")
TRIPLE_SOURCES = ("dealer", "none")
COLUMN_TYPES = ("float", "int")


@dataclass(frozen=True)
class TlsPaths:
    ca: Path
    certificate: Path
    key: Path


@dataclass(frozen=True)
class RosterEntry:
    id: int
    address: str
    role: str
    certificate: Path | None


@dataclass(frozen=True)
class ClientEntry:
    name: str
    certificate: Path


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    path: Path
    columns: dict[str, str]
    allow: tuple[str, ...]

    @property
    def format(self) -> str:
        return "npy" if self.path.suffix.lower() == ".npy" else "csv"


BUDGET_MODES = ("distributed", "central")


@dataclass(frozen=True)
class BudgetConfig:
    address: str
    public_key: Path
    server_name: str = "budget-service"
    mode: str = "distributed"


def _budget(raw: dict, base: Path, where: str, *, client: bool = False):
    """The [budget] table of a node's (address, public_key, mode) or a client's file (address, principal)."""
    b = raw["budget"]
    w = f"{where} [budget]"
    if not isinstance(b, dict):
        raise ParameterError(f"{w} must be a table")
    address = _need(b, "address", str, w)
    server_name = b.get("server_name", "budget-service")
    if not isinstance(server_name, str) or not server_name:
        raise ParameterError(f"{w}: server_name must be a non-empty string")
    if client:
        return ClientBudgetConfig(address, _need(b, "principal", str, w), server_name)
    mode = b.get("mode", "distributed")
    if mode not in BUDGET_MODES:
        raise ParameterError(f"{w}: mode must be one of {BUDGET_MODES}, got {mode!r}")
    return BudgetConfig(address, _path(base, _need(b, "public_key", str, w)), server_name, mode)


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    id: int
    listen: str
    role: str
    threshold: int
    triple_source: str
    timeout_s: float
    chunk_bytes: int
    max_message_bytes: int
    tls: TlsPaths | None
    roster: tuple[RosterEntry, ...]
    clients: tuple[ClientEntry, ...] = ()
    datasets: dict[str, DatasetConfig] = field(default_factory=dict)
    budget: BudgetConfig | None = None
    protocol_modules: tuple[str, ...] = ()
    keystore: KeyStoreConfig | None = None
    state_dir: Path | None = None

    @property
    def parties(self) -> tuple[int, ...]:
        """Roster ids of the compute parties (every entry but the dealer)."""
        return tuple(e.id for e in self.roster if e.role == "party")

    @property
    def dealer(self) -> int | None:
        ids = [e.id for e in self.roster if e.role == "dealer"]
        return ids[0] if ids else None

    def entry(self, party: int) -> RosterEntry:
        for e in self.roster:
            if e.id == party:
                return e
        raise ParameterError(f"party {party} is not in the roster of {self.path}")


def _need(table: dict, key: str, kind, where: str):
    if key not in table:
        raise ParameterError(f"{where}: missing '{key}'")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ParameterError(f"{where}: '{key}' must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ParameterError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"config {path} is not valid TOML: {exc}") from None


def load_node_config(path: str | Path, *, insecure: bool = False) -> NodeConfig:
    """Read and check a node's TOML file; `insecure` allows it to have no [tls] table."""
    path = Path(path).resolve()
    raw = _read(path)
    base = path.parent
    where = str(path)
    node = raw.get("node")
    if not isinstance(node, dict):
        raise ParameterError(f"{where}: missing [node] table")
    nid = _need(node, "id", int, f"{where} [node]")
    listen = _need(node, "listen", str, f"{where} [node]")
    role = node.get("role", "party")
    if role not in ROLES:
        raise ParameterError(f"{where} [node]: role must be one of {ROLES}, got {role!r}")
    triple_source = node.get("triple_source", "dealer")
    if triple_source not in TRIPLE_SOURCES:
        raise ParameterError(f"{where} [node]: triple_source must be one of {TRIPLE_SOURCES}, got {triple_source!r}")
    timeout_s = float(node.get("timeout_s", 10.0))
    if not timeout_s > 0:
        raise ParameterError(f"{where} [node]: timeout_s must be positive")
    chunk_bytes = int(node.get("chunk_kb", 1024)) * 1024
    max_message_bytes = int(node.get("max_message_mb", 1024)) << 20
    if not (16 * 1024 <= chunk_bytes <= 64 << 20) or max_message_bytes < chunk_bytes:
        raise ParameterError(f"{where} [node]: chunk_kb must be 16..65536 and max_message_mb at least one chunk")

    roster = []
    for i, e in enumerate(raw.get("roster") or []):
        w = f"{where} [[roster]] #{i + 1}"
        r_role = e.get("role", "party")
        if r_role not in ROLES:
            raise ParameterError(f"{w}: role must be one of {ROLES}, got {r_role!r}")
        cert = e.get("certificate")
        roster.append(RosterEntry(_need(e, "id", int, w), _need(e, "address", str, w), r_role,
                                  _path(base, cert) if cert else None))
    ids = sorted(e.id for e in roster)
    if ids != list(range(len(roster))) or not roster:
        raise ParameterError(f"{where}: roster ids must be 0..m-1 with no gaps, got {ids}")
    dealers = [e.id for e in roster if e.role == "dealer"]
    if len(dealers) > 1 or (dealers and dealers[0] != len(roster) - 1):
        raise ParameterError(f"{where}: at most one dealer, and it must have the last roster id (n after the "
                             f"n compute parties); got dealers {dealers}")
    parties = [e.id for e in roster if e.role == "party"]
    if nid not in ids:
        raise ParameterError(f"{where}: node id {nid} is not in the roster {ids}")
    if next(e for e in roster if e.id == nid).role != role:
        raise ParameterError(f"{where}: [node] role {role!r} differs from the roster's role for id {nid}")
    threshold = int(node.get("threshold", (len(parties) - 1) // 2))
    if not 0 <= threshold < max(1, len(parties)):
        raise ParameterError(f"{where} [node]: threshold {threshold} must be in 0..{len(parties) - 1}")

    tls_raw = raw.get("tls")
    tls_paths = None
    if tls_raw is not None:
        w = f"{where} [tls]"
        tls_paths = TlsPaths(_path(base, _need(tls_raw, "ca", str, w)),
                             _path(base, _need(tls_raw, "certificate", str, w)),
                             _path(base, _need(tls_raw, "key", str, w)))
        missing = [e.id for e in roster if e.certificate is None]
        if missing:
            raise ParameterError(f"{where}: roster entries {missing} have no certificate (needed for mutual TLS)")
    elif not insecure:
        raise ParameterError(f"{where}: no [tls] table; mutual TLS is required (plain text only with --insecure)")

    clients = []
    for i, c in enumerate(raw.get("clients") or []):
        w = f"{where} [[clients]] #{i + 1}"
        clients.append(ClientEntry(_need(c, "name", str, w), _path(base, _need(c, "certificate", str, w))))

    datasets = {}
    for name, d in (raw.get("datasets") or {}).items():
        w = f"{where} [datasets.{name}]"
        cols = _need(d, "columns", dict, w)
        if not cols:
            raise ParameterError(f"{w}: 'columns' is empty")
        bad = {k: v for k, v in cols.items() if v not in COLUMN_TYPES}
        if bad:
            raise ParameterError(f"{w}: column types must be one of {COLUMN_TYPES}, got {bad}")
        allow = d.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise ParameterError(f"{w}: 'allow' must be a list of protocol names")
        datasets[name] = DatasetConfig(name, _path(base, _need(d, "path", str, w)), dict(cols), tuple(allow))

    budget = _budget(raw, base, where) if "budget" in raw else None

    modules = node.get("protocol_modules", [])
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ParameterError(f"{where} [node]: protocol_modules must be a list of module names")
    state_dir = node.get("state_dir")
    if state_dir is not None and (not isinstance(state_dir, str) or not state_dir):
        raise ParameterError(f"{where} [node]: state_dir must be a folder path")

    keystore = parse_keystore_section(raw.get("keystore"), base, where)
    if tls_paths is not None and is_entry(tls_paths.key) and keystore is None:
        raise ParameterError(f"{where} [tls]: key {tls_paths.key} is an encrypted key-store entry; add a [keystore] "
                             "section whose passphrase unlocks it")

    return NodeConfig(state_dir=_path(base, state_dir) if state_dir else None,protocol_modules=tuple(modules), path=path, id=nid, listen=listen, role=role, threshold=threshold,
                      triple_source=triple_source, timeout_s=timeout_s, chunk_bytes=chunk_bytes,
                      max_message_bytes=max_message_bytes, tls=tls_paths, roster=tuple(roster),
                      clients=tuple(clients), datasets=datasets, budget=budget,
                      keystore=keystore)


@dataclass(frozen=True)
class ClientBudgetConfig:
    address: str
    principal: str                 # "org/project/analyst": whose budget the client's grants spend
    server_name: str = "budget-service"


@dataclass(frozen=True)
class ClientConfig:
    path: Path
    name: str
    tls: TlsPaths | None
    nodes: dict[int, str]          # roster id -> address
    budget: ClientBudgetConfig | None = None


def load_client_config(path: str | Path, *, insecure: bool = False) -> ClientConfig:
    """Read and check a client's TOML file ([client] and [[nodes]])."""
    path = Path(path).resolve()
    raw = _read(path)
    base, where = path.parent, str(path)
    c = raw.get("client")
    if not isinstance(c, dict):
        raise ParameterError(f"{where}: missing [client] table")
    tls_paths = None
    if not insecure or "certificate" in c:
        w = f"{where} [client]"
        tls_paths = TlsPaths(_path(base, _need(c, "ca", str, w)), _path(base, _need(c, "certificate", str, w)),
                             _path(base, _need(c, "key", str, w)))
    nodes = {}
    for i, n in enumerate(raw.get("nodes") or []):
        w = f"{where} [[nodes]] #{i + 1}"
        nodes[_need(n, "id", int, w)] = _need(n, "address", str, w)
    if not nodes:
        raise ParameterError(f"{where}: no [[nodes]] listed")
    budget = _budget(raw, base, where, client=True) if "budget" in raw else None
    return ClientConfig(path=path, name=str(c.get("name", "client")), tls=tls_paths, nodes=nodes, budget=budget)
