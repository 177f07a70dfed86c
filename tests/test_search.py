"""Strategies, the runner and the search/report commands, on a tiny table built on the fly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nasbench.search import Budget, make_generators, make_strategy, registry, run_search
from nasbench.table import Benchmark

STRATEGIES = registry.classes()  # the ask/tell strategies


@pytest.fixture(scope="module")
def bench(tiny_table) -> Benchmark:
    return Benchmark.load(tiny_table)


def run(bench, name, seed=0, seconds=2.0, skip=False, max_evals=None, **options):
    strategy_rng, runner_rng = make_generators(seed)
    multi = name in STRATEGIES and STRATEGIES[name].objective_mode == "multi"  # these need objectives
    objectives = ["valid_accuracy", "params"] if multi else None
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, objectives=objectives, **options)
    return run_search(strategy, bench, Budget(seconds, max_evals), runner_rng, skip_duplicates=skip)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_runs_within_budget(bench, name):
    result = run(bench, name, seconds=1.5)
    rows = result["trajectory"]
    assert result["num_evals"] == len(rows) > 0
    assert result["simulated_time"] <= 1.5
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    assert rows[-1]["time"] == pytest.approx(result["simulated_time"], abs=1e-5)
    regrets = [r["regret"] for r in rows]
    assert all(r >= -1e-12 for r in regrets)
    for r in rows:
        assert r["regret"] == pytest.approx(result["optimum_test_accuracy"] - r["incumbent_test"])
        assert 1 <= r["epoch"] <= bench.num_epochs
        assert r["seed"] in bench.seeds


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_same_seed_same_trajectory(bench, name):
    a, b = run(bench, name, seed=3), run(bench, name, seed=3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = run(bench, name, seed=4)
    if name != "hyperband":  # different seeds explore differently
        assert [r["index"] for r in a["trajectory"]] != [r["index"] for r in c["trajectory"]] or a["trajectory"] == []


def test_max_evals_caps_the_run(bench):
    result = run(bench, "random", seconds=1e9, max_evals=7)
    assert result["num_evals"] == 7 and result["stop_reason"] == "max_evals"


def test_skipping_duplicates_never_counts_a_class_twice(bench):
    result = run(bench, "rea", seconds=1e9, skip=True, max_evals=100)
    classes = [(r["class_id"], r["epoch"]) for r in result["trajectory"]]
    assert len(classes) == len(set(classes))
    assert result["num_duplicates_skipped"] > 0
    # the tiny space has 9 classes: with duplicates skipped, the search ends once all are seen
    assert result["num_evals"] == bench.num_classes
    assert result["stop_reason"] == "only_duplicates"
    plain = run(bench, "rea", seconds=1e9, max_evals=100)
    assert len({r["class_id"] for r in plain["trajectory"]}) < plain["num_evals"]


def test_hyperband_resumes_promoted_models(bench):
    # eta 2 on the 2-epoch table: brackets of (2 models at epoch 1 -> the best 1 at epoch 2) and (2 at epoch 2)
    result = run(bench, "hyperband", seconds=1e9, max_evals=40, min_epochs=1, eta=2)
    rows = result["trajectory"]
    last_at_epoch1 = {}
    resumed = 0
    for r in rows:
        if r["epoch"] == 1:
            last_at_epoch1[r["class_id"]] = r
            continue
        full = bench.query(r["index"], seed=r["seed"]).train_time
        if r["cost"] < full - 1e-5:  # promoted: pays only the second epoch, on the seed it started with
            start = last_at_epoch1[r["class_id"]]
            assert r["seed"] == start["seed"]
            assert r["cost"] == pytest.approx(full - start["cost"], abs=2e-6)  # costs are rounded to 1e-6 s
            resumed += 1
        else:
            assert r["cost"] == pytest.approx(full, abs=1e-6)
    assert resumed >= 5


class Scripted:
    """A strategy that asks a fixed list of trials and records what it is told."""

    name = "scripted"

    def __init__(self, trials):
        self.trials, self.told = list(trials), []

    def ask(self):
        return self.trials.pop(0)

    def tell(self, trial, observation):
        self.told.append(observation)

    def state(self):
        return {}


def test_each_promoted_model_resumes_its_own_seed_and_pays_its_own_extra_epochs(bench):
    from nasbench.search.base import Trial

    arch = bench.space[int(bench.representatives[3])]
    trials = [Trial(arch, 1, model=1), Trial(arch, 1, model=2),
              Trial(arch, 2, resume=True, model=1), Trial(arch, 2, resume=True, model=2)]
    _, runner_rng = make_generators(1)
    rows = run_search(Scripted(trials), bench, Budget(1e9, max_evals=4), runner_rng)["trajectory"]
    first = {1: rows[0], 2: rows[1]}
    for row, model in zip(rows[2:], (1, 2)):
        assert row["seed"] == first[model]["seed"]
        full = bench.query(arch.index, epoch=2, seed=row["seed"]).train_time
        assert row["cost"] == pytest.approx(full - first[model]["cost"], abs=2e-6) and row["cost"] > 0


def test_hyperband_counts_no_free_evaluations_without_skipping_duplicates(bench):
    for seed in range(5):
        rows = run(bench, "hyperband", seed=seed, seconds=1e9, max_evals=60, eta=2)["trajectory"]
        assert min(r["cost"] for r in rows) > 0


def test_a_diverged_run_is_charged_until_it_diverged_and_the_budget_still_ends_the_search(tiny_table):
    from nasbench.search.base import Trial
    from nasbench.search.strategies.random_search import RandomSearch
    from nasbench.table.store import read_table

    table = read_table(tiny_table)
    c = 2  # every seed of class 2 diverged in epoch 2: NaN metrics there, no time recorded for it
    for name in table.epochs:
        table.epochs[name][c, :, 1:] = np.nan
    table.entries["diverged"][c, :] = True
    diverged = Benchmark(table)
    arch = diverged.space[int(diverged.representatives[c])]
    assert np.isnan(diverged.query(arch.index, seed=0).train_time)

    class DivergedFirst(RandomSearch):
        def ask(self):
            return Trial(arch) if not self.told_any else super().ask()

        def tell(self, trial, observation):
            self.told_any = True

    strategy_rng, runner_rng = make_generators(0)
    strategy = DivergedFirst().start(diverged.space, strategy_rng, diverged.num_epochs)
    strategy.told_any = False
    result = run_search(strategy, diverged, Budget(5.0, max_evals=10_000), runner_rng)
    first = result["trajectory"][0]
    assert first["cost"] == pytest.approx(diverged.query(arch.index, epoch=1, seed=first["seed"]).train_time, abs=1e-6)
    assert result["stop_reason"] == "budget" and 0 < result["simulated_time"] <= 5.0


@pytest.mark.parametrize("name", ["rea", "hyperband", "local_search"])
def test_a_nan_valid_accuracy_ranks_last(bench, name):
    from nasbench.search.base import Observation, Trial

    strategy_rng, _ = make_generators(0)
    options = {"rea": {"population_size": 3, "sample_size": 3}, "hyperband": {"eta": 2}}.get(name, {})
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, **options)
    scores = [float("nan"), 0.9] + [0.5] * (strategy.plan[0]["n"] - 2 if name == "hyperband" else 1)
    trials = [strategy.ask() for _ in scores]  # hyperband: its whole first rung
    for trial, score in zip(trials, scores):
        strategy.tell(trial, Observation(score, 0.5, 1.0, trial.epoch or bench.num_epochs, 1.0))
    if name == "rea":  # the tournament of all three always picks the 0.9 member as the parent
        assert sorted(s for _, s in strategy.population)[0] == float("-inf")
        assert max(strategy.population, key=lambda m: m[1])[0] == trials[1].arch
    elif name == "hyperband":
        promoted = strategy.ask()
        assert promoted.resume and promoted.arch == trials[1].arch and promoted.model == trials[1].model
    else:  # the 0.9 architecture replaced the NaN one as the current point
        assert strategy.current == trials[1].arch and strategy.current_score == 0.9


def test_reinforce_baseline_is_a_debiased_moving_average(bench):
    from nasbench.search.base import Observation

    strategy_rng, _ = make_generators(0)
    agent = make_strategy("reinforce", bench.space, strategy_rng, bench.num_epochs)  # momentum 0.9
    rewards = [0.2, 0.8, 0.5]
    for k, reward in enumerate(rewards, start=1):
        agent.tell(agent.ask(), Observation(reward, reward, 0.0, bench.num_epochs, 1.0))
        weights = 0.9 ** np.arange(k - 1, -1, -1)  # the newest reward weighs most
        assert agent.baseline == pytest.approx(np.dot(weights, rewards[:k]) / weights.sum())
    with pytest.raises(ValueError, match=r"baseline_momentum must be in \[0, 1\)"):
        make_strategy("reinforce", bench.space, strategy_rng, bench.num_epochs, baseline_momentum=1.0)


def test_search_sees_no_test_metrics():
    from nasbench.search.base import Observation

    assert not any("test" in field for field in Observation.__dataclass_fields__)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: run(b, "nope"), "unknown strategy"),
        (lambda b: run(b, "rea", population_size=0), "population_size"),
        (lambda b: run(b, "rea", tournament=3), "unknown option"),
        (lambda b: run(b, "rea", population_size=3, sample_size=5), "sample_size"),
        (lambda b: run(b, "reinforce", controller="gru"), "controller"),
        (lambda b: run(b, "hyperband", eta=1), "eta"),
        (lambda b: run(b, "random", seconds=0), "budget.seconds"),
        (lambda b: run(b, "random", seconds=-5), "budget.seconds"),
        (lambda b: run(b, "random", max_evals=0), "max_evals"),
        (lambda b: run(b, "random", seed=1.5), "seed must be an integer"),
    ],
)
def test_bad_input_is_a_one_line_value_error(bench, call, message):
    with pytest.raises(ValueError, match=message) as info:
        call(bench)
    assert "\n" not in str(info.value)


def test_reinforce_lstm_controller_runs(bench):
    result = run(bench, "reinforce", controller="lstm", max_evals=15, seconds=1e9)
    assert result["num_evals"] == 15


@pytest.mark.slow
def test_cli_same_seed_gives_byte_identical_result_json(tiny_table, tmp_path, cli):
    outs = []
    for name in ("a", "b"):
        result = cli("nasbench-search", "strategy=rea", "seed=7", f"benchmark.path={tiny_table}", "budget.seconds=2",
                     f"hydra.run.dir={tmp_path / name}")
        assert result.returncode == 0, result.stderr
        outs.append((tmp_path / name / "result.json").read_bytes())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["strategy"] == "rea" and data["seed"] == 7 and data["trajectory"]


@pytest.mark.parametrize("app", ["search", "compare"])
def test_budget_defaults_to_the_benchmarks_own(app):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    import nasbench.cli.compare  # noqa: F401  (registers the structured schemas)
    import nasbench.cli.search  # noqa: F401
    from nasbench.cli.common import CONF_DIR

    def budget(*overrides):
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            return OmegaConf.to_container(compose(app, overrides=list(overrides)), resolve=True)["budget"]

    assert budget() == {"seconds": None, "evaluations": 100, "max_evals": None}
    assert budget("benchmark=surrogate")["evaluations"] == 100
    assert budget("benchmark=blocks")["evaluations"] == 23  # 208 classes: 100 evaluations would be half of them
    assert budget("benchmark=blocks", "budget.seconds=40")["seconds"] == 40


@pytest.mark.slow
def test_a_budget_in_evaluations_is_that_many_mean_full_evaluations_of_the_table(bench, tiny_table, cli):
    from nasbench.search import resolve_budget

    times = bench.query_batch(np.arange(len(bench)))["train_time"]  # every architecture, to the last epoch
    assert bench.evaluation_seconds == pytest.approx(times.mean())
    budget, record = resolve_budget({"seconds": None, "evaluations": 10, "max_evals": None}, bench)
    assert budget.seconds == pytest.approx(10 * times.mean()) and budget.max_evals is None
    assert record == {"seconds": budget.seconds, "max_evals": None, "evaluations": 10.0,
                      "evaluation_seconds": bench.evaluation_seconds, "evaluation_seconds_from": "the table"}
    given, record = resolve_budget({"seconds": 3.5, "evaluations": 10, "max_evals": 4}, bench)  # seconds win
    assert (given.seconds, given.max_evals, record["evaluations"]) == (3.5, 4, None)
    for bad, message in (({"seconds": None, "evaluations": None}, "give budget.seconds"),
                         ({"seconds": None, "evaluations": 0}, "budget.evaluations"),
                         ({"seconds": -1.0, "evaluations": 10}, "budget.seconds")):
        with pytest.raises(ValueError, match=message):
            resolve_budget(bad, bench)
    result = cli("nasbench-search", "strategy=random", f"benchmark.path={tiny_table}", "budget.evaluations=3",
                 f"hydra.run.dir={bench.path.parent / 'ev'}")
    assert result.returncode == 0, result.stderr
    data = json.loads((bench.path.parent / "ev" / "result.json").read_text())
    assert data["budget"]["seconds"] == pytest.approx(3 * times.mean()) and data["simulated_time"] <= data["budget"]["seconds"]
    assert re.search(r"incumbent test \d+\.\d\d%, regret \d+\.\d\d points", result.stdout), result.stdout  # points, not fractions


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, expected",
    [
        ("strategy=nope", "strategy"),
        ("seed=abc", "seed"),
        ("budget.seconds=0", "budget.seconds"),
        ("budget.seconds=-1", "budget.seconds"),
        ("+strategy.bogus=1", "unknown option"),
    ],
)
def test_cli_bad_input(tiny_table, tmp_path, override, expected, cli):
    result = cli("nasbench-search", f"benchmark.path={tiny_table}", override, f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert expected in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_multirun_and_report_tolerate_a_failed_run(tiny_table, tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli("nasbench-search", "-m", "strategy=random,rea", "seed=range(0,5)", f"benchmark.path={tiny_table}",
                 "budget.seconds=1", f"hydra.sweep.dir={sweep}", "launcher=basic")
    assert result.returncode == 0, result.stderr
    assert len(list(sweep.rglob("result.json"))) == 10
    victim = sorted(sweep.rglob("result.json"))[0]
    victim.unlink()  # a crashed run
    report = cli("nasbench-report", str(sweep), "--out", str(tmp_path / "rep"), timeout=300)
    assert report.returncode == 0, report.stderr
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "Failed or missing runs" in readme and str(victim.parent) in readme
    assert "`median_diff`: median over the seeds both ran of a's final regret minus b's (percentage points)" in readme
    for name in ("regret.png", "ranks.png", "final_test.png", "effects.png", "final.csv", "effects.csv", "wilcoxon_holm.csv", "summary.json"):
        assert (tmp_path / "rep" / name).exists(), name
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert set(summary["final"]) == {"random", "rea"}


@pytest.mark.slow
@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_report_on_empty_or_missing_dir_fails_cleanly(tmp_path, make, cli):
    result = cli("nasbench-report", str(make(tmp_path)), timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


# ---------------------------------------------------------------------- report: refusals and honest wording
def write_runs(folder: Path, table: Path, *runs) -> Path:
    """Write the result.json of each ``(strategy, seed, *overrides)`` run into its own job folder under ``folder``."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register_search
    from nasbench.search.experiment import search, write_json

    register_search()
    for k, (strategy, seed, *overrides) in enumerate(runs):
        budget = [] if any(o.startswith("budget.seconds=") for o in overrides) else ["budget.seconds=1"]
        with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
            cfg = compose("search", overrides=[f"benchmark.path={table}", f"strategy={strategy}", f"seed={seed}", *budget, *overrides])
        write_json(folder / str(k) / "result.json", search(OmegaConf.to_container(cfg, resolve=True)))
    return folder


