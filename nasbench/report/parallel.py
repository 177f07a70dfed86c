"""The parallel part of a comparison: regret against wall-clock time by worker count, and speed-ups.

A sweep whose runs had simulated parallel workers (``nasbench-compare workers=[1,4,16]``)
shares one wall-clock budget. For each strategy (its label without the worker count) this
draws the mean anytime regret of every worker count against wall-clock time, and measures
the **time to a regret**: the wall-clock time at which the strategy's mean regret over seeds
first falls to the target (read on a grid of 2,000 log-spaced times, 0.5% apart; a single
run's regret goes up as well as down, since its incumbent is picked by a noisy valid
accuracy, so the mean over seeds is what is timed). The **speed-up** of N workers is the
fewest workers' time over N workers' time, with a 95% percentile bootstrap interval over
the seeds (resampled together for both worker counts: runs with the same seed share their
first random draws). The target regrets are the baseline's mean regret (random search with
the fewest workers; every strategy pooled if it did not run) after 5, 15 and 50 full
evaluations' worth of wall-clock time (the budget's ``evaluation_seconds`` each; those that
fit the budget), on the steep part of its curve: further on the curves are nearly flat, and
the time at which a flat mean curve crosses a level is mostly noise. Runs that do not record
the time of a full evaluation, or whose budget fits none of those, are timed to the mean
regret after 1%, 3% and 10% of the budget instead.

**Equal work** compares worker counts at the same worker-seconds (wall-clock time x workers):
the mean regret of N workers at ``W / N`` seconds against the fewest workers' at ``W / fewest``,
for ``W`` a tenth, three tenths and all of the budget x the fewest workers. A strategy that
loses nothing by running asynchronously has the same regret there (its speed-up is linear);
the difference, paired by seed, with its standard error, is the price of parallelism.

**Utilisation** is the share of the workers' time spent training: worker-seconds over
workers x budget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import finite, write_text
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import Collection, mean_se_over_runs, regret_on_grid
from nasbench.report.comparison import PERCENT

#: the targets: the baseline's mean regret after this many full evaluations' worth of wall-clock time
TARGET_EVALUATIONS = (5, 15, 50)
#: ... or after these shares of the budget, where the runs do not record a full evaluation's time or none fits
TARGET_FRACTIONS = (0.01, 0.03, 0.1)
#: equal work: these shares of the budget's worker-seconds with the fewest workers
WORK_FRACTIONS = (0.1, 0.3, 1.0)
BASELINE = "random"
#: regrets are differences of accuracies stored as float32: equal within this
TOLERANCE = 1e-9
GRID_POINTS = 2000
BOOTSTRAP_RESAMPLES = 2000
#: stands for "no incumbent yet" in a bootstrap mean (a regret is at most 1)
NO_INCUMBENT = 1e6


def wallclock_grid(collection: Collection, points: int = GRID_POINTS) -> np.ndarray:
    """Log-spaced wall-clock times from the first finish of any run to the budget."""
    start = max(float(collection.trajectory["time"].min()), 1e-3)
    end = max(float(collection.budget["seconds"]), start * 1.0001)
    return np.geomspace(start, end, points)


def regret_matrices(collection: Collection, grid: np.ndarray) -> dict[tuple[str, int], pd.DataFrame]:
    """(strategy, workers) -> its runs' regret on ``grid``, one row per seed (NaN before a run's first finish)."""
    frame = regret_on_grid(collection, grid)
    runs = collection.runs
    matrices = {}
    for (group, workers), chosen in runs.groupby(["group", "workers"], sort=True):
        rows = frame.loc[list(zip(chosen["label"], chosen["seed"]))]
        matrices[(str(group), int(workers))] = rows.set_axis(chosen["seed"].to_numpy()).sort_index()
    return matrices


def first_time(mean: np.ndarray, target: float, grid: np.ndarray) -> np.ndarray:
    """The first grid time at which each row of ``mean`` is at most ``target`` (``inf``: never)."""
    hit = mean <= target + TOLERANCE
    return np.where(hit.any(axis=-1), grid[hit.argmax(axis=-1)], np.inf)


def target_times(budget: float, evaluation_seconds: float | None) -> list[tuple[float, float | None]]:
    """When the targets are read, as (seconds, full evaluations' worth): :data:`TARGET_EVALUATIONS` full evaluations'
    worth of time within ``budget``, else :data:`TARGET_FRACTIONS` of it (evaluations ``None``).

    >>> [(round(t, 1), n) for t, n in target_times(567.3, 5.673)], target_times(3000.0, None)
    ([(28.4, 5), (85.1, 15), (283.6, 50)], [(30.0, None), (90.0, None), (300.0, None)])
    """
    times = [(n * evaluation_seconds, n) for n in TARGET_EVALUATIONS
             if evaluation_seconds and n * evaluation_seconds <= budget]
    return times or [(fraction * budget, None) for fraction in TARGET_FRACTIONS]


def target_regrets(matrices: dict[tuple[str, int], pd.DataFrame], grid: np.ndarray, budget: float,
                   baseline: str = BASELINE, evaluation_seconds: float | None = None) -> tuple[list[dict[str, float]], str]:
    """The target regrets (the baseline's mean regret at :func:`target_times`) and their source."""
    fewest = min(workers for _, workers in matrices)
    if (baseline, fewest) in matrices:
        reference, source = matrices[(baseline, fewest)], f"`{baseline}` with {workers_text(fewest)}"
    else:
        reference = pd.concat([m for (_, w), m in matrices.items() if w == fewest])
        source = f"every strategy with {workers_text(fewest)}, pooled"
    mean = reference.to_numpy(dtype=float).mean(axis=0)  # NaN until every run has an incumbent
    targets = []
    for seconds, evaluations in target_times(budget, evaluation_seconds):
        position = np.searchsorted(grid, seconds, side="right") - 1
        if position >= 0 and np.isfinite(mean[position]):
            targets.append({"fraction": seconds / budget, "seconds": seconds, "evaluations": evaluations,
                            "regret": float(mean[position])})
    return targets, source


def speedup_table(matrices: dict[tuple[str, int], pd.DataFrame], targets: list[dict[str, float]],
                  grid: np.ndarray) -> pd.DataFrame:
    """One row per strategy x target x worker count: the time to the target and the speed-up over the fewest workers."""
    fewest = min(workers for _, workers in matrices)
    rng = np.random.default_rng(0)
    rows = []
    for group in sorted({group for group, _ in matrices}):
        base = matrices.get((group, fewest))
        for workers in sorted(w for g, w in matrices if g == group):
            these = matrices[(group, workers)]
            times = first_time(these.to_numpy(dtype=float).mean(axis=0), np.array([[t["regret"]] for t in targets]), grid)
            intervals = [(np.nan, np.nan)] * len(targets)
            if base is not None and workers != fewest:
                intervals = _speedup_intervals(base, these, targets, grid, rng)
            for target, time, interval in zip(targets, times, intervals):
                base_time = first_time(base.to_numpy(dtype=float).mean(axis=0), target["regret"], grid) if base is not None else np.inf
                speedup = float(base_time / time) if np.isfinite(base_time) and np.isfinite(time) else np.nan
                rows.append({"strategy": group, "target_regret": target["regret"], "target_fraction": target["fraction"],
                             "workers": workers, "runs": len(these), "time_to_target": float(time), "speedup": speedup,
                             "speedup_low": interval[0], "speedup_high": interval[1]})
    return pd.DataFrame(rows)


def _speedup_intervals(base: pd.DataFrame, these: pd.DataFrame, targets: list[dict[str, float]], grid: np.ndarray,
                       rng: np.random.Generator) -> list[tuple[float, float]]:
    """95% percentile bootstrap intervals of the speed-up, resampling the seeds both worker counts ran."""
    seeds = base.index.intersection(these.index)
    if len(seeds) < 2:
        return [(np.nan, np.nan)] * len(targets)
    a = np.nan_to_num(base.loc[seeds].to_numpy(dtype=float), nan=NO_INCUMBENT)
    b = np.nan_to_num(these.loc[seeds].to_numpy(dtype=float), nan=NO_INCUMBENT)
    n = len(seeds)
    counts = np.zeros((BOOTSTRAP_RESAMPLES, n))
    np.add.at(counts, (np.arange(BOOTSTRAP_RESAMPLES)[:, None], rng.integers(0, n, size=(BOOTSTRAP_RESAMPLES, n))), 1)
    mean_a, mean_b = counts @ a / n, counts @ b / n
    intervals = []
    for target in targets:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios = first_time(mean_a, target["regret"], grid) / first_time(mean_b, target["regret"], grid)
        ratios = ratios[np.isfinite(ratios)]
        # an interval only where nearly every resample reaches the target with both worker counts
        if len(ratios) < 0.975 * BOOTSTRAP_RESAMPLES:
            intervals.append((np.nan, np.nan))
        else:
            low, high = np.percentile(ratios, [2.5, 97.5])
            intervals.append((float(low), float(high)))
    return intervals


def equal_work(collection: Collection) -> pd.DataFrame:
    """Per strategy, worker-seconds and worker count: the mean regret after that much work (SE over seeds), and
    the difference from the fewest workers after the same work, paired by seed (see the module's doc)."""
    runs = collection.runs
    counts = sorted(int(w) for w in runs["workers"].unique())
    fewest = counts[0]
    levels = [fraction * float(collection.budget["seconds"]) * fewest for fraction in WORK_FRACTIONS]
    times = np.array([level / workers for level in levels for workers in counts])
    frame = regret_on_grid(collection, np.unique(times))
    column = {t: i for i, t in enumerate(np.unique(times))}
    rows = []
    for group, runs_of_group in runs.groupby("group", sort=True):
        by_workers = {
            int(w): frame.loc[list(zip(g["label"], g["seed"]))].set_axis(g["seed"].to_numpy()) for w, g in runs_of_group.groupby("workers")
        }
        for level in levels:
            base = by_workers.get(fewest)
            base_values = None if base is None else base.iloc[:, column[level / fewest]]
            for workers, values in sorted(by_workers.items()):
                regret = values.iloc[:, column[level / workers]]
                row = {"strategy": group, "worker_seconds": level, "workers": workers, "runs": int(regret.notna().sum()),
                       "regret": float(regret.mean()), "regret_se": float(regret.sem()),
                       "difference": np.nan, "difference_se": np.nan}
                if base_values is not None and workers != fewest:
                    paired = (regret - base_values).dropna()  # seeds both ran, each with an incumbent by then
                    if len(paired) > 1:
                        row["difference"], row["difference_se"] = float(paired.mean()), float(paired.sem())
                rows.append(row)
    return pd.DataFrame(rows)


def equal_work_markdown(table: pd.DataFrame) -> str:
    """The equal-work table: one row per strategy and worker-seconds, the regret per worker count and the differences."""
    counts = sorted(table["workers"].unique())
    fewest = counts[0]
    header = ["strategy", "worker-seconds", *[f"regret, {workers_text(int(c))}" for c in counts],
              *[f"x{c} minus x{fewest}" for c in counts if c != fewest]]
    body = []
    for (group, level), rows in table.groupby(["strategy", "worker_seconds"], sort=True):
        rows = rows.set_index("workers")
        cells = [group, f"{level:,.0f}"]
        for c in counts:
            ok = c in rows.index and np.isfinite(rows.loc[c, "regret"])
            cells.append(f"{100 * rows.loc[c, 'regret']:.3f} ({100 * rows.loc[c, 'regret_se']:.3f})" if ok else "")
        for c in counts[1:]:
            ok = c in rows.index and np.isfinite(rows.loc[c, "difference"])
            cells.append(f"{100 * rows.loc[c, 'difference']:+.3f} ({100 * rows.loc[c, 'difference_se']:.3f})" if ok else "")
        body.append(cells)
    return markdown_table(pd.DataFrame(body, columns=header))


def utilisation(collection: Collection) -> pd.DataFrame:
    """Per strategy and worker count: the mean share of the workers' time spent training, and evaluations."""
    runs = collection.runs.assign(
        utilisation=lambda r: r["worker_seconds"] / (r["workers"] * r["budget_seconds"]),
        ended_early=lambda r: ~r["stop_reason"].isin(["budget", "max_evals"]))
    table = runs.groupby(["group", "workers"]).agg(
        runs=("seed", "size"), evals_mean=("num_evals", "mean"), utilisation=("utilisation", "mean"),
        ended_early=("ended_early", "sum"))
    return table.reset_index().rename(columns={"group": "strategy"})


def workers_text(count: int) -> str:
    return f"{count} worker{'' if count == 1 else 's'}"


def plot_wallclock_regret(matrices: dict[tuple[str, int], pd.DataFrame], grid: np.ndarray,
                          targets: list[dict[str, float]], path: Path) -> None:
    """One panel per strategy: mean regret (+- SE) against wall-clock time, one line per worker count."""
    plt = pyplot()
    groups = sorted({group for group, _ in matrices})
    counts = sorted({workers for _, workers in matrices})
    colours = dict(zip(counts, plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(counts)))))
    columns = min(3, len(groups))
    rows = int(np.ceil(len(groups) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4.4 * columns, 3.5 * rows + 0.7), dpi=120, sharex=True,
                             sharey=True, squeeze=False)
    lowest, highest = np.inf, 0.0
    for ax, group in zip(axes.flat, groups):
        for workers in counts:
            if (group, workers) not in matrices:
                continue
            mean, se, ok = mean_se_over_runs(matrices[(group, workers)])
            ok &= np.isfinite(mean) & (mean > 0)  # drawn where half the runs have an incumbent; log scale
            ax.plot(grid[ok], 100 * mean[ok], color=colours[workers], lw=1.6, label=workers_text(workers))
            ax.fill_between(grid[ok], 100 * np.maximum(mean - se, mean / 2)[ok], 100 * (mean + se)[ok],
                            color=colours[workers], alpha=0.2, lw=0)
            if ok.any():
                lowest = min(lowest, float(100 * mean[ok].min()))
            every = np.isfinite(matrices[(group, workers)].to_numpy(dtype=float)).all(axis=0)
            if every.any():  # the axis starts where every run has an incumbent, not at a few runs' first draws
                highest = max(highest, float(100 * (mean + se)[every].max()))
        for target in targets:
            ax.axhline(100 * target["regret"], color="grey", lw=0.8, ls=":")
        ax.set_title(group)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    if np.isfinite(lowest) and highest > lowest:
        axes.flat[0].set_ylim(0.8 * lowest, 1.25 * highest)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("wall-clock time (simulated s, log scale)")
    for ax in axes[:, 0]:
        ax.set_ylabel("mean regret (points, log scale)")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Regret against wall-clock time, mean +- SE over seeds (dotted: the target regrets)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_speedups(table: pd.DataFrame, path: Path) -> None:
    """One panel per target: speed-up against worker count per strategy (95% bootstrap bars), ideal dashed."""
    plt = pyplot()
    targets = table[["target_fraction", "target_regret"]].drop_duplicates().sort_values("target_fraction")
    counts = sorted(table["workers"].unique())
    groups = sorted(table["strategy"].unique())
    colours = plt.get_cmap("tab10").colors
    fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 4.2), dpi=120, sharey=True, squeeze=False)
    for ax, (_, target) in zip(axes[0], targets.iterrows()):
        ax.plot(counts, counts, color="k", ls="--", lw=1, label="linear")
        for i, group in enumerate(groups):
            rows = table[(table["strategy"] == group) & (table["target_fraction"] == target["target_fraction"])]
            rows = rows[np.isfinite(rows["speedup"])].sort_values("workers")
            if rows.empty:
                continue
            low = np.where(np.isfinite(rows["speedup_low"]), rows["speedup"] - rows["speedup_low"], 0)
            high = np.where(np.isfinite(rows["speedup_high"]), rows["speedup_high"] - rows["speedup"], 0)
            ax.errorbar(rows["workers"] * (1 + 0.03 * (i - len(groups) / 2)), rows["speedup"], yerr=[low, high],
                        color=colours[i % len(colours)], marker="o", ms=4, lw=1.5, capsize=2, label=group)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xticks(counts, [str(c) for c in counts])
        ax.set_xlabel("workers")
        ax.set_title(f"to regret {100 * target['target_regret']:.3f} points", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(f"speed-up over {workers_text(int(counts[0]))} (wall-clock)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def _time(seconds: float) -> str:
    """Simulated seconds for a table: whole seconds from 100 on, else three significant digits.

    >>> _time(2823.4), _time(7.04), _time(0.364), _time(float("inf"))
    ('2,823', '7.04', '0.364', 'not reached')
    """
    if not np.isfinite(seconds):
        return "not reached"
    return f"{seconds:,.0f}" if seconds >= 100 else f"{seconds:.3g}"


def speedup_markdown(table: pd.DataFrame) -> str:
    """The speed-up table: one row per strategy and target, the time and speed-up per worker count."""
    counts = sorted(table["workers"].unique())
    fewest = counts[0]
    header = ["strategy", "target regret", *[f"time, {workers_text(int(c))}" for c in counts],
              *[f"speed-up x{c}" for c in counts if c != fewest]]
    body = []
    for (group, fraction), rows in table.groupby(["strategy", "target_fraction"], sort=True):
        rows = rows.set_index("workers")
        cells = [group, f"{100 * rows['target_regret'].iloc[0]:.3f}"]
        for c in counts:
            cells.append(_time(rows.loc[c, "time_to_target"]) if c in rows.index else "")
        for c in counts:
            if c == fewest:
                continue
            if c not in rows.index or not np.isfinite(rows.loc[c, "speedup"]):
                cells.append("")
                continue
            cell = f"{rows.loc[c, 'speedup']:.1f}"
            if np.isfinite(rows.loc[c, "speedup_low"]):
                cell += f" ({rows.loc[c, 'speedup_low']:.1f}-{rows.loc[c, 'speedup_high']:.1f})"
            cells.append(cell)
        body.append(cells)
    return markdown_table(pd.DataFrame(body, columns=header))


def findings(table: pd.DataFrame, usage: pd.DataFrame, baseline: str = BASELINE) -> list[str]:
    """Sentences: per target, every strategy's speed-up with the most workers and which strategy is there first;
    the strategies whose speed-up interval lies wholly below or above the baseline's; those that leave workers idle."""
    lines: list[str] = []
    counts = sorted(table["workers"].unique())
    if len(counts) < 2:
        return lines
    most, fewest = int(counts[-1]), int(counts[0])
    for fraction in sorted(table["target_fraction"].unique()):
        rows = table[(table["workers"] == most) & (table["target_fraction"] == fraction)].set_index("strategy")
        target = 100 * rows["target_regret"].iloc[0]
        parts: list[str] = []
        for group, row in rows.sort_values("speedup", ascending=False, na_position="last").iterrows():
            if np.isfinite(row["speedup"]):
                interval = f" ({row['speedup_low']:.1f}-{row['speedup_high']:.1f})" if np.isfinite(row["speedup_low"]) else ""
                parts.append(f"{group} {row['speedup']:.1f}x{interval}")
            else:
                parts.append(f"{group} not measured (its mean regret did not reach it with {workers_text(fewest)} or "
                             f"with {most})")
        reached = rows[np.isfinite(rows["time_to_target"])].sort_values("time_to_target")
        first = (f" With {most} workers **{reached.index[0]}** gets there first, after "
                 f"{_time(reached['time_to_target'].iloc[0])} s." if len(reached) else "")
        lines.append(f"To regret {target:.3f} points, {most} workers are faster than {workers_text(fewest)} by: "
                     f"{'; '.join(parts)} (95% bootstrap intervals; linear is {most / fewest:.0f}x).{first}")
        if baseline not in rows.index or not np.isfinite(rows.loc[baseline, "speedup_low"]):
            continue
        base = rows.loc[baseline]
        for group, row in rows.iterrows():
            if group == baseline or not np.isfinite(row["speedup_low"]):
                continue
            if row["speedup_high"] < base["speedup_low"] or row["speedup_low"] > base["speedup_high"]:
                verdict = "less" if row["speedup_high"] < base["speedup_low"] else "more"
                lines.append(f"**{group}** gains {verdict} from {most} workers than `{baseline}` on the way to regret "
                             f"{target:.3f} points ({row['speedup']:.1f}x vs {base['speedup']:.1f}x; the intervals do "
                             "not overlap).")
    idle = usage[(usage["workers"] == most) & (usage["utilisation"] < 0.9)]
    for _, row in idle.iterrows():
        why = (f"{int(row['ended_early'])} of its {int(row['runs'])} runs ended before the budget (see below)"
               if row["ended_early"] else "the rest of the time they wait")
        lines.append(f"**{row['strategy']}** keeps its {most} workers training {100 * row['utilisation']:.0f}% of the "
                     f"time; {why}.")
    return lines


def work_findings(table: pd.DataFrame) -> list[str]:
    """Sentences: after each amount of work, the strategies whose regret with the most workers matches the fewest
    workers' within two standard errors, and those where it is higher or lower."""
    counts = sorted(table["workers"].unique())
    if len(counts) < 2:
        return []
    most, fewest = int(counts[-1]), int(counts[0])
    lines = []
    for level, rows in table[table["workers"] == most].groupby("worker_seconds", sort=True):
        same, higher, lower = [], [], []
        for _, row in rows.sort_values("strategy").iterrows():
            if not np.isfinite(row["difference"]):
                continue
            text = f"{row['strategy']} ({100 * row['difference']:+.3f} points, SE {100 * row['difference_se']:.3f})"
            if abs(row["difference"]) <= 2 * row["difference_se"]:
                same.append(str(row["strategy"]))
            else:
                (higher if row["difference"] > 0 else lower).append(text)
        theirs = f"{workers_text(fewest)}'" + ("s" if fewest == 1 else "")  # 1 worker's, 2 workers'
        parts = [f"matches {theirs} within two standard errors for {', '.join(same)}"] if same else []
        parts += [f"is higher for {', '.join(higher)}"] if higher else []
        parts += [f"is lower for {', '.join(lower)}"] if lower else []
        if parts:
            lines.append(f"After {level:,.0f} worker-seconds, the mean regret of {most} workers {'; '.join(parts)}.")
    return lines


def most_workers(collection: Collection) -> Collection:
    """The runs with the most workers, labelled by strategy alone: what the rest of a report compares."""
    from dataclasses import replace

    runs = collection.runs[collection.runs["workers"] == collection.runs["workers"].max()]
    names = dict(zip(runs["label"], runs["group"]))
    trajectory = collection.trajectory[collection.trajectory["label"].isin(names)]
    return replace(collection, runs=runs.assign(label=runs["group"]).reset_index(drop=True),
                   trajectory=trajectory.assign(label=trajectory["label"].map(names)).reset_index(drop=True))


def write_parallel(collection: Collection, out: Path, baseline: str = BASELINE) -> tuple[list[str], dict[str, Any]]:
    """Write the parallel figures and tables into ``out``; returns the README lines and the summary's entries."""

    budget = float(collection.budget["seconds"])
    grid = wallclock_grid(collection)
    matrices = regret_matrices(collection, grid)
    targets, source = target_regrets(matrices, grid, budget, baseline, collection.budget.get("evaluation_seconds"))
    table = speedup_table(matrices, targets, grid)
    usage = utilisation(collection)
    work = equal_work(collection)
    plot_wallclock_regret(matrices, grid, targets, out / "wallclock_regret.png")
    if len(table):
        plot_speedups(table, out / "speedup.png")
    # the files and the summary, like the rest of the report: regrets in points, utilisation in percent
    points_table = table.assign(target_regret=PERCENT * table["target_regret"])
    points_work = work.assign(**{c: PERCENT * work[c] for c in ("regret", "regret_se", "difference", "difference_se")})
    percent_usage = usage.assign(utilisation=PERCENT * usage["utilisation"])
    write_text(out / "speedup.csv", points_table.to_csv(index=False))
    write_text(out / "utilisation.csv", percent_usage.to_csv(index=False))
    write_text(out / "equal_work.csv", points_work.to_csv(index=False))
    counts = sorted(int(w) for w in collection.runs["workers"].unique())
    runs_text = f"{int((collection.runs['workers'] == counts[-1]).sum()):,} runs; the source line counts only these"
    found = findings(table, usage, baseline) + work_findings(work)
    if targets and targets[0]["evaluations"] is not None:
        counts_text = ", ".join(str(target["evaluations"]) for target in targets)
        seconds_text = ", ".join(_time(target["seconds"]) for target in targets)
        when = f"{counts_text} full evaluations' worth of wall-clock time ({seconds_text} s)"
    else:
        when = ", ".join(f"{100 * target['fraction']:.0f}%" for target in targets) + " of the budget"
    usage_shown = percent_usage.rename(
        columns={"utilisation": "utilisation (%)", "evals_mean": "evaluations (mean)", "ended_early": "ended early"})
    lines = [
        "## Parallel workers",
        "",
        f"Every strategy ran on {', '.join(map(str, counts))} simulated workers under the same wall-clock budget of "
        f"{budget:,.0f} simulated seconds ({len(collection.runs):,} runs): a free worker asks the strategy for its next "
        "architecture, knowing only the evaluations that have finished, and each evaluation takes its table training "
        f"time. The sections after this one compare the strategies on {workers_text(counts[-1])} ({runs_text}).",
        "",
        *[f"- {line}" for line in found],
        "",
        "![regret against wall-clock time](wallclock_regret.png)",
        "",
        "### Wall-clock time to a regret",
        "",
        f"Target regrets: the mean regret of {source} after {when}. Time: simulated wall-clock "
        "seconds at which the strategy's mean regret over seeds first falls to the target. Speed-up: the fewest "
        "workers' time over this one's, with a 95% bootstrap interval over seeds (blank where some resamples never "
        "reach the target).",
        "",
        speedup_markdown(table) if len(table) else "(no target)",
        "",
        *(["![speed-ups](speedup.png)", ""] if len(table) else []),
        "### Equal work",
        "",
        "Mean regret (SE over seeds) once the workers together have trained for the same worker-seconds (wall-clock "
        "time x workers), and its difference from the fewest workers' (paired by seed, with its SE), in points. Zero "
        "difference: running in parallel costs the strategy nothing, and its wall-clock speed-up is linear.",
        "",
        equal_work_markdown(work),
        "",
        "### Utilisation",
        "",
        "The share of the workers' time spent training (worker-seconds over workers x budget): a synchronous "
        "strategy's workers wait for its rung or generation, every worker idles at the end, when its next "
        "evaluation would not finish within the budget, and a run that ends early (it proposed only duplicates, "
        "say) idles them from then on; `ended early` counts those runs.",
        "",
        markdown_table(usage_shown, ".1f"),
        "",
        "Tables: `speedup.csv`, `equal_work.csv`, `utilisation.csv`.",
        "",
    ]
    summary = {"workers": counts, "units": "regrets in percentage points, utilisation in percent, times in simulated s",
               "target_source": source, "findings": found,
               "targets": [{**target, "regret": PERCENT * target["regret"]} for target in targets],
               "speedup": _records(points_table), "equal_work": _records(points_work),
               "utilisation": _records(percent_usage)}
    return lines, summary


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows for JSON: a number that is not finite is ``None``."""
    return finite(frame.to_dict(orient="records"))
