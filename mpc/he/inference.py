"""Encrypted inference: an evaluator applies a model to a client's encrypted rows; only the client decrypts.

What it computes: for a column-major `EncryptedBatch` (`encoding.py`) and a `Model` (`models.py`),
the encrypted outputs, block by block: each dense layer is Σ_j W[k, j]·c_j + b[k] (plaintext
scalar products, one level), the hidden polynomial is applied between layers (x²: one level; a
degree-d polynomial: ⌈log2(d+1)⌉ levels, TenSEAL's polyval), the output polynomial (e.g. the
degree-3 sigmoid) at the end. Before any ciphertext is touched it checks the depth against the
ciphertexts' levels (`DepthExhausted`), the output pre-activation range against the polynomial's
stated range, and the worst-case magnitudes against the last modulus (`ValueOutOfRange`).
`error_bound` states the result's error: the polynomial approximation error on its range plus the
CKKS noise bound of this evaluation (`noise.ErrorModel`). `infer_bytes` is the same on serialised
inputs (what a node job calls: public context, model, batch in; encrypted outputs out).

Security: the evaluator holds only the public context: semantic security (RLWE) hides the features
and the outputs; it learns the number of rows, of features, the stated input bound and the model it
was given. Semi-honest evaluator: a malicious one could return any ciphertext (integrity is not
covered). Decrypted outputs go only to the client (the key holder); if the client passes them on,
it should flood them first (`noise.flood`).
References: CryptoNets (Gilad-Bachrach et al., ICML 2016) for polynomial activations; CKKS (Cheon,
Kim, Kim, Song, ASIACRYPT 2017).
Cost: per block of N/2 rows, Σ_layers in·out scalar products plus the activations; no rotations.
"""

from __future__ import annotations

import numpy as np

from mpc.errors import DepthExhausted, ParameterError, ValueOutOfRange
from mpc.he import noise
from mpc.he.context import HEContext
from mpc.he.encoding import EncryptedBatch
from mpc.he.models import Model, check_radius
from mpc.he.params import CKKSParams
from mpc.he.poly import Poly


def error_bound(model: Model, params: CKKSParams, input_bound: float) -> dict:
    """Stated error of encrypted inference for inputs |x| ≤ input_bound: approximation + CKKS noise.

    Returns {"approximation", "ckks", "total", "magnitude"} (value units; `magnitude` is the largest
    intermediate value, which must stay below the last modulus)."""
    em = noise.ErrorModel(params.poly_modulus_degree, params.scale_bits, params.depth)
    xs = [em.fresh(float(input_bound))] * model.sizes[0]
    peak = float(input_bound)
    for i, (w, b) in enumerate(model.layers):
        xs = [em.add_plain(em.linear(xs, w[k]), b[k]) for k in range(w.shape[0])]
        peak = max([peak] + [x.m for x in xs])
        act = model.hidden if i < len(model.layers) - 1 else model.output
        if act is not None:
            xs = [em.polyval(x, act.coeffs) for x in xs]
            peak = max([peak] + [x.m for x in xs])
    ckks = max(x.e for x in xs)
    approx = model.output.error if model.output is not None else 0.0
    return {"approximation": approx, "ckks": ckks, "total": approx + ckks, "magnitude": peak}


def _lincomb(cols: list, w: np.ndarray, b: float):
    acc = None
    for c, wj in zip(cols, w):
        if wj == 0.0:
            continue
        t = c * float(wj)
        acc = t if acc is None else acc.add_(t)
    if acc is None:
        acc = cols[0] * 0.0
    if b != 0.0:
        acc.add_(float(b))
    return acc


def _activate(v, act: Poly):
    if act.coeffs == (0.0, 1.0):
        return v
    if act.coeffs == (0.0, 0.0, 1.0):
        return v.square_()
    return v.polyval_(list(act.coeffs))


def check_plan(ctx: HEContext, model: Model, batch: EncryptedBatch) -> dict:
    """Every check done before evaluation; returns the stated error bound."""
    if not isinstance(ctx.params, CKKSParams):
        raise ParameterError("encrypted inference runs on CKKS contexts (real-valued features)")
    if batch.cols != model.sizes[0]:
        raise ParameterError(f"the model takes {model.sizes[0]} features; the encrypted batch has {batch.cols}")
    if not ctx.has_relin and (model.hidden.degree > 1 or (model.output is not None and model.output.degree > 1)):
        from mpc.errors import HEKeyMissing

        raise HEKeyMissing("the model multiplies ciphertexts but the public context has no relinearisation keys")
    level = min(ctx.level(v) for blk in batch.blocks for v in blk[:1])
    if model.depth > level:
        raise DepthExhausted(f"the model needs {model.depth} multiplicative levels ({len(model.layers)} layers, "
                             f"activations {model.hidden.name}/{model.output.name if model.output else '-'}) but the "
                             f"ciphertexts have {level} left; make the context with ckks_params(depth={model.depth}, ...)")
    check_radius(model, batch.bound)
    bound = error_bound(model, ctx.params, batch.bound)
    if bound["magnitude"] >= ctx.params.max_value:
        raise ValueOutOfRange(f"intermediate values may reach {bound['magnitude']:.3g}, beyond the {ctx.params.max_value:g} "
                              f"the last modulus holds (CKKS would decrypt garbage); scale the inputs or weights down "
                              f"or use a larger max_value in ckks_params")
    return bound


def infer(ctx: HEContext, model: Model, batch: EncryptedBatch) -> EncryptedBatch:
    """Encrypted outputs (rows × model outputs) of `model` on the encrypted rows (public context suffices)."""
    check_plan(ctx, model, batch)
    out_blocks = []
    last = len(model.layers) - 1
    for blk in batch.blocks:
        h = blk
        for i, (w, b) in enumerate(model.layers):
            h = [_lincomb(h, w[k], b[k]) for k in range(w.shape[0])]
            act = model.hidden if i < last else model.output
            if act is not None:
                h = [_activate(v, act) for v in h]
        out_blocks.append(h)
    return EncryptedBatch(out_blocks, batch.rows, 1.0)


def infer_bytes(public_context: bytes, model: Model | bytes, batch: bytes) -> bytes:
    """`infer` on serialised inputs: the evaluator's whole job (refuses a context with a secret key)."""
    ctx = HEContext.from_bytes(public_context, evaluator=True)
    m = model if isinstance(model, Model) else Model.from_bytes(model)
    return infer(ctx, m, EncryptedBatch.from_bytes(ctx, batch, min_level=m.depth)).to_bytes()
