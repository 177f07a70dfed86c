"""The generator: complete tiny builds, resume, kill/resume, shards and merge, bad input."""

from __future__ import annotations

from collections import Counter
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


import h5py
import numpy as np
import pytest

from nasbench.table.store import EPOCH_FIELDS, TableError, read_table
from nasbench.train.build import merge_shards, shard_path

from conftest import build_tiny, tiny_space

TINY_CLI = ["space=tiny", "dataset=tiny", "train=quick", "seeds=[0,1]", "progress=false"]
COMPARED = [f for f in EPOCH_FIELDS if f != "epoch_time"]


def same_metrics(a, b, mask=None) -> bool:
    mask = np.ones(a.entries["done"].shape, bool) if mask is None else mask
    return all(np.array_equal(a.epochs[f][mask], b.epochs[f][mask], equal_nan=True) for f in COMPARED) and np.array_equal(
        a.entries["diverged"][mask], b.entries["diverged"][mask]
    )


def test_tiny_table_is_complete_with_provenance(tiny_table):
    table = read_table(tiny_table)
    space = tiny_space()
    assert table.shape == (space.num_classes, 2, 2)
    assert table.entries["done"].all()
    assert np.isfinite(table.epochs["valid_accuracy"]).all()
    assert ((table.epochs["valid_accuracy"] >= 0) & (table.epochs["valid_accuracy"] <= 1)).all()
    assert (table.epochs["epoch_time"] > 0).all()
    assert np.isfinite(table.entries["latency_b1"]).all()
    assert (table.epoch_seconds > 0).all()  # every class timed once
    assert json.loads(table.attrs["timing"])["clock"] == "process CPU"
    np.testing.assert_array_equal(table.arch["class_id"], space.class_ids())
    np.testing.assert_array_equal(table.representative, space.representatives())
    for key in ("schema_version", "build_key", "config", "git_commit", "versions", "machine", "dataset_fingerprint", "validity"):
        assert key in table.attrs, key
    assert table.attrs["complete"]
    versions = json.loads(table.attrs["versions"])
    assert {"torch", "numpy", "h5py"} <= set(versions)
    assert "noise_ratio" in json.loads(table.attrs["validity"])


@pytest.mark.slow
def test_rerun_of_a_complete_build_trains_nothing(tiny_table, tmp_path):
    copy = tmp_path / "copy.h5"
    shutil.copy(tiny_table, copy)
    before = read_table(copy)
    build_tiny(copy)
    after = read_table(copy)
    assert same_metrics(before, after)
    assert float(after.attrs["build_seconds"]) - float(before.attrs["build_seconds"]) < 5


@pytest.mark.slow
def test_sharded_and_merged_equals_unsharded(tiny_table, tmp_path):
    out = tmp_path / "t.h5"
    paths = [build_tiny(out, shard=i, num_shards=3) for i in range(3)]
    assert paths == [shard_path(out, i, 3) for i in range(3)]
    parts = [read_table(p) for p in paths]
    assert sum(p.entries["done"].sum() for p in parts) == parts[0].entries["done"].size
    merged = read_table(merge_shards(paths, tmp_path / "merged.h5"))
    assert merged.attrs["complete"]
    assert np.isfinite(merged.epoch_seconds).all()
    timed = [np.isfinite(p.epoch_seconds) for p in parts]
    assert (sum(timed) == 1).all()  # each class timed by exactly one shard
    assert same_metrics(merged, read_table(tiny_table))


@pytest.mark.slow
def test_merge_refuses_shards_of_another_build(tmp_path):
    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, max_entries=1)
    b = build_tiny(tmp_path / "b.h5", seeds=(1,), shard=1, num_shards=2, max_entries=1)
    with pytest.raises(TableError, match="another config"):
        merge_shards([a, b], tmp_path / "m.h5")


@pytest.mark.slow
def test_merge_refuses_a_shard_twice_and_outputs_it_must_not_overwrite(tmp_path):
    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, max_entries=1)
    b = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=1, num_shards=2, max_entries=1)
    with pytest.raises(TableError, match="given twice"):
        merge_shards([a, tmp_path / "." / a.name], tmp_path / "m.h5")
    with pytest.raises(TableError, match="is one of the shards"):
        merge_shards([a, b], b)
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(TableError, match="not a table of this build"):
        merge_shards([a, b], notes)
    assert notes.read_text() == "keep me"
    merged = merge_shards([a, b], tmp_path / "m.h5")
    assert merge_shards([a, b], merged) == merged  # re-merging over an earlier merge of the same build is fine


@pytest.mark.slow
def test_merging_an_incomplete_shard_set_is_refused_unless_allowed(tmp_path, cli):
    shards = [build_tiny(tmp_path / "t.h5", seeds=(0,), shard=i, num_shards=3, max_entries=1) for i in range(3)]

    def merge(*args):
        return cli("nasbench-merge", str(tmp_path / "m.h5"), *map(str, args), timeout=120)

    refused = merge(shards[0])
    assert refused.returncode == 2 and refused.stderr == (
        f"error: shards of this build missing: {shards[1]}, {shards[2]}; give every shard, or pass --allow-partial "
        "(allow_partial=True) to merge a table without their entries\n")
    assert not (tmp_path / "m.h5").exists()
    assert merge(shards[0], "--allow-partial").returncode == 0
    assert int(read_table(tmp_path / "m.h5").entries["done"].sum()) == 1
    refused = merge(shards[2])  # shard 0 is merged already: shard 1 is what is missing
    assert refused.returncode == 2 and f"missing: {shards[1]};" in refused.stderr
    merged = merge(shards[1], shards[2])
    assert merged.returncode == 0, merged.stderr
    assert int(read_table(tmp_path / "m.h5").entries["done"].sum()) == 3


