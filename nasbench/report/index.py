"""The index of the committed reports: one line per report folder with its headline number.

    python -m nasbench.report.index            # reports/ -> reports/README.md

Each headline is read from the report's own files (``summary.json``, ``metadata.json``,
``profile.json``), so the index says what the reports say; rerun it after regenerating one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.io import write_text

#: ops with no weights: where a collapsing gradient search ends (cell space, block space)
PARAMETER_FREE = ("skip_connect", "avg_pool_3x3", "max_pool_3x3", "skip")


def _title(folder: Path) -> str:
    readme = folder / "README.md"
    if readme.exists():
        for line in readme.read_text().splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return folder.name


def _search(summary: dict[str, Any]) -> str:
    final = summary["final"]
    seconds = summary["budget"].get("seconds")
    budget = f"{seconds:,.0f} simulated s" if seconds else "its budget"
    seeds = max(row["runs"] for row in final.values())
    if "optimum_hypervolume" in summary:
        base = "mo_random"
        best = min(final, key=lambda label: final[label]["hv_regret_mean"])
        against = f" ({base}: {final[base]['hv_regret_mean']:.4f})" if base in final and best != base else ""
        return (f"lowest mean final hypervolume regret: {best} {final[best]['hv_regret_mean']:.4f}{against}; true front of "
                f"{summary['true_front_size']} architectures, hypervolume {summary['optimum_hypervolume']:.4f}; "
                f"{len(final)} strategies x {seeds} seeds, {budget}")
    base = "random"
    best = min(final, key=lambda label: final[label]["regret_mean"])
    against = f" ({base}: {final[base]['regret_mean']:.3f})" if base in final and best != base else ""
    return (f"lowest mean final regret: {best} {final[best]['regret_mean']:.3f} points{against}; "
            f"{len(final)} strategies x up to {seeds} seeds, {budget}")


def _across(summary: dict[str, Any]) -> str:
    ranks = summary["rank_across_tables"]
    best = min(ranks, key=lambda label: ranks[label]["mean_rank"])
    friedman = summary["friedman_over_blocks"]
    test = f"Friedman p = {friedman['p_value']:.3g} over (table, seed) blocks" if "p_value" in friedman else "no Friedman test"
    names = [table["name"] for table in summary["tables"]]
    return (f"best mean rank across {len(names)} tables ({', '.join(names)}): {best} "
            f"{ranks[best]['mean_rank']:.2f} of {len(ranks)}; {test}")


def _parallel(summary: dict[str, Any]) -> str:
    parallel = summary["parallel"]
    most, target = max(parallel["workers"]), parallel["targets"][-1]
    to_points = 1.0 if "units" in parallel else 100.0  # reports made before they stated units held fractions
    speedups = {row["strategy"]: row["speedup"] for row in parallel["speedup"]
                if row["workers"] == most and row["target_fraction"] == target["fraction"]}
    told = ", ".join(f"{name} {value:.1f}x" for name, value in sorted(speedups.items(), key=lambda kv: -kv[1]))
    return (f"wall-clock speed-up of {most} workers over {min(parallel['workers'])} to regret "
            f"{to_points * target['regret']:.3f} points: {told}")


def _fidelity(summary: dict[str, Any]) -> str:
    agreement = summary["final_rank_agreement"]
    return (f"strategies' final mean regrets, table vs surrogate: Kendall tau {agreement['kendall_tau']:.3f}, Spearman "
            f"{agreement['spearman']:.3f} ({agreement['n']} strategies, {summary['budget_seconds']:,.0f} simulated s)")


def _surrogate(summary: dict[str, Any]) -> str:
    valid = summary["test_metrics"]["valid_accuracy"]
    return (f"final valid accuracy on {valid['n']} held-out classes: R^2 {valid['r2']:.3f}, Kendall tau "
            f"{valid['kendall_tau']:.3f}, sparse Kendall tau {valid['sparse_kendall_tau']:.3f}")


def _table(summary: dict[str, Any]) -> str:
    return (f"{summary['entries_done']:,} of {summary['entries_total']:,} entries ({summary['classes_trained']:,} classes); "
            f"final test accuracy median {100 * summary['test_accuracy_median']:.2f} %, best "
            f"{100 * summary['test_accuracy_max']:.2f} %")


def _drift(summary: dict[str, Any]) -> str:
    parts = []
    for label in dict.fromkeys(row["label"] for row in summary["mean_share"]):
        rows = [row for row in summary["mean_share"] if row["label"] == label]
        last = max(rows, key=lambda row: row["epoch"])
        share = sum(value for op, value in last.items() if op in PARAMETER_FREE)
        parts.append(f"{label} {100 * share:.0f} % after epoch {last['epoch']}")
    return "parameter-free ops' share of the derived cells' edges: " + ", ".join(parts)


def _ranking(metadata: dict[str, Any]) -> str:
    rows = metadata["summary"]
    by_epoch: dict[int, list[float]] = {}
    for row in rows:
        by_epoch.setdefault(int(row["epoch"]), []).append(float(row["kendall_tau_valid"]))
    last = max(by_epoch)
    best = max(by_epoch, key=lambda epoch: np.mean(by_epoch[epoch]))
    return (f"supernet scores vs table valid accuracy over {rows[0]['num_classes']} classes: Kendall tau "
            f"{np.mean(by_epoch[last]):.3f} after {last} epochs (best {np.mean(by_epoch[best]):.3f} after {best}; "
            f"{len(by_epoch[last])} supernets)")


def _speed(summary: dict[str, Any]) -> str:
    medians = {row["name"]: row["median_s"] for row in summary["benchmarks"]}
    return (f"one query {1e6 * medians['test_single_by_index_benchmark']:.1f} us, all architectures in one batch "
            f"{1e3 * medians['test_batch_all_benchmark']:.2f} ms, loading the flagship table "
            f"{1e3 * medians['test_load_benchmark']:.0f} ms (medians)")


def _profile(profile: dict[str, Any]) -> str:
    totals = [f"{row['recipe']} {row['seconds_per_entry']:.1f} s" for row in profile["rows"] if row["phase"] == "total"]
    return "CPU seconds per (architecture, seed) entry: " + ", ".join(totals)


def _pilot(summary: dict[str, Any]) -> str:
    candidates = summary["candidates"]
    best = max(candidates, key=lambda name: candidates[name]["all_skip_gap"])
    top = candidates[best]
    return (f"{len(candidates)} candidate setups; widest all-skip gap: {best}, {top['all_skip_gap']:.1f} points "
            f"(top-decile ratio {top['top_decile_ratio']:.2f}, random search's regret after 100 evaluations "
            f"{top['random_search_regret']['100']:.2f} points)")


#: (file, a key only that kind of report holds in it, its headline) in the order they are told apart
_KINDS = (
    ("summary.json", "final_rank_agreement", _fidelity),
    ("summary.json", "rank_across_tables", _across),
    ("summary.json", "parallel", _parallel),
    ("summary.json", "final", _search),
    ("summary.json", "test_metrics", _surrogate),
    ("summary.json", "classes_trained", _table),
    ("summary.json", "mean_share", _drift),
    ("summary.json", "candidates", _pilot),
    ("summary.json", "benchmarks", _speed),
    ("metadata.json", "summary", _ranking),
    ("profile.json", "rows", _profile),
)


def headline(folder: Path) -> str | None:
    """The headline number of the report in ``folder``, read from its own files; None where it holds no report."""
    files = {name: json.loads((folder / name).read_text()) for name, _, _ in _KINDS if (folder / name).exists()}
    for name, key, line in _KINDS:
        if key in files.get(name, {}):
            return line(files[name])
    return None


def write_index(reports: str | Path = "reports") -> Path:
    """Write ``reports/README.md``: one line per report folder (nested ones too) with its headline; returns its path."""
    reports = Path(reports)
    lines = ["# Reports", "",
             "One line per committed report: its folder, its title and its headline number, read from the report's "
             "own files by `python -m nasbench.report.index`. Each report's README says how it was made "
             "(`reports/regenerate.sh` remakes them).", ""]
    for folder in sorted(p.parent for p in reports.rglob("README.md")):
        if folder == reports or "runs" in folder.relative_to(reports).parts:
            continue
        line = headline(folder)
        if line is not None:
            lines.append(f"- [`{folder.relative_to(reports)}/`]({folder.relative_to(reports)}/): {_title(folder)}. {line[0].upper()}{line[1:]}.")
    write_text(reports / "README.md", "\n".join(lines) + "\n")
    return reports / "README.md"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="?", default="reports", help="the reports folder (default: reports)")
    args = parser.parse_args(argv)
    print(f"index written to {write_index(args.reports)}")


if __name__ == "__main__":
    main()
