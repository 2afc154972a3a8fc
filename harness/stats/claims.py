"""The study's claims, each with a verdict decided by a stated rule from the paired comparisons.

Claims are made on one metric, the scenario's (harness/stats/plan.py; accuracy with a 0.02 margin for
the deep-learning scenarios), AUC by default (the primary endpoint: threshold-free, and the one the
study's figures compare); the other metrics appear in the comparisons table without verdicts, so the
claims are not picked from many tests after the fact.

Decision rules (``d`` = the paired differences over seeds, ``[low, high]`` their 95% t-interval,
``m`` the non-inferiority margin, 0.01 AUC by default):

- Non-inferiority, "A is not worse than B by more than m" (federated vs centralised; the most
  balanced split vs the least balanced one in the sweep):
  *shown* when ``low > −m`` and the one-sided signed-rank test of ``d + m > 0`` has p < 0.025;
  *refuted* when ``high < −m`` and the one-sided test of ``d + m < 0`` has p < 0.025;
  otherwise *not shown at this sample size*. A two-sided 95% interval above −m is the one-sided
  2.5% test CONSORT uses for non-inferiority; the signed-rank test must agree so that a verdict
  does not rest on the normality of 10 differences alone.
- Superiority, "A is better than B" (federated vs each local-only party): *shown* when ``low > 0``
  and the two-sided signed-rank p < 0.05; *refuted* when ``high < 0`` and p < 0.05; otherwise not
  shown. "Better than each party" is shown only when it is shown for every party (an
  intersection-union test: no multiplicity correction is needed for "all"), refuted when it is
  refuted for at least one party, otherwise not shown.
- Against a baseline arm the plan names (the TF-IDF arm of the text scenarios), "federated has a
  higher metric than the baseline": superiority as above, for that one arm.
- Equivalence, "A and B differ by less than m either way" (a scenario's planned claim, e.g. SecureBoost
  vs the same trees trained centralised: its "lossless" claim): *shown* when ``-m < low`` and
  ``high < m`` and both one-sided signed-rank tests (``d + m > 0``, ``d - m < 0``) have p < 0.025 (two
  one-sided tests, each at the level of the non-inferiority rule); *refuted* when the whole interval lies
  outside ``[-m, m]`` (``high < -m`` or ``low > m``) and the one-sided test on that side agrees;
  otherwise *not shown at this sample size*.
- Fewer than 2 paired seeds: no interval, so *not shown at this sample size*. Fewer than 6
  non-zero differences: the signed-rank test cannot reach its level, so nothing can be *shown*
  or *refuted* (the evidence says so).

Why m = 0.01 AUC: redrawing the seed moves the centralised AUC of the bundled sample by about ±0.02
(issue 11), and 0.01 is about 1.4% of its AUC of 0.73, a loss a lender would still call equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from harness.arm_names import CENTRALIZED, FEDERATED, LOCAL_PREFIX
from harness.stats.intervals import is_number
from harness.stats.paired import ALPHA, Comparison, signed_rank

SHOWN = "shown"
NOT_SHOWN = "not shown at this sample size"
REFUTED = "refuted"
MARGIN = 0.01
CLAIM_METRIC = "auc"
# The kinds of claim a scenario's plan may state (PlannedClaim).
EQUIVALENCE = "equivalence"
SUPERIORITY_KIND = "superiority"
CLAIM_KINDS = (EQUIVALENCE, SUPERIORITY_KIND)


class Claim(TypedDict):
    claim: str
    verdict: str
    rule: str
    summary: str
    evidence: list[dict[str, Any]]


def _evidence(c: Comparison, verdict: str, why: str, **extra: Any) -> dict[str, Any]:
    keys = ("a", "b", "metric", "n", "n_nonzero", "mean_diff", "low", "high", "p_value", "p_method")
    return {**{k: c.get(k) for k in keys}, **extra, "verdict": verdict, "why": why}


def _fmt(x: Any) -> str:
    return f"{x:+.4f}" if is_number(x) else "n/a"


def _interval_text(c: Comparison) -> str:
    return f"mean {_fmt(c.get('mean_diff'))}, 95% interval [{_fmt(c.get('low'))}, {_fmt(c.get('high'))}]"


def _too_few(c: Comparison) -> str | None:
    if not c.get("n"):
        return "no seed in which both arms have this metric (see the excluded seeds)"
    if not (is_number(c.get("low")) and is_number(c.get("high"))):
        return f"{c.get('n', 0)} paired seed(s): no interval"
    return None


def _undecidable(c: Comparison, **extra: Any) -> dict[str, Any] | None:
    """The "not shown" verdict when ``c`` has too few seeds for an interval, else None."""
    few = _too_few(c)
    return _evidence(c, NOT_SHOWN, few, **extra) if few else None


def non_inferiority(c: Comparison, margin: float = MARGIN, alpha: float = ALPHA) -> dict[str, Any]:
    """The verdict on "a is not worse than b by more than ``margin``" (rule in the module doc)."""
    if (undecided := _undecidable(c, margin=margin)) is not None:
        return undecided
    low, high = float(c["low"]), float(c["high"])  # type: ignore[arg-type]
    if low > -margin or high < -margin:
        direction = "greater" if low > -margin else "less"
        test = signed_rank([d + margin for d in c.get("diffs", [])], direction)
        p = test["p_value"]
        verdict = SHOWN if direction == "greater" else REFUTED
        side = "above" if direction == "greater" else "below"
        why = f"{_interval_text(c)} lies entirely {side} -{margin:g}"
        if p is None or p >= alpha / 2:
            verdict = NOT_SHOWN
            why += (f", but the one-sided signed-rank test of d + {margin:g} has p = "
                    f"{'n/a' if p is None else f'{p:.4g}'} ≥ {alpha / 2:g}"
                    + (f" ({'; '.join(test['notes'])})" if test["notes"] else ""))
        else:
            why += f"; one-sided signed-rank p = {p:.4g} < {alpha / 2:g}"
        return _evidence(c, verdict, why, margin=margin, p_non_inferiority=p)
    return _evidence(c, NOT_SHOWN, f"{_interval_text(c)} contains -{margin:g}", margin=margin)


def superiority(c: Comparison, alpha: float = ALPHA) -> dict[str, Any]:
    """The verdict on "a is better than b" (rule in the module doc)."""
    if (undecided := _undecidable(c)) is not None:
        return undecided
    low, high, p = float(c["low"]), float(c["high"]), c.get("p_value")  # type: ignore[arg-type]
    if low <= 0 <= high:
        return _evidence(c, NOT_SHOWN, f"{_interval_text(c)} contains 0")
    verdict, side = (SHOWN, "above") if low > 0 else (REFUTED, "below")
    why = f"{_interval_text(c)} lies entirely {side} 0"
    if not is_number(p) or p >= alpha:
        why += (f", but the two-sided signed-rank p = {'n/a' if p is None else f'{p:.4g}'} ≥ {alpha:g}"
                + (f" ({c['note']})" if c.get("note") else ""))
        return _evidence(c, NOT_SHOWN, why)
    return _evidence(c, verdict, why + f"; signed-rank p = {p:.4g} < {alpha:g}")


def equivalence(c: Comparison, margin: float = MARGIN, alpha: float = ALPHA) -> dict[str, Any]:
    """The verdict on "a and b differ by less than ``margin`` either way" (rule in the module doc)."""
    if (undecided := _undecidable(c, margin=margin)) is not None:
        return undecided
    low, high = float(c["low"]), float(c["high"])  # type: ignore[arg-type]
    diffs = c.get("diffs", [])
    if -margin < low and high < margin:
        p = max(_p_or_one(signed_rank([d + margin for d in diffs], "greater")),
                _p_or_one(signed_rank([d - margin for d in diffs], "less")))
        why = f"{_interval_text(c)} lies entirely within ±{margin:g}"
        if p >= alpha / 2:
            return _evidence(c, NOT_SHOWN, why + f", but the larger of the two one-sided signed-rank p is "
                             f"{p:.4g} ≥ {alpha / 2:g}", margin=margin, p_equivalence=p)
        return _evidence(c, SHOWN, why + f"; both one-sided signed-rank p ≤ {p:.4g} < {alpha / 2:g}",
                         margin=margin, p_equivalence=p)
    if high < -margin or low > margin:
        shift, direction = (margin, "less") if high < -margin else (-margin, "greater")
        p = _p_or_one(signed_rank([d + shift for d in diffs], direction))
        why = f"{_interval_text(c)} lies entirely outside ±{margin:g}"
        verdict = REFUTED if p < alpha / 2 else NOT_SHOWN
        return _evidence(c, verdict, why + f"; one-sided signed-rank p = {p:.4g}", margin=margin, p_equivalence=p)
    return _evidence(c, NOT_SHOWN, f"{_interval_text(c)} reaches past ±{margin:g}", margin=margin)


def _p_or_one(test: Mapping[str, Any]) -> float:
    p = test.get("p_value")
    return float(p) if is_number(p) else 1.0


def _all_of(verdicts: Sequence[str]) -> str:
    if not verdicts:
        return NOT_SHOWN
    if REFUTED in verdicts:
        return REFUTED
    return SHOWN if all(v == SHOWN for v in verdicts) else NOT_SHOWN


NON_INFERIORITY_RULE = ("shown if the 95% interval of the paired differences lies above -{m} and the one-sided "
                        "signed-rank test of d + {m} > 0 has p < 0.025; refuted if it lies below -{m} (and "
                        "that test agrees); otherwise not shown")
SUPERIORITY_RULE = ("for every local-only party: shown if the 95% interval of the paired differences lies above 0 "
                    "and the two-sided signed-rank p < 0.05, refuted if below 0 (p < 0.05); the claim is shown "
                    "if shown for every party, refuted if refuted for any")
BASELINE_RULE = ("federated against each baseline arm: shown if the 95% interval of the paired differences lies "
                 "above 0 and the two-sided signed-rank p < 0.05, refuted if below 0 (p < 0.05); otherwise not shown")


EQUIVALENCE_RULE = ("shown if the 95% interval of the paired differences lies within ±{m} and both one-sided "
                    "signed-rank tests (d + {m} > 0, d - {m} < 0) have p < 0.025; refuted if it lies entirely "
                    "outside ±{m} (and the one-sided test on that side agrees); otherwise not shown")
PLANNED_SUPERIORITY_RULE = ("shown if the 95% interval of the paired differences lies above 0 and the two-sided "
                            "signed-rank p < 0.05, refuted if below 0 (p < 0.05); otherwise not shown")


@dataclass(frozen=True)
class PlannedClaim:
    """A claim a scenario states up front (in its :class:`harness.stats.plan.StatsPlan`): ``a`` - ``b`` on the
    plan's claim metric, decided by ``kind``'s rule (equivalence within the plan's margin, or superiority: the
    interval excludes zero); ``text`` is the claim."""

    kind: str
    a: str
    b: str
    text: str

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim kind {self.kind!r} is not one of {CLAIM_KINDS}")


def planned_claims(comparisons: Sequence[Comparison], specs: Sequence[PlannedClaim], margin: float = MARGIN,
                   metric: str = CLAIM_METRIC) -> list[Claim]:
    """The claims a scenario's plan states, each decided on the comparison ``a`` - ``b`` on ``metric``."""
    out: list[Claim] = []
    for spec in specs:
        c = next((c for c in comparisons if (c.get("a"), c.get("b"), c.get("metric")) == (spec.a, spec.b, metric)),
                 None)
        if spec.kind == EQUIVALENCE:
            rule, ev = EQUIVALENCE_RULE.format(m=f"{margin:g}"), [equivalence(c, margin)] if c else []
        else:
            rule, ev = PLANNED_SUPERIORITY_RULE, [superiority(c)] if c else []
        out.append(_claim(spec.text, _all_of([e["verdict"] for e in ev]), rule, ev,
                          f"no {spec.a} / {spec.b} pair to compare"))
    return out