@pytest.mark.slow
def test_a_second_build_of_the_same_output_is_refused_while_the_first_runs(tmp_path, cli):
    from nasbench.train.build import output_lock

    out = tmp_path / "t.h5"
    with output_lock(out):  # as a build running in another process holds it
        assert (tmp_path / ".t.h5.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(TableError, match=rf"t\.h5 is being built by another process \(pid {os.getpid()}, lock file "):
            build_tiny(out, seeds=(0,), max_entries=1)
        second = cli("nasbench-build", "space=tiny", "dataset=tiny", "train=quick", "seeds=[0]", "max_entries=1",
                     "progress=false", f"output={out}", f"hydra.run.dir={tmp_path / 'run'}", timeout=300)
        assert second.returncode == 2 and len(second.stderr.splitlines()) == 1, second.stderr
        assert "is being built by another process" in second.stderr
        assert not out.exists()
        other_shard = build_tiny(out, seeds=(0,), max_entries=1, shard=1, num_shards=2)  # another file: its own lock
    build_tiny(out, seeds=(0,), max_entries=1)
    assert out.exists() and other_shard.exists()
    assert sorted(p.name for p in tmp_path.glob(".*.lock")) == []  # each build removed its lock file


@pytest.mark.slow
def test_output_holding_another_build_is_refused(tiny_table, tmp_path, cli):
    copy = tmp_path / "copy.h5"
    shutil.copy(tiny_table, copy)
    with pytest.raises(TableError, match="another build"):
        build_tiny(copy, seeds=(0, 1, 2))
    result = cli("nasbench-build", *TINY_CLI, "seeds=[5]", f"output={copy}")
    assert result.returncode != 0
    assert "another build" in result.stderr and "Traceback" not in result.stderr
    assert same_metrics(read_table(copy), read_table(tiny_table))  # untouched


@pytest.mark.slow
def test_corrupt_output_is_a_one_line_error(tmp_path, cli):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    result = cli("nasbench-build", *TINY_CLI, f"output={bad}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and str(bad) in lines[-1]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, expected",
    [
        ("workers=abc", "workers"),
        ("space.ops=[none,conv_9x9]", "unknown op"),
        ("train.epochs=0", "epochs"),
        ("shard=3", "shard"),
        ("no_such_key=1", "no_such_key"),
        ("space=nope", "space"),
        ("seeds=[0,-1]", "seeds must be"),  # -1 would be taken for a timing job
        ("dataset.n_train=401", "multiple of 10"),
    ],
)
def test_bad_config_fails_cleanly(override, expected, tmp_path, cli):
    result = cli("nasbench-build", *TINY_CLI, f"output={tmp_path / 'x.h5'}", override, timeout=120)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.h5").exists()


def _wait_for_entries(path: Path, count: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        if path.exists():
            try:
                with h5py.File(path, "r") as f:
                    if f["metrics/done"][()].sum() >= count:
                        return
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError("build made no progress")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_build_resumes_to_the_same_table(sig, tiny_table, tmp_path, cli):
    out = tmp_path / "k.h5"
    args = [*TINY_CLI, f"output={out}", "checkpoint_seconds=0", "workers=1"]
    proc = subprocess.Popen([sys.executable, "-m", "nasbench.cli.build", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_entries(out, 3, proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "resume" in proc.stderr.read()
    partial = read_table(out)  # readable: every write was atomic
    finished = partial.entries["done"].copy()
    assert 3 <= finished.sum() < finished.size
    result = cli("nasbench-build", *args)
    assert result.returncode == 0, result.stderr
    resumed = read_table(out)
    assert resumed.entries["done"].all() and resumed.attrs["complete"]
    assert same_metrics(resumed, partial, finished)  # finished entries kept as they were
    assert same_metrics(resumed, read_table(tiny_table))  # and the whole equals an uninterrupted build
    assert len(json.loads(resumed.attrs["build_history"])) == 2
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.slow
def test_verify_passes_on_an_untouched_table_and_fails_on_a_tampered_one(tiny_table, tmp_path, cli):
    ok = cli("nasbench-verify", "--table", str(tiny_table), "-n", "3", timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "passed: 3 of 3" in ok.stdout and "trained on this machine's setup (float fingerprint" in ok.stdout
    assert "verify tiny.h5: 100%" in ok.stderr and "3/3" in ok.stderr  # each entry is a training run: a progress bar
    tampered = tmp_path / "tampered.h5"
    shutil.copy(tiny_table, tampered)
    with h5py.File(tampered, "r+") as f:
        f["metrics/valid_accuracy"][...] = f["metrics/valid_accuracy"][()] + 0.01
    bad = cli("nasbench-verify", "--table", str(tampered), "-n", "2", "--json", timeout=300)
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert not report["passed"] and all(e["max_abs_diff"] >= 0.0099 for e in report["entries"])


@pytest.mark.slow
def test_verify_on_a_missing_table_is_a_one_line_error(tmp_path, cli):
    result = cli("nasbench-verify", "--table", str(tmp_path / "none.h5"), timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "does not exist" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("value", ["0", "1", "1.5"])
def test_verify_refuses_a_noise_quantile_outside_0_1(tiny_table, value, cli):
    result = cli("nasbench-verify", "--table", str(tiny_table), "--noise-quantile", value, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "(0, 1)" in result.stderr


@pytest.mark.slow
def test_multirun_shards_then_merge(tiny_table, tmp_path, cli):
    """docs/building.md's sharded build: joblib's launcher, each shard with its own worker processes."""
    out = tmp_path / "m.h5"
    result = cli("nasbench-build", "-m", *TINY_CLI, f"output={out}", "shard=0,1", "num_shards=2", "workers=1",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.returncode == 0, result.stderr
    shards = [shard_path(out, i, 2) for i in range(2)]
    merged = cli("nasbench-merge", str(out), *map(str, shards), timeout=120)
    assert merged.returncode == 0, merged.stderr
    assert same_metrics(read_table(out), read_table(tiny_table))


@pytest.mark.slow
def test_cuda_without_a_gpu_is_a_clear_error(tmp_path, cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = cli("nasbench-build", *TINY_CLI, f"output={tmp_path / 'c.h5'}", "device=cuda")
    assert result.returncode == 2 and "no CUDA device" in result.stderr


def test_a_diverged_run_is_recorded_not_raised():
    from nasbench.train.data import DatasetConfig, load_dataset
    from nasbench.train.recipe import Recipe
    from nasbench.train.trainer import train

    space = tiny_space()
    data = load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))
    conv = space.ops.index("nor_conv_3x3")
    result = train(space, (conv,) * space.num_decisions, data, Recipe(epochs=3, batch_size=128, lr=1e30, latency_repeats=1), seed=0)
    assert result.diverged
    assert np.isnan(result.curves["valid_accuracy"][-1])
    assert np.isfinite(result.curves["epoch_time"][0])


def test_a_run_whose_last_step_diverges_is_marked_diverged():
    from nasbench.train.data import DatasetConfig, load_dataset
    from nasbench.train.recipe import Recipe
    from nasbench.train.trainer import train

    space = tiny_space()
    data = load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))
    recipe = Recipe(epochs=1, batch_size=128, lr=1e5, latency_repeats=1)
    results = [train(space, tuple(space.all_decisions[r]), data, recipe, seed=0) for r in space.representatives()]
    assert any(r.diverged for r in results)  # this recipe blows some cells up
    for r in results:  # never a NaN loss next to a finite accuracy, never a NaN loss unflagged
        finite = np.isfinite(r.curves["valid_loss"][-1])
        assert finite != r.diverged and np.isfinite(r.curves["valid_accuracy"][-1]) == finite


def test_the_recipes_foreach_sgd_trains_exactly_like_the_per_tensor_loop(monkeypatch):
    """The flagship's entries were trained with both: they must be the same numbers."""
    import torch

    import nasbench.train.trainer as trainer
    from nasbench.train.data import DatasetConfig, load_dataset
    from nasbench.train.recipe import Recipe

    space = tiny_space()
    data = load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300))
    recipe = Recipe(epochs=2, batch_size=32, latency_repeats=0)
    cells = [tuple(space.all_decisions[r]) for r in space.representatives()[::3]]
    fast = [trainer.train(space, cell, data, recipe, seed=1).curves for cell in cells]
    assert trainer.make_optimizer(torch.nn.Linear(2, 2).parameters(), recipe).defaults["foreach"] is True

    def per_tensor(parameters, recipe):
        return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                               weight_decay=recipe.weight_decay, foreach=False)

    monkeypatch.setattr(trainer, "make_optimizer", per_tensor)
    loop = [trainer.train(space, cell, data, recipe, seed=1).curves for cell in cells]
    for a, b in zip(fast, loop):
        for name in a:
            if name != "epoch_time":
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_priority_trains_the_listed_classes_first(tmp_path):
    from nasbench.train.build import job_order, prioritise, read_priority_file

    space = tiny_space()
    jobs = job_order(space.num_classes, 2)
    listed = tmp_path / "first.txt"
    last_two = [space[int(space.representatives()[c])].arch_str for c, _ in jobs[space.num_classes - 2:space.num_classes]]
    listed.write_text(f"# derived by a search\n{last_two[0]}\n{last_two[1]}  # and this\n")
    ordered = prioritise(jobs, space, read_priority_file(listed))
    assert sorted(ordered) == sorted(jobs)  # the same jobs, reordered
    first_classes = {space.parse(a).class_id for a in last_two}
    assert {c for c, _ in ordered[:2]} == first_classes and all(s == 0 for _, s in ordered[:2])
    n = space.num_classes
    assert {c for c, _ in ordered[n:n + 2]} == first_classes and all(s == 1 for _, s in ordered[n:n + 2])
    assert prioritise(jobs, space, []) == jobs
    with pytest.raises(ValueError, match="cannot read priority_file"):
        read_priority_file(tmp_path / "missing.txt")
    listed.write_text("|bogus~0|\n")
    with pytest.raises(ValueError):
        prioritise(jobs, space, read_priority_file(listed))


@pytest.mark.slow
def test_resuming_a_table_built_before_the_timing_pass_times_its_classes_first(tmp_path):
    from nasbench.train.build import TIMING, with_timing

    out = build_tiny(tmp_path / "t.h5", max_entries=4)
    with h5py.File(out, "r+") as f:  # as if built by a version without the timing pass
        del f["cost/epoch_seconds"]
    table = read_table(out)
    trained = sorted(np.flatnonzero(table.entries["done"].any(axis=1)).tolist())
    fresh = next(c for c in range(table.shape[0]) if c not in trained)
    pending = [(fresh, 0)] + [(c, 1) for c in trained] + [(fresh, 1)]  # later seeds of trained classes still to train
    plan = with_timing(pending, range(table.shape[0]), table)
    assert plan == [(c, TIMING) for c in trained] + [(fresh, TIMING)] + pending

    build_tiny(out, max_entries=0)  # no training, only the backfill
    timed = read_table(out)
    assert np.isfinite(timed.epoch_seconds[trained]).all()
    assert np.isnan(np.delete(timed.epoch_seconds, trained)).all()
    assert same_metrics(table, timed)


@pytest.mark.slow
def test_a_resume_with_other_timing_settings_is_refused(tiny_table, tmp_path):
    from nasbench.train.recipe import TimingConfig

    copy = tmp_path / "copy.h5"
    shutil.copy(tiny_table, copy)
    with pytest.raises(TableError, match="timed with") as err:
        build_tiny(copy, timing=TimingConfig(steps=3))
    assert "\n" not in str(err.value)


def test_a_written_table_has_ordinary_permissions(tiny_table, tmp_path):
    from nasbench.table.store import write_table

    out = tmp_path / "copy.h5"
    write_table(out, read_table(tiny_table))
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def _counted(done: np.ndarray, timed: np.ndarray) -> int:
    return int(done.sum() + np.isfinite(timed).sum())


@pytest.mark.slow
def test_an_interrupt_during_the_final_save_saves_again(tmp_path, monkeypatch):
    import nasbench.train.build as build
    from nasbench.table.store import write_table

    calls = []

    def interrupted_once(path, table):
        calls.append(path)
        if len(calls) == 1:
            raise KeyboardInterrupt  # a SIGTERM arriving while the table is written
        write_table(path, table)

    monkeypatch.setattr(build, "write_table", interrupted_once)
    out = tmp_path / "f.h5"
    with pytest.raises(KeyboardInterrupt):
        build_tiny(out, max_entries=2, checkpoint_seconds=1000)
    assert len(calls) == 2 and read_table(out).entries["done"].sum() == 2


@pytest.mark.slow
def test_a_failing_job_saves_finished_work_then_raises(tmp_path, monkeypatch):
    import nasbench.train.jobs as jobs

    real_train, trained = jobs.train, []

    def fails_third(*args, **kwargs):
        if len(trained) == 2:
            raise RuntimeError("out of memory")
        trained.append(args)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(jobs, "train", fails_third)
    out = tmp_path / "e.h5"
    with pytest.raises(RuntimeError, match="out of memory"):
        build_tiny(out, max_entries=3, checkpoint_seconds=1000)
    assert read_table(out).entries["done"].sum() == 2


@pytest.mark.slow
def test_an_interrupt_in_a_pool_saves_completed_jobs_before_the_pool_shuts_down(tmp_path, monkeypatch):
    import concurrent.futures

    import nasbench.train.build as build

    events, seen = [], set()
    real_wait, real_write, real_shutdown = build.wait, build.write_table, concurrent.futures.ProcessPoolExecutor.shutdown

    def interrupting_wait(futures, return_when):
        seen.update(futures)
        if len(events) == 1:  # the second wait: every job in flight finishes, then SIGTERM arrives
            real_wait(futures)
            raise KeyboardInterrupt
        events.append("wait")
        return real_wait(futures, return_when=return_when)

    monkeypatch.setattr(build, "wait", interrupting_wait)
    monkeypatch.setattr(build, "write_table", lambda path, table: (events.append("write"), real_write(path, table)))
    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "shutdown", lambda pool, *a, **k: (events.append("shutdown"), real_shutdown(pool, *a, **k)))
    out = tmp_path / "p.h5"
    with pytest.raises(KeyboardInterrupt):
        build_tiny(out, max_entries=2, workers=1, checkpoint_seconds=1000)
    assert events == ["wait", "write", "shutdown"]
    table = read_table(out)
    assert _counted(table.entries["done"], table.epoch_seconds) == len(seen)  # every completed job is kept


@pytest.mark.slow
def test_an_in_process_build_leaves_ctrl_c_alone(tmp_path):
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        build_tiny(tmp_path / "s.h5", max_entries=1)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.slow
def test_negative_seeds_are_refused(tmp_path):
    with pytest.raises(ValueError, match="integers >= 0"):
        build_tiny(tmp_path / "n.h5", seeds=(0, -1))
    assert not (tmp_path / "n.h5").exists()


@pytest.mark.slow
def test_merging_into_an_existing_table_keeps_its_entries(tmp_path):
    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, max_entries=2)
    b = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=1, num_shards=2, max_entries=2)
    out = merge_shards([a], tmp_path / "m.h5", allow_partial=True)
    merge_shards([b], out)  # shard 0 is in the output already
    merged, ta, tb = read_table(out), read_table(a), read_table(b)
    np.testing.assert_array_equal(merged.entries["done"], ta.entries["done"] | tb.entries["done"])
    assert same_metrics(merged, ta, ta.entries["done"]) and same_metrics(merged, tb, tb.entries["done"])
    assert json.loads(merged.attrs["merged_from"]) == [a.name, b.name]
    with h5py.File(out, "r+") as f:  # the existing table now disagrees with b
        f["metrics/valid_accuracy"][...] = f["metrics/valid_accuracy"][()] + 0.5
    with pytest.raises(TableError, match="disagrees"):
        merge_shards([b], out)


@pytest.mark.parametrize("tamper", ["nan", "diverged"])
def test_verify_counts_one_sided_nan_and_diverged_as_mismatch(tamper, tiny_table, tmp_path):
    from nasbench.train.verify import verify_table

    copy = tmp_path / "v.h5"
    shutil.copy(tiny_table, copy)
    with h5py.File(copy, "r+") as f:
        if tamper == "nan":
            values = f["metrics/valid_loss"][()]
            values[:, :, -1] = np.nan
            f["metrics/valid_loss"][...] = values
        else:
            f["metrics/diverged"][...] = True
    entries = verify_table(copy, num_entries=1).entries
    assert entries[0].max_abs_diff == np.inf and not entries[0].passed(1e-4)
    assert verify_table(tiny_table, num_entries=1).entries[0].passed(1e-4)


def test_dataset_sizes_must_add_up_to_a_multiple_of_10():
    from nasbench.train.data import DatasetConfig

    with pytest.raises(ValueError, match="multiple of 10"):
        DatasetConfig(n_train=401, n_valid=300, n_test=300)
    DatasetConfig()  # the flagship's 4000/5000/5000


def test_dataset_generation_knobs_change_the_data_and_leave_older_tables_their_identity():
    import json

    from nasbench.train.data import DatasetConfig, load_dataset

    from nasbench.table.benchmark import resolve_table_path

    flagship = json.loads(read_table(resolve_table_path(None)).attrs["dataset"])
    assert DatasetConfig().to_dict() == flagship  # knobs at mnist1d's default are not recorded
    small = dict(n_train=400, n_valid=300, n_test=300)
    base, sheared = load_dataset(DatasetConfig(**small)), load_dataset(DatasetConfig(**small, shear_scale=1.5))
    assert DatasetConfig(**small, shear_scale=1.5).to_dict()["shear_scale"] == 1.5
    assert base.fingerprint != sheared.fingerprint
    np.testing.assert_array_equal(base.y_train, sheared.y_train)  # the same samples, drawn harder
    with pytest.raises(ValueError, match="dataset.shear_scale must be a number >= 0 or null"):
        DatasetConfig(shear_scale=-1.0)


@pytest.mark.slow
def test_merge_refuses_shards_timed_differently_and_keeps_every_build_history(tmp_path):
    from nasbench.train.recipe import TimingConfig

    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, max_entries=1)
    b = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=1, num_shards=2, max_entries=1)
    c = build_tiny(tmp_path / "c.h5", seeds=(0,), shard=1, num_shards=2, max_entries=1, timing=TimingConfig(steps=3))
    with pytest.raises(TableError, match=r"timed its classes with .*steps\": 3.*refusing to merge"):
        merge_shards([a, c], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()
    merged = read_table(merge_shards([a, b], tmp_path / "m.h5"))
    runs = [json.loads(read_table(p).attrs["build_history"]) for p in (a, b)]
    history = json.loads(merged.attrs["build_history"])
    assert all(run in history for run in runs[0] + runs[1]) and len(history) <= len(runs[0] + runs[1])


def test_machine_record_names_the_training_threads(tiny_table):
    machine = json.loads(read_table(tiny_table).attrs["machine"])
    assert machine["torch_threads"] == machine["threads_per_worker"] == 1
    assert machine["workers"] == 0 and machine["cpu_count"] >= 1


@pytest.mark.slow
def test_verify_json_is_strict_and_foreign_tables_are_refused(tiny_table, tmp_path, cli):
    nan_copy = tmp_path / "nan.h5"
    shutil.copy(tiny_table, nan_copy)
    with h5py.File(nan_copy, "r+") as f:
        values = f["metrics/valid_accuracy"][()]
        values[:, :, -1] = np.nan
        f["metrics/valid_accuracy"][...] = values
        f.attrs["versions"] = json.dumps({**json.loads(f.attrs["versions"]), "torch": "0.0.1"})
    bad = cli("nasbench-verify", "--table", str(nan_copy), "-n", "1", "--json", timeout=300)
    assert bad.returncode == 1, bad.stderr

    def no_constant(text):
        raise AssertionError(f"{text} in strict JSON")

    report = json.loads(bad.stdout, parse_constant=no_constant)
    assert report["entries"][0]["table"]["valid_accuracy"] is None and report["entries"][0]["max_abs_diff"] is None
    assert any(note.startswith("libraries: torch 0.0.1 (table) vs ") for note in report["notes"])
    foreign = tmp_path / "foreign.h5"
    shutil.copy(tiny_table, foreign)
    with h5py.File(foreign, "r+") as f:
        f.attrs["space_signature"] = "0000deadbeef"
    refused = cli("nasbench-verify", "--table", str(foreign), "-n", "1", timeout=300)
    assert refused.returncode == 2 and "incompatible nasbench" in refused.stderr and len(refused.stderr.splitlines()) == 1


# ---------------------------------------------------------------- costs pass
def inflate_costs(table_path: Path, factor: float = 10.0) -> None:
    """Costs as a build spread over busy runs may leave them: inflated, and no record of a costs pass."""
    with h5py.File(table_path, "r+") as f:
        for name in ("cost/epoch_seconds", "latency/batch1", "latency/batch256"):
            f[name][...] = f[name][()] * factor
        if "costs_pass" in f.attrs:
            del f.attrs["costs_pass"]


def test_a_finished_build_measures_costs_in_one_sitting(tiny_table):
    table = read_table(tiny_table)
    last = json.loads(table.attrs["costs_pass"])
    assert last["entries"] == int(table.entries["done"].sum()) == table.entries["done"].size
    assert last["classes"] == table.entries["done"].shape[0] and last["started"] <= last["finished"]
    assert np.isfinite(table.epoch_seconds).all() and np.isfinite(table.entries["latency_b1"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1])
def test_costs_pass_replaces_costs_measured_during_the_build(tiny_table, tmp_path, workers):
    copy = tmp_path / "t.h5"
    shutil.copy(tiny_table, copy)
    inflate_costs(copy)
    inflated = read_table(copy)
    build_tiny(copy, costs_pass="off", workers=workers)  # nothing to train, no pass: costs kept
    assert np.array_equal(read_table(copy).epoch_seconds, inflated.epoch_seconds)
    build_tiny(copy, workers=workers)  # auto: every entry trained and no pass covers them
    after = read_table(copy)
    assert same_metrics(after, inflated)  # only costs change
    assert (after.epoch_seconds < inflated.epoch_seconds / 3).all()
    assert (after.entries["latency_b1"] < inflated.entries["latency_b1"] / 3).all()
    assert json.loads(after.attrs["costs_pass"])["workers"] == workers


@pytest.mark.slow
def test_an_interrupted_costs_pass_keeps_the_earlier_costs(tiny_table, tmp_path, monkeypatch):
    import nasbench.train.costs as costs

    copy = tmp_path / "t.h5"
    shutil.copy(tiny_table, copy)
    inflate_costs(copy)
    before = read_table(copy)
    calls = {"n": 0}
    measure = costs.cost_job

    def interrupted(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return measure(*args)

    monkeypatch.setattr(costs, "cost_job", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_tiny(copy)
    after = read_table(copy)
    assert np.array_equal(after.epoch_seconds, before.epoch_seconds) and "costs_pass" not in after.attrs
    assert np.array_equal(after.entries["latency_b1"], before.entries["latency_b1"], equal_nan=True)


@pytest.mark.slow
def test_costs_pass_waits_for_the_last_entry_unless_asked(tmp_path):
    partial = build_tiny(tmp_path / "p.h5", seeds=(0,), max_entries=3)
    assert "costs_pass" not in read_table(partial).attrs
    build_tiny(partial, seeds=(0,), max_entries=0, costs_pass="now")
    table = read_table(partial)
    assert json.loads(table.attrs["costs_pass"])["entries"] == 3
    with pytest.raises(ValueError, match="costs_pass must be auto, now or off, got 'sometimes'"):
        build_tiny(partial, seeds=(0,), costs_pass="sometimes")


@pytest.mark.slow
def test_costs_pass_runs_once_the_first_seed_is_complete_and_again_at_the_end(tmp_path):
    path = tmp_path / "t.h5"
    classes = tiny_space().num_classes
    build_tiny(path, max_entries=classes - 1)  # seed 0 of all but one class
    assert "costs_pass" not in read_table(path).attrs
    build_tiny(path, max_entries=1)  # seed 0 complete: a single-seed table with costs of one sitting
    first = json.loads(read_table(path).attrs["costs_pass"])
    assert first["classes"] == classes and first["entries"] == classes
    build_tiny(path, max_entries=2)  # two entries of seed 1: not measured again
    assert json.loads(read_table(path).attrs["costs_pass"]) == first
    build_tiny(path)  # the last entries: measured again
    last = json.loads(read_table(path).attrs["costs_pass"])
    assert last["entries"] == 2 * classes


def test_verify_notes_what_differs_from_the_build(tiny_table):
    from nasbench.train.verify import provenance_notes

    assert not any(note.startswith("device") for note in provenance_notes(tiny_table))
    assert "device: the table was trained on cpu, this re-run uses cuda" in provenance_notes(tiny_table, "cuda")


def test_signals_wait_for_the_end_of_a_deferred_block():
    from nasbench.train.build import signals_deferred

    state = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            state.append("swapped")  # reached: the interrupt waits for the block's end
    assert state == ["swapped"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1])
def test_one_run_across_the_first_seed_pauses_for_its_costs_pass(tmp_path, monkeypatch, workers):
    """A single run that completes the first seed and goes on measures costs at the seed boundary, then at the end."""
    import nasbench.train.build as build

    path = tmp_path / "t.h5"
    classes = tiny_space().num_classes
    build_tiny(path, max_entries=classes - 3, workers=workers)  # seed 0 of all but three classes
    passes = []
    real = build.measure_costs

    def measure(table, *args, **kwargs):
        passes.append((int(table.entries["done"][:, 0].sum()), int(table.entries["done"][:, 1].sum())))
        return real(table, *args, **kwargs)

    monkeypatch.setattr(build, "measure_costs", measure)
    build_tiny(path, workers=workers)  # the rest, both seeds, in one run
    assert passes == [(classes, 0), (classes, classes)]  # seed 0 complete and no seed-1 entry yet; then everything
    record = json.loads(read_table(path).attrs["costs_pass"])
    assert record["entries"] == 2 * classes


@pytest.mark.slow
def test_merged_shards_carry_no_costs_pass(tmp_path):
    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, costs_pass="now")
    b = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=1, num_shards=2, costs_pass="now")
    assert "costs_pass" in read_table(a).attrs and "costs_pass" in read_table(b).attrs
    merged = merge_shards([a, b], tmp_path / "m.h5")
    assert "costs_pass" not in read_table(merged).attrs  # each shard measured in its own sitting
    build_tiny(merged, seeds=(0,))  # auto: the merged table's costs, measured in one sitting
    assert json.loads(read_table(merged).attrs["costs_pass"])["classes"] == tiny_space().num_classes


