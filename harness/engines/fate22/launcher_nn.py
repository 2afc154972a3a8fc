"""One party's HomoNN fit inside the launcher: FATE's own ``DefaultRunner``, as the ``homo_nn`` component runs it.

The runner is built from the same ``runner_conf`` a FATE-Flow ``homo_nn`` task gets
(:func:`harness.engines.fate22.homo_nn.runner_conf`); the data parties call the runner's own
``client_setup`` (FATE's ``FedAVGClient``, an HF Trainer) and ``predict``, the arbiter its ``train``
(``FedAVGServer``). Two things are added, neither touching the training:

* a :class:`RoundClock` pair of HF callbacks around FATE's own: the first runs before FATE's FedAvg
  callback at the end of every epoch (local computation done), the last after it (the round's
  aggregation done): seconds per round per party, computation and total;
* on the guest, the aggregated model's test accuracy after every round (the convergence curve),
  scored in eval mode without gradients (HF puts the model back in train mode each step).

Torch gets one thread per party process: four party processes share two cores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.engines.fate22.launcher_party import MATCH_ID, write_json


class RoundClock:
    """Per-round seconds of one party, and the guest's test accuracy after each round."""

    def __init__(self, score: Callable[[Any], float] | None) -> None:
        self.score = score
        self.compute_s: list[float] = []
        self.round_s: list[float] = []
        self.test_accuracy: list[float] = []
        self._started = 0.0

    def callbacks(self) -> tuple[Any, Any]:
        """(before FATE's callbacks, after them)."""
        from transformers import TrainerCallback

        clock = self

        class Begin(TrainerCallback):
            def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                clock._started = time.monotonic()

            def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                clock.compute_s.append(time.monotonic() - clock._started)

        class End(TrainerCallback):
            def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                clock.round_s.append(time.monotonic() - clock._started)
                if clock.score is not None:
                    clock.test_accuracy.append(clock.score(kwargs["model"]))

        return Begin(), End()

    def summary(self) -> dict[str, Any]:
        return {"round_s": self.round_s, "compute_s": self.compute_s}


def accuracy_scorer(path: str, fit: Mapping[str, Any]) -> Callable[[Any], float]:
    """Accuracy of a model on the test CSV (columns in file order, as FATE's reader keeps them)."""
    import pandas as pd

    from harness.model.nn_local import predict

    frame = pd.read_csv(path)
    x = frame.drop(columns=[fit["id_column"], fit["label"]]).to_numpy(np.float32)
    y = frame[fit["label"]].to_numpy()
    return lambda model: float(np.mean(predict(model, x) == y))


def run_nn_party(
    ctx: Any, fit: Mapping[str, Any], me: tuple[str, str], out: Path, read_frame: Callable[..., Any]
) -> dict[str, Any]:
    """This party's part of one HomoNN fit; returns its per-round seconds for the fit's wire record."""
    import torch
    from fate.components.components.nn.runner.homo_default_runner import DefaultRunner
    from fate.components.core.essential import Role

    torch.set_num_threads(1)
    runner = DefaultRunner(**fit["params"]["runner_conf"])
    runner.set_context(ctx.sub_ctx("train"))
    runner.set_role(Role(me[0]))
    if me[0] == "arbiter":
        runner.train()
        return {}
    party = me[1]
    train = read_frame(ctx, fit["train"][party], fit)
    is_guest = me[0] == "guest"
    clock = RoundClock(accuracy_scorer(fit["test"][party], fit) if is_guest else None)
    train_set = runner._prepare_data(train, "train_data")
    trainer = runner.client_setup(train_set=train_set, output_dir=str(out / f"hf_{me[0]}_{party}"))
    begin, end = clock.callbacks()
    trainer.callback_handler.callbacks.insert(0, begin)
    trainer.add_callback(end)
    trainer.train()
    runner.trainer = trainer
    if not is_guest:
        return clock.summary()
    # Only the guest's predictions are the study's; every party holds the same aggregated model.
    test = read_frame(ctx, fit["test"][party], fit)
    predicted = runner.predict(test).as_pd_df()
    scores = predicted[[MATCH_ID, "label", "predict_result"]].rename(
        columns={MATCH_ID: fit["id_column"], "predict_result": "score"}
    )
    scores[fit["id_column"]] = scores[fit["id_column"]].astype(float).round().astype("int64")
    scores = scores.astype({"label": "int64", "score": "float64"})
    scores.to_csv(out / "scores.tmp", index=False)
    (out / "scores.tmp").replace(out / "scores.csv")
    state = {k: v.detach().numpy() for k, v in trainer.model.state_dict().items()}
    np.savez(out / "params.npz", **state)
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    write_json(out / "model.json", {"loss_history": losses, "curves": {"test_accuracy": clock.test_accuracy}})
    return clock.summary()


def params_path(work_dir: Path, job_id: str) -> Path:
    """Where the guest of launcher fit ``job_id`` (``<session>/fit<i>``) left its final parameters."""
    session, fit = job_id.split("/")
    return Path(work_dir) / session / "out" / fit / "params.npz"
