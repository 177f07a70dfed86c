"""The shipped tables: complete, and their shape, integrity and provenance."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from nasbench.cli.common import CONF_DIR
from nasbench.cli.schema import register
from nasbench.space import BlockSpace, CellSpace, space_from_config
from nasbench.table import Benchmark, default_table_path
from nasbench.table.store import EPOCH_FIELDS, read_table
from nasbench.train.data import DatasetConfig
from nasbench.train.recipe import Recipe

#: shipped file -> (its space's config group, the space, (classes, seeds, epochs))
SHIPPED = {
    "nb201-mnist1d.h5": ("nb201", CellSpace(), (6466, 3, 12)),
    "blocks-mnist1d.h5": ("blocks", BlockSpace(), (208, 3, 12)),
}
PRESENT = [name for name in SHIPPED if (default_table_path().parent / name).exists()]
pytestmark = pytest.mark.skipif(not PRESENT, reason="no shipped table")


@pytest.fixture(scope="module", params=PRESENT)
def shipped(request):
    group, space, shape = SHIPPED[request.param]
    return request.param, group, space, shape, read_table(default_table_path().parent / request.param)


@pytest.fixture
def table(shipped):
    return shipped[-1]


def test_the_flagship_table_is_shipped():
    assert "nb201-mnist1d.h5" in PRESENT


def test_every_class_and_seed_is_trained(table):
    done = table.entries["done"]
    assert done.all(), f"{int((~done).sum())} of {done.size} (class, seed) entries untrained"
    assert bool(table.attrs["complete"])


def test_shape_and_mapping(shipped):
    _, _, space, shape, table = shipped
    assert table.shape == shape
    assert json.loads(table.attrs["seeds"]) == [0, 1, 2]
    np.testing.assert_array_equal(table.arch["class_id"], space.class_ids())
    np.testing.assert_array_equal(table.representative, space.representatives())
    assert table.arch["arch_str"].tolist() == [space.to_string(d) for d in space.all_decisions]
    costs = space.costs(space.all_decisions)
    np.testing.assert_array_equal(table.arch["params"], costs["params"])
    np.testing.assert_array_equal(table.arch["flops"], costs["flops"])
    assert space_from_config(json.loads(table.attrs["space"])) == space


def test_every_recorded_run_of_an_entry_is_a_run_of_the_build_history_with_a_fingerprint(table):
    runs = {run.get("run"): run for run in json.loads(table.attrs["build_history"])}
    done, recorded = table.entries["done"], table.entries["run"]
    assert set(recorded[~done].ravel()) <= {""}  # an untrained entry names no run
    named = set(recorded[done].ravel()) - {""}
    assert named <= set(runs)
    assert all(len(runs[run].get("float_fingerprint") or "") == 16 for run in named)


def test_entries_are_consistent(table):
    done = table.entries["done"]
    assert done.sum() > 0
    assert bool(table.attrs["complete"]) == bool(done.all())
    for name in EPOCH_FIELDS:
        values = table.epochs[name]
        assert np.isnan(values[~done]).all(), name
    ok = done & ~table.entries["diverged"]
    for split in ("train", "valid", "test"):
        acc = table.epochs[f"{split}_accuracy"][ok]
        assert np.isfinite(acc).all() and (acc >= 0).all() and (acc <= 1).all()
    assert (table.epochs["epoch_time"][ok] > 0).all()
    assert np.isfinite(table.entries["latency_b1"][done]).all()
    assert (table.epoch_seconds[done.any(axis=1)] > 0).all()  # every trained class is timed
    # seed-major build order: no entry of a later seed before every class of an earlier one is done
    per_seed = done.sum(axis=0)
    for s in range(1, len(per_seed)):
        assert per_seed[s] == 0 or per_seed[s - 1] == done.shape[0] or per_seed[s] <= per_seed[s - 1]


def test_built_with_the_default_config(shipped):
    _, group, _, _, table = shipped
    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("build", overrides=[f"space={group}"])
    # as a build records them: options left at their defaults (added after these tables were built) are omitted
    assert json.loads(table.attrs["recipe"]) == Recipe(**OmegaConf.to_container(cfg.train)).to_dict()
    assert json.loads(table.attrs["dataset"]) == DatasetConfig(**OmegaConf.to_container(cfg.dataset)).to_dict()
    for key in ("git_commit", "versions", "machine", "dataset_fingerprint", "config", "build_history", "validity"):
        assert table.attrs.get(key), key


def test_loads_through_the_query_api(shipped):
    name, _, _, _, table = shipped
    bench = Benchmark.load(name)
    assert bench.entries_done == int(table.entries["done"].sum())
    assert bench.time_source == "timed"
    best = bench.best("valid_accuracy")
    assert 0 < best.valid_accuracy <= 1
