"""Reports of one-shot search: supernet ranking quality, and the ops gradient methods drift to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import describe_benchmark, provenance_line, report_provenance, runs_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import ReportError, read_results


def _plus_minus(value: float, spread: float | None = None) -> str:
    """``0.295 +- 0.025``, or ``n/a`` for an undefined correlation."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if spread is None else f"{value:.3f} +- {spread:.3f}"


def write_ranking_report(result: dict[str, Any], out_dir: str | Path, provenance: dict[str, Any]) -> Path:
    """``ranking.csv``, ``scores.csv``, ``ranking.png``, ``metadata.json`` and ``README.md`` in ``out_dir``.

    Everything is computed before the first file is written. A correlation is
    undefined (NaN, shown as n/a) where a supernet scored every class alike.
    """
    out = Path(out_dir)
    summary: pd.DataFrame = result["summary"]
    metadata = {**provenance, "calibration": result["calibration"], "classes": result["classes"],
                "summary": json.loads(summary.to_json(orient="records"))}

    columns = ["kendall_tau_valid", "spearman_valid", "kendall_tau_test", "spearman_test", "supernet_simulated_seconds"]
    by_epoch = summary.groupby("epoch")[columns]
    mean, std = by_epoch.mean(), by_epoch.std(ddof=1).fillna(0.0)
    seeds = sorted(summary["seed"].unique())

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for metric, style in (("valid", "-o"), ("test", "--s")):
        for name in ("kendall_tau", "spearman"):
            column = f"{name}_{metric}"
            label = f"{name.replace('_', ' ').title()} vs table {metric}"
            axes[0].errorbar(mean.index, mean[column], yerr=std[column], fmt=style, capsize=3, label=label,
                             alpha=1.0 if name == "kendall_tau" else 0.6)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("supernet training epochs")
    axes[0].set_ylabel(f"rank correlation (mean +- std, {len(seeds)} supernets)")
    axes[0].axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=7)
    scores = result["scores"]
    last = scores[(scores["epoch"] == summary["epoch"].max()) & (scores["seed"] == seeds[0])]
    axes[1].scatter(100 * last["table_valid_accuracy"], 100 * last["supernet_valid_accuracy"], s=5, alpha=0.5)
    axes[1].set_xlabel("table valid accuracy (%), mean over seeds")
    axes[1].set_ylabel("supernet valid accuracy (%)")
    axes[1].set_title(f"supernet seed {seeds[0]} after {int(summary['epoch'].max())} epochs", fontsize=9)
    fig.tight_layout()

    supernet = (provenance.get("config") or {}).get("supernet") or {}
    final_epoch = int(mean.index.max())
    defined = mean["kendall_tau_valid"].dropna()
    best = (f"- Best checkpoint: {int(defined.idxmax())} epochs, Kendall tau {defined.max():.3f}." if len(defined)
            else "- No checkpoint gives a defined Kendall tau: the supernets scored every sampled class alike.")
    shown = pd.DataFrame({"epoch": mean.index.astype(int)})
    for column in columns[:4]:
        shown[column] = [_plus_minus(m, d) for m, d in zip(mean[column], std[column])]
    shown["supernet simulated s"] = [f"{v:.0f}" for v in mean["supernet_simulated_seconds"]]
    num_classes = int(summary["num_classes"].iloc[0])
    lines = [
        "# Weight-sharing ranking analysis",
        "",
        f"Single-path supernets (SPOS: one uniformly sampled op per edge per step; seeds {', '.join(map(str, seeds))}) "
        "trained on the table's own dataset and recipe. At each checkpoint every one of "
        f"{num_classes} randomly sampled trained classes (the same sample for every supernet) is scored with the inherited weights "
        f"(BN statistics re-estimated per architecture on {supernet.get('bn_batches', 4)} training batches of 256; "
        f"accuracy on the first {supernet.get('eval_samples', 1000)} valid samples) "
        "and rank-correlated with the table's mean final accuracy over seeds.",
        "",
        f"- After {final_epoch} epochs: Kendall tau {_plus_minus(mean.loc[final_epoch, 'kendall_tau_valid'], std.loc[final_epoch, 'kendall_tau_valid'])}, "
        f"Spearman {_plus_minus(mean.loc[final_epoch, 'spearman_valid'])} "
        f"against table valid accuracy (mean +- std over supernets; test: {_plus_minus(mean.loc[final_epoch, 'kendall_tau_test'])} / "
        f"{_plus_minus(mean.loc[final_epoch, 'spearman_test'])}).",
        best,
        "",
        "![ranking](ranking.png)",
        "",
        markdown_table(shown),
        "",
        f"Table: `{provenance.get('table')}` ({provenance.get('entries_done')} entries done; dataset fingerprint "
        f"`{str(provenance.get('dataset_fingerprint'))[:12]}`). Produced by `{provenance.get('command')}` at git "
        f"commit `{provenance.get('git_commit')}`; per-supernet rows in `ranking.csv`, per-class scores in "
        "`scores.csv`, all settings and the cost calibration in `metadata.json`.",
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "ranking.csv", summary.to_csv(index=False))
    write_text(out / "scores.csv", result["scores"].to_csv(index=False))
    write_json(out / "metadata.json", metadata)
    save_figure(fig, out / "ranking.png", dpi=120)
    write_text(out / "README.md", "\n".join(lines))
    return out


