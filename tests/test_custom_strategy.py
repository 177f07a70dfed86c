"""One strategy seam: the registry, a strategy of the user's own (class path, entry point), and nasbench.search.run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import nasbench
from nasbench.search import registry
from nasbench.table import Benchmark

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "my_strategy.py"


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the package that holds a copy of the README's example strategy, as ``my_strategy.py``."""
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "my_strategy.py")
    return folder


def on_path(folder: Path) -> dict[str, str]:
    """The environment of a command whose PYTHONPATH holds ``folder``."""
    return {**os.environ, "PYTHONPATH": str(folder)}


def test_the_readme_shows_the_example_strategy_file():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Your own strategy\n", 1)[1].split("\n## ", 1)[0]
    assert f"```python\n{EXAMPLE.read_text()}```" in section
    assert len(section.strip().splitlines()) + 1 <= 45


@pytest.mark.slow
def test_the_example_strategy_runs_through_search_and_compare_from_outside_the_package(outside, tiny_table, tmp_path, cli):
    run = cli("nasbench-search", "strategy=custom", "strategy.cls=my_strategy:GreedyMutation", "strategy.options={explore: 0.5}",
              f"benchmark.path={tiny_table}", "budget.seconds=2", "seed=3", f"hydra.run.dir={tmp_path / 'one'}",
              env=on_path(outside), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "one" / "result.json").read_text())
    assert data["strategy"] == "greedy_mutation" and data["strategy_options"] == {"explore": 0.5} and data["num_evals"] > 0
    assert data["config"]["strategy"] == {"name": "custom", "cls": "my_strategy:GreedyMutation", "options": {"explore": 0.5}}

    compare = cli("nasbench-compare", "strategies=[random,custom]", "strategy.cls=my_strategy:GreedyMutation", "seeds=2",
                  "skip_duplicates=[false]", f"benchmark.path={tiny_table}", "budget.seconds=2",
                  f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'report'}", "progress=false", env=on_path(outside), cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["greedy_mutation", "random"]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert set(summary["final"]) == {"greedy_mutation", "random"}
    seed1 = json.loads((tmp_path / "runs" / "greedy_mutation" / "seed001" / "result.json").read_text())
    assert seed1["strategy_options"] == {"explore": 0.2}  # the class's default


@pytest.mark.parametrize("cls, message", [
    ("my_strategy:Nope", r"^error: cannot import my_strategy:Nope: module my_strategy has no attribute 'Nope'$"),
    ("nowhere:GreedyMutation", r"^error: cannot import nowhere:GreedyMutation: no module named 'nowhere' \(is the folder"),
    ("my_strategy", r"^error: a strategy class is given as module:Class, e\.g\. my_module:MyStrategy, got 'my_strategy'$"),
    ("my_strategy:dataclass", r"^error: my_strategy:dataclass is not a strategy class \(a subclass of nasbench\.search\.Strategy\)$"),
    (None, r"^error: strategy=custom needs the class to run: strategy\.cls=module:Class"),
])
def test_a_bad_class_path_is_one_line(outside, tiny_table, monkeypatch, cli, tmp_path, cls, message):
    monkeypatch.syspath_prepend(str(outside))
    monkeypatch.delitem(sys.modules, "my_strategy", raising=False)
    code, _, err = cli.inline("nasbench-search", "strategy=custom", f"benchmark.path={tiny_table}", "budget.seconds=1",
                              f"hydra.run.dir={tmp_path / 'h'}", *([f"strategy.cls={cls}"] if cls else []))
    assert code == 2 and len(err.strip().splitlines()) == 1 and re.search(message, err.strip()), err


def test_bad_options_of_the_example_strategy_are_one_line(outside, monkeypatch):
    monkeypatch.syspath_prepend(str(outside))
    cls = registry.load("my_strategy:GreedyMutation")
    with pytest.raises(ValueError, match=r"^explore must be in \[0, 1\], got 2$"):
        cls(explore=2)
    with pytest.raises(ValueError, match=r"^unknown option 'bogus' for strategy greedy_mutation; valid: explore$"):
        cls(bogus=1)


def fake_distribution(folder: Path, entry_points: str) -> None:
    """An installed distribution, as importlib.metadata finds one on sys.path, registering ``entry_points``."""
    info = folder / "my_strategies-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-strategies\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{entry_points}\n")


@pytest.mark.slow
def test_an_installed_package_registers_a_strategy_under_the_entry_point_group(outside, tiny_table, tmp_path, cli):
    fake_distribution(outside, "greedy_mutation = my_strategy:GreedyMutation")
    run = cli("nasbench-search", "strategy=greedy_mutation", "strategy.explore=0.5", f"benchmark.path={tiny_table}", "budget.seconds=2",
              f"hydra.run.dir={tmp_path / 'one'}", env=on_path(outside), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "one" / "result.json").read_text())
    assert data["strategy"] == "greedy_mutation" and data["strategy_options"] == {"explore": 0.5}
    compare = cli("nasbench-compare", "strategies=[random,greedy_mutation]", "seeds=2", "skip_duplicates=[false]",
                  f"benchmark.path={tiny_table}", "budget.seconds=2", f"runs_dir={tmp_path / 'runs'}",
                  f"out={tmp_path / 'report'}", "progress=false", env=on_path(outside), cwd=tmp_path)
    assert compare.returncode == 0, compare.stderr
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["greedy_mutation", "random"]


