"""The vertical study's own report sections: PSI, the lossless check, what federation adds, who holds what.

Built from results.json's ``psi``, ``gaps``, ``vertical`` and ``arm_details`` blocks and stored in
``report_sections`` (title + markdown lines), which report.md renders after its standard sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOSSLESS_BOUND = 0.01


def vertical_sections(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [psi_section(results), gaps_section(results), split_section(results)]


def psi_section(results: Mapping[str, Any]) -> dict[str, Any]:
    psi = results.get("psi") or {}
    found, true = psi.get("found_overlap"), psi.get("true_overlap")
    verdict = "exactly the shared customers" if found == true else f"{found} ids, but the parties share {true}"
    seconds = psi.get("seconds")
    lines = [
        f"The guest holds {psi.get('guest_ids')} customer ids, the host {psi.get('host_ids')}; they share {true}. "
        f"FATE's PSI ({psi.get('protocol')}) found {verdict}"
        + (f", in {seconds:.1f} s of the SecureBoost fit." if isinstance(seconds, int | float) else "."),
        "",
    ]
    return {"title": "Private set intersection", "lines": lines}


def gaps_section(results: Mapping[str, Any]) -> dict[str, Any]:
    gaps = results.get("gaps") or {}
    lines = ["| Comparison (this seed) | AUC difference | KS difference |", "| --- | ---: | ---: |"]
    for name, diff in gaps.items():
        lines.append(f"| {name} | {diff.get('auc', 0):+.4f} | {diff.get('ks', 0):+.4f} |")
    lossless = gaps.get("federated_secureboost - centralized_gbdt", {}).get("auc")
    lines.append("")
    if isinstance(lossless, int | float):
        within = "within" if abs(lossless) <= LOSSLESS_BOUND else "outside"
        lines += [
            f"SecureBoost vs XGBoost on the joined table, same settings: {lossless:+.4f} AUC, {within} the "
            f"±{LOSSLESS_BOUND} the lossless claim allows. Remaining differences are the bin edges (FATE's "
            "quantile binning vs XGBoost's sketch); encryption adds only fixed-point rounding of the gradients.",
            "",
        ]
    lines += ["One seed is one draw: claims over seeds (paired intervals) need `--seeds N`.", ""]
    return {"title": "Lossless claim and what federation adds", "lines": lines}


def split_section(results: Mapping[str, Any]) -> dict[str, Any]:
    v = results.get("vertical") or {}
    split = v.get("feature_split") or {}
    lines = [
        f"- Guest {v.get('guest')} (label + {len(split.get('guest', []))} columns): "
        f"{', '.join(split.get('guest', []))}",
        f"- Host {v.get('host')} ({len(split.get('host', []))} columns): {', '.join(split.get('host', []))}",
        f"- Customers: guest {v.get('guest_share')}, host {v.get('host_share')} of all, drawn by seed; "
        f"{v.get('joined_train_rows')} training and {v.get('scored_rows')} held-out customers held by both.",
        "",
    ]
    for arm in ("federated_secureboost", "federated_heterolr"):
        phases = ((results.get("arm_details") or {}).get(arm) or {}).get("phase_seconds")
        if phases:
            lines.append(f"- {arm} seconds by phase: " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    lines.append("")
    return {"title": "Who holds what", "lines": lines}
