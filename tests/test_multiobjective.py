"""Constraints, multi-objective strategies, Optuna samplers, hypervolume and the Pareto report, on the tiny table."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from nasbench.search import Budget, Observation, Strategy, Trial, make_generators, make_strategy, registry, run_search
from nasbench.search import ledger as ledger_module
from nasbench.search.multiobjective import (
    ArchTable, Normaliser, crowding_distance, hypervolume, non_dominated, nondominated_sort,
)
from nasbench.table import Benchmark

MO = ["mo_random", "nsga2", "rea_scalarised"]
OPTUNA_SAMPLERS = ["tpe", "random", "nsga2", "qmc"]
STRATEGIES = registry.classes()  # the ask/tell strategies
SINGLE = sorted(name for name, cls in STRATEGIES.items() if cls.objective_mode == "single")


@pytest.fixture(scope="module")
def bench(tiny_table) -> Benchmark:
    return Benchmark.load(tiny_table)


@pytest.fixture(scope="module")
def frame(bench):
    return bench.to_dataframe()


def run(bench, name, seed=0, seconds=1.5, skip=False, max_evals=None, constraints=None, objectives=None, **options):
    strategy_rng, runner_rng = make_generators(seed)
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, objectives=objectives, **options)
    return run_search(
        strategy, bench, Budget(seconds, max_evals), runner_rng, skip_duplicates=skip,
        constraints=constraints, objectives=objectives,
    )


class Relatency:
    """The tiny benchmark with a made-up latency (measured latency is machine noise; tests need known values)."""

    def __init__(self, bench, latency):
        self._bench = bench
        self._latency = latency

    def __getattr__(self, name):
        return getattr(self._bench, name)

    def query_batch(self, archs, **kwargs):
        out = dict(self._bench.query_batch(archs, **kwargs))
        out["latency"] = self._latency(out)
        return out

    def to_dataframe(self):
        frame = self._bench.to_dataframe()
        frame["latency"] = self._latency(frame)
        return frame


@pytest.fixture(scope="module")
def slow_best(bench):
    """Latency = test accuracy / 1000 s: the best class is also the slowest."""
    return Relatency(bench, lambda out: out["test_accuracy"] / 1000)


def smallest_params(frame) -> float:
    return float(frame["params"].min())


class Scripted(Strategy):
    """Asks the given indices in turn and records what it is told."""

    name = "scripted"

    @dataclass(frozen=True)
    class Options:
        indices: tuple[int, ...] = (0,)

    def reset(self) -> None:
        self.indices = list(self.options.indices)
        self.asked = 0
        self.told: list[tuple[int, Observation]] = []

    def ask(self) -> Trial:
        index = self.indices[self.asked % len(self.indices)]
        self.asked += 1
        return Trial(self.space[index])

    def tell(self, trial: Trial, observation: Observation) -> None:
        self.told.append((trial.arch.index, observation))


# ---------------------------------------------------------------------- constraints
def test_infeasible_architectures_are_skipped_without_cost(bench, frame):
    limit = float(frame["params"].min())
    infeasible = [int(i) for i in np.flatnonzero(frame["params"] > limit)[:2]]
    feasible = [int(i) for i in np.flatnonzero(frame["params"] <= limit)[:2]]
    script = [infeasible[0], feasible[0], infeasible[1], feasible[1]]
    strategy_rng, runner_rng = make_generators(0)
    strategy = Scripted(indices=script).start(bench.space, strategy_rng, bench.num_epochs)
    result = run_search(strategy, bench, Budget(1e9, max_evals=2), runner_rng, constraints={"params": limit})
    assert [r["index"] for r in result["trajectory"]] == feasible
    assert result["num_evals"] == 2 and result["num_infeasible_skipped"] == 2
    paid = sum(bench.query(r["index"], seed=r["seed"]).train_time for r in result["trajectory"])
    assert result["simulated_time"] == pytest.approx(paid)  # the infeasible proposals cost nothing
    told = {index: obs for index, obs in strategy.told}
    for index in infeasible:
        obs = told[index]
        assert not obs.feasible and obs.train_time == 0.0 and obs.valid_accuracy == -np.inf
    for index in feasible:
        assert told[index].feasible and told[index].train_time > 0
    assert result["constraints"] == {"params": limit}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_respects_constraints(bench, frame, name):
    limit = smallest_params(frame)
    objectives = None if name in SINGLE else ["valid_accuracy", "params"]
    result = run(bench, name, constraints={"params": limit}, objectives=objectives, seconds=1.0)
    rows = result["trajectory"]
    assert rows and all(frame.loc[r["index"], "params"] <= limit for r in rows)
    assert result["simulated_time"] <= 1.0
    assert all(r["regret"] >= -1e-12 for r in rows)
    assert result["num_feasible_architectures"] == int((frame["params"] <= limit).sum())


def test_regret_reference_is_the_feasible_optimum(slow_best, bench):
    frame = slow_best.to_dataframe()
    best = frame["test_accuracy"].max()
    limit = float(frame.loc[frame["test_accuracy"] < best, "latency"].max())  # everything but the best class
    result = run(slow_best, "random", constraints={"latency": limit})
    expected = float(frame.loc[frame["latency"] <= limit, "test_accuracy"].max())
    assert result["optimum_test_accuracy"] == pytest.approx(expected)
    assert expected < bench.optimum("test_accuracy")
    for r in result["trajectory"]:
        assert r["regret"] == pytest.approx(expected - r["incumbent_test"])
        assert frame.loc[r["index"], "test_accuracy"] < best  # the best class is never evaluated


def test_unconstrained_run_is_unchanged_by_the_new_arguments(bench):
    a = run(bench, "rea", seed=5)
    b = run(bench, "rea", seed=5, constraints={"params": None, "flops": None, "latency": None})
    assert a == b and a["constraints"] is None and a["num_infeasible_skipped"] == 0


def test_impossible_constraint_names_the_smallest_achievable_value(bench, frame):
    smallest = int(frame["params"].min())
    with pytest.raises(ValueError) as info:
        run(bench, "rea", constraints={"params": smallest - 1})
    message = str(info.value)
    assert "\n" not in message and "params" in message and f"smallest achievable params is {smallest}" in message
    # each bound alone can be met, together they cannot: with latency 1 / params, small models are slow
    inverse = Relatency(bench, lambda out: 1.0 / out["params"])
    with pytest.raises(ValueError, match="together") as info:
        run(inverse, "rea", constraints={"params": smallest, "latency": 1.0 / (smallest + 1)})
    assert "\n" not in str(info.value) and f"params {smallest}" in str(info.value)


def test_a_strategy_that_only_proposes_infeasible_architectures_stops(bench, frame, monkeypatch):
    monkeypatch.setattr(ledger_module, "MAX_CONSECUTIVE_INFEASIBLE", 50)
    strategy_rng, runner_rng = make_generators(0)
    big = int(np.flatnonzero(frame["params"] == frame["params"].max())[0])
    strategy = Scripted(indices=[big]).start(bench.space, strategy_rng, bench.num_epochs)
    result = run_search(strategy, bench, Budget(10.0), runner_rng, constraints={"params": float(frame["params"].min())})
    assert result["stop_reason"] == "only_infeasible" and result["num_evals"] == 0 and result["num_infeasible_skipped"] == 50


@pytest.mark.parametrize(
    "constraints, message",
    [({"bogus": 1}, "unknown constraint"), ({"params": -1}, "positive"), ({"latency": "fast"}, "positive")],
)
def test_bad_constraints_are_one_line_errors(bench, constraints, message):
    with pytest.raises(ValueError, match=message) as info:
        run(bench, "random", constraints=constraints)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------- hypervolume and fronts
def test_hypervolume_by_hand():
    ref = np.array([1.0, 1.0])
    # two boxes: 0.75 x 0.5 + 0.5 x 0.25 (the part the first does not cover)
    assert hypervolume(np.array([[0.25, 0.5], [0.5, 0.25]]), ref) == pytest.approx(0.5)
    # a dominated point and a point beyond the reference add nothing
    assert hypervolume(np.array([[0.25, 0.5], [0.5, 0.25], [0.6, 0.6], [1.2, 0.0]]), ref) == pytest.approx(0.5)
    assert hypervolume(np.empty((0, 2)), ref) == 0.0
    # three objectives: 0.5^3 plus 1 x 0.5 x 0.25 minus their overlap 0.5 x 0.5 x 0.25
    ref3 = np.ones(3)
    assert hypervolume(np.array([[0.5, 0.5, 0.5]]), ref3) == pytest.approx(0.125)
    assert hypervolume(np.array([[0.5, 0.5, 0.5], [0.0, 0.5, 0.75]]), ref3) == pytest.approx(0.1875)


def test_hypervolume_agrees_with_a_grid_count():
    rng = np.random.default_rng(1)
    points = rng.random((12, 2))
    ref = np.array([1.0, 1.0])
    axis = (np.arange(400) + 0.5) / 400
    xx, yy = np.meshgrid(axis, axis)
    cells = np.stack([xx.ravel(), yy.ravel()], axis=1)
    covered = np.any(np.all(points[None, :, :] <= cells[:, None, :], axis=2), axis=1)
    assert hypervolume(points, ref) == pytest.approx(covered.mean(), abs=5e-3)


def test_pareto_front_of_a_hand_made_set():
    # minimise both: (1, 5), (2, 3), (4, 1) trade off; (3, 4) is dominated by (2, 3); (2, 3) twice
    points = np.array([[3, 4], [1, 5], [2, 3], [4, 1], [2, 3], [5, 5]])
    assert non_dominated(points).tolist() == [False, True, True, True, False, False]
    fronts = [sorted(f.tolist()) for f in nondominated_sort(points)]
    assert fronts == [[1, 2, 3, 4], [0], [5]]
    three = np.array([[1, 2, 3], [2, 1, 3], [1, 1, 4], [2, 2, 4], [2, 1, 3]])
    assert non_dominated(three).tolist() == [True, True, True, False, False]  # of a tie, the first row stands
    # ties listed before the row they tie with: still the first (lowest index) is kept, in both code paths
    assert non_dominated(np.array([[2, 3], [1, 5], [2, 3]])).tolist() == [True, True, False]
    assert non_dominated(three[[4, 0, 1]]).tolist() == [True, True, False]
    distance = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]]))
    assert np.isinf(distance[[0, 3]]).all() and distance[1] == pytest.approx(distance[2]) == pytest.approx(4 / 3)


def test_normalisation_and_reference_point():
    norm = Normaliser(("valid_accuracy", "params"), {"params": 1000.0})
    assert norm(np.array([[0.75, 500.0], [np.nan, 1000.0]])).tolist() == [[0.25, 0.5], [1.0, 1.0]]
    assert norm.reference.tolist() == [1.0, 1.1]
    assert norm.reference_raw() == {"valid_accuracy": 0.0, "params": pytest.approx(1100.0)}


@pytest.mark.parametrize("objectives", [["valid_accuracy", "params"], ["valid_accuracy", "flops", "latency"]])
def test_true_front_matches_brute_force(bench, frame, objectives):
    result = run(bench, "mo_random", objectives=objectives, seconds=0.5)
    cols = ["test_accuracy" if o == "valid_accuracy" else o for o in objectives]
    signs = np.array([-1.0 if o == "valid_accuracy" else 1.0 for o in objectives])  # minimise
    values = frame[cols].to_numpy(dtype=float) * signs
    expected = {
        tuple(v) for v in values if not any(np.all(w <= v) and np.any(w < v) for w in values)
    }
    got = {tuple(np.array(p["truth"]) * signs) for p in result["true_front"]}
    assert got == expected and len(result["true_front"]) == len(expected)
    table = ArchTable.from_benchmark(bench)
    norm = Normaliser(objectives, table.largest_costs())
    points = norm(np.array([p["truth"] for p in result["true_front"]]))
    assert result["optimum_hypervolume"] == pytest.approx(hypervolume(points, norm.reference))


# ---------------------------------------------------------------------- multi-objective runs
@pytest.mark.parametrize("name", MO)
def test_multi_objective_trajectory_records_the_front(bench, name):
    result = run(bench, name, objectives=["valid_accuracy", "params"], seconds=2.0)
    rows = result["trajectory"]
    assert rows and result["objectives"] == ["valid_accuracy", "params"]
    observed = [r["hypervolume"] for r in rows]
    assert observed == sorted(observed)  # the front as seen only grows
    for r in rows:
        assert r["front_size"] >= 1
        assert r["hv_regret"] == pytest.approx(result["optimum_hypervolume"] - r["hypervolume_test"])
        assert r["hv_regret"] >= -1e-12
        assert len(r["objectives"]) == 2
    final = result["final"]
    assert final["front_size"] == len(result["front"]) == rows[-1]["front_size"]
    members = sorted((m["observed"][1], m["observed"][0]) for m in result["front"])
    accs = [acc for _, acc in members]
    assert accs == sorted(set(accs))  # a trade-off: every extra parameter buys accuracy


@pytest.mark.parametrize("name", MO + [f"optuna:{s}" for s in OPTUNA_SAMPLERS + ["cmaes"]])
def test_same_seed_same_trajectory(bench, name):
    options = {}
    if name.startswith("optuna:"):
        pytest.importorskip("optuna")
        name, options["sampler"] = name.split(":")
        if options["sampler"] == "cmaes":
            pytest.importorskip("cmaes")
    objectives = None if options.get("sampler") == "cmaes" else ["valid_accuracy", "params"]
    kwargs = dict(objectives=objectives, constraints={"params": 1100}, **options)
    a, b = run(bench, name, seed=3, **kwargs), run(bench, name, seed=3, **kwargs)
    assert a["num_evals"] > 0
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = run(bench, name, seed=4, **kwargs)
    assert [r["index"] for r in a["trajectory"]] != [r["index"] for r in c["trajectory"]]


def test_single_objective_strategy_is_untouched_by_objectives(bench):
    plain = run(bench, "rea", seed=2)
    with_front = run(bench, "rea", seed=2, objectives=["valid_accuracy", "latency"])
    assert [r["index"] for r in plain["trajectory"]] == [r["index"] for r in with_front["trajectory"]]
    assert "front_size" in with_front["trajectory"][-1] and "front_size" not in plain["trajectory"][-1]


def test_nsga2_breeds_generations(bench):
    result = run(bench, "nsga2", objectives=["valid_accuracy", "params"], seconds=1e9, max_evals=60, population_size=6)
    assert result["strategy_state"]["generation"] >= 5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda b: run(b, "nsga2", objectives=["valid_accuracy", "bogus"]), "unknown objective 'bogus'; valid: valid_accuracy, params, flops, latency"),
        (lambda b: run(b, "nsga2", objectives=["params", "flops"]), "objectives must include valid_accuracy, got .'params', 'flops'."),
        (lambda b: run(b, "nsga2", objectives=["test_accuracy", "params"]), "never sees test"),
        (lambda b: run(b, "nsga2", objectives=["valid_accuracy"]), "2 or 3"),
        (lambda b: run(b, "nsga2", objectives=["params", "params"]), "distinct"),
        (lambda b: run(b, "nsga2"), "multi-objective: set objectives"),
        (lambda b: run(b, "nsga2", objectives=["valid_accuracy", "params"], population_size=1), "population_size"),
        (lambda b: run(b, "rea_scalarised", objectives=["valid_accuracy", "params"], rho=2), "rho"),
        (lambda b: run(b, "optuna", sampler="gp"), "unknown sampler 'gp'"),
        (lambda b: run(b, "optuna", sampler="cmaes", objectives=["valid_accuracy", "params"]), "single-objective"),
        (lambda b: run(b, "optuna", objectives=["valid_accuracy", "params"], bogus=1), "unknown option"),
    ],
)
def test_bad_multi_objective_input_is_a_one_line_value_error(bench, call, message):
    with pytest.raises(ValueError, match=message) as info:
        call(bench)
    assert "\n" not in str(info.value)


def test_optuna_missing_is_a_one_line_error(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ValueError, match=r'pip install "nasbench\[optuna\]"'):
        run(bench, "optuna")


def test_optuna_single_objective_and_infeasible_trials(bench, frame):
    pytest.importorskip("optuna")
    limit = float(frame["params"].min())
    result = run(bench, "optuna", sampler="tpe", constraints={"params": limit}, seconds=1.0)
    assert result["num_evals"] > 0 and result["num_infeasible_skipped"] > 0
    assert result["strategy_state"]["infeasible_told"] == result["num_infeasible_skipped"]
    assert "objectives" not in result


def test_optuna_with_duplicates_skipped_stops_once_converged(bench):
    # the tiny space is soon exhausted (or TPE settles): what follows is duplicates, free, told to the sampler.
    # Each Optuna ask costs time growing with its trials, so the run stops after the strategy's shorter streak.
    optuna_strategy = pytest.importorskip("nasbench.search.strategies.optuna_adapter").OptunaStrategy
    streak = optuna_strategy.max_consecutive_duplicates
    assert streak < Strategy.max_consecutive_duplicates
    result = run(bench, "optuna", objectives=["valid_accuracy", "params"], skip=True, seconds=1e9)
    assert result["stop_reason"] == "only_duplicates"
    assert 0 < result["num_evals"] <= bench.num_classes and result["max_consecutive_duplicates"] == streak
    assert streak <= result["num_duplicates_skipped"] < Strategy.max_consecutive_duplicates
    assert result["strategy_state"]["trials"] == result["num_evals"] + result["num_duplicates_skipped"]


# ---------------------------------------------------------------------- command line and report
@pytest.mark.slow
def test_cli_multi_objective_sweep_and_pareto_report(tiny_table, tmp_path, cli):
    pytest.importorskip("optuna")
    sweep = tmp_path / "sweep"
    result = cli("nasbench-search", "-m", "strategy=mo_random,nsga2,optuna", "objectives=[valid_accuracy,params]",
                 "seed=range(0,3)", "launcher=basic", f"benchmark.path={tiny_table}", "budget.seconds=1",
                 f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    outputs = sorted(sweep.rglob("result.json"))
    assert len(outputs) == 9
    data = json.loads(outputs[0].read_text())
    assert data["objectives"] == ["valid_accuracy", "params"] and data["config"]["constraint"] == {"params": None, "flops": None, "latency": None}
    report = cli("nasbench-report", str(sweep), "--pareto", "--out", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stderr
    out = tmp_path / "rep"
    for name in ("README.md", "fronts.png", "hypervolume.png", "ranks.png", "final_hypervolume.png", "final.csv",
                 "wilcoxon_holm.csv", "true_front.csv", "median_fronts.csv", "summary.json"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["final"]) == {"mo_random", "nsga2", "optuna"}
    assert summary["optimum_hypervolume"] == pytest.approx(data["optimum_hypervolume"])
    readme = (out / "README.md").read_text()
    assert "true front" in readme and "hypervolume regret" in readme
    # the single-objective report refuses nothing here, but --pareto on a single-objective sweep fails cleanly
    single = tmp_path / "single"
    assert cli("nasbench-search", "strategy=random", f"benchmark.path={tiny_table}", "budget.seconds=0.5",
               f"hydra.run.dir={single}").returncode == 0
    refused = cli("nasbench-report", str(single), "--pareto")
    assert refused.returncode == 2 and "not a multi-objective run" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.slow
def test_pareto_report_of_two_strategies_and_five_seeds_is_complete(tiny_table, tmp_path, cli):
    # autorank draws no diagram for two groups, which once crashed the report
    sweep = tmp_path / "sweep"
    result = cli("nasbench-search", "-m", "strategy=mo_random,nsga2", "objectives=[valid_accuracy,params]",
                 "seed=range(0,5)", "launcher=basic", f"benchmark.path={tiny_table}", "budget.seconds=1",
                 f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    report = cli("nasbench-report", str(sweep), "--pareto", "--out", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stderr
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert "(10 runs: 2 strategies x 5 seeds)" in readme and "## Effect sizes" in readme and "Power: with 5 seeds" in readme
    assert "Left out: the Friedman test and its diagram rank three or more strategies; this sweep has 2" in readme
    assert (tmp_path / "rep" / "effects.png").exists() and not (tmp_path / "rep" / "critical_difference.png").exists()


@pytest.mark.slow
def test_cli_constrained_sweep_and_report(tiny_table, tmp_path, bench, cli):
    frame = bench.to_dataframe()
    limit = smallest_params(frame)
    sweep = tmp_path / "sweep"
    result = cli("nasbench-search", "-m", "strategy=random,rea", f"constraint.params={limit}", "seed=range(0,2)",
                 "launcher=basic", f"benchmark.path={tiny_table}", "budget.seconds=1", f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    data = json.loads(sorted(sweep.rglob("result.json"))[0].read_text())
    assert data["constraints"] == {"params": limit}
    report = cli("nasbench-report", str(sweep), "--out", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stderr
    readme = (tmp_path / "rep" / "README.md").read_text()
    assert f"Constraint: params <= {limit:.0f}" in readme and "Best feasible test accuracy" in readme
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["optimum_test_accuracy"] == pytest.approx(100 * float(frame.loc[frame["params"] <= limit, "test_accuracy"].max()))  # percent


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy, override, expected",
    [
        ("nsga2", "objectives=[valid_accuracy,bogus]", "unknown objective 'bogus'; valid: valid_accuracy, params, flops, latency"),
        ("nsga2", "objectives=[valid_accuracy]", "2 or 3"),
        ("nsga2", "strategy.population_size=1", "multi-objective: set objectives"),
        ("random", "constraint.params=100", "smallest achievable params is"),
    ],
)
def test_cli_bad_objectives_and_constraints_fail_cleanly(tiny_table, tmp_path, strategy, override, expected, cli):
    result = cli("nasbench-search", f"strategy={strategy}", f"benchmark.path={tiny_table}", override,
                 f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_cheaper_duplicate_enters_the_front(bench, frame):
    """skip_duplicates saves the cost, not the front: a class member with fewer params is still found."""
    sizes = frame.groupby("class_id")["params"]
    class_id = int((sizes.max() > sizes.min()).idxmax())
    members = frame[frame["class_id"] == class_id]
    big, small = int(members["params"].idxmax()), int(members["params"].idxmin())
    strategy_rng, runner_rng = make_generators(0)
    strategy = Scripted(indices=[big, small]).start(bench.space, strategy_rng, bench.num_epochs)
    result = run_search(
        strategy, bench, Budget(1e9, max_evals=5), runner_rng, skip_duplicates=True,
        objectives=["valid_accuracy", "params"],
    )
    assert result["num_evals"] == 1 and result["num_duplicates_skipped"] > 0
    assert [m["index"] for m in result["front"]] == [small]
    assert result["final"]["front_size"] == 1
    told = dict(strategy.told)
    assert told[small].duplicate and told[small].objectives[1] == frame.loc[small, "params"]


@pytest.mark.slow
def test_a_sweep_over_a_strategy_option_is_reported_per_setting(tiny_table, tmp_path, cli):
    """Two Optuna samplers in one sweep are two entries of the report, named by the option that differs."""
    pytest.importorskip("optuna")
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register_search
    from nasbench.report.collect import run_labels
    from nasbench.report.pareto import write_pareto_report
    from nasbench.search.experiment import search, write_json

    register_search()

    k = 0
    for sampler in ("tpe", "random"):
        for seed in (0, 1):
            with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
                cfg = compose("search", overrides=[f"benchmark.path={tiny_table}", "strategy=optuna", f"strategy.sampler={sampler}",
                                                   f"seed={seed}", "budget.seconds=1", "objectives=[valid_accuracy,params]"])
            write_json(tmp_path / "sweep" / str(k) / "result.json", search(OmegaConf.to_container(cfg, resolve=True)))
            k += 1
    summary = json.loads((write_pareto_report(tmp_path / "sweep", tmp_path / "rep") / "summary.json").read_text())
    assert set(summary["final"]) == {"optuna[sampler=random]", "optuna[sampler=tpe]"}
    same = {"strategy": "rea", "strategy_options": {"population_size": 10}}
    assert run_labels([same, {**same, "skip_duplicates": True}]) == ["rea", "rea+dedup"]  # shared options: plain labels
    swept = [{**same, "strategy_options": {"population_size": n}, "skip_duplicates": True} for n in (10, 20)]
    assert run_labels(swept) == ["rea[population_size=10]+dedup", "rea[population_size=20]+dedup"]
    refused = cli("nasbench-report", str(tmp_path / "sweep"), "--pareto", "--drift")
    assert refused.returncode == 2 and refused.stderr.strip() == "error: --pareto and --drift are different reports; give one of them"
