"""The DP gate of a node: check a job's grant, then charge and noise every output before it opens.

What it computes: `ReleaseGate.admit(...)` checks, before the job touches any data, that the
grant is authentic (Ed25519 under the service key pinned in the node's config), unexpired, for
this job's spec hash and this node's dataset, and covers the ε, δ of every release the protocol
declares (the node then redeems it at the budget service: `mpc.node.grants`).
`gate.release_for(output_to)` is the `JobContext.release` a protocol calls: it splits the job's
ε and δ (which the grant covers) evenly over the declared releases (basic composition, as the
ledger counts), *commits* the cumulative amount of the releases so far at the budget service
(`commit`, when this node contributes data) and only then noises the secret output with
distributed discrete-Gaussian shares (`dp.distributed`) — or, in the weaker central mode, opens
to the single output party which noises it. A release whose commit fails is not opened: every
opening needs every party's share, so an output that opens was charged at every contributing
node (a failure between a commit and the opening over-charges, never under-charges).

Each release appends a report entry to `gate.report`: {output, epsilon, delta, mechanism,
noise_scale, mode, ...} and the expected error: `noise_std` (the standard deviation of the noise
in the released value, output units, per coordinate) and, at the output parties, `scale` (the
value's scale: the release's public bound `ReleaseSpec.scale` when the protocol states one, else
the largest |released value|, at least the sensitivity), `scale_source` and `relative_noise` =
noise_std / scale (above 1 the noise is larger than the value: `mpc run` warns,
`mpc.node.release.warnings`).

Security: as `dp.distributed` (semi-honest, at most t colluders). A release the grant does not
cover (an undeclared output, or one release too many) is refused with GrantMismatch.
References: see `dp.distributed` and `dp.budget.grants`.
Cost: no extra rounds beyond the opening.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import numpy as np

from dp.budget import grants as g
from dp.distributed import plan_distributed_gaussian
from dp.errors import DPParameterError, GrantMismatch
from dp.mechanisms import grid
from mpc.crypto import PRG

MODES = ("distributed", "central")
#: commit(epsilon_total, delta_total, output_name): charge this node's reservation up to the totals
Commit = Callable[[float, float, str], Awaitable[None]]


def split_budget(epsilon: float, delta: float, releases: list) -> tuple[float, float]:
    """Per-release ε and δ when a job's grant is spread evenly over its releases."""
    if not releases:
        raise DPParameterError("the protocol declares no releases; nothing can be opened")
    return epsilon / len(releases), delta / len(releases)


def _sensitivities(spec, dims: int) -> tuple[float | None, float | None]:
    l1, l2 = spec.l1, spec.l2
    if l1 is None and l2 is None:
        raise DPParameterError(f"release {spec.name!r} states no sensitivity; it cannot be noised")
    if l2 is None:
        l2 = l1  # ‖v‖₂ <= ‖v‖₁
    return l1, l2


def expected_error(entry: dict, spec, value) -> dict:
    """The value's scale and the noise relative to it, for a report entry (empty where neither the
    protocol states a public bound nor this party sees the released value)."""
    if getattr(spec, "scale", None):
        scale, source = float(spec.scale), "public bound"
    elif value is not None:
        floor = max(v for v in (spec.l1, spec.l2, 0.0) if v is not None)
        scale, source = max(float(np.max(np.abs(np.asarray(value, dtype=np.float64)))), floor), "released value"
        if scale <= 0:
            return {}
    else:
        return {}
    return {"scale": scale, "scale_source": source, "relative_noise": entry["noise_std"] / scale}


