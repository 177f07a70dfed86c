"""The Pareto report of a multi-objective sweep (``nasbench-report DIR --pareto``).

Every run recorded its front over simulated time (``objectives`` set, see
:mod:`nasbench.search.multiobjective`): the report puts the table's true front
next to each strategy's front (its median run by final hypervolume), draws the
hypervolume over simulated time (mean and standard error over seeds) and tests
the final hypervolume regret (true front's hypervolume minus the run's, both by
ground truth: test accuracy, mean over seeds) with the statistics of the
single-objective report (Wilcoxon signed-rank + Holm, Friedman + Nemenyi).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import provenance_line, report_provenance, runs_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import (
    Collection,
    ReportError,
    check_one_budget,
    constraint_text,
    mean_se_over_runs,
    read_results,
    regret_on_grid,
    run_labels,
)
from nasbench.report.comparison import (
    average_ranks, budget_text, critical_difference, early_stops_markdown, effects_csv,
    effects_markdown, failed_markdown, findings, paired_final, pairwise_wilcoxon, per_seed, plain_log, plot_effects, plot_ranks,
    runs_text, statistics_markdown, strategy_styles, time_grid,
)
from nasbench.report.effects import anytime_times, detectable_difference, effect_sizes, power_line
from nasbench.search.multiobjective import COST_REFERENCE, OBJECTIVES, TRUTH, non_dominated

BASELINE = "mo_random"
_AXIS = {
    "valid_accuracy": ("test accuracy (%)", 100.0),
    "params": ("parameters", 1.0),
    "flops": ("multiply-accumulates per sample", 1.0),
    "latency": ("latency, batch 1 (ms)", 1000.0),
}


@dataclass
class ParetoCollection:
    runs: pd.DataFrame  # one row per run: label, seed, final hypervolume and regret, front size
    trajectory: pd.DataFrame  # one row per evaluation: label, seed, time, hypervolume_test, hv_regret, front_size
    fronts: dict[tuple[str, int], np.ndarray]  # each run's final front, ground-truth values (n, m)
    objectives: list[str]
    reference: dict[str, float]
    optimum_hypervolume: float
    true_front: list[dict[str, Any]]
    constraints: str
    failed: list[str] = field(default_factory=list)
    budget: dict = field(default_factory=dict)  # the budget every run shared: seconds, max_evals, evaluations
    provenance: dict = field(default_factory=dict)  # the runs' code commits, library versions and benchmarks


def collect_pareto(directory: str | Path, only: list[Path] | None = None) -> ParetoCollection:
    """Read a multi-objective sweep; runs must share objectives, reference point, constraints and benchmark."""
    directory = Path(directory)
    results, failed = read_results(directory, only)
    first_path, first = results[0]
    for path, data in results:
        if not data.get("objectives"):
            raise ReportError(
                f"{path.parent} is not a multi-objective run (no objectives): report it without --pareto, "
                "or run the sweep with objectives=[valid_accuracy,params]"
            )
        if data["objectives"] != first["objectives"]:
            raise ReportError(
                f"runs under {directory} optimised different objectives ({first['objectives']} in {first_path.parent}, "
                f"{data['objectives']} in {path.parent}); report one setting at a time"
            )
        if constraint_text(data) != constraint_text(first):
            raise ReportError(
                f"runs under {directory} used different constraints ({constraint_text(first)}; {constraint_text(data)}); "
                "report one constraint setting at a time"
            )
        same_reference = all(
            np.isclose(data["hypervolume_reference"][k], v, rtol=1e-9) for k, v in first["hypervolume_reference"].items()
        )
        if not same_reference or not np.isclose(data["optimum_hypervolume"], first["optimum_hypervolume"], rtol=1e-9):
            raise ReportError(
                f"runs under {directory} used benchmarks with different true fronts (hypervolume "
                f"{first['optimum_hypervolume']:.6f} vs {data['optimum_hypervolume']:.6f}); report one benchmark at a time"
            )
    budget = check_one_budget(results, directory)
    optimum = float(first["optimum_hypervolume"])
    run_rows, traj_rows, fronts = [], [], {}
    for (path, data), label in zip(results, run_labels([data for _, data in results])):
        seed = int(data["seed"])
        final = data.get("final") or {}
        run_rows.append(
            {
                "label": label,
                "strategy": data["strategy"],
                "seed": seed,
                "num_evals": data.get("num_evals", 0),
                "duplicates_skipped": data.get("num_duplicates_skipped", 0),
                "infeasible_skipped": data.get("num_infeasible_skipped", 0),
                "simulated_time": data.get("simulated_time", np.nan),
                "budget_seconds": (data.get("budget") or {}).get("seconds", np.nan),
                "stop_reason": data.get("stop_reason", "budget"),
                "max_consecutive_duplicates": data.get("max_consecutive_duplicates"),
                "final_hv": final.get("hypervolume_test", 0.0),
                "final_hv_observed": final.get("hypervolume", 0.0),
                "final_hv_regret": final.get("hv_regret", optimum),
                "front_size": final.get("front_size", 0),
                "path": str(path.parent),
            }
        )
        fronts[(label, seed)] = np.array([m["truth"] for m in data.get("front", [])], dtype=float).reshape(
            -1, len(first["objectives"])
        )
        for row in data["trajectory"]:
            traj_rows.append(
                {
                    "label": label,
                    "seed": seed,
                    "time": row["time"],
                    "n_evals": row["n_evals"],
                    "front_size": row["front_size"],
                    "hypervolume": row["hypervolume"],
                    "hypervolume_test": row["hypervolume_test"],
                    "hv_regret": row["hv_regret"],
                }
            )
    runs = pd.DataFrame(run_rows).sort_values(["label", "seed"], kind="stable").reset_index(drop=True)
    duplicated = runs.duplicated(["label", "seed"])
    if duplicated.any():
        dup = runs[duplicated].iloc[0]
        raise ReportError(f"two runs of {dup['label']} with seed {dup['seed']} under {directory}; report one sweep at a time")
    columns = ["label", "seed", "time", "n_evals", "front_size", "hypervolume", "hypervolume_test", "hv_regret"]
    return ParetoCollection(
        runs=runs,
        trajectory=pd.DataFrame(traj_rows, columns=columns).sort_values(["label", "seed"], kind="stable").reset_index(drop=True),
        fronts=fronts,
        objectives=list(first["objectives"]),
        reference=dict(first["hypervolume_reference"]),
        optimum_hypervolume=optimum,
        true_front=list(first.get("true_front", [])),
        constraints=constraint_text(first),
        failed=failed,
        budget=budget,
        provenance=runs_provenance([data for _, data in results]),
    )


def on_grid(collection: ParetoCollection, column: str, grid: np.ndarray) -> pd.DataFrame:
    """``column`` of every run at each time of ``grid`` (its value then; NaN before the first evaluation)."""
    view = Collection(runs=collection.runs, trajectory=collection.trajectory.assign(regret=collection.trajectory[column]))
    return regret_on_grid(view, grid)


def median_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per strategy, the run with the median final hypervolume (the lower middle one for an even count)."""
    rows = []
    for _, group in runs.groupby("label", sort=True):
        ordered = group.sort_values(["final_hv", "seed"], kind="stable")
        rows.append(ordered.iloc[(len(ordered) - 1) // 2])
    return pd.DataFrame(rows).reset_index(drop=True)


def final_table(runs: pd.DataFrame) -> pd.DataFrame:
    grouped = runs.groupby("label")
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "hv_mean": grouped["final_hv"].mean(),
            "hv_se": grouped["final_hv"].sem(ddof=1),
            "hv_regret_mean": grouped["final_hv_regret"].mean(),
            "hv_regret_std": grouped["final_hv_regret"].std(ddof=1),
            "hv_regret_se": grouped["final_hv_regret"].sem(ddof=1),
            "hv_regret_best": grouped["final_hv_regret"].min(),
            "front_size_mean": grouped["front_size"].mean(),
            "evals_mean": grouped["num_evals"].mean(),
            "infeasible_skipped_mean": grouped["infeasible_skipped"].mean(),
        }
    )
    return table.sort_values("hv_regret_mean")


