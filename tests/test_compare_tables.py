"""nasbench-compare on several tables: a report per table, and the strategies' rank across them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import build_tiny

RUN = ["strategies=[random,rea,local_search]", "seeds=3", "skip_duplicates=[false]", "budget.seconds=1", "progress=false"]


@pytest.fixture(scope="module")
def other_table(tmp_path_factory) -> Path:
    """A second complete tiny table with other numbers: seed 2 alone."""
    return build_tiny(tmp_path_factory.mktemp("tables") / "other.h5", seeds=(2,))


def finals(runs_dir: Path) -> dict[tuple[str, int], float]:
    """(strategy, seed) -> final regret, read from the runs' own result files."""
    out = {}
    for path in runs_dir.rglob("result.json"):
        data = json.loads(path.read_text())
        out[(data["strategy"], int(data["seed"]))] = data["final"]["regret"]
    return out


def test_compare_on_two_tables_reports_each_and_ranks_across(tiny_table, other_table, tmp_path, cli):
    from scipy.stats import friedmanchisquare, rankdata

    args = [f"tables=[{tiny_table},{other_table}]", *RUN, f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}",
            "title=Two"]
    code, out, err = cli.inline("nasbench-compare", *args)
    assert code == 0, err
    for name in ("tiny", "other"):  # each table: its runs, and its full report under a title naming it
        assert len(list((tmp_path / "runs" / name).rglob("result.json"))) == 9
        readme = (tmp_path / "rep" / name / "README.md").read_text()
        assert readme.startswith(f"# Two: {name}\n")
        assert {"regret.png", "final.csv", "summary.json", "wilcoxon_holm.csv"} <= {p.name for p in (tmp_path / "rep" / name).iterdir()}
    assert {"README.md", "summary.json", "rank_across_tables.csv", "rank_across_tables.png"} <= {p.name for p in (tmp_path / "rep").iterdir()}
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    ranks = summary["rank_across_tables"]
    assert set(ranks) == {"random", "rea", "local_search"} and [table["name"] for table in summary["tables"]] == ["tiny", "other"]

    # the ranks again, from the result files: per seed 1 = lowest final regret, ties averaged; then means
    blocks = []
    for name in ("tiny", "other"):
        regret = finals(tmp_path / "runs" / name)
        rows = np.array([[regret[(s, seed)] for s in ("random", "rea", "local_search")] for seed in range(3)])
        blocks.append(rows)
        per_seed = np.array([rankdata(row) for row in rows])
        for j, strategy in enumerate(("random", "rea", "local_search")):
            assert ranks[strategy][f"rank_{name}"] == pytest.approx(per_seed[:, j].mean())
            assert ranks[strategy][f"regret_{name}"] == pytest.approx(100 * rows[:, j].mean())
    for strategy, row in ranks.items():
        assert row["mean_rank"] == pytest.approx((row["rank_tiny"] + row["rank_other"]) / 2)
    import pandas as pd

    table = pd.read_csv(tmp_path / "rep" / "rank_across_tables.csv")  # best first
    assert table["mean_rank"].is_monotonic_increasing and set(table["strategy"]) == set(ranks)
    stacked = np.vstack(blocks)  # 6 (table, seed) blocks x 3 strategies
    friedman = summary["friedman_over_blocks"]
    if np.ptp(stacked, axis=1).any():  # scipy's test needs some block that is not a tie throughout
        assert friedman["p_value"] == pytest.approx(friedmanchisquare(*stacked.T).pvalue)
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert readme.startswith("# Two: rank across 2 tables\n") and "(table, seed) block" in readme
    assert "[`tiny`](tiny/README.md)" in readme and "![rank across tables](rank_across_tables.png)" in readme
    assert readme.rstrip().splitlines()[-1].startswith("Made by `nasbench-compare 'tables=[")

    from nasbench.report.index import headline

    best = table["strategy"].iloc[0]  # the reports' index reads the rank across tables
    assert headline(tmp_path / "rep").startswith(f"best mean rank across 2 tables (tiny, other): {best} "
                                                 f"{ranks[best]['mean_rank']:.2f} of 3; ")

    code, out, err = cli.inline("nasbench-compare", *args)  # resumable, table by table
    assert code == 0, err
    assert f"kept 9 finished runs from {tmp_path / 'runs' / 'tiny'}" in out
    assert f"kept 9 finished runs from {tmp_path / 'runs' / 'other'}" in out


