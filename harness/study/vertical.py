"""One seed of a vertical study: who holds which customers and columns, the held-out customers, scaling.

Order, all seeded by ``config.seed``: the prepared customers are split 70/30 (stratified, as every
study), then the guest draws ``guest_share`` and the host ``host_share`` of *all* customers, independently
(:func:`harness.data.vertical_split.draw_holdings`). The guest's tables hold its customers' guest columns
and the label, the host's its customers' host columns. Every arm is scored on the same rows: the
held-out customers that both parties hold (only those can be scored by a model that needs host columns).
Trees take raw values; the LR arms take each party's columns standardised with that party's own
training-rows statistics (money columns log1p'd first), in the federated and the in-process arms alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.data.scaling import Scaler, fit_scaler
from harness.data.split import stratified_split
from harness.data.vertical_split import FeatureSplit, Holdings, check_party_tables, draw_holdings, party_tables
from harness.data.vertical_split import split_features as assign_features
from harness.engines.base import Roles
from harness.errors import ConfigError
from harness.ids import party_id
from harness.model.hetero_lr import HeteroLRSettings
from harness.model.secureboost import SecureBoostSettings

if TYPE_CHECKING:
    from harness.study.config import StudyConfig

# The lender's columns: loan terms and credit history. Everything about the person (income, job, home,
# verification, what the loan is for) is the partner's.
GUEST_FEATURES = (
    "loan_amnt", "term", "int_rate", "installment", "dti", "delinq_2yrs", "inq_last_6mths",
    "open_acc", "pub_rec", "revol_bal", "revol_util", "total_acc",
)  # fmt: skip
HOST_FEATURES = ("annual_inc", "emp_length", "home_ownership_*", "verification_status_*", "purpose_*")
FAMILIES = ("secureboost", "heterolr")


@dataclass(frozen=True)
class VerticalConfig:
    """``config.vertical``: parties, id shares, the feature split and both model families' settings."""

    guest: str = "9999"
    host: str = "9998"
    arbiter: str = "10000"  # coordinated LR's key holder; SecureBoost has none
    guest_share: float = 0.9
    host_share: float = 0.8
    guest_features: tuple[str, ...] = GUEST_FEATURES
    host_features: tuple[str, ...] = HOST_FEATURES
    federated: tuple[str, ...] = FAMILIES  # which federated families run (both by default)
    secureboost: SecureBoostSettings = field(default_factory=SecureBoostSettings)
    hetero_lr: HeteroLRSettings = field(default_factory=HeteroLRSettings)

    def __post_init__(self) -> None:
        ids = [party_id(getattr(self, r), f"config vertical.{r}") for r in ("guest", "host", "arbiter")]
        if ids[0] == ids[1]:
            raise ConfigError(f"vertical.guest and vertical.host are both {ids[0]}", hint="two distinct parties")
        unknown = sorted(set(self.federated) - set(FAMILIES))
        if unknown:
            raise ConfigError(f"vertical.federated: unknown {', '.join(unknown)}", hint=f"any of {list(FAMILIES)}")

    @property
    def roles(self) -> Roles:
        return Roles(guest=self.guest, hosts=(self.host,), arbiter=self.arbiter)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["guest_features"], out["host_features"] = list(self.guest_features), list(self.host_features)
        return out


def vertical_config(raw: Mapping[str, Any]) -> VerticalConfig:
    """``config.vertical`` (a mapping from YAML or code) as a validated VerticalConfig."""
    if isinstance(raw, VerticalConfig):
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config vertical must be a mapping, got {raw!r}", hint="see docs/scenarios.md")
    values = dict(raw)
    try:
        if "secureboost" in values:
            values["secureboost"] = SecureBoostSettings(**dict(values["secureboost"]))
        if "hetero_lr" in values:
            values["hetero_lr"] = HeteroLRSettings(**dict(values["hetero_lr"]))
        for key in ("guest", "host", "arbiter"):
            if key in values:
                values[key] = str(values[key])
        for key in ("guest_features", "host_features", "federated"):
            if key in values:
                values[key] = tuple(values[key])
        return VerticalConfig(**values)
    except TypeError as exc:
        hint = "see VerticalConfig in harness/study/vertical.py"
        raise ConfigError(f"unknown vertical setting: {exc}", hint=hint) from exc