@pytest.mark.slow
def test_a_subsample_build_gets_its_costs_pass(tmp_path):
    table = read_table(build_tiny(tmp_path / "sub.h5", seeds=(0,), max_classes=4))
    assert int(table.entries["done"].sum()) == 4 and json.loads(table.attrs["costs_pass"])["entries"] == 4


@pytest.mark.slow
def test_copies_resumed_apart_merge_with_each_run_counted_once(tmp_path):
    """A table copied to another machine, both copies resumed, then merged (how the flagship used a lent GPU box's cores)."""
    space = tiny_space()
    base = build_tiny(tmp_path / "base.h5", seeds=(0, 1), max_entries=space.num_classes)  # seed 0, with its costs pass
    start = read_table(base)
    assert "costs_pass" in start.attrs
    here, there = tmp_path / "here.h5", tmp_path / "there.h5"
    shutil.copy(base, here)
    shutil.copy(base, there)
    build_tiny(here, seeds=(0, 1), max_entries=2)
    rest = [space.to_string(tuple(space.all_decisions[r])) for r in space.representatives()][::-1][:2]
    (tmp_path / "last-first.txt").write_text("\n".join(rest))
    from nasbench.train.build import read_priority_file

    build_tiny(there, seeds=(0, 1), max_entries=2, priority=read_priority_file(tmp_path / "last-first.txt"))
    a, b = read_table(here), read_table(there)
    assert not (a.entries["done"] & b.entries["done"] & ~start.entries["done"]).any()  # disjoint new entries
    runs = [json.loads(t.attrs["build_history"])[-1] for t in (a, b)]
    assert all(run["seconds"] > 0 and run["torch"] and run["device"] == "cpu" and run["cpu_capability"] for run in runs)

    merged = read_table(merge_shards([there], here))
    assert int(merged.entries["done"].sum()) == space.num_classes + 4
    expected = float(start.attrs["build_seconds"]) + runs[0]["seconds"] + runs[1]["seconds"]
    assert float(merged.attrs["build_seconds"]) == pytest.approx(expected)
    assert len(json.loads(merged.attrs["build_history"])) == len(json.loads(start.attrs["build_history"])) + 2
    # neither copy timed anything after the copy: the costs pass of the original still describes the epoch times
    assert merged.attrs["costs_pass"] == start.attrs["costs_pass"]
    # merging the same copy again adds no time
    again = read_table(merge_shards([there], here))
    assert float(again.attrs["build_seconds"]) == pytest.approx(expected)


