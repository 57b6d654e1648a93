"""Secret-shared payload columns from PSI: a table aligned row by row at both parties.

Format (what a following job reads). Both parties hold a `PayloadShares` with the same
`rows`, the same column names and the same row order: row r is the r-th item of the
sender's set in a random order π that only the sender knows. Every array is uint64, an
additive share over Z_2^64 (`mpc.arith.RING`): the value is the sum of the two parties'
arrays mod 2^64.
- `indicator[r]` shares 1 if the sender's item r is in the intersection, else 0.
- For a receiver column: the receiver's value for the matching row where indicator = 1,
  0 elsewhere. For a sender column: the sender's value for item r on every row (also where
  indicator = 0), so a job that must ignore non-joined rows multiplies by the indicator
  (one Beaver multiplication; for sums and Gram matrices, X^T diag(ind) X).
- `owner[name]` says which party's column it is ("receiver" or "sender").
- `info`: what a node records about the table (PSI job, parties, dataset, bounds, fractional
  bits; `mpc.psi.tables`), empty where nobody set it.
Saved with `save(path)` (or `to_bytes()`) as an .npz file: arrays `indicator`, `col:<name>`,
and a JSON `meta` (format, version, rows, owners, info). Integer payloads enter as they are (two's
complement for negatives); encode reals first with `mpc.arith.FixedPoint.encode`.

Why the sender's order: the receiver knows the matches and can place its values there; the
sender knows its own order; a table in the receiver's order would need an oblivious
permutation of the sender's values. Shares are masked with a PRG stream from a seed both
hold: receiver share = (its values) + m, sender share = (its values) - m, so neither share
alone shows anything beyond what its holder already knew.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mpc.arith import RING
from mpc.crypto import PRG
from mpc.errors import ParameterError

FORMAT = "mpc-psi-payload-shares"
VERSION = 1


@dataclass(frozen=True)
class PayloadShares:
    """One party's additive shares of the joined table (see the module docstring)."""

    rows: int
    indicator: np.ndarray
    columns: dict[str, np.ndarray]
    owner: dict[str, str]
    info: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "version": VERSION, "rows": self.rows, "owner": self.owner, "info": self.info}
        buf = io.BytesIO()
        np.savez(buf, indicator=self.indicator, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                 **{f"col:{k}": v for k, v in self.columns.items()})
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "payload shares") -> "PayloadShares":
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]))
                if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                    raise ParameterError(f"{where} is not a {FORMAT} v{VERSION} file")
                cols = {k[4:]: z[k].astype(np.uint64) for k in z.files if k.startswith("col:")}
                ind = z["indicator"].astype(np.uint64)
            rows, owner, info = int(meta["rows"]), dict(meta["owner"]), dict(meta.get("info") or {})
        except ParameterError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise ParameterError(f"{where} is not a readable {FORMAT} file ({type(exc).__name__}: {exc})") from None
        if ind.shape != (rows,) or any(v.shape != (rows,) for v in cols.values()) or set(cols) != set(owner):
            raise ParameterError(f"{where}: arrays do not match the declared {rows} rows and columns")
        return cls(rows, ind, cols, owner, info)

    @classmethod
    def load(cls, path: str | Path) -> "PayloadShares":
        return cls.from_bytes(Path(path).read_bytes(), str(path))


def check_payload(payload: Mapping[str, np.ndarray], n_rows: int) -> dict[str, np.ndarray]:
    """Payload columns as uint64 ring elements, one value per input row."""
    out = {}
    for name, col in payload.items():
        a = np.asarray(col)
        if not isinstance(name, str) or not name or a.shape != (n_rows,):
            raise ParameterError(f"payload column {name!r} must be named and have one value per input row "
                                 f"({n_rows}), got shape {a.shape}")
        if a.dtype.kind not in "iu":
            raise ParameterError(f"payload column {name!r} has dtype {a.dtype}; give integers (encode reals "
                                 "with mpc.arith.FixedPoint(...).encode first)")
        out[name] = RING.from_int(a)
    return out


def share_payload(*, role: str, rows: int, matches: Sequence[tuple[int, int]] | None, first_rows: np.ndarray,
                  payload: Mapping[str, np.ndarray], peer_columns: Sequence[str], seed: bytes) -> PayloadShares:
    """This party's shares. Receiver: `matches` are (own unique index, sender row) pairs and
    `first_rows[i]` the input row of own unique item i. Sender: `first_rows[r]` is the input
    row of the item at table row r."""
    own = dict(payload)
    clash = set(own) & set(peer_columns)
    if clash:
        raise ParameterError(f"both parties have payload columns named {sorted(clash)}; rename one side")
    owner = {**{c: role for c in own}, **{c: ("sender" if role == "receiver" else "receiver") for c in peer_columns}}
    sign = np.uint64(1) if role == "receiver" else np.uint64((1 << 64) - 1)  # +m at R, -m at S
    names = ["\x00indicator"] + sorted(owner)
    masks = {c: PRG.derive(seed, "psi-payload", c).uint64(rows) for c in names}
    plain = {c: np.zeros(rows, dtype=np.uint64) for c in names}
    if role == "receiver":
        pos = np.array([p for _, p in matches], dtype=np.int64)
        src = first_rows[np.array([i for i, _ in matches], dtype=np.int64)] if matches else np.zeros(0, np.int64)
        plain["\x00indicator"][pos] = 1
        for c, col in own.items():
            plain[c][pos] = col[src]
    else:
        for c, col in own.items():
            plain[c][:] = col[first_rows]
    shares = {c: plain[c] + sign * masks[c] for c in names}
    ind = shares.pop("\x00indicator")
    return PayloadShares(rows, ind, shares, owner)
