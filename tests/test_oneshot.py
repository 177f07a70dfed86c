"""One-shot strategies (DARTS, GDAS, SPOS), their supernets and reports, on tiny tables of both spaces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from nasbench.cli.common import CONF_DIR
from nasbench.search import registry
from nasbench.search.oneshot import BudgetTooSmall, make_one_shot, run_one_shot
from nasbench.search.oneshot.darts import Darts
from nasbench.search.runner import Budget
from nasbench.space import BlockSpace, CellSpace, SpaceError
from nasbench.space.base import SearchSpace
from nasbench.table import Benchmark

from conftest import tiny_space

ONE_SHOT = sorted(name for name in registry.names() if registry.needs_torch(name))  # darts, gdas, spos
TINY_BLOCKS = dict(positions=2, blocks=["skip", "res3", "incep"], reduce_after=[1], channels=[4, 8])


@pytest.fixture(scope="module")
def bench(tiny_table) -> Benchmark:
    return Benchmark.load(tiny_table)


@pytest.fixture(scope="module")
def block_table(tmp_path_factory) -> Path:
    from conftest import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tables") / "blocks.h5", seeds=(0,), space=BlockSpace(**TINY_BLOCKS))


def search_cfg(*overrides: str) -> dict:
    from omegaconf import OmegaConf

    from nasbench.cli.schema import register_search, register_strategies

    register_search()
    register_strategies(overrides)  # a one-shot strategy joins the strategy group when the overrides name it
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return OmegaConf.to_container(compose("search", overrides=list(overrides)), resolve=True)


def run_cli_search(table: Path, *overrides: str) -> dict:
    from nasbench.search.experiment import search

    return search(search_cfg(f"benchmark.path={table}", *overrides))


# ---------------------------------------------------------------- supernets
@pytest.mark.parametrize("space", [CellSpace(), tiny_space(), BlockSpace(), BlockSpace(**TINY_BLOCKS)], ids=repr)
def test_one_hot_weights_equal_the_path(space):
    torch.manual_seed(0)
    net = space.build_supernet().eval()
    x = torch.randn(8, 40)
    for index in np.random.default_rng(0).choice(len(space), size=5, replace=False):
        path = space[int(index)].decisions
        one_hot = torch.nn.functional.one_hot(torch.tensor(path), net.max_choices).float()
        with torch.no_grad():
            by_path, by_weights = net(x, path=path), net(x, weights=one_hot)
        assert by_path.shape == (8, 10)
        torch.testing.assert_close(by_path, by_weights, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("space", [CellSpace(reduction="pool"), CellSpace(), BlockSpace(reduction="residual"), BlockSpace()],
                         ids=repr)
def test_supernet_has_the_spaces_reductions(space):
    """The modules between stages are the space's own (its ``reduction``), as in the networks it trains."""
    from nasbench.space.cell_model import PoolReduction, ResidualReduction

    def reductions(net):
        return [type(m).__name__ for m in net.modules() if isinstance(m, (PoolReduction, ResidualReduction))]

    expected = {"pool": "PoolReduction", "residual": "ResidualReduction"}[space.reduction]
    assert reductions(space.build_model(space[0].decisions)) == [expected] * (len(space.channels) - 1)
    assert reductions(space.build_supernet()) == [expected] * (len(space.channels) - 1)


def test_supernet_holds_every_option_and_mixes():
    space = tiny_space()
    net = space.build_supernet().eval()
    x = torch.randn(4, 40)
    uniform = torch.full((net.num_decisions, net.max_choices), 1 / net.max_choices)
    mixed = net(x, weights=uniform)
    assert mixed.shape == (4, 10) and not torch.allclose(mixed, net(x, path=[2, 2, 2]))


