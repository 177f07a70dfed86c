"""``nasbench.search.run``: one search from Python, as ``nasbench-search`` runs it.

>>> import nasbench
>>> result = nasbench.search.run("rea", seconds=600, seed=0)    # the default table, 600 simulated s
>>> result.data["simulated_time"] <= 600, result.final["regret"] >= 0
(True, True)
>>> bool(result.final["incumbent_valid"] == result.trajectory["valid_accuracy"].max())   # REA trains every model fully
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


class SearchResult:
    """One search's result: :attr:`data` is what its ``result.json`` holds (the run, its config, its provenance).

    :attr:`trajectory` is one row per evaluation (a pandas DataFrame), :attr:`final` the incumbent
    at the end (``incumbent_arch_str``, ``incumbent_test``, ``regret``, ...), :meth:`to_json` writes
    the ``result.json`` that ``nasbench-report`` and ``nasbench-compare`` read. ``result[key]``
    reads :attr:`data` as :func:`~nasbench.search.run_search`'s dict is read (``result["num_evals"]``).
    """

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def keys(self):
        return self.data.keys()

    @property
    def trajectory(self):
        import pandas as pd

        return pd.DataFrame(self.data["trajectory"])

    @property
    def final(self) -> dict[str, Any] | None:
        return self.data["final"]

    def to_json(self, path: str | Path) -> Path:
        """Write :attr:`data` to ``path`` (atomically); returns the path."""
        from nasbench.io import write_json

        write_json(Path(path), self.data)
        return Path(path)

    def __repr__(self) -> str:
        final = self.final or {}
        return (f"SearchResult({self.data['strategy']}, seed {self.data['seed']}: {self.data['num_evals']} evaluations in "
                f"{self.data['simulated_time']:.0f} simulated s, incumbent test {100 * final.get('incumbent_test', float('nan')):.2f}%, "
                f"regret {100 * final.get('regret', float('nan')):.2f} points)")


def benchmark_config(benchmark) -> tuple[Any, dict[str, Any]]:
    """The benchmark ``run`` searches, and its config node: ``None`` (the flagship table), a table's path, or a
    loaded :class:`~nasbench.table.Benchmark` or :class:`~nasbench.surrogate.SurrogateBenchmark`."""
    from nasbench.search.experiment import load_benchmark

    if benchmark is None or isinstance(benchmark, (str, Path)):
        node = {"kind": "table", "path": None if benchmark is None else str(benchmark)}
        return load_benchmark(node), node
    path = None if benchmark.path is None else str(benchmark.path)
    if hasattr(benchmark, "noise_seed"):  # a surrogate
        return benchmark, {"kind": "surrogate", "path": path, "noise": benchmark.noise, "noise_seed": benchmark.noise_seed}
    return benchmark, {"kind": "table", "path": path}


def strategy_node(strategy) -> dict[str, Any]:
    """How ``strategy`` (an instance) is recorded in a config: by its registered name, or as ``custom`` with its class."""
    from dataclasses import asdict

    from nasbench.search import registry

    options = asdict(strategy.options)
    try:
        registered = registry.get(strategy.name) is type(strategy)
    except ValueError:
        registered = False
    if registered:
        return {"name": strategy.name, **options}
    return {"name": "custom", "cls": f"{type(strategy).__module__}:{type(strategy).__qualname__}", "options": options}


def run(
    strategy: Any = "random",
    benchmark: Any = None,
    *,
    seconds: float | None = None,
    evaluations: float | None = None,
    max_evals: int | None = None,
    seed: int = 0,
    workers: int = 1,
    skip_duplicates: bool = False,
    constraints: dict[str, float] | None = None,
    objectives: Sequence[str] | None = None,
    **options: Any,
) -> SearchResult:
    """Run one search and return its :class:`SearchResult` (what ``nasbench-search`` writes as ``result.json``).

    ``strategy``: a registered name (``"rea"``, see :mod:`nasbench.search.registry`), a
    strategy class, or an instance (``MyStrategy(population_size=20)``); ``options`` go to a
    name's or a class's constructor. ``benchmark``: ``None`` for the default shipped table,
    a table's path, or a loaded ``Benchmark`` / ``SurrogateBenchmark``. The budget is
    ``seconds`` of simulated (wall-clock) time or (not both) ``evaluations`` full evaluations' worth of
    it (the protocol's unit: that many times the benchmark's mean time to train an
    architecture to its last epoch), capped by ``max_evals`` evaluations, which alone is a
    budget too. ``workers`` simulates parallel workers; ``skip_duplicates``, ``constraints``
    (``{"params": 20000}``) and ``objectives`` (``["valid_accuracy", "params"]``) are those of
    :func:`~nasbench.search.runner.run_search`.

    >>> import nasbench
    >>> result = nasbench.search.run("rea", evaluations=20, seed=0, population_size=5)
    >>> result.data["strategy_options"]
    {'population_size': 5, 'sample_size': 3, 'crossover_prob': 0.0}
    >>> int(result.data["budget"]["evaluations"]), len(result.trajectory) == result.data["num_evals"]
    (20, True)
    >>> list(result.trajectory.columns[:4])
    ['n_evals', 'time', 'index', 'arch_str']
    >>> sorted(result.final)
    ['incumbent_arch_str', 'incumbent_index', 'incumbent_test', 'incumbent_valid', 'regret']
    """
    from nasbench.search import registry
    from nasbench.search.base import BaseStrategy
    from nasbench.search.experiment import search

    if seconds is None and evaluations is None and max_evals is None:
        raise ValueError("give a budget: seconds= (simulated seconds), evaluations= (full evaluations' worth) "
                         "or max_evals= (evaluations)")
    if seconds is not None and evaluations is not None:
        raise ValueError(f"give seconds= or evaluations=, not both (got seconds={seconds!r}, evaluations={evaluations!r}); "
                         "max_evals= may cap either")
    if isinstance(strategy, BaseStrategy):
        if options:
            raise ValueError(f"options go to the strategy's constructor: {type(strategy).__name__}({', '.join(options)}=...)")
        instance = strategy
    elif isinstance(strategy, type) and issubclass(strategy, BaseStrategy):
        instance = strategy(options)
    else:
        instance = registry.get(strategy)(options)
    loaded, node = benchmark_config(benchmark)
    cfg = {
        "strategy": strategy_node(instance),
        "benchmark": node,
        "seed": seed,
        "skip_duplicates": bool(skip_duplicates),
        "workers": workers,
        "budget": {"seconds": seconds, "evaluations": evaluations, "max_evals": max_evals},
        "constraint": dict(constraints or {}),
        "objectives": None if objectives is None else list(objectives),
    }
    return SearchResult(search(cfg, loaded, strategy=instance, unbounded=True))
