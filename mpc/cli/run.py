"""`mpc run PROTOCOL --config client.toml --input 0=patients ... --epsilon 1 --delta 1e-6`: run a job,
with a progress bar; a DP job reserves its budget grants first (the client config's [budget]).
Prints the result, the per-output privacy report with the expected error, a warning where the
noise exceeds the value's scale, and the per-party counters. `mpc run --list` lists the
protocols with their parameters; `mpc run --list PROTOCOL` shows one of them."""

from __future__ import annotations

import argparse
import sys

EPILOG = """protocols and their parameters:
  mpc run --list                 every built-in protocol with its parameters
  mpc run --list histogram       one protocol: what it computes, security, DP, parameters
Nodes may add protocols of their own (protocol_modules in their config); --list shows the
built-in ones. Parameters go in --params as a JSON object, e.g.
  mpc run histogram --config client.toml --input 0=patients --input 1=patients \\
      --params '{"column": "age", "edges": [20, 40, 60, 90]}' --epsilon 1 --delta 1e-6
Each DP output's report line states the expected error (noise sd and its share of the value's
scale); a WARNING is printed when the noise exceeds the value's scale."""


def register(sub) -> None:
    p = sub.add_parser("run", help="submit a job to the nodes and print its result and report",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", nargs="?", help="a registered protocol name (see --list)")
    p.add_argument("--list", action="store_true",
                   help="list the protocols and their parameters (with PROTOCOL: only that one) and exit")
    p.add_argument("--config", help="the client's TOML file ([client] and [[nodes]]); required to run a job")
    p.add_argument("--input", action="append", default=[], metavar="PARTY=DATASET",
                   help="a party and the dataset it contributes (repeat)")
    p.add_argument("--params", default="{}", help="protocol parameters as a JSON object (see --list PROTOCOL)")
    p.add_argument("--output-to", type=int, action="append", default=None, metavar="PARTY",
                   help="a party that receives the output (repeat; default all)")
    p.add_argument("--parties", type=int, action="append", default=None, metavar="PARTY",
                   help="compute parties (repeat; default every party in the roster)")
    p.add_argument("--node", type=int, default=None, help="the node to submit to (default: lowest id)")
    p.add_argument("--timeout", type=float, default=0.0, help="per-wait timeout in the job (s)")
    p.add_argument("--epsilon", type=float, default=0.0,
                   help="privacy loss the job spends on each contributing dataset (DP jobs; split over its outputs)")
    p.add_argument("--delta", type=float, default=0.0, help="delta of the job (distributed noise needs delta > 0)")
    p.add_argument("--json", action="store_true", help="print the result and report as JSON")
    p.add_argument("--insecure", action="store_true", help="plain text (local experiments only)")
    p.set_defaults(func=run)


def progress_bar(stream=sys.stderr, width: int = 30):
    """A progress callback that draws `[#####.....]  45%  message` on one line."""
    def show(ev: dict) -> None:
        frac = max(0.0, min(1.0, ev.get("fraction", 0.0)))
        done = int(round(frac * width))
        line = f"\r[{'#' * done}{'.' * (width - done)}] {frac * 100:5.1f}%  {ev.get('state', '')}: " \
               f"{ev.get('message', '')[:40]:<40}"
        stream.write(line)
        if ev.get("state") in ("done", "failed", "cancelled"):
            stream.write("\n")
        stream.flush()
    return show


def list_protocols(name: str | None = None) -> int:
    """Print the built-in protocols with their parameters (or one protocol in full)."""
    from mpc.protocols import default_registry

    reg = default_registry()
    if name is not None:
        print(reg.get(name).describe())
        return 0
    for protocol in reg:
        params = ", ".join(protocol.parameters) or "none"
        dp = "exact" if protocol.dp_exempt else "DP"
        print(f"{protocol.name:<20} {dp:<5} {protocol.summary}\n{'':<26} parameters: {params}")
    print("\n`mpc run --list PROTOCOL` explains each parameter.")
    return 0


def run(args) -> int:
    import json

    from mpc.client import Client
    from mpc.errors import ParameterError
    from mpc.node.jobs import plain
    from mpc.node.release import describe, warnings

    if args.list:
        return list_protocols(args.protocol)
    if not args.protocol or not args.config:
        raise ParameterError("mpc run needs a PROTOCOL and --config client.toml (see `mpc run --list` for the "
                             "protocols)")
    inputs = {}
    for item in args.input:
        party, sep, dataset = item.partition("=")
        if not sep or not party.strip().isdigit() or not dataset:
            raise ParameterError(f"--input {item!r}: expected PARTY=DATASET, e.g. 0=patients")
        inputs[int(party)] = dataset
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise ParameterError(f"--params is not JSON: {exc}") from None
    with Client.from_config(args.config, insecure=args.insecure) as client:
        out = client.run(args.protocol, inputs, params, output_to=args.output_to, parties=args.parties,
                         timeout_s=args.timeout, node=args.node, progress=progress_bar(), epsilon=args.epsilon,
                         delta=args.delta)
    for line in warnings(out.privacy):
        print(line, file=sys.stderr)
    if args.json:
        print(json.dumps({"job_id": out.job_id, "result": plain(out.result), "privacy": out.privacy,
                          "report": out.report, "cosignature": out.cosignature}, indent=1))
        return 0
    print(f"job {out.job_id}  spec hash {out.spec_hash[:16]}...")
    print(f"result: {out.result}")
    print("privacy:")
    for entry in out.privacy or [{"output": "all outputs", "note": "no privacy report (no output party answered)"}]:
        print(f"  {describe(entry)}")
    if out.cosignature is not None:  # checked by the client (mpc.threshold.cosign.check_job_cosignature)
        c = out.cosignature
        print(f"co-signed by parties {c['signers']} with key {c['key_id']} ({c['group_public_key']}):")
        print(f"  statement {c['message']}\n  signature {c['signature']}")
    for party, r in sorted(out.report.items()):
        print(f"  party {party}: {r['state']:<6} {r['seconds']:.3f} s  sent {r['bytes_sent']} B  "
              f"received {r['bytes_received']} B  rounds {r['rounds']}")
    return 0
