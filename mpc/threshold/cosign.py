"""Co-signed statements: what the nodes sign with a threshold (FROST) key, and how to check it.

A statement is the bytes `PREFIX + canonical JSON` (sorted keys, no spaces, UTF-8), signed as
an ordinary Ed25519 message under the key's group public key, so any Ed25519 verifier checks
it (e.g. `cryptography`'s `Ed25519PublicKey.from_public_bytes(group_key).verify(sig, message)`).
Two types:

- "job-result": `{"type", "key_id", "job_id", "protocol", "spec_hash", "results"}` where
  `results[party]` is SHA-256(b"mpc-cosign-result-v1" || salt || result JSON) of that party's
  output (null at parties without output). The salt (32 random bytes, chosen by the output
  party) is returned only with that party's result, so the other parties, which see only the
  digest, learn nothing about outputs not meant for them (a bare hash of a small result, such
  as a count, could be guessed).
- "budget-ledger-head": `{"type", "key_id", "head", "rows"}`: the budget ledger's hash-chain
  head after `rows` rows (as `mpc budget verify` prints them). The nodes sign it only after each
  has fetched the budget service's own signed statement of the head after `rows` rows
  (`dp.budget.heads`), verified it with the service key pinned in its [budget] section and
  found the same head (protocol `cosign_head`). So it attests: t+1 nodes saw the service sign
  this head for this row count. It does not attest that the rows are true or that the service
  host is honest; it lets anyone detect a later rewrite of the ledger (a rewritten chain no
  longer leads to the co-signed head after `rows` rows). Statements without "rows" came from
  versions whose nodes checked nothing, and `parse` refuses them.

The client-facing signing protocol refuses any message that starts with `RESERVED`, so a
co-signed statement can only come from the co-signing paths (job end, `mpc keys cosign`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Mapping

from mpc.errors import CheatingDetected, ParameterError, ProtocolAbort
from mpc.threshold import frost

RESERVED = b"mpc-cosign"
PREFIX = b"mpc-cosign-v1\n"
JOB_RESULT = "job-result"
LEDGER_HEAD = "budget-ledger-head"
SALT_BYTES = 32


def _statement(body: dict) -> bytes:
    return PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def result_digest(salt: bytes, result_json: str) -> str:
    """The salted digest of one party's result JSON (hex)."""
    return hashlib.sha256(b"mpc-cosign-result-v1" + bytes(salt) + result_json.encode()).hexdigest()


def job_result_message(*, key_id: str, job_id: str, protocol: str, spec_hash: str,
                       results: Mapping[int, str | None]) -> bytes:
    return _statement({"type": JOB_RESULT, "key_id": key_id, "job_id": job_id, "protocol": protocol,
                       "spec_hash": spec_hash, "results": {str(p): d for p, d in sorted(results.items())}})


def ledger_head_message(*, key_id: str, head: str, rows: int) -> bytes:
    return _statement({"type": LEDGER_HEAD, "key_id": key_id, "head": head.lower(), "rows": int(rows)})


def _check_ledger_head(body: dict) -> None:
    head, rows = body.get("head"), body.get("rows")
    if set(body) != {"type", "key_id", "head", "rows"}:
        raise ParameterError(f"ledger-head statement has fields {sorted(body)}, expected head, key_id, rows, type "
                             "(statements without rows were signed without checking the budget service)")
    if not (isinstance(head, str) and len(head) == 64 and all(c in "0123456789abcdef" for c in head)):
        raise ParameterError("ledger-head statement's head is not 64 lowercase hex characters")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ParameterError("ledger-head statement's rows is not a positive integer")


def parse(message: bytes) -> dict:
    """The JSON body of a statement (refuses anything else)."""
    if not message.startswith(PREFIX):
        raise ParameterError("not a co-signed statement (it does not start with 'mpc-cosign-v1')")
    try:
        body = json.loads(message[len(PREFIX):])
    except ValueError:
        raise ParameterError("co-signed statement is not JSON") from None
    if not isinstance(body, dict) or body.get("type") not in (JOB_RESULT, LEDGER_HEAD):
        raise ParameterError("co-signed statement of unknown type")
    if body["type"] == LEDGER_HEAD:
        _check_ledger_head(body)
    return body


