"""Benchmark: loading, queries by any encoding, batch queries, partial and broken tables."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import nasbench
from nasbench.space import SpaceError
from nasbench.table import Benchmark, MissingEntryError, QueryResult, TableError, default_table_path
from conftest import build_tiny, tiny_space

METRICS = ("train_accuracy", "valid_accuracy", "test_accuracy", "train_loss", "valid_loss", "test_loss")


@pytest.fixture(scope="module")
def bench(tiny_table) -> Benchmark:
    return Benchmark.load(tiny_table)


@pytest.fixture(scope="module")
def raw(tiny_table) -> dict:
    """The file read with h5py directly, independent of nasbench.table."""
    with h5py.File(tiny_table, "r") as f:
        out = {name: f[f"metrics/{name}"][()] for name in METRICS + ("epoch_time", "done", "diverged")}
        out["latency_b1"] = f["latency/batch1"][()]
        out["latency_b256"] = f["latency/batch256"][()]
        out["epoch_seconds"] = f["cost/epoch_seconds"][()]
    return out


@pytest.fixture(scope="module")
def partial_table(tmp_path_factory) -> Path:
    """The tiny build stopped after 5 entries (all of seed 0, since jobs are seed-major)."""
    return build_tiny(tmp_path_factory.mktemp("partial") / "partial.h5", max_entries=5)


def copy_table(src: Path, tmp_path: Path, name: str = "copy.h5") -> Path:
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


# ---------------------------------------------------------------- loading
def test_load_properties(bench, tiny_table):
    space = tiny_space()
    assert bench.space == space and len(bench) == len(space) == 27
    assert bench.path == Path(tiny_table)
    assert bench.seeds == (0, 1)
    assert bench.num_epochs == 2
    assert bench.num_classes == space.num_classes
    assert bench.done.shape == (space.num_classes, 2) and bench.done.all()
    assert bench.complete and bench.entries_done == bench.done.size
    np.testing.assert_array_equal(bench.class_ids, space.class_ids())
    np.testing.assert_array_equal(bench.representatives, space.representatives())
    meta = bench.metadata
    assert meta["seeds"] == [0, 1] and meta["space"] == space.config()
    assert meta["schema_version"] == 1 and isinstance(meta["build_key"], dict)
    assert "27 architectures" in repr(bench) and f"{bench.done.size}/{bench.done.size} entries" in repr(bench)
    with pytest.raises(ValueError):
        bench.done[0, 0] = False  # read-only


def test_exports():
    assert nasbench.Benchmark is Benchmark
    assert nasbench.QueryResult is QueryResult
    assert nasbench.TableError is TableError
    assert issubclass(TableError, ValueError) and issubclass(MissingEntryError, TableError)


def test_default_path_is_the_shipped_table():
    from importlib.resources import files

    from nasbench.table import DEFAULT_TABLE

    assert default_table_path() == Path(str(files("nasbench.tables"))) / f"{DEFAULT_TABLE}.h5"


def test_load_shipped_table():
    if not default_table_path().exists():
        pytest.skip("no shipped table in this checkout")
    bench = Benchmark.load()
    assert len(bench) == 15625 and bench.num_classes == 6466
    assert bench.path == default_table_path()


def test_load_without_shipped_table(monkeypatch, tmp_path):
    import nasbench.table.benchmark as module

    monkeypatch.setattr(module, "default_table_path", lambda: tmp_path / "nb201-mnist1d.h5")
    with pytest.raises(TableError, match="no table is shipped") as err:
        Benchmark.load()
    one_line(err)


# ---------------------------------------------------------------- single queries
def test_query_matches_the_file(bench, raw):
    space = tiny_space()
    class_ids = space.class_ids()
    costs = space.costs(space.all_decisions)
    done = raw["done"]
    for index in range(len(space)):
        c = class_ids[index]
        for e in (1, 2):
            for s, seed in enumerate((0, 1)):
                r = bench.query(index, epoch=e, seed=seed)
                assert (r.index, r.class_id, r.epoch, r.seed, r.num_seeds) == (index, c, e, seed, 1)
                assert r.arch_str == space[index].arch_str
                for name in METRICS:
                    assert getattr(r, name) == pytest.approx(float(raw[name][c, s, e - 1]), rel=1e-6)
                assert r.train_time == pytest.approx(e * float(raw["epoch_seconds"][c]), rel=1e-6)
                assert r.latency == pytest.approx(float(raw["latency_b1"][c, s]), rel=1e-6)
                assert r.latency_b256 == pytest.approx(float(raw["latency_b256"][c, s]), rel=1e-6)
            mean = bench.query(index, epoch=e)
            assert mean.seed is None and mean.num_seeds == done[c].sum() == 2
            for name in METRICS:
                assert getattr(mean, name) == pytest.approx(float(raw[name][c, :, e - 1].mean()), rel=1e-6)
            assert mean.train_time == pytest.approx(e * float(raw["epoch_seconds"][c]), rel=1e-6)
            assert mean.latency == pytest.approx(float(raw["latency_b1"][c].mean()), rel=1e-6)
        r = bench.query(index)
        assert (r.params, r.flops) == (int(costs["params"][index]), int(costs["flops"][index]))
        assert type(r.params) is int and type(r.valid_accuracy) is float and r.diverged is False


def test_query_defaults_to_last_epoch_and_mean(bench):
    assert bench.query(5) == bench.query(5, epoch=2)
    assert bench.query(5, seed=None).num_seeds == 2


def test_accuracies_are_fractions(bench):
    frame = bench.to_dataframe(epoch=1)
    for name in ("train_accuracy", "valid_accuracy", "test_accuracy"):
        assert frame[name].between(0, 1).all()


def test_query_by_any_encoding(bench):
    space = bench.space
    for index in (0, 7, 13, 26):
        arch = space[index]
        expected = bench.query(index)
        encodings = [
            index, np.int64(index), str(index), arch.arch_str, f"  {arch.arch_str} ", arch,
            list(arch.ops), tuple(arch.decisions), np.array(arch.decisions), arch.one_hot,
            arch.one_hot.tolist(), arch.matrix, arch.matrix.tolist(), arch.graph,
        ]
        for encoding in encodings:
            assert bench.query(encoding) == expected, encoding
        # the path encoding is many-to-one: it decodes to the lowest index with that encoding
        assert bench.query(arch.path_encoding).index == space.parse(arch.path_encoding).index


def test_isomorphic_architectures_share_metrics(bench):
    ids = bench.class_ids
    c = int(np.bincount(ids).argmax())
    members = np.flatnonzero(ids == c)
    assert len(members) > 1
    a, b = (bench.query(int(i)) for i in members[:2])
    assert a.valid_accuracy == b.valid_accuracy and a.class_id == b.class_id == c
    assert a.arch_str != b.arch_str


def test_query_result_is_frozen(bench):
    r = bench.query(3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.valid_accuracy = 1.0
    d = r.to_dict()
    assert list(d) == list(vars(r)) == [f.name for f in dataclasses.fields(QueryResult)]
    assert QueryResult(**d) == r and hash(QueryResult(**d)) == hash(r)
    assert json.loads(json.dumps(d)) == d


# ---------------------------------------------------------------- batch queries
@pytest.mark.parametrize("seed", [None, 1])
@pytest.mark.parametrize("epoch", [None, 1])
def test_batch_matches_single(bench, epoch, seed):
    idx = np.arange(len(bench))
    out = bench.query_batch(idx, epoch=epoch, seed=seed)
    fields = [f.name for f in dataclasses.fields(QueryResult) if f.name not in ("epoch", "seed")]
    assert list(out) == fields
    for i in idx:
        single = bench.query(int(i), epoch=epoch, seed=seed).to_dict()
        for name in fields:
            assert out[name][i] == single[name], (i, name)
    assert all(len(v) == len(idx) for v in out.values())


def test_batch_accepts_any_encodings(bench):
    space = bench.space
    picks = [4, 20, 4, 0]
    expected = bench.query_batch(np.array(picks))
    variants = [
        picks, tuple(picks), np.array(picks, dtype=np.uint8), iter(picks),
        [space[i].arch_str for i in picks], np.array([space[i].arch_str for i in picks]),
        [space[picks[0]], str(picks[1]), space[picks[2]].ops, space[picks[3]].matrix],
        np.stack([space[i].one_hot for i in picks]), np.stack([np.array(space[i].decisions) for i in picks]),
    ]
    for variant in variants:
        out = bench.query_batch(variant)
        for name, column in expected.items():
            np.testing.assert_array_equal(out[name], column)
    np.testing.assert_array_equal(bench.query_batch(range(4, 21, 16))["index"], [4, 20])
    empty = bench.query_batch([])
    assert all(len(v) == 0 for v in empty.values())


def test_batch_as_frame_and_to_dataframe(bench):
    frame = bench.query_batch([1, 2, 3], as_frame=True)
    assert list(frame["index"]) == [1, 2, 3]
    full = bench.to_dataframe(epoch=1, seed=0)
    assert len(full) == len(bench) and list(full.index) == list(full["index"]) == list(range(len(bench)))
    assert full.loc[9, "valid_accuracy"] == bench.query(9, epoch=1, seed=0).valid_accuracy


# ---------------------------------------------------------------- best, optimum, curve
def test_best_and_optimum(bench, raw):
    means = raw["valid_accuracy"][:, :, -1].astype(np.float64).mean(axis=1)
    best = bench.best()
    assert best.class_id == int(means.argmax())
    assert best.index == int(bench.representatives[best.class_id])
    assert bench.optimum("valid_accuracy") == pytest.approx(means.max())
    assert bench.best("valid_loss").valid_loss == pytest.approx(raw["valid_loss"][:, :, -1].astype(np.float64).mean(axis=1).min())
    assert bench.best("params").params == int(bench.query_batch(range(len(bench)))["params"].min())
    early = raw["test_accuracy"][:, 1, 0]
    assert bench.best("test_accuracy", epoch=1, seed=1).class_id == int(early.argmax())
    assert bench.optimum("train_time") == pytest.approx(2 * raw["epoch_seconds"].astype(np.float64).min())


def test_curve(bench):
    for seed in (None, 0):
        curve = bench.curve(11, "test_loss", seed=seed)
        assert curve.shape == (2,)
        assert list(curve) == [bench.query(11, epoch=e, seed=seed).test_loss for e in (1, 2)]
    time = bench.curve(11, "train_time")
    assert time[1] > time[0] > 0


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, error, text",
    [
        (lambda b: b.query("|conv~0|+|none~0|none~1|"), SpaceError, "valid"),
        (lambda b: b.query(27), SpaceError, "valid: 0..26"),
        (lambda b: b.query(-1), SpaceError, "valid: 0..26"),
        (lambda b: b.query(True), SpaceError, "bool"),
        (lambda b: b.query([0, 1]), SpaceError, "length 2"),
        (lambda b: b.query(3, epoch=0), TableError, "valid: 1..2"),
        (lambda b: b.query(3, epoch=3), TableError, "valid: 1..2"),
        (lambda b: b.query(3, epoch=1.0), TableError, "1..2"),
        (lambda b: b.query(3, epoch=True), TableError, "1..2"),
        (lambda b: b.query(3, seed=2), TableError, "valid: 0, 1"),
        (lambda b: b.query(3, seed="0"), TableError, "valid: 0, 1"),
        (lambda b: b.query(3, seed=False), TableError, "valid: 0, 1"),
        (lambda b: b.best("accuracy"), TableError, "valid: train_accuracy"),
        (lambda b: b.optimum("valid_acc"), TableError, "valid: "),
        (lambda b: b.curve(3, "params"), TableError, "valid: train_accuracy"),
        (lambda b: b.query_batch("|none~0|+|none~0|none~1|"), TableError, "sequence"),
        (lambda b: b.query_batch(5), TableError, "sequence"),
        (lambda b: b.query_batch([0, 99]), SpaceError, "valid: 0..26"),
        (lambda b: b.query_batch(np.array([0, -3])), SpaceError, "valid: 0..26"),
        (lambda b: b.query_batch([0, "bogus"]), SpaceError, ""),
        (lambda b: b.query_batch([0], epoch=9), TableError, "valid: 1..2"),
        (lambda b: b.query_batch([0], missing="zero"), TableError, "'raise' or 'nan'"),
        (lambda b: b.query([True, False, 1, 2]), SpaceError, "mixes true/false with numbers"),
        (lambda b: Benchmark.load(3), TableError, "file path or a shipped table's name, got int 3"),
        (lambda b: Benchmark.load(b.path.parent), TableError, "is a folder, not a table file"),
    ],
)
def test_bad_input(bench, call, error, text):
    with pytest.raises(error) as err:
        call(bench)
    assert text in one_line(err)


# ---------------------------------------------------------------- partial tables
def test_partial_table(partial_table):
    bench = Benchmark.load(partial_table)
    assert not bench.complete and bench.entries_done == 5
    assert bench.done[:, 0].sum() == 5 and not bench.done[:, 1].any()
    trained = np.flatnonzero(bench.done[:, 0])
    untrained = np.flatnonzero(~bench.done[:, 0])
    good = int(bench.representatives[trained[0]])
    bad = int(bench.representatives[untrained[0]])

    r = bench.query(good)
    assert r.num_seeds == 1 and r == dataclasses.replace(bench.query(good, seed=0), seed=None)
    with pytest.raises(MissingEntryError) as err:
        bench.query(bad)
    message = one_line(err)
    assert f"class {untrained[0]}" in message and f"5 of {bench.done.size}" in message
    with pytest.raises(MissingEntryError, match="seed 1"):
        bench.query(good, seed=1)
    with pytest.raises(MissingEntryError):
        bench.curve(bad)
    with pytest.raises(TableError, match="valid: 1..2"):  # bad epoch wins over a missing entry
        bench.query(bad, epoch=7)

    with pytest.raises(MissingEntryError, match="missing='nan'") as err:
        bench.query_batch(range(len(bench)))
    one_line(err)
    out = bench.query_batch(range(len(bench)), missing="nan")
    trained_arch = bench.done[bench.class_ids, 0]
    assert np.isnan(out["valid_accuracy"][~trained_arch]).all()
    assert np.isfinite(out["valid_accuracy"][trained_arch]).all()
    np.testing.assert_array_equal(out["num_seeds"], trained_arch.astype(int))
    frame = bench.to_dataframe()
    assert frame["valid_accuracy"].notna().sum() == trained_arch.sum()

    best = bench.best()
    assert bench.done[best.class_id, 0]
    assert best.valid_accuracy == np.nanmax(out["valid_accuracy"])
    with pytest.raises(MissingEntryError, match="no trained entry"):
        bench.best(seed=1)


def test_diverged_seed_is_left_out_of_the_mean(tiny_table, tmp_path):
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        f["metrics/diverged"][3, 1] = True
        for name in METRICS:
            f[f"metrics/{name}"][3, 1, 1] = np.nan
        f["metrics/epoch_time"][3, 1, 1] = np.nan
        seed0 = f["metrics/valid_accuracy"][3, 0, :].astype(np.float64)
        epoch1 = f["metrics/valid_accuracy"][3, :, 0].astype(np.float64)
    bench = Benchmark.load(path)
    index = int(bench.representatives[3])
    last = bench.query(index)
    assert last.diverged and last.num_seeds == 2
    assert last.valid_accuracy == pytest.approx(seed0[1])
    assert bench.query(index, epoch=1).valid_accuracy == pytest.approx(epoch1.mean())
    assert np.isnan(bench.query(index, seed=1).valid_accuracy) and bench.query(index, seed=1).diverged
    assert not bench.query(index, seed=0).diverged
    assert bench.query_batch([index])["diverged"][0]


def test_train_time_comes_from_the_timing_pass(bench, raw):
    assert bench.time_source == "timed"
    assert (raw["epoch_seconds"] > 0).all()
    assert bench.metadata["timing"]["clock"] == "process CPU"
    index = int(bench.representatives[4])
    np.testing.assert_allclose(bench.curve(index, "train_time"), raw["epoch_seconds"][4] * np.arange(1, 3), rtol=1e-6)


def test_untimed_table_falls_back_to_measured_wall_time(tiny_table, raw, tmp_path):
    """A table built before the timing pass (or with one trained class untimed) charges the recorded wall times."""
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        f["cost/epoch_seconds"][2] = np.nan
    partly = Benchmark.load(path)
    with h5py.File(path, "r+") as f:
        del f["cost/epoch_seconds"]
    legacy = Benchmark.load(path)
    for bench in (partly, legacy):
        assert bench.time_source == "measured"
        index = int(bench.representatives[3])
        assert bench.query(index, seed=1).train_time == pytest.approx(float(raw["epoch_time"][3, 1].sum()), rel=1e-6)


# ---------------------------------------------------------------- broken files
def test_missing_file(tmp_path):
    with pytest.raises(TableError, match="does not exist") as err:
        Benchmark.load(tmp_path / "nope.h5")
    one_line(err)


def test_a_bare_file_name_loads_a_shipped_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of that name here
    bench = Benchmark.load("nb201-mnist1d.h5")
    assert bench.path == default_table_path()
    with pytest.raises(TableError, match="neither a file here nor a shipped table") as err:
        Benchmark.load("nb201-cifar.h5")
    assert "nb201-mnist1d" in one_line(err)


def test_a_shipped_table_loads_by_its_short_name(tiny_table, tmp_path, monkeypatch):
    import nasbench.table.benchmark as module

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("nb201-mnist1d", "blocks-mnist1d", "nb201-pool-mnist1d-hard"):
        shutil.copy(tiny_table, shipped / f"{name}.h5")  # stand-ins with the shipped names
    monkeypatch.setattr(module, "default_table_path", lambda: shipped / f"{module.DEFAULT_TABLE}.h5")
    monkeypatch.chdir(tmp_path)  # nothing of those names here
    assert set(module.shipped_tables()) == {"nb201-mnist1d", "blocks-mnist1d", "nb201-pool-mnist1d-hard"}
    for name in module.shipped_tables():
        assert Benchmark.load(name).path == Benchmark.load(f"{name}.h5").path == shipped / f"{name}.h5"
    assert Benchmark.load().path == shipped / f"{module.DEFAULT_TABLE}.h5"
    with pytest.raises(TableError) as err:
        Benchmark.load("nb201-cifar")
    message = one_line(err)  # one line, naming every valid name and the default
    assert message.startswith("table nb201-cifar is neither a file here nor a shipped table; shipped tables: blocks-mnist1d")
    assert "nb201-mnist1d" in message and "nb201-pool-mnist1d-hard" in message
    assert f"{module.DEFAULT_TABLE} (the default)" in message and message.endswith("(each by that name or as <name>.h5)")
    (tmp_path / "nb201-mnist1d").write_text("not a table")  # a file here of that name comes first
    with pytest.raises(TableError):
        Benchmark.load("nb201-mnist1d")


def test_truncated_file(tiny_table, tmp_path):
    path = copy_table(tiny_table, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TableError, match="truncated or corrupt") as err:
        Benchmark.load(path)
    one_line(err)


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not a table\n")
    with pytest.raises(TableError) as err:
        Benchmark.load(path)
    one_line(err)


def test_other_schema_version(tiny_table, tmp_path):
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(TableError, match="schema version 99") as err:
        Benchmark.load(path)
    one_line(err)


def test_hdf5_file_of_another_kind_is_named_as_such(tmp_path):
    path = tmp_path / "features.h5"
    with h5py.File(path, "w") as f:
        f["images"] = np.zeros((3, 8), np.float32)
        f.create_group("labels")
    with pytest.raises(TableError, match=r"features\.h5 is not a nasbench table .*an HDF5 file holding images \(3, 8\) "
                       r"float32, labels/ \(group\)") as err:
        Benchmark.load(path)
    one_line(err)
    assert "schema version None" not in str(err.value)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "3.0"
    with pytest.raises(TableError, match="not a nasbench table .*a Keras model file"):
        Benchmark.load(path)
    h5py.File(path, "w").close()
    with pytest.raises(TableError, match="not a nasbench table .*an empty HDF5 file"):
        Benchmark.load(path)


def test_missing_dataset(tiny_table, tmp_path):
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        del f["metrics/test_loss"]
    with pytest.raises(TableError, match="missing dataset") as err:
        Benchmark.load(path)
    one_line(err)


SWAPPED_OPS = json.dumps({**tiny_space().config(), "ops": ["skip_connect", "none", "nor_conv_3x3"]})


@pytest.mark.parametrize(
    "attrs, text",
    [
        ({"space": SWAPPED_OPS}, "signature"),
        ({"space": SWAPPED_OPS, "space_signature": None}, "arch/arch_str[0] is"),
        ({"space": json.dumps({**tiny_space().config(), "num_nodes": 4}), "space_signature": None}, "its space"),
        ({"space": "{not json"}, "cannot rebuild the search space"),
        ({"space": json.dumps({"kind": "transformer"})}, "unknown space kind"),
        ({"space": ""}, "no 'space' attribute"),
        ({"space_signature": "0123456789abcdef"}, "signature"),
        ({"seeds": "[0, 1, 2]"}, "lists 3 seeds"),
        ({"seeds": "zero"}, "JSON list of distinct integers"),
    ],
)
def test_table_disagreeing_with_its_space(tiny_table, tmp_path, attrs, text):
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        for key, value in attrs.items():
            if value is None:
                del f.attrs[key]
            else:
                f.attrs[key] = value
    with pytest.raises(TableError) as err:
        Benchmark.load(path)
    assert text in one_line(err)


def test_arch_strings_are_checked(tiny_table, tmp_path):
    path = copy_table(tiny_table, tmp_path)
    with h5py.File(path, "r+") as f:
        strs = f["arch/arch_str"].asstr()[()]
        strs[[1, 2]] = strs[[2, 1]]
        del f["arch/arch_str"]
        f.create_dataset("arch/arch_str", data=strs.astype(object), dtype=h5py.string_dtype())
    with pytest.raises(TableError, match=r"arch/arch_str\[1\]") as err:
        Benchmark.load(path)
    one_line(err)


# ---------------------------------------------------------------- no torch
@pytest.mark.slow
def test_querying_does_not_import_torch(tiny_table):
    code = f"""
