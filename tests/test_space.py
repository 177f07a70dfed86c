"""The cell search space: size and order, every encoding's round trip, classes, moves.

Round trips cover all 15,625 cells of the default space. Expected values come
from small reference implementations written here from the documented
definitions (NAS-Bench-201's string format and ``to_unique_str``, mixed-radix
indices, BANANAS path encoding), not from the space's own helpers.
"""

from __future__ import annotations

import itertools
import pickle

import networkx as nx
import numpy as np
import pytest

from conftest import TINY_SPACE
from nasbench.space import NB201_OPS, NO_EDGE, Arch, CellSpace, SpaceError, space_from_config

EXAMPLE = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
EXAMPLE_DECISIONS = (3, 0, 1, 1, 0, 2)  # edges (0,1) (0,2) (1,2) (0,3) (1,3) (2,3)
EXAMPLE_INDEX = 3 * 5**5 + 0 * 5**4 + 1 * 5**3 + 1 * 5**2 + 0 * 5 + 2  # 9527

MIXED_SPACE = dict(
    ops=["none", "skip_connect", "nor_conv_5x5", "max_pool_3x3", "nor_conv_1x1"], cells_per_stage=2
)


@pytest.fixture(scope="module")
def space() -> CellSpace:
    return CellSpace()


@pytest.fixture(scope="module")
def tiny() -> CellSpace:
    return CellSpace(**TINY_SPACE)


# ---------------------------------------------------------------- references
def edges_of(n: int) -> list[tuple[int, int]]:
    return [(i, j) for j in range(1, n) for i in range(j)]


def ref_string(ops: list[str], n: int) -> str:
    by_edge = dict(zip(edges_of(n), ops))
    return "+".join("|" + "|".join(f"{by_edge[(i, j)]}~{i}" for i in range(j)) + "|" for j in range(1, n))


def ref_index(decisions, k: int) -> int:
    index = 0
    for d in decisions:
        index = index * k + int(d)
    return index


def ref_unique_str(ops: list[str], n: int) -> str:
    """NAS-Bench-201's ``Structure.to_unique_str(consider_zero=True)``."""
    by_edge = dict(zip(edges_of(n), ops))
    nodes = {0: "0"}
    for j in range(1, n):
        terms = []
        for i in range(j):
            op = by_edge[(i, j)]
            if op == "none" or nodes[i] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[i])
            else:
                terms.append(f"({nodes[i]})@{op}")
        nodes[j] = "+".join(sorted(terms))
    return nodes[n - 1]


def ref_connected(ops: list[str], n: int) -> bool:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(e for e, op in zip(edges_of(n), ops) if op != "none")
    return nx.has_path(g, 0, n - 1)


def ref_path_encoding(ops: list[str], space_ops: tuple[str, ...], n: int) -> np.ndarray:
    live = [o for o in space_ops if o != "none"]
    k = len(live)
    offset = {length: sum(k**m for m in range(1, length)) for length in range(1, n)}
    by_edge = dict(zip(edges_of(n), ops))
    out = np.zeros(sum(k**length for length in range(1, n)), dtype=np.float32)
    complete = nx.DiGraph(edges_of(n))
    for path in nx.all_simple_paths(complete, 0, n - 1):
        path_ops = [by_edge[e] for e in zip(path, path[1:])]
        if "none" in path_ops:
            continue
        out[offset[len(path_ops)] + ref_index([live.index(o) for o in path_ops], k)] = 1
    return out


def assert_same_classes(a: np.ndarray, b: np.ndarray) -> None:
    """Two labellings define the same partition."""
    pairs = set(zip(a.tolist(), b.tolist()))
    assert len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# ---------------------------------------------------------------- size and order
