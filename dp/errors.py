"""Exceptions of the differential-privacy layer and the budget service.

Every class derives from `mpc.errors.MPCError`, so the `mpc` command prints them as one clear
line. Messages name the principal, dataset, job and what to do.
"""

from __future__ import annotations

from mpc.errors import MPCError, ParameterError


class DPError(MPCError):
    """Base class of the errors the DP layer raises on purpose."""


class DPParameterError(DPError, ParameterError):
    """A privacy parameter (epsilon, delta, sigma, sensitivity, ...) is out of range."""


class BudgetExceeded(DPError):
    """A request would overspend a budget; the message names the level and what remains."""

    def __init__(self, message: str, *, scope: str = "", dataset: str = "", remaining: float = 0.0):
        super().__init__(message)
        self.scope = scope
        self.dataset = dataset
        self.remaining = remaining


class NoBudget(DPError):
    """No budget covers the principal and dataset: an administrator must create one first."""


class GrantInvalid(DPError):
    """A grant was refused; the subclasses say why."""


class GrantForged(GrantInvalid):
    """The grant's signature does not verify under the budget service's public key."""


class GrantExpired(GrantInvalid):
    """The grant's expiry time has passed: request a new one."""


class GrantMismatch(GrantInvalid):
    """The grant is for another job hash, dataset, or a smaller epsilon/delta than needed."""


class GrantMissing(GrantInvalid):
    """A job that releases DP outputs from a dataset came without a grant for that dataset."""


class GrantReused(GrantInvalid):
    """The grant was already redeemed once (grants are single-use)."""


class GrantRefused(DPError):
    """The caller may not do this with grants: its certificate does not match the principal, or it is
    not a node certificate (only nodes redeem)."""


class LedgerError(DPError):
    """The ledger file is missing, of another version, or cannot be written."""


class LedgerTampered(LedgerError):
    """The hash chain does not verify; `seq` names the first row that fails."""

    def __init__(self, message: str, *, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


class LedgerHeadInvalid(DPError):
    """A signed ledger-head statement is malformed, does not verify under the pinned budget-service
    key, or states other rows than were asked for."""


class BudgetServiceUnavailable(DPError):
    """The budget service did not answer (down, unreachable, TLS refused)."""