def assert_refused(result, *words):
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.slow
def test_plain_report_refuses_a_multi_objective_sweep(tiny_table, tmp_path, cli):
    objectives = "objectives=[valid_accuracy,params]"
    sweep = write_runs(tmp_path / "mo", tiny_table, ("mo_random", 0, objectives), ("nsga2", 0, objectives))
    assert_refused(cli("nasbench-report", sweep, "--out", tmp_path / "rep"), "multi-objective", "--pareto")
    assert not (tmp_path / "rep" / "README.md").exists()


@pytest.mark.slow
def test_report_refuses_runs_with_different_budgets(tiny_table, tmp_path, cli):
    from nasbench.report.collect import ReportError
    from nasbench.report.comparison import write_report
    from nasbench.report.pareto import write_pareto_report

    seconds = write_runs(tmp_path / "s", tiny_table, ("random", 0), ("random", 1), ("rea", 0, "budget.seconds=2"))
    assert_refused(cli("nasbench-report", seconds, "--out", tmp_path / "rep"), "different budgets", "budget.seconds: 1, 2")
    evals = write_runs(tmp_path / "e", tiny_table, ("random", 0), ("rea", 0, "budget.max_evals=5"))
    with pytest.raises(ReportError, match=r"budget\.max_evals: 5, none"):
        write_report(evals, tmp_path / "rep")
    objectives = "objectives=[valid_accuracy,params]"
    pareto = write_runs(tmp_path / "p", tiny_table, ("mo_random", 0, objectives), ("nsga2", 0, objectives, "budget.seconds=2"))
    with pytest.raises(ReportError, match=r"budget\.seconds: 1, 2"):
        write_pareto_report(pareto, tmp_path / "rep")


