"""scikit-learn estimators over DP-SGD: fit / predict / predict_proba / score / get_params.

What it computes: `DPLogisticRegression`, `DPSoftmaxRegression`, `DPMLPClassifier` and
`DPLinearRegression` train the matching `mpc.learn` model with `DPSGD`; the privacy parameters
(epsilon, delta, clip, sample_rate, accountant, noise schedule) are constructor arguments, as in
diffprivlib, so the estimators drop into pipelines and grid searches. After `fit`: `params_`
(flat parameters), `report_` (the `TrainingReport`: ε spent, δ, σ per epoch, ...), `classes_`,
`n_features_in_`.

What is private: each `fit` is (ε, δ)-DP for add/remove of one training row (report_). What is not:
`classes_` is taken from `classes` when given, else from the labels seen (pass `classes` to keep
label presence private); the expected batch size defaults to sample_rate × number of rows (the
row count is then treated as public: pass `expected_batch_size` to avoid it); a grid search over
several fits costs the sum of their budgets, which these estimators do not track.
Features are used as given: scale them with public bounds or a DP pre-pass
(`mpc.learn.preprocess`), never with statistics of the private rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from mpc.errors import ParameterError
from mpc.learn.dpsgd import DPSGD
from mpc.learn.linear import LinearRegression, LogisticRegression, SoftmaxRegression
from mpc.learn.mlp import MLP
from mpc.learn.optim import make_optimizer


class _DPBase(BaseEstimator):
    def __init__(self, epsilon=1.0, delta=1e-6, clip=1.0, sample_rate=1.0, epochs=50, lr=0.05,
                 optimizer="adam", momentum=0.9, lr_schedule="constant", schedule="constant", accountant="pld",
                 weight_decay=0.0, ema=None, expected_batch_size=None, sampler="table", random_state=None,
                 progress=None):
        self.epsilon = epsilon
        self.delta = delta
        self.clip = clip
        self.sample_rate = sample_rate
        self.epochs = epochs
        self.lr = lr
        self.optimizer = optimizer
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.schedule = schedule
        self.accountant = accountant
        self.weight_decay = weight_decay
        self.ema = ema
        self.expected_batch_size = expected_batch_size
        self.sampler = sampler
        self.random_state = random_state
        self.progress = progress

    def _build_model(self, n_features: int):
        raise NotImplementedError

    def _targets(self, y):
        return np.asarray(y)

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ParameterError(f"X must be 2-D, got shape {X.shape}")
        self.n_features_in_ = X.shape[1]
        t = self._targets(y)
        self.model_ = self._build_model(X.shape[1])
        trainer = DPSGD(self.model_, epsilon=self.epsilon, delta=self.delta, clip=self.clip,
                        sample_rate=self.sample_rate, epochs=int(self.epochs),
                        optimizer=make_optimizer(self.optimizer, self.lr, self.momentum), lr_schedule=self.lr_schedule,
                        schedule=self.schedule, accountant=self.accountant, weight_decay=self.weight_decay,
                        ema=self.ema, expected_batch_size=self.expected_batch_size, sampler=self.sampler,
                        progress=self.progress)
        rng = np.random.default_rng(self.random_state)
        result = trainer.fit(X, t, rng=rng)
        self.params_ = result.params
        self.report_ = result.report
        return self

    def _check_fitted(self, X):
        if not hasattr(self, "params_"):
            raise ParameterError(f"{type(self).__name__} is not fitted: call fit first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ParameterError(f"X must have {self.n_features_in_} columns, got shape {X.shape}")
        return X


class _DPClassifier(ClassifierMixin, _DPBase):
    def _targets(self, y):
        y = np.asarray(y)
        classes = getattr(self, "classes", None)
        self.classes_ = np.asarray(classes) if classes is not None else np.unique(y)
        if self.classes_.size < 2:
            raise ParameterError("a classifier needs at least two classes")
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, self.classes_.size - 1)
        if not np.array_equal(self.classes_[idx], y):
            raise ParameterError(f"labels outside the model's classes {self.classes_.tolist()}")
        return idx

    def predict_proba(self, X):
        X = self._check_fitted(X)
        return self.model_.predict(self.params_, X)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class DPLogisticRegression(_DPClassifier):
    """Binary logistic regression trained with DP-SGD (see the module docstring)."""

    def __init__(self, epsilon=1.0, delta=1e-6, clip=1.0, sample_rate=1.0, epochs=50, lr=0.05, optimizer="adam",
                 momentum=0.9, lr_schedule="constant", schedule="constant", accountant="pld", weight_decay=0.0,
                 ema=None, expected_batch_size=None, sampler="table", random_state=None, progress=None, classes=None):
        super().__init__(epsilon, delta, clip, sample_rate, epochs, lr, optimizer, momentum, lr_schedule, schedule,
                         accountant, weight_decay, ema, expected_batch_size, sampler, random_state, progress)
        self.classes = classes

    def _build_model(self, n_features):
        if self.classes_.size != 2:
            raise ParameterError(f"DPLogisticRegression is binary; got {self.classes_.size} classes "
                                 "(use DPSoftmaxRegression)")
        return LogisticRegression(n_features)


class DPSoftmaxRegression(_DPClassifier):
    """Multinomial logistic regression trained with DP-SGD."""

    def __init__(self, epsilon=1.0, delta=1e-6, clip=1.0, sample_rate=1.0, epochs=50, lr=0.05, optimizer="adam",
                 momentum=0.9, lr_schedule="constant", schedule="constant", accountant="pld", weight_decay=0.0,
                 ema=None, expected_batch_size=None, sampler="table", random_state=None, progress=None, classes=None):
        super().__init__(epsilon, delta, clip, sample_rate, epochs, lr, optimizer, momentum, lr_schedule, schedule,
                         accountant, weight_decay, ema, expected_batch_size, sampler, random_state, progress)
        self.classes = classes

    def _build_model(self, n_features):
        return SoftmaxRegression(n_features, int(self.classes_.size))


class DPMLPClassifier(_DPClassifier):
    """Multilayer perceptron classifier (ReLU or tanh hidden layers) trained with DP-SGD."""

    def __init__(self, hidden_layer_sizes=(64,), activation="relu", epsilon=1.0, delta=1e-6, clip=1.0,
                 sample_rate=1.0, epochs=50, lr=0.01, optimizer="adam", momentum=0.9, lr_schedule="constant",
                 schedule="constant", accountant="pld", weight_decay=0.0, ema=None, expected_batch_size=None,
                 sampler="table", random_state=None, progress=None, classes=None, dtype="float64"):
        super().__init__(epsilon, delta, clip, sample_rate, epochs, lr, optimizer, momentum, lr_schedule, schedule,
                         accountant, weight_decay, ema, expected_batch_size, sampler, random_state, progress)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.classes = classes
        self.dtype = dtype

    def _build_model(self, n_features):
        k = int(self.classes_.size)
        out = "sigmoid" if k == 2 else "softmax"
        return MLP([n_features, *self.hidden_layer_sizes, 1 if k == 2 else k], activation=self.activation,
                   output=out, dtype=np.dtype(self.dtype))


class DPLinearRegression(RegressorMixin, _DPBase):
    """Least-squares regression trained with DP-SGD (per-example gradients clipped to C)."""

    def _build_model(self, n_features):
        return LinearRegression(n_features)

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 or not np.all(np.isfinite(y)):
            raise ParameterError("y must be a 1-D array of finite numbers")
        return y

    def predict(self, X):
        X = self._check_fitted(X)
        return self.model_.predict(self.params_, X)
