"""How a node releases a protocol's outputs: the one place the node gets `JobContext.release` from.

A job's release object is fixed when the node admits the job (`mpc.node.grants`), from the job
spec's `dp_mode`, which is part of the job spec hash, so every party releases the same way:

* `GatedRelease` ("distributed", the default, or "central" if the node's [budget] says so): the
  DP gate (`dp.release.ReleaseGate`) spends the job's ε, δ over the outputs the protocol declared
  and noises each one before it opens — distributed: every compute party adds its own noise
  share before opening, so nobody sees a raw output; central (weaker, labelled so): the single
  output party opens the raw value and noises it.
* `ExactRelease` for DP-exempt protocols (`Protocol.dp_exempt`): outputs are exact; the report
  says "exact output (not DP): <reason>".
* `ExactRelease` at a node started with `--no-dp`: outputs are exact; every report entry says
  "NOT differentially private".

`release.function(session, output_to)` is the coroutine function protocols call as
`await ctx.release(x, spec)`: it returns the (noised) value at the output parties, None
elsewhere. `release.report` lists, per output: name, ε, δ, mechanism, noise scale and, for
distributed noise, the colluders it tolerates — or why the output is exact.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

NO_DP_NOTE = "NOT differentially private: the nodes run with --no-dp (local experiments only)"


class GatedRelease:
    """Every output noised by the DP gate before it opens (dp.release.ReleaseGate)."""

    def __init__(self, gate):
        self.gate = gate

    @property
    def report(self) -> list[dict]:
        return [dict(e, dp=True) for e in self.gate.report]

    def function(self, session, output_to: tuple[int, ...]) -> Callable[..., Awaitable[Any]]:
        return self.gate.release_for(output_to)


class ExactRelease:
    """A plain open of each released array to `output_to`, with the reason in every report entry."""

    def __init__(self, note: str, outputs: list[str]):
        self.note = note
        self.report = [{"output": name, "dp": False, "note": note} for name in (outputs or ["all outputs"])]

    def function(self, session, output_to: tuple[int, ...]) -> Callable[..., Awaitable[Any]]:
        async def release(x, spec=None):
            return await session.open(x, to=list(output_to))

        return release


def describe(entry: dict) -> str:
    """One line for a report entry (as `mpc run` and `mpc demo` print it)."""
    if not entry.get("dp"):
        return f"{entry.get('output', '?')}: {entry.get('note', 'exact output')}"
    line = (f"{entry.get('output', '?')}: epsilon {entry['epsilon']:.4g}, delta {entry['delta']:.3g}, "
            f"{entry['mechanism']}, noise scale {entry['noise_scale']:.4g}")
    if "colluders_tolerated" in entry:
        line += f" (holds against {entry['colluders_tolerated']} colluding part"
        line += "y)" if entry["colluders_tolerated"] == 1 else "ies)"
    if "central" in entry.get("mode", ""):
        line += " [central mode: WEAKER, the output party sees the raw value]"
    return line
