"""Isomorphism class ids and encodings of the whole default space (target: well under a second).

Baseline in the same group: NAS-Bench-201's per-architecture string procedure run
on every cell one by one (a plain loop, as its tooling does).
"""

from __future__ import annotations

import pytest

from nasbench.space import CellSpace


def per_arch_keys(space: CellSpace) -> list[str]:
    none, skip = space.ops.index("none"), space.ops.index("skip_connect")
    keys = []
    for decisions in space.all_decisions.tolist():
        nodes = ["0"]
        for j in range(1, space.num_nodes):
            terms = []
            for i in range(j):
                op = decisions[space.edges.index((i, j))]
                if op == none or nodes[i] == "#":
                    terms.append("#")
                elif op == skip:
                    terms.append(nodes[i])
                else:
                    terms.append(f"({nodes[i]})@{space.ops[op]}")
            nodes.append("+".join(sorted(terms)))
        keys.append(nodes[-1])
    return keys


@pytest.mark.benchmark(group="class-ids")
def test_class_ids_all_cells(benchmark):
    def run():
        space = CellSpace()  # fresh: nothing cached
        return space.class_ids()

    ids = benchmark(run)
    assert ids.max() + 1 == 6466


@pytest.mark.benchmark(group="class-ids")
def test_class_ids_baseline_per_arch_loop(benchmark):
    space = CellSpace()
    keys = benchmark(per_arch_keys, space)
    assert len(set(keys)) == 6466


@pytest.mark.benchmark(group="encodings")
def test_one_hot_and_path_encoding_all_cells(benchmark):
    space = CellSpace()
    benchmark(lambda: space.features(space.all_decisions))