def test_supernet_bad_input():
    net = tiny_space().build_supernet()
    x = torch.randn(2, 40)
    with pytest.raises(ValueError, match=r"weights must have shape \(3, 3\), got \(3, 4\)"):
        net(x, weights=torch.ones(3, 4))
    with pytest.raises(ValueError, match="path must give one option per decision"):
        net(x, path=[0, 1])
    with pytest.raises(ValueError, match="needs weights"):
        net(x)
    with pytest.raises(SpaceError, match="has no supernet"):
        SearchSpace.build_supernet(tiny_space())


# ---------------------------------------------------------------- strategies
ALL = [("darts", {}), ("darts", {"order": 2}), ("gdas", {}), ("spos", {"candidates": 6})]


@pytest.mark.parametrize("name, options", ALL, ids=["darts", "darts2", "gdas", "spos"])
def test_every_one_shot_strategy_runs_in_the_runner_format(bench, name, options):
    strategy = make_one_shot(name, bench.space, 0, epochs=3, **options)
    result = run_one_shot(strategy, bench, Budget(1e9), calibration_steps=3)
    rows = result["trajectory"]
    expected_rows = 6 if name == "spos" else 3
    assert result["num_evals"] == len(rows) == expected_rows
    assert result["label"] == {"darts": "darts2" if options else "darts", "gdas": "gdas", "spos": "spos"}[name]
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[0] > 0
    assert result["simulated_time"] == pytest.approx(result["cpu_seconds"] * result["calibration"]["simulated_per_cpu_second"])
    assert result["calibration"]["clock"] == "process CPU" and result["wall_seconds"] > 0
    assert sum(r["cost"] for r in rows) <= result["simulated_time"] + 1e-6 * len(rows)  # costs are rounded to 1e-6 s
    for r in rows:
        arch = bench.space[r["index"]]
        assert r["arch_str"] == arch.arch_str
        truth = bench.query(arch.index)
        assert r["test_accuracy"] == pytest.approx(truth.test_accuracy)
        assert r["regret"] == pytest.approx(result["optimum_test_accuracy"] - r["incumbent_test"])
        assert 0 <= r["valid_accuracy"] <= 1
    if name == "spos":  # incumbent: best supernet score so far
        best = max(rows, key=lambda r: r["valid_accuracy"])
        assert rows[-1]["incumbent_valid"] == best["valid_accuracy"]
    else:  # incumbent: the cell derived last
        assert all(r["incumbent_index"] == r["index"] for r in rows)
        assert [r["supernet_epoch"] for r in rows] == [1, 2, 3]


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_same_seed_same_derivations(bench, name):
    def derived(seed):
        result = run_one_shot(make_one_shot(name, bench.space, seed, epochs=2, **({"candidates": 5} if name == "spos" else {})),
                              bench, Budget(1e9), calibration_steps=2)
        return [r["index"] for r in result["trajectory"]], [r["valid_accuracy"] for r in result["trajectory"]]

    assert derived(1) == derived(1)


def test_second_order_gradient_tends_to_the_first_order_one(bench):
    """With a vanishing virtual step the unrolled gradient is the first-order one (DARTS eq. 7 with xi -> 0)."""
    from nasbench.search.oneshot.common import OneShotRun

    darts = Darts(order=2).start(bench.space, 0)
    run = OneShotRun(bench, Budget(1e9), 0, calibration_steps=1)
    darts.generator = torch.Generator().manual_seed(0)
    darts.setup(run)
    darts.weight_optimizer = torch.optim.SGD(darts.net.parameters(), lr=1e-9, momentum=0.9)
    x, y = run.data["train"][0][:32], run.data["train"][1][:32]
    xv, yv = run.data["valid"][0][:32], run.data["valid"][1][:32]
    darts.net.train()
    first = torch.autograd.grad(darts.loss(xv, yv, darts.alphas), darts.alphas)[0]
    second = darts.unrolled_gradient(x, y, xv, yv)
    torch.testing.assert_close(second, first, rtol=1e-3, atol=1e-6)
    darts.weight_optimizer.param_groups[0]["lr"] = 0.5  # a real virtual step changes it
    assert not torch.allclose(darts.unrolled_gradient(x, y, xv, yv), first, atol=1e-6)


