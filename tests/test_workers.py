"""Simulated parallel workers: the event queue, asynchronous strategies, and the parallel report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench.search import Budget, make_generators, make_strategy, registry, run_search
from nasbench.search.base import Observation
from nasbench.search.workers import WorkerPool, synchronous_note
from nasbench.space import CellSpace
from nasbench.table import Benchmark

sys.path.insert(0, str(Path(__file__).parent / "data"))
import one_worker_digests  # noqa: E402

DIGESTS = json.loads((Path(__file__).parent / "data" / "one_worker_digests.json").read_text())["cases"]
STRATEGIES = registry.classes()  # the ask/tell strategies


def started(name, space, seed=0, num_epochs=12, **options):
    """Strategy ``name`` with ``options``, started on ``space`` with generator ``default_rng(seed)``."""
    return registry.create(name, **options).start(space, np.random.default_rng(seed), num_epochs)


@pytest.fixture(scope="module")
def tiny(tiny_table) -> Benchmark:
    return Benchmark.load(tiny_table)


@pytest.fixture(scope="module")
def flagship() -> Benchmark:
    return Benchmark.load("nb201-mnist1d")


def run(bench, name, workers, seed=0, seconds=2.0, skip=False, max_evals=None, **options):
    strategy_rng, runner_rng = make_generators(seed)
    objectives = ["valid_accuracy", "params"] if STRATEGIES[name].objective_mode == "multi" else None
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, objectives=objectives, **options)
    return run_search(strategy, bench, Budget(seconds, max_evals), runner_rng, skip_duplicates=skip,
                      objectives=objectives, workers=workers)


def toy(trial) -> Observation:
    """A toy objective: the share of 3x3 convolutions."""
    score = trial.arch.ops.count("nor_conv_3x3") / 6
    return Observation(score, score, 0.0, trial.epoch or 12, 1.0)


# ---------------------------------------------------------------- one worker: the runner as it was


@pytest.mark.parametrize("case", one_worker_digests.CASES, ids=[case[0] for case in one_worker_digests.CASES])
def test_one_worker_gives_the_bytes_of_the_single_worker_runner(case):
    assert one_worker_digests.digests(case, workers=1) == DIGESTS[case[0]]


# ---------------------------------------------------------------- the event queue


def test_pool_runs_each_job_on_a_free_worker_until_its_finish():
    pool = WorkerPool(3)
    jobs = [pool.start(d, i) for i, d in enumerate([5.0, 2.0, 2.0])]
    assert [j.worker for j in jobs] == [0, 1, 2] and not pool.has_free()
    first = pool.finish_next()
    assert (first.payload, pool.now) == (1, 2.0)  # equal finishes: the job started first ends first
    again = pool.start(1.0, 3)
    assert (again.worker, again.start, again.finish) == (1, 2.0, 3.0)
    assert pool.finish_next().payload == 2
    pool.retire()  # the free worker with the lowest id, 2, starts nothing more
    assert [pool.finish_next().payload for _ in range(2)] == [3, 0]
    assert pool.now == 5.0 and pool.busy_seconds == 10.0 and pool.running == 0
    pool.retire()
    pool.retire()
    assert not pool.has_free()
    with pytest.raises(RuntimeError, match="no free worker"):
        pool.start(1.0)


# ---------------------------------------------------------------- the runner on several workers


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_runs_on_several_workers(tiny, name):
    result = run(tiny, name, workers=4, seconds=1.5)
    rows = result["trajectory"]
    assert result["workers"] == 4 and result["num_evals"] == len(rows) > 0
    assert result["asynchronous"] == STRATEGIES[name].asynchronous
    assert [r["n_evals"] for r in rows] == list(range(1, len(rows) + 1))
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[-1] <= 1.5 and result["simulated_time"] == pytest.approx(times[-1], abs=1e-5)
    assert result["worker_seconds"] == pytest.approx(sum(r["cost"] for r in rows), abs=1e-4)
    if result["asynchronous"]:  # no worker waits: on average more than two trained at once
        assert result["worker_seconds"] > 2 * 1.5
    for worker in range(4):  # one evaluation at a time on each worker
        spans = sorted((r["start"], r["time"]) for r in rows if r["worker"] == worker)
        assert all(end <= start + 1e-6 for (_, end), (start, _) in zip(spans, spans[1:]))
    for r in rows:
        assert 0 <= r["worker"] < 4 and r["time"] - r["start"] == pytest.approx(r["cost"], abs=1e-5)
        assert r["regret"] == pytest.approx(result["optimum_test_accuracy"] - r["incumbent_test"])
    assert json.dumps(run(tiny, name, workers=4, seconds=1.5), sort_keys=True) == json.dumps(result, sort_keys=True)


@pytest.mark.parametrize("workers", [4, 16])
def test_n_workers_of_random_search_finish_n_times_the_evaluations(flagship, workers):
    for seed in range(3):
        one = run(flagship, "random", workers=1, seed=seed, seconds=1000)["num_evals"]
        many = run(flagship, "random", workers=workers, seed=seed, seconds=1000)["num_evals"]
        assert many / (workers * one) == pytest.approx(1, rel=0.1), (seed, one, many)


def test_the_budget_is_wall_clock_and_every_worker_starts_at_once(flagship):
    result = run(flagship, "rea", workers=16, seconds=300)
    rows = result["trajectory"]
    assert sorted(r["worker"] for r in rows if r["start"] == 0) == list(range(16))
    assert max(r["time"] for r in rows) <= 300 and result["worker_seconds"] > 15 * 300 * 0.9


def test_max_evals_counts_finished_evaluations(tiny):
    result = run(tiny, "random", workers=8, seconds=1e9, max_evals=7)
    assert result["num_evals"] == 7 and result["stop_reason"] == "max_evals"


def test_a_duplicate_of_a_class_in_training_waits_for_its_answer(tiny):
    result = run(tiny, "random", workers=8, seconds=3.0, skip=True)
    keys = [(r["class_id"], r["epoch"]) for r in result["trajectory"]]
    assert len(keys) == len(set(keys))  # never trained twice, though eight run at once
    assert result["num_duplicates_skipped"] > 0


def test_a_budget_too_small_for_any_evaluation_is_still_an_error(flagship):
    from nasbench.search import BudgetTooSmall

    with pytest.raises(BudgetTooSmall, match="ran out before the first evaluation"):
        run(flagship, "random", workers=4, seconds=0.5)


@pytest.mark.parametrize("workers", [0, -1, 2.5, True])
def test_bad_worker_counts_are_one_line_errors(tiny, workers):
    with pytest.raises(ValueError, match="workers must be an integer >= 1") as err:
        run(tiny, "random", workers=workers)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- asynchronous strategies


def test_rea_tournaments_only_among_finished_children_and_the_oldest_leaves():
    space = CellSpace()
    rea = started("rea", space, population_size=3, sample_size=2)
    first = [rea.ask() for _ in range(5)]  # nothing has finished: all random
    assert len(rea.population) == 0
    for trial in first[:3][::-1]:  # they finish out of order
        rea.tell(trial, toy(trial))
    assert [arch for arch, _ in rea.population] == [t.arch for t in first[:3][::-1]]
    child = rea.ask()
    assert any(int((np.asarray(child.arch.decisions) != np.asarray(a.decisions)).sum()) == 1 for a, _ in rea.population)
    rea.tell(first[4], toy(first[4]))  # a late random one joins; the oldest finished leaves
    assert [arch for arch, _ in rea.population] == [first[1].arch, first[0].arch, first[4].arch]


def test_reinforce_updates_on_each_finished_reward():
    agent = started("reinforce", CellSpace(), learning_rate=0.1)
    trials = [agent.ask() for _ in range(4)]
    before = agent.probabilities().copy()
    for trial in reversed(trials):
        agent.tell(trial, toy(trial))
    assert agent.updates == 4 and not np.allclose(before, agent.probabilities())


def test_local_search_keeps_its_workers_on_neighbours_and_restarts_only_when_they_are_back():
    space = CellSpace()
    search = started("local_search", space)
    start = search.ask()
    search.tell(start, Observation(0.5, 0.5, 0.0, 12, 1.0))
    flight = [search.ask() for _ in range(len(space.neighbours(start.arch)))]
    assert {t.arch for t in flight} == set(space.neighbours(start.arch)) and len(search.in_flight) == len(flight)
    extra = search.ask()  # every neighbour is in flight: a random architecture meanwhile, no restart
    assert search.restarts == 0 and search.current == start.arch
    for trial in flight + [extra]:
        search.tell(trial, Observation(0.1, 0.1, 0.0, 12, 1.0))  # none better
    search.ask()
    assert search.restarts == 1 and search.current is None


def test_local_search_moves_as_soon_as_a_neighbour_is_better():
    space = CellSpace()
    search = started("local_search", space)
    start = search.ask()
    search.tell(start, Observation(0.5, 0.5, 0.0, 12, 1.0))
    flight = [search.ask() for _ in range(4)]
    search.tell(flight[2], Observation(0.9, 0.9, 0.0, 12, 1.0))
    assert search.current == flight[2].arch and search.in_flight == []
    search.tell(flight[0], Observation(0.7, 0.7, 0.0, 12, 1.0))  # a neighbour of the old centre, not better
    assert search.current == flight[2].arch


def test_asha_promotes_as_soon_as_a_rung_allows():
    asha = started("asha", CellSpace())
    bottom = [asha.ask() for _ in range(6)]
    assert all(t.epoch == 1 and not t.resume for t in bottom)
    scores = [0.2, 0.9, 0.4, 0.8, 0.1, 0.3]
    for trial, score in list(zip(bottom, scores))[:3]:
        asha.tell(trial, Observation(score, score, 0.0, 1, 1.0))
    up = asha.ask()  # 3 finished at the bottom, 3 still in flight: the best continues
    assert (up.epoch, up.model, up.resume, up.arch) == (4, bottom[1].model, True, bottom[1].arch)
    fresh = asha.ask()  # 1 of 3 may go up, and has: a new model
    assert fresh.epoch == 1 and not fresh.resume
    for trial, score in list(zip(bottom, scores))[3:]:
        asha.tell(trial, Observation(score, score, 0.0, 1, 1.0))
    second = asha.ask()  # 6 at the bottom: the top 2 may go up; the second best (0.8) has not
    assert (second.epoch, second.model) == (4, bottom[3].model)


def test_asha_on_workers_resumes_promoted_models(flagship):
    result = run(flagship, "asha", workers=16, seconds=200)
    rows = result["trajectory"]
    by_index: dict[int, list[dict]] = {}
    for r in rows:
        by_index.setdefault(r["index"], []).append(r)
    promoted = [r for r in rows if r["epoch"] > 1]
    assert promoted and result["strategy_state"]["promotions"] >= len(promoted)
    for r in promoted:  # continued from its own lower rung, which finished before it started: pays the extra epochs
        lower = [p for p in by_index[r["index"]] if p["epoch"] < r["epoch"] and p["time"] <= r["start"] + 1e-6]
        assert lower and r["seed"] == lower[-1]["seed"]
        full = flagship.query(r["index"], epoch=r["epoch"], seed=r["seed"]).train_time
        assert r["cost"] < full


def test_synchronous_hyperband_waits_for_its_rung():
    hb = started("hyperband", CellSpace())
    first = hb.plan[0]["n"]
    rung = [hb.ask() for _ in range(first)]
    assert hb.ask() is None  # the rung is in flight: nothing to promote yet
    for trial in rung[:-1]:
        hb.tell(trial, toy(trial))
    assert hb.ask() is None
    hb.tell(rung[-1], toy(rung[-1]))
    promoted = hb.ask()
    assert promoted.resume and promoted.epoch == hb.plan[1]["epochs"]


def test_nsga2_waits_for_its_generation():
    nsga = registry.create("nsga2", population_size=4).start(CellSpace(), np.random.default_rng(0), 12, ["valid_accuracy", "params"])
    trials = [nsga.ask() for _ in range(4)]
    assert nsga.ask() is None
    nsga.tell(trials[1], Observation(0.5, 0.5, 0.0, 12, 1.0, objectives=(0.5, 100.0)))
    assert nsga.ask() is None  # the other three of the first population are still in flight
    nsga.tell(trials[0], Observation(-np.inf, -np.inf, np.inf, 12, 0.0, feasible=False))
    assert nsga.ask() is not None  # an infeasible one is no member: another takes its place


def test_synchronous_strategies_leave_workers_idle_and_say_so(flagship):
    sync = run(flagship, "hyperband", workers=16, seconds=600)
    asha = run(flagship, "asha", workers=16, seconds=600)
    assert sync["asynchronous"] is False and asha["asynchronous"] is True
    assert sync["worker_seconds"] < 0.5 * asha["worker_seconds"]
    note = synchronous_note(STRATEGIES["hyperband"], 16)
    assert note.startswith("strategy hyperband cannot run asynchronously: with workers=16") and "\n" not in note
    assert synchronous_note(STRATEGIES["hyperband"], 1) is None and synchronous_note(STRATEGIES["rea"], 16) is None
    assert synchronous_note(STRATEGIES["nsga2"], 4)


def test_optuna_tells_each_trial_its_own_value_out_of_order():
    pytest.importorskip("optuna")
    search = started("optuna", CellSpace(), sampler="random")
    trials = [search.ask() for _ in range(5)]
    for trial in reversed(trials):
        search.tell(trial, toy(trial))
    told = {tuple(int(t.params[name]) for name in search.distributions): t.value for t in search.study.trials}
    for trial in trials:
        assert told[tuple(trial.arch.decisions)] == pytest.approx(toy(trial).valid_accuracy)



# ---------------------------------------------------------------- the commands and the report


@pytest.mark.slow
def test_search_cli_runs_on_sixteen_workers_and_notes_a_synchronous_strategy(tiny_table, tmp_path, cli):
    result = cli("nasbench-search", "strategy=rea", "workers=16", f"benchmark.path={tiny_table}", "budget.seconds=2",
                        f"hydra.run.dir={tmp_path / 'rea'}")
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "rea" / "result.json").read_text())
    assert data["workers"] == 16 and data["config"]["workers"] == 16
    assert {r["worker"] for r in data["trajectory"]} == set(range(16))
    assert "note:" not in result.stderr

    result = cli("nasbench-search", "strategy=hyperband", "workers=4", f"benchmark.path={tiny_table}", "budget.seconds=2",
                        f"hydra.run.dir={tmp_path / 'hb'}")
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {synchronous_note(STRATEGIES['hyperband'], 4)}"]


@pytest.mark.slow
@pytest.mark.parametrize("override, expected", [
    ("workers=0", "workers must be an integer >= 1, got 0"),
    ("workers=abc", "workers"),
    ("strategy=darts workers=4", "does not support workers=4"),
])
def test_search_cli_refuses_bad_worker_counts(tiny_table, tmp_path, override, expected, cli):
    result = cli("nasbench-search", *override.split(), f"benchmark.path={tiny_table}", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert expected in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("override, message", [
    ("workers=[1,0]", r"workers must list integers >= 1, each once, e\.g\. \[1,4,16\], got \[1, 0\]"),
    ("workers=[4,4]", r"workers must list integers >= 1, each once"),
    ("workers=[]", r"workers must list integers >= 1, each once"),
])
def test_compare_refuses_bad_worker_lists(tiny_table, tmp_path, cli, override, message):
    import re

    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={tiny_table}", override, "seeds=2", "budget.seconds=1",
                              f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'rep'}", f"hydra.run.dir={tmp_path / 'h'}",
                              "progress=false")
    assert code == 2 and re.search(message, err), err
    assert not (tmp_path / "runs").exists()


@pytest.fixture
def fixed_cost_table(tiny_table, tmp_path) -> Path:
    """The tiny table with fixed epoch times: the simulated schedules then do not follow the build machine's load."""
    import shutil

    import h5py

    path = tmp_path / "fixed-costs.h5"
    shutil.copy(tiny_table, path)
    with h5py.File(path, "r+") as f:
        classes = len(f["cost/epoch_seconds"])
        f["cost/epoch_seconds"][:] = 0.02 + 0.002 * ((7 * np.arange(classes)) % 9)
    return path


