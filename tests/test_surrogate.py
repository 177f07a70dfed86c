"""The XGBoost surrogate: fit, predict, noise, save/load, served as a benchmark, quality report, CLI."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import build_tiny, tiny_space
from nasbench.search import Budget, make_generators, make_strategy, registry, run_search
from nasbench.space import CellSpace
from nasbench.surrogate import Surrogate, SurrogateBenchmark, SurrogateError, default_surrogate_path, open_table, split_classes
from nasbench.provenance import sha256_file
from nasbench.surrogate.model import seed_deviation_bound, seed_targets
from nasbench.surrogate.quality import evaluate, oracle_agreement, regression_metrics, sparse_kendall_tau
from nasbench.table import Benchmark
from nasbench.table.store import read_table, write_table

#: 3 nodes x 4 ops: 64 cells in 26 classes
SPACE4 = dict(num_nodes=3, ops=["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3"], channels=[4, 8])
FAST = {"n_estimators": 60, "n_jobs": 1}


@pytest.fixture(scope="module")
def table4(tmp_path_factory) -> Path:
    """A complete table of the 64-cell space: 2 seeds x 3 epochs (about 30 s)."""
    return build_tiny(tmp_path_factory.mktemp("tables4") / "tiny4.h5", epochs=3, space=CellSpace(**SPACE4))


@pytest.fixture(scope="module")
def bench4(table4):
    return open_table(table4)


@pytest.fixture(scope="module")
def split(bench4):
    return split_classes(bench4, (0.6, 0.2, 0.2), seed=0)


@pytest.fixture(scope="module")
def model(bench4, split) -> Surrogate:
    return Surrogate(ensemble_size=3, params=FAST, seed=0).fit(bench4, *split)


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    return model.save(tmp_path_factory.mktemp("models") / "sur")


# ---------------------------------------------------------------------- fit / predict
def test_fit_and_predict_shapes(model, bench4, split):
    space = bench4.space
    assert model.outputs_ == ["valid_accuracy", "test_accuracy", "train_time", "valid_accuracy@1", "valid_accuracy@2"]
    assert model.curve_epochs_ == [1, 2]  # the default, doubling: 1, 2, 4, ... below the table's last epoch (3)
    pred = model.predict(range(len(space)))
    assert set(pred) == set(model.outputs_)
    for values in pred.values():
        assert values.shape == (len(space),) and values.dtype == np.float64 and np.isfinite(values).all()
    # members of a class get their representative's prediction, as the table gives its numbers
    ids = np.asarray(space.class_ids())
    for name, values in pred.items():
        reps = values[np.asarray(space.representatives())]
        assert np.array_equal(values, reps[ids]), name
    features = space.features(space.all_decisions[np.asarray(space.representatives())])
    by_features = model.predict(features)
    assert np.allclose(by_features["test_accuracy"], pred["test_accuracy"][np.asarray(space.representatives())])
    one = model.predict(space[5].arch_str)
    assert one["valid_accuracy"].shape == (1,) and one["valid_accuracy"][0] == pred["valid_accuracy"][5]
    meta = model.metadata_
    assert meta["split"]["train"] == split[0].tolist() and meta["split"]["test"] == split[2].tolist()
    assert meta["space"]["signature"] == space.signature
    assert len(model.time_profile_) == 3 and model.time_profile_[-1] == 1.0


def test_noise_free_prediction_is_deterministic(model, bench4, split):
    a, b = model.predict(np.arange(64)), model.predict(np.arange(64))
    again = Surrogate(ensemble_size=3, params=FAST, seed=0).fit(bench4, *split).predict(np.arange(64))
    for name in model.outputs_:
        assert np.array_equal(a[name], b[name]) and np.array_equal(a[name], again[name])


def test_noise_draws_vary_with_the_generator_and_repeat_with_its_seed(model):
    idx = np.arange(64)
    draw = lambda seed: model.predict(idx, noise=True, rng=np.random.default_rng(seed))  # noqa: E731
    a, b, c = draw(0), draw(0), draw(1)
    mean = model.predict(idx)
    for name in model.outputs_:
        assert np.array_equal(a[name], b[name])
    assert not np.array_equal(a["valid_accuracy"], c["valid_accuracy"])
    assert not np.array_equal(a["valid_accuracy"], mean["valid_accuracy"])
    spread = model.predict_std(idx)["valid_accuracy"]
    assert (spread >= 0).all() and spread.max() > 0
    # one member per architecture for every output: the draw is one seed-like run
    draws = np.stack([draw(s)["valid_accuracy"] for s in range(200)])
    assert np.allclose(draws.std(axis=0), spread, rtol=0.35, atol=1e-9)


def test_seed_deviation_bound_is_the_largest_deviation_per_level_of_the_mean():
    rng = np.random.default_rng(0)
    level = np.repeat([0.5, 0.9], 21)  # 42 classes at two levels: noisy ones low, quiet ones high
    spread = np.where(level < 0.7, 0.05, 0.005)
    values = (level + spread * rng.standard_normal((3, 42)))[:, :, None]  # (S, n, T=1)
    values[2, 0, 0] = np.nan  # a class with two seeds still counts; one with a single seed does not
    values[1:, 1, 0] = np.nan
    edges, bounds = seed_deviation_bound(values, bins=4)
    assert edges.shape == (1, 3) and bounds.shape == (1, 4)  # 41 classes with two seeds allow 4 bins of 10
    several = np.isfinite(values[:, :, 0]).sum(axis=0) >= 2
    mean = np.nanmean(values[:, :, 0], axis=0)
    deviation = np.nanmax(np.abs(values[:, :, 0] - mean), axis=0)
    high = several & (mean > 0.7)
    assert bounds[0, -1] == deviation[high].max() < 0.05 < deviation[several & ~high].max() == bounds[0, 0]
    assert seed_deviation_bound(values, bins=20)[1].shape == (1, 4)  # at least 10 classes a bin
    assert (seed_deviation_bound(values[:1])[1] == 0).all()  # one seed: no bound to learn


def test_noise_draws_stray_no_further_than_train_seeds_of_the_same_level_did(model, bench4, split):
    values = seed_targets(bench4, model.outputs_)[:, split[0]]  # (S, train classes, T)
    mean = np.nanmean(values, axis=0)
    deviation = np.nanmax(np.abs(values - mean), axis=0)  # (train classes, T)
    bound = model.noise_bound(mean)
    assert (deviation <= bound + 1e-12).all()  # every train seed lies within its level's bound ...
    for t in (0, 1):  # ... and each level's bound is some train seed's deviation ([2] train_time has no seed spread)
        assert set(np.round(model.noise_clip_[t], 9)) <= set(np.round(deviation[:, t], 9))
    assert model.metadata_["noise"]["clip"]["valid_accuracy"]["bounds"] == model.noise_clip_[0].tolist()
    idx = np.arange(64)
    tight = copy.copy(model)  # the same boosters, a bound the draws of some class reach
    tight.noise_clip_ = model.noise_clip_ / 100
    spread = []
    for m in (model, tight):
        mean = m.predict(idx)
        limit = m.noise_bound(np.stack([mean[name] for name in m.outputs_], axis=1)).T  # (T, n)
        deviations = np.stack([[m.predict(idx, noise=True, rng=np.random.default_rng(s))[name] - mean[name]
                                for name in m.outputs_] for s in range(20)])  # (draws, T, n)
        assert (np.abs(deviations) <= limit + 1e-12).all()
        spread.append(np.abs(deviations).max())
    assert 0 < spread[1] < spread[0]  # the tight bound binds
    assert (tight.predict_std(idx)["valid_accuracy"] <= limit[0] + 1e-12).all()


def test_seed_draws_of_one_architecture_take_different_members(model):
    idx = np.arange(64)
    members = model.predict_members(idx)  # (K, n, T)
    mean = members.mean(axis=0)
    each = np.stack([model._bounded(mean, model.noise_scale_ * (m - mean)) + mean for m in members])  # every member's draw
    seeds = model.predict_seeds(idx, len(members), np.random.default_rng(3))
    drawn = np.stack([np.stack([seed[name] for name in model.outputs_], axis=1) for seed in seeds])  # (K, n, T)
    np.testing.assert_array_equal(np.sort(drawn, axis=0), np.sort(each, axis=0))  # a permutation of the members
    more = model.predict_seeds(idx, 2 * len(members) + 1, np.random.default_rng(3))
    assert len(more) == 2 * len(members) + 1
    assert np.array_equal(more[0]["valid_accuracy"], seeds[0]["valid_accuracy"])  # the same generator, the same draws
    for bad, message in ((0, "num_seeds must be"), (2.0, "num_seeds must be")):
        with pytest.raises(SurrogateError, match=message):
            model.predict_seeds(idx, bad, np.random.default_rng(0))
    with pytest.raises(SurrogateError, match="rng=numpy.random.Generator"):
        model.predict_seeds(idx, 2, 0)


def test_noise_scale_stays_finite_where_the_bound_holds_draws_below_the_seeds_spread(model):
    # with two seeds a class's seed std is sqrt(2) times its seeds' deviation from their mean, so bounded
    # draws may not reach the table's spread: the unbounded factor is kept and the metadata says so
    reachable = model.metadata_["noise"]["reachable"]
    assert set(reachable) == {n for n, ok in model.metadata_["noise"]["calibrated"].items() if ok}
    assert not all(reachable.values())  # this table has such an output
    assert np.isfinite(model.noise_scale_).all() and (model.noise_scale_ < 1e3).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.predict(np.zeros((3, 5), dtype=np.float32)), "features must have shape"),
        (lambda m: m.predict(np.zeros(7, dtype=np.float32)), "features must have shape"),
        (lambda m: m.predict([tiny_space()[3]]), "another space"),
        (lambda m: m.predict([64]), "out of range"),
        (lambda m: m.predict(np.array([-1])), "out of range"),
        (lambda m: m.predict(["|bogus~0|"]), "this surrogate's space"),
        (lambda m: m.predict({"a": 1}), "cannot read architectures"),
        (lambda m: m.predict([0], noise=True), "rng"),
        (lambda m: m.predict([0], noise="yes", rng=np.random.default_rng(0)), "noise must be"),
    ],
)
def test_bad_predict_input_is_a_one_line_error(model, call, message):
    with pytest.raises(ValueError, match=message) as info:
        call(model)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"targets": ["valid_accuracy", "train_time"]}, "include"),
        ({"targets": ["valid_accuracy", "test_accuracy", "train_time", "bogus"]}, "unknown target"),
        ({"ensemble_size": 0}, "ensemble_size"),
        ({"params": {"max_dept": 3}}, "unknown XGBoost parameter 'max_dept'"),
        ({"params": {"n_estimators": 0}}, "n_estimators"),
        ({"curve_epochs": [0, 1]}, "curve_epochs"),
        ({"curve_epochs": "all"}, r"curve_epochs must be a list of epochs >= 1, null \(every evaluated epoch\) or 'doubling'"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_configuration_is_a_one_line_error(kwargs, message):
    with pytest.raises(SurrogateError, match=message) as info:
        Surrogate(**kwargs)
    assert "\n" not in str(info.value)


def test_bad_splits_are_refused(bench4, split):
    train, valid, test = split
    with pytest.raises(SurrogateError, match="overlap"):
        Surrogate(ensemble_size=1, params=FAST).fit(bench4, train, np.concatenate([valid, train[:1]]))
    with pytest.raises(SurrogateError, match="out of range"):
        Surrogate(ensemble_size=1, params=FAST).fit(bench4, [0, 999], valid)
    with pytest.raises(SurrogateError, match="split fractions"):
        split_classes(bench4, (0.9, 0.2, 0.1))


def test_split_is_independent_of_the_build_order():
    # A partial table trains later seeds along build_class_order: if the split followed the same shuffle, every
    # class with several seeds would be a train class and noise could never be calibrated before the table is full.
    from types import SimpleNamespace

    from nasbench.table.store import build_class_order

    classes = 1000
    first_built = set(build_class_order(classes)[:200].tolist())
    _, valid, test = split_classes(SimpleNamespace(done=np.ones((classes, 1), dtype=bool)), (0.8, 0.1, 0.1), seed=0)
    held_out = set(valid.tolist()) | set(test.tolist())
    assert 20 < len(held_out & first_built) < 60  # about a fifth of the 200 held-out classes, as for any random split


def test_noise_needs_two_members(bench4, split):
    single = Surrogate(ensemble_size=1, params=FAST).fit(bench4, *split)
    with pytest.raises(SurrogateError, match="at least 2 members"):
        single.predict([0], noise=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize("curve_epochs", [[], [3]])
def test_curve_epochs_without_one_below_the_last_are_refused(bench4, split, curve_epochs):
    # the 3-epoch table: no curve point below epoch 3 would make every epoch answer with the final accuracy
    with pytest.raises(SurrogateError, match=r"no epoch below the table's last \(3\).*1\.\.2"):
        Surrogate(curve_epochs=curve_epochs, ensemble_size=1, params=FAST).fit(bench4, *split)


@pytest.mark.parametrize("curve_epochs, epoch", [([50], 50), ([1, 20], 20), ([3, 7], 7)])
def test_curve_epochs_beyond_the_table_are_refused(bench4, split, curve_epochs, epoch):
    with pytest.raises(SurrogateError) as info:
        Surrogate(curve_epochs=curve_epochs, ensemble_size=1, params=FAST).fit(bench4, *split)
    assert str(info.value) == f"curve_epochs: epoch {epoch} out of range; valid: 1..3"


def test_curve_epochs_the_table_did_not_evaluate_are_refused(sparse_table):
    # valid and test after epochs 1 and 3 only: the default and null keep to those, an explicit 2 is refused
    bench = open_table(sparse_table)
    split = split_classes(bench, (0.6, 0.2, 0.2))
    with pytest.raises(SurrogateError) as info:
        Surrogate(curve_epochs=[1, 2], ensemble_size=1, params=FAST).fit(bench, *split)
    assert str(info.value).startswith("curve_epochs: epoch 2 was not evaluated by the table")
    assert str(info.value).endswith("valid: 1, 3")
    for curve_epochs in ("doubling", None, [1, 3]):
        model = Surrogate(curve_epochs=curve_epochs, ensemble_size=1, params=FAST).fit(bench, *split)
        assert model.curve_epochs_ == [1] and model.outputs_[-1] == "valid_accuracy@1"


def test_a_split_needs_two_test_classes_and_says_how_many_trained_ones(tiny_table, tmp_path, cli):
    classes = open_table(tiny_table).num_classes
    table = read_table(tiny_table)
    table.entries["done"][4:] = False  # 4 trained classes
    write_table(tmp_path / "four.h5", table)
    bench = open_table(tmp_path / "four.h5")
    message = (f"the table has 4 trained classes; the split (train 0.8, valid 0.1, test 0.1) needs at least 5 (at least "
               "2 train, 1 valid and 2 test classes: R2 and Kendall tau on the test classes need two)")
    with pytest.raises(SurrogateError, match=re.escape(message)):
        split_classes(bench, (0.8, 0.1, 0.1))
    assert [len(part) for part in split_classes(open_table(tiny_table), (0.8, 0.1, 0.1))] == [classes - 3, 1, 2]
    code, out, err = cli.inline("nasbench-surrogate", f"table={tmp_path / 'four.h5'}", f"out={tmp_path / 'm'}",
                                f"report={tmp_path / 'r'}", f"hydra.run.dir={tmp_path / 'h'}")
    assert code == 2 and err.strip().startswith(f"error: {message}") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_cli_refuses_a_curve_epoch_beyond_the_table(table4, tmp_path, cli):
    code, _, err = cli.inline("nasbench-surrogate", f"table={table4}", f"out={tmp_path / 'm'}", f"report={tmp_path / 'r'}",
                              "curve_epochs=[1,20]", f"hydra.run.dir={tmp_path / 'h'}")
    assert code == 2 and err.strip() == "error: curve_epochs: epoch 20 out of range; valid: 1..3", err
    assert not (tmp_path / "m").exists()


def test_shipped_surrogates_load_by_bare_name_and_a_missing_one_lists_them(tmp_path, monkeypatch):
    from nasbench.surrogate.benchmark import shipped_surrogates

    names = shipped_surrogates()
    if "blocks-mnist1d" not in names:
        pytest.skip("the block surrogate is not shipped in this checkout")
    monkeypatch.chdir(tmp_path)  # a bare name is looked up among the shipped models, not the current folder
    assert SurrogateBenchmark.load("blocks-mnist1d").space.kind == "blocks"
    with pytest.raises(SurrogateError, match=r"metadata.json is missing; fit one with nasbench-surrogate out=DIR and pass benchmark.path=DIR.*shipped: .*blocks-mnist1d"):
        SurrogateBenchmark.load("no-such-model")
    with pytest.raises(SurrogateError, match="folder path or name"):
        SurrogateBenchmark.load(3)


def test_every_shipped_name_the_missing_model_message_lists_loads_from_another_folder(tmp_path, monkeypatch):
    import re

    from nasbench.surrogate.benchmark import shipped_surrogates

    if not shipped_surrogates():
        pytest.skip("no surrogate is shipped in this checkout")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SurrogateError) as info:
        SurrogateBenchmark.load("no-such-model")
    listed = re.search(r"shipped: ([^)]*)\)", str(info.value)).group(1).split(", ")
    assert listed == list(shipped_surrogates())
    if (default_surrogate_path() / "metadata.json").is_file():
        assert "nb201-mnist1d" in listed  # the flagship's model, by its table's name
    loaded = {}

    def keep(self, surrogate, noise=False, noise_seed=0, path=None):  # the model only: no prediction of every class
        loaded[path] = surrogate

    monkeypatch.setattr(SurrogateBenchmark, "__init__", keep)
    for name in listed:
        SurrogateBenchmark.load(name)
        (folder, model), = loaded.items()
        assert folder == shipped_surrogates()[name] and isinstance(model, Surrogate)
        assert name in (folder.name, Path(model.metadata_["table"]["file"]).stem)
        loaded.clear()


@pytest.mark.slow
def test_blocks_surrogate_config_serves_the_shipped_block_surrogate_with_the_block_budget(tmp_path, cli):
    import json

    from nasbench.surrogate.benchmark import shipped_surrogates

    if "blocks-mnist1d" not in shipped_surrogates():
        pytest.skip("the block surrogate is not shipped in this checkout")
    result = cli("nasbench-search", "benchmark=blocks_surrogate", "strategy=random", f"hydra.run.dir={tmp_path}",
                 timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "result.json").read_text())
    # the block table's default budget: 23 full evaluations at the block table's mean evaluation time
    assert data["budget"]["seconds"] == pytest.approx(23 * Benchmark.load("blocks-mnist1d.h5").evaluation_seconds)
    assert data["budget"]["evaluation_seconds_from"] == "the table the surrogate was fitted on (blocks-mnist1d.h5)"
    assert data["benchmark"]["kind"] == "surrogate"
    assert data["benchmark"]["resolved"]["path"] == "blocks-mnist1d" and data["num_evals"] > 0


@pytest.mark.slow
def test_noise_needs_a_table_with_two_seeds(tmp_path):
    from nasbench.report.surrogate import write_report
    from nasbench.train.build import example_table

    one_seed = open_table(example_table())
    assert one_seed.done.sum(axis=1).max() == 1
    split = split_classes(one_seed, (0.6, 0.2, 0.2))
    uncalibrated = Surrogate(ensemble_size=2, params=FAST).fit(one_seed, *split)
    readme = (write_report(uncalibrated, one_seed, split, tmp_path, fractions=()) / "README.md").read_text()
    assert one_seed.seeds == (0,) and "(the table has one seed per class: no seed ceiling)" in readme
    assert uncalibrated.predict([0])["valid_accuracy"].shape == (1,)  # noise-free predictions still work
    with pytest.raises(SurrogateError, match="calibrated on classes with two or more trained seeds"):
        uncalibrated.predict([0], noise=True, rng=np.random.default_rng(0))
    with pytest.raises(SurrogateError, match="noise=False"):
        SurrogateBenchmark(uncalibrated, noise=True)


# ---------------------------------------------------------------------- save / load
def test_save_load_round_trip_gives_identical_predictions(model, saved, table4):
    files = sorted(p.name for p in saved.iterdir())
    assert "metadata.json" in files and all(name.endswith(".json") for name in files)  # never pickle
    assert len(files) == 1 + 3 * len(model.outputs_)
    loaded = Surrogate.load(saved, table=table4)
    idx = np.arange(64)
    for noise in (False, True):
        rng = (lambda: np.random.default_rng(4)) if noise else (lambda: None)
        a, b = model.predict(idx, noise=noise, rng=rng()), loaded.predict(idx, noise=noise, rng=rng())
        for name in model.outputs_:
            assert np.array_equal(a[name], b[name]), (noise, name)
    meta = json.loads((saved / "metadata.json").read_text())
    assert meta["table"]["sha256"] == sha256_file(table4)
    assert meta["space"]["config"] == model.space_.config()
    assert set(meta["split"]) == {"train", "valid", "test"}
    assert {"xgboost", "numpy", "nasbench"} <= set(meta["versions"])
    from nasbench.provenance import git_commit

    assert meta["git_commit"] == git_commit() and meta["command"] == "python API"  # fitted here, not by nasbench-surrogate
    assert meta["training"]["ensemble_size"] == 3 and meta["training"]["params"]["n_estimators"] == 60


def test_load_refuses_another_table_or_space(saved, table4, tiny_table, tmp_path):
    with pytest.raises(SurrogateError, match="another space"):
        Surrogate.load(saved, table=tiny_table)
    other = read_table(table4)
    other.epochs["valid_accuracy"][0, 0, -1] += 0.01  # same space, other numbers
    write_table(tmp_path / "other.h5", other)
    with pytest.raises(SurrogateError, match="another table") as info:
        SurrogateBenchmark.load(saved, table=tmp_path / "other.h5")
    assert "\n" not in str(info.value)


def test_load_refuses_to_vouch_for_in_memory_tables(model, saved, table4, tmp_path):
    with pytest.raises(SurrogateError, match="the table is in memory"):
        Surrogate.load(saved, table=Benchmark(read_table(table4)))
    unchecked = Surrogate(ensemble_size=1, params=FAST).fit(Benchmark(read_table(table4)), *split_classes(open_table(table4), (0.6, 0.2, 0.2)))
    with pytest.raises(SurrogateError, match="fitted on an in-memory table"):
        Surrogate.load(unchecked.save(tmp_path / "unchecked"), table=table4)


def test_a_table_file_replaced_after_loading_is_not_vouched_for(table4, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(table4.read_bytes())
    bench = Benchmark.load(copy)
    table = read_table(copy)
    table.attrs["note"] = "a checkpoint rewrote the file"
    write_table(copy, table)
    with pytest.raises(SurrogateError, match="was replaced since this Benchmark read it"):
        Surrogate(ensemble_size=1, params=FAST).fit(bench, *split_classes(bench, (0.6, 0.2, 0.2)))


def test_open_table_takes_a_shipped_tables_bare_name(tmp_path, monkeypatch):
    from nasbench.table import default_table_path

    if not (default_table_path().parent / "blocks-mnist1d.h5").exists():
        pytest.skip("the block table is not shipped in this checkout")
    monkeypatch.chdir(tmp_path)
    assert open_table("blocks-mnist1d.h5").space.kind == "blocks"


def test_load_refuses_a_damaged_folder(saved, tmp_path):
    import shutil

    copy = Path(shutil.copytree(saved, tmp_path / "copy"))
    victim = sorted(copy.glob("member1-*.json"))[0]
    victim.write_text(victim.read_text().replace('"', "'", 1))
    with pytest.raises(SurrogateError, match="differs from metadata.json"):
        Surrogate.load(copy)
    meta = json.loads((copy / "metadata.json").read_text())
    (copy / "metadata.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(SurrogateError, match="format version"):
        Surrogate.load(copy)
    with pytest.raises(SurrogateError, match="metadata.json is missing"):
        Surrogate.load(tmp_path / "nothing")


def test_saving_into_an_existing_folder_replaces_the_model_and_keeps_other_files(bench4, split, model, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    model.save(folder)
    small = Surrogate(ensemble_size=2, params=FAST, seed=1).fit(bench4, *split)
    small.save(folder)
    assert (folder / "__init__.py").exists()
    assert not list(folder.glob("member2-*.json"))  # the bigger model's third member is gone
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary folder left
    loaded = Surrogate.load(folder)
    assert np.array_equal(loaded.predict(np.arange(64))["valid_accuracy"], small.predict(np.arange(64))["valid_accuracy"])


# ---------------------------------------------------------------------- served as a benchmark
def test_surrogate_benchmark_mirrors_the_table_api(model, saved, bench4):
    sb = SurrogateBenchmark.load(saved)
    assert sb.space == bench4.space and sb.seeds == bench4.seeds and sb.num_epochs == bench4.num_epochs
    assert sb.done.shape == bench4.done.shape and sb.done.all() and sb.complete
    assert sb.entries_done == bench4.done.size and np.array_equal(sb.class_ids, bench4.class_ids)
    assert sb.metadata["surrogate"]["table"]["sha256"] == model.metadata_["table"]["sha256"]
    pred = model.predict(np.arange(64))
    r = sb.query(9)
    assert r.valid_accuracy == pytest.approx(pred["valid_accuracy"][9])
    assert r.test_accuracy == pytest.approx(pred["test_accuracy"][9])
    assert r.train_time == pytest.approx(pred["train_time"][9])
    assert np.isnan(r.train_loss)  # not predicted
    assert sb.query(9, seed=1).valid_accuracy == r.valid_accuracy  # noise=False: every seed is the mean
    curve = sb.curve(9)
    assert curve.shape == (3,)
    assert curve[0] == pytest.approx(pred["valid_accuracy@1"][9]) and curve[2] == pytest.approx(r.valid_accuracy)
    times = sb.curve(9, "train_time")
    assert np.allclose(times, pred["train_time"][9] * model.time_profile_)
    batch = sb.query_batch(np.tile(np.arange(64), 3), epoch=2)
    assert batch["valid_accuracy"].shape == (192,)
    assert np.allclose(batch["valid_accuracy"][:64], [sb.query(i, epoch=2).valid_accuracy for i in range(64)])
    assert sb.optimum("test_accuracy") == pytest.approx(np.max(pred["test_accuracy"]))
    assert sb.best().valid_accuracy == pytest.approx(np.max(pred["valid_accuracy"]))
    with pytest.raises(ValueError, match="does not predict train_loss"):
        sb.best("train_loss")


def test_a_surrogate_budgets_at_its_tables_evaluation_time_when_the_table_is_at_hand(saved, table4, bench4, monkeypatch):
    monkeypatch.chdir(table4.parent)  # the model names its table by file name: here it is at hand
    near = SurrogateBenchmark.load(saved, noise=True)
    assert near.fitted_on is not None and near.evaluation_seconds == bench4.evaluation_seconds
    assert near.evaluation_seconds_from == f"the table the surrogate was fitted on ({table4.name})"
    monkeypatch.chdir(table4.parent.parent)  # elsewhere: its own predictions, and it says so
    away = SurrogateBenchmark.load(saved)
    predicted = away.query_batch(np.arange(len(away)))["train_time"]
    assert away.fitted_on is None and away.evaluation_seconds == pytest.approx(predicted.mean())
    assert "predicted train_time" in away.evaluation_seconds_from and table4.name in away.evaluation_seconds_from


def test_noisy_surrogate_benchmark_is_seeded(saved):
    a = SurrogateBenchmark.load(saved, noise=True, noise_seed=5)
    b = SurrogateBenchmark.load(saved, noise=True, noise_seed=5)
    c = SurrogateBenchmark.load(saved, noise=True, noise_seed=6)
    va = lambda sb, seed: sb.query_batch(np.arange(64), seed=seed)["valid_accuracy"]  # noqa: E731
    assert np.array_equal(va(a, 0), va(b, 0)) and np.array_equal(va(a, 1), va(b, 1))
    assert not np.array_equal(va(a, 0), va(a, 1))
    assert not np.array_equal(va(a, 0), va(c, 0))
    assert np.allclose(va(a, None), (va(a, 0) + va(a, 1)) / 2)
    with pytest.raises(SurrogateError, match="noise must be"):
        SurrogateBenchmark.load(saved, noise="yes")


@pytest.mark.parametrize("name", sorted(registry.classes()))
def test_every_strategy_runs_on_the_surrogate(saved, name):
    sb = SurrogateBenchmark.load(saved, noise=True, noise_seed=0)
    objectives = ["valid_accuracy", "params"] if registry.get(name).objective_mode == "multi" else None
    strategy_rng, runner_rng = make_generators(0)
    strategy = make_strategy(name, sb.space, strategy_rng, sb.num_epochs, objectives=objectives)
    result = run_search(strategy, sb, Budget(2.0), runner_rng, objectives=objectives)
    rows = result["trajectory"]
    assert result["num_evals"] == len(rows) > 0 and result["simulated_time"] <= 2.0
    assert all(r["regret"] >= -1e-12 and np.isfinite(r["valid_accuracy"]) for r in rows)


# ---------------------------------------------------------------------- quality
def test_quality_metrics():
    true = np.array([0.10, 0.20, 0.30, 0.40])
    perfect = regression_metrics(true, true)
    assert perfect["r2"] == pytest.approx(1) and perfect["kendall_tau"] == pytest.approx(1)
    assert perfect["spearman"] == pytest.approx(1) and perfect["rmse"] == 0 and perfect["n"] == 4
    # NAS-Bench-301: predictions rounded to 0.1 points; 91.23% and 91.21% tie, so their swap is no error
    t, p = np.array([0.9121, 0.9123, 0.95]), np.array([0.91235, 0.91205, 0.95])
    assert regression_metrics(t, p)["kendall_tau"] < 1 - 1e-9
    assert sparse_kendall_tau(t, p) > regression_metrics(t, p)["kendall_tau"]
    assert np.isnan(regression_metrics(true[:1], true[:1])["kendall_tau"])
    assert regression_metrics(np.array([0.1, np.nan, 0.3]), np.array([0.1, 0.2, 0.3]))["n"] == 2


def test_evaluate_scores_every_output(model, bench4, split):
    scores = evaluate(model, bench4, split[2])
    assert set(scores) == set(model.outputs_)
    assert scores["valid_accuracy"]["n"] == len(split[2])
    assert np.isnan(scores["train_time"]["sparse_kendall_tau"])  # defined for accuracies only


def test_feature_importance_shares_sum_to_one_per_output_and_name_every_feature(model):
    from nasbench.surrogate.quality import feature_group, feature_importance

    importance = feature_importance(model)
    names = model.space_.feature_names()
    assert len(importance) == len(names) * len(model.outputs_)
    shares = importance.groupby("output").gain_share.sum()
    np.testing.assert_allclose(shares[list(model.outputs_)], 1.0)
    assert (importance.gain_share >= 0).all()
    assert {feature_group(n) for n in names} >= {"one-hot choices", "path encoding", "log10_params", "log10_flops"}
    assert feature_group("pos0=res3") == "one-hot choices" and feature_group("count_skip") == "block counts"


def test_seed_agreement_is_one_seed_against_the_mean_of_the_others(bench4):
    from nasbench.surrogate.model import seed_deviation_bound, seed_targets
    from nasbench.surrogate.quality import seed_agreement

    classes = np.arange(bench4.num_classes)
    agreement = seed_agreement(bench4, ["valid_accuracy", "train_time"], classes)
    values = seed_targets(bench4, ["valid_accuracy"])[:, :, 0]  # (2 seeds, C)
    # with two seeds, "the mean of the others" is the other seed: the average of both directions
    expected = [regression_metrics(values[1 - s], values[s]) for s in (0, 1)]
    for key in ("r2", "kendall_tau", "spearman", "rmse"):
        assert agreement["valid_accuracy"][key] == pytest.approx(np.mean([e[key] for e in expected]))
    assert agreement["valid_accuracy"]["n"] == bench4.num_classes
    assert agreement["valid_accuracy"]["kendall_tau"] < 1  # two seeds of a 3-epoch table disagree
    assert np.isnan(agreement["train_time"]["sparse_kendall_tau"])


def test_split_agreement_scores_valid_accuracy_against_test_accuracy_of_the_same_runs(bench4):
    from nasbench.surrogate.quality import split_agreement

    values = seed_targets(bench4, ["valid_accuracy", "test_accuracy"]).mean(axis=0)  # (C, 2)
    classes = np.arange(bench4.num_classes)
    expected = regression_metrics(values[:, 1], values[:, 0])
    assert split_agreement(bench4, classes) == pytest.approx(expected, nan_ok=True)
    assert split_agreement(bench4, classes[:5])["n"] == 5


def test_oracle_agreement_is_one_without_seed_noise_and_falls_as_the_noise_grows():
    rng = np.random.default_rng(1)
    expected = np.linspace(0.90, 0.99, 200)
    tau = {}
    for std in (0.0, 0.002, 0.02, 1.0):
        per_seed = expected + std * rng.standard_normal((3, 200))
        tau[std] = oracle_agreement(per_seed, draws=20)["kendall_tau"]
    assert tau[0.0] == 1.0
    assert 1.0 > tau[0.002] > tau[0.02] > tau[1.0] and tau[1.0] < 0.5
    one_seed = oracle_agreement(expected[None, :])
    assert one_seed["n"] == 0 and np.isnan(one_seed["kendall_tau"])
    noisy = expected + 0.01 * rng.standard_normal((3, 200))
    assert oracle_agreement(noisy, draws=5, seed=3) == oracle_agreement(noisy, draws=5, seed=3)  # seeded


def test_top_quarter_keeps_the_best_quarter_of_the_given_classes(bench4):
    from nasbench.surrogate.quality import top_quarter

    classes = np.arange(bench4.num_classes)
    valid = seed_targets(bench4, ["valid_accuracy"])[:, :, 0].mean(axis=0)
    top = top_quarter(bench4, classes)
    assert set(top) == set(np.flatnonzero(valid >= np.quantile(valid, 0.75)))
    assert valid[top].min() >= valid[np.setdiff1d(classes, top)].max()
    assert set(top_quarter(bench4, classes[:8])) <= set(range(8))


@pytest.mark.slow
def test_seed_agreement_of_a_one_seed_table_is_empty():
    from nasbench.surrogate.quality import seed_agreement
    from nasbench.table import Benchmark
    from nasbench.train.build import example_table

    one_seed = Benchmark.load(example_table())
    agreement = seed_agreement(one_seed, ["valid_accuracy"], np.arange(one_seed.num_classes))
    assert agreement["valid_accuracy"]["n"] == 0 and np.isnan(agreement["valid_accuracy"]["kendall_tau"])


# ---------------------------------------------------------------------- CLI
@pytest.mark.slow
def test_cli_fits_saves_and_reports_end_to_end(table4, tmp_path, cli):
    out, report = tmp_path / "model", tmp_path / "report"
    result = cli("nasbench-surrogate", f"table={table4}", f"out={out}", f"report={report}", "ensemble_size=2",
                 "xgboost.n_estimators=40", "xgboost.n_jobs=1", "fractions=[0.25,0.5]", "split.train=0.6",
                 "split.valid=0.2", "split.test=0.2", f"hydra.run.dir={tmp_path / 'hydra'}")
    assert result.returncode == 0, result.stderr
    assert "surrogate written to" in result.stdout
    assert "fit surrogate: 100%" in result.stderr and "training-size study: 100%" in result.stderr  # minutes on a full table
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["quality"]["metrics"]["valid_accuracy"]["n"] == len(meta["split"]["test"])
    assert meta["config"]["ensemble_size"] == 2 and meta["table"]["sha256"] == sha256_file(table4)
    assert "latency" in meta["training"]["targets"]
    assert len(list(out.glob("member*-*.json"))) == 2 * len(meta["training"]["outputs"])
    for name in ("README.md", "metrics.csv", "seed_agreement.csv", "noise.csv", "fractions.csv", "summary.json",
                 "scatter.png", "fractions.png", "feature_importance.csv"):
        assert (report / name).stat().st_size > 0, name
    summary = json.loads((report / "summary.json").read_text())
    assert sorted({row["fraction"] for row in summary["fractions"]}) == [0.25, 0.5]
    assert "Sparse Kendall tau" in (report / "README.md").read_text()
    assert "## Which features matter" in (report / "README.md").read_text()
    assert sum(summary["feature_importance"]["valid_accuracy"].values()) == pytest.approx(1.0)
    assert summary["seed_agreement"]["valid_accuracy"]["n"] == len(meta["split"]["test"])
    assert meta["quality"]["seed_agreement"]["valid_accuracy"]["n"] == len(meta["split"]["test"])
    oracle = summary["oracle_ceiling"]["valid_accuracy"]
    assert oracle["n"] == len(meta["split"]["test"])  # its tau is null where noise swamps the classes' spread
    assert oracle["kendall_tau"] is None or -1 <= oracle["kendall_tau"] <= 1
    assert "A perfect model" in (report / "README.md").read_text()
    # the model serves nasbench-search as benchmark=surrogate
    search = cli("nasbench-search", "strategy=rea", "benchmark=surrogate", f"benchmark.path={out}",
                 "benchmark.noise=true", "budget.seconds=2", f"hydra.run.dir={tmp_path / 'search'}", timeout=300)
    assert search.returncode == 0, search.stderr
    data = json.loads((tmp_path / "search" / "result.json").read_text())
    assert data["benchmark"]["kind"] == "surrogate" and data["trajectory"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "override, expected",
    [
        ("ensemble_size=0", "ensemble_size"),
        ("split.train=1.5", "split fractions"),
        ("seed=abc", "seed"),
        ("targets=[bogus]", "unknown target"),
        ("xgboost.learning_rate=-1", "learning_rate"),
        ("fractions=[2]", "fractions"),
    ],
)
def test_cli_bad_config_fails_cleanly(table4, tmp_path, override, expected, cli):
    result = cli("nasbench-surrogate", f"table={table4}", f"out={tmp_path / 'm'}", f"report={tmp_path / 'r'}", override,
                 f"hydra.run.dir={tmp_path / 'h'}")
    assert result.returncode != 0
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_cli_missing_table_fails_cleanly(tmp_path, cli):
    result = cli("nasbench-surrogate", f"table={tmp_path / 'none.h5'}", f"out={tmp_path / 'm'}",
                 f"hydra.run.dir={tmp_path / 'h'}")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


# ---------------------------------------------------------------------- trajectory fidelity
def _sweep(folder: Path, benchmark: dict, seeds: int = 4, seconds: float = 1.0, strategies=("random", "rea", "local_search", "reinforce")):
    from nasbench.search.experiment import search, strategy_config, write_json

    for name in strategies:
        for seed in range(seeds):
            run = {"strategy": strategy_config(name), "benchmark": benchmark, "seed": seed, "skip_duplicates": False,
                   "budget": {"seconds": seconds, "max_evals": None}, "output": "result.json"}
            write_json(folder / name / f"seed{seed}" / "result.json", search(run))


def test_fidelity_report_compares_table_and_surrogate_sweeps(table4, saved, tmp_path):
    from nasbench.report.fidelity import write_fidelity_report

    _sweep(tmp_path / "table", {"kind": "table", "path": str(table4)})
    _sweep(tmp_path / "copy", {"kind": "table", "path": str(table4)})
    _sweep(tmp_path / "surrogate", {"kind": "surrogate", "path": str(saved), "noise": True})
    # the same sweep twice: identical curves, so the strategies rank identically
    same = json.loads((write_fidelity_report(tmp_path / "table", tmp_path / "copy", tmp_path / "same") / "summary.json").read_text())
    frame = pd.read_csv(tmp_path / "same" / "fidelity.csv", index_col=0)
    assert np.allclose(frame["regret_table"], frame["regret_surrogate"])
    assert frame["regret_table"].nunique() > 1  # the strategies differ within this budget, so tau is defined
    assert same["final_rank_agreement"]["kendall_tau"] == pytest.approx(1.0)
    out = write_fidelity_report(tmp_path / "table", tmp_path / "surrogate", tmp_path / "rep", truth=open_table(table4))
    for name in ("README.md", "fidelity.csv", "tau_over_time.csv", "overlays.png", "tau.png", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    frame = pd.read_csv(out / "fidelity.csv", index_col=0)
    assert sorted(frame.index) == ["local_search", "random", "rea", "reinforce"] and (frame["runs_surrogate"] == 4).all()
    assert frame["true_regret_of_surrogate_incumbents"].between(0, 1).all()
    assert "Kendall tau" in (out / "README.md").read_text()


@pytest.mark.slow
def test_fidelity_report_refuses_sweeps_that_cannot_be_compared(table4, tmp_path, cli):
    _sweep(tmp_path / "a", {"kind": "table", "path": str(table4)}, seeds=2, strategies=("random", "rea"))
    _sweep(tmp_path / "b", {"kind": "table", "path": str(table4)}, seeds=2, strategies=("rea", "reinforce"))
    _sweep(tmp_path / "c", {"kind": "table", "path": str(table4)}, seeds=2, seconds=2.0, strategies=("random", "rea"))
    from nasbench.space import BlockSpace

    blocks = build_tiny(tmp_path / "blocks.h5", seeds=(0,), space=BlockSpace(positions=2, blocks=["skip", "res3"], reduce_after=[1], channels=[4, 8]))
    _sweep(tmp_path / "d", {"kind": "table", "path": str(blocks)}, seeds=2, strategies=("random", "rea"))
    for other, message in (("b", "share 1 strategy (rea)"), ("c", "different budgets (1 s, 2 s)"), ("d", "runs on different search spaces")):
        result = cli("nasbench-report", tmp_path / "a", "--out", tmp_path / "rep", "--fidelity", tmp_path / other,
                     timeout=120)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_noise_check_gives_root_mean_square_and_median_ratios(model, bench4, split):
    from nasbench.surrogate.quality import noise_check

    check = noise_check(model, bench4, split[1])["valid_accuracy"]  # the valid classes: calibrated there
    assert check["classes"] == len(split[1])
    assert check["ratio"] == pytest.approx(1.0)  # the calibration matches root mean squares on these classes
    assert check["median_true_std"] > 0 and check["median_predicted_std"] > 0
    assert check["median_ratio"] == pytest.approx(check["median_predicted_std"] / check["median_true_std"])
