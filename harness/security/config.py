"""`fatelab security`'s one validated config object: which studies, at what size, on which data.

Two presets: ``full`` (what ``make security`` runs: the issue's grid) and ``ci`` (the same code paths on
fewer rounds, seeds and growth points, for tests). Flags override single values. Every bad value is one
ConfigError naming the key and the value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.settings_check import Check, is_count, refuse_first_invalid, refuse_unknown_keys

STUDIES = ("cost", "leakage", "poisoning", "adversarial")
MIN_KEY_BITS = 1024  # FATE 2.2's own floor (fate/arch/config/default.yaml, safety.phe.paillier)


@dataclass(frozen=True)
class SecurityConfig:
    data: Path = Path("data/loan_2011q4_head5k.csv")
    work_dir: Path = Path(".fatelab/work")
    reports_dir: Path = Path("reports")
    run_id: str | None = None
    studies: tuple[str, ...] = STUDIES
    seeds: tuple[int, ...] = (42, 43, 44, 45, 46)
    # cost of protection
    key_bits: tuple[int, ...] = (1024, 2048, 3072)
    features: tuple[int, ...] = (37, 200, 1000)
    parties: tuple[int, ...] = (3, 5, 10)
    cost_rounds: int = 3
    homolr_check: bool = True  # one real HomoLR launcher fit: FATE's own secure-aggregation bytes
    # leakage
    batch_sizes: tuple[int, ...] = (1, 8, 64, 0)  # 0 = the party's full training set
    leakage_records: int = 200
    # MNIST reconstruction (Inverting Gradients); None: the bundled sample beside the checkout, if present
    mnist: Path | None = None
    image_batches: tuple[int, ...] = (1, 4, 8)
    image_steps: int = 600
    # poisoning
    label_flip: tuple[float, ...] = (0.0, 25.0, 50.0, 100.0)  # percent of the attacker's labels
    scaling: tuple[float, ...] = (1.0, 3.0, 10.0, 100.0)
    backdoor_share: float = 20.0  # percent of the attacker's rows that carry the trigger
    backdoor_scale: float = 10.0  # the backdoor again with its update scaled by this (1: not at all)
    aggregators: tuple[str, ...] = ("fedavg", "median", "trimmed_mean", "krum")
    epochs: int = 20
    # adversarial
    epsilons: tuple[float, ...] = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)
    pgd_steps: int = 10
    cnn_epsilons: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3)  # MNIST pixels in [0, 1]; () skips the CNN
    # Transfer to the federated CNN: one FATE HomoNN launcher fit per seed (the mnist-cnn scenario's)
    cnn_transfer: bool = True
    cnn_transfer_seeds: tuple[int, ...] = (42, 43, 44)  # each: one HomoNN fit + two in-process CNNs (minutes)
    cnn_epochs: int = 10  # the mnist-cnn scenario's rounds (harness/scenarios/mnist_cnn.py EPOCHS)

    def __post_init__(self) -> None:
        refuse_first_invalid(self, "security setting", _checks(self))

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self).items()}


def _counts(values: Any, low: int = 1) -> bool:
    return bool(values) and all(is_count(v, low) for v in values)


def _numbers(values: Any, low: float, high: float = math.inf) -> bool:
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and low <= v <= high
        for v in values
    )


def _checks(c: SecurityConfig) -> tuple[Check, ...]:
    from harness.security.aggregators import AGGREGATORS

    return (
        ("studies", lambda: bool(c.studies) and set(c.studies) <= set(STUDIES), f"some of {', '.join(STUDIES)}"),
        ("seeds", lambda: _counts(c.seeds, 0), "non-negative integers, e.g. 42,43,44"),
        ("key_bits", lambda: _counts(c.key_bits, MIN_KEY_BITS),
         f"Paillier key sizes of at least {MIN_KEY_BITS} bits (FATE 2.2 refuses smaller keys), e.g. 1024,2048"),
        ("features", lambda: _counts(c.features, 2), "feature counts of at least 2 (HomoLR's floor), e.g. 37,200"),
        ("parties", lambda: _counts(c.parties, 2), "data-party counts of at least 2, e.g. 3,5,10"),
        ("cost_rounds", lambda: _counts((c.cost_rounds,)), "a positive number of rounds"),
        ("batch_sizes", lambda: _counts(c.batch_sizes, 0), "batch sizes >= 1, or 0 for the full party"),
        ("image_batches", lambda: _counts(c.image_batches), "batch sizes >= 1, e.g. 1,4,8"),
        ("image_steps", lambda: _counts((c.image_steps,)), "a positive number of Adam steps"),
        ("leakage_records", lambda: _counts((c.leakage_records,)), "a positive number of records"),
        ("label_flip", lambda: _numbers(c.label_flip, 0.0, 100.0), "percentages between 0 and 100"),
        ("scaling", lambda: _numbers(c.scaling, 0.0) and 0 not in c.scaling, "positive scale factors, e.g. 1,3,10"),
        ("backdoor_share", lambda: _numbers((c.backdoor_share,), 0.0, 100.0), "a percentage between 0 and 100"),
        ("backdoor_scale", lambda: _numbers((c.backdoor_scale,), 1.0), "a scale factor >= 1 (1: no scaled run)"),
        ("aggregators", lambda: bool(c.aggregators) and set(c.aggregators) <= set(AGGREGATORS),
         f"some of {', '.join(AGGREGATORS)}"),
        ("epochs", lambda: _counts((c.epochs,)), "a positive number of epochs"),
        ("epsilons", lambda: _numbers(c.epsilons, 0.0), "perturbation sizes >= 0, e.g. 0,0.1,0.5"),
        ("cnn_epsilons", lambda: not c.cnn_epsilons or _numbers(c.cnn_epsilons, 0.0),
         "pixel perturbation sizes >= 0, e.g. 0,0.1,0.3"),
        ("pgd_steps", lambda: _counts((c.pgd_steps,)), "a positive number of steps"),
        ("cnn_epochs", lambda: _counts((c.cnn_epochs,)), "a positive number of HomoNN rounds"),
        ("cnn_transfer_seeds", lambda: _counts(c.cnn_transfer_seeds, 0), "non-negative integers, e.g. 42,43,44"),
    )


CI = {
    "seeds": (42, 43, 44),
    "key_bits": (1024,),
    "features": (37,),
    "parties": (3,),
    "cost_rounds": 2,
    "homolr_check": False,
    "batch_sizes": (1, 8, 0),
    "leakage_records": 50,
    "label_flip": (0.0, 100.0),
    "scaling": (1.0, 100.0),
    "epsilons": (0.0, 0.5),
    "epochs": 10,
    "image_batches": (1,),
    "image_steps": 200,
    "cnn_epsilons": (),
    "cnn_transfer": False,
}
PRESETS: Mapping[str, Mapping[str, Any]] = {"full": {}, "ci": CI}

_PATHS = ("data", "work_dir", "reports_dir", "mnist")
_TUPLES_INT = ("seeds", "key_bits", "features", "parties", "batch_sizes", "image_batches", "cnn_transfer_seeds")
_TUPLES_FLOAT = ("label_flip", "scaling", "epsilons", "cnn_epsilons")


def security_config(preset: str = "full", **overrides: Any) -> SecurityConfig:
    """The preset's values, then the non-None ``overrides`` (CLI flags; lists arrive as tuples or text)."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown security preset {preset!r}", hint=f"one of {', '.join(PRESETS)}")
    raw = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    refuse_unknown_keys(raw, SecurityConfig, "security settings", "known")
    for key in _PATHS:
        if raw.get(key) is not None:
            raw[key] = Path(raw[key])
    for key in (*_TUPLES_INT, *_TUPLES_FLOAT, "studies", "aggregators"):
        if key in raw:
            raw[key] = _as_tuple(key, raw[key])
    return SecurityConfig(**raw)


def _as_tuple(key: str, value: Any) -> tuple[Any, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    if key in ("studies", "aggregators"):
        return tuple(str(v).strip() for v in items)
    cast = int if key in _TUPLES_INT else float
    try:
        return tuple(cast(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"security setting {key}={value!r} is not a list of numbers", hint="e.g. 1,2,3") from exc


def mnist_path(config: SecurityConfig) -> Path | None:
    """The MNIST sample to use: the configured one, else the project's bundled sample (data/mnist), else none."""
    if config.mnist is not None:
        return config.mnist
    repo = Path(__file__).resolve().parents[2]
    bundled = repo / "data" / "mnist" / "mnist_5k.csv.gz"
    return bundled if bundled.exists() else None