# ---------------------------------------------------------------------- figures
def _minimise(objective: str, values: np.ndarray) -> np.ndarray:
    return -values if OBJECTIVES[objective] == "maximise" else values


def _shown(objective: str, values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float) * _AXIS[objective][1]


def plot_fronts(collection: ParetoCollection, medians: pd.DataFrame, path: Path) -> None:
    """True front next to each strategy's median-run front, one panel per pair of objectives."""
    plt = pyplot()
    objectives = collection.objectives
    # accuracy on the y axis of every panel that has it
    pairs = [(b, a) if a in TRUTH else (a, b) for a, b in combinations(objectives, 2)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(6.5 * len(pairs), 5), dpi=120, squeeze=False)
    truth = np.array([p["truth"] for p in collection.true_front], dtype=float).reshape(-1, len(objectives))
    styles = strategy_styles(medians["label"])  # the same colour per strategy as the hypervolume plot
    for ax, (x, y) in zip(axes[0], pairs):
        i, j = objectives.index(x), objectives.index(y)
        if len(truth):
            order = np.argsort(truth[:, i], kind="stable")
            kw = dict(drawstyle="steps-post", ls="-") if len(objectives) == 2 else dict(ls="none")
            ax.plot(_shown(x, truth[order, i]), _shown(y, truth[order, j]), color="k", marker="s", ms=8, mfc="none", lw=1.2,
                    label="true front", zorder=1, **kw)
        for _, run in medians.iterrows():
            front = collection.fronts.get((run["label"], int(run["seed"])), np.empty((0, len(objectives))))
            if not len(front):
                continue
            # chosen by observed valid accuracy, a member can be dominated by ground truth: drawn hollow
            best = non_dominated(np.column_stack([_minimise(objectives[k], front[:, k]) for k in range(len(objectives))]))
            kept = front[best][np.argsort(front[best][:, i], kind="stable")]
            style = styles[run["label"]]
            line = ax.plot(_shown(x, kept[:, i]), _shown(y, kept[:, j]), marker="^" if style["ls"] != "-" else "o", ms=4,
                           lw=1, alpha=0.85, color=style["color"], ls=style["ls"] if len(objectives) == 2 else "none",
                           drawstyle="steps-post" if len(objectives) == 2 else "default",
                           label=f"{run['label']} (seed {int(run['seed'])})")[0]
            if (~best).any():
                ax.plot(_shown(x, front[~best, i]), _shown(y, front[~best, j]), ls="none", marker="o", ms=5,
                        mfc="none", color=line.get_color(), alpha=0.85)
        ax.set_xlabel(_AXIS[x][0])
        ax.set_ylabel(_AXIS[y][0])
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(
        "Pareto fronts by ground truth\n(median run of each strategy by final hypervolume; "
        "hollow: members dominated by ground truth)", fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, path)


