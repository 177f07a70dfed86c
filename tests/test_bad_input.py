"""Bad input: every mistake raises a one-line SpaceError that says what is valid.

Hypothesis feeds random text and random arrays to ``parse``: it may only raise
:class:`SpaceError`, and whatever it returns must encode back to the input.
"""

from __future__ import annotations

import re
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from conftest import TINY_SPACE
from nasbench.space import CellSpace, SpaceError, space_from_config

SPACE = CellSpace()
TINY = CellSpace(**TINY_SPACE)
VALID = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
OPS_LIST = "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_error(fn, *args, match: str, **kwargs) -> SpaceError:
    """``fn`` raises a one-line SpaceError whose message contains ``match`` (a regex)."""
    with pytest.raises(SpaceError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message and "\n" not in message, repr(message)
    assert re.search(match, message), message
    return info.value


def test_space_error_is_value_error():
    assert issubclass(SpaceError, ValueError)


# ---------------------------------------------------------------- strings
@pytest.mark.parametrize(
    "text, match",
    [
        ("", r"expected 3 separated by '\+', e\.g\. '\|none~0\|"),
        ("   ", "expected 3"),
        ("|none~0|+|none~0|none~1|", "2 node groups, expected 3"),
        (VALID + "+|none~0|", "4 node groups, expected 3"),
        (VALID.replace("|+|none~0|skip", "+|none~0|skip"), "must start and end with '\\|'"),
        (VALID.rstrip("|"), "must start and end with '\\|'"),
        (VALID.replace("|none~0|skip_connect~1|", "|none~0|"), "node 2 must have 2 edges"),
        (VALID.replace("|none~0|skip_connect~1|", "|none~0|skip_connect~1|none~2|"), "node 2 must have 2 edges"),
        (VALID.replace("nor_conv_3x3", "conv_7x7"), f"unknown op 'conv_7x7'.*valid: {OPS_LIST}"),
        (VALID.replace("nor_conv_3x3", "NOR_CONV_3X3"), f"valid: {OPS_LIST}"),
        (VALID.replace("none~1|nor", "none~2|nor"), r"expected input node 1 \(inputs are 0\.\.2"),
        (VALID.replace("nor_conv_1x1~2", "nor_conv_1x1~7"), "expected input node 2"),
        (VALID.replace("skip_connect~1|+", "skip_connect~01|+"), "expected input node 1"),
        (VALID.replace("~0|+", "0|+", 1), "must look like 'op~0' with op one of none"),
        (VALID.replace("~0|+", "~|+", 1), "must look like 'op~0'"),
        (VALID.replace("~0|+", "~x|+", 1), "must look like 'op~0'"),
        (VALID.replace("~0|+", "~0~0|+", 1), "must look like"),
        (VALID.replace("~0|+", "~-1|+", 1), "must look like"),
        (VALID.replace("~0|+", "~\u0660|+", 1), "must look like"),  # Arabic-Indic zero
        (VALID.replace("~0|+", "~0\n|+", 1), "must look like"),
        (VALID.replace("|+|", "||+||", 1), "must have"),
        ("-1", r"out of range; valid: 0\.\.15624"),
        ("15625", r"out of range; valid: 0\.\.15624"),
        ("9" * 5000, r"out of range; valid: 0\.\.15624"),
        ("--5", "expected 3"),
        ("\u00b2", "expected 3"),  # superscript two: isdigit() but not an index
        ("1.5", "expected 3"),
    ],
)
def test_bad_strings(text, match):
    check_error(SPACE.parse, text, match=match)


def test_from_string_needs_a_string():
    check_error(SPACE.from_string, 5, match="must be a str like '\\|none~0")


def test_tiny_space_strings():
    check_error(TINY.parse, VALID, match="3 node groups, expected 2")
    check_error(TINY.parse, "|nor_conv_1x1~0|+|none~0|none~1|", match="valid: none, skip_connect, nor_conv_3x3$")


# ---------------------------------------------------------------- scalars and objects
@pytest.mark.parametrize(
    "value, match",
    [
        (15625, r"index 15625 out of range; valid: 0\.\.15624"),
        (-1, r"index -1 out of range; valid: 0\.\.15624"),
        (np.int64(-3), r"out of range; valid: 0\.\.15624"),
        (np.uint64(2**64 - 1), r"out of range; valid: 0\.\.15624"),
        (2**80, r"out of range; valid: 0\.\.15624"),
        (True, "cannot be a bool; valid encodings: arch_str, decisions"),
        (np.bool_(False), "cannot be a bool; valid encodings"),
        (3.0, r"must be an integer in 0\.\.15624, got float"),
        (float("nan"), r"must be an integer in 0\.\.15624"),
        (np.float32(1), r"must be an integer in 0\.\.15624"),
        (1 + 2j, r"must be an integer in 0\.\.15624"),
        (None, "cannot read an architecture from NoneType; valid encodings: arch_str, decisions, graph"),
        (object(), "valid encodings: arch_str"),
        ({"a": 1}, "valid encodings"),
        ({1, 2}, "valid encodings"),
        ([], "valid encodings"),
        ((), "valid encodings"),
        (b"|none~0|", "valid encodings"),
        (np.array(2.0), "valid encodings"),
        ([[0, 1], [2]], "valid encodings"),
        ([None] * 6, "valid encodings"),
        ([0, 1, 2, "x", 0, 1], "unknown option '0'|unknown option 'x'"),
        ([SPACE[0]], "valid encodings"),
    ],
)
def test_bad_objects(value, match):
    check_error(SPACE.parse, value, match=match)


@pytest.mark.parametrize("index", [-1, 15625, True, 1.0, "3", None, slice(0, 2)])
def test_bad_getitem(index):
    check_error(SPACE.__getitem__, index, match=r"0\.\.15624")


# ---------------------------------------------------------------- sequences and arrays
@pytest.mark.parametrize(
    "value, match",
    [
        ([0] * 5, r"length 5 matches none.*\(6,\) option names or indices, \(30,\) one-hot, \(84,\) path"),
        ([0] * 7, r"length 7 matches none.*\(4, 4\) edge-op matrix"),
        (["none"] * 5, r"length 5 matches none.*\(6,\) option names"),
        ([0, 0, 0, 0, 0, 5], r"decision 5 = 5 out of range; valid: 0\.\.4"),
        ([-1, 0, 0, 0, 0, 0], r"decision 0 = -1 out of range; valid: 0\.\.4"),
        ([0.5, 0, 0, 0, 0, 0], r"whole numbers in 0\.\.4"),
        ([np.inf, 0, 0, 0, 0, 0], r"whole numbers in 0\.\.4"),
        ([np.nan] * 6, r"whole numbers in 0\.\.4"),
        ([1e30, 0, 0, 0, 0, 0], r"out of range; valid: 0\.\.4"),
        ([True, False, True, False, True, False], "not bools; valid: \\(6,\\) option names"),
        (["none", "none", "none", "conv", "none", "none"], f"unknown option 'conv' at position 3; valid: {OPS_LIST}"),
        (np.zeros((2, 3, 4)), r"shape \(2, 3, 4\).*valid: \(6,\) option names"),
        (np.zeros(6, dtype=complex), "valid encodings: arch_str"),
        (np.array(["2020-01-01"] * 6, dtype="datetime64[D]"), "valid"),
    ],
)
def test_bad_sequences(value, match):
    check_error(SPACE.parse, value, match=match)


def one_hot_with(change) -> np.ndarray:
    vec = SPACE.parse(VALID).one_hot.copy()
    change(vec)
    return vec


@pytest.mark.parametrize(
    "vector, match",
    [
        (one_hot_with(lambda v: v.__setitem__(0, 1)), r"block of decision 0 \(entries 0\.\.4\) must hold exactly one 1, holds 2"),
        (one_hot_with(lambda v: v.__setitem__(slice(25, 30), 0)), "block of decision 5 .* holds 0"),
        (one_hot_with(lambda v: v.__setitem__(0, 0.5)), "entries must be 0 or 1"),
        (one_hot_with(lambda v: v.__setitem__(0, -1)), "entries must be 0 or 1"),
        (one_hot_with(lambda v: v.__setitem__(0, np.nan)), "entries must be 0 or 1"),
        (np.zeros(30), "block of decision 0 .* holds 0"),
        (np.ones(30), "holds 5"),
    ],
)
def test_bad_one_hot(vector, match):
    check_error(SPACE.parse, vector, match=match)
    check_error(SPACE.from_one_hot, vector, match=match)


def test_bad_one_hot_direct():
    check_error(SPACE.from_one_hot, np.zeros(29), match=r"shape \(30,\) \(6 blocks of 5, 5, 5, 5, 5, 5\)")
    check_error(SPACE.from_one_hot, ["a"] * 30, match="must be an array of 0s and 1s")
    check_error(SPACE.from_one_hot, None, match="must be an array of 0s and 1s")


def test_bad_path_encoding():
    code = SPACE.parse(VALID).path_encoding
    check_error(SPACE.from_path_encoding, code[:-1], match=r"shape \(84,\)")
    check_error(SPACE.parse, np.full(84, 2.0), match="entries must be 0 or 1")
    check_error(SPACE.from_path_encoding, None, match="array of 0s and 1s")
    impossible = np.zeros(84)
    impossible[:4] = 1  # every length-1 path, but no longer ones: 0->3 cannot hold 4 ops
    check_error(SPACE.parse, impossible, match="no architecture of this space has this path encoding")


def matrix_with(change) -> np.ndarray:
    m = SPACE.parse(VALID).matrix.copy()
    change(m)
    return m


@pytest.mark.parametrize(
    "matrix, match",
    [
        (np.full((3, 3), -1), r"must have shape \(4, 4\), got shape \(3, 3\)"),
        (np.full((4, 5), -1), r"must have shape \(4, 4\)"),
        (np.full((5, 5), -1), r"must have shape \(4, 4\)"),
        (matrix_with(lambda m: m.__setitem__((0, 1), 5)), r"matrix entry \[0, 1\] = 5 is not an op index; valid above the diagonal: 0\.\.4"),
        (matrix_with(lambda m: m.__setitem__((2, 3), -1)), r"matrix entry \[2, 3\] = -1 is not an op index; valid above the diagonal: 0\.\.4"),
        (matrix_with(lambda m: m.__setitem__((1, 0), 0)), "must hold -1 on and below the diagonal"),
        (matrix_with(lambda m: m.__setitem__((2, 2), 1)), "must hold -1 on and below the diagonal"),
        (matrix_with(lambda m: m.__setitem__((2, 2), 1)).astype(bool), r"must be integers: op index 0\.\.4"),
        (matrix_with(lambda m: None).astype(float) + 0.5, r"must be integers: op index 0\.\.4"),
        (np.where(matrix_with(lambda m: None) == 3, np.inf, matrix_with(lambda m: None)), "must be integers"),
        (matrix_with(lambda m: None).astype(str), r"must be integers: op index 0\.\.4 above the diagonal, -1"),
    ],
)
def test_bad_matrices(matrix, match):
    check_error(SPACE.parse, matrix, match=match)
    check_error(SPACE.from_matrix, matrix, match=match)


def test_bad_matrix_direct():
    check_error(SPACE.from_matrix, [[0, 1], [2]], match=r"shape \(4, 4\)")


def test_bad_graphs():
    g = SPACE.parse(VALID).graph
    bad_op = g.copy()
    bad_op.edges[0, 1]["op"] = "conv"
    check_error(SPACE.parse, bad_op, match=f"unknown op 'conv' on graph edge 0->1; valid: {OPS_LIST}")
    no_op = g.copy()
    del no_op.edges[0, 1]["op"]
    check_error(SPACE.parse, no_op, match="unknown op None")
    back = g.copy()
    back.add_edge(3, 1, op="none")
    check_error(SPACE.parse, back, match="edge 3->1 is not a cell edge")
    loop = g.copy()
    loop.add_edge(2, 2, op="none")
    check_error(SPACE.parse, loop, match="edge 2->2 is not a cell edge")
    extra = g.copy()
    extra.add_node(4)
    check_error(SPACE.parse, extra, match=r"nodes must be among 0\.\.3")
    check_error(SPACE.parse, nx.relabel_nodes(g, str), match=r"nodes must be among 0\.\.3")
    check_error(SPACE.parse, nx.Graph(g), match="must be a networkx.DiGraph")
    check_error(SPACE.parse, nx.MultiDiGraph(g), match="must be a networkx.DiGraph")
    check_error(SPACE.from_graph, [1, 2], match="expected a networkx.DiGraph")


def test_bad_decisions_for_encoders_and_costs():
    for fn in (SPACE.to_string, SPACE.to_ops, SPACE.to_matrix, SPACE.to_graph, SPACE.to_path_encoding,
               SPACE.build_model):
        check_error(fn, [0] * 5, match="expected 6 decisions, got 5")
        check_error(fn, [0, 0, 0, 0, 0, -1], match=r"decision 5 = -1 out of range; valid: 0\.\.4")
        check_error(fn, [0.0] * 6, match=r"decision 0 must be an integer option index in 0\.\.4")
        check_error(fn, 7, match="sequence of 6 option indices")
    for fn in (SPACE.costs, SPACE.features, SPACE.one_hot, SPACE.index_of):
        check_error(fn, [0, 0, 0, 0, 0, -1], match=r"decision 5 out of range; valid: 0\.\.4")
        check_error(fn, [[0] * 6, [0, 0, 5, 0, 0, 0]], match=r"decision 2 out of range; valid: 0\.\.4")
        check_error(fn, [0] * 5, match=r"shape \(6,\) or \(n, 6\), got shape \(5,\)")
        check_error(fn, [0.0] * 6, match=r"integer option indices of shape \(6,\)")
        check_error(fn, [True] * 6, match=r"integer option indices of shape \(6,\)")
        check_error(fn, None, match=r"integer option indices of shape \(6,\)")
    check_error(SPACE.decisions_of, 15625, match=r"out of range; valid: 0\.\.15624")
    check_error(SPACE.decisions_of, [0, -1], match=r"out of range; valid: 0\.\.15624")
    check_error(SPACE.decisions_of, 1.0, match=r"integers in 0\.\.15624")


def test_bad_moves():
    rng = np.random.default_rng(0)
    check_error(SPACE.neighbours, TINY[0], match="another space")
    check_error(SPACE.mutate, 15625, rng, match="out of range")
    check_error(SPACE.crossover, SPACE[0], "nonsense", rng, match="expected 3")
    assert SPACE.neighbours(VALID) == SPACE.neighbours(SPACE.parse(VALID))  # any encoding is accepted


# ---------------------------------------------------------------- constructor
KNOWN = "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3, nor_conv_5x5, max_pool_3x3"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(ops=["none", "conv_7x7"]), f"unknown op 'conv_7x7'; valid: {KNOWN}"),
        (dict(ops=["none", 3]), f"unknown op 3; valid: {KNOWN}"),
        (dict(ops=["none"]), f"at least 2 distinct names from {KNOWN}"),
        (dict(ops=["none", "none"]), "at least 2 distinct names"),
        (dict(ops=[]), "at least 2 distinct names"),
        (dict(ops="none"), f"list of op names from {KNOWN}"),
        (dict(ops=None), "list of op names"),
        (dict(num_nodes=1), r"num_nodes must be an integer 2\.\.6, got 1"),
        (dict(num_nodes=7), r"num_nodes must be an integer 2\.\.6"),
        (dict(num_nodes=4.0), r"num_nodes must be an integer 2\.\.6, got 4\.0"),
        (dict(num_nodes="4"), r"num_nodes must be an integer 2\.\.6"),
        (dict(num_nodes=True), r"num_nodes must be an integer 2\.\.6"),
        (dict(channels=[]), "channels must be a non-empty list of positive integers"),
        (dict(channels=8), "channels must be a non-empty list of positive integers, got 8"),
        (dict(channels="8"), "channels must be a non-empty list"),
        (dict(channels=[8, 0]), "channels must be an integer >= 1, got 0"),
        (dict(channels=[8.5]), "channels must be an integer >= 1, got 8.5"),
        (dict(channels=["a"]), "channels must be an integer >= 1"),
        (dict(cells_per_stage=0), "cells_per_stage must be an integer >= 1, got 0"),
        (dict(cells_per_stage="2"), "cells_per_stage must be an integer >= 1"),
        (dict(in_channels=0), "in_channels must be an integer >= 1"),
        (dict(num_classes=1), "num_classes must be an integer >= 2"),
        (dict(input_length=3), "input_length must be an integer >= 4, got 3"),
        (dict(input_length=40.0), "input_length must be an integer >= 4"),
        (dict(input_length=None), "input_length must be an integer >= 4"),
    ],
)
def test_bad_constructor(kwargs, match):
    check_error(CellSpace, **kwargs, match=match)


