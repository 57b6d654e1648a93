"""Budget policy: principals, hierarchical scopes, periods, limits and alert thresholds.

A principal is a path "organisation/project/analyst" (1 to 3 segments). A budget is set on a
scope (a prefix path: "acme", "acme/trial-7", "acme/trial-7/alice") and a dataset (or "*" for
every dataset); it covers every principal under its scope. A request must fit every budget
that covers it: the total limit, the per-period limit (periods are aligned to UTC: a daily
budget resets at 00:00 UTC) and the δ limit, counting what is spent *and* what open
reservations hold (a reservation is charged only when an output is released, `dp.budget.ledger`).
ε and δ add up across commits (basic composition), which is what the ledger can prove without
knowing the mechanisms.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dp.errors import BudgetExceeded, DPParameterError

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_DATASET = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9_.\-:/]{0,127})$")
PERIODS = {"none": 0, "hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400}
MAX_EPSILON = 1000.0


def check_principal(principal: str, *, scope: bool = False) -> str:
    """A valid principal (or scope) path of 1..3 segments."""
    what = "scope" if scope else "principal"
    if not isinstance(principal, str) or len(principal) > 200:
        raise DPParameterError(f"{what} must be a string of at most 200 characters")
    parts = principal.split("/")
    if not 1 <= len(parts) <= 3 or not all(_SEGMENT.match(p) for p in parts):
        raise DPParameterError(f"{what} {principal!r} must be 'organisation[/project[/analyst]]' with segments "
                               f"of letters, digits, '_', '.', '-'")
    return principal


def check_dataset(dataset: str, *, wildcard: bool = False) -> str:
    if not isinstance(dataset, str) or not _DATASET.match(dataset) or (dataset == "*" and not wildcard):
        raise DPParameterError(f"dataset {dataset!r} must be 1..128 characters of letters, digits, '_.-:/'"
                               + (" or '*'" if wildcard else ""))
    return dataset


def check_spend(epsilon: float, delta: float) -> None:
    if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and 0 < epsilon <= MAX_EPSILON):
        raise DPParameterError(f"epsilon must be in (0, {MAX_EPSILON}], got {epsilon!r}")
    if not (isinstance(delta, (int, float)) and 0 <= delta < 1):
        raise DPParameterError(f"delta must be in [0, 1), got {delta!r}")


def period_seconds(period: str) -> int:
    """Length of a named period ("daily", ...) or "<N>s"; 0 for "none"."""
    if period in PERIODS:
        return PERIODS[period]
    m = re.fullmatch(r"(\d{1,9})s", period or "")
    if m and int(m.group(1)) > 0:
        return int(m.group(1))
    raise DPParameterError(f"period must be one of {', '.join(PERIODS)} or '<N>s', got {period!r}")


def period_start(now: float, seconds: int) -> int:
    """Start of the period containing `now` (UTC-aligned); 0 when there are no periods."""
    return int(now // seconds) * seconds if seconds else 0


def covers(scope: str, principal: str) -> bool:
    return principal == scope or principal.startswith(scope + "/")


def scopes_of(principal: str) -> list[str]:
    """Every scope that covers a principal, from the organisation down."""
    parts = principal.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


@dataclass
class Level:
    """One budget row as the policy sees it (spent values already reset to the current period)."""

    id: int
    scope: str
    dataset: str
    total_limit: float
    delta_limit: float
    period: str
    period_limit: float
    total_spent: float
    delta_spent: float
    period_spent: float
    #: held by open, unexpired reservations (not yet charged; counts against every limit)
    total_reserved: float = 0.0
    delta_reserved: float = 0.0

    def describe(self) -> str:
        return f"{self.scope} on {'every dataset' if self.dataset == '*' else 'dataset ' + repr(self.dataset)}"


def check_levels(levels: list[Level], epsilon: float, delta: float, *, slack: float = 1e-12) -> None:
    """Raise BudgetExceeded (naming the level and what remains) if any level cannot pay.

    What remains is the limit minus what is spent minus what open reservations hold."""
    for lv in levels:
        held = f" ({lv.total_reserved:.6g} held by open reservations)" if lv.total_reserved > 0 else ""
        remaining = lv.total_limit - lv.total_spent - lv.total_reserved
        if epsilon > remaining + slack:
            raise BudgetExceeded(f"request for epsilon={epsilon:g} refused: budget {lv.describe()} has "
                                 f"epsilon {max(0.0, remaining):.6g} of {lv.total_limit:g} remaining{held}",
                                 scope=lv.scope, dataset=lv.dataset, remaining=max(0.0, remaining))
        if lv.period_limit > 0:
            left = lv.period_limit - lv.period_spent - lv.total_reserved
            if epsilon > left + slack:
                raise BudgetExceeded(f"request for epsilon={epsilon:g} refused: budget {lv.describe()} has "
                                     f"epsilon {max(0.0, left):.6g} of {lv.period_limit:g} remaining this "
                                     f"{lv.period} period{held} (total remaining {max(0.0, remaining):.6g})",
                                     scope=lv.scope, dataset=lv.dataset, remaining=max(0.0, left))
        if delta > 0 and delta > lv.delta_limit - lv.delta_spent - lv.delta_reserved + slack * 1e-6:
            left = max(0.0, lv.delta_limit - lv.delta_spent - lv.delta_reserved)
            hint = (" (distributed noise needs delta > 0: give the budget a delta limit, e.g. `mpc budget set "
                    "... --delta 1e-5`)" if lv.delta_limit == 0 else "")
            raise BudgetExceeded(f"request for delta={delta:g} refused: budget {lv.describe()} has delta "
                                 f"{left:.3g} of {lv.delta_limit:g} remaining{hint}",
                                 scope=lv.scope, dataset=lv.dataset, remaining=left)


def crossed(before: float, after: float, limit: float, thresholds: tuple[float, ...]) -> list[float]:
    """Thresholds (fractions of `limit`) that this spend crossed."""
    if limit <= 0:
        return []
    return [t for t in thresholds if before < t * limit <= after + 1e-12]


def parse_thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted(float(v) for v in text.split(",") if v.strip()))
    except ValueError:
        raise DPParameterError(f"alert thresholds must be fractions like 0.75,0.9, got {text!r}") from None
    if not all(0 < v <= 1 for v in values):
        raise DPParameterError(f"alert thresholds must be in (0, 1], got {text!r}")
    return values
