"""Regularized evolution (Real et al., 2019) written against NATS-Bench's topology API.

A search script of the kind NATS-Bench ships: it knows the benchmark only through
``create``, ``reset_time``, ``simulate_train_eval``, ``used_time`` and ``get_more_info``,
so the import line alone says which benchmark answers::

    from nats_bench import create             # NATS-Bench: --dataset cifar10 --time_budget 20000
    from nasbench.compat.nats import create   # a nasbench table: --dataset mnist1d --time_budget 3000

Each run starts a population of ``--ea_population`` random cells, then repeatedly mutates
one op of the best of ``--ea_sample_size`` cells drawn from the population and retires the
oldest, until the simulated time charged by ``simulate_train_eval`` reaches the budget.
The architecture with the best observed validation accuracy is reported by its test
accuracy, the mean over seeds from ``get_more_info``, next to the table's best (``find_best``).

    python examples/nats_regularized_evolution.py --dataset mnist1d --time_budget 3000 --runs 500
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics

from nasbench.compat.nats import create  # NATS-Bench itself: from nats_bench import create

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NODES = 4


def to_string(cell: list[list[str]]) -> str:
    """NATS-Bench's arch string: node j lists the op on each edge i -> j as ``op~i``."""
    return "+".join("|" + "|".join(f"{op}~{i}" for i, op in enumerate(node)) + "|" for node in cell)


def random_cell() -> list[list[str]]:
    return [[random.choice(OPS) for _ in range(j)] for j in range(1, NODES)]


def mutate(cell: list[list[str]]) -> list[list[str]]:
    """A copy of ``cell`` with one edge's op replaced by a different one."""
    child = [list(node) for node in cell]
    node = random.randrange(len(child))
    edge = random.randrange(len(child[node]))
    child[node][edge] = random.choice([op for op in OPS if op != child[node][edge]])
    return child


def regularized_evolution(api, dataset: str, time_budget: float, population_size: int, sample_size: int, hp: str):
    """One run: every evaluation as ``(valid_accuracy, arch string)``, in order."""
    api.reset_time()
    population: collections.deque = collections.deque()
    history = []
    while api.used_time < time_budget:
        if len(population) < population_size:
            cell = random_cell()
        else:
            parent = max((random.choice(population) for _ in range(sample_size)), key=lambda member: member[0])
            cell = mutate(parent[1])
        valid_accuracy, _, _, _ = api.simulate_train_eval(to_string(cell), dataset, hp=hp)
        population.append((valid_accuracy, cell))
        history.append((valid_accuracy, to_string(cell)))
        if len(population) > population_size:
            population.popleft()
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="the benchmark's dataset name (mnist1d for a nasbench table)")
    parser.add_argument("--time_budget", type=float, required=True, help="simulated seconds per run")
    parser.add_argument("--ea_population", type=int, default=10)
    parser.add_argument("--ea_sample_size", type=int, default=3)
    parser.add_argument("--hp", default="12", help="the training schedule to query (epochs)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--rand_seed", type=int, default=0, help="run r uses random.seed(rand_seed + r)")
    parser.add_argument("--benchmark_file", default=None, help="passed to create(); None: the default benchmark")
    args = parser.parse_args()

    api = create(args.benchmark_file, "tss", fast_mode=True, verbose=False)
    _, optimum = api.find_best(args.dataset, "test", hp=args.hp)
    tests, evaluations = [], []
    for run in range(args.runs):
        random.seed(args.rand_seed + run)
        history = regularized_evolution(api, args.dataset, args.time_budget, args.ea_population, args.ea_sample_size, args.hp)
        best_arch = max(history, key=lambda evaluation: evaluation[0])[1]
        tests.append(api.get_more_info(best_arch, args.dataset, hp=args.hp, is_random=False)["test-accuracy"])
        evaluations.append(len(history))

    spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
    print(f"benchmark: {api}")
    print(f"REA, population {args.ea_population}, sample {args.ea_sample_size}, {args.time_budget:g} simulated s, "
          f"{args.runs} runs, {statistics.mean(evaluations):.0f} evaluations per run on average")
    print(f"test accuracy of the best found: {statistics.mean(tests):.2f} +- {spread:.2f} % (mean +- std over runs); "
          f"optimum {optimum:.2f} %, mean regret {optimum - statistics.mean(tests):.2f} points")


if __name__ == "__main__":
    main()
