"""The budget gRPC service (`dp.v1.Budget`): the two-phase budget path and status over one ledger file.

What it serves: `RequestGrant` (check-and-reserve in one SQLite transaction, then an Ed25519
grant), `RedeemGrant` (a node claims the grant for its job: single use), `CommitGrant` (charge
a cumulative amount ≤ the reservation just before an output opens), `ReleaseGrant` (refund
what was not committed when the job ends or cannot be submitted), `GetStatus`, `GetPublicKey`,
`GetLedgerHead` (the hash-chain head after N rows, recomputed and signed: `dp.budget.heads`),
and the standard gRPC health service (`grpc.health.v1.Health`: SERVING for "" and
"dp.v1.Budget" while it runs, NOT_SERVING once it stops). Every step is a ledger row
(`dp.budget.ledger`, which also says how reservations expire: lazily, inside write
transactions). A synchronous gRPC server with a thread pool; every worker thread has its own
SQLite connection, and `BEGIN IMMEDIATE` serialises the writers (also across processes sharing
the file). Every request is validated (sizes, formats, ranges) before it touches the ledger;
errors go back as gRPC status codes with the `dp-error` trailer naming the exception class.

Security: mutual TLS with the deployment's certificates (`mpc certs init --budget` gives the
server certificate `budget-service`; the CA that signs the nodes' and clients' certificates; a
caller without a certificate from that CA is refused by the TLS handshake; credentials come from
`mpc.net.tls`). With TLS the grant's principal is bound to the caller's certificate: a
`client-<name>` certificate may request grants only for principals whose last segment is
`<name>`, other certificates (nodes included) may not request grants at all, only node
certificates may redeem them, only the node that redeemed a grant may commit it, and a grant may
be released by that node or by a client whose name the grant's principal ends in
(`bind_principal=False` lifts these, for PKIs named otherwise).
Plaintext only with an explicit `insecure=True`, which logs a warning and binds nothing. The
service trusts its administrators (who set budgets on the ledger file) and its host. Any caller
the TLS handshake admits may read a signed ledger head (it reveals a hash and a row count).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dp import errors
from dp.budget import grants as g
from dp.budget.heads import sign_head
from dp.budget.ledger import DEFAULT_HOLD, Ledger
from dp.v1 import budget_pb2, budget_pb2_grpc
from mpc.net import tls as mtls

log = logging.getLogger("dp.budget")

MAX_MESSAGE_BYTES = 64 * 1024
HEALTH_SERVICE = "dp.v1.Budget"

_STATUS = {
    errors.BudgetExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.NoBudget: grpc.StatusCode.NOT_FOUND,
    errors.GrantReused: grpc.StatusCode.ALREADY_EXISTS,
    errors.GrantExpired: grpc.StatusCode.FAILED_PRECONDITION,
    errors.GrantForged: grpc.StatusCode.PERMISSION_DENIED,
    errors.GrantRefused: grpc.StatusCode.PERMISSION_DENIED,
    errors.GrantMismatch: grpc.StatusCode.FAILED_PRECONDITION,
    errors.GrantInvalid: grpc.StatusCode.INVALID_ARGUMENT,
    errors.DPParameterError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.LedgerTampered: grpc.StatusCode.DATA_LOSS,
    errors.LedgerError: grpc.StatusCode.INTERNAL,
}


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for mutual TLS: this side's certificate and key, and the CA that signs the peers."""

    cert: Path
    key: Path
    ca: Path

    def load(self) -> mtls.TlsFiles:
        """The PEM bytes, as `mpc.net.tls` builds gRPC credentials from them. The key may be an
        encrypted key-store entry (`<name>.mpckey`), unlocked with $MPC_KEYSTORE_PASSPHRASE."""
        from mpc.keystore import env_passphrase

        return mtls.TlsFiles.load(self.ca, self.cert, self.key,
                                  passphrase=lambda: env_passphrase(f"the TLS key {self.key}"))


def _status_for(exc: Exception) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return grpc.StatusCode.INVALID_ARGUMENT


