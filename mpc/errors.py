"""Exceptions of the engine. Messages name the party, the job and what to do."""

from __future__ import annotations


class MPCError(Exception):
    """Base class of every error the engine raises on purpose."""


class ParameterError(MPCError, ValueError):
    """A parameter is invalid (found when an object is built, before any work starts)."""


class ShapeError(ParameterError):
    """Arrays whose shapes do not fit together."""


class DomainError(ParameterError):
    """Shares or values from different algebraic domains (ring vs field) were mixed."""


class NotEnoughShares(MPCError):
    """Fewer shares than the reconstruction threshold."""


class InconsistentShares(MPCError):
    """More than t+1 Shamir shares were given and they do not lie on one degree-t polynomial."""


class FixedPointOverflow(MPCError, OverflowError):
    """A value (or a bound on it) does not fit the fixed-point format's range."""


class IntegerOverflow(MPCError, OverflowError):
    """A secret integer (or a public bound on it) may leave the range the domain represents."""


class UnsupportedCPU(MPCError, RuntimeError):
    """A kernel needs an instruction set extension this CPU lacks."""


class ProtocolAbort(MPCError):
    """A protocol run was aborted; the message says which party, which job and why."""

    def __init__(self, message: str, *, party: int | None = None, job: str | None = None):
        super().__init__(message)
        self.party = party
        self.job = job


class PartyUnreachable(ProtocolAbort):
    """A peer did not answer within the timeout (down, unreachable, or vanished mid-job)."""

    def __init__(self, party: int, message: str | None = None, *, job: str | None = None):
        super().__init__(message or f"party {party} is unreachable", party=party, job=job)


class CheatingDetected(ProtocolAbort):
    """A check failed in a way only a deviating party can cause; `party` names it when known."""


class KeyStoreError(MPCError):
    """A key-store file cannot be used; nothing was loaded. Subclasses say why."""


class WrongPassphrase(KeyStoreError):
    """The passphrase does not open this key-store file (or the file's header was altered)."""


class KeyStoreCorrupt(KeyStoreError):
    """A key-store file is truncated, not a key-store file, or was tampered with."""


class UnsafePermissions(KeyStoreError):
    """A key-store file or folder is readable or writable by others than its owner."""


# ---------------------------------------------------------------- homomorphic encryption (mpc.he)
class HEError(MPCError):
    """Base class of the errors `mpc.he` raises on purpose."""


class HEParameterError(HEError, ParameterError):
    """HE parameters that are insecure or do not fit the computation (found before TenSEAL runs)."""


class InsecureParameters(HEParameterError):
    """Polynomial degree / coefficient modulus outside the 128-bit bounds of the HE security standard."""


class ScaleOutOfBounds(HEParameterError):
    """The CKKS scale does not fit the modulus chain (TenSEAL/SEAL: "scale out of bounds")."""


class DepthExhausted(HEParameterError):
    """A computation needs more multiplicative levels than the ciphertext has left
    (TenSEAL/SEAL: "scale out of bounds" or "end of modulus switching chain reached")."""


class TooManySlots(HEParameterError):
    """A vector is longer than one ciphertext holds (N/2 slots for CKKS, N for BFV)."""


class ValueOutOfRange(HEParameterError):
    """Values too large for the plaintext space (CKKS: |x|·scale beyond the last modulus, which decrypts
    to garbage without any error; BFV: beyond ±t/2, which wraps modulo t)."""


class HEKeyMissing(HEError):
    """The context lacks a key the operation needs (a public context cannot decrypt; no relinearisation
    or Galois keys for a multiplication or rotation)."""


class HEFormatError(HEError):
    """Bytes that are not a valid context or ciphertext for these parameters (untrusted input refused)."""
