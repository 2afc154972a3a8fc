"""Checks of a frame's columns shared by the data modules; each refusal is one error naming what is wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from harness.errors import DataError, FatelabError

HINT_FEATURES = "check the feature list against the prepared data's columns"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str | None = None, hint: str) -> None:
    """Refuse a frame that lacks any of ``columns``; ``what`` (e.g. "SMOTE") prefixes the message."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        prefix = f"{what}: " if what else ""
        raise DataError(f"{prefix}column(s) {', '.join(map(str, missing))} not in the data", hint=hint)


def refuse_repeats(
    names: Iterable[str], message: str, *, hint: str, error: type[FatelabError] = DataError
) -> None:
    """Refuse repeated names (columns, party IDs): ``message: a, b`` lists each repeated one once."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise error(f"{message}: {', '.join(repeated)}", hint=hint)


def refuse_unlabelled(frame: pd.DataFrame, label: str) -> None:
    """Refuse rows without a label: neither a stratified split nor SMOTE can place them."""
    if frame[label].isna().any():
        raise DataError(f"{int(frame[label].isna().sum())} rows have no {label!r}", hint="drop unlabelled rows")


def binary_columns(frame: pd.DataFrame, features: Sequence[str]) -> list[str]:
    """Features whose values are all 0 or 1 (one-hot and flag columns)."""
    out = []
    for col in features:
        values = frame[col].to_numpy()
        if values.dtype == bool or np.isin(values, (0, 1)).all():
            out.append(col)
    return out