def test_constructor_accepts_numpy_and_tuples():
    a = CellSpace(num_nodes=np.int64(3), ops=("none", "skip_connect"), channels=np.array([4, 8]))
    b = CellSpace(num_nodes=3, ops=["none", "skip_connect"], channels=[4, 8])
    assert a == b and a.config() == b.config() and type(a.config()["num_nodes"]) is int


def test_bad_config():
    check_error(space_from_config, {"kind": "chain"}, match="unknown space kind 'chain'; valid: cell")
    check_error(space_from_config, {"num_nodes": 4}, match="unknown space kind None; valid: cell")
    check_error(space_from_config, {"kind": "cell", "depth": 3}, match="bad cell space option")
    check_error(space_from_config, {"kind": "cell", "num_nodes": 9}, match=r"2\.\.6")


# ---------------------------------------------------------------- random input
VALID_STRINGS = [SPACE[i].arch_str for i in range(0, len(SPACE), 97)]
ALPHABET = "|+~0123 _-\nnonesktpcrv_13x"


def check_text(space: CellSpace, text: str) -> None:
    try:
        arch = space.parse(text)
    except SpaceError as err:
        assert "\n" not in str(err)
        return
    stripped = text.strip()
    if re.fullmatch(r"-?[0-9]+", stripped):
        assert arch.index == int(stripped)
    else:  # only a valid arch string parses, and it is canonical
        assert arch.arch_str == stripped