class ReleaseGate:
    """One node's gate for one job: the checked grant, the per-release allowance, the report."""

    def __init__(self, epsilon: float, delta: float, releases: list, *, mode: str = "distributed",
                 colluders: int | None = None, grant: g.GrantBody | None = None, commit: Commit | None = None):
        """A gate spending the job's (ε, δ) over `releases`; `grant` is the checked grant, if this
        node contributes data (a compute party without data still noises its shares), and `commit`
        charges it at the budget service before each release opens."""
        if mode not in MODES:
            raise DPParameterError(f"release mode must be one of {MODES}, got {mode!r}")
        self.grant = grant
        self.epsilon, self.delta = float(epsilon), float(delta)
        self.releases = list(releases)
        self.mode = mode
        self.colluders = colluders
        self.epsilon_each, self.delta_each = split_budget(self.epsilon, self.delta, self.releases)
        if mode == "distributed" and self.delta_each <= 0:
            raise DPParameterError("distributed noise is Gaussian and needs delta > 0")
        self._left = {}
        for spec in self.releases:
            self._left[spec.name] = self._left.get(spec.name, 0) + 1
        self._taken = 0
        self.commit = commit
        self.report: list[dict] = []

    @classmethod
    def admit(cls, grant: g.SignedGrant, public_key, *, job_hash: str | bytes, dataset: str, epsilon: float,
              delta: float, releases: list, now: float | None = None, mode: str = "distributed",
              colluders: int | None = None, commit: Commit | None = None) -> "ReleaseGate":
        """Verify the grant covers (ε, δ) of this job and dataset (raises before any data is touched);
        the gate spends exactly the job's ε, δ, committing it through `commit` release by release."""
        body = g.verify(grant, public_key, job_hash=job_hash, dataset=dataset, epsilon=epsilon, delta=delta, now=now)
        return cls(epsilon, delta, releases, mode=mode, colluders=colluders, grant=body, commit=commit)

    def _take(self, spec) -> None:
        if self._left.get(spec.name, 0) <= 0:
            grant = f"grant {self.grant.grant_id}" if self.grant is not None else "the job's grants"
            raise GrantMismatch(f"release {spec.name!r} is not covered by {grant} "
                                f"(declared releases: {[s.name for s in self.releases]})")
        self._left[spec.name] -= 1
        self._taken += 1

    @property
    def committed(self) -> tuple[float, float]:
        """(ε, δ) of the releases taken so far: what this node has committed (or is committing)."""
        k = len(self.releases)
        return self.epsilon * self._taken / k, self.delta * self._taken / k

    def release_for(self, output_to) -> Callable:
        """The `JobContext.release(x, spec)` coroutine function for this job."""
        to = list(output_to)

        async def release(x, spec):
            self._take(spec)
            amount = self.committed

            async def charge():              # once the noise is ready, before it opens: a failed commit (or a
                await self.commit(*amount, spec.name)     # noise that cannot be planned) opens nothing, uncharged
            if self.mode == "central":
                value, entry = await release_central(x.session, x, spec, epsilon=self.epsilon_each,
                                                     delta=self.delta_each, to=to,
                                                     before_open=charge if self.commit is not None else None)
            else:
                value, entry = await release_distributed(x.session, x, spec, epsilon=self.epsilon_each,
                                                         delta=self.delta_each, colluders=self.colluders, to=to,
                                                         before_open=charge if self.commit is not None else None)
            entry.update(expected_error(entry, spec, value))
            self.report.append(entry)
            return value

        return release


async def release_distributed(session, x, spec, *, epsilon: float, delta: float, colluders: int | None = None,
                              to=None, prg: PRG | None = None, before_open: Callable[[], Awaitable] | None = None):
    """Noise a secret array with distributed discrete-Gaussian shares, then open it to `to`.

    `before_open()` is awaited once the noise is planned and drawn, just before the opening (the
    gate charges the budget there). Returns (the noised value at `to`, None elsewhere; the report entry).
    """
    dims = max(1, int(x.size))
    l1, l2 = _sensitivities(spec, dims)
    t = session.t if colluders is None else colluders
    plan = plan_distributed_gaussian(l2, epsilon, delta, parties=session.n, colluders=t, frac_bits=x.frac,
                                     dims=dims, l1=l1)
    if not hasattr(x, "add_private"):  # Shamir shares: to additive first (local), so Σ noise_i is what opens
        x = x.to_additive()
    noise = plan.share(x.shape, prg)
    noised = x.add_private(noise.astype(np.float64) / float(1 << x.frac), plan.tail_bound())
    if before_open is not None:
        await before_open()
    value = await session.open(noised, to=to)
    entry = plan.report(spec.name)
    entry["noise_std"] = entry["noise_scale_all_parties"]     # Σ of every party's share (≤ σ per share)
    entry["mode"] = "distributed (every party noises its share before opening; nobody sees the raw value)"
    return value, entry


async def release_central(session, x, spec, *, epsilon: float, delta: float, to=None, prg: PRG | None = None,
                          before_open: Callable[[], Awaitable] | None = None):
    """WEAKER central mode: open to the single output party, which adds the noise after seeing x.

    `before_open()` is awaited once the noise is planned, just before the opening."""
    to = list(range(session.n)) if to is None else list(to)
    if len(to) != 1:
        raise DPParameterError("central mode needs exactly one output party (it alone sees the raw value)")
    dims = max(1, int(x.size))
    l1, l2 = _sensitivities(spec, dims)
    if delta > 0:
        nspec = grid.gaussian_spec(l2, epsilon, delta, frac_bits=x.frac, dims=dims)
    else:
        if l1 is None:
            raise DPParameterError(f"pure-DP release {spec.name!r} needs an L1 sensitivity")
        nspec = grid.laplace_spec(l1, epsilon, frac_bits=x.frac, dims=dims)
    entry = dict(nspec.report(), output=spec.name, mode="central (output party sees the raw value)",
                 noise_std=nspec.std_grid / 2.0 ** nspec.frac_bits)
    if before_open is not None:
        await before_open()
    raw = await session.open(x, to=to)
    if raw is None:
        return None, entry
    noise = nspec.sample(np.shape(raw), prg)
    if x.frac:
        return np.asarray(raw, dtype=np.float64) + noise.astype(np.float64) / float(1 << x.frac), entry
    return np.asarray(raw, dtype=np.int64) + noise, entry

