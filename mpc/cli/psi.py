"""`mpc psi`: private set intersection of two parties' key columns (ECDH over Ed25519).

Through the nodes: `mpc psi --config client.toml --parties 0,1 --datasets patients --key pid`
runs the registered `psi` protocol between two nodes, each on the key column of its own
dataset (`--datasets A,B` when the names differ); every node must allow `psi` on it.
With `--local 2` both parties run in this process from two CSV files (for trying it out).
The receiver (`--receiver`, default party 0) learns the intersection members (or only its
size with `--output size`); the other party learns the receiver's set size, and the
intersection size only with `--size-to-sender`. `--payload-a/--payload-b` give columns to
share: both parties then get additive shares (Z_2^64) of a joined table (indicator plus
columns, format in `mpc.psi.payload`), written to OUT/party<i>_shares.npz.
Through the nodes, payload columns carry public clip bounds (`--payload-a age=20:90,cost=0:500`)
and each node keeps its shares as a joined table named by the job id (nodes need `state_dir`);
a following job names it, e.g. `mpc run linear_regression --config client.toml --parties 0
--parties 1 --input 0=patients --input 1=patients --params '{"joined": "<job id>", "features":
["age", "bmi"], "label": "cost"}'`.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("psi", help="private set intersection (size, members, or secret-shared joined columns)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--local", type=int, metavar="N", help="run both parties in this process (N must be 2)")
    p.add_argument("--config", type=Path, help="client TOML file: run between two nodes")
    p.add_argument("--parties", default="0,1", help="with --config: the two nodes (default 0,1)")
    p.add_argument("--datasets", help="with --config: the dataset name at both nodes, or A,B (one per party)")
    p.add_argument("--timeout", type=float, default=0.0, help="with --config: per-wait timeout in the job (s)")
    p.add_argument("--insecure", action="store_true", help="with --config: plain text (local experiments only)")
    p.add_argument("--a", type=Path, help="--local: party 0's CSV file (with a header row)")
    p.add_argument("--b", type=Path, help="--local: party 1's CSV file (with a header row)")
    p.add_argument("--key", default=None, help="key column name (--local default: the first column; required "
                   "with --config)")
    p.add_argument("--output", choices=("members", "size"), default="members",
                   help="what the receiver learns (default members)")
    p.add_argument("--receiver", type=int, default=None,
                   help="the designated party (default the first: 0 with --local, the first of --parties)")
    p.add_argument("--size-to-sender", action="store_true", help="also tell the other party the intersection size")
    p.add_argument("--payload-a", default="", help="columns of the first party to share for the joined rows: "
                   "--local: COL,COL; --config: COL=LOWER:UPPER,... (public clip bounds)")
    p.add_argument("--payload-b", default="", help="the second party's columns, as --payload-a")
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

    if (args.local is None) == (args.config is None):
        raise ParameterError("give --config client.toml (between two nodes) or --local 2 (both parties here)")
    if args.config is not None:
        return run_nodes(args)
    if args.local != 2:
        raise ParameterError(f"PSI runs between 2 parties: use --local 2, not --local {args.local}")
    if args.a is None or args.b is None:
        raise ParameterError("--local 2 needs --a and --b (the two parties' CSV files)")
    args.receiver = 0 if args.receiver is None else args.receiver
    if args.receiver not in (0, 1):
        raise ParameterError(f"--receiver must be 0 or 1 with --local 2, got {args.receiver}")
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


def run_nodes(args) -> int:
    """PSI between two nodes; prints what each party is entitled to."""
    from mpc.cli.keys import _party_list
    from mpc.client import Client
    from mpc.errors import ParameterError

    parties = _party_list(args.parties)
    if len(parties) != 2:
        raise ParameterError(f"PSI runs between 2 parties: --parties {args.parties!r}")
    names = [d for d in (args.datasets or "").split(",") if d]
    if len(names) not in (1, 2) or not args.key:
        raise ParameterError("--config needs --key COLUMN and --datasets NAME (or NAME_A,NAME_B)")
    if args.out is not None or args.frac_bits is not None:
        raise ParameterError("--out and --frac-bits are for --local 2: through the nodes the shares stay at the "
                             "nodes as a joined table, in the nodes' fixed point")
    inputs = {p: names[min(i, len(names) - 1)] for i, p in enumerate(parties)}
    receiver = parties[0] if args.receiver is None else args.receiver
    params = {"key": args.key, "output": args.output, "size_to_sender": args.size_to_sender, "receiver": receiver}
    if args.payload_a or args.payload_b:
        params["payload"] = {str(p): _bounded_columns(spec, flag)
                             for p, spec, flag in zip(parties, (args.payload_a, args.payload_b), ("a", "b"))}
    with Client.from_config(args.config, insecure=args.insecure) as client:
        out = client.run("psi", inputs, params, parties=parties, timeout_s=args.timeout, node=parties[0])
    for p in parties:
        r = out.outputs.get(p) or {}
        sizes = r.get("set_sizes", [])
        line = f"party {p}{' (receiver)' if p == receiver else ''}: set sizes {sizes}"
        if "size" in r:
            line += f", intersection size {r['size']}"
        print(line)
    for m in (out.outputs.get(receiver) or {}).get("members") or []:
        print(m)
    joined = next((r["joined"] for r in out.outputs.values() if r and "joined" in r), None)
    if joined is not None:
        cols = ", ".join(f"{c} [{lo:g}, {hi:g}]" for c, (lo, hi) in joined["columns"].items())
        print(f"joined table {joined['table']}: {joined['rows']} rows (the sender's order), columns {cols}; "
              f"kept at both nodes; name it in a following job with \"joined\": \"{joined['table']}\"")
    return 0


def _bounded_columns(spec: str, flag: str) -> dict:
    """'age=20:90,cost=0:500' -> {"age": [20.0, 90.0], "cost": [0.0, 500.0]}."""
    from mpc.errors import ParameterError

    out = {}
    for item in (x for x in spec.split(",") if x):
        name, _, rng = item.partition("=")
        lo, _, hi = rng.partition(":")
        try:
            out[name.strip()] = [float(lo), float(hi)]
        except ValueError:
            raise ParameterError(f"--payload-{flag}: give COLUMN=LOWER:UPPER for each column through the nodes "
                                 f"(public clip bounds), got {item!r}") from None
    return out
