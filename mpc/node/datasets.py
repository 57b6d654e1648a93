"""A node's datasets: CSV or NPY files that only this node reads, checked against their schema.

Each dataset becomes a mapping column name -> 1-D numpy array (float64 for "float" columns,
int64 for "int" columns). A file that does not match its schema is refused with a message that
names the dataset, the file, the line (CSV; row index for NPY) and the column at fault.
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _convert(values: list[str], kind: str, where: str, lines: list[int]) -> np.ndarray:
    """A CSV column's cells as numbers; a bad cell is named by its line (`lines[i]` for cell i)."""
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        i = next(i for i, v in enumerate(values) if not _is_number(v))
        cell = values[i] if len(values[i]) <= 40 else values[i][:40] + "…"
        raise ParameterError(f"{where.replace('{at}', f'line {lines[i]}, ')}: {cell!r} is not a number "
                             f"(the schema declares it {kind}); fix the cell or the schema") from None
    return _convert_array(arr, kind, where, [f"line {n}, " for n in lines])


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
        lines: list[int] = []
        for row in reader:
            if not row:
                continue
            lineno = reader.line_num
            if len(row) != len(header):
                raise ParameterError(f"dataset {cfg.name}: {cfg.path} line {lineno} has {len(row)} fields, "
                                     f"header has {len(header)}")
            lines.append(lineno)
            for c, i in idx.items():
                cols[c].append(row[i])
    return {c: _convert(v, cfg.columns[c], f"dataset {cfg.name}: {cfg.path} {{at}}column {c!r}", lines)
            for c, v in cols.items()}


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
        out[c] = _convert_array(col, cfg.columns[c], f"dataset {cfg.name}: {cfg.path} {{at}}column {c!r}")
    return out


def _convert_array(arr: np.ndarray, kind: str, where: str, rows: list[str] | None = None) -> np.ndarray:
    """Check finiteness (and integrality for "int"); `where` has an `{at}` slot for the first bad row."""
    def at(bad: np.ndarray) -> str:
        i = int(np.flatnonzero(bad)[0])
        return where.replace("{at}", rows[i] if rows is not None else f"row {i}, ")

    finite = np.isfinite(arr)
    if not finite.all():
        raise ParameterError(f"{at(~finite)}: {arr[~finite][0]} (NaN or infinite values are not allowed)")
    if kind == "int":
        frac = arr != np.round(arr)
        if frac.any():
            raise ParameterError(f"{at(frac)}: {arr[frac][0]:g} is fractional but the schema declares the "
                                 f"column int")
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
