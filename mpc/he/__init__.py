"""Homomorphic encryption on TenSEAL (CKKS, BFV): parameters, contexts, batching, encrypted inference,
encrypted training, aggregation with DP on the decrypted result.

A primitive like `mpc.gc` and `mpc.ot`: pure functions on contexts and ciphertexts (also as bytes);
node jobs that use them live in `mpc.protocols`. Module map: `params` (128-bit parameter helper and
checks), `noise` (CKKS error bounds, flooding), `context` (keys, wire format), `poly` / `models`
(polynomial activations, dense models from flat vectors), `encoding` (column-major batches),
`inference`, `training`, `aggregate`, `keys` (the encrypted key store).
"""

from mpc.he.context import HEContext
from mpc.he.encoding import EncryptedBatch, decrypt_rows, encrypt_rows
from mpc.he.inference import error_bound, infer, infer_bytes
from mpc.he.models import Model
from mpc.he.params import BFVParams, CKKSParams, bfv_params, check_bfv, check_ckks, ckks_params, ckks_sum_params
from mpc.he.poly import Poly, sigmoid_poly, square

__all__ = [
    "BFVParams", "CKKSParams", "EncryptedBatch", "HEContext", "Model", "Poly", "bfv_params", "check_bfv",
    "check_ckks", "ckks_params", "ckks_sum_params", "decrypt_rows", "encrypt_rows", "error_bound", "infer",
    "infer_bytes", "sigmoid_poly", "square",
]