def test_gdas_temperature_schedule():
    gdas = make_one_shot("gdas", tiny_space(), 0, epochs=5, tau_max=10.0, tau_min=0.1)
    assert [round(gdas.tau(e), 6) for e in (1, 3, 5)] == [10.0, 5.05, 0.1]


@pytest.mark.parametrize("name", sorted(ONE_SHOT))
def test_one_shot_runs_on_a_block_table(block_table, name):
    bench = Benchmark.load(block_table)
    result = run_one_shot(make_one_shot(name, bench.space, 0, epochs=2, **({"candidates": 4} if name == "spos" else {})),
                          bench, Budget(1e9), calibration_steps=2)
    assert result["num_evals"] > 0
    assert all(r["arch_str"] == bench.space[r["index"]].arch_str for r in result["trajectory"])
    assert result["option_names"][0] == list(bench.space.blocks)


# ---------------------------------------------------------------- through nasbench-search
@pytest.mark.parametrize("strategy", ["darts", "darts2", "gdas", "spos"])
def test_search_config_runs_one_shot(tiny_table, strategy):
    result = run_cli_search(tiny_table, f"strategy={strategy}", "strategy.epochs=2", "seed=3")
    assert result["strategy"] == ("darts" if strategy == "darts2" else strategy)
    assert result["label"] == strategy and result["seed"] == 3 and result["num_evals"] > 0
    assert result["strategy_options"]["epochs"] == 2 and "calibration" in result


@pytest.mark.parametrize("progress", [True, False])
def test_a_comparison_without_progress_bars_shows_no_training_bar(tiny_table, tmp_path, cli, progress):
    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", "strategies=[spos]", "seeds=1",
                              "one_shot_seeds=1", "skip_duplicates=[false]", f"progress={str(progress).lower()}",
                              f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'report'}")
    assert code == 0 and ("spos seed 0" in err) == progress


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["strategy=darts", "strategy.order=3"], "order must be 1"),
        (["strategy=gdas", "strategy.tau_min=20"], "tau_min"),
        (["strategy=spos", "strategy.search=bayes"], "search must be random or rea"),
        (["strategy=darts", "strategy.epochs=0"], "epochs must be an integer >= 1"),
        (["strategy=darts", "constraint.params=1000"], "does not support constraint"),
        (["strategy=gdas", "skip_duplicates=true"], "does not support skip_duplicates"),
        (["strategy=darts", "strategy.order=true"], "order must be 1"),
        (["strategy=darts", "strategy.arch_beta1=1.5"], r"arch_beta1 must be in \[0, 1\), got 1\.5"),
        (["strategy=spos", "strategy.momentum=1.0"], r"momentum must be in \[0, 1\)"),
    ],
)
def test_bad_one_shot_options(tiny_table, overrides, match):
    with pytest.raises(ValueError, match=match):
        run_cli_search(tiny_table, *overrides)


def test_unknown_option_is_named(bench):
    with pytest.raises(ValueError, match="unknown option 'temperature' for strategy gdas; valid: .*tau_max"):
        make_one_shot("gdas", bench.space, 0, temperature=1.0)