@FAST
@given(st.text(max_size=120))
def test_random_text(text):
    check_text(SPACE, text)


@FAST
@given(st.lists(st.sampled_from(list(ALPHABET) + ["none", "skip_connect", "nor_conv_3x3", "~0|", "|+|"]),
                max_size=30).map("".join))
def test_random_text_near_the_format(text):
    check_text(SPACE, text)
    check_text(TINY, text)


@FAST
@given(st.sampled_from(VALID_STRINGS), st.data())
def test_mutated_arch_strings(valid, data):
    """Edit a valid string by one character: either a valid string comes back unchanged, or SpaceError."""
    pos = data.draw(st.integers(0, len(valid)))
    edit = data.draw(st.sampled_from(["insert", "delete", "replace"]))
    char = data.draw(st.characters(codec="utf-8") | st.sampled_from(list("|+~0123456_\n ")))
    if edit == "insert":
        text = valid[:pos] + char + valid[pos:]
    elif edit == "delete":
        text = valid[:pos] + valid[pos + 1:]
    else:
        text = valid[:pos] + char + valid[pos + 1:]
    check_text(SPACE, text)
    if text == valid:
        assert SPACE.parse(text).arch_str == valid


def check_array(space: CellSpace, arr: np.ndarray) -> None:
    try:
        arch = space.parse(arr)
    except SpaceError as err:
        assert "\n" not in str(err)
        return
    n = space.num_nodes
    if arr.ndim == 0:
        assert arch.index == int(arr)
    elif arr.shape == (space.num_decisions,):
        assert list(arch.decisions) == arr.tolist()
    elif arr.shape == (sum(space.num_choices),):
        np.testing.assert_array_equal(arch.one_hot, arr)
    elif arr.shape == (space.path_encoding_length,):
        np.testing.assert_array_equal(arch.path_encoding, arr)
    elif arr.shape == (n, n):
        np.testing.assert_array_equal(arch.matrix, arr)
    else:
        raise AssertionError(f"parsed an array of shape {arr.shape}")