def test_entry_points_join_the_registry(outside, monkeypatch):
    monkeypatch.syspath_prepend(str(outside))
    points = [metadata.EntryPoint("greedy_mutation", "my_strategy:GreedyMutation", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("not_a_strategy", "json:dumps", registry.ENTRY_POINT_GROUP),
              metadata.EntryPoint("rea", "my_strategy:GreedyMutation", registry.ENTRY_POINT_GROUP)]
    real = metadata.entry_points
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda **kw: points if kw.get("group") == registry.ENTRY_POINT_GROUP else real(**kw))
    assert "greedy_mutation" in registry.names() and registry.needs_torch("greedy_mutation")  # unknown: assumed
    assert registry.get("greedy_mutation").__name__ == "GreedyMutation"
    assert registry.get("rea").__name__ == "RegularizedEvolution"  # the package's own win a clash
    assert registry.config("greedy_mutation") == {"name": "greedy_mutation", "explore": 0.2}
    with pytest.raises(ValueError, match=r"^entry point not_a_strategy = json:dumps of group nasbench\.strategies is not a strategy"):
        registry.get("not_a_strategy")


def test_a_strategy_file_in_a_scanned_package_needs_no_other_edit(outside, tiny_table, monkeypatch):
    """The registry finds a package's strategies by the names their files declare: adding one is adding its file."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register_search
    from nasbench.search.experiment import search

    package = outside / "toy_strategies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(EXAMPLE, package / "greedy.py")
    monkeypatch.syspath_prepend(str(outside))
    monkeypatch.setattr(registry, "PACKAGES", (*registry.PACKAGES, "toy_strategies"))
    registry.builtin.cache_clear()
    try:
        assert registry.builtin()["greedy_mutation"] == registry.Declared("toy_strategies.greedy:GreedyMutation", False)
        register_search()  # the Hydra strategy group: its options are keys like a built-in's
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("search", overrides=["strategy=greedy_mutation", "strategy.explore=0.7", f"benchmark.path={tiny_table}",
                                               "budget.seconds=1"])
        result = search(OmegaConf.to_container(cfg, resolve=True))
        assert result["strategy"] == "greedy_mutation" and result["strategy_options"] == {"explore": 0.7}
    finally:
        registry.builtin.cache_clear()


@pytest.mark.slow
def test_listing_strategies_and_importing_the_table_ones_import_no_torch():
    code = ("import sys; from nasbench.search import registry; names = registry.names(); registry.classes(); "
            "assert {'darts', 'gdas', 'spos', 'rea'} <= set(names) and registry.needs_torch('darts'); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


# ---------------------------------------------------------------------- nasbench.search.run
@pytest.mark.slow
def test_run_gives_what_the_command_gives(tiny_table, tmp_path, cli):
    result = nasbench.search.run("rea", benchmark=tiny_table, seconds=2, seed=7, population_size=5)
    command = cli("nasbench-search", "strategy=rea", "strategy.population_size=5", "seed=7", "budget.seconds=2",
                  f"benchmark.path={tiny_table}", f"hydra.run.dir={tmp_path / 'cli'}")
    assert command.returncode == 0, command.stderr
    data = json.loads((tmp_path / "cli" / "result.json").read_text())
    assert result.data["trajectory"] == data["trajectory"] and result.final == data["final"]
    assert result.data["strategy_options"] == data["strategy_options"] == {"population_size": 5, "sample_size": 3, "crossover_prob": 0.0}
    assert list(result.trajectory["n_evals"]) == list(range(1, result.data["num_evals"] + 1))
    written = result.to_json(tmp_path / "api" / "result.json")
    assert json.loads(written.read_text()) == json.loads(json.dumps(result.data))


def test_run_takes_an_instance_a_benchmark_and_a_budget_in_evaluations(outside, tiny_table, monkeypatch):
    monkeypatch.syspath_prepend(str(outside))
    greedy = registry.load("my_strategy:GreedyMutation")
    bench = Benchmark.load(tiny_table)
    result = nasbench.search.run(greedy(explore=0.3), benchmark=bench, max_evals=12, seed=1)
    assert result.data["num_evals"] == 12 and result.data["stop_reason"] == "max_evals"
    assert result["num_evals"] == 12 and set(result.keys()) == set(result.data)  # read as run_search's dict is
    assert result.data["budget"]["seconds"] is None  # max_evals alone: no time limit
    assert result.data["config"]["strategy"] == {"name": "custom", "cls": "my_strategy:GreedyMutation", "options": {"explore": 0.3}}
    again = nasbench.search.run(greedy, benchmark=bench, max_evals=12, seed=1, explore=0.3)  # a class and its options
    assert again.data["trajectory"] == result.data["trajectory"]
    by_evaluations = nasbench.search.run("random", benchmark=bench, evaluations=3, workers=2)
    assert by_evaluations.data["budget"]["seconds"] == pytest.approx(3 * bench.evaluation_seconds)
    assert by_evaluations.data["workers"] == 2


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"^give a budget: seconds= \(simulated seconds\), evaluations= "),
    ({"seconds": 100, "evaluations": 5}, r"^give seconds= or evaluations=, not both \(got seconds=100, evaluations=5\)"),
    ({"strategy": "nope", "seconds": 1}, r"^unknown strategy 'nope'; valid: asha, "),
    ({"seconds": 1, "bogus": 1}, r"^unknown option 'bogus' for strategy random; valid: none$"),
    ({"strategy": "darts", "seconds": 1, "workers": 2}, r"^strategy darts does not support workers=2"),
])
def test_run_refuses_bad_input_in_one_line(tiny_table, kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        nasbench.search.run(benchmark=tiny_table, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_surrogate_benchmark_is_exported_lazily_without_torch():
    code = ("import sys, nasbench; from nasbench import SurrogateBenchmark; "
            "assert SurrogateBenchmark.__module__ == 'nasbench.surrogate.benchmark'; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
