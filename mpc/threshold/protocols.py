"""Threshold keys run by the nodes: DKG, FROST signing, threshold decryption, ledger-head co-signing.

What it computes (registered protocols; the job's compute parties are the key's parties,
the signers or the decryptors, named by the client):
- `dkg` {key_id, threshold}: a Pedersen/Feldman DKG (`mpc.threshold.dkg`) among the job's
  parties, which must be roster parties 0..n-1. Each node stores its own key share, the group
  key and every verification share in its encrypted key store (`JobContext.keystore`, a
  `mpc.threshold.store.ShareStore`) as entry `key_id`; the result is public values only
  (group key, n, t, verification shares).
- `frost_sign` {key_id, message}: FROST(Ed25519, SHA-512) by the job's parties (any t+1 of
  the key's parties), each loading its share from its key store; result: the Ed25519
  signature. Messages that start with "mpc-cosign" are refused (reserved for co-signed
  statements, `mpc.threshold.cosign`), and so is the node's own co-signing key.
- `threshold_decrypt` {key_id, ciphertext}: hybrid ElGamal decryption (`mpc.threshold.elgamal`)
  by the job's parties; result: the plaintext.
- `cosign_head` {key_id, head, rows}: FROST signature on the "budget-ledger-head" statement
  (`mpc.threshold.cosign.ledger_head_message`) that the budget ledger's hash chain had head
  `head` after `rows` rows. Before its key share is unlocked, every party fetches the budget
  service's signed head after `rows` rows from the service in its own [budget] section (mutual
  TLS with its node certificate), verifies the signature under the service key it pins there,
  and compares the head with `head` in constant time; a party without [budget], one that cannot
  reach the service, one whose check fails, or one that finds another head reports why in the
  status round, and every party then refuses the job with the same error (naming the party,
  the head it was given and the head the service reports). Result: the statement, the
  signature, the group key, and the coordinator's own copy of the service's signed head.
Before any of them, every party announces whether it can take part (key store configured;
key absent for a DKG, present and consistent for the others); if any cannot, every party
stops with the same error naming it, before any key material moves.

Outputs are exact (dp_exempt): public keys, signatures and plaintexts are what these jobs
are for; they use no dataset.

Security: as the underlying protocols: DKG secrecy against t colluding parties with cheating
dealers excluded (echo-broadcast with abort); FROST unforgeable with at most t corrupt
signers, identifiable abort (RFC 9591 section 7); decryption partials proven correct
(Chaum-Pedersen), the group secret never reconstructed. Trusted: each node's key store and
passphrase (a node that leaks its share counts as corrupt), and the roster clients, who may
ask the nodes to sign or decrypt (job approval is the node operator's choice of clients).
A co-signed ledger head attests that t+1 nodes (at most t of them corrupt, semi-honest: each
runs the check it is given) each saw the budget service sign that head for that row count; the
service is trusted to sign only its own ledger's recomputed head. It does not attest that the
ledger's rows are true, nor anything against a corrupt service host or key, and it names no
time beyond each node's fetch.
References: Pedersen, EUROCRYPT 1991, section 5; Gennaro et al., J. Cryptology 2007; RFC 9591
sections 5.1-5.4; Shoup-Gennaro, J. Cryptology 2002, section 3.
Cost: one status round (a party sends (s-1) messages of < 1 KiB) plus the protocol's own:
DKG 4 rounds, (n-1)((t+1)32 + 96) bytes of deals plus echoes, and one more status round after
storing; signing 2 rounds, (s-1)*160 bytes; decryption 1 round, (s-1)*96 bytes per ciphertext;
each key use also one scrypt key-store unlock per party (about 1 s at the default cost);
`cosign_head` also one GetLedgerHead call per party to the budget service (< 1 KiB).
"""

from __future__ import annotations

import asyncio
import hmac
import json

from mpc.errors import MPCError, ParameterError, ProtocolAbort
from mpc.net import Comm
from mpc.protocols.registry import JobContext, Protocol
from mpc.threshold import cosign, elgamal
from mpc.threshold.dkg import dkg
from mpc.threshold.keys import KeyShare
from mpc.threshold.signing import frost_sign
from mpc.threshold.store import check_key_id