SHAPES = st.sampled_from([(), (6,), (30,), (84,), (4, 4), (3,), (9,), (6,), (3, 3), (5,), (2, 6), (4, 4, 1)]) | \
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=8)
INT_DTYPES = st.sampled_from([np.int8, np.int64, np.uint8, np.uint64, np.int32])


@FAST
@given(st.data())
def test_random_integer_arrays(data):
    shape = data.draw(SHAPES)
    dtype = data.draw(INT_DTYPES)
    info = np.iinfo(dtype)
    elements = data.draw(st.sampled_from([st.integers(-1, 5), st.integers(0, 1), st.integers(int(info.min), int(info.max))]))
    if np.iinfo(dtype).min == 0:
        elements = elements.filter(lambda v: v >= 0)
    arr = data.draw(hnp.arrays(dtype, shape, elements=elements))
    check_array(SPACE, arr)
    check_array(TINY, arr)


@FAST
@given(st.data())
def test_random_float_and_bool_arrays(data):
    shape = data.draw(SHAPES)
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.bool_]))
    if dtype is np.bool_:
        arr = data.draw(hnp.arrays(dtype, shape))
    else:
        elements = st.sampled_from([0.0, 1.0, 2.0, -1.0, 4.0, 0.5, np.inf, -np.inf, np.nan, 1e30])
        arr = data.draw(hnp.arrays(dtype, shape, elements=elements))
    check_array(SPACE, arr)
    check_array(TINY, arr)


