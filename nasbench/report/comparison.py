"""The comparative report of a sweep: anytime regret, ranks, final accuracy and tests.

Statistics come from scipy (Wilcoxon signed-rank), statsmodels (Holm) and
autorank (Friedman + Nemenyi, critical-difference diagram); nothing is hand-rolled.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.provenance import provenance_line, report_provenance
from nasbench.report.collect import DEDUP, Collection, ReportError, collect, mean_se_over_runs, regret_on_grid

BASELINE = "random"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def time_grid(collection: Collection, points: int = 120) -> np.ndarray:
    first = collection.trajectory.groupby(["label", "seed"])["time"].min()
    start = max(float(first.min()), 1e-3) if len(first) else 1.0
    end = float(np.nanmax(collection.runs["budget_seconds"].to_numpy(dtype=float)))
    if not np.isfinite(end) or end <= start:
        end = float(collection.trajectory["time"].max()) if len(collection.trajectory) else start * 10
    return np.geomspace(start, max(end, start * 1.0001), points)


def incumbent_changes(trajectory: pd.DataFrame) -> pd.DataFrame:
    """The tidy trajectory reduced to the evaluations where the incumbent changed, plus each run's last."""
    key = ["label", "seed"]
    changed = trajectory.groupby(key)["incumbent_test"].transform(lambda s: s.ne(s.shift()))
    last = ~trajectory.duplicated(key, keep="last")
    return trajectory[changed | last]


