"""The comparative report of a sweep: effect sizes, anytime regret, ranks, final accuracy and tests.

Statistics come from scipy (Wilcoxon signed-rank, bootstrap intervals), statsmodels (Holm,
power) and autorank (Friedman + Nemenyi, critical-difference diagram); nothing is hand-rolled.
Every accuracy in the report (its README, CSV files and ``summary.json``) is in percent and
every regret in percentage points; the runs' ``result.json`` files hold fractions.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import provenance_line, report_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import DEDUP, Collection, ReportError, collect, mean_se_over_runs, regret_on_grid
from nasbench.report.effects import anytime_times, detectable_difference, effect_sizes, power_line

BASELINE = "random"
#: accuracies and regrets are fractions in the runs, percent (points) in the report
PERCENT = 100.0


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


def per_seed(runs: pd.DataFrame, value: str) -> pd.DataFrame:
    """Seeds x strategies of ``value`` (NaN where a strategy has no result for a seed)."""
    return runs.pivot(index="seed", columns="label", values=value)


def paired_final(runs: pd.DataFrame, value: str) -> pd.DataFrame:
    """Seeds x strategies of ``value``, keeping only seeds every strategy finished."""
    return per_seed(runs, value).dropna(axis=0, how="any")


def pairwise_wilcoxon(wide: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    """Wilcoxon signed-rank on paired final regrets for every pair (the seeds both ran), Holm-corrected.

    ``median_diff`` is in ``wide``'s unit times ``scale``.
    """
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    rows = []
    for a, b in combinations(wide.columns, 2):
        pair = wide[[a, b]].dropna()
        diff = pair[a] - pair[b]
        if len(diff) < 2 or np.allclose(diff, 0):
            p = 1.0
        else:
            p = float(wilcoxon(pair[a], pair[b], zero_method="zsplit").pvalue)
        rows.append({"a": a, "b": b, "n": len(diff), "median_diff": scale * float(diff.median()), "p": p})
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


def plain_log(axis) -> None:
    """Plain numbers on a log axis (``20``, ``0.3``, not ``2 x 10^1``), minor ticks labelled where the range is short."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):  # LogFormatter picks the ticks to label; %g writes them
        def _num_to_string(self, x, vmin, vmax):
            return f"{x:g}"

    axis.set_major_formatter(Plain(labelOnlyBase=False))
    axis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1, 0.5)))