def test_size_and_iteration_order(space):
    assert len(space) == 15625 == 5**6
    assert space.num_choices == (5,) * 6
    assert space.ops == NB201_OPS
    assert space.edges == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    archs = list(space)
    assert [a.index for a in archs] == list(range(15625))
    assert all(isinstance(a, Arch) for a in archs[:10])
    decisions = np.array([a.decisions for a in archs])
    np.testing.assert_array_equal(decisions, space.all_decisions)
    # lexicographic in edge order: first edge most significant
    assert [tuple(d) for d in decisions.tolist()] == sorted(itertools.product(range(5), repeat=6))
    assert space[0].decisions == (0,) * 6 and space[15624].decisions == (4,) * 6
    assert space[1].decisions == (0, 0, 0, 0, 0, 1)


def test_index_round_trip_vectorised(space):
    idx = np.arange(len(space))
    dec = space.decisions_of(idx)
    assert dec.shape == (15625, 6) and dec.dtype == np.int64
    np.testing.assert_array_equal(space.index_of(dec), idx)
    expected = sum(dec[:, e] * 5 ** (5 - e) for e in range(6))
    np.testing.assert_array_equal(expected, idx)
    assert space.index_of(EXAMPLE_DECISIONS) == EXAMPLE_INDEX == 9527
    assert isinstance(space.index_of(EXAMPLE_DECISIONS), int)
    assert not space.all_decisions.flags.writeable


def test_nb201_string_is_byte_identical(space):
    arch = space.parse(EXAMPLE)
    assert arch.index == EXAMPLE_INDEX
    assert arch.decisions == EXAMPLE_DECISIONS
    assert arch.arch_str == EXAMPLE and str(arch) == EXAMPLE
    assert space.to_string(EXAMPLE_DECISIONS) == EXAMPLE
    assert space[0].arch_str == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert repr(arch) == f"Arch({EXAMPLE_INDEX}, {EXAMPLE!r})"
    # surrounding whitespace is tolerated; the string itself is canonical
    assert space.parse(f"  {EXAMPLE}\n").index == EXAMPLE_INDEX


def test_arch_string_round_trip_all(space):
    k = len(space.ops)
    for index, dec in enumerate(space.all_decisions.tolist()):
        text = space.to_string(dec)
        assert text == ref_string([space.ops[d] for d in dec], 4)
        assert space.from_string(text) == tuple(dec)
        assert space.parse(text).index == index == ref_index(dec, k)


def test_op_name_and_index_sequences_round_trip_all(space):
    for index, dec in enumerate(space.all_decisions.tolist()):
        names = space.to_ops(dec)
        assert names == [space.ops[d] for d in dec]
        assert space.parse(names).index == index
        assert space.parse(tuple(dec)).index == index
    # numpy arrays of names and indices too
    assert space.parse(np.array(space[EXAMPLE_INDEX].ops)).index == EXAMPLE_INDEX
    assert space.parse(np.array(EXAMPLE_DECISIONS, dtype=np.int8)).index == EXAMPLE_INDEX
    assert space.parse(np.array(EXAMPLE_DECISIONS, dtype=float)).index == EXAMPLE_INDEX


def test_matrix_round_trip_all(space):
    all_dec = space.all_decisions
    expected = np.full((len(space), 4, 4), NO_EDGE)
    for e, (i, j) in enumerate(space.edges):
        expected[:, i, j] = all_dec[:, e]
    matrices = np.array([space.to_matrix(dec) for dec in all_dec.tolist()])
    np.testing.assert_array_equal(matrices, expected)
    assert [space.parse(m).index for m in matrices] == list(range(len(space)))
    m = space[EXAMPLE_INDEX].matrix
    assert m.shape == (4, 4) and m[0, 1] == 3 and m[2, 3] == 2 and m[1, 0] == NO_EDGE
    assert space.from_matrix(m.tolist()) == EXAMPLE_DECISIONS
    assert space.parse(m.astype(float)).index == EXAMPLE_INDEX