def study_claims(comparisons: Sequence[Comparison], sweep_pair: Comparison | None = None,
                 margin: float = MARGIN, metric: str = CLAIM_METRIC, baselines: Sequence[str] = ()) -> list[Claim]:
    """The claims with verdicts, from the comparisons on ``metric`` (federated − centralized,
    federated − local:<party>, federated − each of ``baselines``) and, when the sweep ran, most
    balanced − least balanced split."""
    on_metric = [c for c in comparisons if c.get("metric") == metric and c.get("a") == FEDERATED]
    name = metric.upper() if len(metric) <= 3 else metric
    claims: list[Claim] = []
    cen = next((c for c in on_metric if c.get("b") == CENTRALIZED), None)
    rule = NON_INFERIORITY_RULE.format(m=f"{margin:g}")
    ev = [non_inferiority(cen, margin)] if cen else []
    claims.append(_claim(f"Federated is not worse than centralised by more than {margin:g} {name}",
                         _all_of([e["verdict"] for e in ev]), rule, ev, "no centralised arm to compare with"))
    local = [superiority(c) for c in on_metric if str(c.get("b", "")).startswith(LOCAL_PREFIX)]
    claims.append(_claim(f"Federated has a higher {name} than each local-only party",
                         _all_of([e["verdict"] for e in local]), SUPERIORITY_RULE, local,
                         "no local-only arm to compare with"))
    for base in baselines:
        ev = [superiority(c) for c in on_metric if c.get("b") == base]
        claims.append(_claim(f"Federated has a higher {name} than the baseline {base}",
                             _all_of([e["verdict"] for e in ev]), BASELINE_RULE, ev, f"no {base} arm to compare with"))
    if sweep_pair is not None:
        ev = [non_inferiority(sweep_pair, margin)]
        most, least = (str(sweep_pair[k]).rpartition(" ")[2] for k in ("a", "b"))
        claims.append(_claim(f"The most balanced split ({most}) is not worse than the least balanced ({least}) "
                             f"by more than {margin:g} {name}", ev[0]["verdict"], rule, ev, ""))
    return claims


def _claim(text: str, verdict: str, rule: str, evidence: list[dict[str, Any]], if_empty: str) -> Claim:
    summary = "; ".join(_short(e) for e in evidence) if evidence else if_empty
    return {"claim": text, "verdict": verdict, "rule": rule, "summary": summary, "evidence": evidence}


def _short(e: Mapping[str, Any]) -> str:
    p = e.get("p_non_inferiority", e.get("p_equivalence", e.get("p_value")))
    return (f"{e['a']} - {e['b']} {_fmt(e.get('mean_diff'))} [{_fmt(e.get('low'))}, {_fmt(e.get('high'))}], "
            f"p {'n/a' if not is_number(p) else f'{p:.3g}'}, n {e.get('n', 0)}: {e['verdict']}")


def headline(claims: Sequence[Claim]) -> list[str]:
    """One line per claim, verdict first: the top of the report."""
    return [f"{c['claim']}: {c['verdict']} ({c['summary']})" for c in claims]
