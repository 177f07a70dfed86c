"""Trajectory fidelity: the same comparison run on a table and on a surrogate of it, side by side.

A surrogate benchmark is trustworthy for comparing strategies when it ranks them
as the table does. For each strategy this report puts the mean regret over
simulated time on the table next to the one on the surrogate (each against its
own optimum), gives the Kendall tau and Spearman correlation of the strategies'
final mean regrets (scipy.stats), the same tau at every time of the grid, and,
when a truth table is given, the true (table) regret of the incumbents the
surrogate runs chose.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import describe_benchmark, provenance_line, report_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import ReportError, collect, mean_se_over_runs, regret_on_grid
from nasbench.report.comparison import plural


def _mean_se(grid_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per strategy and grid time: mean and standard error of regret over seeds (NaN before half the runs have an incumbent)."""
    means, ses = {}, {}
    for label, frame in grid_frame.groupby(level="label"):
        mean, se, enough = mean_se_over_runs(frame)
        means[label], ses[label] = np.where(enough, mean, np.nan), np.where(enough, se, np.nan)
    columns = grid_frame.columns
    return pd.DataFrame(means, index=columns).T, pd.DataFrame(ses, index=columns).T


def rank_agreement(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """Kendall tau and Spearman between two per-strategy series (same index; NaN pairs dropped)."""
    from scipy.stats import kendalltau, spearmanr

    both = pd.concat([a, b], axis=1).dropna()
    if len(both) < 3:
        return {"n": len(both), "kendall_tau": float("nan"), "spearman": float("nan")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input gives NaN, reported as such
        tau = float(kendalltau(both.iloc[:, 0], both.iloc[:, 1]).statistic)
        rho = float(spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic)
    return {"n": len(both), "kendall_tau": tau, "spearman": rho}


def plot_overlays(grid: np.ndarray, table: tuple, surrogate: tuple, labels: list[str], path: Path) -> None:
    """One panel per strategy: regret on the table (solid) and on the surrogate (dashed), mean +- SE."""
    plt = pyplot()
    cols = min(4, len(labels))
    rows = int(np.ceil(len(labels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows), dpi=110, sharex=True, sharey=True, squeeze=False)
    for ax, label in zip(axes.ravel(), labels):
        for (mean, se), style, name in ((table, "-", "table"), (surrogate, "--", "surrogate")):
            if label not in mean.index:
                continue
            m, s = 100 * mean.loc[label].to_numpy(float), 100 * se.loc[label].to_numpy(float)
            line = ax.plot(grid, m, style, lw=1.6, label=name)[0]
            ax.fill_between(grid, m - s, m + s, color=line.get_color(), alpha=0.2)
        ax.set_xscale("log")
        ax.set_title(label, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes.ravel()[len(labels):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=8)
    fig.supxlabel("simulated training time (s, log scale)")
    fig.supylabel("regret of test accuracy (points)")
    fig.tight_layout()
    save_figure(fig, path)


def plot_tau(grid: np.ndarray, tau: np.ndarray, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=120)
    ax.plot(grid, tau, lw=1.8)
    ax.set_xscale("log")
    ax.set_ylim(-1.05, 1.05)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("Kendall tau of mean regrets")
    ax.set_title("Do table and surrogate rank the strategies alike?")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def write_fidelity_report(
    table_dir: str | Path,
    surrogate_dir: str | Path,
    out_dir: str | Path,
    title: str = "Trajectory fidelity: table vs surrogate",
    truth=None,
    points: int = 60,
    check_kinds: bool = False,
) -> Path:
    """Compare the sweep in ``table_dir`` (runs on a table) with ``surrogate_dir`` (the same sweep on a surrogate).

    ``truth``: a table :class:`~nasbench.table.Benchmark`; when given, the incumbents of
    the surrogate runs are also scored against it (``true_regret``).
    Writes ``fidelity.csv``, ``tau_over_time.csv``, ``overlays.png``, ``tau.png``,
    ``summary.json`` and ``README.md`` into ``out_dir``.
    ``check_kinds`` (the command sets it): refuse unless ``table_dir`` holds runs on a table and
    ``surrogate_dir`` runs on a surrogate; off, two table sweeps can be compared to check the method.
    """
    if Path(table_dir).resolve() == Path(surrogate_dir).resolve():
        raise ReportError(f"--fidelity was given the table sweep itself ({surrogate_dir}); give the same sweep run with benchmark=surrogate")
    on_table, on_surrogate = collect(table_dir), collect(surrogate_dir)
    labels = sorted(set(on_table.runs["label"]) & set(on_surrogate.runs["label"]))
    if len(labels) < 2:
        raise ReportError(
            f"{table_dir} and {surrogate_dir} share {plural(len(labels), 'strategy', 'strategies')} ({', '.join(labels) or 'none'}); "
            "run the same sweep on both benchmarks"
        )
    for column, what in (("space_signature", "search spaces"), ("dataset_fingerprint", "datasets")):
        values = {str(v) for c in (on_table, on_surrogate) for v in c.runs[column].dropna()}
        if len(values) > 1:
            raise ReportError(
                f"{table_dir} and {surrogate_dir} hold runs on different {what} ({', '.join(sorted(v[:12] for v in values))}); "
                "compare a sweep on a table with the same sweep on a surrogate fitted to it"
            )
    budgets = {float(b) for c in (on_table, on_surrogate) for b in c.runs["budget_seconds"].dropna()}
    if len(budgets) > 1:
        raise ReportError(f"the two sweeps used different budgets ({', '.join(f'{b:g} s' for b in sorted(budgets))}); use one budget")
    caps = {str(c.budget.get("max_evals")).replace("None", "none") for c in (on_table, on_surrogate)}
    if len(caps) > 1:
        raise ReportError(f"the two sweeps used different budgets (budget.max_evals: {', '.join(sorted(caps))}); use one budget")
    if check_kinds:
        for folder, collection, kind in ((table_dir, on_table, "table"), (surrogate_dir, on_surrogate, "surrogate")):
            if collection.benchmark_kinds != [kind]:
                raise ReportError(
                    f"{folder} holds runs on benchmark kind {', '.join(collection.benchmark_kinds)}, not {kind}: "
                    "--fidelity compares a sweep on a table (DIR) with the same sweep run with benchmark=surrogate (SURROGATE_DIR)"
                )
    end = budgets.pop() if budgets else float(on_table.trajectory["time"].max())
    start = max(1e-3, float(min(c.trajectory["time"].min() for c in (on_table, on_surrogate))))
    grid = np.geomspace(start, max(end, start * 1.0001), points)
    table_curves = _mean_se(regret_on_grid(on_table, grid))
    surrogate_curves = _mean_se(regret_on_grid(on_surrogate, grid))

    def final(collection):
        grouped = collection.runs[collection.runs["label"].isin(labels)].groupby("label")["final_regret"]
        return grouped.mean(), grouped.sem(ddof=1), grouped.size()

    (t_mean, t_se, t_n), (s_mean, s_se, s_n) = final(on_table), final(on_surrogate)
    frame = pd.DataFrame(
        {
            "runs_table": t_n, "regret_table": t_mean, "se_table": t_se,
            "runs_surrogate": s_n, "regret_surrogate": s_mean, "se_surrogate": s_se,
        }
    ).loc[labels]
    frame["rank_table"] = frame["regret_table"].rank()
    frame["rank_surrogate"] = frame["regret_surrogate"].rank()
    if truth is not None:
        truth_runs = collect(surrogate_dir, truth=truth).runs
        frame["true_regret_of_surrogate_incumbents"] = truth_runs.groupby("label")["final_regret"].mean().reindex(labels)
    frame = frame.sort_values("regret_table")
    agreement = rank_agreement(frame["regret_table"], frame["regret_surrogate"])
    tau_time = np.array([
        rank_agreement(table_curves[0][t].reindex(labels), surrogate_curves[0][t].reindex(labels))["kendall_tau"]
        for t in grid
    ])

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_overlays(grid, table_curves, surrogate_curves, list(frame.index), out / "overlays.png")
    plot_tau(grid, tau_time, out / "tau.png")
    write_text(out / "fidelity.csv", frame.to_csv())
    write_text(out / "tau_over_time.csv", pd.DataFrame({"time": grid, "kendall_tau": tau_time}).to_csv(index=False))
    summary = {
        "table_runs": str(table_dir),
        "surrogate_runs": str(surrogate_dir),
        "budget_seconds": end,
        "strategies": labels,
        "final_rank_agreement": agreement,
        "final_regret_span_table": float(np.ptp(frame["regret_table"])),
        "final_regret_mean_se_table": float(frame["se_table"].mean()),
        "optimum_table": float(on_table.runs["optimum_test"].dropna().iloc[0]),
        "optimum_surrogate": float(on_surrogate.runs["optimum_test"].dropna().iloc[0]),
        "final": json.loads(frame.to_json(orient="index")),
        "failed_runs": on_table.failed + on_surrogate.failed,
        "provenance": report_provenance(
            **{key: sorted({*on_table.provenance[key], *on_surrogate.provenance[key]})
               for key in ("run_git_commits", "run_code_sha256s")},
            table_runs=on_table.provenance, surrogate_runs=on_surrogate.provenance,
            **({"rescored_against": describe_benchmark(truth)} if truth is not None else {}),
        ),
    }
    write_json(out / "summary.json", summary)

    shown = frame.reset_index().rename(columns={"index": "strategy", "label": "strategy"})
    for col in shown.columns:
        if col.startswith(("regret", "se_", "true_regret")):
            shown[col] = 100 * shown[col]
    lines = [
        f"# {title}",
        "",
        f"Table runs: `{Path(table_dir).name}`; surrogate runs: `{Path(surrogate_dir).name}`; "
        f"{len(labels)} strategies, budget {end:,.0f} simulated seconds. Each regret is against its own "
        f"benchmark's optimum (table {100 * summary['optimum_table']:.2f}%, surrogate "
        f"{100 * summary['optimum_surrogate']:.2f}% test accuracy); numbers are percentage points.",
        "",
        "## Rank agreement of the strategies",
        "",
        f"Final mean regret, table vs surrogate, over {agreement['n']} strategies"
        + (" (a strategy with and without skipping duplicates counts as two)" if any("+dedup" in label for label in labels) else "")
        + ": "
        f"**Kendall tau {agreement['kendall_tau']:.3f}**, Spearman {agreement['spearman']:.3f}. "
        f"On the table the strategies' final mean regrets span {100 * np.ptp(frame['regret_table']):.3f} points, "
        f"against a mean standard error of {100 * frame['se_table'].mean():.3f} points: where the span is not "
        "well above the standard error, the table itself does not separate the strategies and no surrogate "
        "can be expected to reproduce their order. The tau over time below shows at which budgets the two "
        "benchmarks order the strategies alike.",
        "",
        "![Kendall tau over time](tau.png)",
        "",
        "## Final regret per strategy",
        "",
        markdown_table(shown, ".3f"),
        "",
        *(["`true_regret_of_surrogate_incumbents`: the architectures the surrogate runs ended with, "
           f"scored on the table `{Path(str(truth.path)).name}`.", ""] if truth is not None else []),
        "## Regret curves (solid: table, dashed: surrogate; mean +- standard error)",
        "",
        "![overlays](overlays.png)",
        "",
    ]
    failed = summary["failed_runs"]
    if failed:
        lines += ["## Failed or missing runs", "", *[f"- `{f}`" for f in failed], ""]
    lines += ["Tables: `fidelity.csv`, `tau_over_time.csv`; all numbers in `summary.json`.", "", provenance_line(summary["provenance"]), ""]
    write_text(out / "README.md", "\n".join(lines))
    return out


__all__ = ["write_fidelity_report", "rank_agreement"]
