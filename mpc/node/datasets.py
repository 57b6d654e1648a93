"""A node's datasets: CSV or NPY files that only this node reads, checked against their schema.

Each dataset becomes a mapping column name -> 1-D numpy array (float64 for "float" columns,
int64 for "int" columns). A file that does not match its schema is refused with a message that
names the dataset, the file and the column or row at fault.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from mpc.errors import ParameterError
from mpc.node.config import DatasetConfig

_DTYPES = {"float": np.float64, "int": np.int64}


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: dict[str, np.ndarray]
    allow: tuple[str, ...]

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _convert(values: list[str], kind: str, where: str) -> np.ndarray:
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError as exc:
        raise ParameterError(f"{where}: not a number ({exc})") from None
    return _convert_array(arr, kind, where)


def _load_csv(cfg: DatasetConfig) -> dict[str, np.ndarray]:
    with open(cfg.path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ParameterError(f"dataset {cfg.name}: {cfg.path} is empty (expected a header row)")
        header = [h.strip() for h in header]
        missing = [c for c in cfg.columns if c not in header]
        if missing:
            raise ParameterError(f"dataset {cfg.name}: {cfg.path} has no column(s) {missing}; header is {header}")
        idx = {c: header.index(c) for c in cfg.columns}
        cols: dict[str, list[str]] = {c: [] for c in cfg.columns}
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ParameterError(f"dataset {cfg.name}: {cfg.path} line {lineno} has {len(row)} fields, "
                                     f"header has {len(header)}")
            for c, i in idx.items():
                cols[c].append(row[i])
    return {c: _convert(v, cfg.columns[c], f"dataset {cfg.name}: {cfg.path} column {c!r}") for c, v in cols.items()}


def _load_npy(cfg: DatasetConfig) -> dict[str, np.ndarray]:
    arr = np.load(cfg.path, allow_pickle=False)
    names = list(cfg.columns)
    if arr.ndim == 1 and len(names) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise ParameterError(f"dataset {cfg.name}: {cfg.path} has shape {arr.shape}; the schema lists "
                             f"{len(names)} columns {names}")
    out = {}
    for j, c in enumerate(names):
        col = arr[:, j].astype(np.float64)
        out[c] = _convert_array(col, cfg.columns[c], f"dataset {cfg.name}: {cfg.path} column {c!r}")
    return out


def _convert_array(arr: np.ndarray, kind: str, where: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{where}: contains NaN or infinite values")
    if kind == "int":
        if not np.all(arr == np.round(arr)):
            raise ParameterError(f"{where}: declared int but holds fractional values")
        return arr.astype(np.int64)
    return arr


def load_dataset(cfg: DatasetConfig) -> Dataset:
    """Read one dataset from disk and check it against its schema."""
    try:
        cols = _load_npy(cfg) if cfg.format == "npy" else _load_csv(cfg)
    except OSError as exc:
        raise ParameterError(f"dataset {cfg.name}: cannot read {cfg.path}: {exc.strerror}") from None
    return Dataset(cfg.name, cols, cfg.allow)


def load_datasets(configs: dict[str, DatasetConfig]) -> dict[str, Dataset]:
    return {name: load_dataset(cfg) for name, cfg in configs.items()}
