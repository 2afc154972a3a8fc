"""In-process logistic regression that trains exactly like one FATE 2.2 HomoLR client.

The centralised and local-only arms must run the same model family and settings as the federated
arm, so this module reproduces what ``fate.ml.glm.homo.lr.client.HomoLRClient.fit`` does on one
party (read from the installed FATE 2.2 and transformers 4.37.2):

* Model: one ``Linear(d, 1)`` followed by a sigmoid, float32. FATE asserts ``d >= 2``.
* Loss: ``torch.nn.BCELoss`` (mean over the batch) on the sigmoid output; labels as float 0/1.
* Init (``init_param.method``): ``zeros`` / ``ones`` / ``consts`` (``fill_val``) / ``random``
  (``torch.nn.init.normal_``, mean 0 std 1) for the weights; the bias is always initialised to 0.
  FATE draws ``random`` from torch's unseeded global generator; here it comes from ``seed``.
* Optimizer: ``optimizer={"method": "rmsprop", "penalty": "l2", "alpha": a, "optimizer_params":
  {"lr": lr}}`` becomes ``torch.optim.RMSprop(params, lr=lr, weight_decay=a)`` with torch defaults
  otherwise (smoothing 0.99, eps 1e-8, no momentum). So the L2 penalty is torch weight decay: ``a * w``
  is added to the gradient inside the optimizer, for the bias too, and does not appear in the loss.
  ``penalty="l1"`` instead adds ``a * sum(|p|)`` over all parameters (bias included) to the loss.
* Learning-rate scheduler: ``learning_rate_scheduler={"method": "constant", "scheduler_params":
  {"factor": 1.0}}`` is ``torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0)``, stepped after every
  optimizer step. Beware torch's own default factor is 1/3 for the first 5 steps: always pass 1.0.
* Loop: the HuggingFace Trainer FATE wraps, with one optimizer step per batch, ``epochs`` passes and,
  inherited from ``transformers.TrainingArguments``, gradient clipping to global norm 1.0
  (``max_grad_norm``) before each step - FATE does not override it. Clipping acts on the loss
  gradient only; weight decay is added after it, inside RMSprop.
* Batches: FATE's ``batch_size=None`` means full batch inside ``HomoLRClient``, but the ``homo_lr``
  component declares ``batch_size`` as an int >= 0 with default 100, and ``0`` fails the client's
  ``batch_size > 0`` assertion; a pipeline therefore expresses "full batch" as any batch size at least
  as large as the party's training rows (:func:`harness.engines.fate22.mapping.homo_lr_params` does that).
* Prediction: ``sigmoid(x @ w + b)``; the hard label is ``score > threshold``.

Gaps between FATE 2.2 and the study settings, and between this trainer and FATE:

* FATE 2.2 HomoLR has no convergence tolerance or early stopping: it always runs ``epochs`` epochs.
  With ``tol=None`` this trainer does the same; with ``tol`` set it stops after the first epoch whose
  mean training loss differs from the previous epoch's by less than ``tol`` (FATE 1.x's ``diff``
  rule). A FATE run cannot do this, so set ``tol=None`` for arms that must match FATE exactly.
* Mini-batch order: the HF Trainer shuffles with its own sampler (seed 42); this trainer shuffles with
  ``seed``. Full-batch training (the study's choice) is unaffected.
* Federated averaging (after every epoch, weighted by rows) is not done here: this is one party, or
  the centralised pool. The RMSprop state is local to each client in FATE as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from harness.errors import DataError
from harness.settings_check import Check, is_count, refuse_first_invalid

_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adagrad": torch.optim.Adagrad,
}
_INIT_METHODS = ("zeros", "ones", "consts", "random")
_PENALTIES = ("l1", "l2", "none")
_SCHEDULERS = {
    "constant": torch.optim.lr_scheduler.ConstantLR,
    "step": torch.optim.lr_scheduler.StepLR,
    "linear": torch.optim.lr_scheduler.LinearLR,
}


def _is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _checks(s: HomoLRSettings) -> tuple[Check, ...]:
    """What neither FATE nor this trainer can take, setting by setting, and what it should be."""
    return (
        ("epochs", lambda: is_count(s.epochs), "a positive integer, e.g. 20"),
        ("batch_size", lambda: s.batch_size is None or is_count(s.batch_size),
         "a positive integer, or null for full batch"),
        ("learning_rate", lambda: _is_finite(s.learning_rate) and not s.learning_rate <= 0,
         "a positive number, e.g. 0.05"),
        ("optimizer", lambda: s.optimizer in _OPTIMIZERS, f"one of {', '.join(_OPTIMIZERS)}"),
        ("penalty", lambda: s.penalty in _PENALTIES, f"one of {', '.join(_PENALTIES)}"),
        ("alpha", lambda: _is_finite(s.alpha) and not s.alpha < 0, "a non-negative penalty strength, e.g. 0.01"),
        ("tol", lambda: s.tol is None or (isinstance(s.tol, int | float) and not s.tol < 0),
         "a non-negative number, or null to run all epochs like FATE"),
        ("threshold", lambda: isinstance(s.threshold, int | float) and 0 < s.threshold < 1,
         "strictly between 0 and 1, as FATE requires"),
        ("init_method", lambda: s.init_method in _INIT_METHODS, f"one of {', '.join(_INIT_METHODS)}"),
        ("lr_scheduler", lambda: s.lr_scheduler in _SCHEDULERS, f"one of {', '.join(_SCHEDULERS)}"),
        ("max_grad_norm", lambda: s.max_grad_norm is None or not s.max_grad_norm <= 0,
         "positive, or null to disable clipping"),
    )


@dataclass(frozen=True)
class HomoLRSettings:
    """One set of HomoLR hyper-parameters, shared by the FATE arm and the in-process arms.

    ``batch_size=None`` is full batch. ``tol`` (early stop on the absolute change of the epoch loss)
    has no FATE 2.2 equivalent; leave it None for a run that FATE can reproduce.
    ``max_grad_norm`` is the HuggingFace Trainer default FATE inherits, not a study knob.
    """

    epochs: int = 20
    batch_size: int | None = None
    learning_rate: float = 0.02
    optimizer: str = "rmsprop"
    penalty: str = "l2"
    alpha: float = 0.01
    fit_intercept: bool = True
    tol: float | None = None
    threshold: float = 0.5
    init_method: str = "zeros"
    init_fill_val: float = 1.0
    lr_scheduler: str = "constant"
    lr_scheduler_params: tuple[tuple[str, float], ...] = field(default=(("factor", 1.0),))
    max_grad_norm: float | None = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        refuse_first_invalid(self, "HomoLR setting", _checks(self))


def _as_matrix(x: Any) -> np.ndarray:
    arr = x.to_numpy(dtype=np.float32) if isinstance(x, pd.DataFrame) else np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise DataError(f"features must be a 2-D table, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(
            "features contain NaN or infinite values", hint="impute and scale features before training"
        )
    return arr


class LocalLogisticRegression:
    """FATE-2.2-HomoLR-equivalent logistic regression trained in this process with torch.

    ``fit(X, y)`` then ``predict_proba(X)`` (probability of class 1, 1-D). After fitting:
    ``coef_`` (d,), ``intercept_`` (float), ``n_iter_`` (epochs run) and ``loss_history_`` (mean
    training loss per epoch, BCE plus any L1 term, as the HF Trainer logs it; weight decay not included).
    """

    def __init__(self, settings: HomoLRSettings | None = None, *, n_threads: int | None = 1) -> None:
        self.settings = settings or HomoLRSettings()
        # One torch thread by default: these matrices are small, intra-op threads only contend with
        # other work on the machine (10x slower under load was measured), and a fixed thread count
        # keeps float reductions - hence results - identical from run to run.
        self.n_threads = n_threads
        self.coef_: np.ndarray | None = None
        self.intercept_: float = 0.0
        self.n_iter_: int = 0
        self.loss_history_: list[float] = []

    def fit(self, x: Any, y: Any) -> LocalLogisticRegression:
        previous = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            return self._fit(x, y)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, x: Any, y: Any) -> LocalLogisticRegression:
        s = self.settings
        features = _as_matrix(x)
        n, d = features.shape
        if d < 2:
            raise DataError(
                f"HomoLR needs at least 2 features, got {d}", hint="FATE asserts feature_num >= 2"
            )
        labels = np.asarray(y, dtype=np.float32).reshape(-1)
        if len(labels) != n:
            raise DataError(f"{n} feature rows but {len(labels)} labels")
        if n == 0:
            raise DataError("no training rows", hint="check the party's partition")
        if not np.isin(labels, (0.0, 1.0)).all():
            raise DataError(
                f"labels must be 0/1, found {sorted(set(np.unique(labels).tolist()))[:5]}",
                hint="map the label to 0/1 in data preparation",
            )

        gen = torch.Generator().manual_seed(s.seed)
        weight = torch.zeros((1, d), dtype=torch.float32)
        if s.init_method == "ones":
            weight.fill_(1.0)
        elif s.init_method == "consts":
            weight.fill_(float(s.init_fill_val))
        elif s.init_method == "random":
            weight.normal_(0.0, 1.0, generator=gen)
        params = [torch.nn.Parameter(weight)]
        bias = torch.nn.Parameter(torch.zeros(1, dtype=torch.float32)) if s.fit_intercept else None
        if bias is not None:
            params.append(bias)

        opt_params: dict[str, float] = {"lr": float(s.learning_rate)}
        if s.penalty == "l2":
            opt_params["weight_decay"] = float(s.alpha)
        optimizer = _OPTIMIZERS[s.optimizer](params, **opt_params)
        scheduler = _SCHEDULERS[s.lr_scheduler](optimizer, **dict(s.lr_scheduler_params))

        x_t = torch.from_numpy(features)
        y_t = torch.from_numpy(labels)
        batch = n if s.batch_size is None else min(s.batch_size, n)
        self.loss_history_ = []
        self.n_iter_ = 0
        for _ in range(s.epochs):
            order = torch.arange(n) if batch == n else torch.randperm(n, generator=gen)
            batch_losses: list[float] = []
            for start in range(0, n, batch):
                idx = order[start : start + batch]
                optimizer.zero_grad()
                logits = x_t[idx] @ params[0].T
                if bias is not None:
                    logits = logits + bias
                prob = torch.sigmoid(logits).reshape(-1)
                loss = torch.nn.functional.binary_cross_entropy(prob, y_t[idx])
                if s.penalty == "l1" and s.alpha != 0:
                    loss = loss + s.alpha * sum(p.abs().sum() for p in params)
                loss.backward()
                if s.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
                optimizer.step()
                scheduler.step()
                batch_losses.append(float(loss.detach()))
            self.loss_history_.append(float(np.mean(batch_losses)))
            self.n_iter_ += 1
            if not math.isfinite(self.loss_history_[-1]):
                raise DataError(
                    f"training loss became {self.loss_history_[-1]} at epoch {self.n_iter_}",
                    hint="scale the features and/or lower the learning rate",
                )
            if (
                s.tol is not None
                and len(self.loss_history_) >= 2
                and abs(self.loss_history_[-1] - self.loss_history_[-2]) < s.tol
            ):
                break

        self.coef_ = params[0].detach().numpy().reshape(-1).astype(float)
        self.intercept_ = float(bias.detach()[0]) if bias is not None else 0.0
        return self

    def decision_function(self, x: Any) -> np.ndarray:
        if self.coef_ is None:
            raise DataError("the model is not fitted yet", hint="call fit() first")
        features = _as_matrix(x)
        if features.shape[1] != len(self.coef_):
            raise DataError(f"model has {len(self.coef_)} features, data has {features.shape[1]}")
        w = torch.from_numpy(self.coef_.astype(np.float32))
        return (torch.from_numpy(features) @ w + self.intercept_).numpy().astype(float)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Probability of class 1 for each row (float32 arithmetic, as FATE)."""
        return (
            torch.sigmoid(torch.from_numpy(self.decision_function(x).astype(np.float32)))
            .numpy()
            .astype(float)
        )

    def predict(self, x: Any) -> np.ndarray:
        return (self.predict_proba(x) > self.settings.threshold).astype(int)
