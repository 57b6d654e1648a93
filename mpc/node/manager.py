"""A node's jobs: prepare, start, run, abort; and, at the node a client submits to, coordination.

Flow: the coordinator checks the request and builds a `JobSpec`, sends `Prepare` to every other
participant (each checks the protocol is registered, its dataset allows it, has the columns the
job reads and they are numeric, and the parameters are valid, admits the job under its DP policy
— verifying and redeeming the budget grant for its dataset, `mpc.node.grants`, which charges
nothing yet — opens the job's inbox and answers with the spec hash it computed), then `Start`
to all. Budget is charged release by release as outputs open; whenever a job's record becomes
final (done, failed, aborted, refused after its grant was redeemed, or expired unstarted) the
node releases its reservation, so what no output used is refunded. Each participant first
exchanges the spec hash with every other one over the job's own transport and aborts on any
mismatch, then runs the protocol (a compute party) or serves preprocessing (the dealer). A failure
anywhere is sent to the other participants as `Abort`, so nobody waits for a timeout; whatever
happens, the job's inbox is closed and its record is final.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from typing import Any

import grpc

from mpc.errors import MPCError, ParameterError, PartyUnreachable, ProtocolAbort
from mpc.node.grants import grants_needed
from mpc.node.jobs import JobRecord, JobSpec, encode_result, error_fields, spec_hash
from mpc.protocols import JobContext, Protocol
from mpc.v1 import peer_pb2 as pb

_HASH_TAG = "spec-hash"
MAX_RECORDS = 1000


class JobManager:
    """Every job this node knows, by id (bounded history of finished jobs)."""

    def __init__(self, node):
        self.node = node
        self.cfg = node.config
        self.net = node.net
        self.log = node.log
        self.records: dict[str, JobRecord] = {}
        self.accepting = True
        self._pending: set[asyncio.Task] = set()   # abort notices and budget releases in flight (kept referenced)

    # ------------------------------------------------------------ checks
    def _roster_pins(self) -> list[tuple[int, str, str]]:
        return [(e.id, e.role, (self.net.roster[e.id].pin or b"").hex()) for e in self.cfg.roster]

    def build_spec(self, req) -> JobSpec:
        """The coordinator's spec for a client's SubmitJob request (checked like any other)."""
        protocol = self.node.registry.get(req.protocol)
        try:
            params = json.loads(req.params_json or "{}")
        except json.JSONDecodeError as exc:
            raise ParameterError(f"params_json is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ParameterError("params_json must be a JSON object")
        parties = tuple(req.parties) or self.cfg.parties
        unknown = [p for p in parties if p not in self.cfg.parties]
        if unknown:
            raise ParameterError(f"parties {unknown} are not compute parties of the roster {self.cfg.parties}")
        dealer = None
        if protocol.needs_dealer:
            if self.cfg.triple_source != "dealer" or self.cfg.dealer is None:
                raise ParameterError(f"protocol {protocol.name} needs Beaver triples from a trusted dealer, but "
                                     f"this roster has no dealer node (triple_source={self.cfg.triple_source!r})")
            dealer = self.cfg.dealer
        job_id = req.job_id or f"job-{secrets.token_hex(8)}"
        if job_id in self.records:
            raise ParameterError(f"job id {job_id} is already in use at party {self.cfg.id}")
        spec = JobSpec(job_id=job_id, protocol=protocol.name, version=protocol.version, params=params,
                       inputs={int(k): v for k, v in req.inputs.items()}, parties=tuple(sorted(parties)),
                       output_to=tuple(sorted(req.output_to)) or tuple(sorted(parties)), dealer=dealer,
                       threshold=self.cfg.threshold, timeout_s=req.timeout_s or self.cfg.timeout_s,
                       coordinator=self.cfg.id, dp_mode=self.node.dp.mode_for(protocol), epsilon=req.epsilon,
                       delta=req.delta)
        spec.check_shape()
        return spec

    def plan(self, spec: JobSpec) -> tuple[Protocol, JobSpec, bytes]:
        """The protocol, the checked spec and its hash (what grants are requested for); changes nothing."""
        protocol, params = self.check(spec)
        checked = JobSpec(**{**spec.__dict__, "params": params})
        return protocol, checked, spec_hash(checked, self._roster_pins())

    def check(self, spec: JobSpec) -> tuple[Protocol, dict]:
        """This node's own checks of a spec; returns the protocol and the checked parameters."""
        me = self.cfg.id
        if me not in spec.participants:
            raise ParameterError(f"job {spec.job_id}: party {me} is not a participant of this job")
        protocol = self.node.registry.get(spec.protocol)
        if protocol.version != spec.version:
            raise ParameterError(f"job {spec.job_id}: protocol {spec.protocol} is version {protocol.version} "
                                 f"here, the job asks for version {spec.version}")
        n = len(spec.parties)
        if n < protocol.min_parties or (protocol.max_parties is not None and n > protocol.max_parties):
            raise ParameterError(f"job {spec.job_id}: protocol {spec.protocol} takes {protocol.min_parties}.."
                                 f"{protocol.max_parties or 'any'} parties, got {n}")
        expected_dealer = self.cfg.dealer if protocol.needs_dealer else None
        if spec.dealer != expected_dealer or (protocol.needs_dealer and self.cfg.triple_source != "dealer"):
            raise ParameterError(f"job {spec.job_id}: dealer {spec.dealer} does not match this node's triple "
                                 f"source ({self.cfg.triple_source}, dealer {self.cfg.dealer})")
        if spec.threshold != self.cfg.threshold:
            raise ParameterError(f"job {spec.job_id}: threshold {spec.threshold} differs from this node's "
                                 f"{self.cfg.threshold}")
        if me in spec.inputs:
            name = spec.inputs[me]
            ds = self.node.datasets.get(name)
            if ds is None:
                raise ParameterError(f"job {spec.job_id}: party {me} has no dataset {name!r} "
                                     f"(it has {sorted(self.node.datasets)})")
            if spec.protocol not in ds.allow:
                raise ParameterError(f"job {spec.job_id}: party {me} does not allow protocol {spec.protocol} on "
                                     f"dataset {name!r} (allowed: {list(ds.allow)})")
        params = protocol.check_params(dict(spec.params))
        if me in spec.inputs and protocol.columns is not None:
            self._check_columns(spec, protocol.columns(params, me, spec.parties))
        if params.get("joined") is not None and me in spec.parties:  # a job on a joined table kept here
            if self.node.tables is None:
                raise ParameterError(f"job {spec.job_id}: party {me} keeps no joined tables (no state_dir in its "
                                     "[node] section)")
            self.node.tables.check_for_job(params["joined"], parties=spec.parties, dataset=spec.inputs.get(me))
        self.node.dp.check(spec, protocol)
        return protocol, params

    def _check_columns(self, spec: JobSpec, columns: list[str]) -> None:
        """The columns the job reads exist in this party's dataset and are numeric (before any budget is used)."""
        me, name = self.cfg.id, spec.inputs[self.cfg.id]
        have = self.node.datasets[name].columns
        missing = [c for c in columns if c not in have]
        if missing:
            raise ParameterError(f"job {spec.job_id}: party {me}'s dataset {name!r} has no column(s) {missing} "
                                 f"(it has {sorted(have)}); check the job's parameters")
        bad = [c for c in columns if getattr(have[c], "dtype", None) is None or have[c].dtype.kind not in "iuf"]
        if bad:
            raise ParameterError(f"job {spec.job_id}: party {me}'s column(s) {bad} of dataset {name!r} are not "
                                 f"numeric")

    # ------------------------------------------------------------ participant side
    async def prepare(self, spec: JobSpec, grant_json: str = "") -> JobRecord:
        """Check the spec, admit it under this node's DP policy (grant verified and redeemed), open the
        job's inbox, and keep a record (state 'preparing'). Any refusal comes before data is touched."""
        if not self.accepting:
            raise ProtocolAbort(f"party {self.cfg.id} is shutting down; job {spec.job_id} refused", job=spec.job_id)
        if spec.job_id in self.records:
            raise ParameterError(f"job id {spec.job_id} is already known at party {self.cfg.id}")
        protocol, checked, h = self.plan(spec)
        release = await self.node.dp.admit(checked, protocol, checked.params, h, grant_json)
        try:
            if spec.job_id in self.records:     # the same job prepared twice while the grant was redeemed
                raise ParameterError(f"job id {spec.job_id} is already known at party {self.cfg.id}")
            rec = JobRecord(spec=checked, hash=h, release=release)
            self.net.open_job(spec.job_id, spec.participants)
        except BaseException as exc:        # refused after the grant was redeemed: give its reservation back
            self._settle(release, spec.job_id, f"refused at prepare: {exc}")
            raise
        rec.on_final.append(lambda r: self._settle(r.release, r.job_id, f"job {r.state}: {r.error or 'done'}"))
        self._remember(rec)
        # a job prepared but never started (its coordinator vanished) must not hold its inbox forever
        asyncio.get_running_loop().call_later(2 * spec.timeout_s + 5, self._expire, spec.job_id)
        return rec

    def _settle(self, release, job_id: str, reason: str) -> None:
        """Release the job's budget reservation in the background (the job is final, or was refused)."""
        settle = getattr(release, "settle", None)
        if settle is None:
            return
        task = asyncio.get_running_loop().create_task(settle(reason[:500]), name=f"settle-{job_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _expire(self, job_id: str) -> None:
        rec = self.records.get(job_id)
        if rec is not None and rec.state == "preparing":
            self.abort(job_id, f"job {job_id} was prepared but not started in time; dropped", error_kind="abort")

    def _remember(self, rec: JobRecord) -> None:
        self.records[rec.job_id] = rec
        if len(self.records) > MAX_RECORDS:
            for jid in [j for j, r in self.records.items() if r.final][: len(self.records) - MAX_RECORDS]:
                del self.records[jid]

    def start(self, job_id: str) -> None:
        rec = self.records.get(job_id)
        if rec is None or rec.state != "preparing":
            raise ParameterError(f"job {job_id} is not prepared at party {self.cfg.id}")
        rec.update(state="running", message="agreeing on the job spec")
        rec.task = asyncio.create_task(self._run(rec), name=f"job-{job_id}")

    def abort(self, job_id: str, reason: str, *, cancelled: bool = False, error_party: int = -1,
              error_kind: str = "abort") -> bool:
        """Stop a job here (its task is cancelled, its inbox closed); False if unknown or finished."""
        rec = self.records.get(job_id)
        if rec is None or rec.final:
            return False
        rec.update(state="cancelled" if cancelled else "failed", error=reason, error_party=error_party,
                   error_kind="cancelled" if cancelled else error_kind)
        if rec.task is not None and not rec.task.done():
            rec.task.cancel()
        self.net.close_job(job_id)
        self.log.warning("job aborted", extra={"job": job_id, "detail": reason})
        return True

    async def _run(self, rec: JobRecord) -> None:
        spec = rec.spec
        transport = self.net.transport(spec.job_id)
        transport.send_timeout = spec.timeout_s
        try:
            await self._agree(transport, rec)
            rec.update(message="running", fraction=0.0)
            cosigner = None
            if self.cfg.id == spec.dealer:
                await self._serve_dealer(transport, spec)
                result = None
            else:
                cosigner = await self.node.keys.job_cosigner(transport, spec)  # before any data is touched
                result = await self._compute(transport, rec)
            rec.result_json = encode_result(result) if self.cfg.id in spec.output_to else ""
            if cosigner is not None:
                rec.update(message="co-signing the result")
                rec.cosignature_json = await cosigner.sign(rec.result_json, rec.hash)
            rec.stats = transport.stats.snapshot()
            rec.update(state="done", fraction=1.0, message="done")
            self.log.info("job done", extra={"job": spec.job_id, "protocol": spec.protocol, **rec.stats})
        except asyncio.CancelledError:
            rec.stats = transport.stats.snapshot()
            rec.update(state="failed", error="cancelled", error_kind="cancelled")
        except Exception as exc:  # every failure ends the job here, never the node
            rec.stats = transport.stats.snapshot()
            msg = str(exc) if isinstance(exc, MPCError) else f"{type(exc).__name__}: {exc}"
            fields = error_fields(exc)
            rec.update(state="failed", error=msg, **fields)
            self.log.warning("job failed", extra={"job": spec.job_id, "detail": msg})
            if not isinstance(exc, MPCError):
                self.log.exception("unexpected error in job", extra={"job": spec.job_id})
            notice = asyncio.create_task(self.tell_abort(spec, f"party {self.cfg.id}: {msg}", **fields))
            self._pending.add(notice)
            notice.add_done_callback(self._pending.discard)
        finally:
            self.net.close_job(spec.job_id)

    async def _agree(self, transport, rec: JobRecord) -> None:
        """Exchange spec hashes with every other participant; abort on any mismatch."""
        others = [p for p in rec.spec.participants if p != self.cfg.id]
        for p in others:
            await transport.send(p, _HASH_TAG, rec.hash)
        got = await asyncio.gather(*(transport.recv(p, _HASH_TAG, rec.spec.timeout_s) for p in others))
        for p, h in zip(others, got):
            if not hmac.compare_digest(h, rec.hash):
                raise ProtocolAbort(
                    f"job {rec.job_id}: party {p}'s job spec hash {h.hex()[:16]}... differs from party "
                    f"{self.cfg.id}'s {rec.hash.hex()[:16]}...: the nodes disagree on the protocol, parameters, "
                    f"contributors, outputs or roster; compare their configs", party=p, job=rec.job_id)

    async def _compute(self, transport, rec: JobRecord) -> Any:
        from dp.budget.heads import HeadSource
        from mpc.preprocessing import DealerTriples
        from mpc.runtime import Session

        spec = rec.spec
        protocol = self.node.registry.get(spec.protocol)
        triples = DealerTriples(spec.dealer) if spec.dealer is not None else None
        session = Session(transport, job=spec.job_id, parties=list(spec.parties), threshold=spec.threshold,
                          triples=triples, timeout=spec.timeout_s)
        await session.setup()
        me = self.cfg.id
        data = self.node.datasets[spec.inputs[me]].columns if me in spec.inputs else None
        ctx = JobContext(session=session, params=spec.params, data=data, contributors=spec.contributors,
                         output_to=spec.output_to, release=rec.release.function(session, spec.output_to),
                         progress=rec.progress, keystore=self.node.keys.shares, dataset=spec.inputs.get(me),
                         tables=self.node.tables)
        ctx.budget = HeadSource.for_node(self.cfg, self.node.tls_files)  # cosign_head checks ledger heads there
        result = await protocol.run(ctx)
        await session.close()
        if me in spec.output_to:
            rec.release.derive(protocol, spec.params, result)
        return result

    async def _serve_dealer(self, transport, spec: JobSpec) -> None:
        from mpc.preprocessing import Dealer

        await Dealer(transport, list(spec.parties), spec.job_id, spec.timeout_s).serve()

    # ------------------------------------------------------------ coordinator side
    async def submit(self, spec: JobSpec, grants: dict[int, str] | None = None) -> JobRecord:
        """Prepare the job at every participant (each with the grant for its dataset), then start it everywhere."""
        grants = dict(grants or {})
        extra = sorted(set(grants) - set(grants_needed(spec)))
        if extra:
            raise ParameterError(f"job {spec.job_id}: grants were given for parties {extra}, which contribute no "
                                 f"dataset to this DP job (grants needed: {sorted(grants_needed(spec))})")
        rec = await self.prepare(spec, grants.get(self.cfg.id, ""))
        others = [p for p in spec.participants if p != self.cfg.id]

        def msg(p):
            return pb.JobSpecMessage(job_id=spec.job_id, spec_json=spec.to_json(), spec_hash=rec.hash,
                                     coordinator=self.cfg.id, grant_json=grants.get(p, ""))
        try:
            replies = await asyncio.gather(*(self._call(p, "Prepare", msg(p), spec.timeout_s) for p in others))
            for p, r in zip(others, replies):
                if not r.ok:
                    raise ProtocolAbort(f"job {spec.job_id}: party {p} refused it: {r.error}", party=p, job=spec.job_id)
            self.start(spec.job_id)
            await asyncio.gather(*(self._start_at(p, spec) for p in others))
        except MPCError as exc:
            fields = error_fields(exc)
            self.abort(spec.job_id, str(exc), **fields)
            await self.tell_abort(spec, str(exc), **fields)
            raise
        return rec

    async def _start_at(self, peer: int, spec: JobSpec) -> None:
        r = await self._call(peer, "Start", pb.JobRef(job_id=spec.job_id), spec.timeout_s)
        if not r.ok:
            raise ProtocolAbort(f"job {spec.job_id}: party {peer} could not start it: {r.error}",
                                party=peer, job=spec.job_id)

    async def _call(self, peer: int, method: str, msg, timeout: float):
        try:
            return await getattr(self.net.stub(peer), method)(msg, timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise PartyUnreachable(peer, f"party {peer} ({self.net.roster[peer].address}) did not answer "
                                             f"{method} within {timeout} s: {code.name}; is its node up? "
                                             f"(mpc check)") from None
            raise ProtocolAbort(f"party {peer} refused {method}: {code.name}: {exc.details()}", party=peer) from None

    async def tell_abort(self, spec: JobSpec, reason: str, *, cancelled: bool = False, error_party: int = -1,
                         error_kind: str = "abort") -> None:
        """Best effort: ask every other participant to abort the job (short timeout)."""
        others = [p for p in spec.participants if p != self.cfg.id]
        ref = pb.JobRef(job_id=spec.job_id, reason=reason[:2000], error_party=error_party,
                        error_kind="cancelled" if cancelled else error_kind)

        async def one(p):
            try:
                await self.net.stub(p).Abort(ref, timeout=2.0)
            except grpc.RpcError:
                pass

        await asyncio.gather(*(one(p) for p in others))

    async def shutdown(self, reason: str) -> None:
        """Refuse new jobs, abort running ones here and at their peers."""
        self.accepting = False
        running = [r for r in self.records.values() if not r.final]
        for r in running:
            self.abort(r.job_id, reason)
        await asyncio.gather(*(self.tell_abort(r.spec, reason) for r in running), return_exceptions=True)
        if self._pending:               # budget releases (and abort notices) still in flight: let them finish
            await asyncio.wait(list(self._pending), timeout=5.0)