def test_graph_round_trip_all(space):
    connected = space.is_connected()
    for index, dec in enumerate(space.all_decisions.tolist()):
        g = space.to_graph(dec)
        assert isinstance(g, nx.DiGraph)
        assert sorted(g.nodes) == [0, 1, 2, 3] and sorted(g.edges) == sorted(space.edges)
        assert [g.edges[e]["op"] for e in space.edges] == [space.ops[d] for d in dec]
        assert space.parse(g).index == index
        assert connected[index] == ref_connected([space.ops[d] for d in dec], 4)


def test_graph_missing_edges_read_as_none(space):
    g = nx.DiGraph()
    g.add_nodes_from(range(4))
    g.add_edge(0, 3, op="skip_connect")
    assert space.parse(g).arch_str == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


def test_graph_missing_nodes_read_as_none_edges(space):
    g = nx.DiGraph()
    g.add_edges_from([(0, 1), (1, 3)], op="nor_conv_3x3")  # node 2 left out: its edges are missing, so none
    assert space.parse(g).arch_str == "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
    assert space.parse(nx.DiGraph()).arch_str == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_one_hot_round_trip_all(space):
    oh = space.one_hot(space.all_decisions)
    assert oh.shape == (15625, 30) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh.reshape(-1, 6, 5).argmax(-1), space.all_decisions)
    np.testing.assert_array_equal(oh.sum(1), 6)
    np.testing.assert_array_equal(space.one_hot(space.all_decisions[123]), oh[123])
    np.testing.assert_array_equal(space[123].one_hot, oh[123])
    assert [space.parse(vec).index for vec in oh] == list(range(len(space)))
    assert space.parse(oh[77].astype(bool)).index == 77
    assert space.parse(oh[77].astype(int).tolist()).index == 77


def test_path_encoding_all(space):
    codes = space._path_encode_batch(space.all_decisions)
    assert codes.shape == (15625, 84) == (15625, space.path_encoding_length)  # 4 + 16 + 64
    # the encoder against a path-enumerating reference, on a sample
    for index in np.random.default_rng(0).choice(len(space), 300, replace=False).tolist():
        arch = space[index]
        expected = ref_path_encoding(arch.ops, space.ops, 4)
        np.testing.assert_array_equal(codes[index], expected)
        np.testing.assert_array_equal(arch.path_encoding, expected)
    # many-to-one: decode gives the lowest index with that encoding, and encodes back
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    lowest = first[inverse.reshape(-1)]
    decoded = np.array([space.parse(code).index for code in codes])
    np.testing.assert_array_equal(decoded, lowest)
    np.testing.assert_array_equal(codes[decoded], codes)
    assert len(first) < len(space)
    # disconnected cells have no live path; the all-zero code decodes to index 0
    np.testing.assert_array_equal(codes.any(1), space.is_connected())
    assert space.parse(np.zeros(84)).index == 0


def test_parse_accepts_each_encoding(space):
    arch = space[EXAMPLE_INDEX]
    assert set(space.encodings()) == {
        "arch_str", "decisions", "graph", "index", "matrix", "one_hot", "ops", "path_encoding"
    }
    for name in space.encodings():
        value = getattr(arch, name)
        parsed = space.parse(value)
        if name == "path_encoding":
            np.testing.assert_array_equal(parsed.path_encoding, arch.path_encoding)
        else:
            assert parsed == arch, name
    for value in (arch, EXAMPLE_INDEX, np.int64(EXAMPLE_INDEX), np.array(EXAMPLE_INDEX), str(EXAMPLE_INDEX),
                  f" {EXAMPLE_INDEX} ", list(EXAMPLE_DECISIONS), EXAMPLE, arch.graph, arch.matrix):
        assert space.parse(value) == arch
    assert space.parse(space.parse(arch)) is arch
    with pytest.raises(AttributeError, match="valid: arch_str"):
        arch.no_such_encoding  # noqa: B018