@pytest.mark.slow
def test_verify_names_build_runs_on_other_setups(tmp_path):
    path = build_tiny(tmp_path / "t.h5", seeds=(0,), max_entries=2)
    from nasbench.train.verify import provenance_notes, verify_table

    here = verify_table(path, num_entries=1).setup
    assert not any(note.startswith("setups") for note in provenance_notes(path, here_setup=here))
    with h5py.File(path, "r+") as f:  # as if a second run had trained on another machine's CPU and torch
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps(history + [{**history[-1], "machine": "Other CPU", "torch": "2.11.0",
                                                          "run": "other"}])
    setups = [note for note in provenance_notes(path, here_setup=here) if note.startswith("setups")]
    assert len(setups) == 1 and "Other CPU (cpu" in setups[0] and "with torch 2.11.0" in setups[0]
    said = []
    build_tiny(path, seeds=(0,), max_entries=1, log=said.append, allow_other_setup=True)  # resuming here says so
    assert any("earlier runs trained on Other CPU (cpu" in line and "torch 2.11.0" in line for line in said)


@pytest.mark.slow
def test_every_trained_entry_records_its_run_and_each_run_its_float_fingerprint(tmp_path):
    path = build_tiny(tmp_path / "t.h5", seeds=(0, 1), max_entries=3)
    build_tiny(path, seeds=(0, 1), max_entries=2)
    table = read_table(path)
    history = json.loads(table.attrs["build_history"])
    assert len(history) == 2 and all(len(run["float_fingerprint"]) == 16 for run in history)
    assert history[0]["float_fingerprint"] == history[1]["float_fingerprint"]  # one machine, one float order
    done = table.entries["done"]
    runs = table.entries["run"]
    assert sorted(Counter(runs[done]).values()) == [2, 3] and set(runs[done]) == {run["run"] for run in history}
    assert set(runs[~done]) == {""}


