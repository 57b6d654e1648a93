"""`mpc psi`: private set intersection of two parties' key columns (ECDH over Ed25519).

With `--local 2` both parties run in this process from two CSV files (for trying it out).
The receiver (`--receiver`, default party 0) learns the intersection members (or only its
size with `--output size`); the other party learns the receiver's set size, and the
intersection size only with `--size-to-sender`. `--payload-a/--payload-b` give columns to
share: both parties then get additive shares (Z_2^64) of a joined table (indicator plus
columns, format in `mpc.psi.payload`), written to OUT/party<i>_shares.npz.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("psi", help="private set intersection (size, members, or secret-shared joined columns)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--local", type=int, metavar="N", help="run both parties in this process (N must be 2)")
    p.add_argument("--a", type=Path, required=True, help="party 0's CSV file (with a header row)")
    p.add_argument("--b", type=Path, required=True, help="party 1's CSV file (with a header row)")
    p.add_argument("--key", default=None, help="key column name (default: the first column)")
    p.add_argument("--output", choices=("members", "size"), default="members",
                   help="what the receiver learns (default members)")
    p.add_argument("--receiver", type=int, choices=(0, 1), default=0, help="the designated party (default 0)")
    p.add_argument("--size-to-sender", action="store_true", help="also tell the other party the intersection size")
    p.add_argument("--payload-a", default="", help="comma-separated columns of --a to share for the joined rows")
    p.add_argument("--payload-b", default="", help="comma-separated columns of --b to share for the joined rows")
    p.add_argument("--frac-bits", type=int, default=None,
                   help="encode payload values as fixed point with this many fractional bits (default: integers)")
    p.add_argument("--out", type=Path, default=None, help="folder for members.txt and the share files")
    p.set_defaults(func=run)


def read_table(path: Path, key: str | None, columns: list[str]):
    """(key values, {column: values as text}) from a CSV file with a header row."""
    from mpc.errors import ParameterError

    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise ParameterError(f"cannot read {path}: {exc.strerror}") from None
    if not rows:
        raise ParameterError(f"{path} is empty (a header row is needed)")
    header, body = rows[0], rows[1:]
    key = key or header[0]
    missing = [c for c in [key, *columns] if c not in header]
    if missing:
        raise ParameterError(f"{path} has no column(s) {missing}; columns are {header}")
    idx = {c: header.index(c) for c in [key, *columns]}
    bad = next((i for i, r in enumerate(body) if len(r) != len(header)), None)
    if bad is not None:
        raise ParameterError(f"{path}: row {bad + 2} has {len(body[bad])} fields, the header has {len(header)}")
    return [r[idx[key]] for r in body], {c: [r[idx[c]] for r in body] for c in columns}


def _encode(path: Path, cols: dict, frac_bits: int | None):
    import numpy as np

    from mpc.arith import FixedPoint
    from mpc.errors import ParameterError

    out = {}
    for name, text in cols.items():
        try:
            if frac_bits is None:
                out[name] = np.array([int(v) for v in text], dtype=np.int64)
            else:
                out[name] = FixedPoint(frac_bits).encode(np.array([float(v) for v in text]))
        except ValueError:
            kind = "integers (or give --frac-bits)" if frac_bits is None else "numbers"
            raise ParameterError(f"{path}: column {name!r} must hold {kind}") from None
    return out


def run(args) -> int:
    from mpc.errors import ParameterError
    from mpc.psi import psi
    from mpc.threshold.local import run_parties

    if args.local is None:
        raise ParameterError("running through the nodes needs the node daemon (mpc.node), which this build "
                             "does not have yet; use --local 2 to run both parties in this process")
    if args.local != 2:
        raise ParameterError(f"PSI runs between 2 parties: use --local 2, not --local {args.local}")
    cols = [[c for c in spec.split(",") if c] for spec in (args.payload_a, args.payload_b)]
    shared = any(cols)
    inputs = []
    for path, c in zip((args.a, args.b), cols):
        keys, raw = read_table(path, args.key, c)
        inputs.append((keys, _encode(path, raw, args.frac_bits) if shared else None))
    results = run_parties(2, lambda comm: psi(comm, inputs[comm.pid][0], receiver=args.receiver, output=args.output,
                                              size_to_sender=args.size_to_sender, payload=inputs[comm.pid][1]),
                          job="psi")
    r = results[args.receiver]
    other = 1 - args.receiver
    print(f"set sizes: receiver (party {args.receiver}) {r.set_sizes[0]}, party {other} {r.set_sizes[1]}")
    print(f"intersection size: {r.size}")
    if results[other].size is not None:
        print(f"party {other} learned the intersection size: {results[other].size}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        if r.members is not None:
            (args.out / "members.txt").write_text("".join(m.decode(errors="replace") + "\n" for m in r.members))
            print(f"members (receiver only): {args.out / 'members.txt'}")
        for p, res in enumerate(results):
            if res.shares is not None:
                path = res.shares.save(args.out / f"party{p}_shares.npz")
                print(f"party {p} shares ({res.shares.rows} rows, columns {sorted(res.shares.columns)}): {path}")
    elif r.members is not None:
        for m in r.members:
            print(m.decode(errors="replace"))
    return 0
