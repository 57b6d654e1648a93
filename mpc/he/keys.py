"""HE keys in the encrypted key store: the key holder's secret context as an entry, the public context as a file.

What it computes: `keygen(store, name, params, passphrase)` makes fresh keys, stores the secret
context (secret and public key, no evaluation keys: small, and they can be regenerated from the
secret key) as key-store entry `name` (kind "he-secret-context", AES-256-GCM under the passphrase,
`mpc.keystore`), and returns the public context an evaluator receives (public, relinearisation and,
if asked, Galois keys; never the secret key). `load_key_context` opens the entry (authenticated,
whole) and regenerates evaluation keys on request. `describe` says what a context is.

Security: the secret key exists in clear only in the key holder's process memory; at rest it is
protected by the key store (see `mpc.keystore`). The public context is public.
Cost: one key generation; one scrypt per store access.
"""

from __future__ import annotations

from mpc.errors import HEFormatError
from mpc.he.context import HEContext
from mpc.he.params import BFVParams, CKKSParams

KIND = "he-secret-context"


def keygen(store, name: str, params: CKKSParams | BFVParams, passphrase: str | bytes, *, relin: bool = True,
           galois: bool = False, overwrite: bool = False) -> tuple[HEContext, bytes]:
    """Fresh keys: the secret context into the key store as `name`; returns (key context, public context bytes)."""
    ctx = HEContext.generate(params, relin=relin, galois=galois)
    store.put(name, ctx.to_bytes(secret=True, relin=False, galois=False), passphrase, kind=KIND, overwrite=overwrite)
    return ctx, ctx.to_bytes(secret=False, relin=relin, galois=galois)


def load_key_context(store, name: str, passphrase: str | bytes, *, relin: bool = False,
                     galois: bool = False) -> HEContext:
    """The key holder's context from the key store (evaluation keys regenerated if asked)."""
    kind = store.kind(name)
    if kind != KIND:
        raise HEFormatError(f"key-store entry {name!r} is a {kind!r}, not an HE secret context")
    ctx = HEContext.from_bytes(store.get(name, passphrase), require_secret=True)
    if relin and not ctx.has_relin:
        ctx.ts.generate_relin_keys()
    if galois and not ctx.has_galois:
        ctx.ts.generate_galois_keys()
    return ctx


def public_context(ctx: HEContext, *, relin: bool = True, galois: bool = False) -> bytes:
    """The evaluator's context bytes (evaluation keys made from the secret key when missing)."""
    if relin and not ctx.has_relin:
        ctx.ts.generate_relin_keys()
    if galois and not ctx.has_galois:
        ctx.ts.generate_galois_keys()
    return ctx.to_bytes(secret=False, relin=relin, galois=galois)
