"""Jobs as the nodes see them: the spec every party must agree on, its hash, and job records.

The job spec hash is SHA-256 of a canonical encoding (JSON, sorted keys, no spaces) of the
protocol name and version, the checked parameters, the contributors (party -> dataset), the
compute parties, the output parties, the dealer, the threshold, the DP mode, ε and δ, and the
roster (id, role and certificate pin of every entry). Every party computes it from its *own*
configuration and checks, before step one, that all parties got the same value.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mpc.errors import ParameterError
from mpc.net.framing import valid_job_id

STATES = ("preparing", "running", "done", "failed", "cancelled")
FINAL = ("done", "failed", "cancelled")
MAX_SPEC_BYTES = 1 << 20


@dataclass(frozen=True)
class JobSpec:
    """What a job is: the same at every party (checked through the spec hash)."""

    job_id: str
    protocol: str
    version: int
    params: dict
    inputs: dict[int, str]          # contributing party -> dataset name at that party
    parties: tuple[int, ...]        # compute parties
    output_to: tuple[int, ...]
    dealer: int | None
    threshold: int
    timeout_s: float
    coordinator: int
    dp_mode: str = "off"            # how outputs are released (mpc.node.grants.SPEC_MODES)
    epsilon: float = 0.0            # the privacy loss the job spends on each contributing dataset
    delta: float = 0.0

    @property
    def participants(self) -> tuple[int, ...]:
        """Every endpoint that runs the job: the compute parties, then the dealer if used."""
        return self.parties + ((self.dealer,) if self.dealer is not None else ())

    @property
    def contributors(self) -> tuple[int, ...]:
        return tuple(sorted(self.inputs))

    def to_json(self) -> str:
        d = asdict(self)
        d["inputs"] = {str(k): v for k, v in sorted(self.inputs.items())}
        return canonical_json(d)

    @classmethod
    def from_json(cls, text: str) -> "JobSpec":
        """Parse a spec received from a peer (untrusted: every field is checked)."""
        if len(text) > MAX_SPEC_BYTES:
            raise ParameterError(f"job spec of {len(text)} bytes exceeds {MAX_SPEC_BYTES}")
        try:
            d = json.loads(text)
            spec = cls(
                job_id=str(d["job_id"]), protocol=str(d["protocol"]), version=int(d["version"]),
                params=dict(d["params"]), inputs={int(k): str(v) for k, v in dict(d["inputs"]).items()},
                parties=tuple(int(p) for p in d["parties"]), output_to=tuple(int(p) for p in d["output_to"]),
                dealer=None if d["dealer"] is None else int(d["dealer"]), threshold=int(d["threshold"]),
                timeout_s=float(d["timeout_s"]), coordinator=int(d["coordinator"]),
                dp_mode=str(d.get("dp_mode", "off")), epsilon=float(d.get("epsilon", 0.0)),
                delta=float(d.get("delta", 0.0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParameterError(f"malformed job spec: {exc!r}") from None
        spec.check_shape()
        return spec

    def check_shape(self) -> None:
        """Checks that need no configuration: ids well formed, parties distinct, outputs among them."""
        if not valid_job_id(self.job_id):
            raise ParameterError(f"job id {self.job_id[:40]!r} must be 1-128 of [A-Za-z0-9._-]")
        if len(set(self.parties)) != len(self.parties) or not self.parties:
            raise ParameterError(f"job {self.job_id}: parties {self.parties} must be distinct and non-empty")
        if not set(self.inputs) <= set(self.parties):
            raise ParameterError(f"job {self.job_id}: contributors {sorted(self.inputs)} must be compute "
                                 f"parties {self.parties}")
        if not self.output_to or not set(self.output_to) <= set(self.parties):
            raise ParameterError(f"job {self.job_id}: output parties {self.output_to} must be compute parties "
                                 f"{self.parties}")
        if not 0 < self.timeout_s <= 3600:
            raise ParameterError(f"job {self.job_id}: timeout_s {self.timeout_s} must be in (0, 3600]")
        if not (0 <= self.epsilon <= 1e6 and 0 <= self.delta < 1):     # also refuses NaN
            raise ParameterError(f"job {self.job_id}: epsilon {self.epsilon} must be in [0, 1e6] and delta "
                                 f"{self.delta} in [0, 1)")


def canonical_json(obj) -> str:
    """Deterministic JSON (sorted keys, no spaces); refuses values JSON cannot carry exactly."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def spec_hash(spec: JobSpec, roster: list[tuple[int, str, str]]) -> bytes:
    """SHA-256 of the canonical encoding of the spec and the roster [(id, role, pin hex)]."""
    d = json.loads(spec.to_json())
    d.pop("coordinator")      # who relayed the job does not change what it computes
    d.pop("timeout_s")
    d["roster"] = [list(e) for e in sorted(roster)]
    return hashlib.sha256(canonical_json(d).encode()).digest()


