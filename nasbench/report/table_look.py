"""A first look at a table: distributions, costs, noise, early ranking, top cells' ops.

One row per isomorphism class (its trained representative); a partial table is
reported over the classes trained so far, and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import finite, write_json, write_text
from nasbench.provenance import describe_benchmark, provenance_line, report_provenance, sha256_file
from nasbench.report._format import pyplot, save_figure


def class_frame(bench) -> pd.DataFrame:
    """Per trained class with a finite final accuracy: final and epoch-4 accuracies (mean over seeds), seed std, costs.

    ``attrs``: ``early_epoch`` (None for a table of one epoch; the epoch before the last
    for tables of at most 4) and ``all_seeds_diverged`` (trained classes left out).
    """
    reps = np.asarray(bench.representatives)
    final = bench.to_dataframe().iloc[reps].reset_index(drop=True)
    early_epoch = min(4, bench.num_epochs - 1) or None
    early = bench.to_dataframe(epoch=early_epoch or bench.num_epochs).iloc[reps].reset_index(drop=True)
    per_seed = np.stack([bench.to_dataframe(seed=s)["valid_accuracy"].to_numpy()[reps] for s in bench.seeds], axis=1)
    frame = final[["arch_str", "class_id", "num_seeds", "valid_accuracy", "test_accuracy", "params", "flops", "latency", "train_time"]].copy()
    frame["valid_accuracy_early"] = early["valid_accuracy"].to_numpy()
    several = np.isfinite(per_seed).sum(axis=1) >= 2
    seed_std = np.full(len(reps), np.nan)
    seed_std[several] = np.nanstd(per_seed[several], axis=1, ddof=1)
    frame["seed_std_valid"] = seed_std
    trained = frame["num_seeds"] > 0
    finite = np.isfinite(frame["valid_accuracy"]) & np.isfinite(frame["test_accuracy"])
    frame = frame[trained & finite].reset_index(drop=True)
    frame.attrs.update(early_epoch=early_epoch, all_seeds_diverged=int((trained & ~finite).sum()))
    return frame


def built_by(meta: dict) -> str:
    """The code that built a table: one git commit, or how many (a build resumed across code versions)."""
    from nasbench.table.store import build_commits

    commits = build_commits(meta.get("build_history"), meta.get("git_commit"))
    if len(commits) == 1:
        return f"git commit `{commits[0]}`"
    return f"built over {len(commits)} git commits (`{str(commits[0])[:12]}` .. `{str(commits[-1])[:12]}`; see its `build_history`)"


def classes_ahead_of_order(bench) -> int:
    """Trained classes outside the longest fully trained prefix of the build's class order."""
    from nasbench.table.store import build_class_order

    trained = np.asarray(bench.done).any(axis=1)
    in_order = trained[build_class_order(bench.num_classes)]
    prefix = len(in_order) if in_order.all() else int(np.argmin(in_order))
    return int(trained.sum() - prefix)


def regenerate_command(bench, out_dir: str | Path) -> str:
    """The ``nasbench-table-report`` call that writes this report again (defaults left out)."""
    from nasbench.table.benchmark import default_table_path

    words = ["nasbench-table-report"]
    path = Path(str(bench.path))
    if path.resolve() != default_table_path().resolve():
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            pass  # outside the working directory: the path as given
        words += ["--table", str(path)]
    if Path(out_dir) != Path("reports/table"):
        words += ["--out", str(out_dir)]
    return " ".join(words)


def plot_accuracy_histogram(accuracy: np.ndarray, num_classes: int, path: Path, share: float = 0.9) -> dict[str, Any]:
    """Histogram of the classes' test accuracy (percent): zoomed on where most classes are, the full range beside it.

    The zoom spans the best ``share`` of classes (from that quantile up to the best, with a margin), so that
    the bulk near the top is not one bar of a 10-100% axis; the second panel shows every class on a log count
    axis with the zoom shaded. Returns the zoom's bounds and how many classes it holds.
    """
    plt = pyplot()
    best = float(accuracy.max())
    floor = float(np.quantile(accuracy, 1 - share))
    margin = 0.15 * max(best - floor, 0.05)
    low, high = floor - margin, best + 0.1 * margin
    inside = int(((accuracy >= low) & (accuracy <= high)).sum())
    fig, (near, whole) = plt.subplots(1, 2, figsize=(12, 4.2), dpi=120, gridspec_kw={"width_ratios": [1.6, 1]})
    near.hist(accuracy[(accuracy >= low) & (accuracy <= high)], bins=60, range=(low, high), color="tab:blue")
    near.set_xlim(low, high)
    near.set_xlabel("final test accuracy (%, mean over seeds)")
    near.set_ylabel("classes")
    near.set_title(f"Zoom: {inside:,} of {len(accuracy):,} classes ({inside / len(accuracy):.0%}) within "
                   f"{low:.2f}-{high:.2f}%", fontsize=10)
    near.grid(True, axis="y", alpha=0.3)
    whole.hist(accuracy, bins=60, color="tab:gray")
    whole.axvspan(low, high, color="tab:blue", alpha=0.25, label="zoomed range")
    whole.set_yscale("log")
    whole.set_xlabel("final test accuracy (%, mean over seeds)")
    whole.set_ylabel("classes (log scale)")
    whole.set_title(f"Full range: all {len(accuracy):,} of {num_classes:,} classes", fontsize=10)
    whole.legend(fontsize=8, loc="upper left")
    whole.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)
    return {"low": low, "high": high, "classes": inside}