def test_a_table_of_the_list_reports_as_the_table_alone(tiny_table, tmp_path, cli):
    """``tables=[t]`` writes into ``out/t`` what ``tables`` unset writes for ``t``, titled with the table's name."""
    alone = [f"benchmark.path={tiny_table}", *RUN, f"runs_dir={tmp_path / 'alone' / 'tiny'}", f"out={tmp_path / 'alone-rep'}",
             "title=Same: tiny"]
    listed = [f"tables=[{tiny_table}]", *RUN, f"runs_dir={tmp_path / 'listed'}", f"out={tmp_path / 'listed-rep'}", "title=Same"]
    assert cli.inline("nasbench-compare", *alone)[0] == 0
    assert cli.inline("nasbench-compare", *listed)[0] == 0
    for one, other in ((tmp_path / "alone-rep", tmp_path / "listed-rep" / "tiny"), (tmp_path / "alone", tmp_path / "listed")):
        files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
        assert files and files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
        for name in files:
            a, b = (one / name).read_bytes(), (other / name).read_bytes()
            if name == Path("README.md"):  # the last line names the command that made it
                a, b = a.decode().rsplit("\n", 2)[0], b.decode().rsplit("\n", 2)[0]
            elif name == Path("summary.json"):  # so does its provenance, and the source is the runs folder
                a, b = json.loads(a), json.loads(b)
                for data in (a, b):
                    data["provenance"].pop("command"), data.pop("source")
            assert a == b, name


@pytest.mark.parametrize("overrides, message", [
    (["tables=[]"], "error: tables must list at least one table (a shipped table's name or a file), or be null"),
    (["tables=[TINY,TINY]"], "error: tables names tiny twice; name each table once"),
    (["tables=[no-such-table]"], "error: table no-such-table is neither a file here nor a shipped table; shipped tables: "),
    (["tables=[TINY]", "benchmark.path=TINY"], "error: tables lists the tables to compare on in place of the default table, "
                                               "but the benchmark names its own table (TINY); give tables or that benchmark"),
])
def test_compare_refuses_a_bad_list_of_tables(tiny_table, tmp_path, cli, overrides, message):
    code, out, err = cli.inline("nasbench-compare", *[o.replace("TINY", str(tiny_table)) for o in overrides], *RUN,
                                f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}")
    assert code == 2 and err.startswith(message.replace("TINY", str(tiny_table))) and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_compare_checks_every_table_before_the_first_run(tiny_table, tmp_path, cli):
    partial = build_tiny(tmp_path / "partial.h5", seeds=(0,), max_entries=2)  # untrained classes: no search runs on it
    code, out, err = cli.inline("nasbench-compare", f"tables=[{tiny_table},{partial}]", *RUN,
                                f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_tables_stand_in_for_the_default_table_only():
    from nasbench.search.experiment import plan_tables

    base = {"benchmark": {"kind": "table", "path": None, "budget_evaluations": 100}, "runs_dir": "r", "out": "o", "title": "T"}
    assert plan_tables({**base, "tables": None}) == [(None, {**base, "tables": None})]
    [(name, cfg)] = plan_tables({**base, "tables": ["nb201-mnist1d.h5"]})
    assert name == "nb201-mnist1d" and cfg["benchmark"]["path"] == "nb201-mnist1d.h5" and cfg["tables"] is None
    assert (cfg["runs_dir"], cfg["out"], cfg["title"]) == (str(Path("r/nb201-mnist1d")), str(Path("o/nb201-mnist1d")), "T: nb201-mnist1d")
    own = [{"kind": "table", "path": "blocks-mnist1d.h5", "budget_evaluations": 23}, {"kind": "surrogate", "path": None}]
    for benchmark in own:  # as a config's default, tables leave a benchmark with its own table, or a surrogate, alone
        cfg = {**base, "benchmark": benchmark, "tables": ["a", "b"]}
        assert plan_tables(cfg, given=False) == [(None, cfg)]
    with pytest.raises(ValueError, match=r"but the benchmark names its own table \(blocks-mnist1d.h5\); give tables or"):
        plan_tables({**base, "benchmark": own[0], "tables": ["a"]})
    with pytest.raises(ValueError, match="but the benchmark is a surrogate; give tables or that benchmark, not both"):
        plan_tables({**base, "benchmark": own[1], "tables": ["a"]})
    with pytest.raises(ValueError, match=r"with objectives, compare one table at a time \(tables=null\)"):
        plan_tables({**base, "objectives": ["valid_accuracy", "params"], "tables": ["a"]})