# ---------------------------------------------------------------- classes
def test_class_counts(space):
    ids = space.class_ids()
    assert ids.shape == (15625,) and ids.dtype == np.int32
    assert space.num_classes == 6466 == len(np.unique(ids))
    assert space.is_connected().sum() == 15284
    assert space.is_connected().dtype == bool
    # ids are numbered in order of first appearance
    _, first = np.unique(ids, return_index=True)
    assert np.all(np.diff(first) > 0) and ids[0] == 0
    assert not ids.flags.writeable and not space.representatives().flags.writeable


def test_classes_match_nb201_unique_str(space):
    keys = np.array([ref_unique_str([space.ops[d] for d in dec], 4) for dec in space.all_decisions.tolist()])
    _, ref_ids = np.unique(keys, return_inverse=True)
    assert_same_classes(space.class_ids(), ref_ids.reshape(-1))
    assert space[EXAMPLE_INDEX].class_id == space.class_ids()[EXAMPLE_INDEX]


def same_class(space, *texts: str) -> bool:
    return len({space.parse(t).class_id for t in texts}) == 1


def test_hand_checked_isomorphisms(space):
    # edge 2->3 is `none`: node 2 is dead, the ops on 0->2 and 1->2 do not matter
    dead = [f"|nor_conv_3x3~0|+|{a}~0|{b}~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
            for a, b in itertools.product(NB201_OPS, repeat=2)]
    assert same_class(space, *dead)
    # node 1 is zero (0->1 is none): the ops leaving node 1 do not matter
    assert same_class(space, *[f"|none~0|+|nor_conv_3x3~0|{a}~1|+|none~0|{b}~1|skip_connect~2|"
                               for a, b in itertools.product(NB201_OPS, repeat=2)])
    # a skip edge makes node 1 equal to node 0: leaving node 1 or node 0 is the same
    assert same_class(
        space,
        "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|",
        "|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|",
    )
    # addition commutes: conv on 0->3 plus pool via node 1, either way round
    assert same_class(
        space,
        "|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",
        "|nor_conv_1x1~0|+|none~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|",
    )
    # the cell of all `none` and the cells that only cut the output off
    all_none = space[0]
    assert all_none.arch_str == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    cut = [f"|{a}~0|+|{b}~0|{c}~1|+|none~0|none~1|none~2|" for a, b, c in itertools.product(NB201_OPS, repeat=3)]
    assert same_class(space, all_none.arch_str, *cut)
    # 125 cells with only `none` into node 3, 100 whose one other edge leaves a zero node 1
    assert (space.class_ids() == all_none.class_id).sum() == 225
    # disconnected and connected cells never share a class; NAS-Bench-201's key
    # keeps a zero node reached through skip or a parametric op apart from a
    # `none` term, so the 341 disconnected cells fall into 5 classes
    connected, ids = space.is_connected(), space.class_ids()
    assert not set(ids[connected].tolist()) & set(ids[~connected].tolist())
    assert (~connected).sum() == 341 and len(set(ids[~connected].tolist())) == 5
    # skip and none differ; different ops differ
    assert not same_class(space, "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", all_none.arch_str)
    base = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|{}~2|"
    assert len({space.parse(base.format(op)).class_id for op in NB201_OPS}) == 5
    assert not same_class(
        space,
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|skip_connect~2|",
    )


def test_representatives(space):
    ids, reps = space.class_ids(), space.representatives()
    assert reps.shape == (6466,)
    np.testing.assert_array_equal(ids[reps], np.arange(6466))  # rep of class c is a member of c
    params = space.costs(space.all_decisions)["params"]
    min_params = np.full(6466, np.iinfo(np.int64).max)
    np.minimum.at(min_params, ids, params)
    np.testing.assert_array_equal(params[reps], min_params)
    # ties broken by the lowest index
    lowest = np.full(6466, len(space))
    cheapest = params == min_params[ids]
    np.minimum.at(lowest, ids[cheapest], np.flatnonzero(cheapest))
    np.testing.assert_array_equal(reps, lowest)
    # a dead conv never makes the representative: its class has a conv-free member
    dead = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
    rep = space[int(reps[dead.class_id])]
    assert rep.arch_str == "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