def test_report_header_and_findings_are_honest_about_uneven_seeds(tiny_table, tmp_path):
    from nasbench.report.comparison import runs_text, seed_text, write_report

    sweep = write_runs(tmp_path / "s", tiny_table, ("random", 0), ("random", 1), ("rea", 0))
    readme = (write_report(sweep, tmp_path / "rep") / "README.md").read_text()
    assert "(3 runs of 2 strategies, not all on the same seeds: random seeds 0-1; rea seed 0)" in readme
    finding = next(line for line in readme.splitlines() if line.startswith("- **rea**"))
    assert "beat" not in finding and "means over 1 and 2 runs" in finding
    assert "not significant (Wilcoxon signed-rank on 1 paired seed, Holm-corrected p = 1)" in finding
    one = write_runs(tmp_path / "one", tiny_table, ("random", 0))
    readme = (write_report(one, tmp_path / "rep1") / "README.md").read_text()
    assert "(1 run: 1 strategy x 1 seed)" in readme and "- Only **random** ran (1 run): mean final regret" in readme
    import pandas as pd

    balanced = pd.DataFrame({"label": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1]})
    assert runs_text(balanced) == "4 runs: 2 strategies x 2 seeds"
    assert seed_text([5, 0, 2, 1]) == "seeds 0-2, 5" and seed_text([3]) == "seed 3"


