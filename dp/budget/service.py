"""The budget gRPC service (`dp.v1.Budget`): grants, redemptions and status over one ledger file.

What it serves: `RequestGrant` (check-and-debit in one SQLite transaction, then an Ed25519
grant), `RedeemGrant` (single use, recorded in the ledger), `GetStatus`, `GetPublicKey`,
`GetLedgerHead` (the hash-chain head after N rows, recomputed and signed: `dp.budget.heads`).
A synchronous gRPC server with a thread pool; every worker thread has its own SQLite
connection, and `BEGIN IMMEDIATE` serialises the writers (also across processes sharing the
file). Every request is validated (sizes, formats, ranges) before it touches the ledger;
errors go back as gRPC status codes with the `dp-error` trailer naming the exception class.

Security: mutual TLS with the deployment's certificates (`mpc certs init --budget` gives the
server certificate `budget-service`; the CA that signs the nodes' and clients' certificates; a
caller without a certificate from that CA is refused by the TLS handshake; credentials come from
`mpc.net.tls`). With TLS the grant's principal is bound to the caller's certificate: a
`client-<name>` certificate may request grants only for principals whose last segment is
`<name>`, other certificates (nodes included) may not request grants at all, and only node
certificates may redeem them (`bind_principal=False` lifts both, for PKIs named otherwise).
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

from dp import errors
from dp.budget import grants as g
from dp.budget.heads import sign_head
from dp.budget.ledger import Ledger
from dp.v1 import budget_pb2, budget_pb2_grpc
from mpc.net import tls as mtls

log = logging.getLogger("dp.budget")

MAX_MESSAGE_BYTES = 64 * 1024

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
                 default_ttl: int = 600, sync: str = "normal", bind_principal: bool = False):
        self.bind_principal = bind_principal
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

    def _check_redeemer(self, context) -> None:
        if not self.bind_principal:
            return
        ident = self._caller(context)
        if ident is None or not ident.is_node:
            raise errors.GrantRefused(f"only node certificates may redeem grants; the caller presented "
                                      f"{ident.name if ident else 'no certificate'!r}")

    def RequestGrant(self, request, context):
        try:
            self._check_requester(context, request.principal)
            if len(request.job_hash) != 32:
                raise errors.DPParameterError(f"job_hash must be the 32-byte SHA-256 of the job spec, "
                                              f"got {len(request.job_hash)} bytes")
            if not (math.isfinite(request.epsilon) and math.isfinite(request.delta)):
                raise errors.DPParameterError("epsilon and delta must be finite")
            signed, alerts = self._ledger().grant(
                request.principal, request.dataset, request.epsilon, request.delta, request.job_hash.hex(),
                request.protocol, key=self._key, ttl=request.ttl_seconds or self._ttl, thresholds=self._thresholds)
            for a in alerts:
                log.warning("budget alert: %s", a.message())
            return budget_pb2.Grant(body=signed.body, signature=signed.signature)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, the server keeps running
            if isinstance(exc, errors.BudgetExceeded):
                log.info("refused: %s", exc)
            self._fail(context, exc)

    def RedeemGrant(self, request, context):
        try:
            self._check_redeemer(context)
            if len(request.job_hash) != 32:
                raise errors.DPParameterError("job_hash must be 32 bytes")
            signed = g.SignedGrant(bytes(request.grant.body), bytes(request.grant.signature))
            seq, body = self._ledger().redeem(signed, self._public, job_hash=request.job_hash.hex(),
                                              dataset=request.dataset)
            return budget_pb2.RedeemReply(grant_id=body.grant_id, ledger_seq=seq)
        except Exception as exc:  # noqa: BLE001
            self._fail(context, exc)

    def GetStatus(self, request, context):
        try:
            levels = self._ledger().status(request.principal, request.dataset)
            return budget_pb2.StatusReply(levels=[
                budget_pb2.Level(scope=lv.scope, dataset=lv.dataset, total_limit=lv.total_limit,
                                 total_spent=lv.total_spent, period_limit=lv.period_limit,
                                 period_spent=lv.period_spent, period=lv.period, delta_limit=lv.delta_limit,
                                 delta_spent=lv.delta_spent) for lv in levels])
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
                 max_workers: int = 16) -> tuple[grpc.Server, int]:
    """A started-ready (not yet started) server bound to `address`; returns it and the bound port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ])
    budget_pb2_grpc.add_BudgetServicer_to_server(service, server)
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
    return server, port


def serve(service: BudgetService, address: str, *, tls: TlsFiles | None = None, insecure: bool = False,
          announce=print) -> None:
    """Run until SIGTERM/SIGINT; announces 'listening on HOST:PORT' once bound."""
    server, port = build_server(service, address, tls=tls, insecure=insecure)
    server.start()
    host = address.rsplit(":", 1)[0]
    announce(f"budget service listening on {host}:{port}")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=2.0).wait()