# ---------------------------------------------------------------- other spaces
def test_tiny_space(tiny):
    assert len(tiny) == 27 and tiny.num_choices == (3, 3, 3) and tiny.path_encoding_length == 2 + 4
    assert [a.index for a in tiny] == list(range(27))
    for arch in tiny:
        dec, names = arch.decisions, arch.ops
        assert arch.arch_str == ref_string(names, 3)
        assert arch.index == ref_index(dec, 3)
        for value in (arch.arch_str, arch.index, names, dec, arch.matrix, arch.graph, arch.one_hot):
            assert tiny.parse(value) == arch
        assert tiny.parse(arch.path_encoding).path_encoding.tolist() == arch.path_encoding.tolist()
        np.testing.assert_array_equal(arch.path_encoding, ref_path_encoding(names, tiny.ops, 3))
        assert tiny.is_connected()[arch.index] == ref_connected(names, 3)
    keys = np.array([ref_unique_str(a.ops, 3) for a in tiny])
    _, ref_ids = np.unique(keys, return_inverse=True)
    assert_same_classes(tiny.class_ids(), ref_ids.reshape(-1))
    assert tiny.num_classes == len(set(keys.tolist()))
    assert tiny.parse("|skip_connect~0|+|none~0|nor_conv_3x3~1|").index == 1 * 9 + 0 * 3 + 2
    assert tiny.parse("|skip_connect~0|+|none~0|nor_conv_3x3~1|") != CellSpace()[11]
    assert tiny.is_connected().sum() == 27 - 5  # 0->2 none and (0->1 or 1->2 none)


def test_two_node_space():
    space = CellSpace(num_nodes=2, ops=["none", "skip_connect", "nor_conv_3x3"])
    assert [a.arch_str for a in space] == ["|none~0|", "|skip_connect~0|", "|nor_conv_3x3~0|"]
    assert space.is_connected().tolist() == [False, True, True] and space.num_classes == 3
    for arch in space:
        for name in space.encodings():
            parsed = space.parse(getattr(arch, name))
            assert parsed == arch or (name == "path_encoding" and not arch.path_encoding.any())


def test_space_without_none():
    space = CellSpace(num_nodes=3, ops=["skip_connect", "nor_conv_1x1"])
    assert len(space) == 8 and space.is_connected().all()
    assert space.path_encoding_length == 2 + 4
    for arch in space:
        assert space.parse(arch.graph) == arch and space.parse(arch.matrix) == arch
    g = space[0].graph
    g.remove_edge(0, 1)
    with pytest.raises(SpaceError, match="no 'none' op"):
        space.parse(g)


def test_config_signature_and_equality(space, tiny):
    assert space_from_config(space.config()) == space
    assert space_from_config({**TINY_SPACE, "kind": "cell"}) == tiny
    assert space != tiny and space.signature != tiny.signature
    assert CellSpace(**MIXED_SPACE) != CellSpace(ops=MIXED_SPACE["ops"])
    assert hash(CellSpace()) == hash(space)


def test_arch_equality_and_hash(space, tiny):
    other = CellSpace()
    assert space[5] == space[5] == other[5] and space[5] is not space[5]
    assert hash(space[5]) == hash(other[5])
    assert space[5] != space[6]
    assert space[5] != tiny[5] and hash(space[5]) != hash(tiny[5])
    assert space[5] != 5 and space[5] != space[5].arch_str
    assert len({space[5], other[5], space[6], tiny[5]}) == 3
    assert {space[5]: "x"}[other[5]] == "x"
    again = pickle.loads(pickle.dumps(space[EXAMPLE_INDEX]))
    assert again == space[EXAMPLE_INDEX] and again.arch_str == EXAMPLE
    with pytest.raises(SpaceError, match="another space"):
        tiny.parse(space[5])