import sys
from nasbench import Benchmark
bench = Benchmark.load({str(tiny_table)!r})
bench.query("|skip_connect~0|+|none~0|nor_conv_3x3~1|", epoch=1, seed=0)
bench.query_batch(range(len(bench)), as_frame=True)
bench.to_dataframe(); bench.best(); bench.curve(0); bench.metadata
bench.query(bench.space[3].graph)
assert "torch" not in sys.modules, "torch was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.slow
def test_code_commit_is_dirty_when_a_shipped_config_changes(tmp_path):
    """Reports record the code's commit; an edited conf/ file is uncommitted code too."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    if subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, timeout=120)
    shutil.copy(repo / "nasbench" / "provenance.py", clone / "nasbench" / "provenance.py")  # the code under test
    subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "test"],
                   capture_output=True, timeout=60)
    probe = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from nasbench.provenance import git_commit; "
             "print(git_commit())", str(clone)]
    clean = subprocess.run(probe, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert len(clean) == 40
    with open(clone / "conf" / "search.yaml", "a") as f:
        f.write("# edited\n")
    assert subprocess.run(probe, capture_output=True, text=True, check=True, timeout=60).stdout.strip() == clean + "-dirty"
    shutil.rmtree(clone / ".git")
    assert subprocess.run(probe, capture_output=True, text=True, check=True, timeout=60).stdout.strip() == "unknown"


@pytest.mark.slow
def test_code_hash_names_the_files_without_git(tmp_path):
    """An installed copy has no commit; the hash of its files names the code, as a checkout's does."""
    import shutil
    from importlib.resources import files

    import nasbench
    from nasbench.provenance import code_sha256

    # the layout of an installed wheel: configs and data inside the package, next to a hidden editor file
    package = tmp_path / "site" / "nasbench"
    shutil.copytree(Path(nasbench.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(Path(str(files("nasbench.conf"))), package / "conf", ignore=shutil.ignore_patterns("__pycache__"),
                    dirs_exist_ok=True)
    (package / "tables").mkdir(exist_ok=True)
    (package / "tables" / "make_figure.py").write_text("# a script among the data, not a module\n")
    (package / ".#search.py").symlink_to(tmp_path / "gone")  # an editor's lock: a dangling link
    (package / "moved.py").symlink_to(tmp_path / "gone")  # a link whose file is gone holds no code
    (package / ".ipynb_checkpoints").mkdir()
    (package / ".ipynb_checkpoints" / "search-checkpoint.py").write_text("x = 1\n")
    probe = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import nasbench.provenance as p; "
             "assert p.__file__.startswith(sys.argv[1]); print(p.code_sha256())", str(package.parent)]

    def installed_hash() -> str:
        return subprocess.run(probe, capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    assert installed_hash() == code_sha256()  # same files, other layout: same code
    with open(package / "conf" / "search.yaml", "a") as f:
        f.write("# edited\n")
    edited_config = installed_hash()
    assert edited_config != code_sha256()
    with open(package / "space" / "__init__.py", "a") as f:
        f.write("# edited\n")
    assert installed_hash() not in (edited_config, code_sha256())


@pytest.mark.slow
def test_searching_a_table_and_reporting_do_not_import_torch(tiny_table, tmp_path):
    """nasbench-search and nasbench-report on a table run without torch (its import alone costs seconds)."""
    code = f"""
import sys
from nasbench.cli import report, search
sys.argv = ["nasbench-search", "-m", "strategy=random,rea", "budget.seconds=1", "benchmark.path={tiny_table}",
            "hydra.sweep.dir={tmp_path / 'sweep'}", "launcher=basic"]
try:
    search.main()
except SystemExit as stop:
    assert not stop.code, stop.code
report.main(["{tmp_path / 'sweep'}", "--out", "{tmp_path / 'report'}"])
assert "torch" not in sys.modules, "torch was imported"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    assert (tmp_path / "report" / "README.md").exists()


# ---------------------------------------------------------------- the table's first look (nasbench-table-report)
@pytest.mark.slow
def test_table_report_on_both_spaces(tiny_table, tmp_path, cli):
    import json

    from conftest import build_tiny
    from nasbench.space import BlockSpace

    blocks = build_tiny(tmp_path / "blocks.h5", space=BlockSpace(positions=2, blocks=["skip", "res3", "sep3"], reduce_after=[2], channels=[4, 8]))
    for table, options in ((tiny_table, ["skip_connect", "nor_conv_3x3"]), (blocks, ["skip", "res3", "sep3"])):
        out = tmp_path / f"look-{table.stem}"
        result = cli("nasbench-table-report", "--table", str(table), "--out", str(out), timeout=300)
        assert result.returncode == 0, result.stderr
        for name in ("test_accuracy_hist.png", "accuracy_vs_costs.png", "seed_noise.png", "early_and_valid_test.png", "top_ops.png", "classes.csv"):
            assert (out / name).stat().st_size > 0, name
        summary = json.loads((out / "summary.json").read_text())
        bench = Benchmark.load(table)
        assert summary["classes_trained"] == bench.num_classes and summary["entries_done"] == bench.entries_done
        assert summary["test_accuracy_max"] == pytest.approx(bench.best("test_accuracy").test_accuracy, abs=1e-6)
        assert set(options) <= set(summary["all_op_share"]) and sum(summary["all_op_share"].values()) == pytest.approx(1.0, abs=1e-3)  # shares rounded to 4 decimals
        assert f"--table {table}" in (out / "README.md").read_text()  # the command that writes it again
        valid = bench.to_dataframe().drop_duplicates("class_id")["valid_accuracy"]
        top = valid[valid >= valid.quantile(0.75)]
        assert summary["top_quarter_valid_width"] == pytest.approx(top.max() - top.min(), abs=1e-6)
        n_valid = bench.metadata["dataset"]["n_valid"]
        assert summary["valid_binomial_se_at_median"] == pytest.approx((valid.median() * (1 - valid.median()) / n_valid) ** 0.5)
        # the histogram zooms on the best 90% of classes, up to the best one
        test = 100 * bench.to_dataframe().drop_duplicates("class_id")["test_accuracy"]
        low, high = summary["histogram_zoom_percent"]
        assert low <= test.quantile(0.1) and high >= test.max() - 1e-3
        assert summary["histogram_zoom_classes"] == int(test.between(low, high).sum()) >= 0.9 * len(test)
    bad = cli("nasbench-table-report", "--table", str(tmp_path / "none.h5"), timeout=120)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "none.h5" in bad.stderr


def test_table_report_leaves_out_classes_whose_every_seed_diverged(tiny_table, tmp_path):
    import json
    import shutil

    import h5py

    from nasbench.report.table_look import write_table_report

    copy = tmp_path / "x" / "nb201-mnist1d.h5"  # the flagship's file name, not the flagship
    copy.parent.mkdir()
    shutil.copy(tiny_table, copy)
    with h5py.File(copy, "r+") as f:
        for name in ("valid_accuracy", "test_accuracy", "valid_loss", "test_loss"):
            values = f[f"metrics/{name}"][()]
            values[1, :, -1] = np.nan  # class 1 diverged in its last epoch, every seed
            f[f"metrics/{name}"][...] = values
        diverged = f["metrics/diverged"][()]
        diverged[1, :] = True
        f["metrics/diverged"][...] = diverged
    bench = Benchmark.load(copy)
    out = write_table_report(bench, tmp_path / "look")

    def no_nan(text):
        raise AssertionError(f"{text} in summary.json")

    summary = json.loads((out / "summary.json").read_text(), parse_constant=no_nan)
    assert summary["classes_trained"] == bench.num_classes - 1 and summary["classes_all_seeds_diverged"] == 1
    assert all(summary[k] is not None for k in ("spearman_params_test", "pearson_valid_test", "spearman_valid_test"))
    assert -1 < summary["spearman_epoch1_final_valid"] <= 1  # 2 epochs: the early epoch is the first, not the last
    assert "spearman_epoch2_final_valid" not in summary
    assert f"--table {copy}" in (out / "README.md").read_text()  # a copy named like the flagship is not the flagship


@pytest.mark.slow
def test_table_report_counts_classes_trained_ahead_of_the_uniform_order(tmp_path):
    import json

    from conftest import build_tiny, tiny_space
    from nasbench.report.table_look import write_table_report
    from nasbench.table.store import build_class_order

    space = tiny_space()
    late = int(build_class_order(space.num_classes)[-1])  # the class the build would train last
    arch = space[int(space.representatives()[late])].arch_str
    table = build_tiny(tmp_path / "partial.h5", seeds=(0,), max_entries=4, priority=[arch])
    bench = Benchmark.load(table)
    assert bench.done[late, 0] and bench.entries_done == 4
    out = write_table_report(bench, tmp_path / "look")
    assert json.loads((out / "summary.json").read_text())["classes_trained_ahead_of_order"] == 1
    assert "not part of that sample: 1 classes trained ahead of the order" in (out / "README.md").read_text()