class BudgetService(budget_pb2_grpc.BudgetServicer):
    """The servicer: one `Ledger` connection per worker thread, one signing key."""

    def __init__(self, db: str | Path, key, *, thresholds: tuple[float, ...] = (0.75, 0.9),
                 default_ttl: int = 600, sync: str = "normal", bind_principal: bool = False,
                 hold: int = DEFAULT_HOLD):
        self.bind_principal = bind_principal
        self._hold = int(hold)
        self._db = Path(db)
        self._key = key
        self._public = g.public_bytes(key)
        self._thresholds = tuple(thresholds)
        self._ttl = int(default_ttl)
        self._sync = sync
        self._local = threading.local()
        self._write_lock = threading.Lock()  # writers of this process queue here, not in SQLite's busy sleep
        self._verified = (0, "0" * 64)        # (seq, hash): the longest chain prefix recomputed so far
        self._verified_lock = threading.Lock()
        Ledger(self._db, sync=sync).close()  # fail now, not at the first request, if the file is bad

    def _ledger(self) -> Ledger:
        led = getattr(self._local, "ledger", None)
        if led is None:
            led = self._local.ledger = Ledger(self._db, sync=self._sync, write_lock=self._write_lock)
        return led

    def _fail(self, context, exc: Exception):
        if isinstance(exc, errors.DPError):
            context.set_trailing_metadata((("dp-error", type(exc).__name__),))
            context.abort(_status_for(exc), str(exc))
        log.exception("budget service: unexpected error")
        context.abort(grpc.StatusCode.INTERNAL, f"internal error in the budget service: {type(exc).__name__}")

    def _caller(self, context) -> mtls.Identity | None:
        pem = mtls.presented_certificate(context)
        return mtls.identity_of(pem) if pem is not None else None

    def _check_requester(self, context, principal: str) -> None:
        """With principal binding: the caller's client certificate must name the principal's analyst."""
        if not self.bind_principal:
            return
        ident = self._caller(context)
        name = mtls.principal_name(ident) if ident is not None else None
        if name is None:
            raise errors.GrantRefused(f"only client certificates (client-<name>) may request grants; the caller "
                                      f"presented {ident.name if ident else 'no certificate'!r}")
        if principal.rsplit("/", 1)[-1] != name:
            raise errors.GrantRefused(f"certificate {ident.name!r} may request grants only for principals ending "
                                      f"in '/{name}' (or equal to {name!r}), not {principal!r}")

    def _check_redeemer(self, context) -> str:
        """The redeeming node's name ("" without principal binding)."""
        if not self.bind_principal:
            return ""
        ident = self._caller(context)
        if ident is None or not ident.is_node:
            raise errors.GrantRefused(f"only node certificates may redeem grants; the caller presented "
                                      f"{ident.name if ident else 'no certificate'!r}")
        return ident.name

    def _holder_check(self, context, *, clients: bool):
        """A check of the caller against a reservation: the node that redeemed it (or, with `clients`,
        a client certificate whose name the principal ends in); None without principal binding."""
        if not self.bind_principal:
            return None
        ident = self._caller(context)
        name = ident.name if ident is not None else "no certificate"

        def check(res: dict) -> None:
            if ident is not None and ident.is_node and res["holder"] == ident.name:
                return
            analyst = mtls.principal_name(ident) if ident is not None else None
            if clients and analyst is not None and res["principal"].rsplit("/", 1)[-1] == analyst:
                return
            who = f"the node that redeemed it ({res['holder']})" if res["holder"] else "no node yet (not redeemed)"
            raise errors.GrantRefused(f"grant {res['grant_id']} is held by {who}"
                                      + (f" or clients of principal {res['principal']!r}" if clients else "")
                                      + f"; the caller presented {name!r}")

        return check

    def RequestGrant(self, request, context):
        try:
            self._check_requester(context, request.principal)
            if len(request.job_hash) != 32:
                raise errors.DPParameterError(f"job_hash must be the 32-byte SHA-256 of the job spec, "
                                              f"got {len(request.job_hash)} bytes")
            if not (math.isfinite(request.epsilon) and math.isfinite(request.delta)):
                raise errors.DPParameterError("epsilon and delta must be finite")
            signed = self._ledger().grant(
                request.principal, request.dataset, request.epsilon, request.delta, request.job_hash.hex(),
                request.protocol, key=self._key, ttl=request.ttl_seconds or self._ttl)
            return budget_pb2.Grant(body=signed.body, signature=signed.signature)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, the server keeps running
            if isinstance(exc, errors.BudgetExceeded):
                log.info("refused: %s", exc)
            self._fail(context, exc)

    def RedeemGrant(self, request, context):
        try:
            holder = self._check_redeemer(context)
            if len(request.job_hash) != 32:
                raise errors.DPParameterError("job_hash must be 32 bytes")
            signed = g.SignedGrant(bytes(request.grant.body), bytes(request.grant.signature))
            seq, body = self._ledger().redeem(signed, self._public, job_hash=request.job_hash.hex(),
                                              dataset=request.dataset, job_id=request.job_id, holder=holder,
                                              hold=self._hold)
            return budget_pb2.RedeemReply(grant_id=body.grant_id, ledger_seq=seq)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc)

    def CommitGrant(self, request, context):
        try:
            if self.bind_principal:
                self._check_redeemer(context)
            if len(request.job_hash) != 32:
                raise errors.DPParameterError("job_hash must be 32 bytes")
            if not (math.isfinite(request.epsilon) and math.isfinite(request.delta)):
                raise errors.DPParameterError("epsilon and delta must be finite")
            r = self._ledger().commit(request.grant_id, job_hash=request.job_hash.hex(), epsilon=request.epsilon,
                                      delta=request.delta, output=request.output, job_id=request.job_id,
                                      check=self._holder_check(context, clients=False), hold=self._hold,
                                      thresholds=self._thresholds)
            for a in r.alerts:
                log.warning("budget alert: %s", a.message())
            return budget_pb2.CommitReply(ledger_seq=r.seq, committed_epsilon=r.committed_epsilon,
                                          committed_delta=r.committed_delta, closed=r.closed)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc)

    def ReleaseGrant(self, request, context):
        try:
            if len(request.job_hash) != 32:
                raise errors.DPParameterError("job_hash must be 32 bytes")
            r = self._ledger().release(request.grant_id, job_hash=request.job_hash.hex(), reason=request.reason,
                                       job_id=request.job_id, check=self._holder_check(context, clients=True))
            return budget_pb2.ReleaseReply(ledger_seq=r.seq, refunded_epsilon=r.refunded_epsilon,
                                           refunded_delta=r.refunded_delta, state=r.state)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc)

    def GetStatus(self, request, context):
        try:
            levels = self._ledger().status(request.principal, request.dataset)
            return budget_pb2.StatusReply(levels=[
                budget_pb2.Level(scope=lv.scope, dataset=lv.dataset, total_limit=lv.total_limit,
                                 total_spent=lv.total_spent, period_limit=lv.period_limit,
                                 period_spent=lv.period_spent, period=lv.period, delta_limit=lv.delta_limit,
                                 delta_spent=lv.delta_spent, total_reserved=lv.total_reserved,
                                 delta_reserved=lv.delta_reserved) for lv in levels])
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc)

    def GetPublicKey(self, request, context):
        return budget_pb2.PublicKeyReply(public_key=self._public)

    def GetLedgerHead(self, request, context):
        try:
            with self._verified_lock:
                anchor = self._verified
            rows, head = self._ledger().head_after(int(request.rows), anchor=anchor)
            with self._verified_lock:
                if rows > self._verified[0]:
                    self._verified = (rows, head)
            signed = sign_head(self._key, head, rows)
            return budget_pb2.LedgerHead(body=signed.body, signature=signed.signature)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, errors.LedgerTampered):
                log.error("refused to sign a ledger head: %s", exc)
            self._fail(context, exc)