@FAST
@given(st.lists(st.one_of(st.integers(-2, 6), st.sampled_from(["none", "skip_connect", "nor_conv_3x3", "x"])),
                max_size=8))
def test_random_lists(values):
    try:
        arch = SPACE.parse(values)
    except SpaceError as err:
        assert "\n" not in str(err)
        return
    if all(isinstance(v, str) for v in values):
        assert arch.ops == values
    else:
        assert list(arch.decisions) == values


@FAST
@given(st.integers())
def test_random_integers(value):
    try:
        arch = SPACE.parse(value)
    except SpaceError as err:
        assert "out of range; valid: 0..15624" in str(err)
        return
    assert arch.index == value
    assert SPACE.parse(str(value)).index == value


@FAST
@given(st.data())
def test_random_near_valid_encodings(data):
    """Valid matrices, one-hots and path codes with a few entries changed."""
    arch = SPACE[data.draw(st.integers(0, len(SPACE) - 1))]
    kind = data.draw(st.sampled_from(["matrix", "one_hot", "path_encoding", "decisions"]))
    arr = np.array(getattr(arch, kind), dtype=data.draw(st.sampled_from([np.int64, np.float64, np.uint8])))
    for _ in range(data.draw(st.integers(0, 3))):
        pos = tuple(data.draw(st.integers(0, side - 1)) for side in arr.shape)
        value = data.draw(st.sampled_from([0, 1, 2, 4, 5, 255] + ([-1] if arr.dtype.kind != "u" else [])))
        arr[pos] = value
    check_array(SPACE, arr)


# ---------------------------------------------------------------- search: budgets, options, seeds, tables
@pytest.fixture(scope="module")
def bench(tiny_table):
    from nasbench.table import Benchmark

    return Benchmark.load(tiny_table)


def check_one_line(fn, *args, match: str, error: type[Exception] = ValueError, **kwargs) -> str:
    """``fn`` raises a one-line ``error`` whose message contains ``match`` (a regex)."""
    with pytest.raises(error) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message, repr(message)
    assert re.search(match, message), message
    return message


def search_run(bench, name="random", seed=0, seconds=1.0, max_evals=None, skip=False, **options):
    from nasbench.search import Budget, make_generators, make_strategy, registry, run_search

    strategy_rng, runner_rng = make_generators(seed)
    objectives = ["valid_accuracy", "params"] if registry.get(name).objective_mode == "multi" else None
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, objectives=objectives, **options)
    return run_search(strategy, bench, Budget(seconds, max_evals), runner_rng, skip_duplicates=skip, objectives=objectives)


