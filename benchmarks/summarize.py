"""Turn a pytest-benchmark JSON file into the committed speed report (``reports/speed/``).

    python -m pytest benchmarks/test_query_speed.py benchmarks/test_surrogate_speed.py \\
        --benchmark-only --benchmark-json=outputs/speed.json
    python benchmarks/summarize.py outputs/speed.json reports/speed

Writes ``README.md`` (one table per benchmark group, each figure next to the
group's fastest baseline and the issue's target), ``speed.csv`` and ``summary.json``
(the machine, the run's commit and the shipped files' checksums).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from nasbench.io import write_json, write_text
from nasbench.provenance import report_provenance, sha256_file, short

#: group -> (what the target bounds, bound): "seconds" bounds the median time, "per_second" the throughput
TARGETS = {
    "load": ("seconds", 0.3),
    "single-arch-str": ("seconds", 20e-6),
    "single-index": ("seconds", 20e-6),
    "batch-all": ("seconds", 20e-3),
    "surrogate-throughput": ("per_second", 100_000),
}

#: group -> what its figures measure, where the test names alone do not say
NOTES = {
    "surrogate-load": "Building a `SurrogateBenchmark`: every class of the space through every booster once.",
    "surrogate-throughput": "`query_batch` looks up the classes predicted at load (what searches use); `predict` on "
                            "indices runs each class through the ensemble once, caches it, then gathers.",
    "surrogate-raw-features": "`predict` on an `(n, F)` feature matrix: every row through every booster "
                              "(members x outputs), nothing cached; the raw XGBoost cost, a reference without a target.",
}


def is_baseline(name: str) -> bool:
    """A baseline's test name ends in ``_dict``, with its variant in brackets (``test_load_dict[dict-full]``)."""
    return name.split("[")[0].endswith("_dict")


def frame(data: dict) -> pd.DataFrame:
    """One row per benchmark: group, name, median/mean/min seconds, rounds, throughput, speed-up, target met."""
    rows = []
    for entry in data.get("benchmarks", []):
        stats = entry["stats"]
        rows.append({
            "group": entry.get("group") or "", "name": entry["name"], "baseline": is_baseline(entry["name"]),
            "median_s": stats["median"], "mean_s": stats["mean"], "min_s": stats["min"], "rounds": stats["rounds"],
            "per_second": (entry.get("extra_info") or {}).get("per_second"),
        })
    if not rows:
        raise ValueError("the file holds no benchmarks; run pytest with --benchmark-only --benchmark-json=FILE")
    out = pd.DataFrame(rows)
    fastest_baseline = out[out.baseline].groupby("group").median_s.min()
    out["speedup_vs_baseline"] = [
        fastest_baseline[g] / m if not b and g in fastest_baseline else float("nan")
        for g, m, b in zip(out.group, out.median_s, out.baseline)
    ]
    out["target"] = [_target_text(g) for g in out.group]
    out["target_met"] = [_met(g, m, p) if not b else None for g, m, p, b in zip(out.group, out.median_s, out.per_second, out.baseline)]
    return out.sort_values(["group", "baseline", "median_s"]).reset_index(drop=True)


def _target_text(group: str) -> str:
    if group not in TARGETS:
        return ""
    kind, bound = TARGETS[group]
    return f"median < {_time(bound)}" if kind == "seconds" else f">= {bound:,.0f} per s"


def _met(group: str, median_s: float, per_second) -> bool | None:
    if group not in TARGETS:
        return None
    kind, bound = TARGETS[group]
    if kind == "seconds":
        return bool(median_s < bound)
    return None if per_second is None or per_second != per_second else bool(per_second >= bound)


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def write(data: dict, out: Path, source: str = "") -> Path:
    """Write the report for pytest-benchmark ``data`` into folder ``out``; returns the README's path."""
    table = frame(data)
    out.mkdir(parents=True, exist_ok=True)
    machine = data.get("machine_info") or {}
    cpu = (machine.get("cpu") or {}).get("brand_raw") or machine.get("processor") or "unknown CPU"
    commit = (data.get("commit_info") or {}).get("id") or "unknown"
    lines = [
        "# Speed: table queries and surrogate predictions",
        "",
        f"Measured {data.get('datetime', '')[:19].replace('T', ' ')} UTC on {cpu} "
        f"({machine.get('python_implementation', '')} {machine.get('python_version', '')}), pytest-benchmark "
        f"{data.get('version', '')}; each figure next to a baseline timed in the same run (the NAS-Bench-201 layout: "
        "a dict from arch string to per-seed, per-epoch results, `dict-full` holding every entry). "
        "Times are medians over the rounds.",
        "",
    ]
    for group, part in table.groupby("group", sort=False):
        lines += [f"## {group}" + (f" (target: {part.target.iloc[0]})" if part.target.iloc[0] else ""), ""]
        lines += [NOTES[group], ""] if group in NOTES else []
        lines += ["| benchmark | median | mean | rounds | per second | x faster than the fastest baseline | target met |",
                  "|---|---|---|---|---|---|---|"]
        for row in part.itertuples():
            rate = "" if row.per_second is None or row.per_second != row.per_second else f"{row.per_second:,.0f}"
            speedup = "" if row.speedup_vs_baseline != row.speedup_vs_baseline else f"{row.speedup_vs_baseline:,.1f}"
            met = "" if row.target_met is None else ("yes" if row.target_met else "**no**")
            lines.append(f"| `{row.name}` | {_time(row.median_s)} | {_time(row.mean_s)} | {row.rounds} | {rate} | {speedup} | {met} |")
        lines.append("")
    provenance = report_provenance(benchmark_json=source, benchmark_commit=commit, machine=machine,
                                   shipped=_shipped_checksums())
    lines.append(f"Made by `python benchmarks/summarize.py` from a pytest-benchmark run at commit `{short(commit)}`; "
                 "the machine and the shipped files' checksums are in `summary.json` (`provenance`).")
    write_text(out / "speed.csv", table.to_csv(index=False))
    write_json(out / "summary.json", {"provenance": provenance, "benchmarks": json.loads(table.to_json(orient="records"))})
    write_text(out / "README.md", "\n".join(lines) + "\n")
    return out / "README.md"


def _shipped_checksums() -> dict[str, str]:
    from nasbench.surrogate.benchmark import default_surrogate_path
    from nasbench.table import default_table_path

    files = [default_table_path(), default_surrogate_path() / "metadata.json"]
    return {path.name: sha256_file(path) for path in files if path.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="a file written by pytest --benchmark-json")
    parser.add_argument("out", help="report folder (README.md, speed.csv, summary.json)")
    args = parser.parse_args(argv)
    try:
        data = json.loads(Path(args.json).read_text())
        print(write(data, Path(args.out), source=Path(args.json).name))
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"error: cannot summarize {args.json}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
