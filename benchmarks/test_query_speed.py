"""Query speed of :class:`nasbench.Benchmark` next to the NAS-Bench-201-style layout.

The baseline is NAS-Bench-201's layout: a Python dict from arch string to
``{seed: {epoch: {metric: value}}}``, loaded from disk (here a JSON file;
keys are strings, as after the round trip), queried by dict lookups and a mean
over seeds in Python. It is built from the same shipped table:

* ``dict-done``: only the entries the (possibly partial) table has trained;
* ``dict-full``: every architecture, seed and epoch (NaN where not trained yet),
  the size the baseline has once the table is complete.

Run with ``python -m pytest benchmarks --benchmark-only``. Targets: load
< 0.3 s, single query < 20 us, batch of all 15,625 architectures < 20 ms.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasbench.table import Benchmark, default_table_path
from nasbench.table.store import read_table

PATH = default_table_path()
pytestmark = pytest.mark.skipif(not PATH.exists(), reason=f"no shipped table at {PATH}")

METRICS = ("train_accuracy", "valid_accuracy", "test_accuracy", "train_loss", "valid_loss", "test_loss", "train_time")


def build_dict(table, full: bool) -> dict:
    """``{arch_str: {seed: {epoch: {metric: value}}}}`` with string keys (JSON's)."""
    seeds = json.loads(table.attrs["seeds"])
    done = table.entries["done"]
    classes, _, epochs = table.shape
    values = {m: table.epochs[m].astype(np.float64) for m in METRICS if m != "train_time"}
    values["train_time"] = np.cumsum(table.epochs["epoch_time"], axis=2, dtype=np.float64)
    per_class: list[dict] = []
    for c in range(classes):
        runs = {}
        for s, seed in enumerate(seeds):
            if full or done[c, s]:
                rows = {m: values[m][c, s].tolist() for m in METRICS}
                runs[str(seed)] = {str(e + 1): {m: rows[m][e] for m in METRICS} for e in range(epochs)}
        per_class.append(runs)
    class_ids = table.arch["class_id"].tolist()
    return {s: per_class[c] for s, c in zip(table.arch["arch_str"].tolist(), class_ids) if per_class[c]}


def dict_query(db: dict, arch_str: str, epoch: str) -> dict:
    runs = db[arch_str]
    rows = [run[epoch] for run in runs.values()]
    return {m: sum(r[m] for r in rows) / len(rows) for m in METRICS}


def dict_batch(db: dict, arch_strs: list[str], epoch: str) -> list:
    return [dict_query(db, s, epoch) if s in db else None for s in arch_strs]


@pytest.fixture(scope="module")
def table():
    return read_table(PATH)  # also imports h5py, so that load timings are warm


@pytest.fixture(scope="module")
def bench(table):
    return Benchmark.load(PATH)


@pytest.fixture(scope="module")
def trained(bench) -> int:
    """Index of a trained architecture (all seeds trained if the table has one)."""
    done = bench.done
    full = np.flatnonzero(done.all(axis=1))
    c = int(full[0]) if len(full) else int(np.flatnonzero(done.any(axis=1))[0])
    return int(bench.representatives[c])


@pytest.fixture(scope="module", params=["dict-done", "dict-full"])
def baseline(request, table, tmp_path_factory):
    db = build_dict(table, full=request.param == "dict-full")
    path = tmp_path_factory.mktemp("baseline") / f"{request.param}.json"
    with open(path, "w") as f:
        json.dump(db, f)
    del db
    with open(path) as f:
        db = json.load(f)
    print(f"\n{request.param}: {len(db)} architectures, {path.stat().st_size / 1e6:.1f} MB of JSON")
    return request.param, path, db, table.arch["arch_str"].tolist(), str(table.shape[2])


# ---------------------------------------------------------------- load
@pytest.mark.benchmark(group="load")
def test_load_benchmark(benchmark, table):
    bench = benchmark(Benchmark.load, PATH)
    assert len(bench) == 15625


@pytest.mark.benchmark(group="load")
def test_load_dict(benchmark, baseline):
    name, path, _, _, _ = baseline

    def load():
        with open(path) as f:
            return json.load(f)

    db = benchmark.pedantic(load, rounds=3 if name == "dict-full" else 10, iterations=1)
    assert db


# ---------------------------------------------------------------- single query by arch string
@pytest.mark.benchmark(group="single-arch-str")
def test_single_by_str_benchmark(benchmark, bench, trained):
    arch_str = bench.space[trained].arch_str
    r = benchmark(bench.query, arch_str)
    assert r.index == trained


@pytest.mark.benchmark(group="single-arch-str")
def test_single_by_str_dict(benchmark, bench, baseline, trained):
    name, _, db, strs, last = baseline
    r = benchmark(dict_query, db, strs[trained], last)
    if name == "dict-done":  # dict-full averages in NaN for seeds not trained yet
        assert r["valid_accuracy"] == pytest.approx(bench.query(trained).valid_accuracy)


# ---------------------------------------------------------------- single query by index
@pytest.mark.benchmark(group="single-index")
def test_single_by_index_benchmark(benchmark, bench, trained):
    r = benchmark(bench.query, trained)
    assert r.index == trained


@pytest.mark.benchmark(group="single-index")
def test_single_by_index_dict(benchmark, baseline, trained):
    _, _, db, strs, last = baseline
    benchmark(lambda i: dict_query(db, strs[i], last), trained)


# ---------------------------------------------------------------- batch of every architecture
@pytest.mark.benchmark(group="batch-all")
def test_batch_all_benchmark(benchmark, bench):
    everything = np.arange(len(bench))
    out = benchmark(bench.query_batch, everything, missing="nan")
    assert len(out["valid_accuracy"]) == 15625


@pytest.mark.benchmark(group="batch-all")
def test_batch_all_dict(benchmark, baseline):
    _, _, db, strs, last = baseline
    out = benchmark(dict_batch, db, strs, last)
    assert len(out) == 15625
