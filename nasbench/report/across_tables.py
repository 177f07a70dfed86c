"""The rank of strategies across tables: what ``nasbench-compare tables=[...]`` adds to the tables' own reports.

Per table, every seed is a block: the strategies are ranked by final regret (1 = lowest, ties share
their average rank) over the seeds every strategy finished, and a strategy's rank on the table is
its mean over those seeds, as in each table's own report. The rank across tables is the mean of the
per-table ranks, every table weighing the same. The Friedman test and Nemenyi's critical difference
(autorank, which calls ``scipy.stats.friedmanchisquare``) take every (table, seed) pair as a block.
Writes ``README.md``, ``summary.json``, ``rank_across_tables.csv`` and ``rank_across_tables.png``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import distinct, provenance_line, report_provenance
from nasbench.report._format import markdown_table, pyplot, save_figure
from nasbench.report.collect import ReportError, collect
from nasbench.report.comparison import PERCENT, budget_text, critical_difference, paired_final, plural

FIGURE = "rank_across_tables.png"
TABLE = "rank_across_tables.csv"


def table_ranks(runs: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """A table's mean rank per strategy (1 = lowest final regret) over the seeds every strategy finished, and those
    seeds' final regrets (seeds x strategies)."""
    wide = paired_final(runs, "final_regret")
    return wide.rank(axis=1, method="average").mean(), wide


