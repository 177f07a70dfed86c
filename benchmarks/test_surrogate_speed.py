"""Prediction throughput of the XGBoost surrogate. Target: >= 100,000 architectures per second.

The model is a shipped one: the flagship's (``surrogate/``), else (in a copy
without it) the block table's (``surrogate/blocks-mnist1d/``); without either, one is
fitted here with the default configuration (``conf/surrogate.yaml``) on the
trained classes of the shipped table. Batches of >= 100,000 architectures are the
model's space's indices tiled.

* ``SurrogateBenchmark.query_batch``: the benchmark predicted every class at
  load, so a batch is a lookup (what searches use);
* ``Surrogate.predict`` on indices: each class is run through the ensemble
  once and cached (the first call: most of a SurrogateBenchmark load), then gathered;
* ``Surrogate.predict`` on ``(n, F)`` features: every row through every
  booster (no target: a reference for the raw XGBoost cost).

Run with ``python -m pytest benchmarks/test_surrogate_speed.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.surrogate import Surrogate, SurrogateBenchmark, default_surrogate_path, open_table, split_classes
from nasbench.surrogate.benchmark import shipped_surrogates
from nasbench.table import default_table_path

TARGET_PER_SECOND = 100_000
BATCH = 100_000


def _model() -> Surrogate | None:
    shipped = shipped_surrogates()
    if shipped:  # the flagship's ("."), else the first shipped subfolder
        return Surrogate.load(default_surrogate_path() / shipped[0])
    if not default_table_path().exists():
        return None
    bench = open_table(None)
    if bench.done.any(axis=1).sum() < 10:
        return None
    split = split_classes(bench, (0.8, 0.1, 0.1), seed=0)
    return Surrogate(targets=["valid_accuracy", "test_accuracy", "train_time", "latency"]).fit(bench, *split)


@pytest.fixture(scope="module")
def model() -> Surrogate:
    found = _model()
    if found is None:
        pytest.skip("no shipped surrogate, and no shipped table with 10 trained classes to fit one on")
    return found


def _noise(model: Surrogate) -> bool:
    """Seed noise on (the slower load) when the model's noise is calibrated: it needs two trained seeds."""
    return all(model.metadata_["noise"]["calibrated"].values())


@pytest.fixture(scope="module")
def surrogate_bench(model) -> SurrogateBenchmark:
    return SurrogateBenchmark(model, noise=_noise(model), noise_seed=0)


@pytest.fixture(scope="module")
def indices(model) -> np.ndarray:
    n = len(model.space_)
    return np.tile(np.arange(n), -(-BATCH // n))  # >= BATCH indices, every architecture


def _rate(benchmark, n: int) -> float:
    per_second = n / benchmark.stats.stats.mean
    benchmark.extra_info["architectures"] = n
    benchmark.extra_info["per_second"] = round(per_second)
    print(f"\n{n} architectures: {per_second:,.0f} per second")
    return per_second


@pytest.mark.benchmark(group="surrogate-load")
def test_build_surrogate_benchmark(benchmark, model):
    sb = benchmark.pedantic(SurrogateBenchmark, args=(model,), kwargs={"noise": _noise(model)}, rounds=3, iterations=1)
    assert sb.complete


@pytest.mark.benchmark(group="surrogate-throughput")
def test_query_batch_per_second(benchmark, surrogate_bench, indices):
    out = benchmark(surrogate_bench.query_batch, indices, seed=surrogate_bench.seeds[0])
    assert np.isfinite(out["valid_accuracy"]).all()
    assert _rate(benchmark, len(indices)) >= TARGET_PER_SECOND


@pytest.mark.benchmark(group="surrogate-throughput")
def test_predict_indices_per_second(benchmark, model, indices):
    # the warm-up call runs every class through the ensemble once (cached; timed by test_build_surrogate_benchmark)
    out = benchmark.pedantic(model.predict, args=(indices,), rounds=5, iterations=1, warmup_rounds=1)
    assert out["valid_accuracy"].shape == indices.shape
    assert _rate(benchmark, len(indices)) >= TARGET_PER_SECOND


@pytest.mark.benchmark(group="surrogate-raw-features")  # a reference without a target, in its own group
def test_predict_features_per_second(benchmark, model, indices):
    features = model.space_.features(model.space_.all_decisions[indices])
    out = benchmark.pedantic(model.predict, args=(features,), rounds=1, iterations=1)
    assert out["valid_accuracy"].shape == indices.shape
    _rate(benchmark, len(indices))  # reference only: every row through every booster


@pytest.mark.benchmark(group="surrogate-single")
def test_single_query(benchmark, surrogate_bench):
    index = len(surrogate_bench.space) // 2
    r = benchmark(surrogate_bench.query, index)
    assert r.index == index
