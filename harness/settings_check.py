"""Validating a settings dataclass the one way the harness does it: named checks, first failure is the error.

A settings object (HomoLR's hyper-parameters, the security study's config) lists its checks as a table of
``(field, valid, hint)``; the first check that fails becomes one ConfigError naming the field and its
value. A mapping of raw settings (a YAML file, CLI flags) is refused as a whole when it names a key the
dataclass does not have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from harness.errors import ConfigError

# ``valid`` is a thunk so that a later check never runs on a value an earlier one refused.
Check = tuple[str, Callable[[], bool], str]


def is_count(value: Any, low: int = 1) -> bool:
    # bool is an int to Python, but `epochs: true` in a config is a typo, not 1.
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def refuse_first_invalid(settings: Any, what: str, checks: Iterable[Check]) -> None:
    """ConfigError ``"{what} {field}={value!r} is invalid"`` with the hint of the first failing check."""
    for name, valid, hint in checks:
        if not valid():
            raise ConfigError(f"{what} {name}={getattr(settings, name)!r} is invalid", hint=hint)


def refuse_unknown_keys(raw: Mapping[str, Any], cls: type, what: str, known_label: str) -> None:
    """ConfigError ``"unknown {what}: a, b"`` when ``raw`` has keys that are not fields of dataclass ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown {what}: {', '.join(unknown)}", hint=f"{known_label}: {', '.join(sorted(known))}")
