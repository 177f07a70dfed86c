"""The GPU path: several architectures trained in one masked union network (train=gpu), run here on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import models_of, tiny_space
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.stacked import channel_major, stack_models, train_stacked
from nasbench.train.union import UnionCell, train_union, union_network

TINY_DATA = DatasetConfig(n_train=400, n_valid=300, n_test=300)  # = conf/dataset/tiny.yaml
#: conf/train/gpu.yaml at the size of conf/train/quick.yaml, three architectures per step
UNION = dict(epochs=2, batch_size=128, latency_repeats=1, stack_seeds=True, eval_epochs=[1], archs_per_step=3)


def archs_using_every_op(space, count: int) -> list[tuple[int, ...]]:
    """``count`` class representatives, the first ones using different ops on every edge."""
    decisions = space.all_decisions[space.representatives()]
    mixed = [d for d in decisions if len(set(map(int, d))) == len(space.ops)]
    rest = [d for d in decisions if len(set(map(int, d))) < len(space.ops)]
    return [tuple(int(v) for v in d) for d in (mixed + rest)[:count]]


def test_a_models_output_and_gradient_are_its_own_whatever_shares_its_union():
    """Exactly: masking selects a model's own op, the other ops add nothing and get an exact zero gradient."""
    space = tiny_space()
    a, b, c = archs_using_every_op(space, 3)
    x = torch.randn(4, 32, 40)
    runs = []
    for companion in (b, c):
        union, models = union_network(space, [a, companion], [0, 1])
        out = union.train()(channel_major(x))  # (batch, models, classes)
        out[:, :2].square().sum().backward()  # architecture a's two models only
        grads = {name: p.grad.reshape(4, -1) for name, p in union.named_parameters() if p.grad is not None}
        runs.append((out, grads, union))
        for name, grad in grads.items():
            assert not grad[2:].any(), name  # the companion's models get no gradient from a's loss
        # weights of an op no model of a uses on an edge are zero and get an exact zero gradient
        for cell in (m for m in union.features if isinstance(m, UnionCell)):
            for p, ops in enumerate(cell.ops):
                for name, op in ops.items():
                    own = [m for m in range(2) if cell.chosen[m][p] == name]
                    for tensor in op.parameters():
                        rows = tensor.reshape(4, -1)
                        assert all(not rows[m].any() for m in range(2) if m not in own)
                        assert all(not tensor.grad.reshape(4, -1)[m].any() for m in range(2) if m not in own)
    (out_b, grads_b, _), (out_c, grads_c, _) = runs
    assert torch.equal(out_b[:, :2], out_c[:, :2])
    shared = [name for name in grads_b if name in grads_c]
    assert shared and all(torch.equal(grads_b[n][:2], grads_c[n][:2]) for n in shared)
    # and each model computes what its own architecture's stack computes
    stacked = stack_models(models_of(space, a, [0, 1])).train()
    torch.testing.assert_close(out_b[:, :2], stacked(channel_major(x[:2])), rtol=1e-6, atol=1e-6)


def test_union_training_is_per_model_and_matches_the_stacked_trainer():
    space, data = tiny_space(), load_dataset(TINY_DATA)
    a, b, c = archs_using_every_op(space, 3)
    recipe = Recipe(**UNION)
    first = train_union(space, [a, b, c], data, recipe, [0, 1])
    again = train_union(space, [a, c], data, recipe, [0, 1])  # other companions, one filled-up place
    assert [len(r) for r in first] == [2, 2, 2] and [len(r) for r in again] == [2, 2]
    for one, other in zip(first[0], again[0]):  # a's models: the same whatever shares the union
        for name, curve in one.curves.items():
            if name != "epoch_time":
                np.testing.assert_array_equal(curve, other.curves[name], err_msg=name)
    stacked_recipe = Recipe(**{k: v for k, v in UNION.items() if k != "archs_per_step"})
    for arch, results in zip([a, b, c], first):
        for union_run, stacked_run in zip(results, train_stacked(space, arch, data, stacked_recipe, [0, 1])):
            # the same models, data orders and updates; only batch-axis sums that span the whole stack (the
            # classifier's bias gradient) are vectorised by the stack's width, so rounding may differ in the last bits
            for name, curve in stacked_run.curves.items():
                if name.endswith("loss"):
                    np.testing.assert_allclose(union_run.curves[name], curve, atol=1e-5, err_msg=name)
                elif name.endswith("accuracy"):  # at most one of 300 samples predicted otherwise
                    np.testing.assert_allclose(union_run.curves[name], curve, atol=1.01 / 300, err_msg=name)
            assert union_run.diverged == stacked_run.diverged and union_run.latency_b1 > 0
    assert not np.array_equal(first[0][0].curves["train_loss"], first[1][0].curves["train_loss"])


def test_a_diverged_model_leaves_its_union_untouched():
    space = tiny_space()
    a, b = archs_using_every_op(space, 2)
    x = torch.randn(4, 16, 40)
    union, _ = union_network(space, [a, b], [0, 1])
    before = union(channel_major(x)).detach()
    with torch.no_grad():  # every weight of model 1 (architecture a, seed 1), its unused ops' too
        for tensor in union.parameters():
            tensor.view(4, -1)[1] = float("nan")
    after = union(channel_major(x))
    after[:, [0, 2, 3]].sum().backward()
    assert torch.equal(after[:, [0, 2, 3]], before[:, [0, 2, 3]]) and torch.isnan(after[:, 1]).all()
    grads = [p.grad.view(4, -1) for p in union.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g[[0, 2, 3]]).all() for g in grads)


@pytest.mark.parametrize("value, match", [
    (0, "archs_per_step must be an integer >= 1"), (-2, "archs_per_step must be an integer >= 1"),
    (2.5, "archs_per_step must be an integer >= 1"), (True, "archs_per_step must be an integer >= 1"),
])
def test_bad_archs_per_step_is_a_one_line_error(value, match):
    with pytest.raises(ValueError, match=match) as info:
        Recipe(**{**UNION, "archs_per_step": value})
    assert "\n" not in str(info.value)