def plot_regret(grid_frame: pd.DataFrame, grid: np.ndarray, path: Path, title: str, baseline: str = BASELINE) -> bool:
    """Mean regret over time on a log-log plot and, when ``baseline`` ran, each strategy's mean as a share of the baseline's.

    Bands are one standard error. Returns whether the second panel was drawn.
    """
    plt = pyplot()
    labels = grid_frame.index.get_level_values("label").unique()
    relative = baseline in labels and len(labels) > 1
    fig, axes = plt.subplots(1, 2 if relative else 1, figsize=(14 if relative else 8, 5.5), dpi=120, squeeze=False)
    ax, styles = axes[0][0], strategy_styles(labels)
    curves = {label: mean_se_over_runs(frame) for label, frame in grid_frame.groupby(level="label")}
    drawn = []
    for label, (mean, se, ok) in curves.items():  # ok: at least half the runs have an incumbent
        shown = ok & (mean > 0)  # a mean regret of 0 (every run at the optimum) has no place on a log axis
        line = ax.plot(grid[shown], PERCENT * mean[shown], label=label, lw=1.6, **styles[label])[0]
        low = np.where(mean - se > 0, mean - se, mean)
        ax.fill_between(grid[shown], PERCENT * low[shown], PERCENT * (mean + se)[shown], color=line.get_color(), alpha=0.15)
        drawn += [PERCENT * low[shown], PERCENT * (mean + se)[shown]]
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log(ax.xaxis)
    plain_log(ax.yaxis)
    values = np.concatenate(drawn) if drawn else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    if len(values):  # room below the lowest band (matplotlib's log autoscale leaves a decade)
        ax.set_ylim(0.8 * values.min(), 1.25 * values.max())
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("mean regret of test accuracy (percentage points, log scale)")
    ax.set_title("Mean regret over seeds (+- standard error)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if relative:
        # the ratio to the baseline's mean, from when every run has an incumbent (before that, a few runs' first
        # picks are the curves): below 1, lower regret than the baseline; the band is one standard error (delta method)
        ax = axes[0][1]
        base_mean, base_se, _ = curves[baseline]
        settled = np.isfinite(grid_frame.to_numpy(dtype=float)).all(axis=0) & (base_mean > 0)
        extremes = []
        for label, (mean, se, _) in curves.items():
            if label == baseline or not settled.any():
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = mean / base_mean
                band = ratio * np.sqrt((se / mean) ** 2 + (base_se / base_mean) ** 2)
            shown = settled & (ratio > 0)
            line = ax.plot(grid[shown], PERCENT * ratio[shown], label=label, lw=1.6, **styles[label])[0]
            low = np.where(ratio - band > 0, ratio - band, ratio)
            ax.fill_between(grid[shown], PERCENT * low[shown], PERCENT * (ratio + band)[shown], color=line.get_color(), alpha=0.12)
            extremes += [PERCENT * low[shown], PERCENT * (ratio + band)[shown]]
        ax.axhline(PERCENT, color="k", lw=1, label=baseline)
        values = np.concatenate(extremes) if extremes else np.array([])
        values = values[np.isfinite(values) & (values > 0)]
        low, high = (min(values.min(), PERCENT) / 1.05, max(values.max(), PERCENT) * 1.05) if len(values) else (80, 125)
        ax.set_ylim(low, high)  # before the log scale: limits of the 100% line alone would be singular
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(low, high)
        plain_log(ax.xaxis)
        from matplotlib.ticker import FixedLocator, NullLocator, PercentFormatter

        ticks = [10, 20, 33, 50, 67, 80, 90, 100, 110, 125, 150, 200, 300, 500, 1000]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_xlabel("simulated training time (s, log scale)")
        ax.set_ylabel(f"mean regret as a share of {baseline}'s (log scale)")
        ax.set_title(f"Relative to {baseline} (100%), once every run has an incumbent (below: lower regret)", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)  # the styles are the left panel's legend
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return relative


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
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    styles = strategy_styles(ranks.index)
    for label, row in ranks.iterrows():
        ax.plot(grid, row.to_numpy(), label=label, lw=1.8, **styles[label])
    ax.set_xscale("log")
    plain_log(ax.xaxis)
    ax.set_xlabel("simulated training time (s, log scale)")
    ax.set_ylabel("average rank (1 = best)")
    ax.invert_yaxis()
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_final(runs: pd.DataFrame, order: list[str], optimum: float, path: Path, optimum_label: str = "optimum") -> None:
    plt = pyplot()
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
    save_figure(fig, path)


def critical_difference(wide_test: pd.DataFrame, path: Path | None, order: str = "descending") -> dict[str, Any]:
    """Friedman + Nemenyi on final test accuracy (autorank); draws the CD diagram to ``path`` (None: no diagram).

    Rows are blocks (seeds), columns strategies; ``order`` is autorank's: ``descending`` ranks the
    highest value first (accuracies), ``ascending`` the lowest (regrets). Left out, with the reason
    under ``skipped``, for fewer than 3 strategies (two are compared by the pairwise Wilcoxon test,
    and autorank draws no diagram for them) or fewer than 5 seeds that every strategy ran, and where
    autorank cannot rank the runs.
    """
    if path is not None:
        path.unlink(missing_ok=True)  # a diagram of an earlier report in this folder must not stand in for this one
    seeds, groups = wide_test.shape
    if groups < 3:
        return {"skipped": f"the Friedman test and its diagram rank three or more strategies; this sweep has {groups} "
                           f"({', '.join(map(str, wide_test.columns)) or 'none with results'})"
                           + (", compared by the pairwise Wilcoxon test above" if groups == 2 else "")}
    if seeds < 5:
        return {"skipped": f"autorank needs at least 5 seeds that every strategy ran; this sweep has {seeds}"}
    from autorank import autorank, plot_stats

    plt = pyplot()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            result = autorank(wide_test, alpha=0.05, verbose=False, order=order, force_mode="nonparametric")
        except Exception as err:  # noqa: BLE001 - a library's refusal of unusual data leaves the test out, with its reason
            return {"skipped": f"autorank could not rank these runs ({type(err).__name__}: {err})"}
        ax = None if path is None else plot_stats(result, allow_insignificant=True)  # None where autorank has no figure
        if ax is not None:
            fig = ax.get_figure()
            fig.set_size_inches(8, max(2.5, 0.4 * groups + 1.5))
            save_figure(fig, path, dpi=120, bbox_inches="tight")  # autorank writes the labels outside the axes
        plt.close("all")
    if result.omnibus != "friedman" or result.cd is None:
        return {"skipped": f"autorank ran its {result.omnibus} test (p = {float(result.pvalue):.3g}) with no critical "
                           "difference to draw"}
    return {
        "omnibus": result.omnibus,
        "p_value": float(result.pvalue),
        "critical_difference": None if result.cd is None else float(result.cd),
        "mean_ranks": {k: float(v) for k, v in result.rankdf["meanrank"].items()},
    }


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
    scale: float = PERCENT,
    unit: str = " points",
    effects: pd.DataFrame | None = None,
) -> list[str]:
    """One sentence per strategy against the baseline's ``column`` (lower is better), with its paired test.

    Only a significant test (Holm-corrected, 0.05) makes a strategy beat, or be beaten by, the baseline.
    ``effects`` (:func:`~nasbench.report.effects.effect_sizes`, same unit as ``table``) adds the
    difference to the baseline and the share of its regret closed, with their 95% intervals.
    """
    decimals = 2 if scale == PERCENT else 4

    def number(value: float) -> str:
        return f"{scale * value:.{decimals}f}"

    def effect(label: str) -> str:
        if effects is None or label not in effects.index or not np.isfinite(effects.loc[label, "difference"]):
            return ""
        row = effects.loc[label]
        text = f"; difference {interval(row, 'difference', scale, decimals + 1, signed=True)}{unit}"
        if np.isfinite(row["closed"]):
            text += f"; closes {interval(row, 'closed', 100, 0, percent=True)} of `{baseline}`'s"
        return text

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
        values += effect(label)
        stats = f"Wilcoxon signed-rank on {plural(n, 'paired seed')}, Holm-corrected p = {p:.3g}"
        if n and p < 0.05:
            verdict = "beats" if row[column] < base[column] else "is beaten by"
            lines.append(f"**{label}** {verdict} `{baseline}`: {what} {values} ({stats}, significant at 0.05).")
            continue
        order = "the same" if ours == theirs else "a lower" if row[column] < base[column] else "a higher"
        verdict = f"has {order} {what} {'as' if ours == theirs else 'than'} `{baseline}` ({values})"
        lines.append(f"**{label}** {verdict}, not significant ({stats})." if n else f"**{label}** {verdict}; not tested: no seed ran both.")
    return lines


