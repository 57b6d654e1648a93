"""Symmetric primitives: the AES-CTR pseudo-random generator and key derivation."""

from mpc.crypto.prg import PRG, derive_key, random_seed

__all__ = ["PRG", "derive_key", "random_seed"]
