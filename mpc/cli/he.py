"""`mpc he`: homomorphic-encryption keys in the encrypted key store.

    mpc he keygen --keys DIR --name NAME --scheme ckks --depth 3 --precision 20 --size 4096 --out pub.ctx
    mpc he keygen --keys DIR --name NAME --scheme bfv --size 4096 --plain-bits 40 --out pub.ctx
    mpc he info   --keys DIR --name NAME          (the key holder's entry: needs the passphrase)
    mpc he info   --context pub.ctx                (a public context file: no passphrase)

keygen picks the parameters with the 128-bit helper (mpc.he.params), stores the secret context
encrypted as DIR/NAME.mpckey (passphrase from --passphrase-file, else $MPC_KEYSTORE_PASSPHRASE, else
a prompt) and writes the public context (public and evaluation keys, never the secret key) to --out
for the evaluators.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PASS_ENV = "MPC_KEYSTORE_PASSPHRASE"


def register(sub) -> None:
    p = sub.add_parser("he", help="homomorphic encryption keys: keygen, info", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    hs = p.add_subparsers(dest="he_command", metavar="ACTION")
    hs.required = True

    q = hs.add_parser("keygen", help="make CKKS/BFV keys: secret context into the key store, public context to --out")
    q.add_argument("--keys", type=Path, required=True, help="key-store folder")
    q.add_argument("--name", required=True, help="entry name (the secret context becomes KEYS/NAME.mpckey)")
    q.add_argument("--scheme", choices=("ckks", "bfv"), default="ckks")
    q.add_argument("--depth", type=int, default=2, help="CKKS: multiplicative depth (BFV: multiplications)")
    q.add_argument("--precision", type=int, default=20, help="CKKS: result precision in bits (error ≤ 2^-precision)")
    q.add_argument("--max-value", type=float, default=1024.0, help="CKKS: largest |value| a result may have")
    q.add_argument("--size", type=int, default=4096, help="values per ciphertext (slots needed)")
    q.add_argument("--plain-bits", type=int, default=40, help="BFV: bits of the plain modulus t")
    q.add_argument("--galois", action="store_true", help="also make Galois (rotation) keys: large public context")
    q.add_argument("--out", type=Path, required=True, help="file for the public context (for evaluators)")
    q.add_argument("--passphrase-file", type=Path, help=f"key-store passphrase file (else ${PASS_ENV}, else a prompt)")
    q.add_argument("--force", action="store_true", help="replace an existing entry")
    q.set_defaults(func=run_keygen)

    q = hs.add_parser("info", help="parameters, security and keys of an HE context (entry or public file)")
    q.add_argument("--keys", type=Path, help="key-store folder (with --name)")
    q.add_argument("--name", help="entry name")
    q.add_argument("--context", type=Path, help="a public context file (instead of --keys/--name)")
    q.add_argument("--passphrase-file", type=Path)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_info)


def _params(args):
    from mpc.he.params import bfv_params, ckks_params

    if args.scheme == "ckks":
        return ckks_params(args.depth, args.precision, args.size, args.max_value)
    return bfv_params(args.size, args.plain_bits, args.depth)


def run_keygen(args) -> int:
    from mpc.cli.keys import read_passphrase
    from mpc.he.keys import keygen
    from mpc.keystore import KeyStore, atomic_write

    params = _params(args)
    store = KeyStore(args.keys)
    pw = read_passphrase(args.passphrase_file)
    ctx, public = keygen(store, args.name, params, pw, galois=args.galois, overwrite=args.force)
    atomic_write(args.out, public)
    print(f"{params.scheme.upper()} keys: N={params.poly_modulus_degree}, primes {list(params.coeff_mod_bit_sizes)} "
          f"({params.total_bits} bits, 128-bit security), {params.slots} slots"
          + (f", depth {params.depth}, scale 2^{params.scale_bits}" if params.scheme == "ckks"
             else f", t={params.plain_modulus}"))
    print(f"secret context: {args.keys / (args.name + '.mpckey')} (encrypted)")
    print(f"public context: {args.out} ({len(public)} bytes, no secret key): give it to the evaluators")
    return 0


def run_info(args) -> int:
    from mpc.errors import ParameterError
    from mpc.he.context import HEContext

    if args.context is not None:
        if args.keys is not None or args.name is not None:
            raise ParameterError("give either --context FILE or --keys DIR --name NAME")
        try:
            data = args.context.read_bytes()
        except OSError as exc:
            raise ParameterError(f"cannot read {args.context}: {exc.strerror}") from None
        ctx, where = HEContext.from_bytes(data), str(args.context)
    else:
        if args.keys is None or args.name is None:
            raise ParameterError("give --keys DIR --name NAME (a key-store entry) or --context FILE")
        from mpc.cli.keys import read_passphrase
        from mpc.he.keys import load_key_context
        from mpc.keystore import KeyStore

        ctx = load_key_context(KeyStore(args.keys), args.name, read_passphrase(args.passphrase_file))
        where = str(args.keys / (args.name + ".mpckey"))
    info = dict(ctx.info(), source=where)
    if args.json:
        print(json.dumps(info, indent=1, default=float))
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0
