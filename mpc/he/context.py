"""HE contexts (TenSEAL) built from checked parameters; what goes on the wire, and what is refused.

What it computes: `HEContext.generate(params)` makes a TenSEAL context (secret key, public key,
relinearisation keys, Galois keys only when rotations are needed) from `params.CKKSParams` or
`params.BFVParams`; `to_bytes(secret=False)` is what an evaluator receives: the public key and the
evaluation keys, never the secret key; `from_bytes` loads a context and checks that the TenSEAL
parameters inside are the ones the header states and are secure, and with `evaluator=True` refuses a
context that carries a secret key. Vectors travel as TenSEAL serialisations inside our framing
(`pack` / `unpack`: magic, version, JSON header, length-prefixed blobs), every one checked for size,
slot count and level before use.

Security: CKKS and BFV are IND-CPA secure under decision-RLWE at the parameters `params.py` allows
(HE standard, 128 bits). An evaluator holding the public context learns nothing about encrypted
values but their number and the parameters; it is trusted to follow the protocol (a malicious
evaluator could return a wrong result: not covered). CKKS decryptions that leave the key holder must
be flooded (`noise.py`, Li–Micciancio); BFV decryptions are exact and need not be.
References: TenSEAL (Benaissa et al., ICLR 2021 workshop); SEAL 4.x; the HE standard (`params.py`).
Cost: key generation O(L²·N log N); Galois keys dominate the public context's size (tens of MB at
N = 8192), which is why inference and aggregation here avoid rotations.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

from mpc.errors import HEFormatError, HEKeyMissing, InsecureParameters, ParameterError, TooManySlots, ValueOutOfRange
from mpc.he.params import BFVParams, CKKSParams, check_bfv, check_ckks, params_from_dict

MAGIC = b"MPCHE"
VERSION = 1
MAX_HEADER = 1 << 16
MAX_CONTEXT_BYTES = 1 << 30


def _ts():
    import tenseal as ts
    import tenseal.sealapi  # noqa: F401  (registers SEAL's types, so parameters can be read back)

    return ts


# ------------------------------------------------------------------------------------------ framing
def pack(header: dict, blobs: list[bytes]) -> bytes:
    """Magic, version, JSON header, then each blob with a 8-byte length."""
    hb = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    parts = [MAGIC, bytes([VERSION]), struct.pack(">I", len(hb)), hb, struct.pack(">I", len(blobs))]
    for b in blobs:
        parts += [struct.pack(">Q", len(b)), bytes(b)]
    return b"".join(parts)


def unpack(data: bytes, kind: str, *, max_bytes: int = MAX_CONTEXT_BYTES, max_blobs: int = 1 << 16) -> tuple[dict, list[bytes]]:
    """The header and blobs of framed bytes of the given `kind`; anything malformed is HEFormatError."""
    mv = memoryview(data)
    if len(mv) > max_bytes:
        raise HEFormatError(f"{kind}: {len(mv)} bytes exceed the limit of {max_bytes}")
    try:
        if bytes(mv[:5]) != MAGIC or mv[5] != VERSION:
            raise HEFormatError(f"{kind}: not an mpc.he v{VERSION} message (bad magic or version)")
        (hlen,) = struct.unpack(">I", mv[6:10])
        if hlen > MAX_HEADER:
            raise HEFormatError(f"{kind}: header of {hlen} bytes is too large")
        header = json.loads(bytes(mv[10:10 + hlen]))
        if not isinstance(header, dict) or header.get("kind") != kind:
            raise HEFormatError(f"expected a {kind!r} message, got {header.get('kind') if isinstance(header, dict) else header!r}")
        off = 10 + hlen
        (count,) = struct.unpack(">I", mv[off:off + 4])
        off += 4
        if count > max_blobs:
            raise HEFormatError(f"{kind}: {count} parts exceed the limit of {max_blobs}")
        blobs = []
        for _ in range(count):
            (n,) = struct.unpack(">Q", mv[off:off + 8])
            off += 8
            if off + n > len(mv):
                raise HEFormatError(f"{kind}: truncated (a part of {n} bytes runs past the end)")
            blobs.append(bytes(mv[off:off + n]))
            off += n
        if off != len(mv):
            raise HEFormatError(f"{kind}: {len(mv) - off} trailing bytes")
        return header, blobs
    except HEFormatError:
        raise
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise HEFormatError(f"{kind}: malformed message ({type(exc).__name__}: {exc})") from None


# ------------------------------------------------------------------------------------------ context
class HEContext:
    """A TenSEAL context with the checked parameters it was made from."""

    def __init__(self, params: CKKSParams | BFVParams, tsctx):
        self.params = params
        self.ts = tsctx
        if isinstance(params, CKKSParams):
            tsctx.global_scale = params.scale

    # ------------------------------------------------------------------ creation
    @classmethod
    def generate(cls, params: CKKSParams | BFVParams, *, relin: bool = True, galois: bool = False,
                 n_threads: int | None = None) -> "HEContext":
        """Fresh keys for `params` (checked first): secret, public, relinearisation, Galois if asked."""
        ts = _ts()
        kw = {} if n_threads is None else {"n_threads": n_threads}
        if isinstance(params, CKKSParams):
            check_ckks(params)
            ctx = ts.context(ts.SCHEME_TYPE.CKKS, params.poly_modulus_degree,
                             coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes), **kw)
        elif isinstance(params, BFVParams):
            check_bfv(params)
            ctx = ts.context(ts.SCHEME_TYPE.BFV, params.poly_modulus_degree, params.plain_modulus,
                             coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes), **kw)
        else:
            raise ParameterError(f"HE parameters must be CKKSParams or BFVParams, got {type(params).__name__}")
        if galois:
            ctx.generate_galois_keys()
        if not relin:
            ctx = ts.context_from(ctx.serialize(save_secret_key=True, save_relin_keys=False,
                                                save_galois_keys=galois))
        return cls(params, ctx)

    @property
    def is_private(self) -> bool:
        return bool(self.ts.has_secret_key())

    @property
    def has_galois(self) -> bool:
        return bool(self.ts.has_galois_keys())

    @property
    def has_relin(self) -> bool:
        return bool(self.ts.has_relin_keys())

    def to_bytes(self, *, secret: bool = False, relin: bool = True, galois: bool = True) -> bytes:
        """Framed context; `secret=False` (the default) never includes the secret key."""
        if secret and not self.is_private:
            raise HEKeyMissing("this context holds no secret key to serialise")
        blob = self.ts.serialize(save_public_key=True, save_secret_key=secret, save_relin_keys=relin and self.has_relin,
                                 save_galois_keys=galois and self.has_galois)
        header = {"kind": "context", "params": self.params.to_dict(), "secret": bool(secret)}
        return pack(header, [blob])

    def public(self, *, relin: bool = True, galois: bool = True) -> "HEContext":
        """The evaluator's copy: the same keys without the secret key."""
        return HEContext.from_bytes(self.to_bytes(secret=False, relin=relin, galois=galois), evaluator=True)

    @classmethod
    def from_bytes(cls, data: bytes, *, evaluator: bool = False, require_secret: bool = False,
                   max_bytes: int = MAX_CONTEXT_BYTES) -> "HEContext":
        """Load a framed context; its TenSEAL parameters must equal the header's and be secure.

        `evaluator=True` refuses a context that carries a secret key (it must never reach an evaluator);
        `require_secret=True` refuses one without (the key holder's).
        """
        ts = _ts()
        header, blobs = unpack(data, "context", max_bytes=max_bytes, max_blobs=1)
        if len(blobs) != 1 or not isinstance(header.get("params"), dict):
            raise HEFormatError("context message must hold parameters and exactly one TenSEAL context")
        try:
            params = params_from_dict(header["params"])
        except InsecureParameters:
            raise
        except ParameterError as exc:
            raise HEFormatError(f"context header: {exc}") from None
        try:
            ctx = ts.context_from(blobs[0])
        except Exception as exc:  # TenSEAL raises ValueError/RuntimeError on corrupt input
            raise HEFormatError(f"the TenSEAL context does not load: {exc}") from None
        _check_loaded(ctx, params)
        if evaluator and ctx.has_secret_key():
            raise HEFormatError("the context carries a secret key: an evaluator must receive only the public "
                                "context (HEContext.to_bytes(secret=False)); discard it and rotate the keys")
        if require_secret and not ctx.has_secret_key():
            raise HEKeyMissing("this context has no secret key: the key holder's context comes from the key "
                               "store (`mpc he keygen`)")
        return cls(params, ctx)

    # ------------------------------------------------------------------ vectors
    def encrypt(self, values, *, max_value: float | None = None):
        """Encrypt a 1-D array into one ciphertext (refuses more values than slots, and values out of range)."""
        ts = _ts()
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise ParameterError(f"encrypt takes a 1-D array, got shape {arr.shape}")
        if arr.size > self.params.slots:
            raise TooManySlots(f"{arr.size} values do not fit one ciphertext ({self.params.slots} slots at "
                               f"N={self.params.poly_modulus_degree}); split them (mpc.he.encoding packs batches)")
        if isinstance(self.params, CKKSParams):
            a = arr.astype(np.float64)
            if not np.all(np.isfinite(a)):
                raise ValueOutOfRange("CKKS inputs must be finite numbers")
            limit = self.params.max_value if max_value is None else max_value
            if a.size and np.max(np.abs(a)) >= limit:
                raise ValueOutOfRange(f"a value of magnitude {np.max(np.abs(a)):g} is beyond what the last modulus "
                                      f"holds (< {limit:g} = 2^{math.log2(limit):.0f}); it would decrypt to garbage")
            return ts.ckks_vector(self.ts, a.tolist())
        a = np.asarray(values)
        if not np.issubdtype(a.dtype, np.integer):
            raise ParameterError("BFV encrypts integers; encode reals on a fixed-point grid first (mpc.he.aggregate)")
        t = self.params.max_value
        if a.size and int(np.max(np.abs(a.astype(object)))) > t:
            raise ValueOutOfRange(f"integers beyond ±(t−1)/2 = {t} would wrap modulo t={self.params.plain_modulus}")
        return ts.bfv_vector(self.ts, a.astype(np.int64).tolist())

    def decrypt(self, vec) -> np.ndarray:
        """Decrypt (key holder only)."""
        if not self.is_private:
            raise HEKeyMissing("this is a public (evaluator's) context: it cannot decrypt; only the key holder "
                               "decrypts, with the context from the key store")
        vec.link_context(self.ts)  # a vector made under the public copy of these keys
        out = vec.decrypt()
        return np.asarray(out, dtype=np.float64 if isinstance(self.params, CKKSParams) else np.int64)

    def vector_bytes(self, vec) -> bytes:
        return vec.serialize()

    def load_vector(self, blob: bytes, *, min_level: int = 0):
        """A ciphertext from untrusted bytes: size-checked, loaded under this context, slots and level checked."""
        ts = _ts()
        if len(blob) > self.max_ciphertext_bytes():
            raise HEFormatError(f"a ciphertext of {len(blob)} bytes exceeds the {self.max_ciphertext_bytes()} bytes "
                                f"one ciphertext takes at N={self.params.poly_modulus_degree}")
        try:
            if isinstance(self.params, CKKSParams):
                vec = ts.ckks_vector_from(self.ts, blob)
            else:
                vec = ts.bfv_vector_from(self.ts, blob)
        except Exception as exc:
            raise HEFormatError(f"ciphertext does not load under this context: {exc}") from None
        if vec.size() > self.params.slots:  # more values than slots means several ciphertexts
            raise HEFormatError(f"expected one ciphertext of at most {self.params.slots} slots, got {vec.size()} values")
        if min_level and isinstance(self.params, CKKSParams) and self.level(vec) < min_level:
            from mpc.errors import DepthExhausted

            raise DepthExhausted(f"a ciphertext has {self.level(vec)} levels left; the computation needs {min_level}")
        return vec

    def level_of(self, ct) -> int:
        """Multiplications a SEAL ciphertext can still undergo."""
        return int(ct.coeff_modulus_size()) - 1

    def level(self, vec) -> int:
        return self.level_of(vec.ciphertext()[0])

    def max_ciphertext_bytes(self) -> int:
        """Upper bound on one serialised ciphertext (two polynomials, uncompressed, plus framing)."""
        return 2 * self.params.poly_modulus_degree * len(self.params.coeff_mod_bit_sizes) * 8 + (1 << 16)

    def info(self) -> dict:
        """What this context is and holds (for `mpc he info`)."""
        p = self.params
        d = dict(p.to_dict(), slots=p.slots, total_bits=p.total_bits, security="128-bit classical (HE standard)",
                 secret_key=self.is_private, relin_keys=self.has_relin, galois_keys=self.has_galois)
        if isinstance(p, CKKSParams):
            d.update(depth=p.depth, max_value=p.max_value)
        else:
            d.update(noise_budget_bits=round(p.noise_budget_bits, 1))
        return d


def _check_loaded(ctx, params: CKKSParams | BFVParams) -> None:
    """The loaded TenSEAL context must have exactly the stated (checked) parameters."""
    try:
        parms = ctx.seal_context().data.key_context_data().parms()
        n = int(parms.poly_modulus_degree())
        bits = tuple(int(m.bit_count()) for m in parms.coeff_modulus())
        scheme = str(parms.scheme()).rsplit(".", 1)[-1].lower()
        t = int(parms.plain_modulus().value()) if scheme == "bfv" else None
    except Exception as exc:
        raise HEFormatError(f"cannot read the context's parameters: {exc}") from None
    want = (params.scheme, params.poly_modulus_degree, tuple(params.coeff_mod_bit_sizes))
    if (scheme, n, bits) != want or (t is not None and t != params.plain_modulus):
        raise HEFormatError(f"the TenSEAL context has scheme {scheme}, N={n}, primes {list(bits)}"
                            f"{f', t={t}' if t else ''}; its header states {want}: refused")
