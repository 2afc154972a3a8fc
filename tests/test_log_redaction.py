"""Log excerpts the harness shows (failed FATE tasks) never carry a password: FATE's task log prints the
job's runtime config with the party's RabbitMQ password in it (seen on the lab, 3 Dec 2026)."""

from __future__ import annotations

import pytest

from harness.engines.jobs import redact, tail

FATE_LOG_LINE = (
    "[INFO][_base._cleanup2]: start clean task, config: {'federation': {'type': 'rabbitmq', 'metadata': "
    "{'rabbitmq_config': {'host': 'xxx.xxx.xxx.xxx', 'port': 5672, 'mng_port': 15672, 'user': 'fate', "
    "'password': 'YH4DjHVAVicPvp6TKVtKsayhhAL7nVHx', 'max_message_size': None, 'mode': 'replication'}}}}"
)


def test_the_rabbitmq_password_in_a_fate_task_log_is_masked() -> None:
    shown = tail("earlier line\n" + FATE_LOG_LINE)
    assert "YH4DjHVAVicPvp6TKVtKsayhhAL7nVHx" not in shown
    assert "'password': '***'" in shown and "'user': 'fate'" in shown and shown.startswith("earlier line")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("password=abc123 next", "password=*** next"),
        ('"client_key": "s3cr3t", "party": 9999', '"client_key": "***", "party": 9999'),
        ("RABBITMQ_PASSWORD: hunter2", "RABBITMQ_PASSWORD: ***"),
        ("token: t0k3n}", "token: ***}"),
        ("passwordless ssh works; key length 1024", "passwordless ssh works; key length 1024"),
    ],
)
def test_values_of_secret_like_settings_are_masked_and_nothing_else(text: str, shown: str) -> None:
    assert redact(text) == shown
