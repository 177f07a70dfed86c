"""One-shot search speed on 2 CPU cores: projected wall time of a default run (50 epochs).

Each strategy trains 2 epochs on the shipped table's dataset with its default
options (1 thread); the projection is 50 x the measured seconds per epoch
(supernet steps plus the end-of-epoch derivation and scoring). The baseline,
measured in the same run, is one epoch of the table's most expensive cell with
the table's recipe (the calibration reference), so the printed ratio says how
many plain training epochs one supernet epoch costs. Target: a DARTS or GDAS
run under 10 minutes. Run with
``python -m pytest benchmarks/test_oneshot_speed.py --benchmark-only -s``.
"""

from __future__ import annotations

import pytest

from nasbench.search.oneshot import make_one_shot, run_one_shot
from nasbench.search.runner import Budget
from nasbench.table import Benchmark
from nasbench.table.benchmark import default_table_path

EPOCHS = 2


@pytest.fixture(scope="module")
def bench():
    if not default_table_path().exists():
        pytest.skip("no shipped table")
    return Benchmark.load()


@pytest.mark.parametrize("name, options", [("darts", {}), ("darts", {"order": 2}), ("gdas", {}), ("spos", {"candidates": 1})],
                         ids=["darts", "darts2", "gdas", "spos"])
def test_one_shot_epoch(benchmark, bench, name, options):
    results = []

    def run():
        strategy = make_one_shot(name, bench.space, 0, epochs=EPOCHS, **options)
        strategy.progress = False
        results.append(run_one_shot(strategy, bench, Budget(float("inf"))))

    benchmark.pedantic(run, rounds=1, iterations=1)
    result = results[-1]
    per_epoch = result["wall_seconds"] / EPOCHS
    baseline = result["calibration"]["measured_epoch_seconds"]
    projected = 50 * per_epoch
    benchmark.extra_info.update(seconds_per_epoch=per_epoch, baseline_epoch_seconds=baseline,
                                ratio_vs_plain_epoch=per_epoch / baseline, projected_50_epoch_seconds=projected)
    print(f"\n{result['label']}: {per_epoch:.2f} s per supernet epoch = {per_epoch / baseline:.1f} plain epochs of the "
          f"reference cell ({baseline:.2f} s); 50 epochs: {projected / 60:.1f} min")
