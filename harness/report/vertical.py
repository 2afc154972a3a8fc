"""The vertical study's own report sections: PSI, the lossless check, what federation adds, who holds what.

Built at render time from results.json's ``vertical``, ``psi``, ``gaps`` and ``arm_details`` blocks
(harness/scenarios/lending_club_vertical.py writes them); a run without a ``vertical`` block gets nothing
from here. ``sections`` is one of the scenario section providers of :mod:`harness.report.sections`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.format import DASH, is_number
from harness.report.markup import Section, Table, Text

LOSSLESS_BOUND = 0.01
LOSSLESS_GAP = "federated_secureboost - centralized_gbdt"
PHASED_ARMS = ("federated_secureboost", "federated_heterolr")


def sections(results: Mapping[str, Any]) -> list[Section]:
    if not isinstance(results.get("vertical"), Mapping):
        return []
    cost = cost_section(results)
    return [psi_section(results), gaps_section(results), *([cost] if cost else []), split_section(results)]


def _diff(value: Any) -> str:
    return f"{value:+.4f}" if is_number(value) else DASH


def psi_section(results: Mapping[str, Any]) -> Section:
    psi = results.get("psi") or {}
    found, true = psi.get("found_overlap"), psi.get("true_overlap")
    verdict = "exactly the shared customers" if found == true else f"{found} ids, but the parties share {true}"
    seconds = psi.get("seconds")
    text = (f"The guest holds {psi.get('guest_ids')} customer ids, the host {psi.get('host_ids')}; they share {true}. "
            f"FATE's PSI ({psi.get('protocol')}) found {verdict}"
            + (f", in {seconds:.1f} s of the SecureBoost fit." if is_number(seconds) else "."))
    return Section("Private set intersection", (Text((text,)),), "vertical-psi")


def gaps_section(results: Mapping[str, Any]) -> Section:
    gaps = results.get("gaps") or {}
    table = Table("vertical-gaps", ["Comparison (this seed)", "AUC difference", "KS difference"], "lrr",
                  [[str(name), _diff(d.get("auc")), _diff(d.get("ks"))] for name, d in gaps.items()
                   if isinstance(d, Mapping)])
    lines = []
    lossless = (gaps.get(LOSSLESS_GAP) or {}).get("auc")
    if is_number(lossless):
        within = "within" if abs(lossless) <= LOSSLESS_BOUND else "outside"
        lines.append(
            f"SecureBoost vs XGBoost on the joined table, same settings: {lossless:+.4f} AUC, {within} the "
            f"±{LOSSLESS_BOUND} the lossless claim allows. Remaining differences are the bin edges (FATE's "
            "quantile binning vs XGBoost's sketch); encryption adds only fixed-point rounding of the gradients.")
    seeds = results.get("seeds") or []
    if len(seeds) > 1:
        lines.append(f"The table is the first seed's ({seeds[0]}); the claims over all {len(seeds)} seeds, decided "
                     "on paired intervals, are in the claims section above.")
    else:
        lines.append("One seed is one draw: claims over seeds (paired intervals) need `--seeds N`.")
    title = "Lossless claim and what federation adds"
    return Section(title, (table, Text(tuple(lines))), "vertical-gaps-section")


COST_PARTS = (("encrypt_gh", "Paillier encryption of g, h"), ("split_decrypt", "split finding + decrypting"),
              ("histogram", "encrypted histograms"))


def cost_section(results: Mapping[str, Any]) -> Section | None:
    """SecureBoost's seconds per tree and the shares of encryption and histograms, per party (launcher runs)."""
    cost = ((results.get("arm_details") or {}).get("federated_secureboost") or {}).get("cost")
    if not isinstance(cost, Mapping) or not isinstance(cost.get("parties"), Mapping):
        return None
    table = Table("vertical-cost", ["Party", "Trees", "Training s", "Seconds per tree", "Timed part", "Seconds",
                                    "Share of training"], "lrrrlrr")
    for party, c in cost["parties"].items():
        parts = [(label, c.get(f"{key}_s"), c.get(f"{key}_share")) for key, label in COST_PARTS
                 if f"{key}_s" in c] or [(DASH, None, None)]
        for i, (label, secs, share) in enumerate(parts):
            head = [str(party), str(c.get("trees", DASH)), _secs(c.get("train_s")), _secs(c.get("seconds_per_tree"))]
            table.rows.append([*(head if i == 0 else [""] * 4), label, _secs(secs), _share(share)])
    seed = (results.get("seeds") or [results.get("seed")])[0]
    text = (f"Seed {seed}'s SecureBoost fit, timed inside FATE's launcher party processes by wrapping FATE's own "
            "methods (wall seconds; the guest's tree includes waiting for the host).",)
    return Section("SecureBoost cost", (table, Text(text)), "vertical-cost")


def _secs(value: Any) -> str:
    return f"{value:.2f}" if is_number(value) else DASH


def _share(value: Any) -> str:
    return f"{100 * value:.1f} %" if is_number(value) else DASH


def split_section(results: Mapping[str, Any]) -> Section:
    v = results.get("vertical") or {}
    split = v.get("feature_split") or {}
    guest, host = [str(c) for c in split.get("guest", [])], [str(c) for c in split.get("host", [])]
    holdings = (
        f"Guest {v.get('guest')} (label + {len(guest)} columns): {', '.join(guest)}",
        f"Host {v.get('host')} ({len(host)} columns): {', '.join(host)}",
        f"Customers: guest {v.get('guest_share')}, host {v.get('host_share')} of all, drawn by seed; "
        f"{v.get('joined_train_rows')} training and {v.get('scored_rows')} held-out customers held by both.",
    )
    details = results.get("arm_details") or {}
    phases = [f"{arm} seconds by phase: " + ", ".join(f"{k} {s:.1f}" for k, s in p.items() if is_number(s))
              for arm in PHASED_ARMS
              if isinstance(p := (details.get(arm) or {}).get("phase_seconds"), Mapping) and p]
    parts = (Text(holdings, bullets=True), *([Text(tuple(phases), bullets=True)] if phases else []))
    return Section("Who holds what", parts, "vertical-holdings")