@pytest.mark.slow
def test_a_merge_keeps_every_shards_run_records(tmp_path):
    a = build_tiny(tmp_path / "s.h5", seeds=(0,), shard=0, num_shards=2, max_entries=2)
    b = build_tiny(tmp_path / "s.h5", seeds=(0,), shard=1, num_shards=2, max_entries=2)
    shards = [read_table(p) for p in (a, b)]
    ids = [json.loads(t.attrs["build_history"])[-1]["run"] for t in shards]
    merged = read_table(merge_shards([a, b], tmp_path / "m.h5"))
    for shard, run in zip(shards, ids):
        assert set(shard.entries["run"][shard.entries["done"]]) == {run}
        np.testing.assert_array_equal(merged.entries["run"][shard.entries["done"]], run)
    assert int((merged.entries["run"] != "").sum()) == int(merged.entries["done"].sum()) == 4


@pytest.mark.slow
def test_a_table_without_run_records_reads_as_unrecorded_and_verify_judges_it_by_seed_noise(tiny_table, tmp_path, cli):
    from nasbench.train.verify import verify_table

    path = tmp_path / "t.h5"
    shutil.copy(tiny_table, path)
    with h5py.File(path, "r+") as f:  # as nasbench wrote tables before entries recorded their run
        del f["metrics/run"]
    table = read_table(path)
    assert set(table.entries["run"].ravel()) == {""}
    done = int(table.entries["done"].sum())
    checked = verify_table(path, num_entries=2)  # no entry of this setup: drawn from all, judged by seed noise
    assert len(checked.entries) == 2 and f"drawn from all {done} entries: none was trained on this machine's" in checked.drawn
    # judged as entries of another setup: this machine re-runs them exactly, so no seed change is smaller
    assert all(not e.same_setup and e.noise_percentile == 0.0 and e.passed(0.0) for e in checked.entries)
    assert verify_table(path, num_entries=2, any_setup=True).entries == checked.entries
    ok = cli("nasbench-verify", "--table", str(path), "-n", "1", timeout=300)
    assert ok.returncode == 0 and "0 of this setup" in ok.stdout and "1 of other setups" in ok.stdout, ok.stdout + ok.stderr