# ---------------------------------------------------------------- moves
def test_neighbours(space):
    for index in (0, EXAMPLE_INDEX, 15624, 777):
        arch = space[index]
        neighbours = space.neighbours(arch)
        assert len(neighbours) == 6 * 4 == len(set(neighbours))
        assert arch not in neighbours
        for n in neighbours:
            assert 0 <= n.index < len(space)
            assert sum(a != b for a, b in zip(n.decisions, arch.decisions)) == 1
        assert space.neighbours(arch) == neighbours  # fixed order
    assert len(CellSpace(**TINY_SPACE).neighbours(CellSpace(**TINY_SPACE)[4])) == 3 * 2


def test_mutate(space):
    rng = np.random.default_rng(0)
    arch = space[EXAMPLE_INDEX]
    seen = set()
    for _ in range(400):
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(child.decisions, arch.decisions)) == 1
        seen.add(child)
    assert seen == set(space.neighbours(arch))  # every neighbour is reachable
    a = space.mutate(arch, np.random.default_rng(5))
    assert a == space.mutate(arch, np.random.default_rng(5))


def test_crossover(space):
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = space.sample(rng), space.sample(rng)
        child = space.crossover(a, b, rng)
        assert isinstance(child, Arch) and 0 <= child.index < len(space)
        assert all(c in (x, y) for c, x, y in zip(child.decisions, a.decisions, b.decisions))
    a = space[0]
    assert space.crossover(a, a, rng) == a
    children = {space.crossover(space[0], space[15624], rng).decisions for _ in range(200)}
    assert len(children) > 50 and all(set(c) <= {0, 4} for c in children)


def test_sample(space):
    rng = np.random.default_rng(2)
    samples = [space.sample(rng) for _ in range(2000)]
    assert all(0 <= s.index < len(space) for s in samples)
    assert len({s.index for s in samples}) > 1800
    assert space.sample(np.random.default_rng(3)) == space.sample(np.random.default_rng(3))


def test_features(space):
    dec = space.all_decisions[:50]
    feats = space.features(dec)
    assert feats.shape == (50, 30 + 84 + 3) == (50, len(space.feature_names()))
    assert feats.dtype == np.float32
    np.testing.assert_array_equal(feats[:, :30], space.one_hot(dec))
    np.testing.assert_array_equal(feats[:, 30:114], space._path_encode_batch(dec))
    np.testing.assert_allclose(feats[:, -3], np.log10(space.costs(dec)["params"]), rtol=1e-6)
    np.testing.assert_allclose(feats[:, -2], np.log10(space.costs(dec)["flops"]), rtol=1e-6)
    np.testing.assert_array_equal(feats[:, -1], space.is_connected()[:50])
    assert not feats[:, -1].all() and feats[:, -1].any()  # the first 50 cells hold both kinds
    np.testing.assert_array_equal(space.features(dec[7]), feats[7:8])


@pytest.mark.parametrize("reduction", ["residual", "pool"])
def test_cell_space_reduction_costs_match_the_model(reduction):
    space = CellSpace(reduction=reduction)
    for arch in ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                 "|skip_connect~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"):
        decisions = space.parse(arch).decisions
        model = space.build_model(decisions)
        assert space.costs(decisions)["params"] == sum(p.numel() for p in model.parameters())


def test_cell_space_reduction_is_part_of_its_identity_only_when_not_the_default():
    from nasbench.space.registry import space_from_config

    assert "reduction" not in CellSpace().config()  # tables made before the option keep their signature
    pool = CellSpace(reduction="pool")
    assert pool.config()["reduction"] == "pool" and pool.signature != CellSpace().signature
    assert space_from_config(pool.config()) == pool
    assert space_from_config({**CellSpace().config(), "reduction": "residual"}) == CellSpace()
    with pytest.raises(SpaceError, match="unknown reduction 'linear'; valid: pool, residual"):
        CellSpace(reduction="linear")