def rank_across(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Ranks of the strategies every table ran: per table and across (``mean_rank``), best first; the stacked
    (table, seed) blocks of final regrets; the strategies left out because some table has no result for them."""
    common = sorted(set.intersection(*(set(runs["label"]) for runs in tables.values())))
    left_out = sorted(set().union(*(set(runs["label"]) for runs in tables.values())) - set(common))
    columns, blocks = {}, {}
    for name, runs in tables.items():
        ranks, wide = table_ranks(runs[runs["label"].isin(common)])
        columns[f"rank_{name}"] = ranks
        columns[f"regret_{name}"] = PERCENT * runs.groupby("label")["final_regret"].mean()
        columns[f"seeds_{name}"] = pd.Series(len(wide), index=ranks.index)
        blocks[name] = wide
    frame = pd.DataFrame(columns).loc[common]
    frame.insert(0, "mean_rank", frame[[f"rank_{name}" for name in tables]].mean(axis=1))
    frame = frame.sort_values("mean_rank", kind="stable")
    frame.index.name = "strategy"
    return frame, pd.concat(blocks, names=["table", "seed"])[common], left_out


def plot_ranks(frame: pd.DataFrame, names: list[str], friedman: dict[str, Any], path: Path, title: str) -> None:
    """One row per strategy, best at the top: its mean rank on each table (coloured markers) and across them (black)."""
    plt = pyplot()
    k = len(frame)
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.45 * k), dpi=120)
    y = np.arange(k)[::-1]
    import matplotlib

    colours = matplotlib.colormaps["tab10"].colors
    markers = "osv^<>Dph8"
    for i, name in enumerate(names):
        ax.scatter(frame[f"rank_{name}"], y, color=colours[i % 10], marker=markers[i % len(markers)], s=40, zorder=3,
                   label=f"on {name} ({plural(int(frame[f'seeds_{name}'].iloc[0]), 'seed')})")
    per_table = frame[[f"rank_{n}" for n in names]]
    ax.hlines(y, per_table.min(axis=1), per_table.max(axis=1), color="0.6", lw=1, zorder=2)
    ax.scatter(frame["mean_rank"], y, color="k", marker="|", s=400, lw=2.5, zorder=4, label="mean across tables")
    if "critical_difference" in friedman:  # Nemenyi's critical difference, drawn from the best mean rank
        best, cd = float(frame["mean_rank"].iloc[0]), friedman["critical_difference"]
        ax.errorbar([best + cd / 2], [k - 0.4], xerr=[[cd / 2], [cd / 2]], color="firebrick", capsize=4, lw=1.5)
        ax.annotate(f"Nemenyi critical difference {cd:.2f} (Friedman p = {friedman['p_value']:.2g})", (best + cd / 2, k - 0.4),
                    xytext=(0, 5), textcoords="offset points", ha="center", va="bottom", fontsize=8, color="firebrick")
    ax.set_yticks(y, frame.index)
    ax.set_ylim(-0.6, k + 0.1)
    ax.set_xlim(0.8, k + 0.2)
    ax.set_xlabel(f"mean rank of final regret over seeds (1 = lowest regret of {k})")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, bbox_inches="tight")  # the legend sits right of the axes


def write_across_tables(tables: list[tuple[str, str | Path, list[Path] | None]], out_dir: str | Path,
                        title: str = "Strategy comparison") -> Path:
    """Rank the strategies across the comparisons ``tables`` lists, ``(name, runs folder, result files or None)``,
    each already reported in ``out_dir/<name>``; write the rank across them into ``out_dir``."""
    collections = {name: collect(directory, only) for name, directory, only in tables}
    runs = {}
    for name, collection in collections.items():
        if "workers" in collection.runs:  # as each table's report: the strategies on the most workers
            from nasbench.report.parallel import most_workers

            collection = most_workers(collection)
        runs[name] = collection.runs
    names = list(runs)
    frame, blocks, left_out = rank_across(runs)
    if frame.empty:
        raise ReportError(f"no strategy has results on every table ({', '.join(names)}); nothing to rank across them")
    if len(frame) < 3:
        friedman = {"skipped": f"the Friedman test ranks three or more strategies; {plural(len(frame), 'strategy', 'strategies')} "
                               "ran on every table"}
        per_table = {name: friedman for name in names}
    else:
        friedman = critical_difference(blocks, None, order="ascending")
        per_table = {name: critical_difference(blocks.loc[name], None, order="ascending") for name in names}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_ranks(frame, names, friedman, out / FIGURE, f"{title}: rank across {plural(len(names), 'table')}")
    write_text(out / TABLE, frame.to_csv())

    budgets = {name: collection.budget for name, collection in collections.items()}
    failed = [f for collection in collections.values() for f in collection.failed]
    made = [collection.provenance for collection in collections.values()]  # the runs' provenance, table by table
    provenance = report_provenance(**{key: sorted(set().union(*(p.get(key, []) for p in made)))
                                      for key in ("run_git_commits", "run_code_sha256s")},
                                   **{key: distinct([v for p in made for v in p.get(key, [])]) for key in ("run_versions", "benchmarks")})
    best = frame.index[0]
    on_each = ", ".join(f"{frame.loc[best, 'rank_' + n]:.2f} on `{n}`" for n in names)
    findings = [f"**{best}** has the best mean rank across the tables, {frame['mean_rank'].iloc[0]:.2f} of {len(frame)} "
                f"({on_each}); the worst is "
                f"**{frame.index[-1]}**, {frame['mean_rank'].iloc[-1]:.2f}."]
    if "skipped" in friedman:
        findings.append(f"Friedman test over (table, seed) blocks left out: {friedman['skipped']}.")
    else:
        apart = "differ" if friedman["p_value"] < 0.05 else "do not differ significantly"
        findings.append(f"Friedman test over {plural(len(blocks), '(table, seed) block')}: p = {friedman['p_value']:.3g}, so "
                        f"the strategies' ranks {apart} at 0.05; Nemenyi's critical difference is "
                        f"{friedman['critical_difference']:.2f} ranks (two mean ranks over the blocks further apart "
                        "differ significantly).")
    findings.append("The Friedman test on each table alone, over its seeds: " + "; ".join(
        f"`{n}` p = {per_table[n]['p_value']:.3g}" if "p_value" in per_table[n] else f"`{n}` left out ({per_table[n]['skipped']})"
        for n in names) + ".")
    summary = {
        "units": "ranks: 1 = lowest final regret; regrets in percentage points",
        "tables": [{"name": name, "report": f"{name}/README.md", "budget": budgets[name],
                    "paired_seeds": int(len(blocks.loc[name])), "friedman": per_table[name]} for name in names],  # in order
        "rank_across_tables": json.loads(frame.to_json(orient="index")),
        "left_out": left_out,
        "friedman_over_blocks": friedman,
        "failed_runs": failed,
        "findings": findings,
        "provenance": provenance,
    }
    write_json(out / "summary.json", summary)

    shown = frame.reset_index()[["strategy", "mean_rank", *[f"rank_{n}" for n in names], *[f"regret_{n}" for n in names]]]
    shown.columns = ["strategy", "mean rank across tables", *[f"rank on `{n}`" for n in names],
                     *[f"mean final regret on `{n}` (points)" for n in names]]
    lines = [
        f"# {title}: rank across {plural(len(names), 'table')}",
        "",
        "The same comparison on " + ", ".join(f"[`{n}`]({n}/README.md)" for n in names) + " (each table's full report is in "
        "its folder). Budget on each: " + "; ".join(f"`{n}` {budget_text(budgets[n])}" for n in names) + ".",
        "",
        "## Findings",
        "",
        *[f"- {line}" for line in findings],
        "",
        "## Rank of final regret, per table and across tables",
        "",
        markdown_table(shown, ".2f"),
        "",
        f"![rank across tables]({FIGURE})",
        "",
        "Per table, every seed is a block: the strategies are ranked by their final regret (1 = lowest; ties share "
        "their average rank) over the seeds on which every strategy finished (" + ", ".join(
            f"`{n}` {int(frame[f'seeds_{n}'].iloc[0])}" for n in names) + "), and a strategy's rank on the table is "
        "its mean over them, as in the tables' own reports. The rank across tables is the mean of the per-table ranks, "
        "every table weighing the same. The Friedman test (autorank, which calls `scipy.stats.friedmanchisquare`) and "
        "Nemenyi's critical difference take every (table, seed) pair as a block: the tables alone are too few blocks for "
        "any test (autorank needs five). Pooling weighs each table by its seeds, and its mean ranks equal the mean across "
        "tables when every table has as many. It asks whether the strategies differ on these tables taken together; a "
        "strategy that wins on one table and loses on another can cancel out, so read it with the per-table columns.",
        *([ "", "Left out of the rank, for want of results on every table: " + ", ".join(f"`{s}`" for s in left_out) + "."]
          if left_out else []),
        *(["", f"{plural(len(failed), 'run')} failed or missing, left out of the ranks; each table's report lists its own."]
          if failed else []),
        "",
        f"Tables: `{TABLE}` (ranks, each table's mean final regret in points and its paired seeds); all numbers in "
        "`summary.json`.",
        "",
        provenance_line(provenance),
        "",
    ]
    write_text(out / "README.md", "\n".join(lines))
    return out


__all__ = ["write_across_tables", "rank_across"]