def test_run_ids_written_as_variable_length_strings_read_the_same(tiny_table, tmp_path):
    path = tmp_path / "t.h5"
    shutil.copy(tiny_table, path)
    runs = read_table(tiny_table).entries["run"]
    with h5py.File(path, "r+") as f:  # as the first builder with run records wrote them
        del f["metrics/run"]
        f.create_dataset("metrics/run", data=runs.astype(object), dtype=h5py.string_dtype())
    np.testing.assert_array_equal(read_table(path).entries["run"], runs)


def test_another_setups_entry_that_diverges_again_passes_and_one_that_diverges_once_fails(tiny_table):
    from nasbench.train.verify import _noise_percentile, _seed_changes

    table = read_table(tiny_table)
    changes = _seed_changes(table)

    class Rerun:
        def __init__(self, diverged, valid):
            self.diverged = diverged
            self.curves = {"valid_accuracy": np.array([valid], np.float32),
                           "test_accuracy": table.epochs["test_accuracy"][0, 0, -1:]}

    final = float(table.epochs["valid_accuracy"][0, 0, -1])
    assert _noise_percentile(Rerun(False, final), table, 0, 0, changes) == 0.0
    assert _noise_percentile(Rerun(False, np.nan), table, 0, 0, changes) == np.inf
    assert _noise_percentile(Rerun(True, np.nan), table, 0, 0, changes) == np.inf  # diverged only in the re-run
    table.entries["diverged"][0, 0] = True
    assert _noise_percentile(Rerun(True, np.nan), table, 0, 0, changes) == 0.0  # both diverged


