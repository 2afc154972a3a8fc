"""security.md and its PNGs from security.json's content (matplotlib's object API, no pyplot state)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from harness.report.plot_style import save_line_plot

DPI = 110
ANCHORS = (
    "FATE's multi-engine benchmark: hetero Coordinated-LR 2 min 22 s per epoch with Paillier-1024 vs 19 s without "
    "(about 87 % of the time in encryption).",
    "Secure aggregation's communication expansion 1.73x (Bonawitz et al., CCS 2017, 2^10 users).",
    "Model replacement with scale 100 reaches 100 % backdoor accuracy after one round (Bagdasaryan et al., "
    "AISTATS 2020).",
    "Exact analytic recovery of a fully connected layer's input from its gradient (Geiping et al., NeurIPS 2020).",
)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return out


def _interval(row: Mapping[str, Any], key: str) -> str:
    low, high = (row.get(f"{key}_interval") or [None, None])[:2]
    return f"{_fmt(row.get(key))} [{_fmt(low)}, {_fmt(high)}]" if low is not None else _fmt(row.get(key))


# ------------------------------------------------------------------------------------------ figures
def plot_cost_growth(cost: Sequence[Mapping[str, Any]], axis: str, path: Path) -> Path | None:
    other = "parties" if axis == "features" else "features"
    fixed = cost[0][other]  # the base point's value of the factor that is not varied
    small_key = min((c["key_bits"] for c in cost if c["key_bits"]), default=None)
    fig = Figure(figsize=(9, 3.6))
    left, right = fig.subplots(1, 2)
    drawn = False
    for protection in ("plaintext", "secure_aggregation", "paillier"):
        rows = sorted((r for r in cost if r["protection"] == protection and r[other] == fixed
                       and r["key_bits"] in (None, small_key)), key=lambda r: r[axis])
        if len(rows) < 2:
            continue
        drawn = True
        label = protection + (f" {rows[0]['key_bits']}-bit" if rows[0]["key_bits"] else "")
        left.plot([r[axis] for r in rows], [r["bytes_per_party_per_round"] for r in rows], "o-", label=label)
        right.plot([r[axis] for r in rows], [r["seconds_per_round"] for r in rows], "o-", label=label)
    if not drawn:
        return None
    for ax, what in ((left, "bytes sent per party per round"), (right, "seconds per round")):
        ax.set_xlabel(axis)
        ax.set_ylabel(what)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle(f"Cost of protection vs {axis}")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def plot_poisoning(rows: Sequence[Mapping[str, Any]], attack: str, metric: str, path: Path) -> Path | None:
    chosen = [r for r in rows if r["attack"] == attack and r.get("scale", 1) == 1]
    if not chosen:
        return None
    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for aggregator in dict.fromkeys(r["aggregator"] for r in chosen):
        line = sorted((r for r in chosen if r["aggregator"] == aggregator), key=lambda r: r["strength"])
        xs = [str(r["strength"]) for r in line]
        ys = [r[metric] if r[metric] is not None else float("nan") for r in line]
        err = [[max(0.0, y - (r[f"{metric}_interval"][0] or y)) for y, r in zip(ys, line, strict=True)],
               [max(0.0, (r[f"{metric}_interval"][1] or y) - y) for y, r in zip(ys, line, strict=True)]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=aggregator)
    return save_line_plot(fig, ax, path, xlabel=f"{attack} strength", ylabel=metric, dpi=DPI)


def plot_adversarial(rows: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    if not rows:
        return None
    fig = Figure(figsize=(6.5, 3.8))
    ax = fig.subplots()
    # The MNIST CNNs' epsilon is in pixels, not standard deviations: their own table rows and figure.
    for model in dict.fromkeys(r["model"] for r in rows if not r["model"].startswith("mnist_cnn")):
        for attack in ("fgsm", "pgd", "transfer"):
            line = sorted((r for r in rows if r["model"] == model and r["attack"] == attack),
                          key=lambda r: r["epsilon"])
            style = {"fgsm": "o-", "pgd": "x--", "transfer": "s:"}[attack]
            ax.plot([r["epsilon"] for r in line], [r["success_rate"] for r in line], style, label=f"{model} {attack}")
    return save_line_plot(fig, ax, path, xlabel="epsilon (standard deviations, L-infinity)", ylabel="success rate",
                          legend_size=7, dpi=DPI)


def plot_cnn_transfer(rows: Sequence[Mapping[str, Any]], path: Path) -> Path | None:
    """The federated and centralised MNIST CNNs: white-box vs transferred from one lender's surrogate."""
    chosen = [r for r in rows if r["model"] in ("mnist_cnn_federated", "mnist_cnn_centralized")]
    if not chosen:
        return None
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    styles = {"fgsm": "o-", "pgd": "x-", "transfer fgsm": "s:", "transfer pgd": "d:"}
    for model in dict.fromkeys(r["model"] for r in chosen):
        for attack, style in styles.items():
            line = sorted((r for r in chosen if r["model"] == model and _attack_name(r) == attack),
                          key=lambda r: r["epsilon"])
            if not line:
                continue
            ys = [r["success_rate"] for r in line]
            err = [[max(0.0, y - (r["success_rate_interval"][0] if r["success_rate_interval"][0] is not None
                                  else y)) for y, r in zip(ys, line, strict=True)],
                   [max(0.0, (r["success_rate_interval"][1] if r["success_rate_interval"][1] is not None
                              else y) - y) for y, r in zip(ys, line, strict=True)]]
            ax.errorbar([r["epsilon"] for r in line], ys, yerr=err, fmt=style, capsize=3,
                        label=f"{model.removeprefix('mnist_cnn_')} {attack}")
    return save_line_plot(fig, ax, path, xlabel="epsilon (pixels in [0, 1], L-infinity)", ylabel="success rate",
                          legend_size=7, dpi=DPI)


