"""The study's answer in words: the headline sentence and the gap paragraph.

report.md's bold first line, report.html's claim box and the line the CLI prints at the end of a run
are all this one sentence, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.format import fmt3, is_number, signed
from harness.report.results import (
    CENTRALIZED,
    FEDERATED,
    LOCAL_PREFIX,
    arm_metrics,
    best_local,
    error_text,
    is_ok,
    local_party,
    missing_arms,
    to_jsonable,
)


def headline(results: Mapping[str, Any], minus: str) -> str:
    """Federated vs centralised vs best local-only, and every arm that failed or is missing."""
    fed, cen = arm_metrics(results, FEDERATED), arm_metrics(results, CENTRALIZED)
    parts = _main_arm_problems(fed, cen)
    fed_ok, cen_ok = is_ok(fed), is_ok(cen)
    if fed_ok and cen_ok:
        first = f"Federated AUC {fmt3(fed.get('auc'))} vs centralised {fmt3(cen.get('auc'))}"
        if is_number(fed.get("auc")) and is_number(cen.get("auc")):
            first += f" ({signed(fed['auc'] - cen['auc'], minus)})"
        parts.insert(0, first)
        parts.insert(1, f"specificity {fmt3(fed.get('specificity'))} vs {fmt3(cen.get('specificity'))}")
    elif fed_ok:
        parts.insert(0, f"Federated AUC {fmt3(fed.get('auc'))}, specificity {fmt3(fed.get('specificity'))}")
    elif cen_ok:
        parts.append(f"centralised AUC {fmt3(cen.get('auc'))}")
    parts += _local_and_other_arms(results)
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


def _local_and_other_arms(results: Mapping[str, Any]) -> list[str]:
    parts: list[str] = []
    best = best_local(results)
    arms = results.get("arms") or {}
    if best is not None:
        name, m = best
        parts.append(f"best local-only {fmt3(m['auc'])} (party {local_party(name)})")
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
    """How far the federated AUC is from the centralised and the best local-only one, then the
    study's own note on the gap (``gap_note``) when it has one."""
    fed, cen = arm_metrics(results, FEDERATED), arm_metrics(results, CENTRALIZED)
    if is_ok(fed) and is_ok(cen) and is_number(fed.get("auc")) and is_number(cen.get("auc")):
        text = _gap_text(fed, cen) + _versus_best_local(results, fed)
    else:
        text = "No gap can be computed: " + headline(results, minus="−") + "."
    return [text, str(results["gap_note"])] if results.get("gap_note") else [text]


def _gap_text(fed: Mapping[str, Any], cen: Mapping[str, Any]) -> str:
    gap = fed["auc"] - cen["auc"]
    if abs(gap) < 0.0005:
        return f"The federated model matches the centralised one on AUC ({fmt3(fed['auc'])} vs {fmt3(cen['auc'])})."
    word = "lower" if gap < 0 else "higher"
    rel = f", {abs(gap) / cen['auc']:.1%} of the centralised AUC" if cen["auc"] else ""
    return (
        f"The federated AUC is {abs(gap):.3f} {word} than the centralised AUC "
        f"({fmt3(fed['auc'])} vs {fmt3(cen['auc'])}{rel})."
    )


def _versus_best_local(results: Mapping[str, Any], fed: Mapping[str, Any]) -> str:
    best = best_local(results)
    if best is None:
        return ""
    name, m = best
    d = fed["auc"] - m["auc"]
    rel_word = "above" if d >= 0 else "below"
    return (f" It is {abs(d):.3f} {rel_word} the best local-only model "
            f"(party {local_party(name)}, AUC {fmt3(m['auc'])}).")