def test_entries_of_another_setup_must_stay_within_seed_noise(tiny_table, tmp_path):
    from nasbench.train.verify import verify_table

    path = tmp_path / "t.h5"
    shutil.copy(tiny_table, path)
    with h5py.File(path, "r+") as f:  # every entry from a run of another float order; one entry's valid accuracy moved
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps([{**run, "float_fingerprint": "0" * 16} for run in history])
        values = f["metrics/valid_accuracy"][()]
        final = values[:, :, -1]
        moved_class = int(np.argmin(final[:, 0]))
        values[moved_class, 0, -1] += 0.5  # more than any seed-to-seed change of the table's other classes
        f["metrics/valid_accuracy"][...] = values
        entries = int(f["metrics/done"][()].sum())
    checked = verify_table(path, num_entries=entries, any_setup=True)
    moved = [e for e in checked.entries if (e.class_id, e.seed) == (moved_class, 0)]
    kept = [e for e in checked.entries if (e.class_id, e.seed) != (moved_class, 0)]
    assert len(moved) == 1 and not any(e.same_setup for e in checked.entries)
    assert not moved[0].passed(1e-4) and moved[0].noise_percentile > 99
    assert all(e.passed(1e-4) for e in kept)


@pytest.mark.slow
def test_verify_on_another_machine_judges_by_seed_noise_and_says_so_per_entry(tiny_table, tmp_path, cli):
    """docs/building.md's `nasbench-verify -n 5` on a machine the table was not built on: no option needed."""
    path, moved_path = tmp_path / "t.h5", tmp_path / "moved.h5"
    shutil.copy(tiny_table, path)
    with h5py.File(path, "r+") as f:  # every run of another float order, as on the build host
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps([{**run, "float_fingerprint": "0" * 16} for run in history])
    shutil.copy(path, moved_path)
    with h5py.File(moved_path, "r+") as f:  # and a copy whose final valid accuracies moved beyond any seed change
        moved = f["metrics/valid_accuracy"][()]
        moved[:, :, -1] += 0.5
        f["metrics/valid_accuracy"][...] = moved
    table = read_table(path)
    final = table.epochs["valid_accuracy"][:, :, -1]
    changes = np.sort(np.abs(final[:, 0] - final[:, 1]))
    spread = changes[min(int(0.99 * len(changes)), len(changes) - 1)]
    for table_path, code, verdict in ((path, 0, "ok"), (moved_path, 1, "MISMATCH")):
        result = cli("nasbench-verify", "--table", str(table_path), "-n", "2", timeout=300)
        assert result.returncode == code, result.stdout + result.stderr
        assert "none was trained on this machine's setup" in result.stdout
        lines = [line for line in result.stdout.splitlines() if re.match(r"^\s+\d+\s+\d+\s", line)]
        assert len(lines) == 2
        within = "within" if code == 0 else "beyond"
        for line in lines:
            assert re.search(rf"  {verdict}: other setup, final accuracy moved valid \d\.\d{{4}}, test \d\.\d{{4}}: {within} "
                             rf"the table's seed-to-seed spread \(0\.99 of its seed changes are at most valid {spread:.4f}, "
                             r"test \d\.\d{4}\)  \|", line), line


@pytest.mark.slow
def test_verify_draws_only_entries_of_runs_with_this_machines_float_fingerprint(tmp_path):
    from nasbench.train.verify import verify_table

    path = build_tiny(tmp_path / "t.h5", seeds=(0, 1), max_classes=3, max_entries=4)
    build_tiny(path, seeds=(0, 1), max_classes=3)  # 3 classes x 2 seeds: seed pairs measure the noise
    with h5py.File(path, "r+") as f:  # as if the first run had trained elsewhere, and its entries were off
        history = json.loads(f.attrs["build_history"])
        history[0]["float_fingerprint"] = "0" * 16
        f.attrs["build_history"] = json.dumps(history)
        elsewhere = f["metrics/run"].asstr()[()] == history[0]["run"]
        values = f["metrics/valid_accuracy"][()]
        values[elsewhere] += 0.25
        f["metrics/valid_accuracy"][...] = values
    checked = verify_table(path, num_entries=5)
    assert len(checked.entries) == 2 and all(e.passed(1e-4) for e in checked.entries)
    assert "the 2 of 6 entries trained on this machine's setup" in checked.drawn
    judged = verify_table(path, num_entries=6, any_setup=True).entries  # the others are judged by seed noise
    assert sorted(e.same_setup for e in judged) == [False] * 4 + [True] * 2
    assert all(np.isnan(e.noise_percentile) == e.same_setup for e in judged)


def _as_older_runs(path, **fields):
    """Rewrite a table's history as nasbench wrote it before runs recorded ids and seconds."""
    with h5py.File(path, "r+") as f:
        history = json.loads(f.attrs["build_history"])
        keep = ("started", "git_commit", "machine")
        f.attrs["build_history"] = json.dumps([{**{k: run[k] for k in keep}, **fields} for run in history])


@pytest.mark.slow
def test_copies_of_an_older_table_count_its_time_once(tmp_path):
    space = tiny_space()
    base = build_tiny(tmp_path / "base.h5", seeds=(0, 1), max_entries=space.num_classes)
    _as_older_runs(base)
    start = float(read_table(base).attrs["build_seconds"])
    here, there = tmp_path / "here.h5", tmp_path / "there.h5"
    shutil.copy(base, here)
    shutil.copy(base, there)
    build_tiny(here, seeds=(0, 1), max_entries=1)
    rest = [space.to_string(tuple(space.all_decisions[r])) for r in space.representatives()][::-1][:1]
    build_tiny(there, seeds=(0, 1), max_entries=1, priority=rest)
    runs = [json.loads(read_table(p).attrs["build_history"])[-1]["seconds"] for p in (here, there)]
    expected = start + sum(runs)
    assert float(read_table(merge_shards([there], here)).attrs["build_seconds"]) == pytest.approx(expected)
    assert float(read_table(merge_shards([there], here)).attrs["build_seconds"]) == pytest.approx(expected)


