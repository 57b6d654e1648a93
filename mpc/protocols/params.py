"""Validation of protocol parameters and access to a party's own columns.

Parameters come from a client over the network: every check here raises `ParameterError`
with a message that names the parameter and what is expected. The checked dictionary is what
all parties hash into the job spec, so it is normalised (floats, lists, defaults filled in).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from mpc.errors import ParameterError

PREDICATES = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
              "==": np.equal, "!=": np.not_equal}
MAX_ROWS_DEFAULT = 1 << 20
MAX_COLUMNS = 256


def name(params: Mapping, key: str) -> str:
    v = params.get(key)
    if not isinstance(v, str) or not v or len(v) > 128:
        raise ParameterError(f"parameter {key!r} must be a column name (a non-empty string), got {v!r}")
    return v


def number(params: Mapping, key: str, default: Any = None, *, lo: float | None = None, hi: float | None = None,
           integer: bool = False) -> float | int:
    v = params.get(key, default)
    if v is None:
        raise ParameterError(f"parameter {key!r} is required")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ParameterError(f"parameter {key!r} must be a finite number, got {v!r}")
    if integer and int(v) != v:
        raise ParameterError(f"parameter {key!r} must be an integer, got {v!r}")
    if lo is not None and v < lo or hi is not None and v > hi:
        raise ParameterError(f"parameter {key!r} must be in [{lo}, {hi}], got {v!r}")
    return int(v) if integer else float(v)


def bounds(params: Mapping, lower: str = "lower", upper: str = "upper") -> tuple[float, float]:
    """Public clipping bounds of a column (what the sensitivity of a release rests on)."""
    lo, hi = number(params, lower), number(params, upper)
    if not lo < hi:
        raise ParameterError(f"need {lower} < {upper}, got {lo} and {hi}")
    if max(abs(lo), abs(hi)) > 2.0**20:
        raise ParameterError("bounds beyond ±2^20 do not fit the fixed-point format; rescale the column")
    return lo, hi


def predicate(params: Mapping, key: str = "where") -> dict | None:
    v = params.get(key)
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise ParameterError(f"parameter {key!r} must be an object {{column, op, value}}")
    op = v.get("op")
    if op not in PREDICATES:
        raise ParameterError(f"{key}.op must be one of {sorted(PREDICATES)}, got {op!r}")
    return {"column": name(v, "column"), "op": op, "value": number(v, "value")}


def party(params: Mapping, key: str, n_parties: int | None = None) -> int:
    v = params.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (n_parties is not None and v >= n_parties):
        raise ParameterError(f"parameter {key!r} must be a party id, got {v!r}")
    return v


def column(data: Mapping[str, np.ndarray] | None, col: str, who: int) -> np.ndarray:
    """This party's column `col` as float64 (a clear error if the dataset lacks it)."""
    if data is None:
        raise ParameterError(f"party {who} contributes no dataset to this job, but column {col!r} is needed")
    if col not in data:
        raise ParameterError(f"party {who}'s dataset has no column {col!r} (columns: {sorted(data)})")
    values = np.asarray(data[col], dtype=np.float64)
    if values.ndim != 1:
        raise ParameterError(f"party {who}'s column {col!r} is not one-dimensional")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"party {who}'s column {col!r} holds missing or non-finite values")
    return values


def max_rows(params: Mapping) -> int:
    """Public cap on the rows one party may hold (sizes the public bounds of local aggregates)."""
    return number(params, "max_rows", MAX_ROWS_DEFAULT, lo=1, hi=1 << 24, integer=True)
