"""`mpc keys`: threshold key generation, signing, encryption and decryption; key-store care.

Through the nodes (each node keeps its own key share in its encrypted key store, the
[keystore] section of its config; see `mpc.node.keys`):

    mpc keys dkg     --config client.toml --key-id K --threshold T [--out DIR]
    mpc keys sign    --config client.toml --key-id K --signers 0,2 --message HEX
    mpc keys decrypt --config client.toml --key-id K --decryptors 0,1 --ciphertext HEX
    mpc keys cosign  --config client.toml --key-id K [--head HEX --rows N]

`mpc keys encrypt --group-key HEX` (or `--keys DIR` with the public.json that `dkg --out DIR`
writes) encrypts to a key; `mpc keys verify --group-key HEX ...` checks any signature.

For trying things out, `dkg --local N` runs the N parties in this process (every party's
key share is then in one key-store folder on this host: no threshold protection), and
`sign`/`decrypt --keys DIR` run the chosen parties in this process from that folder.
`--threshold t` means: any t+1 parties suffice, and up to t may collude without learning
the key (RFC 9591's MIN_PARTICIPANTS is t+1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

THRESHOLD_HELP = ("t: any t+1 parties suffice to sign or decrypt, and t may collude without learning "
                  "anything about the key (RFC 9591 MIN_PARTICIPANTS = t+1); 0 <= t < N")
PASS_ENV = "MPC_KEYSTORE_PASSPHRASE"
PUBLIC = "public.json"


def register(sub) -> None:
    p = sub.add_parser("keys", help="threshold keys: dkg, sign, verify, encrypt, decrypt; key-store rotate/export/import",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION")
    ks.required = True

    def common(q, keys_required=True):
        q.add_argument("--keys", type=Path, required=keys_required, help="key-store folder written by `mpc keys dkg`")
        q.add_argument("--passphrase-file", type=Path, help=f"file holding the key-store passphrase "
                       f"(else ${PASS_ENV}, else a prompt)")

    def local(q):
        q.add_argument("--local", type=int, metavar="N", help="run N parties in this process (trying out)")

    q = ks.add_parser("dkg", help="distributed key generation (Pedersen/Feldman): no party holds the key")
    local(q)
    nodes_args(q)
    q.add_argument("--threshold", type=int, required=True, help=THRESHOLD_HELP)
    q.add_argument("--out", type=Path, help="with --local (required): key-store folder for the shares and "
                   "public.json; with --config: folder for public.json")
    q.add_argument("--parties", help="with --config: the key's parties, roster ids 0..n-1 (default: every party)")
    q.add_argument("--passphrase-file", type=Path, help=f"passphrase file (else ${PASS_ENV}, else a prompt)")
    q.add_argument("--force", action="store_true", help="overwrite existing shares in --out")
    q.set_defaults(func=run_dkg)

    q = ks.add_parser("sign", help="FROST(Ed25519, SHA-512) threshold signature; prints key and signature (hex)")
    common(q, keys_required=False)
    nodes_args(q)
    q.add_argument("--signers", required=True, help="comma-separated party ids, at least t+1 (e.g. 0,2)")
    q.add_argument("--message", required=True, help="message bytes in hex")
    q.set_defaults(func=run_sign)

    q = ks.add_parser("verify", help="check an Ed25519 signature against the group key (no secrets needed)")
    q.add_argument("--keys", type=Path, help="folder with public.json (or give --group-key)")
    q.add_argument("--group-key", help="the group public key in hex (32 bytes)")
    q.add_argument("--message", required=True, help="hex")
    q.add_argument("--signature", required=True, help="hex, 64 bytes")
    q.set_defaults(func=run_verify)

    q = ks.add_parser("encrypt", help="hybrid ElGamal + AES-GCM encryption to the group key (public operation)")
    q.add_argument("--keys", type=Path, help="folder with public.json (or give --group-key)")
    q.add_argument("--group-key", help="the group public key in hex (32 bytes)")
    q.add_argument("--message", required=True, help="plaintext in hex")
    q.set_defaults(func=run_encrypt)

    q = ks.add_parser("decrypt", help="threshold decryption by t+1 parties, each partial proven correct")
    common(q, keys_required=False)
    nodes_args(q)
    q.add_argument("--decryptors", required=True, help="comma-separated party ids, at least t+1")
    q.add_argument("--ciphertext", required=True, help="ciphertext in hex (from `mpc keys encrypt`)")
    q.set_defaults(func=run_decrypt)

    q = ks.add_parser("cosign", help="have the nodes co-sign a budget-ledger head each verified at the budget "
                      "service (FROST, any t+1 nodes)",
                      description=COSIGN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    nodes_args(q, required=True)
    q.add_argument("--head", "--message", dest="head", metavar="HEAD_HEX",
                   help="the ledger head (64 hex characters) as `mpc budget verify` prints it; needs --rows "
                        "(--message is an older name of this option)")
    q.add_argument("--rows", type=int, metavar="N",
                   help="the row count the head is after (`mpc budget verify` prints it); alone: co-sign the "
                        "service's head after N rows")
    q.add_argument("--signers", help="comma-separated party ids, at least t+1 (default: every party)")
    q.set_defaults(func=run_cosign)

    q = ks.add_parser("rotate", help="re-encrypt every key-store entry under a new passphrase")
    common(q)
    q.add_argument("--new-passphrase-file", type=Path, required=True)
    q.set_defaults(func=run_rotate)

    q = ks.add_parser("export", help="write key-store entries into one encrypted bundle file")
    common(q)
    q.add_argument("--bundle", type=Path, required=True)
    q.add_argument("--bundle-passphrase-file", type=Path, required=True)
    q.add_argument("--names", help="comma-separated entries (default: all)")
    q.set_defaults(func=run_export)

    q = ks.add_parser("import", help="store the entries of an encrypted bundle in a key-store folder")
    common(q)
    q.add_argument("--bundle", type=Path, required=True)
    q.add_argument("--bundle-passphrase-file", type=Path, required=True)
    q.add_argument("--force", action="store_true")
    q.set_defaults(func=run_import)

    q = ks.add_parser("protect", help="encrypt a PEM private key (TLS key, budget signing key) into the key store")
    common(q)
    q.add_argument("--name", required=True, help="entry name: the key becomes KEYS/NAME.mpckey")
    q.add_argument("--pem", type=Path, required=True, help="the plain PEM private key file")
    q.add_argument("--remove", action="store_true", help="delete the plain file once the entry reads back")
    q.add_argument("--force", action="store_true", help="replace an existing entry")
    q.set_defaults(func=run_protect)


COSIGN_HELP = """Co-sign a budget-ledger head so that no single host can rewrite the ledger unnoticed.

