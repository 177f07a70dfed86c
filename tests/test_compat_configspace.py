"""The ConfigSpace adapter against ConfigSpace itself: sampling, round trips for every cell, the objective."""

from __future__ import annotations

import math

import numpy as np
import pytest

ConfigSpace = pytest.importorskip("ConfigSpace", reason='needs ConfigSpace: pip install "nasbench[configspace]"')

from nasbench import Benchmark, BlockSpace, CellSpace  # noqa: E402
from nasbench.compat.configspace import configuration_space, objective, space_of, to_arch, to_config  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    return Benchmark.load()


def test_cell_space_is_six_categoricals_named_by_edge():
    cs = configuration_space()
    assert list(cs.keys()) == ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
    for hp in cs.values():
        assert isinstance(hp, ConfigSpace.CategoricalHyperparameter)
        assert list(hp.choices) == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    assert space_of(cs) == CellSpace()
    # the names read as the arch string's edges: "j<-i" is op~i of node j
    config = ConfigSpace.Configuration(cs, values={
        "1<-0": "nor_conv_3x3", "2<-0": "none", "2<-1": "skip_connect",
        "3<-0": "skip_connect", "3<-1": "none", "3<-2": "nor_conv_1x1"})
    assert to_arch(config).arch_str == "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"


def test_every_cell_round_trips():
    cs = configuration_space()
    space = CellSpace()
    for index in range(len(space)):
        config = to_config(index, cs)
        assert to_arch(config).index == index
        assert to_arch(dict(config)).index == index  # a plain dict of the same names
    arch = space.parse(4321)
    assert to_config(arch.arch_str, cs) == to_config(arch, cs) == to_config(arch.ops, cs)


def test_every_block_sequence_round_trips():
    cs = configuration_space(BlockSpace())
    assert list(cs.keys()) == ["pos0", "pos1", "pos2", "pos3"]
    for index in range(len(BlockSpace())):
        assert to_arch(to_config(index, cs)).index == index
    assert to_arch(to_config("res3-incep-skip-sep3", cs)).arch_str == "res3-incep-skip-sep3"


def test_thousand_sampled_configurations_are_uniform_and_answered(bench):
    cs = configuration_space(bench, seed=0)
    configs = cs.sample_configuration(1000)
    indices = np.array([to_arch(config).index for config in configs])
    assert all(to_config(int(i), cs) == config for i, config in zip(indices, configs))
    ops = np.array([to_arch(config).decisions for config in configs])
    counts = np.stack([np.bincount(column, minlength=5) for column in ops.T])
    assert counts.min() > 150 and counts.max() < 250  # 200 expected per op and edge
    for config, index in zip(configs, indices):
        result = objective(config, fidelity=5, seed=1)
        truth = bench.query(int(index), epoch=5, seed=1)
        assert result["function_value"] == result["fitness"] == pytest.approx(1 - truth.valid_accuracy)
        assert result["cost"] == pytest.approx(truth.train_time)
        assert result["info"] == truth.to_dict()
    again = configuration_space(bench, seed=0).sample_configuration(1000)
    assert again == configs  # the seed fixes the draws


def test_objective_fidelity_and_seed(bench):
    config = to_config(11715, configuration_space())
    assert objective(config)["info"]["epoch"] == 12 and objective(config)["info"]["seed"] is None
    assert objective(config, fidelity={"epoch": 4})["info"]["epoch"] == 4  # HPOBench's fidelity
    assert objective(config, fidelity=1.333)["info"]["epoch"] == 1  # DEHB's budgets: the nearest epoch
    assert objective(config, fidelity=3.5)["info"]["epoch"] == 4
    assert objective(config, fidelity=12.0)["info"]["epoch"] == 12
    mean = objective(config, seed=None)["function_value"]
    seeds = [objective(config, seed=s)["function_value"] for s in (0, 1, 2)]
    assert mean == pytest.approx(np.mean(seeds))


def test_a_dehb_style_loop_finds_a_good_cell(bench):
    """Random search through the objective alone, as a DEHB / SMAC loop calls it."""
    cs = configuration_space(seed=3)
    best = min((objective(config, fidelity=12.0) for config in cs.sample_configuration(300)),
               key=lambda result: result["fitness"])
    errors = 1 - bench.to_dataframe()["valid_accuracy"].to_numpy()
    assert best["fitness"] <= np.quantile(errors, 0.02)  # 300 draws reach the best 2 % almost surely


def test_block_table_objective():
    cs = configuration_space(BlockSpace(), seed=1)
    config = cs.sample_configuration()
    result = objective(config, table="blocks-mnist1d.h5")
    assert result["info"]["arch_str"] == to_arch(config).arch_str
    with pytest.raises(ValueError, match="belongs to the blocks space"):
        objective(config)  # the default table is the cell space's


@pytest.mark.parametrize("call, expected", [
    (lambda cfg: objective(cfg, fidelity=0), "valid: an epoch 1..12"),
    (lambda cfg: objective(cfg, fidelity=13), "valid: an epoch 1..12"),
    (lambda cfg: objective(cfg, fidelity="4"), "valid: an epoch 1..12"),
    (lambda cfg: objective(cfg, fidelity=math.nan), "valid: an epoch 1..12"),
    (lambda cfg: objective(cfg, fidelity={"budget": 4}), "names no epoch"),
    (lambda cfg: objective(cfg, seed=7), "valid: 0, 1, 2"),
    (lambda cfg: to_arch({"1<-0": "none"}), "valid: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2"),
    (lambda cfg: to_arch({**dict(cfg), "3<-2": "conv"}), "valid: none, skip_connect"),
    (lambda cfg: to_config(15625, cfg.config_space), "valid: 0..15624"),
    (lambda cfg: to_config(1, ConfigSpace.ConfigurationSpace({"x": [1, 2]})), "not made by"),
    (lambda cfg: configuration_space("cell"), "expected a search space"),
])
def test_bad_input_is_a_one_line_value_error(call, expected):
    config = configuration_space().sample_configuration()
    with pytest.raises(ValueError) as err:
        call(config)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_table_that_evaluated_some_epochs_answers_only_there(sparse_table):
    sparse = Benchmark.load(sparse_table)
    config = configuration_space(sparse, seed=0).sample_configuration()
    assert objective(config, fidelity=1, table=sparse)["info"]["epoch"] == 1
    assert np.isfinite(objective(config, fidelity=2.6, table=sparse)["function_value"])  # the nearest epoch, 3
    with pytest.raises(ValueError, match=r"^fidelity 2 was not evaluated: .* valid fidelity: 1, 3$"):
        objective(config, fidelity=2, table=sparse)