@dataclass
class VerticalSeedData:
    """Everything the arms of one vertical seed train and score on (``observed`` is filled by the arms)."""

    seed: int
    label: str
    id_column: str
    split: FeatureSplit
    holdings: Holdings
    guest_train: pd.DataFrame  # id, guest features, label: every training customer the guest holds
    host_train: pd.DataFrame  # id, host features: every training customer the host holds
    guest_test: pd.DataFrame
    host_test: pd.DataFrame
    joined_train: pd.DataFrame  # training customers both hold: id, all features, label
    test: pd.DataFrame  # held-out customers both hold: every arm is scored on exactly these rows
    scalers: Mapping[str, Scaler]  # "guest", "host": each fit on its own training rows
    true_overlap: Mapping[str, int]
    observed: dict[str, Any] = field(default_factory=dict)  # what FATE found: PSI counts, seconds

    @property
    def features(self) -> tuple[str, ...]:
        return (*self.split.guest, *self.split.host)

    def scaled(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with each party's columns present standardised by that party's own scaler."""
        out = frame
        for side, columns in (("guest", self.split.guest), ("host", self.split.host)):
            if set(columns) <= set(frame.columns):
                out = self.scalers[side].transform(out)
        return out


def seed_data(
    frame: pd.DataFrame,
    features: Sequence[str],
    config: StudyConfig,
    vertical: VerticalConfig,
    *,
    label: str,
    id_column: str,
    log_columns: Sequence[str],
) -> VerticalSeedData:
    """Split -> holdings -> party tables (checked) -> joined rows -> per-party scalers, all by ``config.seed``."""
    split = assign_features(list(features), vertical.guest_features, vertical.host_features)
    train, test = stratified_split(frame, label=label, test_size=config.test_size, seed=config.seed)
    holdings = draw_holdings(frame[id_column].to_numpy(), vertical.guest_share, vertical.host_share, config.seed)
    guest_train, host_train = party_tables(train, holdings, split, id_column=id_column, label=label)
    guest_test, host_test = party_tables(test, holdings, split, id_column=id_column, label=label)
    true_overlap = {
        "train": check_party_tables(guest_train, host_train, id_column=id_column, label=label),
        "test": check_party_tables(guest_test, host_test, id_column=id_column, label=label),
    }
    both = holdings.overlap()
    columns = [id_column, *split.guest, *split.host, label]
    joined_train = train[train[id_column].isin(both)][columns].reset_index(drop=True)
    held_out = test[test[id_column].isin(both)][columns].reset_index(drop=True)
    logs = set(log_columns)
    scalers = {
        side: fit_scaler(table, cols, log_columns=[c for c in cols if c in logs])
        for side, table, cols in (("guest", guest_train, split.guest), ("host", host_train, split.host))
    }
    return VerticalSeedData(
        seed=config.seed,
        label=label,
        id_column=id_column,
        split=split,
        holdings=holdings,
        guest_train=guest_train,
        host_train=host_train,
        guest_test=guest_test,
        host_test=host_test,
        joined_train=joined_train,
        test=held_out,
        scalers=scalers,
        true_overlap=true_overlap,
    )


def psi_section(data: VerticalSeedData, guest: str) -> dict[str, Any]:
    """results.json's ``psi``: id-set sizes, the true overlap, what FATE's PSI found, its seconds."""
    found = data.observed.get("psi", {})
    return {
        "guest_ids": len(data.holdings.guest),
        "host_ids": len(data.holdings.host),
        "true_overlap": int(sum(data.true_overlap.values())),
        "found_overlap": found.get("found"),
        "seconds": found.get("seconds"),
        "by_split": {"true": dict(data.true_overlap), "found": found.get("by_split")},
        "protocol": "ecdh_psi over curve25519 (fate.arch.protocol.psi), on the train and the test ids",
        "guest_party": guest,
    }