def _attack_name(row: Mapping[str, Any]) -> str:
    return f"{row['attack']} {row['crafted']}" if row.get("crafted") else row["attack"]


def cnn_transfer_text(info: Mapping[str, Any]) -> list[str]:
    seeds = info["models"]
    mean = {k: sum(m[k] for m in seeds) / len(seeds) for k in ("federated", "centralized", "surrogate")}
    return [f"MNIST CNNs (`mnist_cnn_federated` / `mnist_cnn_centralized`, the mnist-cnn scenario's model, data "
            f"and {info['epochs']} rounds): the federated CNN trained by FATE HomoNN on **{info['federated_engine']}** "
            f"(its parameters predict what FATE's guest predicted on "
            f"{min(m['same_predictions_as_fate'] for m in seeds):.1%} of the test digits), the centralised one "
            f"in-process; the surrogate by party {seeds[0]['surrogate_party']} on its own partition only "
            f"({seeds[0]['surrogate_rows']:,} digits). Mean test accuracy over {len(seeds)} seeds: federated "
            f"{mean['federated']:.3f}, centralised {mean['centralized']:.3f}, surrogate {mean['surrogate']:.3f}. "
            "`transfer (fgsm|pgd)`: crafted on the surrogate, success against the target.", ""]


# ------------------------------------------------------------------------------------------ markdown
def render(results: Mapping[str, Any], out_dir: Path) -> list[Path]:
    figures: list[Path] = []
    lines = [f"# Security and cost study ({results['run_id']})", "",
             f"Data: {results['data']['input']} (sha256 {results['data']['sha256'][:12]}), "
             f"{results['data']['features']} features, parties {results['data']['parties']}, "
             f"test rows {results['data']['test_rows']}; seeds {results['config']['seeds']}. "
             f"Timings (s): {results['timings_s']}.", ""]
    if "cost" in results:
        lines += cost_section(results, out_dir, figures)
    if "leakage" in results:
        lines += leakage_section(results["leakage"])
    if "poisoning" in results:
        lines += ["## Poisoning (one of three parties attacks; mean [95 % t-interval] over seeds)", ""]
        lines += ["| attack | strength | update scale | aggregator | AUC | specificity | backdoor success |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['attack']} | {r['strength']:g} | {r.get('scale', 1):g} | {r['aggregator']} | "
                  f"{_interval(r, 'auc')} | "
                  f"{_interval(r, 'specificity')} | {_interval(r, 'backdoor_success')} |" for r in results["poisoning"]]
        for attack, metric in (("scaling", "auc"), ("label_flip", "auc"), ("backdoor", "backdoor_success")):
            figure = plot_poisoning(results["poisoning"], attack, metric, out_dir / f"poisoning_{attack}.png")
            if figure:
                figures.append(figure)
                lines += ["", f"![{attack}]({figure.name})"]
        lines.append("")
    if "adversarial" in results:
        lines += ["## Adversarial examples (success rate, mean [95 % t-interval] over seeds)", "",
                  "Lending Club: epsilon in standard deviations of the scaled features. `mnist_cnn`: epsilon in "
                  "pixels (0-1), one seed, accuracy "
                  f"{results.get('mnist_cnn', {}).get('accuracy', float('nan')):.3f} on 500 held-out digits.", ""]
        lines += ["| model | attack | epsilon | success rate |", "|---|---|---|---|"]
        lines += [f"| {r['model']} | {_attack_name(r)} | {r['epsilon']:g} | {_interval(r, 'success_rate')} |"
                  for r in results["adversarial"]]
        figure = plot_adversarial(results["adversarial"], out_dir / "adversarial.png")
        if figure:
            figures.append(figure)
            lines += ["", f"![adversarial]({figure.name})", ""]
        if "mnist_cnn_transfer" in results:
            lines += ["", *cnn_transfer_text(results["mnist_cnn_transfer"])]
            figure = plot_cnn_transfer(results["adversarial"], out_dir / "adversarial_mnist_cnn.png")
            if figure:
                figures.append(figure)
                lines += [f"![adversarial mnist cnn]({figure.name})", ""]
    lines += ["## Published anchors", "", *(f"- {a}" for a in ANCHORS),
              "", "docs/security-study.md compares them with these numbers and gives each study's threat model.", ""]
    (out_dir / "security.md").write_text("\n".join(lines))
    return figures


