"""`mpc gc`: run a Bristol Fashion circuit as a Yao 2PC (`mpc gc run`), show its gate counts (`mpc gc info`).

Values, in and out, are `int_hex`: the hex of the integer whose bit k is the value's wire k,
zero-padded to the value's width (for AES and SHA-256 exactly the standard byte string).
"""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("gc", help="garbled circuits: run a Bristol Fashion circuit as a two-party computation")
    gsub = p.add_subparsers(dest="gc_command", metavar="GC_COMMAND")
    gsub.required = True

    r = gsub.add_parser("run", help="evaluate CIRCUIT on the garbler's and evaluator's inputs with Yao's protocol")
    r.add_argument("circuit", metavar="CIRCUIT.txt", help="Bristol Fashion file, or the name of a shipped circuit")
    r.add_argument("--garbler-input", nargs="*", default=[], metavar="HEX",
                   help="the garbler's input values in int_hex, in circuit order")
    r.add_argument("--evaluator-input", nargs="*", default=[], metavar="HEX",
                   help="the evaluator's input values in int_hex, in circuit order")
    r.add_argument("--owners", default=None, metavar="g,e,...",
                   help="who supplies each input value (default: the garbler supplies as many leading values "
                        "as --garbler-input has, the evaluator the rest)")
    r.add_argument("--output-to", choices=["evaluator", "garbler", "both"], default="both",
                   help="which party learns the outputs (default: both; the command prints them)")
    r.add_argument("--transport", choices=["local", "grpc"], default="local",
                   help="local: both parties in this process (default); grpc: two node processes over gRPC")
    r.set_defaults(func=run)

    i = gsub.add_parser("info", help="print a circuit's inputs, outputs and gate counts")
    i.add_argument("circuit", metavar="CIRCUIT.txt", help="Bristol Fashion file, or the name of a shipped circuit")
    i.set_defaults(func=info)


