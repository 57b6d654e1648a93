"""Client library: submit jobs to party nodes, follow their progress, collect results and reports.

    from mpc.client import Client
    with Client.from_config("client.toml") as client:
        out = client.run("mean", inputs={0: "patients", 1: "patients"},
                         params={"column": "age", "lower": 0, "upper": 120}, epsilon=1.0, delta=1e-6)
        print(out.result, out.privacy)

`AsyncClient` is the same API for asyncio code. A job's report gives, per party, the bytes
sent and received, the communication rounds and the seconds the job took there; `privacy`
lists one entry per output (see `JobOutcome.privacy` for the keys).

Differentially private jobs spend budget: `run`/`submit` ask the coordinator for the job spec
hash and the contributing datasets (`prepare`), request one grant per dataset for (ε, δ) from
the budget service named in the client config's [budget] (over mutual TLS with the client's
certificate, as its principal; the service knows a node's dataset as "party-<id>/<dataset>"),
and submit the job with the grants. A grant only *reserves* (ε, δ): each node charges it just
before an output opens, and releases what is left when the job ends. If the job cannot be
submitted (one dataset's grant refused while others were reserved, a node refuses the job, a
node is down) or fails, the client releases the reservations it requested itself, so a job
that opens no output spends nothing. Failures raise the engine's errors:
`PartyUnreachable(party)` when a node is down or vanishes, `ProtocolAbort` when a node refuses
or aborts the job (the message says which and why); the budget service's refusals raise
`dp.errors` (e.g. `BudgetExceeded`).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import grpc

from mpc.errors import ParameterError, PartyUnreachable, ProtocolAbort
from mpc.keystore import env_passphrase
from mpc.net import tls
from mpc.node.config import ClientConfig, load_client_config
from mpc.node.jobs import decode_result
from mpc.v1 import control_pb2 as cpb
from mpc.v1 import control_pb2_grpc

ProgressFn = Callable[[dict], None]


@dataclass
class JobOutcome:
    """A finished job: `result` (the first output party's value), every output party's value, the report."""

    job_id: str
    result: Any
    outputs: dict[int, Any]
    report: dict[int, dict]
    spec_hash: str = ""
    events: list = field(default_factory=list)
    #: per output: {output, epsilon, delta, mechanism, noise_scale, colluders_tolerated, mode, dp: True} and
    #: the expected error: `noise_std` (standard deviation of the noise in the released value, output
    #: units, per coordinate), `scale` (the value's scale: the protocol's public bound, or the largest
    #: |released value|), `scale_source` ("public bound ..." or "released value") and `relative_noise`
    #: (noise_std / scale; above 1 the noise exceeds the value's scale: `mpc run` warns);
    #: values derived from several outputs (a mean from sum and count) add {output, derived_from,
    #: noise_std, scale, scale_source, relative_noise, dp: True};
    #: {output, dp: False, note} for exact outputs (DP-exempt protocols, nodes run with --no-dp)
    privacy: list = field(default_factory=list)
    #: the checked co-signature of the results (None: the nodes do not co-sign); see mpc.node.keys
    cosignature: dict | None = None

    def __iter__(self) -> Iterator:
        """`result, report = client.run(...)`."""
        return iter((self.result, self.report))


@dataclass(frozen=True)
class JobPlan:
    """What a submission needs (from `prepare`): the job id and spec hash the grants must name, and
    the grants: contributing party -> dataset name at the budget service (empty: none needed)."""

    job_id: str
    spec_hash: str
    protocol: str
    dp_mode: str
    epsilon: float
    delta: float
    grants: dict[int, str]
    dp_exempt: str = ""
    releases: tuple[str, ...] = ()


def _error_from(state: str, error: str, party: int, kind: str, job_id: str) -> Exception:
    if kind == "unreachable" and party >= 0:
        return PartyUnreachable(party, f"job {job_id} failed: {error}", job=job_id)
    return ProtocolAbort(f"job {job_id} {state}: {error}", party=party if party >= 0 else None, job=job_id)


def _rpc_error(exc: grpc.RpcError, node: int) -> Exception:
    detail = exc.details() or ""
    m = re.match(r"party=(\d+): (.*)", detail, re.S)
    party, text = (int(m.group(1)), m.group(2)) if m else (None, detail)
    if exc.code() == grpc.StatusCode.UNAVAILABLE:
        who = party if party is not None else node
        return PartyUnreachable(who, text if party is not None else f"node {node} is unreachable: {detail}")
    if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return PartyUnreachable(node, f"node {node} did not answer in time: {detail}")
    return ProtocolAbort(f"node {node}: {exc.code().name}: {text}", party=party)


class AsyncClient:
    """Talks to the nodes of one roster over mutual TLS (or plain text with `insecure=True`)."""

    def __init__(self, config: ClientConfig, *, insecure: bool = False):
        self.config = config
        self.insecure = insecure
        self._files = None if config.tls is None or insecure else tls.TlsFiles.load(
            config.tls.ca, config.tls.certificate, config.tls.key,
            passphrase=lambda: env_passphrase(f"{config.path}: the client key {config.tls.key}"))
        if self._files is None and not insecure:
            raise ParameterError(f"{config.path}: TLS files are required (plain text only with insecure=True)")
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._budget = None

    @classmethod
    def from_config(cls, path: str | Path, *, insecure: bool = False) -> "AsyncClient":
        return cls(load_client_config(path, insecure=insecure), insecure=insecure)

    def _stub(self, node: int) -> control_pb2_grpc.ControlStub:
        if node not in self.config.nodes:
            raise ParameterError(f"node {node} is not listed in {self.config.path}")
        ch = self._channels.get(node)
        if ch is None:
            addr = self.config.nodes[node]
            opts = [("grpc.max_receive_message_length", 64 << 20)]
            if self._files is None:
                ch = grpc.aio.insecure_channel(addr, options=opts)
            else:
                opts.append(("grpc.ssl_target_name_override", tls.party_name(node)))
                ch = grpc.aio.secure_channel(addr, tls.channel_credentials(self._files), options=opts)
            self._channels[node] = ch
        return control_pb2_grpc.ControlStub(ch)

    @property
    def default_node(self) -> int:
        return min(self.config.nodes)

    @staticmethod
    def _request(protocol, inputs, params, *, output_to, parties, timeout_s, job_id, epsilon, delta,
                 grants=None) -> cpb.SubmitJobRequest:
        return cpb.SubmitJobRequest(protocol=protocol, params_json=json.dumps(dict(params or {})),
                                    inputs={int(k): str(v) for k, v in inputs.items()},
                                    output_to=list(output_to or []), parties=list(parties or []),
                                    timeout_s=float(timeout_s), job_id=job_id, epsilon=float(epsilon or 0.0),
                                    delta=float(delta or 0.0),
                                    grants_json={int(p): g.to_json() for p, g in (grants or {}).items()})

    async def prepare(self, protocol: str, inputs: Mapping[int, str], params: Mapping | None = None, *,
                      epsilon: float = 0.0, delta: float = 0.0, output_to=None, parties=None,
                      timeout_s: float = 0.0, job_id: str = "", node: int | None = None) -> JobPlan:
        """The job id, spec hash and grants a submission needs (the coordinator checks the job; nothing runs)."""
        node = self.default_node if node is None else node
        req = self._request(protocol, inputs, params, output_to=output_to, parties=parties, timeout_s=timeout_s,
                            job_id=job_id, epsilon=epsilon, delta=delta)
        try:
            r = await self._stub(node).PrepareJob(req, timeout=30.0)
        except grpc.RpcError as exc:
            raise _rpc_error(exc, node) from None
        return JobPlan(job_id=r.job_id, spec_hash=r.spec_hash_hex, protocol=r.protocol, dp_mode=r.dp_mode,
                       epsilon=r.epsilon, delta=r.delta, grants={g.party: g.dataset for g in r.grants},
                       dp_exempt=r.dp_exempt, releases=tuple(r.releases))

    def _budget_client(self):
        if self._budget is None:
            from dp.budget.client import BudgetClient

            b = self.config.budget
            if b is None:
                raise ParameterError(f"this job releases differentially private outputs and needs budget grants, "
                                     f"but {self.config.path} has no [budget] section (address, principal of the "
                                     f"privacy-budget service)")
            # the PEM bytes already loaded (the key may have been an encrypted key-store entry)
            self._budget = BudgetClient(b.address, tls=self._files, insecure=self._files is None,
                                        server_name=b.server_name)
        return self._budget

    async def request_grants(self, plan: JobPlan, *, ttl: int = 0) -> dict:
        """One grant per contributing dataset of `plan` for its (ε, δ), from the budget service (each
        reserves that much). If any is refused, those already reserved are released and the refusal raised."""
        if not plan.grants:
            return {}
        budget = self._budget_client()
        principal = self.config.budget.principal

        def one(dataset):
            return budget.request_grant(principal, dataset, plan.epsilon, plan.delta, plan.spec_hash, plan.protocol,
                                        ttl)

        got = await asyncio.gather(*(asyncio.to_thread(one, d) for d in plan.grants.values()), return_exceptions=True)
        refused = [g for g in got if isinstance(g, BaseException)]
        grants = {p: g for p, g in zip(plan.grants, got) if not isinstance(g, BaseException)}
        if refused:
            await self.release_grants(plan, grants, f"not submitted: another dataset's grant was refused: "
                                                    f"{refused[0]}")
            raise refused[0]
        return grants

    async def release_grants(self, plan: JobPlan, grants: Mapping, reason: str) -> None:
        """Release the reservations of `grants` (party -> SignedGrant) at the budget service, refunding
        whatever no node committed; best effort (what cannot be released expires there)."""
        from dp.budget.grants import GrantBody
        from dp.errors import DPError

        if not grants:
            return
        budget = self._budget_client()

        def one(grant):
            try:
                budget.release(GrantBody.from_bytes(grant.body).grant_id, plan.spec_hash, reason=reason,
                               job_id=plan.job_id)
            except DPError:
                pass

        await asyncio.gather(*(asyncio.to_thread(one, g) for g in grants.values()))

    async def submit(self, protocol: str, inputs: Mapping[int, str], params: Mapping | None = None, *,
                     output_to=None, parties=None, timeout_s: float = 0.0, job_id: str = "",
                     node: int | None = None, epsilon: float = 0.0, delta: float = 0.0,
                     grants: Mapping | None = None) -> str:
        """Submit a job at `node` (default: the lowest id); returns its job id once every party started it.

        A DP job spends (`epsilon`, `delta`) on every contributing dataset. Without `grants`, the job
        is first prepared and its grants requested from the budget service; with `grants` (party ->
        `dp.budget.grants.SignedGrant`), `job_id` must be the one `prepare` gave.
        """
        job_id, _, _ = await self._submit(protocol, inputs, params, output_to=output_to, parties=parties,
                                          timeout_s=timeout_s, job_id=job_id, node=node, epsilon=epsilon, delta=delta,
                                          grants=grants)
        return job_id

    async def _submit(self, protocol, inputs, params, *, output_to, parties, timeout_s, job_id, node, epsilon,
                      delta, grants) -> tuple[str, JobPlan | None, dict]:
        """`submit`, also returning the plan and the grants it requested itself (released here if the
        job cannot be submitted)."""
        node = self.default_node if node is None else node
        plan, own = None, {}
        if grants is None:
            plan = await self.prepare(protocol, inputs, params, epsilon=epsilon, delta=delta, output_to=output_to,
                                      parties=parties, timeout_s=timeout_s, job_id=job_id, node=node)
            job_id, grants = plan.job_id, await self.request_grants(plan)
            own = grants
        req = self._request(protocol, inputs, params, output_to=output_to, parties=parties, timeout_s=timeout_s,
                            job_id=job_id, epsilon=epsilon, delta=delta, grants=grants)
        try:
            reply = await self._stub(node).SubmitJob(req, timeout=max(30.0, 3 * timeout_s))
        except grpc.RpcError as exc:
            error = _rpc_error(exc, node)
            await self.release_grants(plan, own, f"not submitted: {error}")
            raise error from None
        return reply.job_id, plan, own

    async def watch(self, job_id: str, node: int | None = None, progress: ProgressFn | None = None) -> dict:
        """Follow a job's progress at `node` until it ends; returns the last event."""
        node = self.default_node if node is None else node
        last = {}
        try:
            async for ev in self._stub(node).WatchJob(cpb.JobRequest(job_id=job_id)):
                last = {"job_id": ev.job_id, "state": ev.state, "fraction": ev.fraction, "message": ev.message,
                        "error": ev.error, "error_party": ev.error_party, "error_kind": ev.error_kind}
                if ev.privacy_json:
                    last["privacy"] = json.loads(ev.privacy_json)
                if progress is not None:
                    progress(last)
        except grpc.RpcError as exc:
            raise _rpc_error(exc, node) from None
        return last

    async def result(self, job_id: str, nodes=None, *, wait: bool = True) -> JobOutcome:
        """Every node's result and counters (after it finished the job, with `wait`); nodes that
        cannot answer or do not know the job are left out."""
        nodes = list(nodes or self.config.nodes)

        async def one(n):
            try:
                if wait:
                    async for ev in self._stub(n).WatchJob(cpb.JobRequest(job_id=job_id), timeout=3600):
                        if ev.state in ("done", "failed", "cancelled"):
                            break
                return n, await self._stub(n).GetResult(cpb.JobRequest(job_id=job_id), timeout=10)
            except grpc.RpcError:
                return n, None

        got = dict(await asyncio.gather(*(one(n) for n in nodes)))
        outputs, report, spec_hash, cosigned = {}, {}, "", {}
        for n, r in sorted(got.items()):
            if r is None:
                continue
            report[n] = {"state": r.state, "bytes_sent": r.bytes_sent, "bytes_received": r.bytes_received,
                         "rounds": r.rounds, "seconds": r.seconds,
                         "privacy": json.loads(r.privacy_json) if r.privacy_json else []}
            spec_hash = spec_hash or r.spec_hash_hex
            if r.result_json:
                outputs[n] = decode_result(r.result_json)
            cosigned[n] = (r.cosignature_json, r.result_json)
        first = outputs[min(outputs)] if outputs else None
        privacy = next((report[n]["privacy"] for n in [*sorted(outputs), *sorted(report)] if report[n]["privacy"]), [])
        cosignature = None
        if any(c for c, _ in cosigned.values()):  # each node's record goes in its report entry; all are checked
            from mpc.threshold.cosign import check_job_cosignature

            cosignature = check_job_cosignature(job_id, spec_hash, cosigned)
            for n, rec in cosignature["nodes"].items():
                report[n]["cosignature"] = rec
        return JobOutcome(job_id=job_id, result=first, outputs=outputs, report=report, spec_hash=spec_hash,
                          privacy=privacy, cosignature=cosignature)

    async def run(self, protocol: str, inputs: Mapping[int, str], params: Mapping | None = None, *,
                  output_to=None, parties=None, timeout_s: float = 0.0, node: int | None = None,
                  progress: ProgressFn | None = None, epsilon: float = 0.0, delta: float = 0.0,
                  grants: Mapping | None = None, job_id: str = "") -> JobOutcome:
        """Submit (with budget grants for a DP job), follow to the end, and collect: the result, a
        per-party report and the per-output privacy report."""
        node = self.default_node if node is None else node
        job_id, plan, own = await self._submit(protocol, inputs, params, output_to=output_to, parties=parties,
                                               timeout_s=timeout_s, node=node, epsilon=epsilon, delta=delta,
                                               grants=grants, job_id=job_id)
        try:
            last = await self.watch(job_id, node, progress)
        except (PartyUnreachable, ProtocolAbort) as exc:
            await self.release_grants(plan, own, f"job {job_id} lost: {exc}")
            raise
        if last.get("state") != "done":
            # the nodes release their reservations when the job fails; this also covers a node that died
            # holding one (what it committed stays charged: commits happen before an output opens)
            await self.release_grants(plan, own, f"job {job_id} {last.get('state', '?')}: {last.get('error', '')}")
            raise _error_from(last.get("state", "?"), last.get("error", ""), last.get("error_party", -1),
                              last.get("error_kind", ""), job_id)
        return await self.result(job_id)

    async def cancel(self, job_id: str, node: int | None = None) -> str:
        node = self.default_node if node is None else node
        try:
            return (await self._stub(node).CancelJob(cpb.JobRequest(job_id=job_id), timeout=10)).state
        except grpc.RpcError as exc:
            raise _rpc_error(exc, node) from None

    async def protocols(self, node: int | None = None) -> list[dict]:
        node = self.default_node if node is None else node
        try:
            reply = await self._stub(node).ListProtocols(cpb.Empty(), timeout=10)
        except grpc.RpcError as exc:
            raise _rpc_error(exc, node) from None
        return [{"name": p.name, "version": p.version, "summary": p.summary, "security": p.security,
                 "needs_dealer": p.needs_dealer} for p in reply.protocols]

    async def datasets(self, node: int | None = None) -> list[dict]:
        node = self.default_node if node is None else node
        try:
            reply = await self._stub(node).ListDatasets(cpb.Empty(), timeout=10)
        except grpc.RpcError as exc:
            raise _rpc_error(exc, node) from None
        return [{"name": d.name, "rows": d.rows, "columns": list(d.columns), "allow": list(d.allowed_protocols)}
                for d in reply.datasets]

    async def budget_status(self, datasets) -> dict[str, list[dict]]:
        """Remaining budget of this client's principal on each budget dataset (e.g. "party-0/patients")."""
        budget = self._budget_client()
        got = await asyncio.gather(*(asyncio.to_thread(budget.status, self.config.budget.principal, d)
                                     for d in datasets))
        return dict(zip(datasets, got))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()
        if self._budget is not None:
            self._budget.close()
            self._budget = None

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


class Client:
    """The synchronous API: the same methods as `AsyncClient`, each run to completion."""

    def __init__(self, config: ClientConfig, *, insecure: bool = False):
        self._loop = asyncio.new_event_loop()
        self._async = AsyncClient(config, insecure=insecure)

    @classmethod
    def from_config(cls, path: str | Path, *, insecure: bool = False) -> "Client":
        return cls(load_client_config(path, insecure=insecure), insecure=insecure)

    def _do(self, coro):
        return self._loop.run_until_complete(coro)

    def prepare(self, *a, **kw) -> JobPlan:
        return self._do(self._async.prepare(*a, **kw))

    def request_grants(self, *a, **kw) -> dict:
        return self._do(self._async.request_grants(*a, **kw))

    def release_grants(self, *a, **kw) -> None:
        return self._do(self._async.release_grants(*a, **kw))

    def budget_status(self, *a, **kw) -> dict:
        return self._do(self._async.budget_status(*a, **kw))

    def submit(self, *a, **kw) -> str:
        return self._do(self._async.submit(*a, **kw))

    def watch(self, *a, **kw) -> dict:
        return self._do(self._async.watch(*a, **kw))

    def result(self, *a, **kw) -> JobOutcome:
        return self._do(self._async.result(*a, **kw))

    def run(self, *a, **kw) -> JobOutcome:
        return self._do(self._async.run(*a, **kw))

    def cancel(self, *a, **kw) -> str:
        return self._do(self._async.cancel(*a, **kw))

    def protocols(self, *a, **kw) -> list[dict]:
        return self._do(self._async.protocols(*a, **kw))

    def datasets(self, *a, **kw) -> list[dict]:
        return self._do(self._async.datasets(*a, **kw))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._do(self._async.close())
            self._loop.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