# ------------------------------------------------------------------ results on the wire

def encode_result(value) -> str:
    """JSON for a protocol's result: numpy arrays and scalars become tagged lists and numbers."""
    return json.dumps(plain(value), allow_nan=False)


def plain(v):
    """`v` with numpy arrays and scalars turned into JSON-ready values."""
    if isinstance(v, np.ndarray):
        return {"__ndarray__": v.tolist(), "dtype": v.dtype.str, "shape": list(v.shape)}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def error_fields(exc: BaseException) -> dict:
    """The (error_party, error_kind) a failure reports: which party it names, and what kind it is."""
    from mpc.errors import PartyUnreachable, ProtocolAbort

    party = getattr(exc, "party", None)
    kind = ("unreachable" if isinstance(exc, PartyUnreachable) else
            "abort" if isinstance(exc, ProtocolAbort) else "error")
    return {"error_party": -1 if party is None else int(party), "error_kind": kind}


def decode_result(text: str):
    """The inverse of `encode_result` (arrays come back as numpy arrays)."""
    if not text:
        return None
    return _unplain(json.loads(text))


def _unplain(v):
    if isinstance(v, dict):
        if "__ndarray__" in v:
            return np.array(v["__ndarray__"], dtype=np.dtype(v["dtype"])).reshape(v["shape"])
        return {k: _unplain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unplain(x) for x in v]
    return v


# ------------------------------------------------------------------ records

@dataclass
class JobRecord:
    """One job at one node: its state, progress, result and counters; watchers get every change."""

    spec: JobSpec
    hash: bytes
    state: str = "preparing"
    fraction: float = 0.0
    message: str = ""
    error: str = ""
    error_party: int = -1
    error_kind: str = ""
    result_json: str = ""
    cosignature_json: str = ""      # this node's co-signature record of the result (mpc.node.keys)
    stats: dict = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    task: asyncio.Task | None = None
    watchers: list = field(default_factory=list)
    release: Any = None             # how this node releases the job's outputs (mpc.node.release)
    on_final: list = field(default_factory=list)   # callbacks(record), run once when the state becomes final

    @property
    def job_id(self) -> str:
        return self.spec.job_id

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def event(self) -> dict:
        return {"job_id": self.job_id, "state": self.state, "fraction": self.fraction,
                "message": self.message, "error": self.error, "error_party": self.error_party,
                "error_kind": self.error_kind}

    def update(self, *, state: str | None = None, fraction: float | None = None, message: str | None = None,
               error: str | None = None, error_party: int | None = None, error_kind: str | None = None) -> None:
        if self.final:
            return
        if error_party is not None:
            self.error_party = error_party
        if error_kind is not None:
            self.error_kind = error_kind
        if state is not None:
            self.state = state
        if fraction is not None:
            self.fraction = max(self.fraction, min(1.0, float(fraction)))
        if message is not None:
            self.message = message
        if error is not None:
            self.error = error
        if self.final:
            self.seconds = time.monotonic() - self.started
            for callback in self.on_final:
                callback(self)
        ev = self.event()
        for q in self.watchers:
            q.put_nowait(ev)

    def progress(self, fraction: float, message: str = "") -> None:
        """The `JobContext.progress` callback."""
        self.update(fraction=fraction, message=message)
