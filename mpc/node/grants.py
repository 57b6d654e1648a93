"""A node's DP admission: in which mode a job releases its outputs, and the grant it must bring.

Flow (DESIGN.md, "Budget service"): a client asks the coordinator for the job spec hash
(`PrepareJob`), requests one grant per contributing dataset from the budget service for that
hash and the job's (ε, δ) — each grant *reserves* that much on the dataset's budgets, charging
nothing yet — and submits the job with the grants. Each compute party then, in the prepare
step — before the job is started and before its dataset is handed to the protocol —

1. checks the job's `dp_mode` is the one it runs the protocol in (`mode_for`): "exempt" for
   DP-exempt protocols (exact outputs, only on datasets whose policy allows them by name),
   "off" at a node started with `--no-dp`, else the mode of its [budget] section
   ("distributed" by default, "central" only if configured); a node without [budget] refuses
   every protocol that is not exempt, naming what to configure;
2. if it contributes a dataset: verifies its grant (Ed25519 under the service key pinned in
   its config; unexpired; for this job's spec hash; for this party's dataset; covering the
   job's ε and δ), then redeems it at the service (single use: a second redemption is
   refused; this claims the reservation for the job and still charges nothing) — any failure
   refuses the job;
3. builds the job's release object (`mpc.node.release`) that noises every declared output and,
   through `Hold`, *commits* each release's share of (ε, δ) at the service just before that
   output opens, and *releases* the reservation (refunding what was not committed) when the job
   ends, whatever the ending: a job that fails before an output opens costs nothing.

A compute party that contributes no dataset needs no grant: it holds no data to protect, but it
still adds its noise share. Budget datasets are named "party-<id>/<dataset>" (`budget_dataset`),
so that a grant for one hospital's "patients" cannot be spent at another's.

Security: the gate's guarantees are `dp.release`'s (semi-honest, at most t colluders; the
colluders tolerated are max(1, t), because the output party knows its own noise share).
Grants are verified with `dp.budget.grants.verify`; redemption, commits and releases are the
service's atomic ledger writes. The node talks to the service over mutual TLS with its own node
certificate. If the service cannot be reached at a commit, the output is not opened (the job
fails); if it cannot be reached at the end, the reservation expires at the service (its hold
time) and the remainder is refunded then.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from dp.budget.grants import SignedGrant, load_public_key
from dp.errors import DPError, GrantInvalid, GrantMissing
from mpc.errors import ParameterError
from mpc.node.release import NO_DP_NOTE, ExactRelease, GatedRelease

SPEC_MODES = ("distributed", "central", "off", "exempt")
DP_MODES = ("distributed", "central")
MAX_GRANT_JSON = 16 * 1024


def _release_gate():
    """dp.release.ReleaseGate, imported when a node first needs it (it pulls in dp-accounting, which a
    node that runs with --no-dp or without [budget] never uses)."""
    from dp.release import ReleaseGate

    return ReleaseGate


def budget_dataset(party: int, dataset: str) -> str:
    """The name under which the budget service knows dataset `dataset` of party `party`."""
    return f"party-{int(party)}/{dataset}"


def colluders(spec) -> int:
    """Colluding compute parties the distributed noise must survive: max(1, t), at most n - 1."""
    return min(len(spec.parties) - 1, max(1, spec.threshold))


def grants_needed(spec) -> dict[int, str]:
    """Contributing party -> budget dataset name, for a job whose outputs are DP (else empty)."""
    if spec.dp_mode not in DP_MODES:
        return {}
    return {p: budget_dataset(p, ds) for p, ds in sorted(spec.inputs.items())}


class Hold:
    """This node's claim on one grant's reservation for one job: commit before each release, release at the end."""

    def __init__(self, client, grant_id: str, job_hash: bytes, job_id: str, dataset: str, log: logging.Logger):
        self._client = client
        self.grant_id, self.job_hash, self.job_id, self.dataset = grant_id, job_hash, job_id, dataset
        self._log = log

    async def commit(self, epsilon: float, delta: float, output: str) -> None:
        """Charge the reservation up to (ε, δ) in total before `output` opens; refuses (raises) otherwise."""
        try:
            r = await asyncio.to_thread(self._client.commit, self.grant_id, self.job_hash, epsilon, delta,
                                        output=output, job_id=self.job_id)
        except DPError as exc:
            raise type(exc)(f"job {self.job_id}: the budget service did not charge grant {self.grant_id} "
                            f"({self.dataset}) for output {output!r}, so it is not opened: {exc}") from None
        self._log.info("budget committed", extra={"job": self.job_id, "detail": (
            f"grant {self.grant_id} for {self.dataset}: epsilon {r['committed_epsilon']:.6g} charged before output "
            f"{output!r} (ledger row {r['ledger_seq']})")})

    async def settle(self, reason: str) -> None:
        """The job ended: release the reservation, refunding what was not committed (best effort: if
        the service cannot be reached the reservation expires there and is refunded then)."""
        try:
            r = await asyncio.to_thread(self._client.release, self.grant_id, self.job_hash, reason=reason,
                                        job_id=self.job_id)
        except DPError as exc:
            self._log.warning("budget release failed", extra={"job": self.job_id, "detail": (
                f"grant {self.grant_id} for {self.dataset}: {exc}; the service refunds it when it expires")})
            return
        if r["ledger_seq"]:
            self._log.info("budget released", extra={"job": self.job_id, "detail": (
                f"grant {self.grant_id} for {self.dataset}: epsilon {r['refunded_epsilon']:.6g} refunded "
                f"(ledger row {r['ledger_seq']})")})


class Admission:
    """One node's DP policy: its mode per protocol, grant checks and redemption at the service."""

    def __init__(self, config, *, no_dp: bool = False, insecure: bool = False,
                 logger: logging.Logger | None = None):
        self.cfg = config
        self.no_dp = no_dp
        self.insecure = insecure
        self.log = logger or logging.getLogger(f"mpc.node.{config.id}")
        self.public_key = None
        self._client = None
        #: the node's loaded TLS material (`mpc.net.tls.TlsFiles`), set by the node once read
        self.tls_files = None
        budget = config.budget
        if budget is not None and not no_dp and config.role == "party":
            _release_gate()          # load the DP layer now, not during a job's prepare step
            try:
                self.public_key = load_public_key(Path(budget.public_key).read_text())
            except OSError as exc:
                raise ParameterError(f"{config.path} [budget]: cannot read public_key {budget.public_key}: "
                                     f"{exc.strerror}") from None
            except ValueError as exc:
                raise ParameterError(f"{config.path} [budget]: public_key {budget.public_key} is not an Ed25519 "
                                     f"key in hex (write it with `mpc budget pubkey`): {exc}") from None

    def announce(self) -> None:
        """Log, once at start-up, how this node releases outputs (loudly if it does not noise them)."""
        if self.cfg.role != "party":
            return
        if self.no_dp:
            self.log.warning("DP OFF (--no-dp): every output of every job is released EXACTLY, NOT differentially "
                             "private, without budget grants. Use only for local experiments and tests.")
        elif self.cfg.budget is None:
            self.log.warning(f"no [budget] section in {self.cfg.path}: only DP-exempt protocols will run; add "
                             f"[budget] (address, public_key of the privacy-budget service) to run the others")
        else:
            self.log.info("DP on", extra={"detail": f"mode {self.cfg.budget.mode}, budget service "
                                                    f"{self.cfg.budget.address}"})

    def mode_for(self, protocol) -> str:
        """The dp_mode this node runs `protocol` in; refuses non-exempt protocols without [budget]."""
        if protocol.dp_exempt:
            return "exempt"
        if self.no_dp:
            return "off"
        if self.cfg.budget is None:
            raise ParameterError(
                f"party {self.cfg.id}: protocol {protocol.name} releases differentially private outputs, but this "
                f"node has no [budget] section: add [budget] with the address and public_key of the privacy-budget "
                f"service to {self.cfg.path}, or start the node with --no-dp for local experiments (its outputs are "
                f"then NOT differentially private)")
        return self.cfg.budget.mode

    def check(self, spec, protocol) -> None:
        """This node's privacy checks of a job spec (no data, no network)."""
        if self.cfg.role != "party":     # the dealer holds no data and opens no outputs
            return
        want = self.mode_for(protocol)
        if spec.dp_mode != want:
            raise ParameterError(f"job {spec.job_id}: the job releases its outputs as {spec.dp_mode!r}, but party "
                                 f"{self.cfg.id} runs protocol {protocol.name} as {want!r}; the nodes' [budget] "
                                 f"sections or --no-dp flags differ")
        if want not in DP_MODES:
            return
        if not spec.epsilon > 0:
            raise ParameterError(f"job {spec.job_id}: protocol {protocol.name} releases differentially private "
                                 f"outputs: give the job an epsilon > 0 (and a delta) to spend")
        if want == "distributed" and not spec.delta > 0:
            raise ParameterError(f"job {spec.job_id}: distributed noise is Gaussian and needs delta > 0 "
                                 f"(e.g. 1e-6); the job gives delta={spec.delta}")
        if want == "central" and len(spec.output_to) != 1:
            raise ParameterError(f"job {spec.job_id}: central DP needs exactly one output party (it alone sees "
                                 f"the raw value), got {list(spec.output_to)}")

    async def admit(self, spec, protocol, params: dict, job_hash: bytes, grant_json: str = ""):
        """This party's release object for the job; for a DP job it contributes data to, the grant is
        verified and redeemed first. Raises (refusing the job) before any data is touched."""
        me = self.cfg.id
        if grant_json and (self.cfg.role != "party" or me not in grants_needed(spec)):
            raise ParameterError(f"job {spec.job_id}: party {me} was sent a budget grant, but it contributes no "
                                 f"dataset to this DP job; grants go to contributing parties only")
        if self.cfg.role != "party":
            return None
        releases = protocol.releases(params)
        if spec.dp_mode == "exempt":
            return ExactRelease(f"exact output (not DP): {protocol.dp_exempt}", [protocol.name + " result"])
        if spec.dp_mode == "off":
            return ExactRelease(NO_DP_NOTE, [r.name for r in releases])
        if not releases:
            raise ParameterError(f"job {spec.job_id}: protocol {protocol.name} declares no outputs "
                                 f"(Protocol.releases), so the DP gate cannot budget and noise them; it runs only "
                                 f"at nodes started with --no-dp")
        kw = dict(mode=spec.dp_mode, colluders=colluders(spec))
        if me not in spec.inputs:
            return GatedRelease(_release_gate()(spec.epsilon, spec.delta, releases, **kw))
        dataset = budget_dataset(me, spec.inputs[me])
        if not grant_json:
            raise GrantMissing(f"job {spec.job_id}: party {me} contributes dataset {dataset!r} but the job carries "
                               f"no budget grant for it; request one from the budget service for spec hash "
                               f"{job_hash.hex()} (the client does this when its config has [budget])")
        if len(grant_json) > MAX_GRANT_JSON:
            raise GrantInvalid(f"job {spec.job_id}: the grant for party {me} is {len(grant_json)} bytes, more "
                               f"than {MAX_GRANT_JSON}")
        try:
            grant = SignedGrant.from_json(grant_json)
            gate = _release_gate().admit(grant, self.public_key, job_hash=job_hash, dataset=dataset,
                                         epsilon=spec.epsilon, delta=spec.delta, releases=releases, **kw)
            client = self._budget()
            grant_id, seq = await asyncio.to_thread(client.redeem, grant, job_hash, dataset, spec.job_id)
        except DPError as exc:      # same class, with the job and party named
            raise type(exc)(f"job {spec.job_id}: party {me} refuses the grant for {dataset!r}: {exc}") from None
        self.log.info("grant redeemed", extra={"job": spec.job_id, "detail": f"grant {grant_id} for {dataset}, "
                                                                            f"ledger row {seq}"})
        hold = Hold(client, grant_id, job_hash, spec.job_id, dataset, self.log)
        gate.commit = hold.commit
        return GatedRelease(gate, hold)

    def _budget(self):
        if self._client is None:
            from dp.budget.client import BudgetClient
            from dp.budget.service import TlsFiles

            b, t = self.cfg.budget, self.cfg.tls
            tls = None if self.insecure or t is None else (self.tls_files or TlsFiles(t.certificate, t.key, t.ca))
            self._client = BudgetClient(b.address, tls=tls, insecure=tls is None, server_name=b.server_name)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
