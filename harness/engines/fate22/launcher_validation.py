"""The launcher's first fit again as a FATE-Flow job, run beside the launch (``fatelab experiment --validate``).

The FATE-Flow job needs only the first fit's party tables, which are known before the launch, so it
runs in a thread while the launch trains every fit; it is joined after the launch and compared with
the launch's own fit of the same job (:mod:`harness.engines.validation`: coefficients and scores for
HomoLR, PSI counts and scores for a vertical fit, parameters for HomoNN).

A validation that fails (the FATE-Flow job failed, or the fits cannot be compared) does not take the
launch's results with it: the block then holds ``error`` (the FATE job's message with its log tail)
and ``within_bounds: False``; the run writes its report and the CLI exits non-zero. A launch that fails
cancels the validation: its FATE-Flow job is stopped at the next poll.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from harness.engines.base import FitJob, JobResult, Table, UploadRequest
from harness.engines.fate22.dag_hetero import is_hetero
from harness.engines.fate22.homo_nn import family
from harness.engines.fate22.standalone import StandaloneEngine
from harness.engines.jobs import Pace
from harness.engines.validation import compare_fits, compare_hetero_fits
from harness.errors import EngineError, FatelabError

# The report's Run section says so: the FATE-Flow job's wall time was shared with the launch's fits.
RAN = "concurrently with the launch (started before it, joined after it)"
# How long a cancelled validation may take to stop its FATE-Flow job before the launch's error leaves.
CANCEL_WAIT_S = 30.0


class ValidationCancelled(BaseException):
    """Raised inside the validation's poll loop when the launch failed: FATE's job loop then stops the
    running job (it stops the current job on a BaseException, as on Ctrl-C)."""


def on_reference(reference: StandaloneEngine, job: FitJob, requests: Mapping[tuple[str, str], UploadRequest]) -> FitJob:
    """``job`` reading the same CSVs, uploaded into the reference FATE-Flow under the same names."""
    keys = list(dict.fromkeys((t.party_id, t.name) for t in [*job.train.values(), *job.test.values()]))
    missing = [k for k in keys if k not in requests]
    if missing:
        raise EngineError(
            f"tables {missing} of the validated fit were not registered with the launcher engine",
            hint="call upload_many with every table before run_many",
        )
    tables = dict(zip(keys, reference.upload_many([requests[k] for k in keys]), strict=True))

    def on_flow(mine: Mapping[str, Table]) -> dict[str, Table]:
        return {p: tables[(t.party_id, t.name)] for p, t in mine.items()}

    return dataclasses.replace(job, train=on_flow(job.train), test=on_flow(job.test))


class ReferenceFit:
    """One fit as a FATE-Flow job on ``reference``, in a thread: ``start`` before the launch, ``finish`` after."""

    def __init__(
        self,
        reference: StandaloneEngine,
        job: tuple[str, FitJob],
        requests: Mapping[tuple[str, str], UploadRequest],
        *,
        launcher_name: str,
        say: Callable[[str], None],
    ) -> None:
        self.reference, self.job, self.requests = reference, job, dict(requests)
        self.engines = (reference.name, launcher_name)
        self.say = say
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fatelab-validation", daemon=True)
        self._flow_job: FitJob | None = None
        self._theirs: JobResult | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        self.say(f"validating beside the launch: '{self.job[0]}' as a FATE-Flow job on {self.reference.name}")
        self._thread.start()

    def _sleep(self, seconds: float) -> None:
        if self._cancelled.wait(seconds):
            raise ValidationCancelled("the launch failed")

    def _run(self) -> None:
        what, homo_lr = self.job
        try:
            self._flow_job = on_reference(self.reference, homo_lr, self.requests)
            [theirs] = self.reference.run_many([(f"{what} (validation)", self._flow_job)], pace=Pace(sleep=self._sleep))
            # HomoNN is compared on its parameters (nn_validation), a vertical fit on PSI and scores only.
            if family(homo_lr) != "homo_nn" and not is_hetero(homo_lr):
                theirs.coefficients = self.reference.client.model_coefficients(
                    theirs.job_id, "guest", homo_lr.roles.guest
                )
            self._theirs = theirs
        except BaseException as exc:  # noqa: BLE001 - handed to finish(), in the main thread
            self._error = exc

    def cancel(self) -> None:
        """The launch failed: stop the FATE-Flow job (at its next poll) and wait a little for that."""
        self._cancelled.set()
        self._thread.join(timeout=CANCEL_WAIT_S)

    def finish(self, ours: JobResult, work_dir: Any) -> dict[str, Any]:
        """Join the FATE-Flow job and compare; a failure becomes the block's ``error``, not an exception."""
        self._thread.join()
        what, homo_lr = self.job
        block: dict[str, Any] = {"job": what, "engines": list(self.engines), "ran": RAN}
        try:
            if self._error is not None:
                raise self._error
            assert self._theirs is not None and self._flow_job is not None
            theirs = self._theirs
            block["job_ids"] = {self.engines[0]: theirs.job_id, self.engines[1]: ours.job_id}
            if family(homo_lr) == "homo_nn":
                from harness.engines.fate22.nn_validation import compare_nn

                return compare_nn(self.reference, self._flow_job, ours, theirs, work_dir, self.engines) | block
            if is_hetero(homo_lr):  # PSI + SecureBoost / coordinated LR: no coefficient vector to compare
                compared = compare_hetero_fits(theirs, ours, engines=self.engines, id_column=homo_lr.id_column,
                                               guest=homo_lr.roles.guest)
            else:
                compared = compare_fits(theirs, ours, engines=self.engines, id_column=homo_lr.id_column)
            return compared | block | {
                "wall_s": {self.engines[0]: round(theirs.wall_s, 2), self.engines[1]: round(ours.wall_s, 2)},
            }
        except Exception as exc:  # noqa: BLE001 - whatever broke, the launch's results stay (Ctrl-C still ends the run)
            message = failure_text(exc)
            self.say(f"validation failed (the launch's results are kept): {message}")
            return block | {"within_bounds": False, "error": message}


def failure_text(exc: Exception) -> str:
    """The error as the CLI would print it: FATE's job message (with its log tail) and what to do."""
    if isinstance(exc, FatelabError):
        return exc.message + (f"\n  what to do: {exc.hint}" if exc.hint else "")
    return f"{type(exc).__name__}: {exc}"