def write_table_report(bench, out_dir: str | Path) -> Path:
    """Figures, a CSV of per-class numbers and a README for the table ``bench``."""
    from scipy.stats import kendalltau, pearsonr, spearmanr

    plt = pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = class_frame(bench)
    if len(frame) < 3:
        raise ValueError(f"the table has {len(frame)} trained classes; need at least 3 for a report")
    early_epoch = frame.attrs["early_epoch"]
    pct = 100.0
    early: dict[str, float] = {}
    if early_epoch is not None:
        early_valid = frame["valid_accuracy_early"]
        ok = np.isfinite(early_valid)  # a seed that diverged between the early epoch and the last
        early[f"spearman_epoch{early_epoch}_final_valid"] = float(spearmanr(early_valid[ok], frame["valid_accuracy"][ok]).statistic)
        early[f"kendall_epoch{early_epoch}_final_valid"] = float(kendalltau(early_valid[ok], frame["valid_accuracy"][ok]).statistic)
    stats: dict[str, Any] = {
        "classes_trained": int(len(frame)),
        **({"classes_all_seeds_diverged": frame.attrs["all_seeds_diverged"]} if frame.attrs["all_seeds_diverged"] else {}),
        "classes_total": int(bench.num_classes),
        "entries_done": int(bench.entries_done),
        "entries_total": int(bench.num_classes * len(bench.seeds)),
        "test_accuracy_mean": float(frame["test_accuracy"].mean()),
        "test_accuracy_std": float(frame["test_accuracy"].std(ddof=1)),
        "test_accuracy_max": float(frame["test_accuracy"].max()),
        "test_accuracy_median": float(frame["test_accuracy"].median()),
        "spearman_params_test": float(spearmanr(frame["params"], frame["test_accuracy"]).statistic),
        "spearman_flops_test": float(spearmanr(frame["flops"], frame["test_accuracy"]).statistic),
        **early,
        "pearson_valid_test": float(pearsonr(frame["valid_accuracy"], frame["test_accuracy"]).statistic),
        "spearman_valid_test": float(spearmanr(frame["valid_accuracy"], frame["test_accuracy"]).statistic),
    }
    # How flat is the top? The best quarter's spread next to the binomial standard error of one accuracy
    # measured on the valid split: when they are close, rankings among good cells are mostly noise.
    top_quarter = frame[frame["valid_accuracy"] >= frame["valid_accuracy"].quantile(0.75)]
    stats["top_quarter_valid_width"] = float(top_quarter["valid_accuracy"].max() - top_quarter["valid_accuracy"].min())
    if len(top_quarter) >= 3:
        stats["spearman_valid_test_top_quarter"] = float(
            spearmanr(top_quarter["valid_accuracy"], top_quarter["test_accuracy"]).statistic)
    n_valid = (bench.metadata.get("dataset") or {}).get("n_valid")
    if n_valid:
        median = float(frame["valid_accuracy"].median())
        stats["valid_binomial_se_at_median"] = float(np.sqrt(median * (1 - median) / n_valid))
    noisy = frame.dropna(subset=["seed_std_valid"])
    if len(noisy) >= 3:
        stats["seed_std_valid_mean"] = float(noisy["seed_std_valid"].mean())
        stats["classes_with_several_seeds"] = int(len(noisy))

    zoom = plot_accuracy_histogram(pct * frame["test_accuracy"].to_numpy(), bench.num_classes, out / "test_accuracy_hist.png")
    stats["histogram_zoom_percent"] = [round(zoom["low"], 4), round(zoom["high"], 4)]
    stats["histogram_zoom_classes"] = zoom["classes"]

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=120, sharey=True)
    for ax, cost, unit in zip(axes, ("params", "flops"), ("parameters", "multiply-accumulates per sample")):
        ax.scatter(frame[cost], pct * frame["test_accuracy"], s=4, alpha=0.4)
        ax.set_xscale("log")
        ax.set_xlabel(f"{cost} ({unit}, log scale)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("final test accuracy (%)")
    fig.tight_layout()
    save_figure(fig, out / "accuracy_vs_costs.png")

    if len(noisy) >= 3:
        fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
        ax.scatter(pct * noisy["valid_accuracy"], pct * noisy["seed_std_valid"], s=5, alpha=0.5)
        ax.set_xlabel("final valid accuracy (%, mean over seeds)")
        ax.set_ylabel("std over seeds (percentage points)")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        save_figure(fig, out / "seed_noise.png")

    fig, axes = plt.subplots(1, 2 if early_epoch else 1, figsize=(11 if early_epoch else 5.5, 4), dpi=120, squeeze=False)
    axes = axes[0]
    if early_epoch:
        axes[0].scatter(pct * frame["valid_accuracy_early"], pct * frame["valid_accuracy"], s=4, alpha=0.4)
        axes[0].set_xlabel(f"valid accuracy at epoch {early_epoch} (%)")
        axes[0].set_ylabel(f"valid accuracy at epoch {bench.num_epochs} (%)")
        axes[0].set_title(f"Spearman {stats[f'spearman_epoch{early_epoch}_final_valid']:.3f}")
    axes[-1].scatter(pct * frame["valid_accuracy"], pct * frame["test_accuracy"], s=4, alpha=0.4)
    axes[-1].set_xlabel("final valid accuracy (%)")
    axes[-1].set_ylabel("final test accuracy (%)")
    axes[-1].set_title(f"Spearman {stats['spearman_valid_test']:.3f}")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out / "early_and_valid_test.png")

    space = bench.space
    decisions = space.all_decisions[frame["class_id"].map(dict(enumerate(bench.representatives))).to_numpy()]
    top = frame["test_accuracy"] >= frame["test_accuracy"].quantile(0.95)
    names = space.option_names(0)
    overall = np.array([(decisions == k).mean() for k in range(len(names))])
    among_top = np.array([(decisions[top.to_numpy()] == k).mean() for k in range(len(names))])
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    x = np.arange(len(names))
    ax.bar(x - 0.2, overall, 0.4, label="all trained classes")
    ax.bar(x + 0.2, among_top, 0.4, label="top 5% by test accuracy")
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_ylabel("share of edges")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "top_ops.png")
    stats["top5_op_share"] = dict(zip(names, np.round(among_top, 4).tolist()))
    stats["all_op_share"] = dict(zip(names, np.round(overall, 4).tolist()))

    write_text(out / "classes.csv", frame.to_csv(index=False))
    if not bench.complete:
        stats["classes_trained_ahead_of_order"] = classes_ahead_of_order(bench)
    stats = finite(stats)  # strict JSON
    source = Path(str(bench.path)) if bench.path is not None else None
    provenance = report_provenance(table={**describe_benchmark(bench),
                                          "sha256": sha256_file(source) if source and source.is_file() else None})
    write_json(out / "summary.json", {**stats, "provenance": provenance}, sort_keys=False, allow_nan=False)
    meta = bench.metadata
    ahead = stats.get("classes_trained_ahead_of_order", 0)
    partial = "" if bench.complete else (
        f"\n**Partial table**: {stats['entries_done']} of {stats['entries_total']} (class, seed) entries are trained; "
        "the numbers below cover the classes trained so far (a uniform sample: the build trains classes in a "
        "fixed random order"
        + (f"; not part of that sample: {ahead} classes trained ahead of the order on request (`priority_file`)" if ahead else "")
        + ").\n"
    )
    lines = [
        "# A first look at the table",
        "",
        f"Table: `{Path(str(bench.path)).name}`, {built_by(meta)}, seeds {list(bench.seeds)}, "
        f"{bench.num_epochs} epochs. Regenerate with `{regenerate_command(bench, out_dir)}`.",
        partial,
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | n/a |" if v is None else f"| {k} | {json.dumps(v) if isinstance(v, dict) else v} |" for k, v in stats.items()],
        "",
        "`top_quarter_valid_width` is the range of final valid accuracy among the best quarter of classes, "
        "`spearman_valid_test_top_quarter` how well their valid accuracy ranks their test accuracy, and "
        "`valid_binomial_se_at_median` the standard error of one accuracy measured on the valid split at the "
        "median accuracy (sqrt(p(1-p)/n)): when the top's width is a few such errors, rankings among good "
        "cells are mostly evaluation and seed noise, and no strategy can beat another there by much.",
        "",
        "![test accuracy histogram](test_accuracy_hist.png)",
        "",
        "![accuracy vs params and FLOPs](accuracy_vs_costs.png)",
        "",
        *(["![seed noise](seed_noise.png)", ""] if len(noisy) >= 3 else ["(Seed noise needs classes with several seeds.)", ""]),
        "![early vs final and valid vs test](early_and_valid_test.png)",
        "",
        "![ops among the top 5%](top_ops.png)",
        "",
        provenance_line(provenance),
        "",
    ]
    write_text(out / "README.md", "\n".join(lines))
    return out
