"""DP-SGD in one organisation, or with rows across simulated contributors (distributed noise).

What it computes: T = epochs × ⌈1/q⌉ steps; in each step every record is in the batch
independently with probability q (Poisson sampling from the CSPRNG: a record is in iff a PRG word
is below ⌈q·2^64⌉), the batch's per-example gradients are clipped to L2 norm C and summed
(`Model.clipped_grad_sum`), the sum is rounded to the fixed-point grid and discrete-Gaussian
noise of σ_e·Δ_g grid units is added (`mpc.learn.noise`: how discretisation and floating point
enter the sensitivity), and the optimiser (SGD with momentum, or Adam) takes the step on
noisy_sum / L + λ·params, L the public expected batch size. σ_e comes from the accountant
(`mpc.learn.privacy`) for the requested (ε, δ) and the planned steps, per epoch under a noise
schedule (`mpc.learn.schedule`). Early stopping charges only the steps run: the report's
`epsilon_spent` is the accountant's ε of the executed steps (plus `prior_events`, e.g. a DP
feature-scaling pre-pass, composed into the same total).

With `parts` (one (X, y) per contributor) the step is the cross-node protocol's arithmetic: each
contributor Poisson-samples its own rows, clips and sums, rounds its sum to the grid; the integer
sums are added and each of the n parties adds its own noise share N_Z(0, σ_s²),
σ_s = σ·Δ_g/√(n − t), so that the n − t honest shares alone carry σ (dp.distributed). Only the
noised sum is used. Here it runs in one process (the secret sharing is a later phase).

What is public: the noised sums (each a DP release) and everything computed from them — the model
after every step, the final model (post-processing). What is not covered by ε: the loss of the
`monitor` set shown in progress (computed in the clear: pass public or held-out data), the row
count N when `expected_batch_size` is left to its default q·N (flagged in the report), and any
hyper-parameter search the caller runs around the trainer.

Neighbouring relation: add/remove one record, everywhere (one row of one contributor).
Security: noise and sampling from `mpc.crypto.PRG()` (os.urandom key) unless a PRG is passed for
tests; the model's initial parameters come from numpy (data-independent, not secret).
References: Abadi et al., "Deep Learning with Differential Privacy", CCS 2016; Mironov, Talwar,
Zhang 2019; Kairouz, Liu, Steinke, ICML 2021; Canonne, Kamath, Steinke, NeurIPS 2020.
Cost: per step, one forward/backward pass of the batch and d noise samples per noising party.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from dp.errors import DPParameterError
from mpc.crypto import PRG
from mpc.errors import ParameterError
from mpc.learn import privacy, schedule as sched
from mpc.learn.model import BLOCK_TARGET, Model
from mpc.learn.noise import DEFAULT_FRAC_BITS, DEFAULT_MAX_BATCH, GridNoise, sample_grid_noise
from mpc.learn.optim import Adam, lr_multiplier

NEIGHBOURING = "add/remove one record"


@dataclass
class TrainingReport:
    """What a run did and what it cost (JSON-able through `to_dict`)."""

    epsilon_target: float | None
    epsilon_spent: float
    delta: float
    delta_sampler: float
    accountant: str
    clip: float
    sample_rate: float
    steps_planned: int
    steps_run: int
    epochs_run: int
    noise_multipliers: list
    schedule: dict
    optimizer: dict
    mechanism: dict
    grid: dict
    prior_events: list
    early_stopped: bool
    row_count_public: bool
    neighbouring: str = NEIGHBOURING
    epsilon_by_epoch: list = field(default_factory=list)
    loss_by_epoch: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def delta_total(self) -> float:
        return self.delta + self.delta_sampler

    def to_dict(self) -> dict:
        return {**asdict(self), "delta_total": self.delta_total}

    def summary(self) -> str:
        stop = f", stopped early after {self.steps_run}/{self.steps_planned} steps" if self.early_stopped else ""
        return (f"(ε={self.epsilon_spent:.4g}, δ={self.delta_total:.3g})-DP "
                f"[{self.accountant}, {NEIGHBOURING}]{stop}; "
                f"C={self.clip}, q={self.sample_rate:.4g}, σ={', '.join(f'{s:.4g}' for s in self.noise_multipliers)}")


@dataclass
class TrainResult:
    params: np.ndarray
    report: TrainingReport


def poisson_mask(n: int, threshold: int, prg: PRG) -> np.ndarray:
    """Boolean mask: each of n records in the batch iff its PRG word < threshold (q = threshold/2^64)."""
    if threshold >= 1 << 64:
        return np.ones(n, dtype=bool)
    return prg.uint64(n) < np.uint64(threshold)


def _check_data(model: Model, X, y):
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ParameterError(f"training data must be a non-empty 2-D array, got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ParameterError("training data must be numeric and finite (no NaN or empty cells)")
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ParameterError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    model.check_targets(y)  # every label in the model's classes, before any noise or budget
    model.loss(model.init(np.random.default_rng(0)), X[:1], y[:1])  # feature count
    return X, y


class DPSGD:
    """The DP-SGD trainer; see the module docstring. `fit` returns a `TrainResult`."""

    def __init__(self, model: Model, *, epsilon: float | None = None, delta: float = 1e-6,
                 noise_multiplier: float | None = None, clip: float = 1.0, sample_rate: float = 0.01,
                 epochs: int = 1, expected_batch_size: float | None = None, optimizer=None,
                 lr_schedule: str = "constant", lr_final: float = 0.0, warmup: int = 0, schedule="constant",
                 accountant: str = "pld", sampler: str = "table", frac_bits: int = DEFAULT_FRAC_BITS,
                 max_batch: int = DEFAULT_MAX_BATCH, weight_decay: float = 0.0, ema: float | None = None,
                 parties: int = 1, colluders: int = 0, prg: PRG | None = None,
                 progress: Callable[[dict], None] | None = None,
                 early_stopping: Callable[[int, np.ndarray, dict], bool] | None = None,
                 monitor: tuple | None = None, track_epsilon: bool = False, prior_events=()):
        if not isinstance(epochs, int) or epochs < 1:
            raise ParameterError(f"epochs must be a positive integer, got {epochs!r}")
        if not (clip > 0):
            raise ParameterError(f"clip must be positive, got {clip!r}")
        if ema is not None and not 0 <= ema < 1:
            raise ParameterError(f"ema must be in [0, 1), got {ema!r}")
        if not (isinstance(parties, int) and parties >= 1 and isinstance(colluders, int)
                and 0 <= colluders < parties):
            raise DPParameterError(f"need parties >= 1 and colluders in 0..parties-1, got {parties}, {colluders}")
        self.model = model
        self.epsilon, self.delta, self.noise_multiplier = epsilon, delta, noise_multiplier
        self.clip, self.sample_rate, self.epochs = float(clip), float(sample_rate), epochs
        self.expected_batch_size = expected_batch_size
        self.optimizer = optimizer if optimizer is not None else Adam(lr=0.01)
        self.lr_schedule, self.lr_final, self.warmup = lr_schedule, lr_final, warmup
        self.schedule = sched.parse(schedule)
        self.accountant, self.sampler = accountant, sampler
        self.frac_bits, self.max_batch = frac_bits, max_batch
        self.weight_decay, self.ema = float(weight_decay), ema
        self.parties, self.colluders = parties, colluders
        self.prg = prg
        self.progress, self.early_stopping, self.monitor = progress, early_stopping, monitor
        self.track_epsilon = track_epsilon
        self.prior_events = tuple(prior_events)
        self.private = not (noise_multiplier == 0 and epsilon is None)

    def steps_per_epoch(self) -> int:
        q, _ = privacy.accounted_rate(self.sample_rate)
        return max(1, int(round(1.0 / q)))

    def make_plan(self) -> privacy.PrivacyPlan:
        k = self.steps_per_epoch()
        mech = privacy.Mechanism()
        if self.parties > 1:
            g = self.grid()
            mech = privacy.Mechanism("distributed", self.parties, self.colluders, self.model.n_params, g.sensitivity)
        return privacy.plan(sample_rate=self.sample_rate, steps_per_epoch=[k] * self.epochs, delta=self.delta,
                            accountant=self.accountant, epsilon=self.epsilon, noise_multiplier=self.noise_multiplier,
                            relative=self.schedule.multipliers(self.epochs), mechanism=mech,
                            prior=self.prior_events)

    def blocked(self) -> bool:
        """float32 models sum per record block in float32 (mpc.learn.noise, "blocked32")."""
        return np.dtype(getattr(self.model, "dtype", np.float64)) == np.float32

    def grid(self) -> GridNoise:
        return GridNoise(self.clip, self.model.n_params, self.frac_bits, self.max_batch, self.sampler,
                         "blocked32" if self.blocked() else "float64")

    def fit(self, X=None, y=None, *, parts=None, params=None, rng=None) -> TrainResult:
        t0 = time.perf_counter()
        if parts is None:
            if X is None or y is None:
                raise ParameterError("fit needs X and y, or parts=[(X, y), ...]")
            parts = [(X, y)]
        parts = [_check_data(self.model, Xk, yk) for Xk, yk in parts]
        if self.parties > 1 and len(parts) > self.parties:
            raise ParameterError(f"{len(parts)} contributors but only {self.parties} noising parties")
        plan = self.make_plan() if self.private else None
        grid = self.grid() if self.private else None
        q, threshold = privacy.accounted_rate(self.sample_rate)
        n_rows = sum(p[0].shape[0] for p in parts)
        L = float(self.expected_batch_size) if self.expected_batch_size else q * n_rows
        prg = self.prg if self.prg is not None else PRG()
        party_prgs = [prg] + [PRG() if self.prg is None else PRG.derive(prg.bytes(16), "party", i)
                              for i in range(1, self.parties)]
        params = self.model.init(rng if rng is not None else np.random.default_rng()) if params is None \
            else np.array(params, dtype=np.float64)
        opt = self.optimizer
        opt.reset()
        steps_total = self.epochs * self.steps_per_epoch()
        avg = params.copy() if self.ema is not None else None
        self._keys = None
        if self.private and self.blocked():
            n_keys = max(1, int(math.ceil(L / BLOCK_TARGET)))
            self._keys = [party_prgs[k % len(party_prgs)].below(n_keys, p[0].shape[0]).astype(np.int64)
                          for k, p in enumerate(parts)]
        report_eps, report_loss, step, stopped, n_samples = [], [], 0, False, 0
        for epoch in range(self.epochs):
            for _ in range(self.steps_per_epoch()):
                noisy = self._noisy_sum(params, parts, threshold, plan, grid, step, prg, party_prgs)
                n_samples += self.model.n_params * (self.parties if self.parties > 1 else 1) if self.private else 0
                g = noisy / L
                if self.weight_decay:
                    g = g + self.weight_decay * params
                scale = lr_multiplier(self.lr_schedule, step, steps_total, final=self.lr_final, warmup=self.warmup)
                params = opt.step(params, g, scale)
                if avg is not None:
                    avg = self.ema * avg + (1.0 - self.ema) * params
                step += 1
            current = avg if avg is not None else params
            info = {"epoch": epoch + 1, "epochs": self.epochs, "steps": step}
            if self.progress or self.early_stopping or self.track_epsilon:
                info["epsilon_spent"] = plan.epsilon(step) if plan else math.inf
                report_eps.append(info["epsilon_spent"])
            if self.monitor is not None:
                info["loss"] = self.model.loss(current, *self.monitor)
                report_loss.append(info["loss"])
            if self.progress:
                self.progress(info)
            if self.early_stopping and epoch + 1 < self.epochs and self.early_stopping(epoch + 1, current, info):
                stopped = True
                break
        final = avg if avg is not None else params
        eps_spent = plan.epsilon(step) if plan else math.inf
        tv = grid.tv_per_sample() if grid else 0.0
        delta_sampler = n_samples * tv * (1.0 + math.exp(min(eps_spent, 700.0))) if tv else 0.0
        rep = TrainingReport(
            epsilon_target=self.epsilon, epsilon_spent=eps_spent, delta=self.delta, delta_sampler=delta_sampler,
            accountant=self.accountant, clip=self.clip, sample_rate=q, steps_planned=steps_total, steps_run=step,
            epochs_run=epoch + 1, noise_multipliers=plan.multipliers if plan else [0.0] * self.epochs,
            schedule=self.schedule.spec(), optimizer={**opt.spec(), "lr_schedule": self.lr_schedule},
            mechanism=plan.mechanism.spec() if plan else {"mechanism": "none (non-private)"},
            prior_events=[repr(e) for e in self.prior_events],
            grid=grid.report() if grid else {}, early_stopped=stopped,
            row_count_public=not self.expected_batch_size, epsilon_by_epoch=report_eps, loss_by_epoch=report_loss,
            seconds=time.perf_counter() - t0)
        return TrainResult(final, rep)

    def _noisy_sum(self, params, parts, threshold, plan, grid, step, prg, party_prgs) -> np.ndarray:
        """Σ over contributors of their (grid-rounded) clipped sums, plus the noise of this step."""
        clip = self.clip
        total = np.zeros(self.model.n_params, dtype=np.int64 if self.private else np.float64)
        for k, (Xk, yk) in enumerate(parts):
            idx = np.flatnonzero(poisson_mask(Xk.shape[0], threshold, party_prgs[k % len(party_prgs)]))
            if idx.size > self.max_batch:
                raise DPParameterError(f"step {step}: a Poisson batch of {idx.size} rows exceeds max_batch="
                                       f"{self.max_batch}, the bound the sensitivity was computed for; raise max_batch")
            bounds = None
            if self._keys is not None:  # order the batch by record block; the model sums per block
                keys = self._keys[k][idx]
                order = np.argsort(keys, kind="stable")
                idx, keys = idx[order], keys[order]
                bounds = np.searchsorted(keys, np.arange(int(keys.max(initial=0)) + 2))
            s, _ = self.model.clipped_grad_sum(params, Xk[idx], yk[idx], clip, blocks=bounds)
            total += grid.encode(s) if self.private else s
        if not self.private:
            return total
        sigma = plan.sigma_at(step)
        if self.parties == 1:
            noise = grid.sample(sigma, prg)
        else:
            h = self.parties - self.colluders
            share = grid.grid_sigma(sigma) / math.sqrt(h)
            noise = np.zeros(self.model.n_params, dtype=np.int64)
            for p in party_prgs:
                noise += _share_noise(grid, share, p)
        return grid.decode(total + noise)


def _share_noise(grid: GridNoise, share_sigma: float, prg: PRG) -> np.ndarray:
    return sample_grid_noise(grid.sampler, share_sigma, grid.dims, prg, grid._params)
