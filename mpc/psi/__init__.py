"""Private set intersection (ECDH over Ed25519) and secret-shared payloads of the joined rows."""

from mpc.psi.ecdh import PSIResult, encode_items, psi
from mpc.psi.payload import PayloadShares

__all__ = ["PSIResult", "PayloadShares", "encode_items", "psi"]