@pytest.mark.slow
def test_budget_too_small_is_one_line_and_writes_nothing(tiny_table, tmp_path, cli):
    proc = cli("nasbench-search", "strategy=darts", f"benchmark.path={tiny_table}", "budget.seconds=1e-6",
               f"hydra.run.dir={tmp_path}", timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: budget.seconds=1e-06 cannot pay for one supernet epoch of darts")
    assert not (tmp_path / "result.json").exists()


def test_budget_stops_training_between_epochs(bench):
    probe = run_one_shot(make_one_shot("gdas", bench.space, 0, epochs=2), bench, Budget(1e9), calibration_steps=2)
    per_epoch = probe["simulated_time"] / 2
    result = run_one_shot(make_one_shot("gdas", bench.space, 0, epochs=50), bench, Budget(per_epoch * 6), calibration_steps=2)
    assert result["stop_reason"] == "budget" and 1 <= result["num_evals"] < 50
    # checked before each epoch against the previous epoch's measured cost: an epoch slower than the one
    # before (a busy machine) can overrun by the difference, never by a whole extra epoch
    assert result["simulated_time"] <= per_epoch * 6 + result["simulated_time"] / result["num_evals"]


class FakeClock:
    """Every supernet training step costs 1 CPU s, everything else nothing; calibration factor 1."""

    def __init__(self, monkeypatch, cls, batch_size=None, step_cost=lambda n: 1.0):
        import nasbench.search.oneshot.common as common

        self.now = 0.0
        monkeypatch.setattr(common, "cost_clock", lambda: self.now)
        monkeypatch.setattr(common, "calibrate", lambda *a, **k: common.Calibration("ref", 1.0, 1.0, 1))
        if batch_size is not None:
            recipe = common.table_recipe
            monkeypatch.setattr(common, "table_recipe", lambda b: (replace(recipe(b)[0], batch_size=batch_size), recipe(b)[1]))
        step = cls.step
        self.steps = 0

        def timed_step(strategy, *args):
            values = step(strategy, *args)
            self.now += step_cost(self.steps)
            self.steps += 1
            return values

        monkeypatch.setattr(cls, "step", timed_step)


@pytest.mark.parametrize("batch_size, steps", [(None, 4), (256, 2)])
@pytest.mark.parametrize("fraction", [0.99, 0.5, 0.3, 1e-9])
def test_budget_below_one_epoch_is_refused(bench, monkeypatch, batch_size, steps, fraction):
    """The first epoch (``steps`` simulated s here) must fit the budget, however few steps an epoch has."""
    FakeClock(monkeypatch, Darts, batch_size)
    with pytest.raises(BudgetTooSmall, match="cannot pay for one supernet epoch of darts|ran out before darts derived"):
        run_one_shot(make_one_shot("darts", bench.space, 0, epochs=1), bench, Budget(steps * fraction))


def test_no_row_after_the_budget(bench, monkeypatch):
    """An epoch slower than the one before may overrun the budget; what it derives then is not recorded."""
    FakeClock(monkeypatch, Darts, step_cost=lambda n: 1.0 if n < 4 else 2.0)  # 4 steps: epoch 1 costs 4 s, later ones 8 s
    result = run_one_shot(make_one_shot("darts", bench.space, 0, epochs=5), bench, Budget(10.0))
    assert result["stop_reason"] == "budget" and result["simulated_time"] == 12.0
    assert [row["time"] for row in result["trajectory"]] == [4.0]


@pytest.mark.parametrize("name", ["darts", "gdas", "spos"])
def test_divergence_is_an_error_not_a_derived_cell(bench, name):
    strategy = make_one_shot(name, bench.space, 0, epochs=2, lr=1e12, grad_clip=1e30)
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        with pytest.raises(ValueError, match=rf"^{name} diverged in supernet epoch 1 \(non-finite training loss"):
            run_one_shot(strategy, bench, Budget(1e9), calibration_steps=2)
        assert not torch.are_deterministic_algorithms_enabled()  # the caller's torch settings are restored
    finally:
        torch.use_deterministic_algorithms(previous)


def test_divergence_after_a_derivation_stops_the_run(bench, monkeypatch):
    calls = {"n": 0}
    step = Darts.step

    def step_then_nan(strategy, *args):
        calls["n"] += 1
        values = step(strategy, *args)
        return values * float("nan") if calls["n"] > 5 else values  # 4 steps per epoch: NaN in epoch 2

    monkeypatch.setattr(Darts, "step", step_then_nan)
    result = run_one_shot(make_one_shot("darts", bench.space, 0, epochs=3), bench, Budget(1e9), calibration_steps=2)
    assert result["stop_reason"] == "diverged" and result["supernet_diverged_epoch"] == 2
    assert [row["supernet_epoch"] for row in result["trajectory"]] == [1]


# ---------------------------------------------------------------- reports
def test_reports_take_one_shot_runs(tiny_table, tmp_path):
    from nasbench.report.comparison import write_report
    from nasbench.report.oneshot import op_drift, write_drift_report
    from nasbench.search.experiment import search, write_json

    for k, (strategy, seed) in enumerate([(s, seed) for s in ("darts", "gdas", "random") for seed in (0, 1)]):
        overrides = [f"benchmark.path={tiny_table}", f"strategy={strategy}", f"seed={seed}", "budget.seconds=1e6"]
        overrides += ["budget.max_evals=5"] + (["strategy.epochs=3"] if strategy != "random" else [])  # one budget for all
        write_json(tmp_path / "sweep" / str(k) / "result.json", search(search_cfg(*overrides)))
    report = write_report(tmp_path / "sweep", tmp_path / "report")
    final = (report / "final.csv").read_text()
    assert "darts" in final and "gdas" in final and "random" in final
    drift = op_drift(tmp_path / "sweep")
    assert set(drift["label"]) == {"darts", "gdas"} and set(drift["epoch"]) == {1, 2, 3}
    shares = drift.groupby(["label", "seed", "epoch"])["share"].sum()
    np.testing.assert_allclose(shares, 1.0)
    out = write_drift_report(tmp_path / "sweep", tmp_path / "drift")
    assert (out / "op_drift.png").stat().st_size > 0 and "parameter-free ops" in (out / "README.md").read_text()


def test_ranking_report(tiny_table, tmp_path):
    from nasbench.cli.ranking import rank
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = OmegaConf.to_container(
            compose("ranking", overrides=[f"benchmark.path={tiny_table}", "checkpoints=[1,2]", "num_classes=8", "seeds=[0,1]",
                                          f"out={tmp_path / 'r'}"]),
            resolve=True,
        )
    out = rank(cfg)
    metadata = json.loads((out / "metadata.json").read_text())
    summary = metadata["summary"]
    assert [(row["seed"], row["epoch"]) for row in summary] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert all(row["num_classes"] == 8 for row in summary) and len(metadata["calibration"]) == 2
    assert all(-1 <= row["kendall_tau_valid"] <= 1 for row in summary)
    scores = (out / "scores.csv").read_text().splitlines()
    assert len(scores) == 1 + 2 * 2 * 8
    readme = (out / "README.md").read_text()
    assert "| 2 |" in readme and "seeds 0, 1" in readme
    with pytest.raises(ValueError, match="distinct supernet seeds"):
        rank({**cfg, "seeds": [0, 0]})
    for bad in (0, 1, -3):
        with pytest.raises(ValueError, match=rf"^num_classes must be an integer >= 2, got {bad}$"):
            rank({**cfg, "num_classes": bad, "out": str(tmp_path / "bad")})
    assert not (tmp_path / "bad").exists()


def test_ranking_report_with_undefined_correlations(tmp_path):
    """A supernet that scores every class alike has no rank correlation: n/a, not a crash."""
    import pandas as pd

    from nasbench.report.oneshot import write_ranking_report

    nan = float("nan")
    summary = pd.DataFrame([
        {"seed": 0, "epoch": e, "num_classes": 3, "supernet_wall_seconds": 1.0, "supernet_simulated_seconds": 2.0 * e,
         "scoring_wall_seconds": 0.1, "kendall_tau_valid": nan, "spearman_valid": nan, "kendall_tau_test": nan, "spearman_test": nan}
        for e in (1, 2)
    ])
    scores = pd.DataFrame([
        {"seed": 0, "epoch": e, "class_id": c, "arch_str": str(c), "supernet_valid_accuracy": 0.1,
         "table_valid_accuracy": 0.5 + c / 10, "table_test_accuracy": 0.5 + c / 10}
        for e in (1, 2) for c in range(3)
    ])
    out = write_ranking_report({"summary": summary, "scores": scores, "calibration": [], "classes": [0, 1, 2]}, tmp_path / "r",
                               {"config": {}, "command": "test"})
    readme = (out / "README.md").read_text()
    assert "Kendall tau n/a" in readme and "No checkpoint gives a defined Kendall tau" in readme
    assert {p.name for p in out.iterdir()} == {"README.md", "ranking.csv", "scores.csv", "metadata.json", "ranking.png"}


def test_rescore_against_a_table(tiny_table, tmp_path):
    import copy

    from nasbench.report.collect import ReportError, rescore

    bench = Benchmark.load(tiny_table)
    original = run_cli_search(tiny_table, "strategy=rea", "budget.max_evals=8", "budget.seconds=1e6")
    again = rescore(copy.deepcopy(original), bench)
    for a, b in zip(original["trajectory"], again["trajectory"]):
        assert a["incumbent_test"] == pytest.approx(b["incumbent_test"]) and a["regret"] == pytest.approx(b["regret"])
    # a table that lacks a class gives NaN for it and its own optimum
    from nasbench.table.store import read_table, write_table

    partial = read_table(tiny_table)
    missing = original["trajectory"][0]["class_id"]
    partial.entries["done"][missing, :] = False
    write_table(tmp_path / "partial.h5", partial)
    rescored = rescore(copy.deepcopy(original), Benchmark.load(tmp_path / "partial.h5"))
    assert np.isnan(rescored["trajectory"][0]["test_accuracy"])
    constrained = {**copy.deepcopy(original), "constraints": {"params": 10}}
    with pytest.raises(ReportError, match="unconstrained runs only"):
        rescore(constrained, bench)


def test_rescore_converts_one_shot_costs_at_the_truth_tables_rate(tiny_table):
    import copy

    from nasbench.report.collect import ReportError, rescore

    bench = Benchmark.load(tiny_table)
    original = run_cli_search(tiny_table, "strategy=rea", "budget.max_evals=8", "budget.seconds=1e6")
    reference = original["trajectory"][-1]["arch_str"]
    now = bench.query(reference).train_time / bench.num_epochs
    # as if the run had been calibrated when the table charged this cell twice its present epoch time
    one_shot = {**copy.deepcopy(original), "simulated_time": 40.0,
                "calibration": {"reference_arch": reference, "table_epoch_seconds": 2 * now, "simulated_per_cpu_second": 3.0}}
    again = rescore(copy.deepcopy(one_shot), bench)
    assert [row["time"] for row in again["trajectory"]] == pytest.approx([row["time"] / 2 for row in original["trajectory"]])
    assert again["simulated_time"] == pytest.approx(20.0) and again["budget"] == original["budget"]
    assert again["calibration"]["simulated_per_cpu_second"] == pytest.approx(1.5)
    assert again["calibration"]["table_epoch_seconds_at_run"] == pytest.approx(2 * now)
    twice = rescore(copy.deepcopy(again), bench)  # converting again at the same rate changes nothing
    assert [row["time"] for row in twice["trajectory"]] == pytest.approx([row["time"] for row in again["trajectory"]])
    assert twice["calibration"]["table_epoch_seconds_at_run"] == pytest.approx(2 * now)
    assert [row["cost"] for row in again["trajectory"]] == pytest.approx([row["cost"] / 2 for row in original["trajectory"]])
    unknown = {**copy.deepcopy(one_shot), "calibration": {"reference_arch": "|bogus~0|", "table_epoch_seconds": 1.0}}
    with pytest.raises(ReportError, match="reference cell"):
        rescore(unknown, bench)
    without_rate = {**copy.deepcopy(one_shot), "calibration": {"reference_arch": reference}}
    with pytest.raises(ReportError, match="reference cell"):
        rescore(without_rate, bench)
    assert [row["time"] for row in rescore(copy.deepcopy(original), bench)["trajectory"]] == [row["time"] for row in original["trajectory"]]


def test_a_higher_cost_rate_drops_what_falls_past_the_budget_and_a_lower_one_flags_a_budget_stop(tiny_table, tmp_path):
    import copy

    from nasbench.report.collect import ReportError, rescore
    from nasbench.table.store import read_table, write_table

    bench = Benchmark.load(tiny_table)
    original = run_cli_search(tiny_table, "strategy=random", "budget.seconds=40")
    assert original["stop_reason"] == "budget" and len(original["trajectory"]) > 4
    reference = original["trajectory"][0]["arch_str"]
    now = bench.epoch_seconds(reference)

    def as_one_shot(rate_at_run):
        return {**copy.deepcopy(original), "calibration": {"reference_arch": reference, "table_epoch_seconds": rate_at_run}}

    dearer = rescore(as_one_shot(now / 2), bench)  # the truth table charges twice the rate the run paid
    assert len(dearer["trajectory"]) < len(original["trajectory"])
    assert all(row["time"] <= 40 for row in dearer["trajectory"]) and dearer["stop_reason"] == "budget"
    last = dearer["trajectory"][-1]
    assert dearer["final"]["incumbent_index"] == last["incumbent_index"] and dearer["final"]["regret"] == pytest.approx(last["regret"])
    assert dearer["num_evals"] == last["n_evals"]
    cheaper = rescore(as_one_shot(now * 2), bench)
    assert len(cheaper["trajectory"]) == len(original["trajectory"]) and cheaper["stop_reason"] == "budget_at_run_rate"
    with pytest.raises(ReportError, match="after its budget"):
        rescore(as_one_shot(now / 1e6), bench)
    # a reference cell the truth table has not trained: no rate to convert at
    partial = read_table(tiny_table)
    partial.entries["done"][bench.query(reference).class_id, :] = False
    write_table(tmp_path / "partial.h5", partial)
    with pytest.raises(ReportError, match="reference cell"):
        rescore(as_one_shot(now), Benchmark.load(tmp_path / "partial.h5"))


def test_compare_plans_one_shot_runs_once_per_seed(tiny_table):
    from omegaconf import OmegaConf

    from nasbench.cli.schema import register_compare
    from nasbench.search.experiment import plan_comparison

    register_compare()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = OmegaConf.to_container(compose("compare", overrides=[f"benchmark.path={tiny_table}", "strategies=[rea,darts]", "seeds=2"]), resolve=True)
    folders = sorted(str(folder.relative_to(cfg["runs_dir"])) for folder, _ in plan_comparison(cfg))
    assert folders == ["darts/seed000", "darts/seed001", "rea+dedup/seed000", "rea+dedup/seed001", "rea/seed000", "rea/seed001"]


def test_ranking_counts_training_time_only(bench, monkeypatch):
    import time
    import types

    import nasbench.search.oneshot.common as common
    from nasbench.search.oneshot.ranking import ranking_analysis
    from nasbench.search.oneshot.spos import Spos

    score = Spos.score
    skipped = {"seconds": 0.0}  # a wall clock that jumps 100 s in every scoring call, whatever the machine's load
    monkeypatch.setattr(common, "time", types.SimpleNamespace(perf_counter=lambda: time.perf_counter() + skipped["seconds"]))

    def slow_score(self, run, decisions):  # scoring 9 cells now takes >= 900 s per checkpoint
        skipped["seconds"] += 100.0
        return score(self, run, decisions)

    monkeypatch.setattr(Spos, "score", slow_score)
    summary = ranking_analysis(bench, checkpoints=[1, 2, 3], num_classes=9, seed=0, eval_samples=50)["summary"]
    trained = summary["supernet_wall_seconds"].to_numpy()
    assert (trained > 0).all() and (np.diff(trained) > 0).all()
    assert trained[-1] < 100  # three tiny epochs; the scoring at checkpoints 1 and 2 is not in it
    assert (summary["scoring_wall_seconds"] >= 900).all()
