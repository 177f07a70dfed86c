"""The shipped surrogates: each loads, was fitted on the shipped table it names, and its split is clean."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench.surrogate import Surrogate, SurrogateBenchmark
from nasbench.surrogate.benchmark import shipped_surrogates
from nasbench.surrogate.quality import evaluate
from nasbench.table import Benchmark, default_table_path

#: shipped model folder -> the shipped table it must have been fitted on
TABLE_OF = {"nb201-mnist1d": "nb201-mnist1d.h5", "blocks-mnist1d": "blocks-mnist1d.h5"}
SHIPPED = shipped_surrogates()
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no shipped surrogate")


def test_only_known_surrogates_are_shipped():
    assert set(SHIPPED) <= set(TABLE_OF)


@pytest.fixture(scope="module", params=list(SHIPPED))
def shipped(request):
    table = Benchmark.load(default_table_path().parent / TABLE_OF[request.param])
    # load() with the table checks the model's recorded table checksum and space against it
    return Surrogate.load(SHIPPED[request.param], table=default_table_path().parent / TABLE_OF[request.param]), table


def test_fitted_on_the_complete_shipped_table(shipped):
    model, table = shipped
    assert model.metadata_["table"]["complete"] and table.done.all()
    assert model.metadata_["table"]["entries_done"] == table.done.size


def test_split_is_by_class_disjoint_and_covers_every_class(shipped):
    model, table = shipped
    split = model.metadata_["split"]
    parts = [set(split[name]) for name in ("train", "valid", "test")]
    assert sum(len(p) for p in parts) == len(set().union(*parts)) == table.done.shape[0]


def test_recorded_quality_is_reproduced_on_the_test_classes(shipped):
    model, table = shipped
    recorded = model.metadata_["quality"]["metrics"]
    measured = evaluate(model, table, model.metadata_["split"]["test"])
    assert set(measured) == set(recorded)
    for output, metrics in measured.items():
        for name in ("r2", "kendall_tau", "spearman"):
            assert metrics[name] == pytest.approx(recorded[output][name], abs=1e-9), (output, name)


def test_serves_as_a_benchmark(shipped):
    model, table = shipped
    bench = SurrogateBenchmark(model)
    result = bench.query(table.representatives[0])
    assert 0.0 <= result.valid_accuracy <= 1.0



def test_noisy_seeds_tie_and_spread_as_the_tables_seeds_do(shipped):
    """Seed draws of the noisy surrogate against the table's seeds, class by class, at the last epoch."""
    model, table = shipped
    noisy = SurrogateBenchmark(model, noise=True, noise_seed=1)
    representatives = np.asarray(table.representatives)
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    for metric in ("valid_accuracy", "test_accuracy"):
        true, drawn = (np.stack([bench.query_batch(representatives, seed=seed)[metric] for seed in bench.seeds])
                       for bench in (table, noisy))  # (seeds, classes)
        ties = [float((np.diff(np.sort(values, axis=0), axis=0) == 0).any(axis=0).mean()) for values in (true, drawn)]
        assert ties[1] <= ties[0] + 0.02, (metric, ties)  # two seeds tie by chance, as a table's do, not by design
        spread = [np.quantile(values.std(axis=0, ddof=1), quantiles) for values in (true, drawn)]
        assert (spread[1] > spread[0] / 2).all() and (spread[1] < 2 * spread[0]).all(), (metric, spread)
