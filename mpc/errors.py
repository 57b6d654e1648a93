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
