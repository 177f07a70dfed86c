"""The block-sequence space: encodings, classes, costs against PyTorch, bad input, and a
tiny table built, queried and searched end to end.

Expected values come from small references written here from the documented
definitions (``-``-joined names, mixed-radix indices, skips dropped per stage).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from nasbench.search import Budget, make_generators, make_strategy, registry, run_search
from nasbench.space import BlockSpace, SpaceError, space_from_config
from nasbench.space.blocks import KNOWN_BLOCKS

CONF = Path(__file__).resolve().parents[1] / "conf" / "space"
TINY = dict(positions=2, blocks=["skip", "res3", "sep3"], reduce_after=[2], channels=[4, 8])  # = conf/space/blocks_tiny.yaml
FULL = dict(blocks=list(KNOWN_BLOCKS))  # all five blocks, 625 sequences
ODD = dict(positions=3, blocks=list(KNOWN_BLOCKS), reduce_after=[0, 3], channels=[3, 5, 6],
           input_length=37, in_channels=2, num_classes=3)  # empty first and last stage, odd lengths
RESIDUAL = dict(reduction="residual")  # NAS-Bench-201's residual reduction between stages


@pytest.fixture(scope="module")
def space() -> BlockSpace:
    return BlockSpace()


@pytest.fixture(scope="module")
def tiny() -> BlockSpace:
    return BlockSpace(**TINY)


def ref_key(names: list[str], stages: list[list[int]]) -> tuple:
    return tuple(tuple(names[p] for p in stage if names[p] != "skip") for stage in stages)


# ---------------------------------------------------------------- size, order, encodings
def test_size_and_stages(space, tiny):
    assert (len(space), space.num_choices, space.num_classes) == (256, (4,) * 4, 208)
    assert space.stage_positions == [[0], [1, 2], [3]]
    assert (len(tiny), tiny.num_classes, tiny.stage_positions) == (9, 7, [[0, 1], []])
    full = BlockSpace(**FULL)
    assert (len(full), full.num_classes) == (625, 5 * (1 + 4 + 16) * 5)


@pytest.mark.parametrize("kwargs", [{}, FULL, TINY, ODD], ids=["default", "full", "tiny", "odd"])
def test_every_encoding_round_trips_for_all(kwargs):
    space = BlockSpace(**kwargs)
    k, names = len(space.blocks), space.blocks
    for index, decisions in enumerate(itertools.product(range(k), repeat=space.positions)):
        blocks = [names[d] for d in decisions]
        text = "-".join(blocks)
        expected_index = sum(d * k ** (space.positions - 1 - p) for p, d in enumerate(decisions))
        assert index == expected_index
        arch = space[index]
        assert arch.decisions == decisions and arch.blocks == blocks and arch.arch_str == text
        one_hot = np.zeros(space.positions * k, dtype=np.float32)
        one_hot[np.arange(space.positions) * k + np.array(decisions)] = 1
        np.testing.assert_array_equal(arch.one_hot, one_hot)
        for encoding in (index, str(index), text, blocks, tuple(blocks), np.array(blocks), list(decisions),
                         np.array(decisions), one_hot, one_hot.astype(int), arch):
            assert space.parse(encoding).index == index, encoding
    np.testing.assert_array_equal(space.index_of(space.all_decisions), np.arange(len(space)))


def test_encodings_listed(space):
    assert {"arch_str", "blocks", "decisions", "index", "one_hot"} <= set(space.encodings())


# ---------------------------------------------------------------- classes
@pytest.mark.parametrize("kwargs", [{}, FULL, TINY, ODD], ids=["default", "full", "tiny", "odd"])
def test_classes_match_reference(kwargs):
    space = BlockSpace(**kwargs)
    keys = [ref_key(a.blocks, space.stage_positions) for a in space]
    first: dict[tuple, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    ids = space.class_ids()
    assert space.num_classes == len(first)
    for index, key in enumerate(keys):
        assert ids[index] == ids[first[key]]
    # one id per key: different keys never share a class
    assert len({(ids[i], keys[i]) for i in range(len(space))}) == len(first)
    # representative: lowest index of the class (members have equal costs)
    params = space.costs(space.all_decisions)["params"]
    for c, rep in enumerate(space.representatives()):
        members = np.flatnonzero(ids == c)
        assert rep == members.min() and len(set(params[members].tolist())) == 1
    assert space.is_connected().all()


def test_hand_checked_classes(space, tiny):
    same = lambda a, b: space.parse(a).class_id == space.parse(b).class_id  # noqa: E731
    assert same("res3-skip-incep-sep3", "res3-incep-skip-sep3")  # skip moves within stage 1
    assert same("skip-skip-skip-skip", "skip-skip-skip-skip")
    assert not same("res3-skip-skip-skip", "skip-res3-skip-skip")  # a skip never crosses a reduction
    assert not same("skip-skip-res3-skip", "skip-skip-skip-res3")
    assert not same("skip-res3-incep-skip", "skip-incep-res3-skip")  # block order matters
    assert not same("skip-res3-res3-skip", "skip-res3-skip-skip")  # so does repetition
    members = np.flatnonzero(space.class_ids() == space.parse("skip-skip-skip-skip").class_id)
    assert members.tolist() == [0]  # the all-skip network is its own class
    assert space[space.representatives()[space.parse("res3-incep-skip-sep3").class_id]].arch_str == "res3-skip-incep-sep3"
    t = lambda a: tiny.parse(a).class_id  # noqa: E731
    assert t("skip-res3") == t("res3-skip") != t("skip-sep3") == t("sep3-skip")
    assert len({t("res3-sep3"), t("sep3-res3"), t("res3-res3"), t("skip-skip")}) == 4


def test_all_skip_network_depends_on_input(space):
    import torch

    model = space.build_model(space.parse("skip-skip-skip-skip").decisions).eval()
    with torch.no_grad():
        a, b = model(torch.randn(4, 40)), model(torch.randn(4, 40))
    assert not torch.allclose(a, b)


# ---------------------------------------------------------------- costs and model
def torch_counts(space: BlockSpace, decisions, batch: int = 3) -> tuple[int, float]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = space.build_model(decisions)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(batch, space.in_channels, space.input_length))
    return params, counter.get_total_flops() / 2 / batch


@pytest.mark.parametrize(
    "kwargs, n",
    [(TINY, 9), ({}, 16), (FULL, 16), (ODD, 12), (RESIDUAL, 16), ({**ODD, **RESIDUAL}, 12)],
    ids=["tiny", "default", "full", "odd", "residual", "odd-residual"],
)
def test_costs_equal_pytorch_counts(kwargs, n):
    import torch

    torch.set_num_threads(1)
    space = BlockSpace(**kwargs)
    if n >= len(space):
        picks = list(range(len(space)))
    else:
        picks = [0, len(space) - 1] + np.random.default_rng(0).choice(len(space), n - 2, replace=False).tolist()
    batch = space.costs(space.all_decisions[picks])
    assert batch["params"].dtype == batch["flops"].dtype == np.int64
    for k, index in enumerate(picks):
        arch = space[index]
        costs = space.costs(arch.decisions)
        assert isinstance(costs["params"], int) and isinstance(costs["flops"], int)
        assert (costs["params"], costs["flops"]) == (batch["params"][k], batch["flops"][k])
        assert (costs["params"], costs["flops"]) == torch_counts(space, arch.decisions), arch.arch_str


def test_every_block_is_counted():
    # each block of the full menu, alone in stage 1, against PyTorch
    space = BlockSpace(**FULL)
    base = space.costs(space.parse("skip-skip-skip-skip").decisions)
    for name in KNOWN_BLOCKS[1:]:
        arch = space.parse(f"skip-{name}-skip-skip")
        costs = space.costs(arch.decisions)
        assert costs["params"] > base["params"] and costs["flops"] > base["flops"]
        assert (costs["params"], costs["flops"]) == torch_counts(space, arch.decisions), name


@pytest.mark.parametrize("kwargs", [{}, TINY, ODD, RESIDUAL], ids=["default", "tiny", "odd", "residual"])
def test_forward_shapes(kwargs):
    import torch

    space = BlockSpace(**kwargs)
    torch.manual_seed(0)
    model = space.build_model(space[len(space) - 1].decisions).eval()
    x = torch.randn(5, space.in_channels, space.input_length)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (5, space.num_classes_out) and torch.isfinite(out).all()
        if space.in_channels == 1:
            torch.testing.assert_close(model(x[:, 0]), out)
    model.train()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_features(space):
    features = space.features(space.all_decisions)
    names = space.feature_names()
    assert features.shape == (len(space), len(names)) == (len(space), 16 + 2 + 4) and features.dtype == np.float32
    np.testing.assert_array_equal(features[:, :16], space.one_hot(space.all_decisions))
    costs = space.costs(space.all_decisions)
    np.testing.assert_allclose(features[:, names.index("log10_flops")], np.log10(costs["flops"]), rtol=1e-6)
    row = space.features(space.parse("res3-incep-skip-res3").decisions)[0]
    assert [row[names.index(f"count_{b}")] for b in space.blocks] == [1, 2, 1, 0]


@pytest.mark.slow
def test_import_needs_no_torch():
    code = "import sys, nasbench.space.blocks, nasbench; nasbench.BlockSpace(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- configs
def test_config_round_trip_and_yaml(space, tiny):
    for s in (space, tiny, BlockSpace(**ODD)):
        assert space_from_config(s.config()) == s
    assert space_from_config(yaml.safe_load((CONF / "blocks.yaml").read_text())) == space
    assert space_from_config(yaml.safe_load((CONF / "blocks_tiny.yaml").read_text())) == tiny
    assert space != tiny and space.signature != BlockSpace(**FULL).signature
    import nasbench

    assert nasbench.BlockSpace is BlockSpace


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "value, match",
    [
        ("res3-incep-skip-res9", r"unknown block 'res9' at position 3 .*valid: skip, res3, incep, sep3"),
        ("res3-incep-skip-res5", r"unknown block 'res5' at position 3 .*valid: skip, res3, incep, sep3"),
        ("RES3-incep-skip-sep3", r"unknown block 'RES3' at position 0"),
        ("res3-incep-skip", r"has 3 blocks, expected 4 separated by '-', e.g. 'skip-res3-incep-sep3'"),
        ("res3-incep-skip-sep3-res3", r"has 5 blocks, expected 4"),
        ("res3--skip-sep3", r"unknown block '' at position 1"),
        ("res3-incep-skip-sep3-", r"has 5 blocks, expected 4"),
        ("res3 incep skip sep3", r"has 1 blocks, expected 4"),
        ("res3_incep_skip_sep3", r"has 1 blocks, expected 4"),
        ("", r"has 1 blocks, expected 4"),
        ("res3-incep-skip-sep3\n-x", r"has 5 blocks"),
        (["res3", "incep", "skip", "res9"], r"unknown option 'res9' at position 3; valid: skip, res3, incep, sep3"),
        (["res3", "incep", "skip"], r"length 3 matches none of this space's: \(4,\) option names or indices, \(16,\) one-hot"),
        ([0, 1, 2, 4], r"decision 3 = 4 out of range; valid: 0..3"),
        ([0, 1, 2, -1], r"out of range; valid: 0..3"),
        ([0.5, 1, 2, 3], r"whole numbers"),
        (256, r"index 256 out of range; valid: 0..255"),
        (-1, r"out of range; valid: 0..255"),
        (1.0, r"must be an integer"),
        (True, r"cannot be a bool"),
        (None, r"cannot read an architecture from NoneType; valid encodings: arch_str, blocks"),
        ({"a": 1}, r"cannot read an architecture from dict"),
        (np.zeros(16), r"one-hot block of decision 0 .* must hold exactly one 1, holds 0"),
        (np.full(16, 2), r"one-hot entries must be 0 or 1"),
        (np.zeros((4, 4), dtype=int), r"array of shape \(4, 4\)"),
    ],
)
def test_bad_encodings(space, value, match):
    with pytest.raises(SpaceError, match=match) as info:
        space.parse(value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_bad_string_direct_and_foreign_arch(space, tiny):
    with pytest.raises(SpaceError, match="arch string must be a str like 'skip-res3-incep-sep3'"):
        space.from_string(3)
    with pytest.raises(SpaceError, match="belongs to another space"):
        space.parse(tiny[0])
    with pytest.raises(SpaceError, match="expected 2 blocks|has 4 blocks, expected 2"):
        tiny.parse("skip-res3-skip-res3")
    for call in (space.costs, space.build_model, space.to_blocks, space.features):
        with pytest.raises(SpaceError):
            call([0, 1, 2, 9])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(blocks=["skip", "res7"]), r"unknown block 'res7'; valid: skip, res3, res5, incep, sep3"),
        (dict(blocks=["res3"]), r"at least 2 distinct"),
        (dict(blocks=["res3", "res3"]), r"at least 2 distinct"),
        (dict(blocks="res3"), r"blocks must be a list"),
        (dict(positions=0), r"positions must be an integer 1..8"),
        (dict(positions=2.0), r"positions must be an integer"),
        (dict(reduce_after=[3, 1]), r"non-decreasing position count in 0..4 per reduction \(2 for channels \[8, 16, 32\]\)"),
        (dict(reduce_after=[1]), r"\(2 for channels"),
        (dict(reduce_after=[1, 5]), r"reduce_after must be an integer 0..4"),
        (dict(channels=[]), r"channels must be a non-empty list"),
        (dict(channels=[8, 0, 32]), r"channels must be an integer >= 1"),
        (dict(input_length=3), r"input_length must be an integer >= 4"),
        (dict(reduction="conv"), r"unknown reduction 'conv'; valid: pool, residual"),
    ],
)
def test_bad_constructor(kwargs, match):
    with pytest.raises(SpaceError, match=match):
        BlockSpace(**kwargs)


def test_bad_config():
    with pytest.raises(SpaceError, match="bad blocks space option 'ops'; valid: positions, blocks, reduce_after"):
        space_from_config({"kind": "blocks", "ops": ["skip"]})
    with pytest.raises(SpaceError, match="unknown space kind 'block'; valid: cell, blocks"):
        space_from_config({"kind": "block"})


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def tiny_block_table(tmp_path_factory, tiny) -> Path:
    from nasbench.train.build import run_build
    from nasbench.train.data import DatasetConfig
    from nasbench.train.recipe import Recipe

    return run_build(
        space=tiny,
        recipe=Recipe(epochs=2, batch_size=128, latency_repeats=2),
        dataset=DatasetConfig(n_train=400, n_valid=300, n_test=300),
        seeds=[0],
        output=tmp_path_factory.mktemp("tables") / "b.h5",
        workers=0,
        progress=False,
        log=lambda _: None,
    )


def test_tiny_table_builds_and_answers_queries(tiny_block_table, tiny):
    from nasbench.table import Benchmark

    bench = Benchmark.load(tiny_block_table)
    assert bench.space == tiny and bench.complete and bench.num_classes == 7 and len(bench) == 9
    by_list, by_str = bench.query(["res3", "skip"]), bench.query("res3-skip")
    assert by_list.arch_str == by_str.arch_str == "res3-skip" and by_list.index == tiny.parse("res3-skip").index
    # the two members of a class return the class's numbers, their own costs
    other = bench.query("skip-res3")
    assert other.class_id == by_str.class_id and other.valid_accuracy == by_str.valid_accuracy
    assert 0 <= by_str.valid_accuracy <= 1 and by_str.train_time > 0
    assert (by_str.params, by_str.flops) == tuple(tiny.costs(tiny.parse("res3-skip").decisions).values())
    np.testing.assert_array_equal(bench.class_ids, tiny.class_ids())


@pytest.mark.parametrize("name, options", [(n, {}) for n in sorted(registry.classes())] + [("reinforce", {"controller": "lstm"})])
def test_every_strategy_runs_on_a_block_table(tiny_block_table, name, options):
    from nasbench.table import Benchmark

    bench = Benchmark.load(tiny_block_table)
    strategy_rng, runner_rng = make_generators(0)
    # multi-objective strategies need objectives; nothing depends on the space
    multi = registry.get(name).objective_mode != "single"
    extra = {"objectives": ["valid_accuracy", "params"]} if multi else {}
    strategy = make_strategy(name, bench.space, strategy_rng, bench.num_epochs, **extra, **options)
    result = run_search(strategy, bench, Budget(1e9, max_evals=15), runner_rng, **extra)
    rows = result["trajectory"]
    assert 0 < result["num_evals"] == len(rows) <= 15
    assert all(r["arch_str"] == bench.space[r["index"]].arch_str for r in rows)
    assert all(r["regret"] >= -1e-12 for r in rows)