def final_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: final test accuracy of the incumbent (mean, std, SE, best) and mean regret."""
    grouped = runs.groupby("label")
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "test_mean": grouped["final_test"].mean(),
            "test_std": grouped["final_test"].std(ddof=1),
            "test_se": grouped["final_test"].sem(ddof=1),
            "test_best": grouped["final_test"].max(),
            "regret_mean": grouped["final_regret"].mean(),
            "regret_se": grouped["final_regret"].sem(ddof=1),
            "evals_mean": grouped["num_evals"].mean(),
            "duplicates_skipped_mean": grouped["duplicates_skipped"].mean(),
        }
    )
    return table.sort_values("regret_mean")


def paired_final(runs: pd.DataFrame, value: str) -> pd.DataFrame:
    """Seeds x strategies of ``value``, keeping only seeds every strategy finished."""
    wide = runs.pivot(index="seed", columns="label", values=value)
    return wide.dropna(axis=0, how="any")


def pairwise_wilcoxon(wide: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank on paired final regrets for every pair, Holm-corrected."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    rows = []
    for a, b in combinations(wide.columns, 2):
        diff = wide[a] - wide[b]
        if len(diff) < 2 or np.allclose(diff, 0):
            p = 1.0
        else:
            p = float(wilcoxon(wide[a], wide[b], zero_method="zsplit").pvalue)
        rows.append({"a": a, "b": b, "n": len(diff), "median_diff": float(diff.median()), "p": p})
    table = pd.DataFrame(rows, columns=["a", "b", "n", "median_diff", "p"])
    if len(table):
        table["p_holm"] = multipletests(table["p"], method="holm")[1]
        table["significant"] = table["p_holm"] < 0.05
    return table


def strategy_styles(labels) -> dict[str, dict[str, Any]]:
    """Line styles by label: one colour per strategy, dashed for its duplicate-skipping variant (``+dedup``).

    Ten labels are five strategies in pairs: colours alone would give ten near-alike lines.
    """
    import matplotlib

    bases = sorted({str(label).removesuffix(DEDUP) for label in labels})
    colours = matplotlib.colormaps["tab10" if len(bases) <= 10 else "tab20"].colors
    styles = {}
    for label in labels:
        i = bases.index(str(label).removesuffix(DEDUP))
        dedup = str(label).endswith(DEDUP)
        # past the palette, a dotted or dash-dotted line keeps strategies apart
        ls = ("--" if dedup else "-") if i < len(colours) else ("-." if dedup else ":")
        styles[label] = {"color": colours[i % len(colours)], "ls": ls}
    return styles


def plot_regret(grid_frame: pd.DataFrame, grid: np.ndarray, path: Path, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    styles = strategy_styles(grid_frame.index.get_level_values("label").unique())
    for label, frame in grid_frame.groupby(level="label"):
        mean, se, ok = mean_se_over_runs(frame)  # ok: at least half the runs have an incumbent
        line = ax.plot(grid[ok], 100 * mean[ok], label=label, lw=1.8, **styles[label])[0]
        ax.fill_between(grid[ok], 100 * (mean - se)[ok], 100 * (mean + se)[ok], color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("regret of test accuracy (percentage points)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def average_ranks(grid_frame: pd.DataFrame) -> pd.DataFrame:
    """Mean rank (1 = lowest regret) of each strategy at each grid time, over seeds all strategies ran."""
    labels = sorted(grid_frame.index.get_level_values("label").unique())
    seeds = sorted(set.intersection(*(set(grid_frame.loc[l].index) for l in labels)))
    ranks = []
    for seed in seeds:
        block = np.stack([grid_frame.loc[(l, seed)].to_numpy(dtype=float) for l in labels])
        block = np.where(np.isfinite(block), block, np.inf)  # no incumbent yet ranks last
        ranks.append(pd.DataFrame(block).rank(axis=0, method="average").to_numpy())
    mean = np.mean(ranks, axis=0) if ranks else np.full((len(labels), grid_frame.shape[1]), np.nan)
    return pd.DataFrame(mean, index=labels, columns=grid_frame.columns)


def plot_ranks(ranks: pd.DataFrame, grid: np.ndarray, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    styles = strategy_styles(ranks.index)
    for label, row in ranks.iterrows():
        ax.plot(grid, row.to_numpy(), label=label, lw=1.8, **styles[label])
    ax.set_xscale("log")
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("average rank (1 = best)")
    ax.invert_yaxis()
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_final(runs: pd.DataFrame, order: list[str], optimum: float, path: Path, optimum_label: str = "optimum") -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    data = [100 * runs.loc[runs["label"] == l, "final_test"].dropna().to_numpy() for l in order]
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(order) + 1), order, rotation=20, ha="right")
    if np.isfinite(optimum):
        ax.axhline(100 * optimum, color="k", ls="--", lw=1, label=f"{optimum_label} {100 * optimum:.2f}%")
        ax.legend(fontsize=8)
    ax.set_ylabel("final test accuracy of the incumbent (%)")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def critical_difference(wide_test: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Friedman + Nemenyi on final test accuracy (autorank); draws the CD diagram."""
    if wide_test.shape[0] < 5 or wide_test.shape[1] < 2:
        return {"skipped": f"needs >= 5 paired seeds and >= 2 strategies, have {wide_test.shape[0]} and {wide_test.shape[1]}"}
    from autorank import autorank, plot_stats

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        result = autorank(wide_test, alpha=0.05, verbose=False, force_mode="nonparametric")
        plt = _plt()
        ax = plot_stats(result, allow_insignificant=True)
        fig = ax.get_figure()
        fig.set_size_inches(8, max(2.5, 0.4 * wide_test.shape[1] + 1.5))
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return {
        "omnibus": result.omnibus,
        "p_value": float(result.pvalue),
        "critical_difference": None if result.cd is None else float(result.cd),
        "mean_ranks": {k: float(v) for k, v in result.rankdf["meanrank"].items()},
    }