def interval(row: pd.Series, column: str, scale: float, decimals: int, signed: bool = False, percent: bool = False) -> str:
    """``row[column]`` and its 95% interval (``column_low``/``_high``, or ``low``/``high`` for ``mean``), e.g. ``0.19 [0.16, 0.22]``.

    The interval is ``n/a`` where it could not be computed (fewer than two runs).
    """
    low, high = ("low", "high") if column == "mean" else (f"{column}_low", f"{column}_high")
    sign, pct = "+" if signed else "", "%" if percent else ""

    def fmt(value: float) -> str:
        shown = round(scale * value, decimals)
        return f"{abs(shown) if shown == 0 else shown:{'' if shown == 0 else sign}.{decimals}f}{pct}"  # 0, not -0 or +0

    value = row.get(column, np.nan)
    if not np.isfinite(value):
        return "n/a"
    if not (np.isfinite(row.get(low, np.nan)) and np.isfinite(row.get(high, np.nan))):
        return f"{fmt(value)} [n/a]"
    return f"{fmt(value)} [{fmt(row[low])}, {fmt(row[high])}]"


def budget_text(budget: dict[str, Any]) -> str:
    """The header's account of the budget the runs shared: simulated seconds, and how many full evaluations they buy."""
    seconds, per = budget.get("seconds"), budget.get("evaluation_seconds")
    if seconds is None:
        return "unknown"
    text = f"{seconds:,.0f} simulated s"
    if budget.get("evaluations") and per:
        text = (f"{budget['evaluations']:g} full evaluations' worth of simulated time, {seconds:,.0f} s "
                f"({budget['evaluations']:g} x {per:.2f} s, the mean time to train an architecture of the space to "
                f"its last epoch, from {budget.get('evaluation_seconds_from', 'the benchmark')})")
    elif per:
        text += (f" (about {seconds / per:,.0f} full evaluations at {per:.2f} s each, the mean time to train an "
                 f"architecture of the space to its last epoch, from {budget.get('evaluation_seconds_from', 'the benchmark')})")
    if budget.get("max_evals") is not None:
        text += f", and at most {budget['max_evals']:,} evaluations"
    return text


