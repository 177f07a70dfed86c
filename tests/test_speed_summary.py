"""benchmarks/summarize.py: the speed report made from a pytest-benchmark JSON file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "summarize.py"


@pytest.fixture(scope="module")
def summarize():
    spec = importlib.util.spec_from_file_location("summarize", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(group, name, median, per_second=None):
    stats = {"median": median, "mean": median * 1.1, "min": median * 0.9, "rounds": 7}
    return {"group": group, "name": name, "stats": stats, "extra_info": {} if per_second is None else {"per_second": per_second}}


DATA = {
    "datetime": "2026-12-07T10:00:00.000000", "version": "5.1.0",
    "machine_info": {"cpu": {"brand_raw": "Test CPU"}, "python_implementation": "CPython", "python_version": "3.11.7"},
    "commit_info": {"id": "0123456789abcdef0123"},
    "benchmarks": [
        _entry("single-index", "test_single_by_index_benchmark", 5e-6),
        _entry("single-index", "test_single_by_index_dict[dict-done]", 2e-5),
        _entry("single-index", "test_single_by_index_dict[dict-full]", 4e-5),
        _entry("load", "test_load_benchmark", 0.5),
        _entry("load", "test_load_dict[dict-full]", 0.25),
        _entry("surrogate-throughput", "test_query_batch_per_second", 0.01, per_second=5_000_000),
        _entry("surrogate-throughput", "test_predict_indices_per_second", 2.0, per_second=50_000),
        _entry("surrogate-raw-features", "test_predict_features_per_second", 2.0, per_second=50_000),
    ],
}


def test_speedups_are_against_the_fastest_baseline_and_targets_are_checked(summarize):
    table = summarize.frame(DATA).set_index("name")
    assert table.loc["test_single_by_index_benchmark", "speedup_vs_baseline"] == pytest.approx(4.0)
    assert table.loc["test_single_by_index_benchmark", "target_met"] is True  # 5 us < 20 us
    assert table.loc["test_load_benchmark", "target_met"] is False  # 0.5 s, not < 0.3 s
    assert table.loc["test_load_benchmark", "speedup_vs_baseline"] == pytest.approx(0.5)
    assert table.loc["test_query_batch_per_second", "target_met"] is True
    assert table.loc["test_predict_indices_per_second", "target_met"] is False
    assert table.loc["test_predict_features_per_second", "target_met"] is None  # a group without a target
    assert table.loc["test_load_dict[dict-full]", "target_met"] is None  # baselines have no target


def test_writes_readme_csv_and_summary(summarize, tmp_path):
    readme = summarize.write(DATA, tmp_path / "speed", source="speed.json")
    text = readme.read_text()
    assert "## load (target: median < 300 ms)" in text and "**no**" in text and "Test CPU" in text
    assert "| `test_single_by_index_benchmark` | 5 us |" in text
    summary = json.loads((tmp_path / "speed" / "summary.json").read_text())
    assert summary["provenance"]["benchmark_commit"] == DATA["commit_info"]["id"]
    assert len(summary["benchmarks"]) == len(DATA["benchmarks"])
    assert (tmp_path / "speed" / "speed.csv").read_text().startswith("group,name,")


def test_bad_input_is_one_line_and_exit_1(summarize, tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"benchmarks": []}))
    assert summarize.main([str(empty), str(tmp_path / "out")]) == 1
    assert summarize.main([str(tmp_path / "missing.json"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: cannot summarize") for line in err)
    assert not (tmp_path / "out").exists()
