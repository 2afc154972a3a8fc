"""The one validation idiom of settings dataclasses (harness/settings_check.py)."""

from dataclasses import dataclass

import pytest

from harness.errors import ConfigError
from harness.settings_check import is_count, refuse_first_invalid, refuse_unknown_keys


@dataclass
class _Settings:
    epochs: int = 3
    rate: float = 0.1


def test_first_failing_check_names_field_value_and_hint() -> None:
    s = _Settings(epochs=0, rate=-1.0)
    checks = (("epochs", lambda: is_count(s.epochs), "a positive integer"),
              ("rate", lambda: s.rate > 0, "positive"))
    with pytest.raises(ConfigError, match=r"^model setting epochs=0 is invalid") as info:
        refuse_first_invalid(s, "model setting", checks)
    assert info.value.hint == "a positive integer"


def test_later_check_never_runs_after_a_failure() -> None:
    def boom() -> bool:
        raise AssertionError("ran after a failed check")

    with pytest.raises(ConfigError, match="epochs"):
        refuse_first_invalid(_Settings(), "x", (("epochs", lambda: False, "h"), ("rate", boom, "h")))


def test_all_valid_passes() -> None:
    refuse_first_invalid(_Settings(), "x", (("epochs", lambda: True, "h"),))


def test_unknown_keys_listed_sorted_with_known_fields() -> None:
    with pytest.raises(ConfigError, match=r"unknown config keys: seed, zeta") as info:
        refuse_unknown_keys({"zeta": 1, "seed": 2, "rate": 3}, _Settings, "config keys", "known keys")
    assert info.value.hint == "known keys: epochs, rate"
    refuse_unknown_keys({"rate": 3}, _Settings, "config keys", "known keys")


@pytest.mark.parametrize(("value", "low", "ok"), [(1, 1, True), (0, 1, False), (0, 0, True), (True, 1, False),
                                                  (2.0, 1, False)])
def test_is_count_refuses_bools_and_floats(value: object, low: int, ok: bool) -> None:
    assert is_count(value, low) is ok