def one_shot_text(runs: pd.DataFrame, one_shot_labels: list[str]) -> str:
    """A sentence on one-shot strategies' smaller number of seeds (empty when none ran fewer seeds than the rest)."""
    counts = runs.groupby("label").agg(runs=("seed", "size"))
    one_shot = counts[counts.index.isin(one_shot_labels)]
    others = counts[~counts.index.isin(one_shot_labels)]
    if one_shot.empty or others.empty or one_shot["runs"].max() >= others["runs"].min():
        return ""
    each = ", ".join(f"{label} {n}" for label, n in one_shot["runs"].items())
    return (f"One-shot strategies ran their own, smaller number of seeds ({each}; `one_shot_seeds`): each run trains "
            "a supernet for real. A pairwise test uses the seeds both strategies ran, the Friedman test the seeds "
            "every strategy ran. ")


def anytime_regret(collection: Collection) -> tuple[pd.Series | None, str]:
    """Each run's normalised area under its regret curve on log time (its mean regret over log-spaced times), and how."""
    budget = float(np.nanmax(collection.runs["budget_seconds"].to_numpy(dtype=float)))
    times, how = anytime_times(collection.trajectory, budget)
    if times is None:
        return None, how
    return regret_on_grid(collection, times).mean(axis=1), how


def plot_effects(effects: pd.DataFrame, baseline: str, path: Path, what: str, scale: float, unit: str) -> None:
    """Forest plot: each strategy's mean ``what`` with its 95% interval and, where the baseline ran, the difference to it."""
    plt = pyplot()
    order = list(effects.index)
    relative = effects["difference"].notna().any()
    fig, axes = plt.subplots(1, 2 if relative else 1, figsize=(13 if relative else 7, 1.6 + 0.42 * len(order)), dpi=120,
                             squeeze=False, sharey=True)
    y = np.arange(len(order))[::-1]
    styles = strategy_styles(order)
    panels = [("mean", "low", "high", f"mean final {what} ({unit})", f"Mean final {what}, 95% bootstrap interval")]
    if relative:
        panels.append(("difference", "difference_low", "difference_high", f"difference to {baseline} ({unit})",
                       f"Minus {baseline}'s, over the seeds both ran (below 0: lower than {baseline})"))
    for ax, (column, low, high, xlabel, heading) in zip(axes[0], panels):
        for yi, label in zip(y, order):
            row = effects.loc[label]
            if not np.isfinite(row[column]):
                continue
            colour = styles[label]["color"]
            hollow = str(label).endswith(DEDUP)
            errors = None
            if np.isfinite(row[low]) and np.isfinite(row[high]):
                errors = [[scale * (row[column] - row[low])], [scale * (row[high] - row[column])]]
            ax.errorbar(scale * row[column], yi, xerr=errors, fmt="s" if hollow else "o", color=colour, capsize=3,
                        mfc="white" if hollow else colour, ms=6, lw=1.5)
        if column == "difference":
            ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_title(heading, fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, order)
    fig.tight_layout()
    save_figure(fig, path)


def effects_markdown(effects: pd.DataFrame, baseline: str, what: str, scale: float, unit: str, decimals: int) -> str:
    """The README table of effect sizes (``unit``: the column headers' unit, e.g. ``points``)."""
    relative = effects["difference"].notna().any()
    rows = []
    for label, row in effects.iterrows():
        cells = {"strategy": label, "runs": int(row["runs"]),
                 f"mean final {what}{unit} [95% CI]": interval(row, "mean", scale, decimals)}
        if relative:
            own = label == baseline
            cells[f"minus {baseline}{unit} [95% CI]"] = "(baseline)" if own else interval(row, "difference", scale, decimals, signed=True)
            cells[f"share of {baseline}'s {what} closed [95% CI]"] = "(baseline)" if own else interval(row, "closed", 100, 0, percent=True)
            if not own and np.isfinite(row["paired_seeds"]):
                cells["seeds paired"] = int(row["paired_seeds"])
            else:
                cells["seeds paired"] = ""
        cells[f"anytime {what}{unit} [95% CI]"] = interval(row, "anytime", scale, decimals)
        rows.append(cells)
    return markdown_table(pd.DataFrame(rows))