@pytest.mark.slow
def test_older_shards_started_in_the_same_second_add_their_times(tmp_path):
    a = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=0, num_shards=2, max_entries=2)
    b = build_tiny(tmp_path / "a.h5", seeds=(0,), shard=1, num_shards=2, max_entries=2)
    for shard in (a, b):
        _as_older_runs(shard, started="2026-11-01T00:00:00+00:00")  # as a multirun starts them
    seconds = [float(read_table(p).attrs["build_seconds"]) for p in (a, b)]
    merged = merge_shards([a, b], tmp_path / "m.h5")
    assert float(read_table(merged).attrs["build_seconds"]) == pytest.approx(sum(seconds))
    assert len(json.loads(read_table(merged).attrs["build_history"])) == 2
    # merging the same shards into the merged table again adds no time
    assert float(read_table(merge_shards([a, b], merged)).attrs["build_seconds"]) == pytest.approx(sum(seconds))


@pytest.mark.slow
@pytest.mark.parametrize("into", ["here", "there"])
def test_a_copy_that_timed_more_classes_drops_the_costs_pass_in_either_order(tmp_path, into):
    base = build_tiny(tmp_path / "base.h5", seeds=(0,), max_entries=3, costs_pass="now")
    assert "costs_pass" in read_table(base).attrs
    here, there = tmp_path / "here.h5", tmp_path / "there.h5"
    shutil.copy(base, here)
    shutil.copy(base, there)
    build_tiny(there, seeds=(0,), max_entries=2, costs_pass="off")  # trains and times two more classes
    output, other = (here, there) if into == "here" else (there, here)
    assert "costs_pass" not in read_table(merge_shards([other], output)).attrs



@pytest.mark.slow
def test_verify_names_runs_whose_cpu_kernels_differ(tmp_path):
    path = build_tiny(tmp_path / "t.h5", seeds=(0,), max_entries=1)
    from nasbench.train.verify import provenance_notes, verify_table

    with h5py.File(path, "r+") as f:  # the same CPU name and torch, but another vector instruction set
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps(history + [{**history[-1], "cpu_capability": "OTHER", "run": "other",
                                                          "float_fingerprint": None}])
    setups = [note for note in provenance_notes(path, here_setup=verify_table(path).setup) if note.startswith("setups")]
    assert len(setups) == 1 and "OTHER kernels" in setups[0]


@pytest.mark.slow
def test_resuming_on_other_cpu_kernels_is_refused_unless_allowed(tmp_path, cli):
    path = build_tiny(tmp_path / "t.h5", seeds=(0, 1), max_entries=1)
    with h5py.File(path, "r+") as f:  # as if the first run had dispatched to other vector kernels
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps([{**history[-1], "cpu_capability": "OTHER", "float_fingerprint": None}])
    before = read_table(path)
    with pytest.raises(TableError, match=r"trained on .*OTHER kernels.*allow_other_setup=true"):
        build_tiny(path, seeds=(0, 1), max_entries=1)
    assert int(read_table(path).entries["done"].sum()) == int(before.entries["done"].sum())  # nothing written
    build_tiny(path, seeds=(0, 1), max_entries=1, allow_other_setup=True)
    assert int(read_table(path).entries["done"].sum()) == int(before.entries["done"].sum()) + 1
    bad = cli("nasbench-build", *TINY_CLI, f"output={path}", "max_entries=1")
    assert bad.returncode != 0 and "allow_other_setup=true" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("earlier", [{"float_fingerprint": "0" * 16}, {"float_fingerprint": None, "machine": "Other CPU"}])
def test_resuming_after_a_run_of_another_float_order_or_cpu_is_refused_unless_allowed(tmp_path, earlier):
    path = build_tiny(tmp_path / "t.h5", seeds=(0, 1), max_entries=1)
    with h5py.File(path, "r+") as f:  # another measured float order, or (before fingerprints) another CPU
        history = json.loads(f.attrs["build_history"])
        f.attrs["build_history"] = json.dumps([{**history[-1], **earlier}])
    with pytest.raises(TableError, match="allow_other_setup=true"):
        build_tiny(path, seeds=(0, 1), max_entries=1)
    build_tiny(path, seeds=(0, 1), max_entries=1, allow_other_setup=True)


@pytest.mark.slow
def test_the_float_fingerprint_tells_torchs_cpu_kernels_apart(tmp_path):
    """Forcing torch's scalar kernels (as an older CPU would run) changes the hash, as it changes the curves."""
    import torch

    if torch.backends.cpu.get_cpu_capability() == "DEFAULT":
        pytest.skip("this CPU already runs torch's scalar kernels")
    script = (
        "import torch; torch.set_num_threads(1)\n"
        "from nasbench.train.data import DatasetConfig, load_dataset\n"
        "from nasbench.train.recipe import Recipe\n"
        "from nasbench.train.trainer import float_fingerprint\n"
        "from conftest import tiny_space\n"
        "print(float_fingerprint(tiny_space(), load_dataset(DatasetConfig(n_train=400, n_valid=300, n_test=300)), "
        "Recipe(epochs=2, batch_size=128)))\n"
    )
    here = Path(__file__).parent

    def fingerprint(capability: str | None) -> str:
        env = {**os.environ, "PYTHONPATH": str(here)}
        env.pop("ATEN_CPU_CAPABILITY", None)
        if capability:
            env["ATEN_CPU_CAPABILITY"] = capability
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    native = fingerprint(None)
    assert len(native) == 16 and fingerprint(None) == native
    assert fingerprint("default") != native


@pytest.mark.slow
def test_classes_file_trains_only_the_listed_classes(tmp_path):
    from nasbench.table.store import read_table
    from nasbench.train.build import read_priority_file

    space = tiny_space()
    listed = tmp_path / "sample.txt"
    chosen = [space[int(space.representatives()[c])].arch_str for c in (3, 7)]
    listed.write_text("\n".join(chosen) + "\n")
    out = build_tiny(tmp_path / "sample.h5", seeds=(0,), epochs=1, only=read_priority_file(listed, "classes_file"),
                     costs_pass="off")
    done = read_table(out).entries["done"][:, 0]
    assert sorted(int(c) for c in np.flatnonzero(done)) == sorted(space.parse(a).class_id for a in chosen)
    with pytest.raises(ValueError, match="cannot read classes_file"):
        read_priority_file(tmp_path / "missing.txt", "classes_file")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="lists no architecture"):
        build_tiny(tmp_path / "empty.h5", seeds=(0,), only=read_priority_file(tmp_path / "empty.txt"))
