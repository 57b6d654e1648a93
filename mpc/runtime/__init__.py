"""The SPMD runtime: a `Session` per party, secure array types, and `run_local`."""

from mpc.runtime.local import run_local
from mpc.runtime.additive_array import AdditiveArray, zeros_like_public
from mpc.runtime.sectypes import SecretArray, concatenate
from mpc.runtime.shamir_array import ShamirArray
from mpc.runtime.session import Session

__all__ = ["AdditiveArray", "SecretArray", "Session", "ShamirArray", "concatenate", "run_local",
           "zeros_like_public"]
