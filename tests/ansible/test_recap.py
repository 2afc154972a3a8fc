"""Unit tests for the playbook-recap parser the lab tests rely on (no lab needed)."""

from __future__ import annotations

from ansible_run import count_job_successes, parse_recap

RECAP = """
TASK [rabbitmq : Restart rabbitmq] *****
changed: [party9999]

PLAY RECAP *********************************************************************
localhost                  : ok=13 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0
party10000                 : ok=3 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0
party9999                  : ok=23 changed=14 unreachable=1 failed=0 skipped=4 rescued=0 ignored=0
"""


def test_parse_recap_reads_every_host_and_counter() -> None:
    recap = parse_recap(RECAP)
    assert set(recap) == {"localhost", "party10000", "party9999"}
    assert recap["party9999"] == {"ok": 23, "changed": 14, "unreachable": 1, "failed": 0, "skipped": 4,
                                  "rescued": 0, "ignored": 0}
    assert recap["party10000"]["failed"] == 1


def test_parse_recap_uses_the_last_recap_only() -> None:
    earlier = RECAP.replace("changed=14", "changed=99")
    assert parse_recap(earlier + RECAP.replace("changed=14", "changed=0"))["party9999"]["changed"] == 0


def test_parse_recap_without_recap_is_empty() -> None:
    assert parse_recap("ERROR! the playbook could not be found") == {}


VERIFY_EXCERPT = """
ok: [party9999] =>
    msg:
    -   elapsed_s: 93.4
        guest: '9999'
        host: '9998'
        job_id: '202611260648186149130'
        status: success
    -   elapsed_s: 105.6
        guest: '9999'
        status: failed
ok: [party10000] =>
    msg:
        arbiter: '10000'
        status: success
"""


def test_count_job_successes_counts_only_successful_results() -> None:
    assert count_job_successes(VERIFY_EXCERPT) == 2
    assert count_job_successes("status: failed\n") == 0


def test_expect_unchanged_fails_on_changes_and_passes_on_a_converged_log(tmp_path, capsys) -> None:  # noqa: ANN001
    from ansible_run import main

    changed = tmp_path / "changed.log"
    changed.write_text(RECAP)
    assert main(["--expect-unchanged", str(changed)]) == 1
    assert "not converged" in capsys.readouterr().out
    converged = tmp_path / "converged.log"
    converged.write_text("PLAY RECAP ****\nparty9999 : ok=42 changed=0 unreachable=0 failed=0 skipped=19\n")
    assert main(["--expect-unchanged", str(converged)]) == 0
    empty = tmp_path / "empty.log"
    empty.write_text("ERROR! the playbook could not be found\n")
    assert main(["--expect-unchanged", str(empty)]) == 1