def _markdown(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for i in range(len(frame)):  # not iterrows: it would turn integer columns into floats
        cells = []
        for c in cols:
            v = frame[c].iloc[i]
            cells.append(format(v, floatfmt) if isinstance(v, (float, np.floating)) and np.isfinite(v) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 run``, ``3 runs`` (``many``: the plural when it is not ``word + 's'``)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def seed_text(seeds) -> str:
    """``seed 3``, ``seeds 0-4`` or ``seeds 0-2, 5``."""
    seeds = sorted(int(s) for s in seeds)
    spans: list[list[int]] = []
    for seed in seeds:
        if spans and seed == spans[-1][1] + 1:
            spans[-1][1] = seed
        else:
            spans.append([seed, seed])
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def runs_text(runs: pd.DataFrame) -> str:
    """The header's count: ``6 runs: 2 strategies x 3 seeds`` when every strategy ran the same seeds, else each one's seeds."""
    seeds = runs.groupby("label")["seed"].apply(lambda s: tuple(sorted(s)))
    strategies = plural(len(seeds), "strategy", "strategies")
    if seeds.nunique() == 1:
        return f"{plural(len(runs), 'run')}: {strategies} x {plural(len(seeds.iloc[0]), 'seed')}"
    each = "; ".join(f"{label} {seed_text(s)}" for label, s in seeds.items())
    return f"{plural(len(runs), 'run')} of {strategies}, not all on the same seeds: {each}"


def findings(
    table: pd.DataFrame,
    tests: pd.DataFrame,
    baseline: str = BASELINE,
    column: str = "regret_mean",
    what: str = "mean final regret",
    scale: float = 100.0,
    unit: str = " points",
) -> list[str]:
    """One sentence per strategy against the baseline's ``column`` (lower is better), with its paired test.

    Only a significant test (Holm-corrected, 0.05) makes a strategy beat, or be beaten by, the baseline.
    """
    def number(value: float) -> str:
        return f"{scale * value:.{2 if scale == 100 else 4}f}"

    if len(table) == 1:
        label, row = table.index[0], table.iloc[0]
        return [f"Only **{label}** ran ({plural(int(row['runs']), 'run')}): {what} {number(row[column])}{unit}; "
                "there is no other strategy to compare it with."]
    if baseline not in table.index:
        return [f"No `{baseline}` runs in this sweep, so there is no random-search baseline to compare against."]
    base = table.loc[baseline]
    lines = []
    for label, row in table.iterrows():
        if label == baseline:
            continue
        test = tests[((tests["a"] == label) & (tests["b"] == baseline)) | ((tests["b"] == label) & (tests["a"] == baseline))]
        p = float(test["p_holm"].iloc[0]) if len(test) else float("nan")
        n = int(test["n"].iloc[0]) if len(test) else 0
        ours, theirs = number(row[column]), number(base[column])
        values = f"{ours} vs {theirs}{unit}"
        if row["runs"] != base["runs"]:
            values += f", means over {int(row['runs'])} and {int(base['runs'])} runs"
        stats = f"Wilcoxon signed-rank on {plural(n, 'paired seed')}, Holm-corrected p = {p:.3g}"
        if n and p < 0.05:
            verdict = "beats" if row[column] < base[column] else "is beaten by"
            lines.append(f"**{label}** {verdict} `{baseline}`: {what} {values} ({stats}, significant at 0.05).")
            continue
        order = "the same" if ours == theirs else "a lower" if row[column] < base[column] else "a higher"
        verdict = f"has {order} {what} {'as' if ours == theirs else 'than'} `{baseline}` ({values})"
        lines.append(f"**{label}** {verdict}, not significant ({stats})." if n else f"**{label}** {verdict}; not tested: no seed ran both.")
    return lines


def write_report(
    directory: str | Path, out_dir: str | Path, title: str = "Strategy comparison", only: list[Path] | None = None, truth=None
) -> Path:
    """Aggregate the sweep in ``directory`` (or the runs ``only`` lists) into ``out_dir`` (figures, CSV, JSON, README.md).

    ``truth``: a benchmark to re-score every run against (see :func:`nasbench.report.collect.rescore`).
    """
    collection = collect(directory, only, truth)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    everything = collection
    parallel_lines: list[str] = []
    if "workers" in collection.runs:  # simulated workers: worker counts compared first, then strategies at the most
        from nasbench.report.parallel import most_workers, write_parallel

        parallel_lines, parallel_summary = write_parallel(collection, out)
        collection = most_workers(collection)
    runs = collection.runs
    optimum = float(runs["optimum_test"].dropna().iloc[0]) if runs["optimum_test"].notna().any() else float("nan")
    constraints = str(runs["constraints"].iloc[0]) if "constraints" in runs else "none"
    constrained = constraints != "none"
    grid = time_grid(collection)
    grid_frame = regret_on_grid(collection, grid)
    table = final_table(runs)
    wide_regret = paired_final(runs, "final_regret")
    wide_test = paired_final(runs, "final_test")
    tests = pairwise_wilcoxon(wide_regret)
    ranks = average_ranks(grid_frame)

    plot_regret(grid_frame, grid, out / "regret.png", title)
    plot_ranks(ranks, grid, out / "ranks.png")
    plot_final(runs, list(table.index), optimum, out / "final_test.png", "best feasible" if constrained else "optimum")
    cd = critical_difference(wide_test, out / "critical_difference.png")

    _atomic_text(out / "runs.csv", everything.runs.drop(columns=["path", "table_complete", "table_entries", "space_signature", "dataset_fingerprint"]).to_csv(index=False))
    _atomic_text(out / "incumbent_trajectory.csv", incumbent_changes(everything.trajectory).to_csv(index=False))
    _atomic_text(out / "final.csv", table.to_csv())
    _atomic_text(out / "wilcoxon_holm.csv", tests.to_csv(index=False))
    summary = {
        "source": str(directory),
        "optimum_test_accuracy": optimum,
        "constraints": constraints,
        "final": json.loads(table.to_json(orient="index")),
        "friedman_nemenyi": cd,
        "failed_runs": collection.failed,
        "findings": findings(table, tests),
        **({"parallel": parallel_summary} if parallel_lines else {}),
        "provenance": report_provenance(**collection.provenance),
    }
    _atomic_text(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")

    shown = table.reset_index()
    for col in ("test_mean", "test_std", "test_se", "test_best", "regret_mean", "regret_se"):
        shown[col] = 100 * shown[col]
    if constrained:
        reference = (
            f"Constraint: {constraints} (infeasible architectures were skipped without cost). "
            f"Best feasible test accuracy: {100 * optimum:.2f}%. "
            "Regret = best feasible minus the incumbent's mean test accuracy over training seeds"
        )
    else:
        reference = (
            f"Optimum test accuracy of the benchmark: {100 * optimum:.2f}%. "
            "Regret = optimum minus the incumbent's mean test accuracy over training seeds"
        )
    lines = [
        f"# {title}",
        "",
        f"Source: `{Path(directory).name}` ({runs_text(runs)}). {reference}; the incumbent is "
        "chosen by the valid accuracy the search observed. Numbers are percentage points.",
        "",
        *([f"**Partial table**: the benchmark held {runs['table_entries'].dropna().max():.0f} trained (class, seed) entries, "
           "not every class: the optimum, the regret and the truth are over trained classes only, and a derived cell whose "
           "class is not trained has no ground truth (NaN, left out of means).", ""]
          if not runs["table_complete"].astype(bool).all() else []),
        *([f"Ground truth re-scored against `{Path(str(truth.path)).name}` ({truth.entries_done} entries done; "
           "regret and test accuracy looked up again for every run; one-shot runs' measured cost converted again at "
           "this table's epoch time of their reference cell, so their time axis is on its scale).", ""]
          if truth is not None else []),
        *parallel_lines,
        "## Findings",
        "",
        *[f"- {line}" for line in summary["findings"]],
        "",
        "## Anytime regret (mean +- standard error over seeds)",
        "",
        "![regret](regret.png)",
        "",
        "## Average rank over time",
        "",
        "![ranks](ranks.png)",
        "",
        "## Final performance",
        "",
        _markdown(shown.rename(columns={"label": "strategy"}), ".2f"),
        "",
        "![final test accuracy](final_test.png)",
        "",
        *statistics_markdown(tests, cd, tested="regret", ranked="test accuracy",
                             unit="accuracy as a fraction: 0.001 is 0.1 points"),
        *early_stops_markdown(runs),
        *failed_markdown(collection),
    ]
    lines += ["", "Tables: `final.csv`, `wilcoxon_holm.csv`, `runs.csv`, `incumbent_trajectory.csv` (every change of incumbent); all numbers in `summary.json`.",
              "", provenance_line(summary["provenance"]), ""]
    _atomic_text(out / "README.md", "\n".join(lines))
    return out


def statistics_markdown(tests: pd.DataFrame, cd: dict[str, Any], tested: str, ranked: str, unit: str) -> list[str]:
    """README lines for the pairwise tests on final ``tested`` (in ``unit``) and the Friedman/Nemenyi ranking on ``ranked``."""
    lines = [
        f"## Pairwise Wilcoxon signed-rank tests on final {tested} (Holm-corrected)",
        "",
        _markdown(tests, ".3g") if len(tests) else "(fewer than two strategies)",
        "",
        f"`median_diff`: median over paired seeds of a's final {tested} minus b's, in the raw unit of `runs.csv` "
        f"({unit}); `p` is uncorrected, `p_holm` Holm-corrected over all pairs, `significant` means `p_holm` < 0.05.",
        "",
        f"## Friedman test and Nemenyi post-hoc on final {ranked}",
        "",
    ]
    if "skipped" in cd:
        return lines + [f"Skipped: {cd['skipped']}."]
    return lines + [
        f"Omnibus test: {cd['omnibus']}, p = {cd['p_value']:.3g}; critical difference {cd['critical_difference']:.3f} ranks.",
        "",
        "![critical difference](critical_difference.png)",
    ]


#: why a run ended before its budget, by ``result.json``'s ``stop_reason`` (``budget`` and ``max_evals`` are the
#: planned ends; an unknown reason is shown as it is)
EARLY_STOPS = {
    "only_duplicates": "it proposed only classes it had evaluated, {max_consecutive_duplicates} in a row "
                       "(converged, or nearly)",
    "only_infeasible": "it proposed only architectures that break the constraint, {max_infeasible} in a row",
    "epochs": "it trained its supernet for all its epochs and derived its architecture within the budget",
    "candidates": "it scored all its candidates within the budget",
    "diverged": "its supernet diverged (non-finite loss or architecture weights); it keeps the architecture derived "
                "at its last finished epoch",
    "budget_at_run_rate": "its budget ran out at the cost rate of the table it ran on; at the re-scoring table's lower "
                          "rate it would have trained longer",
}


def early_stops_markdown(runs: pd.DataFrame, holds: str = "incumbent") -> list[str]:
    """README lines naming the strategies whose runs ended before their budget, and why (none: no lines).

    ``holds``: what stays as it was from the end of such a run (the incumbent, or the front).
    """
    from nasbench.search.runner import MAX_CONSECUTIVE_INFEASIBLE

    early = runs[~runs["stop_reason"].isin(["budget", "max_evals"])]
    if early.empty:
        return []
    lines = ["", "## Runs that ended before their budget", "",
             f"Their {holds} holds to the end of the budget in the curves and the final numbers.", ""]
    for (label, reason), group in early.groupby(["label", "stop_reason"], sort=True):
        limits = group["max_consecutive_duplicates"].dropna().unique()
        why = EARLY_STOPS.get(reason, f"stop reason `{reason}`").format(
            max_consecutive_duplicates=" or ".join(f"{int(v):,}" for v in sorted(limits)) or "the limit",
            max_infeasible=f"{MAX_CONSECUTIVE_INFEASIBLE:,}",
        )
        total = int((runs["label"] == label).sum())
        lines.append(f"- `{label}`: {len(group)} of {total} runs, after {group['simulated_time'].mean():,.0f} simulated s "
                     f"on average: {why}")
    return lines


def failed_markdown(collection: Collection) -> list[str]:
    """README lines listing the runs the report could not read (none: no lines)."""
    if not collection.failed:
        return []
    return ["", "## Failed or missing runs", "", *[f"- `{f}`" for f in collection.failed]]


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


__all__ = ["write_report", "ReportError"]
