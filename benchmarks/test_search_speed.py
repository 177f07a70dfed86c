"""Time of one search run per strategy at the default budget, and of the whole default comparison.

On each shipped table (``benchmark=table``, the flagship, and ``benchmark=blocks``)
that has every class trained for at least one seed (strategies may propose any
architecture); a table not yet that far is skipped.

Baselines measured in the same run: random search is in each strategy's group
(its time is the runner's own cost: lookups and bookkeeping), and the comparison
sits next to the start-up of its command (interpreter, imports, Hydra config) on
the same table.
Run with ``python -m pytest benchmarks/test_search_speed.py --benchmark-only``.
"""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from nasbench.cli.common import CONF_DIR
from nasbench.search import registry
from nasbench.table import Benchmark, default_table_path

STRATEGIES = registry.classes()  # the ask/tell strategies
GROUPS = {"table": None, "blocks": "blocks-mnist1d.h5"}  # benchmark group -> shipped table (None: the flagship)


def _usable(table: str | None) -> bool:
    path = default_table_path() if table is None else default_table_path().with_name(table)
    return path.exists() and bool(Benchmark.load(path).done.any(axis=1).all())


GROUP_PARAMS = [
    pytest.param(group, marks=pytest.mark.skipif(not _usable(table), reason=f"{table or 'the flagship table'} does not cover every class yet"))
    for group, table in GROUPS.items()
]


def default_cfg(config_name: str, overrides: list[str]) -> dict:
    from nasbench.cli.schema import register, register_compare, register_search

    register(), register_search(), register_compare()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return OmegaConf.to_container(compose(config_name, overrides=overrides), resolve=True)


@pytest.mark.parametrize("group", GROUP_PARAMS)
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_one_run_at_the_default_budget(benchmark, name, group):
    from nasbench.search.experiment import search

    benchmark.group = f"one run at the default budget ({group}); baseline: random"

    multi = STRATEGIES[name].objective_mode == "multi"  # these search a front: give them two objectives
    cfg = default_cfg("search", [f"strategy={name}", f"benchmark={group}", *(["objectives=[valid_accuracy,params]"] if multi else [])])
    cfg.pop("hydra", None)
    result = benchmark.pedantic(search, args=(cfg,), rounds=3, iterations=1)
    benchmark.extra_info["evaluations"] = result["num_evals"]


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_whole_default_comparison(benchmark, tmp_path, group):
    import subprocess
    import sys

    benchmark.group = f"default comparison ({group})"

    def run():
        subprocess.run(
            [sys.executable, "-m", "nasbench.cli.compare", f"benchmark={group}", f"runs_dir={tmp_path / 'runs'}", f"out={tmp_path / 'report'}", "progress=false"],
            check=True, capture_output=True,
        )

    benchmark.pedantic(run, rounds=1, iterations=1)


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_compare_startup_baseline(benchmark, group):
    """The comparison command's fixed cost: start, import, compose its config (``--cfg job`` prints it and exits)."""
    import subprocess
    import sys

    benchmark.group = f"default comparison ({group})"
    command = [sys.executable, "-m", "nasbench.cli.compare", f"benchmark={group}", "--cfg", "job"]
    benchmark.pedantic(subprocess.run, args=(command,), kwargs={"check": True, "capture_output": True}, rounds=3, iterations=1)
