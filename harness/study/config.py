"""The study's configuration: one validated object, built from defaults, a YAML file and CLI flags.

Defaults reproduce the reference study: three lenders 10000 / 9999 / 9998 holding 25 / 25 / 50 %
of the training rows, guest 9999, hosts 9998 and 10000, arbiter 10000, a stratified 70/30 split,
SMOTE per party, HomoLR with RMSProp and L2, and the two-party distribution sweep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engines.base import Roles
from harness.errors import ConfigError
from harness.ids import check_distinct_parties, party_id
from harness.model.logreg import HomoLRSettings
from harness.study.scenario import DEFAULT_SCENARIO, get_scenario
from harness.yaml_io import load_yaml_file

DEFAULT_SWEEP: tuple[tuple[float, float], ...] = ((0.1, 0.9), (0.2, 0.8), (0.3, 0.7), (0.4, 0.6), (0.5, 0.5))
# launcher (the default): FATE's own multi-process launcher without FATE-Flow
# (harness/engines/fate22/launcher.py); standalone: the embedded FATE-Flow; cluster: the inventory's parties.
ENGINES = ("launcher", "standalone", "cluster")
DEFAULT_ENGINE = "launcher"
# Seeds per run when none are asked for: the launcher trains a seed's fits in seconds, a FATE-Flow
# engine spends a minute or more scheduling each one.
LAUNCHER_SEEDS, FLOW_SEEDS = 10, 1
# The study's regularisation (FATE 1.8 HomoLR: penalty L2, alpha 1.0, RMSProp, full batch).
# What a run may change of a deep-learning scenario's HomoNNSettings (the model itself is the scenario's).
NN_TUNABLE = ("epochs", "batch_size", "learning_rate", "aggregator")
STUDY_MODEL = HomoLRSettings(epochs=20, learning_rate=0.02, alpha=1.0, optimizer="rmsprop", penalty="l2")


@dataclass(frozen=True)
class SweepConfig:
    """Figure 4-3: two parties share all training rows in these proportions."""

    enabled: bool = True
    parties: tuple[str, str] = ("9999", "9998")
    arbiter: str = "10000"
    ratios: tuple[tuple[float, float], ...] = DEFAULT_SWEEP

    def __post_init__(self) -> None:
        if len(self.parties) != 2 or self.parties[0] == self.parties[1]:
            raise ConfigError(f"the sweep needs two distinct parties, got {list(self.parties)}")
        for index, pid in enumerate(self.parties):
            party_id(pid, f"config sweep.parties[{index}]")
        party_id(self.arbiter, "config sweep.arbiter")
        for ratio in self.ratios:
            if len(ratio) != 2 or min(ratio) <= 0 or abs(sum(ratio) - 1.0) > 1e-6:
                raise ConfigError(
                    f"sweep ratio {list(ratio)} is invalid", hint="two positive shares summing to 1, e.g. [0.1, 0.9]"
                )


@dataclass(frozen=True)
class StudyConfig:
    # A module of harness/scenarios/ (`fatelab scenarios`); its default data is the default of `data`.
    scenario: str = DEFAULT_SCENARIO
    data: Path = Path("data/loan_2011q4_head5k.csv")
    work_dir: Path = Path(".fatelab/work")
    reports_dir: Path = Path("reports")
    seed: int = 42
    test_size: float = 0.3
    roles: Roles = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")
    partition: Mapping[str, Any] = field(
        default_factory=lambda: {"kind": "size", "ratios": {"10000": 0.25, "9999": 0.25, "9998": 0.5}, "stratify": None}
    )
    balance: str = "smote"
    model: HomoLRSettings = STUDY_MODEL
    sweep: SweepConfig = SweepConfig()
    log_columns: tuple[str, ...] = ("loan_amnt", "annual_inc", "revol_bal", "installment")
    engine: str = DEFAULT_ENGINE
    # Seeds seed, seed+1, ...: each redraws split, partitions and SMOTE. None: LAUNCHER_SEEDS on the
    # launcher, FLOW_SEEDS on FATE-Flow engines (resolved in __post_init__).
    seeds: int | None = None
    inventory: Path | None = None
    flow_port: int | None = None  # None: 9380 or $FATELAB_FLOW_PORT (engines/fate22/server.py)
    run_id: str | None = None
    # FATE 1.8 (KubeFATE inventories) only: hosts encrypt their model updates with Paillier.
    paillier: bool = False
    # The lending-club-vertical scenario's own settings (feature split, id shares, SecureBoost, HeteroLR),
    # validated by harness/study/vertical.py; other scenarios ignore it.
    vertical: Mapping[str, Any] = field(default_factory=dict)
    # The deep-learning scenarios' training settings over the scenario's own (NN_TUNABLE: epochs = rounds
    # of one local epoch, batch_size, learning_rate, aggregator); other scenarios ignore it.
    nn: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parties = [self.roles.guest, *self.roles.hosts]
        if not isinstance(self.scenario, str):
            raise ConfigError(f"scenario must be a scenario name, got {self.scenario!r}", hint=_SCENARIO_HINT)
        get_scenario(self.scenario)  # an unknown name: one error listing the known ones
        _check_roles(self.roles)
        if not 0 < self.test_size < 1:
            raise ConfigError(f"test_size must be between 0 and 1, got {self.test_size}")
        if self.balance not in ("smote", "none"):
            raise ConfigError(f"balance must be 'smote' or 'none', got {self.balance!r}")
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        # Frozen: the resolved count replaces the raw value once, here.
        object.__setattr__(self, "seeds", seed_count(self.seeds, self.engine))
        if self.engine == "cluster" and self.inventory is None:
            raise ConfigError(
                "the cluster engine needs an inventory", hint="pass --inventory ansible/inventory/lab.yml"
            )
        if not isinstance(self.nn, Mapping):
            raise ConfigError(f"nn must be a mapping of settings, got {self.nn!r}", hint="e.g. nn: {epochs: 2}")
        unknown = sorted(set(self.nn) - set(NN_TUNABLE))
        if unknown:
            raise ConfigError(f"unknown nn settings: {', '.join(map(str, unknown))}",
                              hint=f"the deep-learning scenarios take {', '.join(NN_TUNABLE)}")
        if not isinstance(self.paillier, bool):
            raise ConfigError(f"paillier must be true or false, got {self.paillier!r}")
        if self.paillier and self.engine != "cluster":
            raise ConfigError(
                "paillier encryption is a FATE 1.8 option, but the engine is the embedded FATE 2.2",
                hint="use --engine cluster --inventory <a KubeFATE 1.8 inventory> (fate_deployment: kubefate)",
            )
        ratios = self.partition.get("ratios")
        if isinstance(ratios, Mapping) and {str(k) for k in ratios} != set(parties):
            raise ConfigError(
                f"partition ratios name parties {sorted(map(str, ratios))}, but the data parties are {sorted(parties)}",
                hint="give one ratio per guest/host party",
            )

    def data_parties(self) -> tuple[str, ...]:
        return self.roles.data_parties()

    def seed_list(self) -> tuple[int, ...]:
        """The run's seeds: ``seed``, ``seed + 1``, ... so the first is the single-seed run's."""
        return tuple(self.seed + i for i in range(int(self.seeds or 1)))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("data", "work_dir", "reports_dir", "inventory"):
            out[key] = None if out[key] is None else str(out[key])
        return out


_SEEDS_HINT = (
    f"a whole number of seeds, 1 or more (default {LAUNCHER_SEEDS} with the launcher engine, "
    f"{FLOW_SEEDS} with FATE-Flow engines), e.g. --seeds 5 or seeds: 5"
)


def seed_count(raw: Any, engine: str) -> int:
    """How many seeds a run has: ``raw`` (a flag's text or the YAML value) checked, or the engine's default."""
    if raw is None:
        return LAUNCHER_SEEDS if engine == "launcher" else FLOW_SEEDS
    value: Any = raw
    if isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"seeds must be a whole number, got {raw!r}", hint=_SEEDS_HINT) from None
    # bool is an int to Python, but `seeds: true` is a typo; 2.0 from YAML is not a count either.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"seeds must be a whole number, got {raw!r}", hint=_SEEDS_HINT)
    if value < 1:
        raise ConfigError(f"seeds must be 1 or more, got {value}", hint=_SEEDS_HINT)
    return value


_SCENARIO_HINT = "`fatelab scenarios` lists them, e.g. scenario: lending-club-homolr"
_ROLES_HINT = "e.g. roles: {guest: 9999, hosts: [9998, 10000], arbiter: 10000}"


def _check_roles(roles: Roles) -> None:
    """Party ids checked as the inventory checks them: positive integers, data parties distinct, two or more."""
    holders = [(party_id(roles.guest, "config roles.guest"), "guest")]
    holders += [(party_id(h, f"config roles.hosts[{i}]"), f"hosts[{i}]") for i, h in enumerate(roles.hosts)]
    party_id(roles.arbiter, "config roles.arbiter")
    hint = f"each data party needs its own ID, {_ROLES_HINT}"
    check_distinct_parties(holders, kind="data roles", scope="the study's roles (guest + hosts)", hint=hint)


def _roles_from(raw: Any) -> Roles:
    if not isinstance(raw, Mapping) or not {"guest", "hosts", "arbiter"} <= set(raw):
        raise ConfigError(f"roles need guest, hosts and arbiter, got {raw!r}", hint=_ROLES_HINT)
    hosts = raw["hosts"]
    if not isinstance(hosts, list):
        raise ConfigError(f"config roles.hosts must be a list of party ids, got {hosts!r}", hint=_ROLES_HINT)
    # Normalised through the validator so 9999 and "9999" name the same party everywhere.
    return Roles(
        guest=str(party_id(raw["guest"], "config roles.guest")),
        hosts=tuple(str(party_id(h, f"config roles.hosts[{i}]")) for i, h in enumerate(hosts)),
        arbiter=str(party_id(raw["arbiter"], "config roles.arbiter")),
    )


def load_config(path: Path | None = None, **overrides: Any) -> StudyConfig:
    """Defaults, then the YAML file's keys, then non-None ``overrides`` (CLI flags)."""
    raw: dict[str, Any] = {}
    if path is not None:
        loaded = load_yaml_file(Path(path), "config file", missing_hint="see docs/configuration.md")
        if loaded is not None and not isinstance(loaded, Mapping):
            raise ConfigError(
                f"config file {path} must be a mapping of settings, got {type(loaded).__name__}",
                hint="see docs/configuration.md for the keys and an example",
            )
        raw = dict(loaded or {})
    raw.update({k: v for k, v in overrides.items() if v is not None})
    if "data" not in raw and isinstance(raw.get("scenario"), str):
        # Each scenario brings its own default data.
        raw["data"] = get_scenario(raw["scenario"]).default_data
    if "engine" not in raw and "inventory" not in raw and isinstance(raw.get("scenario"), str):
        # ... and engine: the deep-learning scenarios' per-round curves come from the launcher.
        raw["engine"] = get_scenario(raw["scenario"]).default_engine
    if "seeds" not in raw and raw.get("engine") == "launcher" and isinstance(raw.get("scenario"), str):
        # ... and seeds: a scenario whose seeds cost minutes each states how many fit the 15-minute budget.
        seeds = get_scenario(raw["scenario"]).launcher_seeds
        if seeds is not None:
            raw["seeds"] = seeds
    known = {f.name for f in dataclasses.fields(StudyConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}", hint=f"known keys: {', '.join(sorted(known))}")
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("data", "work_dir", "reports_dir", "inventory"):
            kwargs[key] = Path(value)
        elif key == "roles":
            kwargs[key] = value if isinstance(value, Roles) else _roles_from(value)
        elif key == "model":
            kwargs[key] = value if isinstance(value, HomoLRSettings) else _model_from(value)
        elif key == "sweep":
            kwargs[key] = value if isinstance(value, SweepConfig) else _sweep_from(value)
        elif key == "log_columns":
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return StudyConfig(**kwargs)


def _model_from(raw: Mapping[str, Any]) -> HomoLRSettings:
    try:
        return dataclasses.replace(STUDY_MODEL, **dict(raw))
    except TypeError as exc:
        raise ConfigError(f"unknown model setting: {exc}") from exc


def _sweep_from(raw: Mapping[str, Any] | bool) -> SweepConfig:
    if isinstance(raw, bool):
        return SweepConfig(enabled=raw)
    values = dict(raw)
    if "parties" in values:
        values["parties"] = tuple(str(p) for p in values["parties"])
    if "arbiter" in values:
        values["arbiter"] = str(values["arbiter"])
    if "ratios" in values:
        values["ratios"] = tuple(tuple(float(x) for x in r) for r in values["ratios"])
    try:
        return SweepConfig(**values)
    except TypeError as exc:
        raise ConfigError(f"unknown sweep setting: {exc}") from exc
