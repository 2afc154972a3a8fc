"""The FATE 1.8 job builder against fate_client 1.8's compile output (tests/golden/fate18)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engines.base import Roles, Table
from harness.engines.fate18.dsl import HomoLRJob, HomoLRParams, build_conf, build_dsl, model_id
from harness.errors import ConfigError

GOLDEN = Path(__file__).parent / "golden" / "fate18"
# The golden job's hyper-parameters (FATE's homo_lr benchmark settings), not the study's.
GOLDEN_PARAMS = HomoLRParams(alpha=0.01, batch_size=320, learning_rate=0.15, max_iter=30)
ROLES = Roles(guest="9999", hosts=("9998", "10000"), arbiter="10000")


def table(name: str) -> Table:
    """A table in the namespace the golden job uses (its party and rows do not reach the conf)."""
    return Table("9999", "experiment", name, 0)


TABLES = dict(
    guest_table=table("default_credit_homo_guest"),
    host_tables=(table("default_credit_homo_host_1"), table("default_credit_homo_host_2")),
)


def _golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def test_dsl_matches_golden_key_for_key() -> None:
    assert build_dsl() == _golden("homolr_3party_job_dsl.json")


def test_conf_matches_golden_key_for_key() -> None:
    conf = build_conf(HomoLRJob(ROLES, params=GOLDEN_PARAMS, **TABLES))
    golden = _golden("homolr_3party_job_conf.json")
    assert conf == golden
    # Same key order inside homo_lr_0 too, so a diff of the two files reads cleanly.
    assert list(conf["component_parameters"]["common"]["homo_lr_0"]) == list(
        golden["component_parameters"]["common"]["homo_lr_0"]
    )


def test_study_defaults_are_homolr_defaults() -> None:
    lr = build_conf(HomoLRJob(ROLES, **TABLES))["component_parameters"]["common"]["homo_lr_0"]
    assert (lr["tol"], lr["alpha"], lr["optimizer"], lr["batch_size"], lr["early_stop"]) == (
        1e-4,
        1.0,
        "rmsprop",
        -1,
        "diff",
    )
    assert lr["encrypt_param"] == {"method": None}


def test_paillier_is_set_on_hosts_only() -> None:
    params = HomoLRParams(optimizer="sgd", paillier=True)
    conf = build_conf(HomoLRJob(ROLES, params=params, **TABLES))
    roles = conf["component_parameters"]["role"]
    assert roles["host"]["0|1"]["homo_lr_0"]["encrypt_param"] == {"method": "Paillier", "key_length": 1024}
    assert "homo_lr_0" not in roles["guest"]["0"]
    assert conf["component_parameters"]["common"]["homo_lr_0"]["encrypt_param"] == {"method": None}


@pytest.mark.parametrize(
    "params, words",
    [
        (HomoLRParams(paillier=True), "needs optimizer 'sgd'"),
        (HomoLRParams(optimizer="sgd", paillier=True, penalty="L1"), "L1"),
        (HomoLRParams(optimizer="foo"), "optimizer 'foo'"),
        (HomoLRParams(batch_size=5), "minimum 10"),
        (HomoLRParams(early_stop="never"), "early_stop"),
    ],
)
def test_invalid_params_fail_before_submit(params: HomoLRParams, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        build_conf(HomoLRJob(ROLES, params=params, **TABLES))


def test_host_table_count_must_match_hosts() -> None:
    with pytest.raises(ConfigError, match="2 host parties but 1 host tables"):
        build_conf(HomoLRJob(ROLES, guest_table=table("g"), host_tables=(table("h"),)))


def test_guest_cannot_be_host() -> None:
    with pytest.raises(ConfigError, match="cannot be guest and host"):
        HomoLRJob(Roles(guest="9999", hosts=("9999",), arbiter="10000"), table("g"), (table("h"),))


def test_model_id_follows_fate_flow_rule() -> None:
    assert model_id(ROLES) == "arbiter-10000#guest-9999#host-9998_10000#model"
