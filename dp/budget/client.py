"""Client of the budget service: request (reserve), redeem, commit, release, status, public key,
signed ledger head.

Every failure the service reports comes back as the same `dp.errors` exception the service
raised (named in the `dp-error` trailer); transport failures raise BudgetServiceUnavailable.
"""

from __future__ import annotations

import hashlib

import grpc

from dp import errors
from dp.budget.grants import SignedGrant
from dp.budget.heads import SignedHead
from dp.budget.service import MAX_MESSAGE_BYTES, TlsFiles
from dp.v1 import budget_pb2, budget_pb2_grpc
from mpc.net import tls as mtls

_ERRORS = {cls.__name__: cls for cls in (
    errors.BudgetExceeded, errors.NoBudget, errors.GrantReused, errors.GrantExpired, errors.GrantForged,
    errors.GrantMismatch, errors.GrantRefused, errors.GrantInvalid, errors.DPParameterError, errors.LedgerError,
    errors.LedgerTampered)}


def job_hash_bytes(job_hash: bytes | str) -> bytes:
    """32 bytes from raw bytes or 64 hex characters."""
    raw = bytes.fromhex(job_hash) if isinstance(job_hash, str) else bytes(job_hash)
    if len(raw) != 32:
        raise errors.DPParameterError(f"job hash must be 32 bytes (64 hex characters), got {len(raw)} bytes")
    return raw


def spec_hash(spec: bytes) -> bytes:
    """SHA-256 of a canonical job spec."""
    return hashlib.sha256(spec).digest()


class BudgetClient:
    """A connection to one budget service (mutual TLS, or plaintext with insecure=True)."""

    def __init__(self, address: str, *, tls: TlsFiles | mtls.TlsFiles | None = None, insecure: bool = False,
                 timeout: float = 10.0, server_name: str | None = None):
        opts = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        if tls is not None:
            # TlsFiles (paths) or the PEM bytes a node has already loaded (its key may be an encrypted entry)
            creds = mtls.channel_credentials(tls if isinstance(tls, mtls.TlsFiles) else tls.load())
            if server_name:
                opts.append(("grpc.ssl_target_name_override", server_name))
            self._channel = grpc.secure_channel(address, creds, options=opts)
        elif insecure:
            self._channel = grpc.insecure_channel(address, options=opts)
        else:
            raise errors.DPParameterError("connecting to the budget service needs TLS files or an explicit insecure=True")
        self._stub = budget_pb2_grpc.BudgetStub(self._channel)
        self.address = address
        self.timeout = timeout

    def close(self) -> None:
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as exc:
            name = dict(exc.trailing_metadata() or ()).get("dp-error")
            if name in _ERRORS:
                raise _ERRORS[name](exc.details()) from None
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise errors.BudgetServiceUnavailable(
                    f"budget service at {self.address} did not answer ({exc.code().name}: {exc.details()}); "
                    f"check that it runs and that the TLS certificates match") from None
            raise errors.DPError(f"budget service at {self.address}: {exc.code().name}: {exc.details()}") from None

    def request_grant(self, principal: str, dataset: str, epsilon: float, delta: float, job_hash: bytes | str,
                      protocol: str, ttl: int = 0) -> SignedGrant:
        reply = self._call(self._stub.RequestGrant, budget_pb2.GrantRequest(
            principal=principal, dataset=dataset, epsilon=epsilon, delta=delta, job_hash=job_hash_bytes(job_hash),
            protocol=protocol, ttl_seconds=ttl))
        return SignedGrant(bytes(reply.body), bytes(reply.signature))

    def redeem(self, grant: SignedGrant, job_hash: bytes | str, dataset: str, job_id: str = "") -> tuple[str, int]:
        """Claim the grant for one job (single use); (grant id, ledger row)."""
        reply = self._call(self._stub.RedeemGrant, budget_pb2.RedeemRequest(
            grant=budget_pb2.Grant(body=grant.body, signature=grant.signature), job_hash=job_hash_bytes(job_hash),
            dataset=dataset, job_id=job_id))
        return reply.grant_id, reply.ledger_seq

    def commit(self, grant_id: str, job_hash: bytes | str, epsilon: float, delta: float, *, output: str = "",
               job_id: str = "") -> dict:
        """Charge the reservation up to the cumulative (`epsilon`, `delta`); {ledger_seq, committed_epsilon,
        committed_delta, closed}. Safe to retry: the same totals charge nothing more."""
        r = self._call(self._stub.CommitGrant, budget_pb2.CommitRequest(
            grant_id=grant_id, job_hash=job_hash_bytes(job_hash), epsilon=float(epsilon), delta=float(delta),
            output=output, job_id=job_id))
        return {"ledger_seq": r.ledger_seq, "committed_epsilon": r.committed_epsilon,
                "committed_delta": r.committed_delta, "closed": r.closed}

    def release(self, grant_id: str, job_hash: bytes | str, *, reason: str = "", job_id: str = "") -> dict:
        """Close the reservation, refunding what was not committed; {ledger_seq, refunded_epsilon,
        refunded_delta, state}. A closed reservation is left as it is (ledger_seq 0)."""
        r = self._call(self._stub.ReleaseGrant, budget_pb2.ReleaseRequest(
            grant_id=grant_id, job_hash=job_hash_bytes(job_hash), reason=reason[:500], job_id=job_id))
        return {"ledger_seq": r.ledger_seq, "refunded_epsilon": r.refunded_epsilon,
                "refunded_delta": r.refunded_delta, "state": r.state}

    def status(self, principal: str, dataset: str) -> list[dict]:
        """Every budget level covering the principal and dataset: limits, spent, and held by reservations."""
        reply = self._call(self._stub.GetStatus, budget_pb2.StatusRequest(principal=principal, dataset=dataset))
        return [{f: getattr(lv, f) for f in ("scope", "dataset", "total_limit", "total_spent", "period",
                                             "period_limit", "period_spent", "delta_limit", "delta_spent",
                                             "total_reserved", "delta_reserved")}
                for lv in reply.levels]

    def public_key(self) -> bytes:
        return bytes(self._call(self._stub.GetPublicKey, budget_pb2.PublicKeyRequest()).public_key)

    def ledger_head(self, rows: int = 0) -> SignedHead:
        """The service's signed ledger head after `rows` rows (0: the current head); not yet verified
        (`dp.budget.heads.verify_head` does that with the pinned key)."""
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows < 2**63:
            raise errors.DPParameterError(f"rows must be an integer 0..2^63-1 (0: the current head), got {rows!r}")
        reply = self._call(self._stub.GetLedgerHead, budget_pb2.LedgerHeadRequest(rows=rows))
        return SignedHead(bytes(reply.body), bytes(reply.signature))