MAX_MESSAGE = 1 << 16
MAX_CIPHERTEXT = 1 << 18  # hex in the job spec, which peers accept up to 1 MiB
MAX_STATUS = 4096
EXEMPT = "exact outputs are the purpose: public keys, signatures and plaintexts requested by a roster client"


# ------------------------------------------------------------------ parameters
def _known(params: dict, allowed: set[str], what: str) -> None:
    unknown = set(params) - allowed
    if unknown:
        raise ParameterError(f"unknown {what} parameters {sorted(unknown)} (allowed: {sorted(allowed)})")


def _hex_param(params: dict, key: str, limit: int, *, minimum: int = 1) -> str:
    v = params.get(key)
    try:
        raw = bytes.fromhex(v) if isinstance(v, str) else None
    except ValueError:
        raw = None
    if raw is None or not minimum <= len(raw) <= limit:
        raise ParameterError(f"parameter {key!r} must be hex of {minimum}..{limit} bytes")
    return raw.hex()


def check_dkg(params: dict) -> dict:
    _known(params, {"key_id", "threshold"}, "dkg")
    t = params.get("threshold")
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < 1024:
        raise ParameterError("parameter 'threshold' must be an integer t >= 0 (any t+1 parties suffice, t may "
                             "collude)")
    return {"key_id": check_key_id(params.get("key_id")), "threshold": t}


def check_sign(params: dict) -> dict:
    _known(params, {"key_id", "message"}, "frost_sign")
    msg = _hex_param(params, "message", MAX_MESSAGE, minimum=0)
    if bytes.fromhex(msg).startswith(cosign.RESERVED):
        raise ParameterError("messages that start with 'mpc-cosign' are co-signed statements; the nodes make "
                             "those only at the end of a job or with `mpc keys cosign`")
    return {"key_id": check_key_id(params.get("key_id")), "message": msg}


def check_decrypt(params: dict) -> dict:
    _known(params, {"key_id", "ciphertext"}, "threshold_decrypt")
    ct = _hex_param(params, "ciphertext", MAX_CIPHERTEXT)
    elgamal.hybrid_c1(bytes.fromhex(ct))  # a malformed ciphertext is refused before the job starts
    return {"key_id": check_key_id(params.get("key_id")), "ciphertext": ct}


def check_cosign_head(params: dict) -> dict:
    _known(params, {"key_id", "head", "rows"}, "cosign_head")
    rows = params.get("rows")
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows < 2**63:
        raise ParameterError("parameter 'rows' must be the ledger's row count the head is after (an integer >= 1, "
                             "as `mpc budget verify` prints it)")
    return {"key_id": check_key_id(params.get("key_id")), "head": _hex_param(params, "head", 32, minimum=32),
            "rows": rows}


# ------------------------------------------------------------------ status round
async def announce(comm: Comm, status: dict) -> dict[int, dict]:
    """Every party's status (a small JSON object), this party's included; one round."""
    data = json.dumps(status, sort_keys=True).encode()
    tag = comm.tag("keys-status")
    for p in comm.others:
        await comm.send(p, tag, data)
    # all peers at once (as Comm.exchange): a peer that vanished is named at once, not after a live one's timeout
    raws = await asyncio.gather(*(comm.recv(p, tag, max_bytes=MAX_STATUS) for p in comm.others))
    got = {comm.pid: status}
    for p, raw in zip(comm.others, raws):
        try:
            got[p] = json.loads(raw)
            if not isinstance(got[p], dict):
                raise ValueError
        except ValueError:
            raise ProtocolAbort(f"job {comm.job}: party {p} sent a malformed status message", party=p,
                                job=comm.job) from None
    return got


def require_ready(comm: Comm, statuses: dict[int, dict], what: str) -> None:
    """The same error at every party if any party reported one (naming the first)."""
    bad = {p: str(s.get("error")) for p, s in sorted(statuses.items()) if s.get("error")}
    if bad:
        first = min(bad)
        raise ProtocolAbort(f"job {comm.job}: {what} cannot run: " + "; ".join(bad.values()), party=first,
                            job=comm.job)


