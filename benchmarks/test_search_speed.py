"""Time of one search run per strategy at the default budget, and of the whole default comparison.

Needs the shipped flagship table with every class trained for at least one seed
(strategies may propose any architecture); skipped before that.
Run with ``python -m pytest benchmarks/test_search_speed.py --benchmark-only``.
"""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from nasbench.cli.common import CONF_DIR
from nasbench.search import STRATEGIES
from nasbench.table import Benchmark, default_table_path

PATH = default_table_path()


def _usable() -> bool:
    return PATH.exists() and bool(Benchmark.load(PATH).done.any(axis=1).all())


pytestmark = pytest.mark.skipif(not _usable(), reason="the shipped table does not cover every class yet")


def default_cfg(config_name: str, overrides: list[str]) -> dict:
    from nasbench.cli.schema import register, register_compare, register_search

    register(), register_search(), register_compare()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return OmegaConf.to_container(compose(config_name, overrides=overrides), resolve=True)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_one_run_at_the_default_budget(benchmark, name):
    from nasbench.cli.search import search

    cfg = default_cfg("search", [f"strategy={name}"])
    cfg.pop("hydra", None)
    result = benchmark.pedantic(search, args=(cfg,), rounds=3, iterations=1)
    benchmark.extra_info["evaluations"] = result["num_evals"]


def test_whole_default_comparison(benchmark, tmp_path):
    import subprocess
    import sys

    def run():
        subprocess.run(
            [sys.executable, "-m", "nasbench.cli.compare", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'report'}", "progress=false"],
            check=True, capture_output=True,
        )

    benchmark.pedantic(run, rounds=1, iterations=1)
