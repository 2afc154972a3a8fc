"""From the per-seed results of a multi-seed study to the blocks results.json gains (issue 11 item 3).

Input: one mapping per seed, each shaped like today's results.json (``seed``, ``arms``
``{arm: metrics}``, ``sweep`` ``[{"ratio", "parties", "federated": metrics}]``, ``parties``).
What is summarised, compared and claimed is the scenario's :class:`harness.stats.plan.StatsPlan`
(Lending Club's binary plan by default); of its metrics, those no arm records in any seed are left out,
the way the report picks its columns, so that a plan never fills the output with absent metrics.
Output keys:

- ``seeds``: every seed given, in order.
- ``excluded_seeds``: ``{"seed", "arm", ["split",] ["metric",] "reason"}`` for every seed that does not
  count towards a number: the arm failed (its metrics carry an ``error``, e.g. a partition that left a
  party with one class), is missing, or a metric is missing/NaN. Nothing is averaged silently; every
  number says on how many seeds (``n``) it rests.
- ``intervals``: ``{arm: {metric: {"mean", "std", "low", "high", "n"}}}`` (95% t-interval over seeds).
- ``comparisons``: paired differences federated − centralized, federated − local:<party> and every arm −
  each baseline arm of the plan on its ``compare_metrics``, and in the sweep every split − the least
  balanced split on the claim metric (``a``/``b`` name the split as "federated 50/50").
- ``sweep_intervals``: ``[{"ratio", "split", "parties", "federated": {metric: interval}}]``.
- ``seed_values``: ``{arm: {metric: [value per seed, None where excluded]}}``, the numbers behind it all.
- ``claims`` and ``headline``: the verdicts (harness/stats/claims.py) and one line per claim.
- ``stats_method``: confidence, margin, tests and rules, so the report can state them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from harness.arm_names import CENTRALIZED, FEDERATED, LOCAL_PREFIX
from harness.stats import claims as cl
from harness.stats.intervals import CONFIDENCE, Interval, finite_values, is_number, t_interval
from harness.stats.paired import ALPHA, Comparison, compare
from harness.stats.plan import BINARY_PLAN, StatsPlan

#: Lending Club's metrics with intervals and paired comparisons (the default plan's).
METRICS: tuple[str, ...] = BINARY_PLAN.metrics
COMPARE_METRICS: tuple[str, ...] = BINARY_PLAN.compare_metrics

Values = dict[str, dict[str, list[float | None]]]


def aggregate(per_seed: Sequence[Mapping[str, Any]], *, plan: StatsPlan = BINARY_PLAN,
              confidence: float = CONFIDENCE) -> dict[str, Any]:
    """The multi-seed blocks of results.json (see the module doc). Raises ValueError on no seeds or
    on seeds that are not distinct integers: that is a bug in the caller, not a study outcome."""
    seeds = _seeds(per_seed)
    margin, claim_metric = plan.margin, plan.claim_metric
    metrics = recorded_metrics(per_seed, plan.metrics)
    excluded: list[dict[str, Any]] = []
    arms = _arm_names([r.get("arms") or {} for r in per_seed])
    values = {arm: _collect(seeds, [(r.get("arms") or {}).get(arm, _absent(r)) for r in per_seed],
                            metrics, {"arm": arm}, excluded) for arm in arms}
    intervals = {arm: _intervals(v, confidence) for arm, v in values.items()}
    comparisons = [_compare(a, b, m, seeds, values[a][m], values[b][m], confidence)
                   for a, b in _pairs(arms, plan.baselines, plan.pairs) for m in plan.compare_metrics if m in metrics]
    sweep, sweep_values = _sweep(per_seed, seeds, metrics, confidence, excluded)
    sweep_cmp = _sweep_comparisons(sweep, sweep_values, seeds, claim_metric, confidence)
    baselines = [b for b in plan.baselines if b in values]
    if plan.claims:
        claims = cl.planned_claims(comparisons, plan.claims, margin, claim_metric)
    else:
        claims = cl.study_claims(comparisons, sweep_cmp[-1] if sweep_cmp else None, margin, claim_metric, baselines)
    return {
        "seeds": seeds,
        "excluded_seeds": excluded,
        "intervals": intervals,
        "comparisons": comparisons + sweep_cmp,
        "sweep_intervals": sweep,
        "seed_values": values,
        "claims": claims,
        "headline": cl.headline(claims),
        "stats_method": _method(margin, claim_metric, confidence, baselines, plan),
    }


def recorded_metrics(per_seed: Sequence[Mapping[str, Any]], metrics: Sequence[str]) -> list[str]:
    """Those of ``metrics`` that some arm (or sweep entry) of some seed records, in ``metrics``' order;
    all of them when none records any (every arm failed: the output still says so per metric)."""
    blocks = [m for r in per_seed for m in (r.get("arms") or {}).values()]
    blocks += [m for r in per_seed for e in (r.get("sweep") or []) if isinstance(e, Mapping) for m in e.values()]
    found = [k for k in metrics if any(isinstance(m, Mapping) and "error" not in m and k in m for m in blocks)]
    return found or list(metrics)


def _pairs(arms: Sequence[str], baselines: Sequence[str],
           planned: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Federated against centralised and each local-only arm, then every such arm against each baseline,
    then the plan's own pairs (the vertical study's arms have names of their own)."""
    pairs = [(FEDERATED, b) for b in arms if b == CENTRALIZED or b.startswith(LOCAL_PREFIX)]
    main = [a for a in arms if a in (FEDERATED, CENTRALIZED) or a.startswith(LOCAL_PREFIX)]
    pairs += [(a, b) for b in baselines if b in arms for a in main]
    pairs += [(a, b) for a, b in planned if b in arms and (a, b) not in pairs]
    return [(a, b) for a, b in pairs if a in arms]