async def _load_everywhere(ctx: JobContext, key_id: str, use: str, precheck=None) -> tuple[Comm, KeyShare]:
    """Each party loads its share; all check that every party holds the same key.

    `precheck`: an async function returning an error message or None, run by each party before
    it unlocks its share; its error is announced like any other."""
    comm = ctx.session.comm.fork("keys")
    store, me = ctx.keystore, comm.pid
    share, status = None, {}
    error = await precheck() if precheck is not None else None
    if error:
        status["error"] = error
    elif store is None:
        status["error"] = f"party {me} has no key store (add a [keystore] section to its node config)"
    elif use != "cosign" and key_id == store.cosign_key:
        status["error"] = (f"key {key_id!r} is party {me}'s co-signing key; it signs only job records and ledger "
                           "heads (mpc keys cosign)")
    else:
        try:
            share = await asyncio.to_thread(store.load, key_id)
            status = {"group_key": share.group_key.hex(), "n": share.n, "threshold": share.threshold}
        except MPCError as exc:  # the store's errors name this party
            status["error"] = str(exc)
    statuses = await announce(comm, status)
    require_ready(comm, statuses, f"{use} with key {key_id!r}")
    ref = statuses[min(statuses)]
    for p, s in sorted(statuses.items()):
        if s.get("group_key") != ref.get("group_key"):
            raise ProtocolAbort(f"job {comm.job}: party {p} holds a different key {key_id!r} (group key "
                                f"{str(s.get('group_key'))[:16]}...) than party {min(statuses)} "
                                f"({str(ref.get('group_key'))[:16]}...); the key ids must name the same DKG",
                                party=p, job=comm.job)
    return comm, share


# ------------------------------------------------------------------ protocols
async def run_dkg(ctx: JobContext) -> dict:
    p = ctx.params
    key_id, t = p["key_id"], p["threshold"]
    comm = ctx.session.comm.fork("keys")
    store, me = ctx.keystore, comm.pid
    status = {}
    if store is None:
        status["error"] = f"party {me} has no key store (add a [keystore] section to its node config)"
    elif await asyncio.to_thread(store.exists, key_id):
        status["error"] = f"party {me} already holds a key {key_id!r} (choose another key id)"
    require_ready(comm, await announce(comm, status), f"DKG of key {key_id!r}")
    result = await dkg(comm.fork("dkg"), t)
    ctx.progress(0.8, "key generated; storing the share")
    stored = {}
    try:
        await asyncio.to_thread(store.save, key_id, result.key_share)
    except (MPCError, OSError) as exc:
        stored["error"] = f"party {me} could not store its share: {exc}"
    require_ready(comm, await announce(comm, stored), f"storing key {key_id!r} (the parties that stored it keep "
                                                      "their shares; remove them or pick another key id)")
    pub = result.key_share.public()
    return {"key_id": key_id, "parties": list(comm.parties), **pub.to_dict(),
            "excluded": {str(d): why for d, why in result.excluded.items()}}


async def run_sign(ctx: JobContext) -> dict:
    key_id, msg = ctx.params["key_id"], bytes.fromhex(ctx.params["message"])
    comm, share = await _load_everywhere(ctx, key_id, "signing")
    sig = await frost_sign(comm.fork("frost"), share, msg)
    return {"key_id": key_id, "group_public_key": share.group_key.hex(), "message": msg.hex(),
            "signature": sig.hex(), "signers": list(comm.parties)}


async def run_decrypt(ctx: JobContext) -> dict:
    key_id, blob = ctx.params["key_id"], bytes.fromhex(ctx.params["ciphertext"])
    comm, share = await _load_everywhere(ctx, key_id, "decryption")
    out = await elgamal.threshold_decrypt(comm.fork("elgamal"), share, [elgamal.hybrid_c1(blob)])
    plain = elgamal.decrypt_hybrid(blob, out.shared[0])
    return {"key_id": key_id, "plaintext": plain.hex(), "decryptors": list(comm.parties),
            "rejected": {str(q): why for q, why in out.rejected.items()}}