def test_compare_over_worker_counts_reports_wall_clock_speed_ups(fixed_cost_table, tmp_path, cli):
    import pandas as pd

    runs, rep = tmp_path / "runs", tmp_path / "rep"
    code, _, err = cli.inline("nasbench-compare", f"benchmark.path={fixed_cost_table}", "workers=[1,4]",
                              "strategies=[random,rea,hyperband]", "seeds=6", "skip_duplicates=[false]", "budget.seconds=2",
                              f"runs_dir={runs}", f"out={rep}", f"hydra.run.dir={tmp_path / 'h'}", "progress=false")
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("note:")] == [f"note: {synchronous_note(STRATEGIES['hyperband'], 4)}"]
    assert sorted(p.name for p in runs.iterdir()) == [
        "hyperband", "hyperband+4workers", "random", "random+4workers", "rea", "rea+4workers"]
    one = json.loads((runs / "rea" / "seed000" / "result.json").read_text())
    assert "workers" not in one["config"] and "workers" not in one  # one worker: recorded as it always was
    assert json.loads((runs / "rea+4workers" / "seed000" / "result.json").read_text())["config"]["workers"] == 4

    readme = (rep / "README.md").read_text()
    assert "## Parallel workers" in readme and "### Wall-clock time to a regret" in readme
    assert "| strategy | target regret | time, 1 worker | time, 4 workers | speed-up x4 |" in readme
    assert "### Equal work" in readme and "| strategy | worker-seconds | regret, 1 worker | regret, 4 workers | x4 minus x1 |" in readme
    for name in ("wallclock_regret.png", "speedup.png", "speedup.csv", "equal_work.csv", "utilisation.csv"):
        assert (rep / name).exists(), name
    summary = json.loads((rep / "summary.json").read_text())
    assert set(summary["final"]) == {"random", "rea", "hyperband"}  # the strategies compared on the most workers
    assert all(row["runs"] == 6 for row in summary["final"].values())
    assert "The sections after this one compare the strategies on 4 workers" in readme
    assert readme.index("## Parallel workers") < readme.index("## Findings")
    assert len((rep / "runs.csv").read_text().splitlines()) == 1 + 3 * 2 * 6  # every run, on every worker count
    parallel = summary["parallel"]
    assert parallel["workers"] == [1, 4] and parallel["targets"] and parallel["target_source"] == "`random` with 1 worker"
    assert not any("No `random` runs" in line for line in summary["findings"])
    usage = {(row["strategy"], row["workers"]): row["utilisation"] for row in summary["parallel"]["utilisation"]}
    assert usage[("hyperband", 4)] < usage[("random", 4)] <= 100.0 and usage[("random", 4)] > 1.0  # percent
    work = {(row["strategy"], row["workers"], row["worker_seconds"]): row for row in parallel["equal_work"]}
    assert len(work) == 3 * 2 * 3
    # random search draws the same architectures on any number of workers: after the same work, the same incumbents
    assert all(row["difference"] is None or abs(row["difference"]) < 1.0 for (name, workers, _), row in work.items()
               if name == "random" and workers == 4)
    # files and summary in the README's units, as the rest of the report: regrets in points, utilisation in percent
    target = parallel["targets"][0]["regret"]
    assert f"| random | {target:.3f} |" in readme
    speedups = pd.read_csv(rep / "speedup.csv")
    by_target = speedups.groupby("target_fraction", sort=True)["target_regret"].first()
    assert np.allclose(by_target.to_numpy(), [t["regret"] for t in parallel["targets"]])  # both in order of time
    assert pd.read_csv(rep / "utilisation.csv").set_index(["strategy", "workers"])["utilisation"].to_dict() == pytest.approx(usage)
    work_csv = pd.read_csv(rep / "equal_work.csv").set_index(["strategy", "workers", "worker_seconds"])["regret"].to_dict()
    assert all(work_csv[key] == pytest.approx(row["regret"]) for key, row in work.items() if row["regret"] is not None)
    rows = parallel["speedup"]
    assert len(rows) == 3 * 2 * len(parallel["targets"])
    assert all(row["speedup"] == 1 for row in rows if row["workers"] == 1 and row["time_to_target"] is not None)