def effects_csv(effects: pd.DataFrame, scale: float) -> pd.DataFrame:
    """``effects`` in the report's units: values times ``scale``, the share closed in percent."""
    shown = effects.copy()
    for column in shown.columns:
        if column in ("runs", "paired_seeds"):
            continue
        shown[column] = shown[column] * (100 if column.startswith("closed") else scale)
    return shown


def write_report(
    directory: str | Path, out_dir: str | Path, title: str = "Strategy comparison", only: list[Path] | None = None, truth=None
) -> Path:
    """Aggregate the sweep in ``directory`` (or the runs ``only`` lists) into ``out_dir`` (figures, CSV, JSON, README.md).

    ``truth``: a benchmark to re-score every run against (see :func:`nasbench.report.collect.rescore`).
    Any sweep with a result is reported: tests and figures that need more strategies or seeds
    than it has are left out, and the README says why.
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
    tests = pairwise_wilcoxon(per_seed(runs, "final_regret"), scale=PERCENT)
    ranks = average_ranks(grid_frame)
    anytime, anytime_how = anytime_regret(collection)
    effects = effect_sizes(runs, "final_regret", BASELINE, anytime)
    power = detectable_difference(runs, "final_regret")

    relative = plot_regret(grid_frame, grid, out / "regret.png", title)
    several = len(table) > 1
    (out / "ranks.png").unlink(missing_ok=True)  # an earlier report's figure in this folder must not stand in for this one
    if several:
        plot_ranks(ranks, grid, out / "ranks.png")
    plot_final(runs, list(table.index), optimum, out / "final_test.png", "best feasible" if constrained else "optimum")
    plot_effects(effects, BASELINE, out / "effects.png", "regret", PERCENT, "percentage points")
    cd = critical_difference(paired_final(runs, "final_test"), out / "critical_difference.png")

    # runs.csv and the incumbent trajectory keep every run (with simulated workers: every worker count)
    percent_runs = everything.runs.drop(columns=["path", "table_complete", "table_entries", "space_signature", "dataset_fingerprint"])
    percent_runs[["final_test", "final_valid", "final_regret", "optimum_test"]] *= PERCENT
    trajectory = incumbent_changes(everything.trajectory).copy()
    trajectory[["incumbent_valid", "incumbent_test", "regret"]] *= PERCENT
    percent_table = table.copy()
    percent_table[["test_mean", "test_std", "test_se", "test_best", "regret_mean", "regret_se"]] *= PERCENT
    write_text(out / "runs.csv", percent_runs.to_csv(index=False))
    write_text(out / "incumbent_trajectory.csv", trajectory.to_csv(index=False))
    write_text(out / "final.csv", percent_table.to_csv())
    write_text(out / "effects.csv", effects_csv(effects, PERCENT).to_csv())
    write_text(out / "wilcoxon_holm.csv", tests.to_csv(index=False))
    pairs = len(tests)
    power_text = power_line(power, "final regret", PERCENT, " points", pairs)
    summary = {
        "source": str(directory),
        "units": "accuracies in percent, regrets in percentage points, shares closed in percent",
        "budget": collection.budget,
        "optimum_test_accuracy": PERCENT * optimum,
        "constraints": constraints,
        "final": json.loads(percent_table.to_json(orient="index")),
        "effects": json.loads(effects_csv(effects, PERCENT).to_json(orient="index")),
        "anytime": anytime_how,
        "power": None if power is None else {**power, "difference": PERCENT * power["difference"], "sd": PERCENT * power["sd"]},
        "friedman_nemenyi": cd,
        "failed_runs": collection.failed,
        "findings": findings(table, tests, effects=effects),
        **({"parallel": parallel_summary} if parallel_lines else {}),
        "provenance": report_provenance(**collection.provenance),
    }
    write_json(out / "summary.json", summary)

    shown = percent_table.reset_index()
    if constrained:
        reference = (
            f"Constraint: {constraints} (infeasible architectures were skipped without cost). "
            f"Best feasible test accuracy: {PERCENT * optimum:.2f}%. "
            "Regret = best feasible minus the incumbent's mean test accuracy over training seeds"
        )
    else:
        reference = (
            f"Optimum test accuracy of the benchmark: {PERCENT * optimum:.2f}%. "
            "Regret = optimum minus the incumbent's mean test accuracy over training seeds"
        )
    baseline_ran = BASELINE in set(runs["label"])
    if not several:
        against = "Only one strategy ran: no differences between strategies or shares of regret closed. "
    elif baseline_ran:
        against = (f"The difference to `{BASELINE}` and the share of its mean final regret a strategy closes "
                   f"(1 - its mean / `{BASELINE}`'s) are over the seeds both ran. ")
    else:
        against = f"No `{BASELINE}` runs in this sweep: no differences to random search or shares of its regret closed. "
    lines = [
        f"# {title}",
        "",
        f"Source: `{Path(directory).name}` ({runs_text(runs)}). Budget: {budget_text(collection.budget)}. "
        f"{one_shot_text(runs, collection.one_shot)}{reference}; the incumbent is chosen by the valid accuracy the search observed. "
        "Accuracies are in percent and regrets in percentage points (points), here and in every table and file "
        "of this report.",
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
        power_text,
        "",
        "## Effect sizes",
        "",
        effects_markdown(effects, BASELINE, "regret", PERCENT, " (points)", 3),
        "",
        "Each interval is a 95% bootstrap interval (BCa, 10,000 resamples) over the strategy's runs; `n/a` where "
        "a strategy has fewer than two. An interval is for one comparison on its own: unlike the Holm-corrected tests "
        "below, it is not widened for the number of strategies compared, so with many strategies one of them can "
        "miss 0 by chance. "
        + against + "The anytime regret is the normalised area under a run's regret curve on log time: "
        + (f"{anytime_how}." if anytime is not None else f"{anytime_how}."),
        "",
        "![effect sizes](effects.png)",
        "",
        "## Anytime regret (mean +- standard error over seeds)",
        "",
        "![regret](regret.png)",
        "",
        "Left: mean regret on a log scale (a strategy whose every run reached the optimum leaves the plot). "
        + (f"Right: each strategy's mean regret as a share of `{BASELINE}`'s at the same time (log scale, below 100%: "
           "lower regret), from when every run has an incumbent; its band is one standard error." if relative else
           f"(The panel relative to `{BASELINE}` is left out: {'no ' + BASELINE + ' runs in this sweep' if not baseline_ran else 'it is the only strategy'}.)"),
        "",
        "## Average rank over time",
        "",
        "![ranks](ranks.png)" if several else "Left out: ranks compare two or more strategies; this sweep has one.",
        "",
        "## Final performance",
        "",
        markdown_table(shown.rename(columns={"label": "strategy"}), ".2f"),
        "",
        "![final test accuracy](final_test.png)",
        "",
        *statistics_markdown(tests, cd, tested="regret", ranked="test accuracy", unit="percentage points"),
        *early_stops_markdown(runs),
        *failed_markdown(collection),
    ]
    lines += ["", "Tables: `effects.csv`, `final.csv`, `wilcoxon_holm.csv`, `runs.csv`, `incumbent_trajectory.csv` "
              "(every change of incumbent); all numbers in `summary.json`.",
              "", provenance_line(summary["provenance"]), ""]
    write_text(out / "README.md", "\n".join(lines))
    return out


def statistics_markdown(tests: pd.DataFrame, cd: dict[str, Any], tested: str, ranked: str, unit: str) -> list[str]:
    """README lines for the pairwise tests on final ``tested`` (in ``unit``) and the Friedman/Nemenyi ranking on ``ranked``."""
    lines = [
        f"## Pairwise Wilcoxon signed-rank tests on final {tested} (Holm-corrected)",
        "",
        markdown_table(tests, ".3g") if len(tests) else "Left out: a pairwise test needs at least two strategies; this sweep has one.",
        "",
        *([f"`median_diff`: median over the seeds both ran of a's final {tested} minus b's ({unit}); `p` is "
           "uncorrected, `p_holm` Holm-corrected over all pairs, `significant` means `p_holm` < 0.05.", ""] if len(tests) else []),
        f"## Friedman test and Nemenyi post-hoc on final {ranked}",
        "",
    ]
    if "skipped" in cd:
        return lines + [f"Left out: {cd['skipped']}."]
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
    from nasbench.search.ledger import MAX_CONSECUTIVE_INFEASIBLE

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


__all__ = ["write_report", "ReportError"]
