"""The syne-tune adapter against syne-tune itself: its NAS-Bench-201 naming, and its simulator on 4 workers."""

from __future__ import annotations


import numpy as np
import pytest

pytest.importorskip("syne_tune", reason='needs syne-tune: pip install "nasbench[synetune]"')

from syne_tune import StoppingCriterion, Tuner  # noqa: E402
from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback  # noqa: E402
from syne_tune.blackbox_repository import UserBlackboxBackend  # noqa: E402
from syne_tune.blackbox_repository.conversion_scripts.scripts import nasbench201_import as syne_nb201  # noqa: E402
from syne_tune.optimizer.baselines import RandomSearch  # noqa: E402

from nasbench import Benchmark  # noqa: E402
from nasbench.compat.synetune import (  # noqa: E402
    METADATA, METRIC_ELAPSED_TIME, METRIC_RUNTIME, METRIC_TEST_ERROR, METRIC_VALID_ERROR, OBJECTIVES, RESOURCE_ATTR,
    blackbox, to_arch,
)

from conftest import build_tiny, tiny_space  # noqa: E402

BUDGET = 200.0  # simulated seconds: about 100 trials on 4 workers


@pytest.fixture(scope="module")
def bench():
    return Benchmark.load()


@pytest.fixture(scope="module")
def bb(bench):
    return blackbox(bench)


def test_names_follow_syne_tunes_nasbench201_blackbox(bb):
    assert list(bb.configuration_space) == list(syne_nb201.CONFIG_KEYS)
    assert bb.fidelity_name() == RESOURCE_ATTR == syne_nb201.TIME_ATTR
    assert OBJECTIVES[0] == METRIC_VALID_ERROR == syne_nb201.METRIC_VALID_ERROR
    assert OBJECTIVES[2] == METRIC_RUNTIME == syne_nb201.METRIC_TIME_THIS_RESOURCE
    assert OBJECTIVES[3] == METRIC_ELAPSED_TIME == syne_nb201.METRIC_ELAPSED_TIME
    assert bb.objectives_names == list(OBJECTIVES)
    assert list(OBJECTIVES[:7]) == ["metric_valid_error", "metric_train_error", "metric_runtime", "metric_elapsed_time",
                                    "metric_latency", "metric_flops", "metric_params"]
    for domain in bb.configuration_space.values():  # the same op names as syne-tune's NAS-Bench-201 choices
        assert sorted(domain.categories) == sorted(["avg_pool_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none"])
    assert list(bb.fidelity_values) == list(range(1, 13)) and bb.num_seeds == 3
    assert METADATA == {"metric_elapsed_time": METRIC_ELAPSED_TIME, "metric_default": METRIC_VALID_ERROR,
                        "time_attr": RESOURCE_ATTR}


def test_every_objective_is_the_tables(bb, bench):
    rng = np.random.default_rng(1)
    for index in rng.choice(len(bench), size=20, replace=False).tolist():
        arch = bench.space.parse(index)
        config = {f"hp_x{d}": op for d, op in enumerate(arch.ops)}
        assert to_arch(config, bench) == arch
        for s, seed in enumerate(bench.seeds):
            curve = bb.objective_function(config, seed=s)  # (epochs, objectives)
            for epoch in (1, 7, 12):
                row = bench.query(index, epoch=epoch, seed=seed)
                values = dict(zip(OBJECTIVES, curve[epoch - 1]))
                assert values == bb.objective_function(config, fidelity=epoch, seed=s)
                assert values[METRIC_VALID_ERROR] == pytest.approx(1 - row.valid_accuracy, abs=1e-6)
                assert values["metric_train_error"] == pytest.approx(1 - row.train_accuracy, abs=1e-6)
                assert values[METRIC_TEST_ERROR] == pytest.approx(1 - row.test_accuracy, abs=1e-6)
                assert values[METRIC_ELAPSED_TIME] == pytest.approx(row.train_time, rel=1e-6)
                assert values["metric_latency"] == pytest.approx(row.latency_b256, rel=1e-6)
                assert values["metric_params"] == pytest.approx(row.params / 1e6, rel=1e-6)
                assert values["metric_flops"] == pytest.approx(row.flops / 1e6, rel=1e-6)
            elapsed = curve[:, OBJECTIVES.index(METRIC_ELAPSED_TIME)]
            assert np.cumsum(curve[:, OBJECTIVES.index(METRIC_RUNTIME)]) == pytest.approx(elapsed, rel=1e-5)


