"""The node daemon: one gRPC server (peer service, control service, health) per party.

`Node(config)` loads its datasets, binds its listen address (any address: nodes run on
separate hosts), serves the `mpc.v1.Peer` service to roster nodes and the `mpc.v1.Control`
service to roster clients, both over mutual TLS with pinned certificates, and dials its
higher-numbered peers. SIGTERM / SIGINT stop it gracefully: it refuses new jobs, aborts
running ones (telling their peers), reports NOT_SERVING on the health service, then closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from mpc.errors import MPCError, ParameterError
from mpc.net import tls
from mpc.net.grpc_transport import PeerAddress, PeerNetwork, channel_options
from mpc.node.config import NodeConfig
from mpc.node.control import ControlService
from mpc.node.datasets import load_datasets
from mpc.node.grants import Admission
from mpc.node.jobs import JobSpec
from mpc.node.keys import NodeKeys
from mpc.node.manager import JobManager
from mpc.psi.tables import JoinedTables
from mpc.v1 import control_pb2_grpc, peer_pb2 as pb, peer_pb2_grpc


def node_registry(config: NodeConfig):
    """The built-in protocols plus those of the config's `protocol_modules`."""
    import importlib

    from mpc.protocols import default_registry

    reg = default_registry()
    for name in config.protocol_modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ParameterError(f"{config.path}: protocol module {name!r} cannot be imported: {exc}") from None
        for protocol in getattr(module, "PROTOCOLS", []):
            reg.register(protocol)
    return reg


class PeerService(peer_pb2_grpc.PeerServicer):
    """What other nodes may ask of this one; every call is checked against the roster."""

    def __init__(self, node: "Node"):
        self.node = node

    async def _caller(self, context) -> int | None:
        try:
            return self.node.net.identify_peer(context)
        except PermissionError as exc:
            self.node.log.warning("refused a peer call", extra={"detail": str(exc)})
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"party {self.node.config.id}: {exc}")

    async def Exchange(self, request_iterator, context):
        await self.node.net.serve_exchange(request_iterator, context)

    async def Prepare(self, request, context):
        caller = await self._caller(context)
        jobs = self.node.jobs
        try:
            spec = JobSpec.from_json(request.spec_json)
            if spec.job_id != request.job_id:
                raise ParameterError(f"Prepare for job {request.job_id} carries the spec of job {spec.job_id}")
            if caller is not None and caller != spec.coordinator:
                raise ParameterError(f"job {spec.job_id}: party {caller} relays a spec whose coordinator is "
                                     f"party {spec.coordinator}")
            rec = await jobs.prepare(spec, request.grant_json)
        except MPCError as exc:
            self.node.log.warning("refused a job", extra={"job": request.job_id[:128], "detail": str(exc)})
            return pb.PrepareReply(ok=False, error=str(exc))
        self.node.log.info("job prepared", extra={"job": spec.job_id, "protocol": spec.protocol,
                                                  "coordinator": spec.coordinator})
        return pb.PrepareReply(ok=True, spec_hash=rec.hash)

    async def Start(self, request, context):
        await self._caller(context)
        try:
            self.node.jobs.start(request.job_id)
        except MPCError as exc:
            return pb.Ack(ok=False, error=str(exc))
        return pb.Ack(ok=True)

    async def Abort(self, request, context):
        caller = await self._caller(context)
        rec = self.node.jobs.records.get(request.job_id)
        if rec is None or (caller is not None and caller not in rec.spec.participants):
            return pb.Ack(ok=False, error=f"job {request.job_id} unknown here")
        who = f"party {caller}" if caller is not None else "a peer (unauthenticated, --insecure)"
        ok = self.node.jobs.abort(request.job_id, f"aborted by {who}: {request.reason}",
                                  cancelled=request.error_kind == "cancelled", error_party=request.error_party,
                                  error_kind=request.error_kind or "abort")
        return pb.Ack(ok=ok)

    async def Ping(self, request, context):
        await self._caller(context)
        return pb.PingReply(responder=self.node.config.id, role=self.node.config.role,
                            payload=request.payload[:1 << 16])


