"""The GPU path: several architectures trained in one masked union network (train=gpu), run here on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from conftest import models_of, tiny_space
from nasbench.table.store import TableError, read_table
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.stacked import channel_major, stack_models, train_stacked
from nasbench.train.union import UnionCell, train_union, union_network

TINY_DATA = DatasetConfig(n_train=400, n_valid=300, n_test=300)  # = conf/dataset/tiny.yaml
#: conf/train/gpu.yaml at the size of conf/train/quick.yaml, three architectures per step
UNION = dict(epochs=2, batch_size=128, latency_repeats=1, stack_seeds=True, eval_epochs=[1], archs_per_step=3)
TINY_CLI = ["space=tiny", "dataset=tiny", "seeds=[0,1]", "progress=false", "train.epochs=2", "train.batch_size=128",
            "train.latency_repeats=1", "train.eval_epochs=[1]"]


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


@pytest.fixture(scope="module")
def union_table(tmp_path_factory):
    from nasbench.train.build import run_build

    return run_build(tiny_space(), Recipe(**UNION), TINY_DATA, [0, 1], tmp_path_factory.mktemp("union") / "u.h5",
                     workers=0, max_classes=5, progress=False, log=lambda _: None)


def test_a_union_build_records_its_unions_and_verifies_exactly(union_table, cli):
    table = read_table(union_table)
    with h5py.File(union_table) as f:
        recipe = json.loads(f.attrs["recipe"])
        key = json.loads(f.attrs["build_key"])
    assert recipe["archs_per_step"] == 3 and key["recipe"]["archs_per_step"] == 3
    done = table.entries["done"]
    assert done.sum() == 10  # 5 classes x 2 seeds: a union of 3, then one of 2 (filled up to 3)
    unions = table.entries["union"][done.any(axis=1)]
    assert (unions == unions[:, :1]).all()  # a class's seeds train in one union
    ids, sizes = np.unique(unions[:, 0], return_counts=True)
    assert sorted(sizes) == [2, 3]
    for union, size in zip(ids, sizes):  # a union is named by its first (smallest) class
        assert union == np.flatnonzero((table.entries["union"] == union).any(axis=1)).min()
    assert (table.entries["union"][~done.any(axis=1)] == -1).all()
    code, out, err = cli.inline("nasbench-verify", "--table", union_table, "-n", "4", "--atol", "0")
    assert code == 0, out + err
    assert "passed: 4 of 4" in out


def test_tables_of_other_recipes_write_no_union_record(tiny_table):
    with h5py.File(tiny_table) as f:
        assert "metrics/union" not in f
    assert (read_table(tiny_table).entries["union"] == -1).all()


def test_resuming_or_merging_across_recipes_is_refused_in_one_line(union_table, tmp_path, cli):
    from nasbench.train.build import run_build
    from nasbench.train.merge import merge_shards

    stacked = Recipe(**{k: v for k, v in UNION.items() if k != "archs_per_step"})
    with pytest.raises(TableError, match=r"differs in: recipe \(archs_per_step: 3 vs unset\)"):
        run_build(tiny_space(), stacked, TINY_DATA, [0, 1], union_table, workers=0, progress=False, log=lambda _: None)
    other_width = Recipe(**{**UNION, "archs_per_step": 2})
    with pytest.raises(TableError, match=r"archs_per_step: 3 vs 2"):
        run_build(tiny_space(), other_width, TINY_DATA, [0, 1], union_table, workers=0, progress=False, log=lambda _: None)
    other = run_build(tiny_space(), stacked, TINY_DATA, [0, 1], tmp_path / "stacked.h5", workers=0, max_classes=1,
                      progress=False, log=lambda _: None)
    with pytest.raises(TableError, match=r"another config .*archs_per_step: unset vs 3"):
        merge_shards([union_table, other], tmp_path / "m.h5")
    code, out, err = cli.inline("nasbench-merge", tmp_path / "m.h5", union_table, other)
    assert code != 0 and err.count("\n") == 1 and "archs_per_step" in err and "Traceback" not in err, err


@pytest.mark.parametrize("value, match", [
    (0, "archs_per_step must be an integer >= 1"), (-2, "archs_per_step must be an integer >= 1"),
    (2.5, "archs_per_step must be an integer >= 1"), (True, "archs_per_step must be an integer >= 1"),
])
def test_bad_archs_per_step_is_a_one_line_error(value, match):
    with pytest.raises(ValueError, match=match) as info:
        Recipe(**{**UNION, "archs_per_step": value})
    assert "\n" not in str(info.value)


def test_archs_per_step_needs_stacked_seeds_and_a_cell_space(tmp_path):
    from nasbench.space import space_from_config
    from nasbench.train.build import run_build

    with pytest.raises(ValueError, match="needs train.stack_seeds=true"):
        Recipe(**{**UNION, "stack_seeds": False})
    blocks = space_from_config({"kind": "blocks"})
    with pytest.raises(ValueError, match="cell space") as info:
        run_build(blocks, Recipe(**UNION), TINY_DATA, [0], tmp_path / "b.h5", workers=0, progress=False)
    assert "\n" not in str(info.value)
    assert Recipe().to_dict().get("archs_per_step", "absent") == "absent"  # reference tables record as before


@pytest.mark.slow
@pytest.mark.parametrize("override, match", [
    ("train.archs_per_step=0", "archs_per_step must be an integer >= 1"),
    ("train.archs_per_step=many", "archs_per_step"),
    ("train.stack_seeds=false", "needs train.stack_seeds=true"),
    ("space=blocks_tiny", "cell space"),
])
def test_bad_gpu_options_on_the_command_line(tmp_path, cli, override, match):
    result = cli("nasbench-build", *TINY_CLI, "train=gpu", override, f"output={tmp_path / 'g.h5'}")
    assert result.returncode != 0 and match in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_train_gpu_builds_and_verifies_from_the_command_line(tmp_path, cli):
    out = tmp_path / "g.h5"
    result = cli("nasbench-build", *TINY_CLI, "train=gpu", "train.archs_per_step=2", "max_classes=2", f"output={out}")
    assert result.returncode == 0, result.stderr
    assert json.loads(h5py.File(out).attrs["recipe"])["archs_per_step"] == 2
    check = cli("nasbench-verify", "--table", out, "-n", "2", "--atol", "0")
    assert check.returncode == 0 and "passed: 2 of 2" in check.stdout, check.stdout + check.stderr


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_union_training_on_cuda_is_deterministic_and_near_the_cpus():
    space, data = tiny_space(), load_dataset(TINY_DATA)
    archs, recipe = archs_using_every_op(space, 3), Recipe(**UNION)
    first, again = ([run for stack in train_union(space, archs, data, recipe, [0, 1], "cuda") for run in stack]
                    for _ in range(2))
    cpu = [run for stack in train_union(space, archs, data, recipe, [0, 1]) for run in stack]
    for a, b, c in zip(first, again, cpu):
        for name, curve in a.curves.items():
            if name != "epoch_time":
                np.testing.assert_array_equal(curve, b.curves[name], err_msg=name)
                # another device orders floats otherwise: the curves move, by far less than seed noise
                np.testing.assert_allclose(curve, c.curves[name], atol=0.02, err_msg=name)


@cuda
def test_a_union_build_on_cuda_verifies_exactly(tmp_path):
    from nasbench.train.build import run_build
    from nasbench.train.verify import verify_table

    path = run_build(tiny_space(), Recipe(**UNION), TINY_DATA, [0, 1], tmp_path / "cuda.h5", workers=0, device="cuda",
                     max_classes=4, progress=False, log=lambda _: None)
    assert json.loads(h5py.File(path).attrs["machine"])["device"] == "cuda"
    result = verify_table(path, num_entries=4, device="cuda")
    assert [e.max_abs_diff for e in result.entries] == [0.0] * 4 and all(e.same_setup for e in result.entries)


CHECK = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


def run_check(out: Path, work: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CHECK), str(out)], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHON": sys.executable, "GPU_CHECK_WORK": str(work), **env})


def test_the_gpu_check_wants_an_output_folder_and_a_gpu(tmp_path):
    result = subprocess.run(["bash", str(CHECK)], capture_output=True, text=True)
    assert result.returncode != 0 and "usage: benchmarks/gpu_check.sh OUT_DIR" in result.stderr
    if not torch.cuda.is_available():
        result = run_check(tmp_path / "out", tmp_path / "work")
        assert result.returncode == 2 and "torch sees no CUDA device here" in result.stderr, result.stderr
        assert result.stderr.strip().count("\n") == 0


@pytest.mark.slow
def test_the_gpu_check_runs_its_steps_on_the_cpu(tmp_path):
    """The check's plumbing, with a tiny build on the CPU: build, verify and summary (the benchmark skips)."""
    size = ("space=tiny dataset=tiny seeds=[0,1] max_classes=3 train.epochs=1 train.eval_epochs=[1] "
            "train.batch_size=128 train.latency_repeats=1 train.archs_per_step=2 costs_pass=off")
    out = tmp_path / "out"
    result = run_check(out, tmp_path / "work", GPU_CHECK_DEVICE="cpu", GPU_CHECK_TESTS="", GPU_CHECK_BUILD=size)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == {"benchmark": 0, "build": 0, "verify": 0}
    assert set(summary["benchmark"]) == {"missing"}  # skipped without CUDA: no benchmark.json
    assert summary["table"]["entries"] == 6 and summary["table"]["unions"] == 2 and summary["table"]["device"] == "cpu"
    assert summary["table"]["recipe"]["archs_per_step"] == 2
    assert summary["verify"]["passed"] and summary["verify"]["max_abs_diff"] == [0.0] * 5
    assert isinstance(summary["same_whatever_shares_the_union"]["bit_identical"], bool)
    assert len(list(out.iterdir())) <= 8  # what a device machine sends back
