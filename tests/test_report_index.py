"""reports/README.md: one line per committed report, its headline read from the report's own files."""

import json
import shutil
from pathlib import Path

from nasbench.report.index import headline, write_index

REPORTS = Path(__file__).resolve().parents[1] / "reports"


def test_the_committed_index_is_that_of_the_committed_reports(tmp_path):
    """A report regenerated without its index line (reports/regenerate.sh rewrites both) fails here."""
    copy = tmp_path / "reports"
    shutil.copytree(REPORTS, copy, ignore=shutil.ignore_patterns("runs", "*.png", "*.csv", "*.h5", "tables"))
    assert write_index(copy).read_text() == (REPORTS / "README.md").read_text()


def test_each_headline_holds_the_numbers_of_its_report(tmp_path):
    surrogate = json.loads((REPORTS / "surrogate" / "summary.json").read_text())["test_metrics"]["valid_accuracy"]
    assert f"R^2 {surrogate['r2']:.3f}, Kendall tau {surrogate['kendall_tau']:.3f}" in headline(REPORTS / "surrogate")
    final = json.loads((REPORTS / "comparison" / "summary.json").read_text())["final"]
    best = min(final, key=lambda label: final[label]["regret_mean"])
    assert f"{best} {final[best]['regret_mean']:.3f} points (random: {final['random']['regret_mean']:.3f})" in headline(
        REPORTS / "comparison")
    parallel = json.loads((REPORTS / "parallel" / "summary.json").read_text())["parallel"]
    last = parallel["targets"][-1]
    rea = next(row for row in parallel["speedup"] if row["strategy"] == "rea" and row["workers"] == 16
               and row["target_fraction"] == last["fraction"])
    to_points = 1.0 if "units" in parallel else 100.0
    assert f"to regret {to_points * last['regret']:.3f} points" in headline(REPORTS / "parallel")
    stated = tmp_path / "parallel"  # a report that states its units holds points
    stated.mkdir()
    points = {**parallel, "units": "regrets in percentage points", "targets": [{**t, "regret": 0.5} for t in parallel["targets"]]}
    (stated / "summary.json").write_text(json.dumps({"parallel": points}))
    assert "to regret 0.500 points" in headline(stated)
    assert f"rea {rea['speedup']:.1f}x" in headline(REPORTS / "parallel")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# Notes\n")
    assert headline(tmp_path / "notes") is None  # a folder without a report's files gets no line
