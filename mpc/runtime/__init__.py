"""The SPMD runtime: a `Session` per party, secure array types, and `run_local`."""

from mpc.runtime.local import run_local
from mpc.runtime.sectypes import AdditiveArray, SecretArray, ShamirArray, concatenate, zeros_like_public
from mpc.runtime.session import Session

__all__ = ["AdditiveArray", "SecretArray", "Session", "ShamirArray", "concatenate", "run_local",
           "zeros_like_public"]
