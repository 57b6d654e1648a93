"""Private model training: models with per-example gradients and DP-SGD (numpy/Numba only).

Two ways to train:
  * one organisation: `DPSGD` (mpc.learn.dpsgd) or the scikit-learn estimators
    (`DPLogisticRegression`, `DPSoftmaxRegression`, `DPLinearRegression`, `DPMLPClassifier`);
  * rows across contributors: the same trainer with `parts=[(X, y), ...]` and distributed noise
    (`parties`, `colluders`), the arithmetic of the cross-node protocol (its network part lives
    in the node layer, a later phase).

Neighbouring relation, everywhere in this package and in `dp.accounting`: add/remove one record
(one training row of one contributor). Every ε reported is for that relation and covers every
output computed from private rows: the noisy gradient sums and what is computed from them (the
model after each step, the final model), and a DP feature-scaling pre-pass when one is used
(mpc.learn.preprocess). Not covered, and said so where it happens: a `monitor` loss computed in
the clear, the row count when the expected batch size is derived from it, and any
hyper-parameter search run around the trainer.

This package imports only numpy, Numba and the dp layer: no node, no gRPC (DESIGN.md).
"""

from mpc.learn.dpsgd import DPSGD, TrainingReport, TrainResult
from mpc.learn.linear import LinearRegression, LogisticRegression, SoftmaxRegression
from mpc.learn.mlp import MLP
from mpc.learn.model import Model
from mpc.learn.optim import SGD, Adam

__all__ = ["DPSGD", "MLP", "SGD", "Adam", "LinearRegression", "LogisticRegression", "Model", "SoftmaxRegression",
           "TrainResult", "TrainingReport"]
