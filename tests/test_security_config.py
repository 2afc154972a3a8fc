"""`fatelab security`'s config: presets, overrides, and one clear error per bad value."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.security.config import security_config


def test_presets_and_text_overrides() -> None:
    full = security_config()
    assert full.key_bits == (1024, 2048, 3072) and full.features == (37, 200, 1000) and full.parties == (3, 5, 10)
    ci = security_config("ci", key_bits="1024,2048", epsilons="0,0.5")
    assert ci.key_bits == (1024, 2048) and ci.epsilons == (0.0, 0.5) and ci.seeds == (42, 43, 44)
    assert not ci.cnn_transfer and full.cnn_transfer and full.cnn_epochs == 10
    assert security_config(cnn_transfer_seeds="7,8").cnn_transfer_seeds == (7, 8)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"key_bits": "512"}, "key_bits"),
        ({"key_bits": (1024, 768)}, "key_bits"),
        ({"label_flip": "0,101"}, "label_flip"),
        ({"label_flip": (-5.0,)}, "label_flip"),
        ({"backdoor_share": 150.0}, "backdoor_share"),
        ({"epsilons": "0,-0.1"}, "epsilons"),
        ({"studies": "cost,magic"}, "studies"),
        ({"key_bits": "1024,big"}, "key_bits"),
        ({"cnn_epochs": 0}, "cnn_epochs"),
    ],
)
def test_bad_values_are_one_config_error_naming_the_key(override: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        security_config("ci", **override)
    assert key in str(caught.value) and caught.value.hint


def test_cli_reports_a_bad_key_size_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["security", "--key-bits", "512"]) == 2
    err = capsys.readouterr().err
    assert "key_bits=(512,)" in err and "1024" in err and "Traceback" not in err


def test_a_missing_mnist_sample_fails_before_any_study_runs(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["security", "--preset", "ci", "--mnist", str(tmp_path / "nope.csv.gz"), "--reports",
                 str(tmp_path / "reports"), "--run-id", "x"])
    assert code == 2
    err = capsys.readouterr().err
    assert "nope.csv.gz does not exist" in err and "Traceback" not in err
    assert list((tmp_path / "reports").iterdir()) == []
