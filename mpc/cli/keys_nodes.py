"""`mpc keys dkg|sign|decrypt|cosign --config client.toml`: the key protocols run by the nodes.

Each action submits one job of a registered protocol (`mpc.threshold.protocols`) and prints
its public result; the key shares never leave the nodes' key stores.
"""

from __future__ import annotations

import json
from pathlib import Path


def _job(args, protocol: str, params: dict, parties: list[int] | None):
    from mpc.client import Client
    from mpc.errors import ParameterError

    if not args.key_id:
        raise ParameterError("--config needs --key-id (the key's id in the nodes' key stores)")
    with Client.from_config(args.config, insecure=args.insecure) as client:
        # the node a job is submitted to coordinates it, so it must be one of the job's parties
        return client.run(protocol, {}, {"key_id": args.key_id, **params}, parties=parties,
                          timeout_s=args.timeout, node=parties[0] if parties else None)


def _parties(text: str | None):
    from mpc.cli.keys import _party_list

    return None if not text else _party_list(text)


def dkg_nodes(args) -> int:
    out = _job(args, "dkg", {"threshold": args.threshold}, _parties(args.parties)).result
    print(f"key id: {out['key_id']}")
    print(f"group public key: {out['group_public_key']}")
    print(f"parties: {out['parties']}, threshold t={out['threshold']} (any {out['threshold'] + 1} suffice); "
          "each share is in its node's key store")
    for d, why in out.get("excluded", {}).items():
        print(f"warning: party {d} was excluded as a dealer: {why}")
    if args.out is not None:
        from mpc.cli.keys import PUBLIC

        pub = {k: out[k] for k in ("n", "threshold", "group_public_key", "verification_shares")}
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / PUBLIC).write_text(json.dumps(pub, indent=1) + "\n")
        print(f"public key info: {Path(args.out) / PUBLIC}")
    return 0


def sign_nodes(args) -> int:
    from mpc.cli.keys import _hex

    msg = _hex(args.message, "--message").hex()
    out = _job(args, "frost_sign", {"message": msg}, _parties(args.signers)).result
    print(f"group public key: {out['group_public_key']}")
    print(f"signature: {out['signature']}")
    return 0


def decrypt_nodes(args) -> int:
    import sys

    from mpc.cli.keys import _hex

    ct = _hex(args.ciphertext, "--ciphertext").hex()
    out = _job(args, "threshold_decrypt", {"ciphertext": ct}, _parties(args.decryptors)).result
    for p, why in out.get("rejected", {}).items():
        print(f"warning: party {p}'s partial decryption was rejected: {why}", file=sys.stderr)
    print(out["plaintext"])
    return 0


def _service_head(args, rows: int):
    """The budget service's signed head after `rows` rows (0: current), from the client config's [budget],
    verified with the public key the service gives over the same mutual-TLS channel (GetPublicKey)."""
    from dp.budget.client import BudgetClient
    from dp.budget.heads import verify_head
    from mpc.errors import ParameterError
    from mpc.keystore import env_passphrase
    from mpc.net import tls as mtls
    from mpc.node.config import load_client_config

    cfg = load_client_config(args.config, insecure=args.insecure)
    if cfg.budget is None:
        raise ParameterError(f"{cfg.path} has no [budget] section: add one (address, principal of the privacy-budget "
                             "service) to fetch the ledger head, or give --head HEX --rows N")
    t = cfg.tls
    tls = None if args.insecure or t is None else mtls.TlsFiles.load(   # as mpc.client loads it (encrypted keys too)
        t.ca, t.certificate, t.key, passphrase=lambda: env_passphrase(f"{cfg.path}: the client key {t.key}"))
    with BudgetClient(cfg.budget.address, tls=tls, insecure=tls is None, server_name=cfg.budget.server_name) as c:
        public = c.public_key()
        signed = c.ledger_head(rows)
    return verify_head(signed, public, rows=rows or None), signed, public


def _check_cosigned(out: dict, key_id: str, head: str, rows: int) -> None:
    """The nodes' statement is the one asked for and its signature verifies under their group key."""
    from mpc.errors import CheatingDetected
    from mpc.threshold import cosign, frost

    want = cosign.ledger_head_message(key_id=key_id, head=head, rows=rows)
    try:
        ok = bytes.fromhex(out["message"]) == want and frost.verify_signature(
            bytes.fromhex(out["group_public_key"]), want, bytes.fromhex(out["signature"]))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise CheatingDetected(f"the nodes returned a co-signature that is not a valid signature of the head {head} "
                               f"after {rows} rows under their group key; do not use it")


def cosign_nodes(args) -> int:
    from mpc.cli.keys import _hex
    from mpc.errors import ParameterError

    rows = args.rows
    if rows is not None and rows < 1:
        raise ParameterError(f"--rows must be at least 1 (the row count the head is after), got {rows}")
    if args.head is not None:
        head = _hex(args.head, "--head")
        if len(head) != 32:
            raise ParameterError(f"--head must be a ledger head: 32 bytes (64 hex characters), got {len(head)} bytes")
        if rows is None:
            raise ParameterError("--head needs --rows N, the row count the head is after (`mpc budget verify` "
                                 "prints both)")
        head = head.hex()
    else:
        body, signed, public = _service_head(args, rows or 0)
        if body.rows == 0:
            raise ParameterError("the budget ledger is empty: there is no head to co-sign yet")
        head, rows = body.head, body.rows
        print(f"budget service key: {public.hex()}")
    out = _job(args, "cosign_head", {"head": head, "rows": rows}, _parties(args.signers)).result
    _check_cosigned(out, args.key_id, head, rows)
    print(f"head: {out['head']}")
    print(f"rows: {out['rows']}")
    print(f"statement: {out['message']}")
    print(f"signature: {out['signature']}")
    print(f"group public key: {out['group_public_key']}")
    print(f"signers: {','.join(str(p) for p in out['signers'])}")
    if out.get("service_statement"):
        print(f"service statement: {out['service_statement']}")
        print(f"service signature: {out['service_signature']}")
    return 0
