"""PyTorch and Opacus peers of bench.train: the same models, batches and privacy targets.

Only imported when torch is installed (the optional extra `learn-peers`). PyTorch runs on one
thread (torch.set_num_threads(1)) for the step-time comparison, float32 as is its default.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np


def available() -> bool:
    try:
        import opacus  # noqa: F401
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _mlp(layers):
    import torch.nn as nn

    mods = []
    for i, (a, b) in enumerate(zip(layers[:-1], layers[1:])):
        mods.append(nn.Linear(a, b))
        if i < len(layers) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def step_times(layers, batch: int, repeats: int, seed: int = 0) -> tuple[float, float]:
    """Median seconds of a plain SGD step (PyTorch) and of an Opacus DP-SGD step, same batch."""
    import torch
    from opacus import PrivacyEngine

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.normal(size=(batch, layers[0])), dtype=torch.float32)
    n_out = layers[-1]
    y = torch.tensor(rng.integers(0, max(2, n_out), batch))
    loss_fn = torch.nn.CrossEntropyLoss() if n_out > 1 else torch.nn.BCEWithLogitsLoss()
    target = y if n_out > 1 else y.float().unsqueeze(1)

    def timed(model, opt):
        def once():
            opt.zero_grad()
            loss_fn(model(X), target).backward()
            opt.step()
        for _ in range(3):
            once()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            once()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    model = _mlp(layers)
    plain = timed(model, torch.optim.SGD(model.parameters(), lr=0.01))
    dp_model = _mlp(layers)
    opt = torch.optim.SGD(dp_model.parameters(), lr=0.01)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dp_model, opt, _ = PrivacyEngine().make_private(module=dp_model, optimizer=opt, data_loader=loader,
                                                         noise_multiplier=1.0, max_grad_norm=1.0,
                                                         poisson_sampling=False)
    return plain, timed(dp_model, opt)


def opacus_accuracy(layers, Xtr, ytr, Xev, yev, *, epsilon: float, delta: float, epochs: int, lr: float,
                    clip: float, sample_rate: float, seed: int) -> float:
    """Accuracy on (Xev, yev) of an Opacus DP-SGD model (Poisson sampling, Adam, Opacus accountant)."""
    import torch
    from opacus import PrivacyEngine

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = _mlp(layers)
    Xt = torch.tensor(Xtr, dtype=torch.float32)
    yt = torch.tensor(ytr)
    batch = max(1, int(round(sample_rate * len(Xtr))))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xt, yt), batch_size=batch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, opt, loader = PrivacyEngine(accountant="rdp").make_private_with_epsilon(
            module=model, optimizer=opt, data_loader=loader, target_epsilon=epsilon, target_delta=delta,
            epochs=epochs, max_grad_norm=clip, poisson_sampling=True)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            for xb, yb in loader:
                if len(xb) == 0:
                    continue
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
    with torch.no_grad():
        pred = model(torch.tensor(Xev, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == yev).mean())
