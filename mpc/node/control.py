"""The control service clients call: submit, watch, fetch results, cancel, list what is offered.

Every call is checked first: the caller's certificate must be one of the clients the node's
config lists (pinned), signed by the roster's CA (checked by TLS itself).
"""

from __future__ import annotations

import asyncio
import json

import grpc

from mpc.errors import MPCError, ParameterError, PartyUnreachable
from mpc.net import tls
from mpc.node.grants import grants_needed
from mpc.v1 import control_pb2 as cpb
from mpc.v1 import control_pb2_grpc


class ControlService(control_pb2_grpc.ControlServicer):
    def __init__(self, node):
        self.node = node

    async def _client(self, context) -> str:
        """The calling client's name; aborts the call if it is not a roster client."""
        if self.node.insecure:
            return "insecure-client"
        pem = tls.presented_certificate(context)
        why = "no client certificate"
        if pem is not None:
            ident = tls.identity_of(pem)
            pin = self.node.client_pins.get(ident.name)
            if pin is not None and tls.same_pin(pin, ident.fingerprint):
                return ident.name
            why = f"certificate {ident.name!r} is not a client listed in the roster"
        self.node.log.warning("refused a client", extra={"detail": why})
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"party {self.node.config.id}: {why}")

    def _record(self, job_id: str):
        rec = self.node.jobs.records.get(job_id)
        if rec is None:
            raise ParameterError(f"job {job_id[:128]!r} is unknown at party {self.node.config.id}")
        return rec

    async def PrepareJob(self, request, context):
        """The job id, spec hash and grants a submission of `request` needs (nothing is recorded)."""
        await self._client(context)
        try:
            protocol, spec, h = self.node.jobs.plan(self.node.jobs.build_spec(request))
        except MPCError as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return cpb.PrepareJobReply(
            job_id=spec.job_id, spec_hash_hex=h.hex(), protocol=protocol.qualified_name, dp_mode=spec.dp_mode,
            epsilon=spec.epsilon, delta=spec.delta, dp_exempt=protocol.dp_exempt or "",
            grants=[cpb.GrantNeed(party=p, dataset=d) for p, d in grants_needed(spec).items()],
            releases=[r.name for r in protocol.releases(spec.params)])

    async def SubmitJob(self, request, context):
        client = await self._client(context)
        jobs = self.node.jobs
        try:
            spec = jobs.build_spec(request)
            rec = await jobs.submit(spec, dict(request.grants_json))
        except PartyUnreachable as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"party={exc.party}: {exc}")
        except MPCError as exc:
            party = getattr(exc, "party", None)
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                (f"party={party}: " if party is not None else "") + str(exc))
        self.node.log.info("job submitted", extra={"job": spec.job_id, "client": client, "protocol": spec.protocol})
        return cpb.SubmitJobReply(job_id=spec.job_id, spec_hash_hex=rec.hash.hex())

    async def WatchJob(self, request, context):
        await self._client(context)
        try:
            rec = self._record(request.job_id)
        except MPCError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        queue: asyncio.Queue = asyncio.Queue()
        rec.watchers.append(queue)
        try:
            ev = rec.event()
            yield self._event(rec, ev)
            while not rec.final:
                ev = await queue.get()
                yield self._event(rec, ev)
            while not queue.empty():
                yield self._event(rec, queue.get_nowait())
        finally:
            rec.watchers.remove(queue)

    @staticmethod
    def _privacy(rec) -> str:
        """The job's per-output privacy report at this node (JSON), once it is final."""
        return json.dumps(rec.release.report) if rec.final and rec.release is not None else ""

    def _event(self, rec, ev: dict):
        final = ev["state"] in ("done", "failed", "cancelled")
        return cpb.JobEvent(**ev, privacy_json=self._privacy(rec) if final else "")

    async def GetResult(self, request, context):
        await self._client(context)
        try:
            rec = self._record(request.job_id)
        except MPCError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        s = rec.stats
        return cpb.JobResult(job_id=rec.job_id, state=rec.state, result_json=rec.result_json, error=rec.error,
                             bytes_sent=s.get("bytes_sent", 0), bytes_received=s.get("bytes_received", 0),
                             rounds=s.get("rounds", 0), seconds=rec.seconds, party=self.node.config.id,
                             spec_hash_hex=rec.hash.hex(), privacy_json=self._privacy(rec),
                             cosignature_json=rec.cosignature_json)

    async def CancelJob(self, request, context):
        client = await self._client(context)
        try:
            rec = self._record(request.job_id)
        except MPCError as exc:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(exc))
        reason = f"cancelled by client {client} at party {self.node.config.id}"
        ok = self.node.jobs.abort(rec.job_id, reason, cancelled=True)
        if ok:
            await self.node.jobs.tell_abort(rec.spec, reason, cancelled=True)
        return cpb.CancelReply(ok=ok, state=rec.state)

    async def ListProtocols(self, request, context):
        await self._client(context)
        return cpb.ProtocolList(protocols=[
            cpb.ProtocolInfo(name=p.name, version=p.version, summary=p.summary, security=p.security,
                             needs_dealer=p.needs_dealer) for p in self.node.registry])

    async def ListDatasets(self, request, context):
        await self._client(context)
        return cpb.DatasetList(party=self.node.config.id, datasets=[
            cpb.DatasetInfo(name=d.name, rows=d.rows, columns=list(d.columns), allowed_protocols=list(d.allow))
            for d in self.node.datasets.values()])