def op_drift(directory: str | Path, truth=None) -> pd.DataFrame:
    """Share of each option among the derived architectures' decisions, per strategy, seed and supernet epoch.

    Reads the ``result.json`` files below ``directory`` whose trajectory rows
    carry ``supernet_epoch`` (DARTS, GDAS). Columns: label, seed, epoch, op, share.
    """
    results, _ = read_results(directory, truth=truth)
    return drift_frame(results, directory)


def drift_frame(results: list[tuple[Path, dict]], directory: str | Path) -> pd.DataFrame:
    """:func:`op_drift` of results already read."""
    from nasbench.report.collect import run_labels

    rows = []
    for (_, data), label in zip(results, run_labels([data for _, data in results])):
        trajectory = [r for r in data["trajectory"] if "supernet_epoch" in r and "decisions" in r]
        if not trajectory:
            continue
        names = data["option_names"][0]
        for r in trajectory:
            counts = np.bincount(r["decisions"], minlength=len(names))
            for op, count in zip(names, counts):
                rows.append({"label": label, "seed": int(data["seed"]), "epoch": int(r["supernet_epoch"]),
                             "op": op, "share": count / len(r["decisions"]), "test_accuracy": r["test_accuracy"]})
    if not rows:
        raise ReportError(f"{directory} holds no runs of gradient one-shot strategies (darts, gdas)")
    return pd.DataFrame(rows)


def write_drift_report(directory: str | Path, out_dir: str | Path, truth=None) -> Path:
    """Figure and table of the op shares of derived cells over supernet epochs (mean over seeds)."""
    results, _ = read_results(directory, truth=truth)
    frame = drift_frame(results, directory)
    provenance = runs_provenance([data for _, data in results])
    if truth is not None:
        provenance["rescored_against"] = describe_benchmark(truth)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mean = frame.groupby(["label", "epoch", "op"], sort=True)["share"].mean().unstack("op")
    write_text(out / "op_drift.csv", frame.to_csv(index=False))
    labels = sorted(frame["label"].unique())
    plt = pyplot()
    fig, axes = plt.subplots(1, len(labels), figsize=(4.5 * len(labels), 3.6), squeeze=False)
    for ax, label in zip(axes[0], labels):
        part = mean.loc[label]
        for op in part.columns:
            ax.plot(part.index, 100 * part[op], label=op)
        seeds = frame[frame["label"] == label]["seed"].nunique()
        ax.set_title(f"{label} ({seeds} seeds)", fontsize=9)
        ax.set_xlabel("supernet epoch")
        ax.set_ylabel("share of the derived cell's edges (%)")
        ax.set_ylim(0, 100)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "op_drift.png", dpi=120)

    parameter_free = [op for op in mean.columns if op in ("skip_connect", "avg_pool_3x3", "max_pool_3x3", "skip")]
    zero = [op for op in mean.columns if op == "none"]
    lines = ["# Op drift of gradient one-shot search", "",
             f"Source: `{Path(directory).name}`. Share of each op among the edges of the cell derived (argmax per edge) "
             "after every supernet epoch, mean over seeds; the table's mean test accuracy of the derived cells.", "",
             "![op drift](op_drift.png)", ""]
    for label in labels:
        part = mean.loc[label]
        epochs = part.index.to_numpy()
        fifth = max(1, len(epochs) // 5)
        early, late = part.loc[epochs[:fifth]].mean(), part.loc[epochs[-fifth:]].mean()
        runs = frame[frame["label"] == label].drop_duplicates(["seed", "epoch"])
        first = runs[runs["epoch"].isin(epochs[:fifth])]["test_accuracy"]
        last = runs[runs["epoch"].isin(epochs[-fifth:])]["test_accuracy"]

        def truth(values: pd.Series) -> str:
            known = values.dropna()
            return "n/a" if known.empty else f"{100 * known.mean():.2f}% ({len(known)} of {len(values)} cells in the table)"

        lines.append(
            f"- **{label}** ({runs['seed'].nunique()} seeds, {len(epochs)} epochs): parameter-free ops "
            f"({', '.join(parameter_free)}) hold {100 * early[parameter_free].sum():.0f}% of the edges in the first fifth of the "
            f"epochs and {100 * late[parameter_free].sum():.0f}% in the last fifth"
            + (f"; `none` {100 * early[zero].sum():.0f}% -> {100 * late[zero].sum():.0f}%" if zero else "")
            + f". Table test accuracy of the derived cells: {truth(first)} -> {truth(last)}."
        )
    table = (100 * mean).round(1).reset_index()
    summary = {"source": str(directory), "mean_share": json.loads(mean.reset_index().to_json(orient="records")),
               "provenance": report_provenance(**provenance)}
    write_json(out / "summary.json", summary)
    lines += ["", markdown_table(table[table["epoch"].isin(sorted(set(np.linspace(table['epoch'].min(), table['epoch'].max(), 6).astype(int)) | {table['epoch'].max()}))], ".1f"), "",
              "Per run, epoch and op: `op_drift.csv`; mean shares in `summary.json`.", "", provenance_line(summary["provenance"]), ""]
    write_text(out / "README.md", "\n".join(lines))
    return out