def cli_search(table, *overrides: str) -> dict:
    """``nasbench-search`` in this process (the CLI's config and checks, without the subprocess)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register_search
    from nasbench.search.experiment import search

    register_search()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = OmegaConf.to_container(compose("search", overrides=[f"benchmark.path={table}", *overrides]), resolve=True)
    return search(cfg)


def test_infinite_budget_is_refused(bench, tiny_table):
    # skip_duplicates: without the fix the run ends (the space is exhausted) instead of hanging the test
    check_one_line(cli_search, tiny_table, "budget.seconds=inf", "skip_duplicates=true",
                   match=r"^budget\.seconds must be a finite number > 0, got inf$")
    check_one_line(search_run, bench, seconds=float("inf"), skip=True,
                   match="budget.seconds=inf never ends a search without budget.max_evals; give a finite budget.seconds")
    check_one_line(search_run, bench, max_evals=float("inf"), match="budget.max_evals must be a positive integer or null, got inf")
    assert search_run(bench, seconds=float("inf"), max_evals=3)["num_evals"] == 3  # bounded by evaluations: fine


@pytest.mark.parametrize("name, options, first_epoch", [("rea", {}, 2), ("hyperband", {"eta": 2}, 1)])
def test_budget_below_one_evaluation_is_an_error(bench, name, options, first_epoch):
    from nasbench.search import BudgetTooSmall

    assert issubclass(BudgetTooSmall, ValueError)
    cheapest = bench.optimum("train_time", epoch=first_epoch)
    check_one_line(
        search_run, bench, name, seconds=cheapest / 10, **options, error=BudgetTooSmall,
        match=rf"^budget\.seconds={cheapest / 10:g} ran out before the first evaluation: it costs [0-9.e-]+ simulated s "
              rf"\(epoch {first_epoch}; the cheapest architecture costs {cheapest:.3g} s\); raise budget\.seconds$",
    )


@pytest.mark.slow
def test_cli_budget_below_one_evaluation_exits_2_and_writes_nothing(tiny_table, tmp_path, cli):
    proc = cli("nasbench-search", "strategy=rea", f"benchmark.path={tiny_table}", "budget.seconds=0.001",
               f"hydra.run.dir={tmp_path}", timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: budget.seconds=0.001 ran out before the first evaluation")
    assert "Traceback" not in proc.stderr and not (tmp_path / "result.json").exists()


@pytest.mark.parametrize("controller", ["independent", "lstm"])
@pytest.mark.parametrize("hidden_size", [-1, 0, 2.5, "32", True, None])
def test_reinforce_hidden_size(bench, controller, hidden_size):
    check_one_line(search_run, bench, "reinforce", controller=controller, hidden_size=hidden_size,
                   match=rf"^hidden_size must be an integer >= 1, got {re.escape(repr(hidden_size))}$")


def float_options():
    """(strategy, option) for every float option of every strategy, table-based and one-shot."""
    from nasbench.search import registry

    return [(name, option) for name in registry.names()
            for option, default in registry.config(name).items() if isinstance(default, float)]


FLOAT_OPTIONS = float_options()


def test_float_options_are_found():
    assert ("reinforce", "learning_rate") in FLOAT_OPTIONS and ("rea", "crossover_prob") in FLOAT_OPTIONS
    assert ("darts", "lr") in FLOAT_OPTIONS and ("gdas", "tau_max") in FLOAT_OPTIONS


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 10**400], ids=["inf", "-inf", "nan", "10**400"])
@pytest.mark.parametrize("name, option", FLOAT_OPTIONS)
def test_float_options_must_be_finite(bench, name, option, value):
    from nasbench.search import registry
    from nasbench.search.oneshot import make_one_shot

    if registry.get(name).one_shot:
        check_one_line(make_one_shot, name, bench.space, 0, **{option: value},
                       match=rf"^strategy option {option} must be a finite number >=? 0, got ")
    else:
        check_one_line(search_run, bench, name, **{option: value}, match=rf"^{option} must be a (finite )?number")


def test_reinforce_learning_rate_inf_message(bench):
    check_one_line(search_run, bench, "reinforce", learning_rate=float("inf"),
                   match=r"^learning_rate must be a finite number > 0, got inf$")


def test_negative_seed_names_the_option(bench, tiny_table):
    from nasbench.search import make_generators
    from nasbench.search.oneshot import make_one_shot

    check_one_line(make_generators, -1, match=r"^seed must be an integer >= 0, got -1$")
    check_one_line(cli_search, tiny_table, "strategy=rea", "seed=-1", match=r"^seed must be an integer >= 0, got -1$")
    check_one_line(make_one_shot, "darts", bench.space, -1, match=r"^seed must be an integer >= 0, got -1$")
    check_one_line(make_one_shot, "spos", bench.space, 1.5, match=r"^seed must be an integer >= 0, got 1\.5$")


def test_search_on_a_partial_table_says_so(tiny_table, tmp_path):
    from nasbench.table import Benchmark, MissingEntryError
    from nasbench.table.store import read_table, write_table

    partial = read_table(tiny_table)
    partial.entries["done"][::2, :] = False  # every other class untrained: a random search meets one at once
    write_table(tmp_path / "partial.h5", partial)
    bench = Benchmark.load(tmp_path / "partial.h5")
    total = bench.done.size
    untrained = int((~bench.done.any(axis=1)).sum())
    check_one_line(
        search_run, bench, seconds=1e9, error=MissingEntryError,
        match=rf"^the table is partial: {untrained} of {len(bench.done)} classes have no trained seed \({bench.entries_done} of {total} "
              r"\(class, seed\) entries done\) and a search may propose any of them; use e\.g\. benchmark=blocks, or finish this "
              r"table with nasbench-build$",
    )


@pytest.mark.parametrize("entry, override, match", [
    ("search", "strategy=foo", r"^error: unknown strategy 'foo'; valid: asha, custom, darts, darts2, .*, rea, .*spos$"),
    ("search", "budget.secs=1", r"^error: Could not override 'budget\.secs'; Key 'secs' not in 'BudgetConfig'; valid keys: seconds, evaluations, max_evals$"),
    ("search", "budget.seconds=xyz", r"^error: Error merging override budget\.seconds=xyz; Value 'xyz' of type 'str' could not be converted to Float$"),
    ("search", "strategy.populaton_size=5", r"^error: Could not override 'strategy\.populaton_size'; Key 'populaton_size' is not in struct; valid keys: name$"),
    ("search", "seed=[1", r"^error: no viable alternative at input '\[1'; See https://hydra\.cc/\S+ for details$"),
    ("build", "shard=a", r"^error: Error merging override shard=a; Value 'a' of type 'str' could not be converted to Integer$"),
    ("compare", "strategies=random", r"^error: Error merging override strategies=random; .* strategies is a list: write "
                                     r"strategies=\[random\] \(quoted in a shell: 'strategies=\[random\]'\)$"),
    ("compare", "benchmark=nope", r"^error: In 'compare': Could not find 'benchmark/nope'; available options in 'benchmark': blocks, blocks_surrogate, surrogate, table$"),
    ("surrogate", "model.depth=3", r"^error: Could not override 'model\.depth'; Key 'model' not in 'SurrogateConfig'; valid keys: table, .*xgboost, progress$"),
    ("search", "space=tiny", r"^error: space is a config group of nasbench-build, not of this command; --help lists its groups$"),
    ("search", "+space=tiny", r"^error: space is a config group of nasbench-build, not of this command; --help lists its groups$"),
    ("build", "strategy=rea", r"^error: strategy is a config group of nasbench-search, not of this command; --help lists its groups$"),
])
def test_bad_hydra_override_is_one_line(entry, override, match, monkeypatch, cli):
    """A bad override exits 2 with one ``error:`` line naming the valid choices, as other bad input does."""
    import os

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    code, _, err = cli.inline(f"nasbench-{entry}", override)
    assert code == 2
    err = err.strip()
    assert len(err.splitlines()) == 1 and re.match(match, err), err
    assert "HYDRA_FULL_ERROR" not in os.environ


@pytest.mark.parametrize("group", ["surrogate", "blocks_surrogate"])
def test_ranking_refuses_a_surrogate_before_loading_it(group, monkeypatch, cli):
    import nasbench.search.experiment as experiment

    def heavy(cfg):
        raise AssertionError(f"loaded {cfg}")

    monkeypatch.setattr(experiment, "load_benchmark", heavy)
    code, _, err = cli.inline("nasbench-ranking", f"benchmark={group}")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert re.match(r"^error: nasbench-ranking needs a table benchmark \(benchmark=table or benchmark=blocks\), "
                    r"got kind 'surrogate'", err.strip()), err


@pytest.mark.parametrize("entry, groups", [
    ("search", ["benchmark", "launcher", "strategy"]),
    ("build", ["dataset", "launcher", "space", "train"]),
    ("compare", ["benchmark"]),
    ("ranking", ["benchmark"]),
    ("surrogate", []),
])
def test_help_lists_only_the_commands_own_config_groups(entry, groups, cli):
    code, out, _ = cli.inline(f"nasbench-{entry}", "--help")
    assert code == 0
    assert out.startswith(f"nasbench-{entry} is powered by Hydra")
    section = out.split("== Configuration groups ==")[1].split("== Config ==")[0].strip().splitlines()[1:]
    assert [line.split(":")[0] for line in section if line.strip() and line != "(none)"] == groups, out


@pytest.mark.slow
@pytest.mark.parametrize("entry, args", [
    ("search", ["budget.max_evals=1"]),
    ("search", ["-m", "budget.max_evals=1", "launcher=basic"]),
    ("build", ["space=tiny", "dataset=tiny", "train=quick", "output=t.h5"]),
])
def test_an_output_folder_that_cannot_be_created_is_one_line(entry, args, tiny_table, tmp_path, cli):
    """Hydra's own run or sweep folder, under the working directory (as a read-only one would be) or given."""
    (tmp_path / "outputs").write_text("a file where the default output folders would go\n")
    (tmp_path / "multirun").write_text("and where the default sweep folders would go\n")
    for extra in ([], ["hydra.run.dir=outputs/x", "hydra.sweep.dir=outputs/x"]):
        result = cli(f"nasbench-{entry}", *args,
                     f"benchmark.path={tiny_table}" if entry == "search" else "progress=false", *extra, cwd=tmp_path,
                     timeout=300)
        assert result.returncode == 2, result.stderr
        assert re.match(r"^error: cannot write \S*(outputs|multirun)\S*: Not a directory; give a writable folder with "
                        r"hydra\.run\.dir=DIR \(hydra\.sweep\.dir=DIR with -m\)$", result.stderr.strip()), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multirun", "outputs"]