class Node:
    """One party's daemon. `await start()`, then `await wait_closed()`; `await stop()` ends it."""

    def __init__(self, config: NodeConfig, *, insecure: bool = False, registry=None,
                 logger: logging.Logger | None = None, no_dp: bool = False):
        self.config = config
        self.insecure = insecure
        self.log = logger or logging.getLogger(f"mpc.node.{config.id}")
        self.dp = Admission(config, no_dp=no_dp, insecure=insecure, logger=self.log)
        self.registry = registry if registry is not None else node_registry(config)
        self.datasets = load_datasets(config.datasets)
        self.keys = NodeKeys(config.id, config.keystore)
        self.tables = JoinedTables(config.state_dir / "joined", config.id) if config.state_dir else None
        self.tls_files = None
        roster = {}
        if not insecure:
            t = config.tls
            self.tls_files = tls.TlsFiles.load(t.ca, t.certificate, t.key, passphrase=self.keys.passphrase)
            self.dp.tls_files = self.tls_files
            mine = tls.identity_of(self.tls_files.cert)
            if mine.name != tls.party_name(config.id) or not mine.is_node:
                raise ParameterError(f"{config.path}: the certificate {t.certificate} is {mine.name!r}, not a node "
                                     f"certificate for {tls.party_name(config.id)}")
        for e in config.roster:
            pin = None
            if not insecure:
                try:
                    pin = tls.fingerprint(e.certificate.read_bytes())
                except (OSError, ValueError) as exc:
                    raise ParameterError(f"{config.path}: roster entry {e.id}: cannot read certificate "
                                         f"{e.certificate}: {exc}") from None
            roster[e.id] = PeerAddress(e.id, e.address, e.role, pin)
        self.client_pins = {}
        if not insecure:
            for c in config.clients:
                try:
                    self.client_pins[tls.client_name(c.name)] = tls.fingerprint(c.certificate.read_bytes())
                except (OSError, ValueError) as exc:
                    raise ParameterError(f"{config.path}: client {c.name}: cannot read {c.certificate}: {exc}") from None
        self.net = PeerNetwork(config.id, roster, self.tls_files, chunk_bytes=config.chunk_bytes,
                               max_message_bytes=config.max_message_bytes, logger=self.log)
        self.jobs = JobManager(self)
        self.health = health.aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        opts = channel_options(self.config.chunk_bytes)
        self.server = grpc.aio.server(options=opts)
        peer_pb2_grpc.add_PeerServicer_to_server(PeerService(self), self.server)
        control_pb2_grpc.add_ControlServicer_to_server(ControlService(self), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if self.insecure:
            self.log.warning("INSECURE: plain-text gRPC without TLS; peer and client identities are NOT checked. "
                             "Use only for local experiments.")
            self.port = self.server.add_insecure_port(self.config.listen)
        else:
            self.port = self.server.add_secure_port(self.config.listen, tls.server_credentials(self.tls_files))
        if not self.port:
            raise ParameterError(f"party {self.config.id}: cannot listen on {self.config.listen}")
        await self.server.start()
        self.net.start()
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        self.dp.announce()
        self.log.info("node up", extra={"listen": self.config.listen, "port": self.port, "role": self.config.role,
                                        "datasets": sorted(self.datasets), "protocols": self.registry.names()})

    async def _set_health(self, status) -> None:
        for name in ("", "mpc.v1.Peer", "mpc.v1.Control"):
            await self.health.set(name, status)

    async def stop(self, grace: float = 2.0) -> None:
        if self._stopped.is_set():
            return
        self.log.info("node stopping")
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.jobs.shutdown(f"party {self.config.id} is shutting down")
        await self.net.close()
        self.dp.close()
        if self.server is not None:
            await self.server.stop(grace)
        self._stopped.set()
        self.log.info("node stopped")

    async def wait_closed(self) -> None:
        await self._stopped.wait()

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        await self.stop()