def test_report_findings_say_beats_only_when_significant():
    import pandas as pd

    from nasbench.report.comparison import findings

    table = pd.DataFrame({"runs": [20, 20, 20, 20], "regret_mean": [0.001, 0.002, 0.003, 0.004]}, index=["rea", "ls", "random", "bo"])
    tests = pd.DataFrame({"a": ["rea", "ls", "bo"], "b": ["random"] * 3, "n": [20, 20, 0], "p_holm": [0.01, 0.4, 1.0]})
    lines = dict(zip(["rea", "ls", "bo"], findings(table, tests)))
    assert lines["rea"].startswith("**rea** beats `random`: mean final regret 0.10 vs 0.30 points") and "significant at 0.05" in lines["rea"]
    assert lines["ls"] == ("**ls** has a lower mean final regret than `random` (0.20 vs 0.30 points), "
                           "not significant (Wilcoxon signed-rank on 20 paired seeds, Holm-corrected p = 0.4).")
    assert "beat" not in lines["ls"] and lines["bo"].endswith("not tested: no seed ran both.")


@pytest.mark.slow
def test_report_of_two_strategies_and_five_seeds_is_complete(tiny_table, tmp_path, cli):
    # the most natural first sweep: autorank draws no diagram for two groups, which once crashed the report
    sweep = write_runs(tmp_path / "s", tiny_table, *[(name, seed) for name in ("random", "rea") for seed in range(5)])
    result = cli("nasbench-report", sweep, "--out", tmp_path / "rep")
    assert result.returncode == 0, result.stderr
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "(10 runs: 2 strategies x 5 seeds)" in readme
    assert ("Left out: the Friedman test and its diagram rank three or more strategies; this sweep has 2 (random, rea), "
            "compared by the pairwise Wilcoxon test above.") in readme
    assert not (tmp_path / "rep" / "critical_difference.png").exists()
    finding = next(line for line in readme.splitlines() if line.startswith("- **rea**"))
    assert re.search(r"; difference [+-]?\d\.\d{3} \[[+-]?\d\.\d{3}, [+-]?\d\.\d{3}\] points", finding), finding
    assert "| rea | 5 |" in readme and "![effect sizes](effects.png)" in readme and "(baseline)" in readme
    assert readme.count("Power: with 5 seeds per strategy") == 1
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    effects = summary["effects"]["rea"]
    assert effects["low"] <= effects["mean"] <= effects["high"] and effects["paired_seeds"] == 5
    for name in ("regret.png", "ranks.png", "effects.png", "effects.csv"):
        assert (tmp_path / "rep" / name).stat().st_size > 0, name


def test_report_of_one_strategy_says_what_it_leaves_out(tiny_table, tmp_path):
    from nasbench.report.comparison import write_report

    sweep = write_runs(tmp_path / "s", tiny_table, *[("rea", seed) for seed in range(5)])
    readme = (write_report(sweep, tmp_path / "rep") / "README.md").read_text()
    assert "(5 runs: 1 strategy x 5 seeds)" in readme and "- Only **rea** ran (5 runs)" in readme
    assert "Left out: ranks compare two or more strategies; this sweep has one." in readme
    assert "Left out: a pairwise test needs at least two strategies; this sweep has one." in readme
    assert "Left out: the Friedman test and its diagram rank three or more strategies; this sweep has 1 (rea)." in readme
    assert "(The panel relative to `random` is left out: no random runs in this sweep.)" in readme
    assert "Only one strategy ran: no differences between strategies or shares of regret closed." in readme
    assert not (tmp_path / "rep" / "ranks.png").exists() and (tmp_path / "rep" / "regret.png").exists()
    one = write_runs(tmp_path / "one", tiny_table, ("random", 0))  # one run: no spread, no interval, no power
    readme = (write_report(one, tmp_path / "rep1") / "README.md").read_text()
    assert "| random | 1 | " in readme and "[n/a]" in readme and "Power: left out" in readme


def test_compare_of_one_strategy_with_and_without_duplicates_reports(tiny_table, tmp_path, cli):
    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", "strategies=[random]", "seeds=5",
                              "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}",
                              f"hydra.run.dir={tmp_path / 'h'}", "progress=false")
    assert code == 0, err
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "(10 runs: 2 strategies x 5 seeds)" in readme and "| random+dedup | 5 |" in readme


def test_compare_runs_one_shot_strategies_on_their_own_seeds():
    from nasbench.search.experiment import plan_comparison

    cfg = {"strategies": ["random", "darts"], "seeds": 100, "one_shot_seeds": 3, "skip_duplicates": [False, True],
           "budget": {"seconds": None, "evaluations": 100, "max_evals": None}, "benchmark": {"kind": "table"},
           "runs_dir": "runs"}
    runs = plan_comparison(cfg)
    counts = {}
    for folder, run in runs:
        counts[folder.parent.name] = counts.get(folder.parent.name, 0) + 1
    assert counts == {"random": 100, "random+dedup": 100, "darts": 3}
    with pytest.raises(ValueError, match="one_shot_seeds must be >= 1, got 0"):
        plan_comparison({**cfg, "one_shot_seeds": 0})