def _seeds(per_seed: Sequence[Mapping[str, Any]]) -> list[int]:
    if not per_seed:
        raise ValueError("aggregate needs the results of at least one seed")
    seeds = [r.get("seed") for r in per_seed]
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool)]
    if bad:
        raise ValueError(f"every per-seed result needs an integer 'seed', got {bad!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}: a repeated seed would be counted twice")
    return [int(s) for s in seeds]  # type: ignore[arg-type]


def _absent(run: Mapping[str, Any]) -> dict[str, str]:
    """What a seed has for an arm it does not report: the run's own error, if it recorded one."""
    return {"error": str(run["error"]) if run.get("error") else "arm missing from this seed's results"}


def _arm_names(arm_maps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every arm seen in any seed: federated, centralized, local-only in first-seen order, the rest."""
    seen = list(dict.fromkeys(str(a) for arms in arm_maps for a in arms))

    def rank(arm: str) -> int:
        return 0 if arm == FEDERATED else 1 if arm == CENTRALIZED else 2 if arm.startswith(LOCAL_PREFIX) else 3

    return sorted(seen, key=rank)


def _collect(seeds: Sequence[int], per_seed_metrics: Sequence[Any], metrics: Sequence[str],
             where: dict[str, Any], excluded: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """Values per metric aligned with ``seeds`` (None where excluded); exclusions appended with why."""
    out: dict[str, list[float | None]] = {m: [] for m in metrics}
    for seed, m in zip(seeds, per_seed_metrics, strict=True):
        if not isinstance(m, Mapping) or "error" in m:
            reason = str(m["error"]) if isinstance(m, Mapping) else f"no metrics recorded (got {m!r})"
            excluded.append({"seed": seed, **where, "reason": reason})
            for k in metrics:
                out[k].append(None)
            continue
        for k in metrics:
            v = m.get(k)
            ok = is_number(v) and math.isfinite(float(v))
            out[k].append(float(v) if ok else None)
            if not ok:
                excluded.append({"seed": seed, **where, "metric": k,
                                 "reason": f"{k} is {'missing' if v is None else repr(v)}, not a number"})
    return out


def _intervals(values: Mapping[str, Sequence[float | None]], confidence: float) -> dict[str, Interval]:
    return {k: t_interval(finite_values(v), confidence) for k, v in values.items()}


def _compare(a: str, b: str, metric: str, seeds: Sequence[int], va: Sequence[float | None],
             vb: Sequence[float | None], confidence: float) -> Comparison:
    pairs = [(s, x, y) for s, x, y in zip(seeds, va, vb, strict=True) if x is not None and y is not None]
    return compare(a, b, metric, pairs, confidence)


def _ratio_key(ratio: Any) -> tuple[float, ...]:
    return tuple(round(float(r), 9) for r in ratio) if isinstance(ratio, list | tuple) else ()


def split_name(ratio: Sequence[float]) -> str:
    """(0.1, 0.9) -> '10/90'."""
    return "/".join(f"{100 * r:.4g}" for r in ratio)


def _sweep_arms(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    # The sweep entry's metric blocks; fate_metrics, bytes and job ids are not arms.
    return _arm_names([{k: None for k in e if k in (FEDERATED, CENTRALIZED) or str(k).startswith(LOCAL_PREFIX)}
                       for e in entries])


def _sweep(per_seed: Sequence[Mapping[str, Any]], seeds: Sequence[int], metrics: Sequence[str],
           confidence: float, excluded: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Values]]:
    """Per split ratio (matched across seeds by value), intervals per arm; also the values behind them."""
    by_seed = [{_ratio_key(e.get("ratio")): e for e in (r.get("sweep") or []) if isinstance(e, Mapping)}
               for r in per_seed]
    ratios = list(dict.fromkeys(k for entries in by_seed for k in entries if k))
    out: list[dict[str, Any]] = []
    all_values: list[Values] = []
    for ratio in ratios:
        present = [entries[ratio] for entries in by_seed if ratio in entries]
        parties = next((list(e["parties"]) for e in present if e.get("parties")), [])
        row: dict[str, Any] = {"ratio": list(ratio), "split": split_name(ratio), "parties": parties}
        values: Values = {}
        for arm in _sweep_arms(present):
            got = [entries[ratio].get(arm, _absent(run)) if ratio in entries
                   else {"error": str(run.get("error") or "this split is missing from this seed's sweep")}
                   for entries, run in zip(by_seed, per_seed, strict=True)]
            values[arm] = _collect(seeds, got, metrics, {"arm": arm, "split": row["split"]}, excluded)
            row[arm] = _intervals(values[arm], confidence)
        out.append(row)
        all_values.append(values)
    return out, all_values


def _sweep_comparisons(sweep: Sequence[Mapping[str, Any]], values: Sequence[Values], seeds: Sequence[int],
                       metric: str, confidence: float) -> list[Comparison]:
    """Federated at every split − federated at the least balanced split, on ``metric``; the most
    balanced split's comparison comes last (the claim uses it)."""
    usable = [i for i, (row, v) in enumerate(zip(sweep, values, strict=True))
              if FEDERATED in v and metric in v[FEDERATED] and row["ratio"]]
    if len(usable) < 2:
        return []
    balance = {i: min(sweep[i]["ratio"]) / max(sweep[i]["ratio"]) if max(sweep[i]["ratio"]) else 0.0
               for i in usable}
    least = min(usable, key=lambda i: balance[i])
    others = sorted((i for i in usable if i != least), key=lambda i: balance[i])
    ref = values[least][FEDERATED][metric]
    return [_compare(f"{FEDERATED} {sweep[i]['split']}", f"{FEDERATED} {sweep[least]['split']}", metric, seeds,
                     values[i][FEDERATED][metric], ref, confidence) for i in others]


def _method(margin: float, metric: str, confidence: float, baselines: Sequence[str],
            plan: StatsPlan = BINARY_PLAN) -> dict[str, Any]:
    if plan.claims:  # the scenario's own claims: only the rules they use
        kinds = {c.kind for c in plan.claims}
        rules = {k: r for k, r in ((cl.EQUIVALENCE, cl.EQUIVALENCE_RULE.format(m=f"{margin:g}")),
                                   (cl.SUPERIORITY_KIND, cl.PLANNED_SUPERIORITY_RULE)) if k in kinds}
    else:
        rules = {"non_inferiority": cl.NON_INFERIORITY_RULE.format(m=f"{margin:g}"),
                 "superiority": cl.SUPERIORITY_RULE}
    if baselines:
        rules["baseline"] = cl.BASELINE_RULE
    return {
        "confidence": confidence,
        "interval": "Student t over seeds: mean +/- t(0.975, n-1) * sd / sqrt(n), sd with ddof = 1",
        "paired_test": ("Wilcoxon signed-rank, two-sided, on the per-seed differences; zero differences "
                        "dropped; exact (midranks for ties) up to 50 differences, normal approximation above; "
                        "fewer than 6 non-zero differences cannot reach p < 0.05"),
        "alpha": ALPHA,
        "claim_metric": metric,
        "margin": margin,
        "rules": rules,
    }
