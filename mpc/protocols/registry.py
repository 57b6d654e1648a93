"""The catalogue of named, versioned protocols that nodes may run (a client cannot ship code).

A protocol is an SPMD coroutine `run(ctx)`: every party of a job runs it with its own
`JobContext`. Parameters are checked by `check_params` before the parties agree on the job
spec hash, so every party runs with the same, validated parameters. Outputs leave secret
sharing only through `ctx.release(...)`, the gate where the differential-privacy layer charges
the budget grant and adds noise.

What a protocol declares besides `run`, so that a node can refuse a job before any budget is
charged and a user can find out how to call it: `parameters` (name -> help, shown by `mpc run
--list`), `releases` (the outputs and their sensitivities), `columns` (the dataset columns each
party reads, checked at every contributing node when the job is prepared) and `accuracy` (the
expected error of results derived from several releases, e.g. a mean from a sum and a count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import numpy as np

from mpc.errors import ParameterError

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class ReleaseSpec:
    """What the DP layer needs to noise one output: its name and sensitivity.

    `l1` / `l2`: sensitivity of the released array (in output units) under the protocol's
    neighbouring relation (add/remove one row of one party's dataset), used to calibrate
    Laplace / Gaussian noise. `kind` says how to read it ("sum", "count", "mean", "model").
    """

    name: str
    l1: float | None = None
    l2: float | None = None
    kind: str = "sum"
    #: a public bound on the released value's magnitude per coordinate (its scale), for the report's
    #: `relative_noise`; None: the output parties measure the scale on the released value itself
    scale: float | None = None


@dataclass
class JobContext:
    """Everything one party's `run` sees.

    `session` is set up (pairwise seeds exchanged, triple source ready); `data` holds the
    columns of the dataset this party contributes (None if it contributes none);
    `contributors` lists, in order, the parties whose data the job uses; `output_to` the
    parties that receive the outputs. `release(x, spec)` opens a secret array to `output_to`
    after the DP layer has noised it, returning the value there and None elsewhere.
    """

    session: Any  # mpc.runtime.Session (typed loosely: this module sits below the runtime's users)
    params: dict
    data: Mapping[str, np.ndarray] | None
    contributors: tuple[int, ...]
    output_to: tuple[int, ...]
    release: Callable[..., Awaitable[Any]]
    progress: ProgressFn = field(default=lambda fraction, message: None)
    #: the node's store of threshold key shares (`mpc.threshold.store.ShareStore`, backed by its
    #: encrypted key store), for protocols that keep long-lived key shares at the node; None
    #: where no `[keystore]` is configured
    keystore: Any = None
    #: the node's verified view of its privacy-budget service, for protocols that act on signed
    #: ledger facts (`dp.budget.heads.HeadSource`: `signed_head(rows)`); None where the node
    #: has no [budget] section
    budget: Any = None
    #: the name of the dataset this party contributes (None if none)
    dataset: str | None = None
    #: the node's joined tables (`mpc.psi.tables.JoinedTables`): PSI payload shares kept for the
    #: jobs that follow a PSI; None where the node has no state_dir
    tables: Any = None


@dataclass(frozen=True)
class Protocol:
    """A named protocol: `run(ctx)` returns the party's result (None at non-output parties)."""

    name: str
    version: int
    summary: str
    run: Callable[[JobContext], Awaitable[Any]]
    check_params: Callable[[dict], dict] = field(default=lambda params: dict(params))
    #: the outputs `run` will release, from the checked parameters (known before the job starts,
    #: so that the node can check a budget grant covers all of them before touching data)
    releases: Callable[[dict], list[ReleaseSpec]] = field(default=lambda params: [])
    needs_dealer: bool = True
    #: None for protocols whose outputs leave only through ctx.release (DP-noised, budget
    #: grant required). Protocols whose purpose is an exact output that does not describe the
    #: data statistically (set membership in PSI, public keys and signatures) say why here; a
    #: node runs them only on datasets whose policy allows them by name.
    dp_exempt: str | None = None
    min_parties: int = 2
    max_parties: int | None = None
    security: str = "semi-honest"
    #: parameter name -> one line of help (type, meaning, default), in the order to show them
    parameters: Mapping[str, str] = field(default_factory=dict)
    #: columns(checked params, party, job's compute parties) -> the dataset columns that party reads;
    #: None: the protocol reads no dataset columns (or says nothing, and is checked only as it runs)
    columns: Callable[[dict, int, tuple[int, ...]], list[str]] | None = None
    #: accuracy(checked params, result, privacy report entries) -> report entries for values the
    #: result derives from several releases ({output, derived_from, noise_std, scale, scale_source,
    #: relative_noise}); called at the output parties after the run
    accuracy: Callable[[dict, Any, list[dict]], list[dict]] | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.name}/v{self.version}"

    def describe(self) -> str:
        """Several lines for `mpc run --list PROTOCOL`: summary, security, DP, parameters."""
        lines = [f"{self.qualified_name}: {self.summary}", f"  security: {self.security}; "
                 f"{self.min_parties}..{self.max_parties or 'any'} parties"
                 + ("; needs Beaver triples (a dealer node)" if self.needs_dealer else "")]
        lines.append(f"  outputs: exact (not DP): {self.dp_exempt}" if self.dp_exempt else
                     "  outputs: differentially private (give --epsilon and --delta)")
        if self.parameters:
            lines.append("  parameters (--params JSON object):")
            width = max(len(k) for k in self.parameters)
            lines += [f"    {k:<{width}}  {v}" for k, v in self.parameters.items()]
        else:
            lines.append("  parameters: none")
        return "\n".join(lines)


class Registry:
    """Protocols by name. Nodes run only what is registered here and allowed by their config."""

    def __init__(self):
        self._protocols: dict[str, Protocol] = {}

    def register(self, protocol: Protocol) -> Protocol:
        if protocol.name in self._protocols:
            raise ParameterError(f"protocol {protocol.name!r} is registered twice")
        self._protocols[protocol.name] = protocol
        return protocol

    def get(self, name: str) -> Protocol:
        try:
            return self._protocols[name]
        except KeyError:
            known = ", ".join(sorted(self._protocols)) or "none"
            raise ParameterError(f"unknown protocol {name!r}; registered protocols: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._protocols)

    def __contains__(self, name: str) -> bool:
        return name in self._protocols

    def __iter__(self):
        return iter(self._protocols.values())