def cost_section(results: Mapping[str, Any], out_dir: Path, figures: list[Path]) -> list[str]:
    cols = ["protection", "key_bits", "features", "parties", "seconds_per_round", "encrypt_s", "aggregate_s",
            "decrypt_s", "transfer_s", "bytes_per_party_per_round", "min_bytes_per_party_per_round", "ratio_to_min"]
    lines = ["## Cost of protection (per round, bytes counted from FATE's serialized messages)", "",
             *_table(results["cost"], cols), ""]
    for c in results.get("ciphertext", []):
        lines.append(f"- Paillier {c['key_bits']}-bit: minimum {c['minimum_bytes_per_value']} B per value; FATE's "
                     f"CiphertextVector serializes to {c['serialized_bytes_per_value']} B per value "
                     f"({'hex text' if c['serialized_is_hex_text'] else 'binary'}), pickled "
                     f"{c['pickled_bytes_per_value']} B (a list of one small int per byte: 2 B each).")
    check = results.get("fate_homolr")
    if check:
        lines.append(f"- FATE's own HomoLR through the launcher ({check['features']} features, {check['parties']} "
                     f"parties, {check['rounds']} rounds): {check['bytes_per_party_per_round']:,} B per data party "
                     f"per round; the replay's coefficients differ from FATE's by at most "
                     f"{check['replay_max_abs_coef_diff']:.2e}.")
    for axis in ("features", "parties"):
        figure = plot_cost_growth(results["cost"], axis, out_dir / f"cost_{axis}.png")
        if figure:
            figures.append(figure)
            lines += ["", f"![cost vs {axis}]({figure.name})"]
    return [*lines, ""]


def leakage_section(leak: Mapping[str, Any]) -> list[str]:
    s, a, f = leak["single_record"], leak["aggregated"], leak["fate22_rmsprop_update"]
    lines = ["## Privacy leakage", "", f"Update: {leak['update']}. Party {leak['party']}.", "",
             f"- Single record: {s['exact']}/{s['records']} records recovered to relative error < 1e-4 "
             f"(max {s['max_rel_error']:.1e}).",
             f"- Aggregate of {a['parties']} parties (what secure aggregation / Paillier leave the arbiter): "
             f"{a['exact']}/{a['records']} recovered; smallest relative error {a['min_rel_error']:.2f}.",
             f"- FATE 2.2's own shared weights after one RMSprop epoch: {f['exact']}/{f['records']} exact, "
             f"median relative error {f['median_rel_error']:.2f}, feature signs right {f['sign_agreement']:.1%}.",
             "", *_table(leak["batches"], ["batch_size", "batches", "rel_error_to_batch_mean",
                                           "rel_error_to_nearest_record", "records_recovered_share",
                                           "label_share_abs_error"]), "",
             "First record, original vs recovered (first 8 features):", "",
             *_table(s["example"][:8], ["feature", "original", "recovered"]), ""]
    images = leak.get("images") or []
    if images:
        lines += ["MNIST, Inverting Gradients on one update of a small CNN (PSNR in dB, originals top):", ""]
        for row in images:
            psnrs = ", ".join(f"{v:.1f}" for v in row["psnr"])
            lines += [f"- batch {row['batch_size']} ({row['steps']} Adam steps): mean {row['mean_psnr']:.1f} dB "
                      f"({psnrs})", "", f"![batch {row['batch_size']}]({row['grid']})" if row.get("grid") else "", ""]
    elif leak.get("images_note"):
        lines += [f"MNIST reconstruction: {leak['images_note']}.", ""]
    return lines
