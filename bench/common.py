"""What every bench shares: the record shape, timing, ratios to peers, the table, the JSON file.

Record keys (../shared/DESIGN.md, "Bench records"): area, op, system, protocol, parties, n,
seconds (median), ops_per_s, bytes_per_party, rounds, repeats, transport, machine; plus
ratio_to / ratio on our records when a peer ran the same operation in the same run
(ratio = our ops_per_s / the peer's ops_per_s, so > 1 means we are faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ("area", "op", "system", "protocol", "parties", "n", "seconds", "ops_per_s",
        "bytes_per_party", "rounds", "repeats", "transport", "machine")


def machine() -> str:
    """A short description of this machine: CPU model, cores, ISA of the native kernels."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from mpc import _native

        isa = _native.active_isa()
    except Exception:  # the bench may run before the build in a broken checkout
        isa = "?"
    return f"{model}, {os.cpu_count()} cores, {platform.machine()}, kernels={isa}"


def record(area: str, op: str, system: str, *, protocol: str, parties: int, n: int, seconds: float,
           bytes_per_party: float | None, rounds: int | None, repeats: int, transport: str,
           **extra) -> dict:
    """One bench record in the shared shape (`extra` keys are appended)."""
    rec = {
        "area": area,
        "op": op,
        "system": system,
        "protocol": protocol,
        "parties": parties,
        "n": n,
        "seconds": seconds,
        "ops_per_s": (n / seconds) if seconds > 0 else None,
        "bytes_per_party": bytes_per_party,
        "rounds": rounds,
        "repeats": repeats,
        "transport": transport,
        "machine": machine(),
    }
    rec.update(extra)
    return rec


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `fn()` over `repeats` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def add_ratio(ours: dict, peer: dict) -> None:
    """Mark `ours` with its throughput ratio to `peer` (same op, same run)."""
    if ours.get("ops_per_s") and peer.get("ops_per_s"):
        ours["ratio_to"] = peer["system"]
        ours["ratio"] = ours["ops_per_s"] / peer["ops_per_s"]


def write(area: str, records: list[dict], path: Path | None = None) -> Path:
    """Write the records to bench/results/<area>.json (a list of records)."""
    path = path or RESULTS / f"{area}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1) + "\n")
    return path


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1e5 or abs(v) < 1e-3:
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(v)


def print_table(records: list[dict]) -> None:
    """A fixed-width table of the records."""
    cols = ["op", "system", "protocol", "parties", "n", "transport", "seconds", "ops_per_s",
            "bytes_per_party", "rounds", "ratio"]
    rows = [[_fmt(r.get(c)) if not (c == "ratio" and r.get("ratio") is not None)
             else f"{r['ratio']:.1f}x vs {r['ratio_to']}" for c in cols] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def arg_parser(area: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m bench.{area}", description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (CI smoke, seconds)")
    p.add_argument("--repeats", type=int, default=None, help="timed repetitions per measurement")
    p.add_argument("--out", type=Path, default=None, help=f"JSON output (default bench/results/{area}.json)")
    return p