def info(args) -> int:
    from mpc.gc.bristol import load

    c = load(args.circuit)
    counts = c.counts()
    print(f"circuit: {c.name}")
    print(f"inputs: {len(c.input_widths)} values, widths {list(c.input_widths)} ({c.n_inputs} bits)")
    print(f"outputs: {len(c.output_widths)} values, widths {list(c.output_widths)} ({c.n_outputs} bits)")
    print(f"wires: {c.n_wires}")
    print(f"gates: {c.n_gates} (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
    print(f"AND depth: {c.and_depth()}")
    print(f"garbled size: {32 * counts['AND']} bytes (32 per AND)")
    return 0


def _owners(args, n_values: int) -> tuple[str, ...]:
    from mpc.errors import ParameterError

    if args.owners:
        owners = tuple(o.strip() for o in args.owners.split(",") if o.strip())
    else:
        g = len(args.garbler_input)
        owners = ("g",) * g + ("e",) * (n_values - g)
    if len(owners) != n_values:
        raise ParameterError(f"the circuit has {n_values} input values but {len(owners)} owners were given")
    return owners


def run(args) -> int:
    from mpc.errors import ParameterError
    from mpc.gc.bristol import hex_to_int, int_to_bits, int_to_hex, bits_to_int, load
    from mpc.gc.yao import Layout

    c = load(args.circuit)
    lay = Layout.make(c, _owners(args, len(c.input_widths)),
                      ("garbler", "evaluator") if args.output_to == "both" else (args.output_to,))
    supplied = {"garbler": args.garbler_input, "evaluator": args.evaluator_input}
    values = {}
    for role, texts in supplied.items():
        widths = lay.widths_of(role)
        if len(texts) != len(widths):
            raise ParameterError(f"the {role} supplies {len(widths)} value(s) of widths {widths} for {c.name}; "
                                 f"{len(texts)} given with --{role}-input")
        values[role] = [int_to_bits([hex_to_int(t, w)], w) for t, w in zip(texts, widths)]
    if args.transport == "grpc":
        from mpc.gc.bristol import shipped_path

        if shipped_path(args.circuit) is None:
            raise ParameterError(f"--transport grpc runs the registered gc_eval protocol, which evaluates only the "
                                 f"circuits shipped with the package ({args.circuit} is not one of them)")
        ints = {role: [bits_to_int(v) for v in vals] for role, vals in values.items()}
        outs, _report = run_on_local_nodes(c.name[:-4], ints, lay.owners, lay.output_to, 1)
        for hexes in outs:
            print(hexes[0])
        return 0
    from mpc.gc.local import LocalPair

    res = LocalPair(job="mpc-gc-run").run(c, values["garbler"], values["evaluator"], n=1, owners=lay.owners,
                                          output_to=lay.output_to)
    outs = res.evaluator if res.evaluator is not None else res.garbler
    for bits, w in zip(outs, c.output_widths):
        print(int_to_hex(bits_to_int(bits)[0], w))
    if res.garbler is not None and res.evaluator is not None:
        if any((a != b).any() for a, b in zip(res.garbler, res.evaluator)):
            print("mpc gc run: the two parties decoded different outputs", file=sys.stderr)
            return 1
    return 0


def run_on_local_nodes(circuit: str, values: dict, owners, output_to, n: int, *, timeout_s: float = 600.0,
                       repeats: int = 1):
    """Run `gc_eval` on two local `mpc node` processes over gRPC with mutual TLS (fresh
    certificates and configs in a temporary folder; party 0 garbles, party 1 evaluates).

    `values[role]` lists, for each input value the role supplies, its n integers; each party's
    dataset holds them as 32-bit limb columns. Returns (outputs as int_hex lists per output value,
    the client's per-party report); with `repeats` > 1 the job runs that many times on the same
    nodes and the report gains "wall_s", the client's submit-to-result time of each run."""
    import tempfile
    import time
    from pathlib import Path

    from mpc.errors import ParameterError

    try:
        from mpc.client import Client
        from mpc.node.localcluster import write_cluster
    except ImportError:
        raise ParameterError("--transport grpc needs the node daemon and client (mpc.node, mpc.client), which "
                             "are not in this build; use --transport local") from None
    from mpc.gc.bristol import header

    widths, _ = header(circuit)
    party = {"garbler": 0, "evaluator": 1}
    with tempfile.TemporaryDirectory(prefix="mpc-gc-") as tmp:
        root = Path(tmp)
        datasets, columns = {}, {}
        for role, pid in party.items():
            cols = {}
            mine = iter(values.get(role, []))
            for k, (w, owner) in enumerate(zip(widths, owners)):
                if owner != role:
                    continue
                vals = next(mine)
                limbs = [f"v{k}_{j}" for j in range(-(-w // 32))]
                columns[k] = limbs
                for j, name in enumerate(limbs):
                    cols[name] = [(v >> (32 * j)) & 0xFFFFFFFF for v in vals]
            if not cols:  # a party without inputs still needs a dataset to contribute
                cols = {"none": [0] * n}
            path = root / f"gc{pid}.csv"
            path.write_text(",".join(cols) + "\n" + "\n".join(",".join(str(cols[c][r]) for c in cols)
                                                              for r in range(n)) + "\n")
            datasets[pid] = {"gc": {"path": path, "columns": {c: "int" for c in cols}, "allow": ["gc_eval"]}}
        cluster = write_cluster(root / "cluster", 2, dealer=False, datasets=datasets, timeout_s=timeout_s)
        params = {"circuit": circuit, "instances": n, "garbler": 0,
                  "owners": [party[o] for o in owners], "input_columns": [columns[k] for k in range(len(widths))]}
        cluster.start()
        try:
            cluster.wait_ready()
            walls = []
            with Client.from_config(cluster.client_config) as client:
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    out = client.run("gc_eval", {0: "gc", 1: "gc"}, params, parties=[0, 1],
                                     output_to=[party[r] for r in output_to], timeout_s=timeout_s)
                    walls.append(time.perf_counter() - t0)
        finally:
            cluster.stop()
    first = out.outputs[min(out.outputs)]
    report = dict(out.report)
    if repeats > 1:
        report["wall_s"] = walls
    return first["outputs"], report