async def _service_head(ctx: JobContext, head: str, rows: int) -> tuple[str | None, dict]:
    """(error or None, the service's signed head as JSON fields): this party's check of `head`."""
    me = ctx.session.pid
    if ctx.budget is None:
        return (f"party {me} has no [budget] section, so it cannot check ledger heads: add [budget] (address and "
                f"public_key of the privacy-budget service, `mpc budget pubkey`) to its node config"), {}
    try:
        body, signed = await asyncio.to_thread(ctx.budget.signed_head, rows)
    except MPCError as exc:  # dp errors derive from MPCError: unreachable service, bad signature, too many rows
        return f"party {me} could not get a verified ledger head after {rows} rows from the budget service: {exc}", {}
    if not hmac.compare_digest(body.head.encode(), head.encode()):
        return (f"party {me} was given head {head} after {rows} rows, but the budget service reports head "
                f"{body.head} after {rows} rows; refusing to co-sign it"), {}
    return None, {"service_statement": signed.body.decode(), "service_signature": signed.signature.hex()}


async def run_cosign_head(ctx: JobContext) -> dict:
    key_id, head, rows = ctx.params["key_id"], ctx.params["head"], ctx.params["rows"]
    seen: dict = {}

    async def check():
        error, fields = await _service_head(ctx, head, rows)
        seen.update(fields)
        return error

    comm, share = await _load_everywhere(ctx, key_id, "cosign", precheck=check)
    message = cosign.ledger_head_message(key_id=key_id, head=head, rows=rows)
    sig = await frost_sign(comm.fork("frost"), share, message)
    return {"key_id": key_id, "head": head, "rows": rows, "group_public_key": share.group_key.hex(),
            "message": message.hex(), "signature": sig.hex(), "signers": list(comm.parties), **seen}


_KEY_ID = "the key's name in each node's key store (letters, digits, . _ -; required)"

PROTOCOLS = [
    Protocol("dkg", 1, "Distributed key generation (Pedersen/Feldman, Ed25519): shares stay in each node's key store",
             run_dkg, check_dkg, needs_dealer=False, min_parties=2, dp_exempt=EXEMPT,
             parameters={"key_id": _KEY_ID, "threshold": "t: any t+1 of the job's parties can use the key, t may "
                                                         "collude (required)"},
             security="t colluding parties learn nothing; cheating dealers excluded; abort on equivocation"),
    Protocol("frost_sign", 1, "FROST(Ed25519, SHA-512) threshold signature by any t+1 key holders",
             run_sign, check_sign, needs_dealer=False, min_parties=2, dp_exempt=EXEMPT,
             parameters={"key_id": _KEY_ID, "message": f"the message in hex (at most {MAX_MESSAGE} bytes)"},
             security="unforgeable with at most t corrupt signers; identifiable abort (RFC 9591 section 7)"),
    Protocol("threshold_decrypt", 1, "Threshold ElGamal (hybrid, AES-GCM) decryption by any t+1 key holders",
             run_decrypt, check_decrypt, needs_dealer=False, min_parties=2, dp_exempt=EXEMPT,
             parameters={"key_id": _KEY_ID, "ciphertext": "the hybrid ElGamal ciphertext in hex"},
             security="partials proven correct (Chaum-Pedersen); the group secret is never reconstructed"),
    # version 2: the statement names the row count and each signer checks the head at the budget service first
    Protocol("cosign_head", 2, "FROST co-signature of a budget-ledger head each signer verified at the budget "
             "service (mpc keys cosign)",
             run_cosign_head, check_cosign_head, needs_dealer=False, min_parties=2, dp_exempt=EXEMPT,
             parameters={"key_id": _KEY_ID, "head": "the ledger head (64 hex characters, from mpc budget verify)",
                         "rows": "the ledger's row count the head is after (from mpc budget verify)"},
             security="unforgeable with at most t corrupt signers; identifiable abort (RFC 9591 section 7); each "
                      "signer checks the head against the budget service's signed statement (trusted service)"),
]

#: protocols whose jobs are not co-signed at the end (they manage or use the keys themselves)
KEY_PROTOCOLS = frozenset(p.name for p in PROTOCOLS)