def check_job_cosignature(job_id: str, spec_hash: str, entries: Mapping[int, tuple[str, str]]) -> dict:
    """Check a job's co-signature as the nodes returned it; returns the combined record.

    `entries[node] = (that node's co-signature record (JSON; "" if it returned none), that
    node's raw result JSON)`; the returned record's "nodes" holds every node's parsed record.
    A node that returned a result but no co-signature is refused. Checks
    that every node returned the same statement and signature, that the statement names this
    job and spec hash, that the Ed25519 signature verifies under the group key, and that every
    returned result matches its digest in the statement. Raises `ProtocolAbort` /
    `CheatingDetected` naming the node at fault.
    """
    if not entries:
        raise ParameterError(f"job {job_id}: no co-signature to check")
    parsed = {}
    for node, (text, result_json) in entries.items():
        if not text:
            if result_json:
                raise ProtocolAbort(f"job {job_id}: node {node} returned a result without the co-signature the "
                                    "other nodes made", party=node, job=job_id)
            continue  # e.g. the dealer, which takes no part in signing
        try:
            rec = json.loads(text)
            if not isinstance(rec, dict):
                raise ValueError
        except ValueError:
            raise ProtocolAbort(f"job {job_id}: node {node} returned a malformed co-signature record",
                                party=node, job=job_id) from None
        parsed[node] = (rec, result_json)
    if not parsed:
        raise ParameterError(f"job {job_id}: no co-signature to check")
    entries = parsed
    first = min(entries)
    ref = entries[first][0]
    for node, (cos, _) in sorted(entries.items()):
        for k in ("message", "signature", "group_public_key"):
            if cos.get(k) != ref.get(k):
                raise ProtocolAbort(f"job {job_id}: nodes {first} and {node} report different co-signature "
                                    f"{k}s", party=node, job=job_id)
    try:
        message, sig = bytes.fromhex(ref["message"]), bytes.fromhex(ref["signature"])
        group_key = bytes.fromhex(ref["group_public_key"])
        body = parse(message)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolAbort(f"job {job_id}: node {first} returned a malformed co-signature ({exc})",
                            party=first, job=job_id) from None
    if body["type"] != JOB_RESULT or body.get("job_id") != job_id or \
            not hmac.compare_digest(str(body.get("spec_hash", "")), spec_hash):
        raise ProtocolAbort(f"job {job_id}: the co-signed statement names job {body.get('job_id')!r} / spec "
                            f"{str(body.get('spec_hash'))[:16]}..., not this job", party=first, job=job_id)
    if not frost.verify_signature(group_key, message, sig):
        raise CheatingDetected(f"job {job_id}: the co-signature does not verify under group key {group_key.hex()}",
                               party=first, job=job_id)
    results = body.get("results")
    if not isinstance(results, dict):
        raise ProtocolAbort(f"job {job_id}: the co-signed statement has no result digests", party=first, job=job_id)
    for node, (cos, result_json) in sorted(entries.items()):
        want = results.get(str(node))
        if not result_json:
            continue
        try:
            got = result_digest(bytes.fromhex(str(cos.get("result_salt", ""))), result_json)
        except ValueError:
            got = ""
        if want is None or not hmac.compare_digest(got, str(want)):
            raise CheatingDetected(f"job {job_id}: node {node}'s result does not match the digest the parties "
                                   "co-signed for it", party=node, job=job_id)
    return {"key_id": body.get("key_id"), "group_public_key": ref["group_public_key"], "message": ref["message"],
            "signature": ref["signature"], "signers": ref.get("signers"), "results": results,
            "nodes": {node: rec for node, (rec, _) in entries.items()}}