def test_simulator_runs_random_search_on_four_workers(bb, bench, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNETUNE_FOLDER", str(tmp_path))
    np.random.seed(0)  # the simulator draws each trial's table seed from numpy's global generator
    results = SimulatorCallback()
    tuner = Tuner(
        trial_backend=UserBlackboxBackend(bb, elapsed_time_attr=METRIC_ELAPSED_TIME, tuner_sleep_time=0.5),
        scheduler=RandomSearch(bb.configuration_space, metrics=[METRIC_VALID_ERROR], random_seed=0),
        stop_criterion=StoppingCriterion(max_wallclock_time=BUDGET),
        n_workers=4, sleep_time=0, callbacks=[results], save_tuner=False, tuner_name="nasbench-compat",
    )
    tuner.run()
    df = results.dataframe()
    final = df[df[RESOURCE_ATTR] == bench.num_epochs].set_index("trial_id")
    assert len(final) > 100  # trials that trained to the last epoch

    # several simulated workers: the trials' own training time adds up to more than 3 budgets
    assert final[METRIC_ELAPSED_TIME].sum() > 3 * BUDGET
    assert df["st_tuner_time"].max() <= BUDGET + final[METRIC_ELAPSED_TIME].max()

    # every reported number is the table's, for one of its seeds
    truth = {}
    for trial, row in final.iterrows():
        arch = to_arch({name: row[f"config_{name}"] for name in bb.configuration_space}, bench)
        per_seed = [bench.query(arch, seed=seed) for seed in bench.seeds]
        matches = [r for r in per_seed
                   if abs(row[METRIC_VALID_ERROR] - (1 - r.valid_accuracy)) < 1e-6
                   and abs(row[METRIC_TEST_ERROR] - (1 - r.test_accuracy)) < 1e-6]
        assert matches, f"trial {trial}: {arch.arch_str} reported numbers of no seed of the table"
        truth[trial] = (arch, matches[0])

    # the best found, looked up in the table
    best_trial = final[METRIC_VALID_ERROR].idxmin()
    arch, row = truth[best_trial]
    assert final.loc[best_trial, METRIC_VALID_ERROR] == pytest.approx(min(1 - r.valid_accuracy for _, r in truth.values()), abs=1e-6)
    mean = bench.query(arch)
    errors = 1 - bench.to_dataframe()["valid_accuracy"].to_numpy()
    assert 1 - mean.valid_accuracy <= np.quantile(errors, 0.25)  # the best of ~130 noisy draws: in the top quarter
    assert bench.optimum("test_accuracy") - mean.test_accuracy < 0.01  # within a point of the table's best


@pytest.mark.slow
def test_block_table_and_partial_tables(tmp_path):
    blocks = blackbox("blocks-mnist1d.h5")
    assert list(blocks.configuration_space) == ["hp_x0", "hp_x1", "hp_x2", "hp_x3"]
    assert len(blocks.hyperparameters) == 256

    classes = tiny_space().num_classes
    partial = Benchmark.load(build_tiny(tmp_path / "partial.h5", seeds=(0, 1), max_entries=classes + 2, costs_pass="off"))
    bb = blackbox(partial)
    assert bb.num_seeds == 1  # seed 1 is not trained for every class: only seed 0 is offered
    config = {f"hp_x{d}": op for d, op in enumerate(partial.space.parse(5).ops)}
    assert bb.objective_function(config, fidelity=2, seed=0)[METRIC_VALID_ERROR] == pytest.approx(
        1 - partial.query(5, epoch=2, seed=0).valid_accuracy, abs=1e-6)

    early = Benchmark.load(build_tiny(tmp_path / "early.h5", seeds=(0,), max_entries=2))
    with pytest.raises(ValueError, match="no seed is trained for every class") as err:
        blackbox(early)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("call, expected", [
    (lambda bench: blackbox("no-such-table.h5"), "shipped tables: blocks-mnist1d, nb201-mnist1d"),
    (lambda bench: to_arch({"hp_x0": "none"}, bench), "valid keys: hp_x0, hp_x1, hp_x2, hp_x3, hp_x4, hp_x5"),
    (lambda bench: to_arch({f"hp_x{d}": "conv" for d in range(6)}, bench), "valid: none, skip_connect"),
])
def test_bad_input_is_a_one_line_value_error(bench, call, expected):
    with pytest.raises(ValueError) as err:
        call(bench)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_simulator_and_runner_finish_as_many_evaluations_on_four_workers(bench):
    from nasbench.compat.synetune import compare_with_simulator

    check = compare_with_simulator(bench, seconds=150, workers=4, seeds=5)
    assert len(check["nasbench"]) == len(check["syne_tune"]) == 5
    assert min(check["syne_tune"]) > 80  # about 100 trials each: four workers, not one
    assert abs(check["difference"]) <= 3 * check["se_difference"] + 1, check  # the same distribution of counts
    assert check["welch_p"] > 0.001


def test_a_table_that_evaluated_some_epochs_has_only_those_fidelities(sparse_table):
    sparse = Benchmark.load(sparse_table)
    bb = blackbox(sparse)
    assert list(bb.fidelity_values) == [1, 3]
    config = {f"hp_x{d}": op for d, op in enumerate(sparse.space.parse(5).ops)}
    curve = bb.objective_function(config, seed=0)  # (fidelities, objectives)
    assert curve.shape == (2, len(OBJECTIVES)) and np.isfinite(curve).all()
    elapsed = curve[:, OBJECTIVES.index(METRIC_ELAPSED_TIME)]
    assert elapsed[1] == pytest.approx(sparse.query(5, epoch=3, seed=0).train_time, rel=1e-6)
    assert np.cumsum(curve[:, OBJECTIVES.index(METRIC_RUNTIME)]) == pytest.approx(elapsed, rel=1e-5)
