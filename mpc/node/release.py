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
distributed noise, the colluders it tolerates, the expected error (`noise_std`, and at the
output parties `scale`, `scale_source`, `relative_noise`: `dp.release`) — or why the output is
exact. `release.derive(protocol, params, result)` adds, at the output parties, entries for values
the result derives from several releases (`Protocol.accuracy`, e.g. a mean). `release.settle(reason)`
ends the job's budget reservation (`mpc.node.grants.Hold`); the job manager calls it once the job
is final, whatever the ending.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

#: report entries whose relative_noise exceeds this are flagged: the noise is larger than the value's scale
WARN_RELATIVE_NOISE = 1.0

NO_DP_NOTE = "NOT differentially private: the nodes run with --no-dp (local experiments only)"


class GatedRelease:
    """Every output charged and noised by the DP gate before it opens (dp.release.ReleaseGate)."""

    def __init__(self, gate, hold=None):
        self.gate = gate
        self.hold = hold            # this node's reservation (None: it contributes no data)
        self.derived: list[dict] = []

    @property
    def report(self) -> list[dict]:
        return [dict(e, dp=True) for e in self.gate.report] + self.derived

    def function(self, session, output_to: tuple[int, ...]) -> Callable[..., Awaitable[Any]]:
        return self.gate.release_for(output_to)

    def derive(self, protocol, params: dict, result) -> None:
        """Report the expected error of derived values (at an output party, after the run)."""
        if protocol.accuracy is not None and result is not None:
            self.derived = list(protocol.accuracy(params, result, self.report))

    async def settle(self, reason: str) -> None:
        """The job is final: release what this node's reservation still holds."""
        if self.hold is not None:
            await self.hold.settle(reason)


class ExactRelease:
    """A plain open of each released array to `output_to`, with the reason in every report entry."""

    def __init__(self, note: str, outputs: list[str]):
        self.note = note
        self.report = [{"output": name, "dp": False, "note": note} for name in (outputs or ["all outputs"])]

    def function(self, session, output_to: tuple[int, ...]) -> Callable[..., Awaitable[Any]]:
        async def release(x, spec=None):
            return await session.open(x, to=list(output_to))

        return release

    def derive(self, protocol, params: dict, result) -> None:
        """Exact outputs carry no noise: nothing to add."""

    async def settle(self, reason: str) -> None:
        """No budget is held for exact outputs."""


def warnings(entries: list[dict]) -> list[str]:
    """One line per report entry whose noise exceeds the value's scale (relative_noise above
    `WARN_RELATIVE_NOISE`): the result there is mostly noise."""
    out = []
    for e in entries:
        rel = e.get("relative_noise")
        if e.get("dp") and rel is not None and rel > WARN_RELATIVE_NOISE:
            out.append(f"WARNING: the noise on {e.get('output', '?')} (sd {e['noise_std']:.4g}) exceeds the value's "
                       f"scale ({e['scale']:.4g}, {e.get('scale_source', '')}) {rel:.1f} times: the result is "
                       f"mostly noise; use more rows, a larger epsilon or tighter public bounds")
    return out


def _error(entry: dict) -> str:
    if "noise_std" not in entry:
        return ""
    text = f"; expected error: noise sd {entry['noise_std']:.4g}"
    if entry.get("relative_noise") is not None:
        text += (f" = {entry['relative_noise']:.1%} of the value's scale {entry['scale']:.4g} "
                 f"({entry.get('scale_source', '')})")
    return text


def describe(entry: dict) -> str:
    """One line for a report entry (as `mpc run` and `mpc demo` print it)."""
    if not entry.get("dp"):
        return f"{entry.get('output', '?')}: {entry.get('note', 'exact output')}"
    if entry.get("derived_from"):
        return f"{entry['output']} (from {', '.join(entry['derived_from'])}){_error(entry)}".replace("; e", ": e", 1)
    line = (f"{entry.get('output', '?')}: epsilon {entry['epsilon']:.4g}, delta {entry['delta']:.3g}, "
            f"{entry['mechanism']}, noise scale {entry['noise_scale']:.4g}")
    if "colluders_tolerated" in entry:
        line += f" (holds against {entry['colluders_tolerated']} colluding part"
        line += "y)" if entry["colluders_tolerated"] == 1 else "ies)"
    if "central" in entry.get("mode", ""):
        line += " [central mode: WEAKER, the output party sees the raw value]"
    return line + _error(entry)
