"""The study's answer in words: the headline sentence and the gap paragraph.

report.md's bold first line, report.html's claim box and the line the CLI prints at the end of a run
are all this one sentence, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.format import fmt3, is_number, metric_word, signed
from harness.report.results import (
    CENTRALIZED,
    FEDERATED,
    LOCAL_PREFIX,
    arm_metrics,
    best_local,
    error_text,
    is_ok,
    local_party,
    metric_set,
    missing_arms,
    to_jsonable,
)


def headline(results: Mapping[str, Any], minus: str) -> str:
    """Federated vs centralised vs best local-only, and every arm that failed or is missing.

    On the run's primary metric and its second one (:func:`metric_set`): AUC and specificity for a
    binary study, accuracy and macro F1 for a multi-class one."""
    fed, cen = arm_metrics(results, FEDERATED), arm_metrics(results, CENTRALIZED)
    metrics = metric_set(results)
    key, second = metrics.primary, metrics.second
    name, second_name = metric_word(key), metric_word(second)
    parts = _main_arm_problems(fed, cen)
    fed_ok, cen_ok = is_ok(fed), is_ok(cen)
    if fed_ok and cen_ok:
        first = f"Federated {name} {fmt3(fed.get(key))} vs centralised {fmt3(cen.get(key))}"
        if is_number(fed.get(key)) and is_number(cen.get(key)):
            first += f" ({signed(fed[key] - cen[key], minus)})"
        parts.insert(0, first)
        parts.insert(1, f"{second_name} {fmt3(fed.get(second))} vs {fmt3(cen.get(second))}")
    elif fed_ok:
        parts.insert(0, f"Federated {name} {fmt3(fed.get(key))}, {second_name} {fmt3(fed.get(second))}")
    elif cen_ok:
        parts.append(f"centralised {name} {fmt3(cen.get(key))}")
    parts += _local_and_other_arms(results, key)
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def _main_arm_problems(fed: Any, cen: Any) -> list[str]:
    parts: list[str] = []
    if fed is None:
        parts.append("Federated arm missing")
    elif not is_ok(fed):
        parts.append(f"Federated arm failed ({error_text(fed)})")
    if cen is not None and not is_ok(cen):
        parts.append(f"centralised arm failed ({error_text(cen)})")
    elif cen is None:
        parts.append("centralised arm missing")
    return parts


def _local_and_other_arms(results: Mapping[str, Any], key: str) -> list[str]:
    parts: list[str] = []
    best = best_local(results)
    arms = results.get("arms") or {}
    if best is not None:
        name, m = best
        parts.append(f"best local-only {fmt3(m[key])} (party {local_party(name)})")
    elif any(a.startswith(LOCAL_PREFIX) for a in arms):
        parts.append("no local-only arm succeeded")
    # Federated/centralised problems are already spelled out above; count the rest so the top line
    # never hides that the comparison is incomplete.
    others_failed = sum(1 for a, m in arms.items() if a not in (FEDERATED, CENTRALIZED) and not is_ok(m))
    others_missing = sum(1 for a in missing_arms(results) if a not in (FEDERATED, CENTRALIZED))
    gaps = [f"{n} {word}" for n, word in ((others_failed, "failed"), (others_missing, "missing")) if n]
    if gaps:
        parts.append(f"other arms: {', '.join(gaps)}")
    return parts


def render_summary_line(results: Mapping[str, Any]) -> str:
    """One line for the CLI to print at the end of a run (ASCII, so any terminal shows it)."""
    return headline(to_jsonable(results), minus="-")


def gap_paragraphs(results: Mapping[str, Any]) -> list[str]:
    """How far the federated primary metric (AUC, accuracy: :func:`metric_set`) is from the centralised
    and the best local-only one, then the study's own note on the gap (``gap_note``) when it has one."""
    fed, cen = arm_metrics(results, FEDERATED), arm_metrics(results, CENTRALIZED)
    key = metric_set(results).primary
    if is_ok(fed) and is_ok(cen) and is_number(fed.get(key)) and is_number(cen.get(key)):
        text = _gap_text(fed, cen, key) + _versus_best_local(results, fed, key)
    else:
        text = "No gap can be computed: " + headline(results, minus="−") + "."
    return [text, str(results["gap_note"])] if results.get("gap_note") else [text]


def _gap_text(fed: Mapping[str, Any], cen: Mapping[str, Any], key: str) -> str:
    gap, name = fed[key] - cen[key], metric_word(key)
    if abs(gap) < 0.0005:
        return f"The federated model matches the centralised one on {name} ({fmt3(fed[key])} vs {fmt3(cen[key])})."
    word = "lower" if gap < 0 else "higher"
    rel = f", {abs(gap) / cen[key]:.1%} of the centralised {name}" if cen[key] else ""
    return (
        f"The federated {name} is {abs(gap):.3f} {word} than the centralised {name} "
        f"({fmt3(fed[key])} vs {fmt3(cen[key])}{rel})."
    )


def _versus_best_local(results: Mapping[str, Any], fed: Mapping[str, Any], key: str) -> str:
    best = best_local(results)
    if best is None:
        return ""
    name, m = best
    d = fed[key] - m[key]
    rel_word = "above" if d >= 0 else "below"
    return (f" It is {abs(d):.3f} {rel_word} the best local-only model "
            f"(party {local_party(name)}, {metric_word(key)} {fmt3(m[key])}).")
