"""`python -m bench.report`: every bench/results/*.json as one markdown table (for the README).

Columns: area, operation, system, protocol, parties, n, median seconds, throughput, bytes per
party, rounds, and the ratio to the peer that ran in the same run.
"""

from __future__ import annotations

import json
import sys

from bench.common import RESULTS


def _num(v, digits=3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 1e6:
            return f"{v / 1e6:.{digits}g} M"
        if abs(v) >= 1e3:
            return f"{v / 1e3:.{digits}g} k"
        return f"{v:.{digits}g}"
    return str(v)


def _secs(v) -> str:
    if v is None:
        return "–"
    return f"{v * 1e3:.3g} ms" if v < 1 else f"{v:.3g} s"


def table(records: list[dict]) -> str:
    rows = ["| area | op | system | protocol | parties | n | time (median) | ops/s | bytes/party | rounds | vs peer |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        ratio = f"{r['ratio']:.3g}× {r['ratio_to']}" if r.get("ratio") is not None else ""
        rows.append("| " + " | ".join([
            r["area"], r["op"], r["system"], str(r.get("protocol", "")), str(r.get("parties", "")),
            _num(r.get("n")) if not isinstance(r.get("n"), int) else f"{r['n']:,}",
            _secs(r.get("seconds")), _num(r.get("ops_per_s")), _num(r.get("bytes_per_party")),
            _num(r.get("rounds")), ratio]) + " |")
    return "\n".join(rows)


def main(argv=None) -> int:
    files = sorted(RESULTS.glob("*.json"))
    if not files:
        print("no bench results yet: run python -m bench.<area>", file=sys.stderr)
        return 1
    for path in files:
        records = json.loads(path.read_text())
        machine = records[0].get("machine", "") if records else ""
        print(f"### {path.stem} (`python -m bench.{path.stem}`)\n\nMachine: {machine}\n")
        print(table(records))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