def test_effect_sizes_intervals_shares_and_power():
    import pandas as pd

    from nasbench.report.effects import detectable_difference, effect_sizes

    rng = np.random.default_rng(1)
    base = 0.004 + 0.001 * rng.standard_normal(100)
    better = base - 0.001 + 0.0005 * rng.standard_normal(100)  # paired seeds: lower by about a quarter
    runs = pd.DataFrame({"label": ["random"] * 100 + ["rea"] * 100, "seed": [*range(100), *range(100)],
                         "final_regret": [*base, *better]})
    anytime = pd.Series([*2 * base, *2 * better], index=pd.MultiIndex.from_frame(runs[["label", "seed"]]))
    effects = effect_sizes(runs, "final_regret", "random", anytime)
    rea = effects.loc["rea"]
    assert rea["mean"] == pytest.approx(better.mean()) and rea["low"] < rea["mean"] < rea["high"]
    assert rea["difference"] == pytest.approx(better.mean() - base.mean())
    assert rea["difference_low"] < rea["difference"] < rea["difference_high"] < 0  # a real difference: the interval excludes 0
    assert rea["closed"] == pytest.approx(1 - better.mean() / base.mean()) and rea["closed_low"] < rea["closed"] < rea["closed_high"]
    assert rea["paired_seeds"] == 100 and rea["anytime"] == pytest.approx(2 * better.mean())
    assert np.isnan(effects.loc["random", "difference"]) and list(effects.index) == ["rea", "random"]  # lowest first
    power = detectable_difference(runs, "final_regret")
    assert power["seeds"] == 100 and power["sd_units"] == pytest.approx(0.398, abs=0.002)  # about 4 / sqrt(n)
    assert power["difference"] == pytest.approx(power["sd_units"] * power["sd"])
    lone = effect_sizes(runs[runs["label"] == "rea"].head(1), "final_regret", "random")  # one run, no baseline
    assert np.isnan(lone.loc["rea", "low"]) and np.isnan(lone.loc["rea", "difference"])
    assert detectable_difference(runs.groupby("label").head(1), "final_regret") is None


@pytest.mark.slow
def test_report_fidelity_refuses_the_same_folder_or_a_table_sweep(tiny_table, tmp_path, cli):
    runs = [("random", 0), ("random", 1), ("rea", 0), ("rea", 1)]
    table, other = write_runs(tmp_path / "table", tiny_table, *runs), write_runs(tmp_path / "other", tiny_table, *runs)
    assert_refused(cli("nasbench-report", table, "--fidelity", table, "--out", tmp_path / "rep"), "the table sweep itself", "benchmark=surrogate")
    assert_refused(cli("nasbench-report", table, "--fidelity", other, "--out", tmp_path / "rep"), "not surrogate")
    assert_refused(cli("nasbench-report", other, "--fidelity", table, "--out", tmp_path / "rep"), "not surrogate")
    for path in other.rglob("result.json"):  # only the recorded kind is read: relabelled, the pair is accepted
        data = json.loads(path.read_text())
        data["benchmark"]["kind"] = "surrogate"
        path.write_text(json.dumps(data))
    assert_refused(cli("nasbench-report", other, "--fidelity", table, "--out", tmp_path / "rep"), "not table")
    result = cli("nasbench-report", table, "--fidelity", other, "--out", tmp_path / "rep")
    assert result.returncode == 0, result.stderr


def test_report_lists_failed_runs_readably(tiny_table, tmp_path):
    from nasbench.report.comparison import write_report

    sweep = write_runs(tmp_path / "s", tiny_table, ("random", 0), ("rea", 0))
    for job, log in (("2", ""), ("3", "starting\nerror: strategy nsga2 is multi-objective\n\n")):
        (sweep / job / ".hydra").mkdir(parents=True)
        (sweep / job / ".hydra" / "overrides.yaml").write_text("- strategy=nsga2\n- seed=0\n- budget.seconds=1\n")
        (sweep / job / "search.log").write_text(log)
    readme = (write_report(sweep, tmp_path / "rep") / "README.md").read_text()
    listed = readme.split("## Failed or missing runs")[1].strip().splitlines()
    assert listed[0] == f"- `{sweep / '2'} (no result.json; overrides: strategy=nsga2 seed=0 budget.seconds=1)`"
    assert listed[1] == (f"- `{sweep / '3'} (no result.json; overrides: strategy=nsga2 seed=0 budget.seconds=1; "
                         "last line of search.log: error: strategy nsga2 is multi-objective)`")


@pytest.mark.slow
def test_a_result_with_a_non_integer_seed_is_named_by_its_file(tiny_table, tmp_path, cli):
    sweep = write_runs(tmp_path / "s", tiny_table, ("random", 0), ("random", 1))
    for job in ("0", "1"):
        path = sweep / job / "result.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "seed": "abc"}))
        result = cli("nasbench-report", sweep, "--out", tmp_path / "rep")
        if job == "0":  # listed among the failed runs, with why; the other run is reported
            assert result.returncode == 0, result.stderr
            listed = (tmp_path / "rep" / "README.md").read_text().split("## Failed or missing runs")[1]
            assert f"{sweep / '0'} (result.json: seed 'abc' is not an integer)" in listed
    assert_refused(result, f"{sweep / '0'} (result.json: seed 'abc' is not an integer)")


# ---------------------------------------------------------------- nasbench-compare
def test_reports_record_how_they_were_made(tiny_table, tmp_path, cli):
    import shlex

    from nasbench.provenance import code_sha256, git_commit, library_versions

    args = [f"benchmark.path={tiny_table}", "strategies=[random,rea]", "seeds=2", "skip_duplicates=[false]",
            "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}"]
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    made = json.loads((tmp_path / "rep" / "summary.json").read_text())["provenance"]
    assert made["command"] == shlex.join(["nasbench-compare", *args, "progress=false"])  # quoted as a shell needs it
    assert made["git_commit"] == git_commit() and made["run_git_commits"] == [git_commit()]
    assert made["code_sha256"] == code_sha256() and made["run_code_sha256s"] == [code_sha256()]
    assert made["versions"] == library_versions() and made["run_versions"] == [library_versions()]
    [benchmark] = made["benchmarks"]
    assert benchmark["path"] == "tiny.h5" and benchmark["complete"] and benchmark["dataset_fingerprint"]
    assert f"Made by `nasbench-compare benchmark.path={tiny_table}" in (tmp_path / "rep" / "README.md").read_text()


