"""The single-worker runs whose results must never change: their cases and SHA-256 digests.

``python tests/data/one_worker_digests.py COMMIT`` prints the digests of the code it imports
as ``one_worker_digests.json`` holds them; the file was written by the single-worker runner
of its ``made_at`` commit (a runner without simulated workers, imported from a checkout of
that commit), and ``tests/test_workers.py`` checks that the runner with ``workers=1`` still
gives those bytes. A case's budget is simulated seconds, or ``{"evaluations": N}``: N full
evaluations' worth on its table, as a search config's default budget resolves.
"""

from __future__ import annotations

import hashlib
import json
import sys

#: (name, table, strategy, options, run_search keyword arguments, budget: seconds or {"evaluations": N}, seed)
CASES = [
    ("random-default-budget", None, "random", {}, {}, {"evaluations": 100}, 0),
    ("rea-default-budget", None, "rea", {}, {}, {"evaluations": 100}, 3),
    ("hyperband+dedup-default-budget", None, "hyperband", {}, {"skip_duplicates": True}, {"evaluations": 100}, 1),
    ("blocks-reinforce-default-budget", "blocks-mnist1d.h5", "reinforce", {}, {}, {"evaluations": 23}, 0),
    ("random", None, "random", {}, {}, 3000, 0),
    ("rea", None, "rea", {}, {}, 3000, 0),
    ("rea-seed1", None, "rea", {}, {}, 3000, 1),
    ("rea+dedup", None, "rea", {}, {"skip_duplicates": True}, 3000, 0),
    ("rea-params", None, "rea", {}, {"constraints": {"params": 12626}}, 3000, 0),
    ("reinforce", None, "reinforce", {}, {}, 3000, 0),
    ("local_search", None, "local_search", {}, {}, 3000, 0),
    ("local_search+dedup", None, "local_search", {}, {"skip_duplicates": True}, 3000, 0),
    ("hyperband", None, "hyperband", {}, {}, 3000, 0),
    ("hyperband+dedup", None, "hyperband", {}, {"skip_duplicates": True}, 3000, 0),
    ("sh", None, "hyperband", {"brackets": "sh"}, {}, 3000, 2),
    ("mo_random", None, "mo_random", {}, {"objectives": ["valid_accuracy", "params"]}, 1000, 0),
    ("nsga2", None, "nsga2", {}, {"objectives": ["valid_accuracy", "params"]}, 1000, 0),
    ("rea_scalarised", None, "rea_scalarised", {}, {"objectives": ["valid_accuracy", "params"]}, 1000, 0),
    ("blocks-random", "blocks-mnist1d.h5", "random", {}, {}, 150, 0),
    ("blocks-rea+dedup", "blocks-mnist1d.h5", "rea", {}, {"skip_duplicates": True}, 150, 0),
]


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def run_case(case, **extra) -> dict:
    """``run_search``'s result for ``case`` (``extra``: more keyword arguments, e.g. ``workers=1``)."""
    from nasbench.search import Budget, make_generators, make_strategy, run_search
    from nasbench.table import Benchmark

    _, table, strategy, options, kwargs, budget, seed = case
    bench = Benchmark.load(table)
    if isinstance(budget, dict):
        from nasbench.search import resolve_budget

        budget = resolve_budget(budget, bench)[0]
    else:
        budget = Budget(budget)
    strategy_rng, runner_rng = make_generators(seed)
    search = make_strategy(strategy, bench.space, strategy_rng, bench.num_epochs, objectives=kwargs.get("objectives"), **options)
    return run_search(search, bench, budget, runner_rng, **kwargs, **extra)


def digests(case, **extra) -> dict:
    result = run_case(case, **extra)
    return {"num_evals": result["num_evals"], "trajectory": digest(result["trajectory"]), "result": digest(result)}


if __name__ == "__main__":
    commit = sys.argv[1] if len(sys.argv) > 1 else "unknown"
    print(json.dumps({"made_at": commit, "cases": {case[0]: digests(case) for case in CASES}}, indent=1, sort_keys=True))