def test_output_into_a_closed_pipe_ends_quietly():
    """``nasbench-search --help | head -1``: the reader stopping early is not an error of the command."""
    proc = subprocess.Popen([sys.executable, "-m", "nasbench.cli.search", "--help"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command has imported anything: its first write finds no reader
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0 and err == ""


BUILD_ONE = ["space=tiny", "dataset=tiny", "train=quick", "max_entries=1", "progress=false"]


def device_error(cli, entry: str, device: str, tmp_path, monkeypatch) -> str:
    """The one ``error:`` line (exit status 2) of ``entry`` given ``device``."""
    monkeypatch.chdir(tmp_path)  # Hydra's run folder
    args = (["--device", device, "-n", "1"] if entry == "verify"
            else [*BUILD_ONE, f"output={tmp_path / 'x.h5'}", f"device={device}"])
    code, _, err = cli.inline(f"nasbench-{entry}", *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert not (tmp_path / "x.h5").exists()
    return err.strip()


@pytest.mark.parametrize("entry", ["verify", "build"])
@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:", "cuda:x", "cpu:0", ""])
def test_an_unknown_device_is_one_line(entry, device, cli, tmp_path, monkeypatch):
    err = device_error(cli, entry, device, tmp_path, monkeypatch)
    assert err == f"error: unknown device {device!r}; valid: cpu, cuda, cuda:N (N the index of a CUDA device)"


@pytest.mark.parametrize("entry", ["verify", "build"])
def test_a_cuda_device_this_machine_lacks_is_one_line(entry, cli, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    for device in ("cuda", "cuda:0"):
        err = device_error(cli, entry, device, tmp_path, monkeypatch)
        assert err == f"error: device={device} asked for, but torch sees no CUDA device; valid here: cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    err = device_error(cli, entry, "cuda:2", tmp_path, monkeypatch)
    assert err == "error: device=cuda:2 asked for, but torch sees 2 CUDA devices; valid here: cpu, cuda, cuda:0, cuda:1"


def test_an_unknown_device_is_refused_before_torch_loads(cli):
    code = """
import sys
from nasbench.cli.verify import main
try:
    main(["--device", "gpu", "-n", "1"])
except SystemExit as exit_:
    assert exit_.code == 2, exit_.code
assert "torch" not in sys.modules, "torch was imported"
"""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "error: unknown device 'gpu'; valid: cpu, cuda, cuda:N (N the index of a CUDA device)"


def refused_out(cli, entry: str, *args) -> str:
    """The one ``error:`` line (exit status 2) of ``entry`` run in this process."""
    code, _, err = cli.inline(f"nasbench-{entry}", *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Errno" not in err, err
    return err.strip()


def a_file(tmp_path):
    path = tmp_path / "tiny.h5"
    path.write_text("a file where a report folder was asked for\n")
    return path


def test_table_report_refuses_an_out_that_is_a_file(tiny_table, tmp_path, cli):
    file = a_file(tmp_path)
    assert refused_out(cli, "table-report", "--table", tiny_table, "--out", file) == (
        f"error: --out={file} is a file, not a folder; give a folder path")
    assert refused_out(cli, "table-report", "--table", tiny_table, "--out", file / "sub") == (
        f"error: --out={file / 'sub'} lies under {file}, a file, not a folder; give a folder path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.h5"]


def test_report_refuses_an_out_that_is_a_file(tiny_table, tmp_path, cli):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register_search
    from nasbench.search.experiment import search, write_json

    register_search()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("search", overrides=[f"benchmark.path={tiny_table}", "budget.seconds=1"])
    write_json(tmp_path / "sweep" / "0" / "result.json", search(OmegaConf.to_container(cfg, resolve=True)))
    file = a_file(tmp_path)
    assert refused_out(cli, "report", tmp_path / "sweep", "--out", file) == (
        f"error: --out={file} is a file, not a folder; give a folder path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep", "tiny.h5"]


@pytest.mark.parametrize("option", ["out", "runs_dir"])
def test_compare_refuses_an_out_that_is_a_file_before_any_run(option, tiny_table, tmp_path, cli):
    file = a_file(tmp_path)
    folders = {"out": tmp_path / "rep", "runs_dir": tmp_path / "runs", option: file}
    for table in ([f"benchmark.path={tiny_table}"], [f"tables=[{tiny_table}]"]):
        err = refused_out(cli, "compare", *table, "strategies=[random]", "seeds=2", "skip_duplicates=[false]",
                          "budget.seconds=1", "progress=false", *(f"{k}={v}" for k, v in folders.items()))
        assert err == f"error: {option}={file} is a file, not a folder; give a folder path"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.h5"]  # no run was made