def test_collect_fills_in_who_ran_a_one_worker_evaluation(tiny_table, tmp_path):
    from nasbench.report.collect import collect
    from nasbench.search.experiment import write_json

    bench = Benchmark.load(tiny_table)
    for workers in (1, 3):
        result = run(bench, "random", workers=workers, seconds=1.0)
        write_json(tmp_path / f"w{workers}" / "result.json", {**result, "strategy": "random", "seed": 0})
    collection = collect(tmp_path)
    assert set(collection.runs["label"]) == {"random[workers=1]", "random[workers=3]"}
    assert set(collection.runs["group"]) == {"random"}
    one = collection.trajectory[collection.trajectory["label"] == "random[workers=1]"]
    assert (one["worker"] == 0).all()
    assert np.allclose(one["start"].to_numpy()[1:], one["time"].to_numpy()[:-1], atol=1e-5)


def test_speed_ups_are_read_from_mean_regret_curves():
    import pandas as pd

    from nasbench.report.parallel import first_time, speedup_table

    grid = np.geomspace(1, 1000, 2000)
    # seeds x grid: regret falls 10x faster with 4 workers than with 1
    base = np.array([np.where(grid < 100 * (1 + s / 10), 0.02, 0.01) for s in range(10)])
    fast = np.array([np.where(grid < 10 * (1 + s / 10), 0.02, 0.01) for s in range(10)])

    matrices = {("rea", 1): pd.DataFrame(base, index=range(10)), ("rea", 4): pd.DataFrame(fast, index=range(10))}
    assert first_time(base.mean(axis=0), 0.015, grid) == pytest.approx(140, rel=0.01)  # once half the seeds are down
    assert np.isinf(first_time(base.mean(axis=0), 0.005, grid))
    table = speedup_table(matrices, [{"fraction": 0.5, "regret": 0.015}], grid).set_index("workers")
    assert table.loc[4, "time_to_target"] == pytest.approx(14, rel=0.01)
    assert table.loc[4, "speedup"] == pytest.approx(10, rel=0.01)
    assert table.loc[4, "speedup_low"] <= 10 <= table.loc[4, "speedup_high"] and table.loc[1, "speedup"] == 1