def build_server(service: BudgetService, address: str, *, tls: TlsFiles | None = None, insecure: bool = False,
                 max_workers: int = 16) -> tuple[grpc.Server, int, health.HealthServicer]:
    """A server bound to `address`, not yet started; returns it, the bound port and its health
    servicer (already SERVING for "" and "dp.v1.Budget"; set NOT_SERVING before stopping)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ])
    budget_pb2_grpc.add_BudgetServicer_to_server(service, server)
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ("", HEALTH_SERVICE):
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    if tls is not None:
        port = server.add_secure_port(address, mtls.server_credentials(tls.load()))
    elif insecure:
        log.warning("budget service on %s WITHOUT TLS (--insecure): grants and budgets travel in the clear; "
                    "use only for local experiments", address)
        port = server.add_insecure_port(address)
    else:
        raise errors.DPParameterError("the budget service needs TLS files (--tls-cert/--tls-key/--tls-ca) or an "
                                      "explicit --insecure")
    if port == 0:
        raise errors.DPParameterError(f"cannot listen on {address}")
    return server, port, checker


def serve(service: BudgetService, address: str, *, tls: TlsFiles | None = None, insecure: bool = False,
          announce=print) -> None:
    """Run until SIGTERM/SIGINT; announces 'listening on HOST:PORT' once bound."""
    server, port, checker = build_server(service, address, tls=tls, insecure=insecure)
    server.start()
    host = address.rsplit(":", 1)[0]
    announce(f"budget service listening on {host}:{port}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    checker.enter_graceful_shutdown()     # NOT_SERVING for every service name, then stop
    server.stop(grace=2.0).wait()
