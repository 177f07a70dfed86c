"""The stacked fast path: seeds of a class trained together, each its own model; a recipe of its own."""

from __future__ import annotations

import json
from dataclasses import asdict

import h5py
import numpy as np
import pytest
import torch

from conftest import build_tiny, models_of, tiny_space
from nasbench.space.blocks import BlockSpace
from nasbench.train.recipe import Recipe
from nasbench.train.stacked import channel_major, stack_models, train_stacked, unstack_into

STACKED = dict(stack_seeds=True, eval_epochs=[1])


@pytest.mark.parametrize("space", [tiny_space(), BlockSpace()], ids=["cell", "blocks"])
def test_stack_computes_each_models_own_output_and_unstacks(space):
    decisions = tuple(space.all_decisions[space.representatives()[-1]])
    models = models_of(space, decisions, [0, 1, 2])
    stacked = stack_models(models)
    x = torch.randn(3, 16, space.config()["input_length"])
    for mode in ("train", "eval"):
        [m.train(mode == "train") for m in [*models, stacked]]
        out = stacked(channel_major(x))
        for s, model in enumerate(models):
            torch.testing.assert_close(out[:, s], model(x[s]), atol=1e-5, rtol=1e-5)
    copies = models_of(space, decisions, [7, 8, 9])
    unstack_into(stacked, copies)
    for model, copy in zip(models, copies):
        for (name, a), b in zip(model.state_dict().items(), copy.state_dict().values()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=name)  # running stats: one forward each


def test_a_diverged_model_leaves_the_others_untouched():
    space = tiny_space()
    decisions = tuple(space.all_decisions[space.representatives()[-1]])
    models = models_of(space, decisions, [0, 1, 2])
    stacked = stack_models(models)
    x = torch.randn(3, 16, 40)
    before = stacked(channel_major(x)).detach()
    with torch.no_grad():
        for p in models[1].parameters():
            p.fill_(float("nan"))
    poisoned = stack_models(models)
    after = poisoned(channel_major(x))
    after[:, [0, 2]].sum().backward()
    assert torch.equal(after[:, [0, 2]], before[:, [0, 2]]) and torch.isnan(after[:, 1]).all()
    grads = [p.grad.reshape(3, -1) for p in poisoned.parameters() if p.grad is not None]  # model-major
    assert grads and all(torch.isfinite(g[[0, 2]]).all() for g in grads)


def test_stacked_training_is_deterministic_and_evaluates_only_the_chosen_epochs():
    from nasbench.train.data import DatasetConfig, load_dataset

    space, data = tiny_space(), load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))
    recipe = Recipe(epochs=3, batch_size=128, latency_repeats=1, **STACKED)
    decisions = tuple(space.all_decisions[space.representatives()[-1]])
    first, again = (train_stacked(space, decisions, data, recipe, [0, 1]) for _ in range(2))
    assert len(first) == 2
    for a, b in zip(first, again):
        for name, curve in a.curves.items():
            if name != "epoch_time":
                np.testing.assert_array_equal(curve, b.curves[name])
        assert np.isfinite(a.curves["train_accuracy"]).all() and np.isfinite(a.curves["epoch_time"]).all()
        assert np.isnan(a.curves["valid_accuracy"][1]) and np.isfinite(a.curves["valid_accuracy"][[0, 2]]).all()
    assert not np.array_equal(first[0].curves["train_loss"], first[1].curves["train_loss"])  # two seeds, two models


def test_recipe_fields_validate_and_the_reference_recipe_records_as_before():
    assert Recipe(epochs=12, eval_epochs=[4, 1]).eval_epochs == [1, 4, 12]  # the last epoch is always evaluated
    for bad in ([0], [13], [], [1.5]):
        with pytest.raises(ValueError, match="eval_epochs"):
            Recipe(epochs=12, eval_epochs=bad)
    assert Recipe().to_dict() == {k: v for k, v in asdict(Recipe()).items()
                                  if k not in ("stack_seeds", "eval_epochs", "archs_per_step")}
    assert Recipe(**STACKED).to_dict()["stack_seeds"] is True


@pytest.fixture(scope="module")
def stacked_table(tmp_path_factory):
    from nasbench.train.build import run_build
    from nasbench.train.data import DatasetConfig

    return run_build(tiny_space(), Recipe(epochs=3, batch_size=128, latency_repeats=3, **STACKED),
                     DatasetConfig(n_train=400, n_valid=300, n_test=300), [0, 1, 2],
                     tmp_path_factory.mktemp("stacked") / "tiny.h5", workers=0, progress=False,
                     log=lambda _: None)


def test_a_stacked_build_trains_whole_classes_and_verifies_exactly(stacked_table):
    from nasbench.table import Benchmark
    from nasbench.train.verify import verify_table

    bench = Benchmark.load(stacked_table)
    with h5py.File(stacked_table) as f:
        recipe = json.loads(f.attrs["recipe"])
    assert recipe["stack_seeds"] is True and recipe["eval_epochs"] == [1, 3]
    assert bench.evaluated_epochs == (1, 3)
    assert "3 epochs (valid and test at epochs 1, 3)" in repr(bench)
    between = bench.query(0, epoch=2, seed=0)
    assert np.isnan(between.valid_accuracy) and np.isnan(between.test_loss) and np.isfinite(between.train_loss)
    done = bench.done
    assert done.all()
    result = verify_table(stacked_table, num_entries=5)
    assert [e.max_abs_diff for e in result.entries] == [0.0] * 5


def test_a_search_asking_for_an_epoch_the_table_did_not_evaluate_is_refused(stacked_table):
    from nasbench.search import Budget, make_generators, run_search
    from nasbench.search.base import Trial
    from nasbench.table import Benchmark

    bench = Benchmark.load(stacked_table)
    arch = bench.space[int(bench.representatives[0])]

    class Asks:
        name = "asks"

        def __init__(self, epoch):
            self.epoch = epoch

        def ask(self):
            return Trial(arch, self.epoch)

        def tell(self, trial, observation):
            pass

        def state(self):
            return {}

    _, rng = make_generators(0)
    run_search(Asks(3), bench, Budget(1e9, max_evals=1), rng)
    with pytest.raises(ValueError, match="did not evaluate; valid: 1, 3"):
        run_search(Asks(2), bench, Budget(1e9, max_evals=1), rng)


@pytest.mark.slow
def test_the_reference_build_keeps_its_records(tmp_path):
    path = build_tiny(tmp_path / "ref.h5", seeds=(0,), epochs=1, max_classes=1)
    with h5py.File(path) as f:
        recipe, key = json.loads(f.attrs["recipe"]), json.loads(f.attrs["build_key"])
    assert "stack_seeds" not in recipe and "eval_epochs" not in recipe and "stack_seeds" not in key["recipe"]


def test_stacked_job_order_gives_each_shard_whole_classes():
    from nasbench.train.build import STACK, job_order, stack_jobs

    shards = [job_order(20, 3, shard, 3, stacked=True) for shard in range(3)]
    entries = [job for shard in shards for job in shard]
    assert sorted(entries) == sorted(job_order(20, 3))  # the same entries as the reference order
    classes = [{c for c, _ in shard} for shard in shards]
    assert not (classes[0] & classes[1]) and not (classes[1] & classes[2])  # a class trains in one shard
    assert all(len(shard) == 3 * len({c for c, _ in shard}) for shard in shards)
    jobs = stack_jobs(shards[0])
    assert [s for _, s in jobs] == [STACK] * len(classes[0]) and [c for c, _ in jobs] == list(dict.fromkeys(c for c, _ in shards[0]))