def test_report_rows_do_not_depend_on_the_order_runs_are_listed(tiny_table, tmp_path, cli):
    from nasbench.report.collect import collect

    args = [f"benchmark.path={tiny_table}", "strategies=[rea,random]", "seeds=2", "skip_duplicates=[false]",
            "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}"]
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    listed = sorted((tmp_path / "runs").rglob("result.json"))
    forward, backward = collect(tmp_path / "runs", only=listed), collect(tmp_path / "runs", only=listed[::-1])
    assert forward.trajectory["label"].iloc[0] == "random" and forward.trajectory["label"].iloc[-1] == "rea"
    assert forward.trajectory.equals(backward.trajectory) and forward.runs.equals(backward.runs)


def test_report_names_runs_that_ended_before_their_budget(tiny_table, tmp_path, cli):
    # the tiny table has 9 classes: with duplicates skipped, a large budget outlasts them and the runs converge
    args = [f"benchmark.path={tiny_table}", "strategies=[random,rea]", "seeds=2", "skip_duplicates=[false,true]",
            "budget.seconds=1000", "budget.max_evals=30", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}",
            f"hydra.run.dir={tmp_path / 'h'}"]
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    readme = (tmp_path / "rep" / "README.md").read_text()
    section = readme.split("## Runs that ended before their budget")[1].split("\n\nTables:")[0]
    listed = [line for line in section.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in listed] == ["- `random+dedup`", "- `rea+dedup`"]
    assert all("2 of 2 runs" in line and "converged" in line for line in listed)
    runs = (tmp_path / "rep" / "runs.csv").read_text().splitlines()
    assert "stop_reason" in runs[0] and sum(",max_evals," in line for line in runs) == 4


def test_early_stops_say_why_for_every_reason():
    import pandas as pd

    from nasbench.report.comparison import early_stops_markdown

    runs = pd.DataFrame({
        "label": ["optuna+dedup", "optuna+dedup", "darts", "odd", "random"],
        "stop_reason": ["only_duplicates", "budget", "epochs", "something_new", "max_evals"],
        "simulated_time": [1000.0, 3000.0, 500.0, 20.0, 10.0],
        "max_consecutive_duplicates": [100, 100, None, None, None],
    })
    lines = early_stops_markdown(runs, holds="front")
    assert "Their front holds to the end of the budget" in lines[3]
    assert lines[5:] == [
        "- `darts`: 1 of 1 runs, after 500 simulated s on average: it trained its supernet for all its epochs and "
        "derived its architecture within the budget",
        "- `odd`: 1 of 1 runs, after 20 simulated s on average: stop reason `something_new`",
        "- `optuna+dedup`: 1 of 2 runs, after 1,000 simulated s on average: it proposed only classes it had "
        "evaluated, 100 in a row (converged, or nearly)",
    ]
    assert early_stops_markdown(runs[runs["stop_reason"].isin(["budget", "max_evals"])]) == []


def test_compare_reruns_runs_of_another_table_or_code(tiny_table, tmp_path, monkeypatch, cli):
    import shutil

    import h5py

    import nasbench.provenance as provenance

    commit = {"now": "a" * 40}  # the code's identity, whatever state this checkout is in
    monkeypatch.setattr(provenance, "git_commit", lambda: commit["now"])
    table = tmp_path / "t.h5"
    shutil.copy(tiny_table, table)
    args = [f"benchmark.path={table}", "strategies=[random,rea]", "seeds=2", "skip_duplicates=[false]",
            "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}"]
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept 4 finished runs" in out
    stale = tmp_path / "runs" / "rea" / "seed001" / "result.json"
    data = json.loads(stale.read_text())
    stale.write_text(json.dumps({**data, "git_commit": "0" * 40}))  # made by other code
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept 3 finished runs" in out and json.loads(stale.read_text())["git_commit"] != "0" * 40
    with h5py.File(table, "r+") as f:
        f.attrs["git_commit"] = "1" * 40  # the same path now holds another table
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept" not in out
    assert all(json.loads(p.read_text())["benchmark"]["resolved"]["table_git_commit"] == "1" * 40
               for p in (tmp_path / "runs").rglob("result.json"))
    commit["now"] = "a" * 40 + "-dirty"  # uncommitted changes: a new commit identity, so the runs run again
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept" not in out
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")  # the same uncommitted files: their hash vouches for them
    assert code == 0 and "kept 4 finished runs" in out
    monkeypatch.setattr(provenance, "code_sha256", lambda: "f" * 64)  # the files changed again
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept" not in out
    commit["now"] = "unknown"  # an installed copy: no git, the hash alone names the code
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept 4 finished runs" in out
    versions = dict(provenance.library_versions())
    monkeypatch.setattr(provenance, "library_versions", lambda: {**versions, "numpy": "0.0"})  # another numpy
    code, out, _ = cli.inline("nasbench-compare", *args, "progress=false")
    assert code == 0 and "kept" not in out


def test_compare_loads_the_benchmark_once_and_its_runs_match_single_runs(tiny_table, tmp_path, monkeypatch, cli):
    import nasbench.search.experiment as search_module

    loads = []
    real_load = search_module.load_benchmark
    monkeypatch.setattr(search_module, "load_benchmark", lambda cfg: loads.append(cfg) or real_load(cfg))
    args = [f"benchmark.path={tiny_table}", "strategies=[random,rea]", "seeds=2", "skip_duplicates=[false]",
            "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}"]
    assert cli.inline("nasbench-compare", *args, "progress=false")[0] == 0
    assert len(loads) == 1  # not once per run (a surrogate takes seconds to load)
    shared = json.loads((tmp_path / "runs" / "rea" / "seed001" / "result.json").read_text())
    alone = search_module.search(shared["config"])  # the same run with its own freshly loaded benchmark
    assert alone["trajectory"] == shared["trajectory"] and alone["final"] == shared["final"]