Every signing node first fetches the budget service's own signed statement of the ledger's
hash-chain head after N rows (GetLedgerHead, from the service in the node's [budget] section,
over mutual TLS), verifies it with the service public key it pins there, and signs only if the
service reports the same head; otherwise every node refuses the job, naming the head it was
given and the one the service reports. A node without [budget] refuses to co-sign.

Procedure:
  1. Either let the client fetch the current head: `mpc keys cosign --config client.toml
     --key-id K` asks the budget service in the client config's [budget] section for its
     signed current head (checked with the public key the service returns over mutual TLS,
     GetPublicKey, which is printed: compare it with `mpc budget pubkey` if in doubt; the
     nodes check against the key each pins). Or give the head yourself: on the budget service
     host `mpc budget verify --db ledger.db` prints "ledger OK: N rows, ... head <HEAD>", then
     `mpc keys cosign --config client.toml --key-id K --head <HEAD> --rows N`
     (`--rows N` alone co-signs the service's head after N rows).
  2. The nodes (any t+1 holders of key K, made with `mpc keys dkg --config ... --key-id K`)
     sign the statement
       b"mpc-cosign-v1\\n" + {"head":"<head>","key_id":"K","rows":N,"type":"budget-ledger-head"}
     (canonical JSON: sorted keys, no spaces) with FROST; the command prints the head, the rows,
     the statement (hex), the signature, the group key and the service's own signed head.
  3. Keep these values outside the ledger host. Later, anyone checks them with any Ed25519
     verifier, e.g. `mpc keys verify --group-key KEY --message STATEMENT --signature SIG`,
     and checks that `mpc budget verify` still finds HEAD after N rows (a rewritten ledger has a
     different chain, so its rows no longer lead to the co-signed head).

What it attests: t+1 nodes each saw the budget service sign HEAD for N rows. Not that the
ledger's rows are true, and nothing if the service's host or signing key is corrupt.
There is no in-process (--local / --keys) variant: a co-signed head is only made by nodes
that checked it.
"""


def nodes_args(q, required: bool = False) -> None:
    """Options for running through the nodes (`--config client.toml`)."""
    q.add_argument("--config", type=Path, required=required, help="client TOML file: run through the nodes")
    q.add_argument("--key-id", help="with --config: the key's id in the nodes' key stores")
    q.add_argument("--timeout", type=float, default=0.0, help="with --config: per-wait timeout in the job (s)")
    q.add_argument("--insecure", action="store_true", help="with --config: plain text (local experiments only)")


# ------------------------------------------------------------------ helpers
def read_passphrase(path: Path | None, what: str = "key-store passphrase") -> str:
    from mpc.errors import ParameterError

    if path is not None:
        text = path.read_text().rstrip("\r\n")
    elif os.environ.get(PASS_ENV):
        text = os.environ[PASS_ENV]
    elif sys.stdin.isatty():
        import getpass

        text = getpass.getpass(f"{what}: ")
    else:
        raise ParameterError(f"no {what}: give --passphrase-file FILE or set ${PASS_ENV}")
    if not text:
        raise ParameterError(f"the {what} is empty")
    return text


def _through_nodes(args) -> bool:
    """True for --config (the nodes), False for --keys DIR (parties in this process)."""
    from mpc.errors import ParameterError

    if (args.config is None) == (args.keys is None):
        raise ParameterError("give either --config client.toml --key-id K (through the nodes) or --keys DIR "
                             "(parties in this process)")
    return args.config is not None


def _party_list(text: str) -> list[int]:
    from mpc.errors import ParameterError

    try:
        ids = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ParameterError(f"party ids are comma-separated integers, got {text!r}") from None
    if not ids:
        raise ParameterError("no party ids given")
    return ids


def _hex(text: str, what: str) -> bytes:
    from mpc.errors import ParameterError

    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ParameterError(f"{what} must be hex, got {text[:20]!r}") from None


def _public(folder: Path):
    from mpc.errors import ParameterError
    from mpc.threshold.keys import PublicKeyInfo

    path = folder / PUBLIC
    if not path.exists():
        raise ParameterError(f"{path} not found: run `mpc keys dkg ... --out {folder}` first")
    try:
        return PublicKeyInfo.from_dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise ParameterError(f"{path}: {exc}") from None


def _load_shares(args, parties: list[int]):
    from mpc.errors import ParameterError
    from mpc.keystore import KeyStore
    from mpc.threshold.keys import KeyShare

    pub = _public(args.keys)
    if any(not 0 <= p < pub.n for p in parties):
        raise ParameterError(f"party ids {parties} are not all in 0..{pub.n - 1}")
    if len(parties) < pub.threshold + 1:
        raise ParameterError(f"{len(parties)} parties given; threshold t={pub.threshold} needs any "
                             f"t+1 = {pub.threshold + 1}")
    store, pw = KeyStore(args.keys), read_passphrase(args.passphrase_file)
    keys = {}
    for p in parties:
        k = KeyShare.from_bytes(store.get(f"party{p}", pw))
        if k.public() != pub or k.party != p:
            raise ParameterError(f"key-store entry party{p} does not belong to the key in {args.keys / PUBLIC}")
        keys[p] = k
    return pub, keys


# ------------------------------------------------------------------ actions
def run_dkg(args) -> int:
    from mpc.errors import ParameterError
    from mpc.keystore import KeyStore

    if args.config is not None:
        if args.local is not None:
            raise ParameterError("give either --config (through the nodes) or --local N, not both")
        from mpc.cli.keys_nodes import dkg_nodes

        return dkg_nodes(args)
    if args.out is None:
        raise ParameterError("dkg --local N needs --out DIR (the key-store folder for the shares)")
    from mpc.threshold.dkg import dkg
    from mpc.threshold.keys import check_threshold
    from mpc.threshold.local import run_parties

    if args.local is None:
        raise ParameterError("give --config client.toml --key-id K (through the nodes) or --local N")
    n = args.local
    check_threshold(n, args.threshold)
    pw = read_passphrase(args.passphrase_file)
    results = run_parties(n, lambda c: dkg(c, args.threshold), job="keys-dkg")
    store = KeyStore(args.out)
    for r in results:
        store.put(f"party{r.key_share.party}", r.key_share.to_bytes(), pw, kind="threshold-key-share",
                  overwrite=args.force)
    pub = results[0].key_share.public()
    (args.out / PUBLIC).write_text(json.dumps(pub.to_dict(), indent=1) + "\n")
    print(f"group public key: {pub.group_key.hex()}")
    print(f"parties: {n}, threshold t={args.threshold} (any {args.threshold + 1} suffice); "
          f"shares in {args.out} (encrypted)")
    return 0


def run_sign(args) -> int:
    if _through_nodes(args):
        from mpc.cli.keys_nodes import sign_nodes

        return sign_nodes(args)
    from mpc.threshold.local import run_parties
    from mpc.threshold.signing import frost_sign

    signers = _party_list(args.signers)
    msg = _hex(args.message, "--message")
    pub, keys = _load_shares(args, signers)
    sigs = run_parties(pub.n, lambda c: frost_sign(c, keys[c.pid], msg), parties=signers, job="keys-sign")
    print(f"group public key: {pub.group_key.hex()}")
    print(f"signature: {sigs[0].hex()}")
    return 0


def run_cosign(args) -> int:
    from mpc.cli.keys_nodes import cosign_nodes

    return cosign_nodes(args)


def _group_key(args) -> bytes:
    """The group key from --group-key HEX or from --keys DIR/public.json."""
    from mpc.crypto import group as G
    from mpc.errors import ParameterError

    if (args.keys is None) == (args.group_key is None):
        raise ParameterError("give either --keys DIR (with public.json) or --group-key HEX")
    if args.group_key is not None:
        return G.decode_point(_hex(args.group_key, "--group-key"), "--group-key")
    return _public(args.keys).group_key


def run_verify(args) -> int:
    from mpc.threshold import frost

    ok = frost.verify_signature(_group_key(args), _hex(args.message, "--message"), _hex(args.signature, "--signature"))
    print("valid" if ok else "INVALID")
    return 0 if ok else 1


def run_encrypt(args) -> int:
    from mpc.threshold import elgamal

    print(elgamal.encrypt(_group_key(args), _hex(args.message, "--message")).hex())
    return 0


def run_decrypt(args) -> int:
    if _through_nodes(args):
        from mpc.cli.keys_nodes import decrypt_nodes

        return decrypt_nodes(args)
    from mpc.threshold import elgamal
    from mpc.threshold.local import run_parties

    parties = _party_list(args.decryptors)
    blob = _hex(args.ciphertext, "--ciphertext")
    c1 = elgamal.hybrid_c1(blob)
    pub, keys = _load_shares(args, parties)
    out = run_parties(pub.n, lambda c: elgamal.threshold_decrypt(c, keys[c.pid], [c1]),
                      parties=parties, job="keys-decrypt")[0]
    for p, why in out.rejected.items():
        print(f"warning: party {p}'s partial decryption was rejected: {why}", file=sys.stderr)
    print(elgamal.decrypt_hybrid(blob, out.shared[0]).hex())
    return 0


def run_rotate(args) -> int:
    from mpc.keystore import KeyStore

    old = read_passphrase(args.passphrase_file)
    new = read_passphrase(args.new_passphrase_file, "new passphrase")
    names = KeyStore(args.keys).rotate(old, new)
    print(f"re-encrypted {len(names)} entries: {', '.join(names)}")
    return 0


def run_export(args) -> int:
    from mpc.keystore import KeyStore

    names = [s for s in args.names.split(",") if s] if args.names else None
    done = KeyStore(args.keys).export_bundle(args.bundle, read_passphrase(args.passphrase_file),
                                             read_passphrase(args.bundle_passphrase_file, "bundle passphrase"), names)
    print(f"exported {len(done)} entries to {args.bundle}")
    return 0


def run_import(args) -> int:
    from mpc.keystore import KeyStore

    done = KeyStore(args.keys).import_bundle(args.bundle, read_passphrase(args.bundle_passphrase_file,
                                                                          "bundle passphrase"),
                                             read_passphrase(args.passphrase_file), overwrite=args.force)
    print(f"imported {len(done)} entries into {args.keys}: {', '.join(done)}")
    return 0


def run_protect(args) -> int:
    """Store a PEM private key encrypted; configs then name KEYS/NAME.mpckey instead of the PEM file."""
    from cryptography.hazmat.primitives import serialization

    from mpc.errors import ParameterError
    from mpc.keystore import KeyStore

    try:
        data = args.pem.read_bytes()
        serialization.load_pem_private_key(data, password=None)
    except OSError as exc:
        raise ParameterError(f"cannot read {args.pem}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"{args.pem} is not an unencrypted PEM private key ({exc})") from None
    store, pw = KeyStore(args.keys), read_passphrase(args.passphrase_file)
    path = store.put(args.name, data, pw, kind="private-key", overwrite=args.force)
    if store.get(args.name, pw) != data:
        raise ParameterError(f"{path} does not read back as {args.pem}; the plain file is kept")
    if args.remove:
        args.pem.unlink()
    print(f"stored {args.pem} encrypted as {path}{' and removed the plain file' if args.remove else ''}; name "
          f"{path} as the key in the config ([tls] key, [client] key, `mpc budget serve --key/--tls-key`)")
    return 0