def test_targets_are_read_after_full_evaluations_worth_of_time_where_the_runs_record_it():
    import pandas as pd

    from nasbench.report.parallel import speedup_markdown, speedup_table, target_regrets

    grid = np.geomspace(0.1, 100, 2000)
    curve = 1 / (1 + grid)  # the baseline's regret falls with time
    matrices = {("random", 1): pd.DataFrame([curve, curve]), ("random", 4): pd.DataFrame([curve / 10, curve / 10])}
    # a full evaluation takes 1 s: after 5, 15 and 50 of them (the budget of 100 s holds all three)
    targets, _ = target_regrets(matrices, grid, 100.0, evaluation_seconds=1.0)
    assert [t["evaluations"] for t in targets] == [5, 15, 50]
    assert [t["regret"] for t in targets] == pytest.approx([1 / 6, 1 / 16, 1 / 51], rel=0.01)
    # 10 s a full evaluation: only the first fits; unknown: 1%, 3% and 10% of the budget, as for older runs
    assert [t["evaluations"] for t in target_regrets(matrices, grid, 100.0, evaluation_seconds=10.0)[0]] == [5]
    older, _ = target_regrets(matrices, grid, 100.0)
    assert [t["seconds"] for t in older] == pytest.approx([1, 3, 10]) and older[0]["evaluations"] is None
    # times under a second keep their digits in the table (4 workers reach the first target at once)
    table = speedup_table(matrices, targets, grid)
    first = table[(table["workers"] == 4) & (table["target_fraction"] == 0.05)]["time_to_target"].item()
    assert first < 1 and f" | {first:.3g} | " in speedup_markdown(table)