def test_compare_lists_a_failed_run_and_goes_on(tiny_table, tmp_path, monkeypatch, cli):
    import nasbench.search.experiment as search_module

    real = search_module.search

    def crash_one(cfg, *args, **kwargs):
        if cfg["strategy"]["name"] == "rea" and cfg["seed"] == 1:
            raise RuntimeError("out of memory\nand a second line")
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(search_module, "search", crash_one)
    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", "strategies=[random,rea]", "seeds=3",
                              "skip_duplicates=[false]", "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}",
                              f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}", "progress=false")
    assert code == 0 and "error: run rea/seed001: out of memory" in err
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "Failed or missing runs" in readme and "seed001 (failed: RuntimeError: out of memory)" in readme


@pytest.mark.parametrize("override, message", [
    ("strategies=[random,random]", r"strategies lists random twice; name each strategy once"),
    ("strategies=[random,nsga2]", r"strategy nsga2 is multi-objective"),
    ("skip_duplicates=[]", r"skip_duplicates must list false, true or both, each once, got \[\]"),
    ("constraint.params=1", r"smallest achievable params"),
])
def test_compare_checks_everything_before_the_first_run(tiny_table, tmp_path, override, message, cli):
    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", override, "seeds=2",
                              "budget.seconds=1", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}",
                              f"hydra.run.dir={tmp_path / 'h'}", "progress=false")
    assert code == 2 and re.search(message, err), err
    assert not (tmp_path / "runs").exists()


def test_compare_reports_a_bad_budget_once_before_planning(tiny_table, tmp_path, cli):
    code, out, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", "budget.seconds=-5",
                                f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", "progress=false")
    assert code == 2 and err == "error: budget.seconds must be a finite number > 0, got -5.0\n" and not out
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
@pytest.mark.parametrize("entry, args", [
    ("search", ["budget.seconds=-5"]),
    ("search", ["strategy=rea", "strategy.population_size=0"]),
    ("build", ["space=tiny", "dataset=tiny", "train=quick", "seeds=[]", "output=t.h5"]),
])
def test_a_refused_run_leaves_no_output_folder(entry, args, tiny_table, tmp_path, cli):
    (tmp_path / "outputs" / entry / "an-earlier-run").mkdir(parents=True)
    (tmp_path / "outputs" / entry / "an-earlier-run" / "result.json").write_text("{}\n")
    for earlier in (True, False):  # with an earlier run's folder beside it, and alone
        table = [f"benchmark.path={tiny_table}"] if entry == "search" else ["progress=false"]
        result = cli(f"nasbench-{entry}", *args, *table, cwd=tmp_path, timeout=300)
        assert result.returncode == 2 and result.stderr.startswith("error: "), result.stderr
        left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
        assert left == (["outputs", f"outputs/{entry}", f"outputs/{entry}/an-earlier-run",
                         f"outputs/{entry}/an-earlier-run/result.json"] if earlier else []), left
        if earlier:
            shutil.rmtree(tmp_path / "outputs")


def random_sweep_in_process(cli, table, sweep, *overrides) -> tuple[int, str, str]:
    """``nasbench-search -m strategy=random seed=0,1`` in this process (basic launcher): exit status, stdout, stderr."""
    return cli.inline("nasbench-search", "-m", "strategy=random", "seed=0,1", "budget.seconds=1",
                      f"benchmark.path={table}", f"hydra.sweep.dir={sweep}", "launcher=basic", *overrides)


def fail_for_seed(monkeypatch, name, seed, error):
    """Make ``nasbench.search.experiment.<name>`` (``search(cfg)`` or ``write_json(path, data)``) raise ``error`` for ``seed``."""
    import nasbench.search.experiment as search_module

    real = getattr(search_module, name)

    def failing(*args):
        config = args[0] if name == "search" else args[-1]  # search(cfg, benchmark, ...), write_json(path, data)
        if config["seed"] == seed:
            raise error
        return real(*args)

    monkeypatch.setattr(search_module, name, failing)


def test_a_crashing_job_does_not_stop_a_sweep(tiny_table, tmp_path, monkeypatch, cli):
    """A bug in one job (not bad input) is recorded with its trace; the sweep goes on and exits 1."""
    fail_for_seed(monkeypatch, "search", 0, RuntimeError("out of memory\nand a second line"))
    sweep = tmp_path / "sweep"
    code, _, err = random_sweep_in_process(cli, tiny_table, sweep)
    assert code == 1
    assert "error: job 0 (strategy=random seed=0" in err and "RuntimeError: out of memory" in err
    recorded = (sweep / "0" / "error.txt").read_text()
    assert recorded.startswith("RuntimeError: out of memory\n") and "Traceback" in recorded
    assert (sweep / "1" / "result.json").exists() and not (sweep / "1" / "error.txt").exists()
    from nasbench.report.collect import missing_run

    assert missing_run(sweep / "0") == f"{sweep / '0'} (failed: RuntimeError: out of memory)"


def test_a_sweep_run_again_keeps_the_jobs_that_finished(tiny_table, tmp_path, monkeypatch, cli):
    import nasbench.search.experiment as search_module

    sweep = tmp_path / "sweep"
    assert random_sweep_in_process(cli, tiny_table, sweep)[0] == 0
    first = {job: (sweep / job / "result.json").read_bytes() for job in ("0", "1")}
    (sweep / "1" / "result.json").unlink()  # a job the sweep did not finish
    (sweep / "0" / ".unfinished").write_text("left by a killed attempt after its result was written\n")
    ran = []
    real = search_module.search
    monkeypatch.setattr(search_module, "search", lambda cfg, *args: ran.append(cfg["seed"]) or real(cfg, *args))
    code, out, _ = random_sweep_in_process(cli, tiny_table, sweep)
    assert code == 0
    assert ran == [1]  # only the job without a result ran again, into the same bytes
    assert {job: (sweep / job / "result.json").read_bytes() for job in ("0", "1")} == first
    assert not (sweep / "0" / ".unfinished").exists()
    assert f"random seed=0: kept the finished result {sweep / '0' / 'result.json'}" in out
    # a result of another config (here another budget) does not stand in for the run, nor one of other code
    assert random_sweep_in_process(cli, tiny_table, sweep, "budget.max_evals=3")[0] == 0
    assert ran == [1, 0, 1]
    for job in ("0", "1"):
        path = sweep / job / "result.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "code_sha256": "another"}))
    assert random_sweep_in_process(cli, tiny_table, sweep, "budget.max_evals=3")[0] == 0
    assert ran == [1, 0, 1, 0, 1]