def plot_hypervolume(grid_frame: pd.DataFrame, grid: np.ndarray, optimum: float, path: Path, title: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    styles = strategy_styles(grid_frame.index.get_level_values("label").unique())
    for label, frame in grid_frame.groupby(level="label"):
        mean, se, ok = mean_se_over_runs(frame)
        se = np.where(np.isfinite(se), se, 0.0)
        line = ax.plot(grid[ok], mean[ok], label=label, lw=1.8, **styles[label])[0]
        ax.fill_between(grid[ok], (mean - se)[ok], (mean + se)[ok], color=line.get_color(), alpha=0.2)
    ax.axhline(optimum, color="k", ls="--", lw=1, label=f"true front {optimum:.4f}")
    ax.set_xscale("log")
    plain_log(ax.xaxis)
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("hypervolume of the front, by ground truth")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_final_hv(runs: pd.DataFrame, order: list[str], optimum: float, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    ax.boxplot([runs.loc[runs["label"] == l, "final_hv"].to_numpy() for l in order], showmeans=True)
    ax.set_xticks(range(1, len(order) + 1), order, rotation=20, ha="right")
    ax.axhline(optimum, color="k", ls="--", lw=1, label=f"true front {optimum:.4f}")
    ax.legend(fontsize=8)
    ax.set_ylabel("final hypervolume, by ground truth")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


# ---------------------------------------------------------------------- the report
def write_pareto_report(
    directory: str | Path, out_dir: str | Path, title: str = "Multi-objective comparison", only: list[Path] | None = None
) -> Path:
    """Aggregate the multi-objective sweep in ``directory`` (or the runs ``only`` lists) into ``out_dir``."""
    collection = collect_pareto(directory, only)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = collection.runs
    optimum = collection.optimum_hypervolume
    grid = time_grid(Collection(runs=runs, trajectory=collection.trajectory))
    hv_grid = on_grid(collection, "hypervolume_test", grid)
    regret_grid = on_grid(collection, "hv_regret", grid)
    table = final_table(runs)
    tests = pairwise_wilcoxon(per_seed(runs, "final_hv_regret"))
    medians = median_runs(runs)
    times, anytime_how = anytime_times(collection.trajectory, float(np.nanmax(runs["budget_seconds"].to_numpy(dtype=float))))
    anytime = None if times is None else on_grid(collection, "hv_regret", times).mean(axis=1)
    effects = effect_sizes(runs, "final_hv_regret", BASELINE, anytime)
    power = detectable_difference(runs, "final_hv_regret")
    several = len(table) > 1

    plot_fronts(collection, medians, out / "fronts.png")
    plot_hypervolume(hv_grid, grid, optimum, out / "hypervolume.png", title)
    (out / "ranks.png").unlink(missing_ok=True)  # an earlier report's figure in this folder must not stand in for this one
    if several:
        plot_ranks(average_ranks(regret_grid), grid, out / "ranks.png")
    plot_final_hv(runs, list(table.index), optimum, out / "final_hypervolume.png")
    plot_effects(effects, BASELINE, out / "effects.png", "hypervolume regret", 1.0, "normalised hypervolume")
    cd = critical_difference(paired_final(runs, "final_hv"), out / "critical_difference.png")

    objectives = collection.objectives
    true_front = pd.DataFrame(
        [{"index": p["index"], "arch_str": p["arch_str"], **dict(zip(_truth_names(objectives), p["truth"]))} for p in collection.true_front]
    )
    median_fronts = []
    for _, run in medians.iterrows():
        for values in collection.fronts[(run["label"], int(run["seed"]))]:
            median_fronts.append({"label": run["label"], "seed": int(run["seed"]), **dict(zip(_truth_names(objectives), values))})
    trajectory = collection.trajectory
    changed = trajectory.groupby(["label", "seed"])["hypervolume_test"].transform(lambda s: s.ne(s.shift()))
    last = ~trajectory.duplicated(["label", "seed"], keep="last")
    write_text(out / "runs.csv", runs.drop(columns=["path"]).to_csv(index=False))
    write_text(out / "hypervolume_trajectory.csv", trajectory[changed | last].to_csv(index=False))
    write_text(out / "final.csv", table.to_csv())
    write_text(out / "wilcoxon_holm.csv", tests.to_csv(index=False))
    write_text(out / "effects.csv", effects_csv(effects, 1.0).to_csv())
    write_text(out / "true_front.csv", true_front.to_csv(index=False))
    write_text(out / "median_fronts.csv", pd.DataFrame(median_fronts).to_csv(index=False))
    summary = {
        "source": str(directory),
        "objectives": objectives,
        "directions": {o: OBJECTIVES[o] for o in objectives},
        "constraints": collection.constraints,
        "hypervolume_reference": collection.reference,
        "optimum_hypervolume": optimum,
        "true_front_size": len(collection.true_front),
        "budget": collection.budget,
        "final": json.loads(table.to_json(orient="index")),
        "effects": json.loads(effects_csv(effects, 1.0).to_json(orient="index")),
        "anytime": anytime_how,
        "power": power,
        "median_runs": {r["label"]: int(r["seed"]) for _, r in medians.iterrows()},
        "friedman_nemenyi": cd,
        "failed_runs": collection.failed,
        "findings": findings(table, tests, BASELINE, "hv_regret_mean", "mean final hypervolume regret", 1.0, "", effects),
        "provenance": report_provenance(**collection.provenance),
    }
    write_json(out / "summary.json", summary)

    directions = ", ".join(f"{o} ({'max' if OBJECTIVES[o] == 'maximise' else 'min'}imised)" for o in objectives)
    reference = ", ".join(f"{o} {collection.reference[o]:.6g}" for o in objectives)
    shown_front = true_front.head(30).copy()
    if len(shown_front):
        shown_front["arch_str"] = [f"`{s}`".replace("|", "\\|") for s in shown_front["arch_str"]]
    more = len(true_front) - len(shown_front)
    lines = [
        f"# {title}",
        "",
        f"Source: `{Path(directory).name}` ({runs_text(runs)}). Budget: {budget_text(collection.budget)}. "
        f"Objectives: {directions}. Constraints: {collection.constraints}.",
        "",
        "Each run's front is the non-dominated set of its evaluations by the valid accuracy it observed; it is "
        "scored by **ground truth**: valid accuracy replaced by the table's mean final test accuracy over seeds, "
        "costs as they are. Hypervolume is computed on normalised objectives (1 - accuracy, cost / largest cost "
        f"of the space) with a fixed reference point: accuracy 0 and {COST_REFERENCE} x the largest cost "
        f"(raw: {reference}). The true front holds the table's feasible trained architectures; its hypervolume "
        f"is {optimum:.4f}, and hypervolume regret = that minus a run's.",
        "",
        "## Findings",
        "",
        *[f"- {line}" for line in summary["findings"]],
        "",
        power_line(power, "final hypervolume regret", 1.0, "", len(tests)),
        "",
        "## Effect sizes",
        "",
        effects_markdown(effects, BASELINE, "hypervolume regret", 1.0, "", 4),
        "",
        "Each interval is a 95% bootstrap interval (BCa, 10,000 resamples) over the strategy's runs; `n/a` where a "
        "strategy has fewer than two. An interval is for one comparison on its own: unlike the Holm-corrected tests "
        f"below, it is not widened for the number of strategies compared. Differences to `{BASELINE}` and shares of its regret closed are over the seeds "
        f"both ran. The anytime hypervolume regret is the normalised area under a run's curve on log time: {anytime_how}.",
        "",
        "![effect sizes](effects.png)",
        "",
        "## Pareto fronts",
        "",
        "The true front next to each strategy's median run by final hypervolume (the lower middle run for an even "
        "number of seeds).",
        "",
        "![fronts](fronts.png)",
        "",
        "The true front (ground truth; one architecture per point: where several tie exactly, such as isomorphic "
        "cells with the same parameters, the lowest index stands for them):",
        "",
        markdown_table(shown_front, ".4g") if len(shown_front) else "(empty)",
        "",
        *([f"({more} more in `true_front.csv`.)", ""] if more > 0 else []),
        "## Hypervolume over simulated time (mean +- standard error over seeds)",
        "",
        "![hypervolume](hypervolume.png)",
        "",
        "## Average rank over time (by hypervolume regret)",
        "",
        "![ranks](ranks.png)" if several else "Left out: ranks compare two or more strategies; this sweep has one.",
        "",
        "## Final hypervolume",
        "",
        markdown_table(table.reset_index().rename(columns={"label": "strategy"}), ".4f"),
        "",
        "![final hypervolume](final_hypervolume.png)",
        "",
        *statistics_markdown(tests, cd, tested="hypervolume regret", ranked="hypervolume",
                             unit="hypervolume of normalised objectives, as in the tables above"),
        *early_stops_markdown(runs, holds="front"),
        *failed_markdown(collection),
        "",
        "Tables: `effects.csv`, `final.csv`, `wilcoxon_holm.csv`, `runs.csv`, `true_front.csv`, `median_fronts.csv`, "
        "`hypervolume_trajectory.csv` (every change of a run's hypervolume); all numbers in `summary.json`.",
        "",
        provenance_line(summary["provenance"]),
        "",
    ]
    write_text(out / "README.md", "\n".join(lines))
    return out


def _truth_names(objectives: list[str]) -> list[str]:
    return [TRUTH.get(o, o) for o in objectives]


__all__ = ["write_pareto_report", "collect_pareto", "ParetoCollection"]
