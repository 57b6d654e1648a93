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


def cosign_nodes(args) -> int:
    from mpc.cli.keys import _hex

    head = _hex(args.message, "--message").hex()
    out = _job(args, "cosign_head", {"head": head}, _parties(args.signers)).result
    print(f"head: {out['head']}")
    print(f"statement: {out['message']}")
    print(f"signature: {out['signature']}")
    print(f"group public key: {out['group_public_key']}")
    print(f"signers: {','.join(str(p) for p in out['signers'])}")
    return 0