def test_failed_jobs_are_told_by_file_stamps_not_clocks(tmp_path):
    """An error.txt from this sweep counts even when the file system's clock is behind; an old one does not."""
    import os

    from omegaconf import OmegaConf

    from nasbench.cli.search import FailedJobsCallback

    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "error.txt").write_text("from an earlier sweep in this folder\n")
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    callback = FailedJobsCallback()
    callback.on_multirun_start(config)
    (sweep / "1").mkdir()
    (sweep / "1" / "error.txt").write_text("failed now\n")
    os.utime(sweep / "1" / "error.txt", (0, 0))  # a file server whose clock is far behind
    with pytest.raises(SystemExit) as exit_info:
        callback.on_multirun_end(config)
    assert exit_info.value.code == 1
    callback.on_multirun_start(config)
    callback.on_multirun_end(config)  # nothing new: the sweep succeeded


def test_a_job_whose_result_cannot_be_written_fails_alone(tiny_table, tmp_path, monkeypatch, cli):
    fail_for_seed(monkeypatch, "write_json", 0, OSError(28, "No space left on device"))
    sweep = tmp_path / "sweep"
    assert random_sweep_in_process(cli, tiny_table, sweep)[0] == 1
    assert "No space left on device" in (sweep / "0" / "error.txt").read_text()
    assert (sweep / "1" / "result.json").exists()


def test_a_job_that_cannot_record_its_failure_still_fails_the_sweep(tiny_table, tmp_path, monkeypatch, cli):
    real_write_text = Path.write_text

    def no_room_for_error_txt(self, *args, **kwargs):
        if self.name == "error.txt" or self.name.startswith(".error.txt."):  # the file or its temporary one
            raise OSError(28, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    fail_for_seed(monkeypatch, "write_json", 0, OSError(28, "No space left on device"))
    monkeypatch.setattr(Path, "write_text", no_room_for_error_txt)
    sweep = tmp_path / "sweep"
    code, _, err = random_sweep_in_process(cli, tiny_table, sweep)
    assert code == 1
    assert "its error.txt could not be written" in err
    assert "error: 1 job(s) of the sweep failed (0: no error.txt could be written, see the job's stderr or log)" in err
    assert not (sweep / "0" / "error.txt").exists() and (sweep / "0" / ".unfinished").exists()
    assert (sweep / "1" / "result.json").exists() and not (sweep / "1" / ".unfinished").exists()


@pytest.mark.parametrize("output", ["${strategy.name}/result.json", "run_${seed}.json", "sub/result.json"])
def test_a_sweep_counts_each_failed_job_once_whatever_its_output_file(tiny_table, tmp_path, monkeypatch, output, cli):
    sweep = tmp_path / "sweep"
    assert random_sweep_in_process(cli, tiny_table, sweep, f"output={output}")[0] == 0  # every job succeeded
    assert len(list(sweep.rglob("*.json"))) == 2 and not list(sweep.rglob(".unfinished"))
    fail_for_seed(monkeypatch, "search", 1, ValueError("strategy nope is unknown"))
    for finished in (sweep / "1").rglob("*.json"):  # job 1 runs again (the sweep keeps finished jobs)
        finished.unlink()
    code, _, err = random_sweep_in_process(cli, tiny_table, sweep, f"output={output}")  # the same folder, reused
    assert code == 1
    [failed] = [line for line in err.splitlines() if "job(s) of the sweep failed" in line]
    folder = str(Path("1") / Path(output.replace("${strategy.name}", "random").replace("${seed}", "1")).parent)
    assert failed.startswith(f"error: 1 job(s) of the sweep failed ({Path(folder)}: each folder's error.txt says why)")


@pytest.mark.slow
def test_a_failing_job_does_not_stop_a_sweep(tiny_table, tmp_path, cli):
    sweep = tmp_path / "sweep"
    result = cli("nasbench-search", "-m", "strategy=rea", "budget.seconds=0.001,1", "seed=0",
                 f"benchmark.path={tiny_table}", f"hydra.sweep.dir={sweep}", "launcher=basic")
    assert result.returncode == 1, result.stderr
    assert "error: job 0 (strategy=rea budget.seconds=0.001 seed=0" in result.stderr and "Traceback" not in result.stderr
    assert "error: 1 job(s) of the sweep failed (0: each folder's error.txt says why)" in result.stderr
    assert (sweep / "0" / "error.txt").read_text().startswith("budget.seconds=0.001 ran out before the first evaluation")
    assert (sweep / "1" / "result.json").exists()
    report = cli("nasbench-report", str(sweep), "--out", str(tmp_path / "rep"), timeout=300)
    assert report.returncode == 0, report.stderr
    assert "failed: budget.seconds=0.001 ran out" in (tmp_path / "rep" / "README.md").read_text()


def test_report_lines_pair_a_strategy_with_its_dedup_variant():
    from nasbench.report.comparison import strategy_styles

    styles = strategy_styles(["rea", "rea+dedup", "random", "random+dedup", "hyperband"])
    assert styles["rea"]["color"] == styles["rea+dedup"]["color"] != styles["random"]["color"]
    assert (styles["rea"]["ls"], styles["rea+dedup"]["ls"]) == ("-", "--")
    assert len({styles[label]["color"] for label in ("rea", "random", "hyperband")}) == 3
    many = [f"s{i}" for i in range(25)] + ["x[a=b+c]", "x[a=b+c]+dedup"]
    styles = strategy_styles(many)
    assert len({(styles[label]["color"], styles[label]["ls"]) for label in many}) == len(many)
    assert styles["x[a=b+c]"]["ls"] != styles["x[a=b+c]+dedup"]["ls"]
