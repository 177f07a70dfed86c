"""The NATS-Bench adapter against nats_bench itself: its structure type, and its own API as the oracle.

The oracle is a real ``nats_bench.NATStopology`` built from the table's numbers, laid out as
NATS-Bench lays out cifar100 (train, x-valid, x-test and ori-test = valid + test, one
evaluation per epoch, the documented estimate of evaluation times). Every method the adapter
shares with it must return the same keys and values.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench.compat.nats import LATENCY_BATCH, SET_NAMES, create

ROOT = Path(__file__).resolve().parents[1]
ORACLE_DATASET = "cifar100"  # NATS-Bench's dataset with the table's split layout


@pytest.fixture(scope="module")
def api():
    return create()


@pytest.fixture(scope="module")
def nats_bench():
    """The real library; only the tests that compare against it need it."""
    return pytest.importorskip("nats_bench", reason='needs nats_bench: pip install "nasbench[nats]"')


def nats_oracle(api, indices):
    """A real NATS-Bench API over the table's numbers for ``indices``."""
    import nats_bench
    from nats_bench.api_utils import ArchResults, ResultsCount

    bench = api.benchmark
    epochs = bench.num_epochs
    n_valid, n_test = api._n_valid, api._n_test
    splits = {"x-valid": ("valid", n_valid), "x-test": ("test", n_test), "ori-test": (None, n_valid + n_test)}
    arch2infos = {}
    for index in indices:
        results = ArchResults(index, api[index])
        for seed in bench.seeds:
            curve = {m: bench.curve(index, m, seed=seed) for m in (
                "train_accuracy", "train_loss", "valid_accuracy", "valid_loss", "test_accuracy", "test_loss", "train_time")}
            query = bench.query(index, seed=seed)
            entry = ResultsCount(ORACLE_DATASET, None, None, None, query.params / 1e6, query.flops / 1e6,
                                 {"arch_str": api[index]}, seed, epochs, [query.latency_b256])
            train_times = np.diff(curve["train_time"], prepend=0.0)
            entry.update_train_info(
                {e: 100 * curve["train_accuracy"][e] for e in range(epochs)}, None,
                {e: curve["train_loss"][e] for e in range(epochs)}, {e: train_times[e] for e in range(epochs)},
            )
            accs, losses, times = {}, {}, {}
            for name, (split, examples) in splits.items():
                for e in range(epochs):
                    if split is None:  # the valid and test splits together
                        acc = (curve["valid_accuracy"][e] * n_valid + curve["test_accuracy"][e] * n_test) / (n_valid + n_test)
                        loss = (curve["valid_loss"][e] * n_valid + curve["test_loss"][e] * n_test) / (n_valid + n_test)
                    else:
                        acc, loss = curve[f"{split}_accuracy"][e], curve[f"{split}_loss"][e]
                    accs[f"{name}@{e}"], losses[f"{name}@{e}"] = 100 * acc, loss
                    times[f"{name}@{e}"] = query.latency_b256 * examples / LATENCY_BATCH
            entry.update_eval(accs, losses, times)
            results.update(ORACLE_DATASET, seed, entry)
        arch2infos[index] = {str(epochs): results.state_dict()}
    data = {"meta_archs": list(api.meta_archs), "arch2infos": arch2infos, "evaluated_indexes": list(indices)}
    return nats_bench.create(data, "tss", fast_mode=False, verbose=False)


def assert_same(ours: dict, theirs: dict):
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-12), key


def test_every_arch_string_and_structure_finds_its_index(api, nats_bench):
    from nats_bench.genotype_utils import topology_str2structure

    assert len(api) == 15625
    for index in range(len(api)):
        structure = topology_str2structure(api[index])
        assert structure.tostr() == api[index] == api.arch(index)
        assert api.query_index_by_arch(structure) == index
        assert api.query_index_by_arch(api[index]) == index
    assert api.query_index_by_arch(api.benchmark.space.parse(1234)) == 1234
    assert api.query_index_by_arch("|nor_conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|") == -1


def test_every_key_matches_nats_bench(api, nats_bench):
    from nats_bench.genotype_utils import topology_str2structure

    rng = np.random.default_rng(0)
    indices = sorted(set(rng.choice(len(api), size=30, replace=False).tolist()) | {0, 15624})
    oracle = nats_oracle(api, indices)
    for index in indices:
        structure = topology_str2structure(api[index])
        for iepoch in (None, 0, 5):
            for is_random in (False, 0, 1, 2):
                assert_same(api.get_more_info(structure, "mnist1d", iepoch=iepoch, hp="12", is_random=is_random),
                            oracle.get_more_info(index, ORACLE_DATASET, iepoch=iepoch, hp="12", is_random=is_random))
        assert_same(api.get_cost_info(index, "mnist1d", hp="12"), oracle.get_cost_info(index, ORACLE_DATASET, hp="12"))
        assert api.get_latency(index, "mnist1d") == pytest.approx(oracle.get_latency(index, ORACLE_DATASET))
        for iepoch in (None, 3):  # the same random seed is drawn from the same state of Python's random
            random.seed(index)
            theirs = oracle.simulate_train_eval(structure, ORACLE_DATASET, iepoch=iepoch, hp="12")
            random.seed(index)
            ours = api.simulate_train_eval(structure, "mnist1d", iepoch=iepoch, hp="12")
            assert ours == pytest.approx(theirs, rel=1e-9)
        random.seed(index)
        ours = api.get_more_info(index, "mnist1d")  # is_random=True
        random.seed(index)
        assert_same(ours, oracle.get_more_info(index, ORACLE_DATASET))


def test_find_best_matches_nats_bench_on_a_whole_table(nats_bench, request):
    api = create(request.getfixturevalue("tiny_table"))  # built only where nats_bench is installed
    oracle = nats_oracle(api, range(len(api)))
    hp = api.avaliable_hps[0]
    costs = [api.get_cost_info(i, api.dataset, hp=hp) for i in range(len(api))]
    param_bound = float(np.median([c["params"] for c in costs]))
    flop_bound = float(np.median([c["flops"] for c in costs]))
    for metric_on_set in SET_NAMES:
        for bounds in ({}, {"param_max": param_bound}, {"flop_max": flop_bound}, {"param_max": 0.0}):
            ours = api.find_best(api.dataset, metric_on_set, hp=hp, **bounds)
            theirs = oracle.find_best(ORACLE_DATASET, metric_on_set, hp=hp, enforce_all=False, **bounds)
            assert ours[0] == theirs[0], (metric_on_set, bounds)
            assert ours[1] == (None if theirs[1] is None else pytest.approx(theirs[1], rel=1e-9)), (metric_on_set, bounds)
    assert api.find_best(api.dataset, "valid", param_max=0.0, hp=hp) == (-1, None)


def test_find_best_on_the_flagship_is_the_tables_best_mean(api):
    index, accuracy = api.find_best("mnist1d", "test")
    best = api.benchmark.best("test_accuracy")
    assert accuracy == pytest.approx(100 * best.test_accuracy)
    assert api.benchmark.class_ids[index] == best.class_id
    assert index == int(np.flatnonzero(api.benchmark.class_ids == best.class_id)[0])  # the lowest index of the class


def test_simulated_time_adds_up(api):
    api.reset_time()
    assert api.used_time == 0
    total = 0.0
    for index in (5, 500, 5000):
        random.seed(index)
        _, latency, cost, used = api.simulate_train_eval(index, "mnist1d")
        random.seed(index)
        info = api.get_more_info(index, "mnist1d")  # the same random seed
        assert cost == pytest.approx(info["train-all-time"] + info["valid-per-time"])
        assert latency == api.get_cost_info(index, "mnist1d")["latency"]
        total += cost
        assert used == pytest.approx(total) and api.used_time == used
    api.simulate_train_eval(7, "mnist1d", account_time=False)
    assert api.used_time == pytest.approx(total)
    api.reset_time()
    assert api.used_time == 0


def test_units_and_mapping(api):
    info = api.get_more_info(1234, "mnist1d", iepoch=3, is_random=1)
    row = api.benchmark.query(1234, epoch=4, seed=1)
    assert info["valid-accuracy"] == pytest.approx(100 * row.valid_accuracy)
    assert info["test-loss"] == pytest.approx(row.test_loss)
    assert info["train-all-time"] == pytest.approx(row.train_time)
    assert info["valtest-accuracy"] == pytest.approx(50 * (row.valid_accuracy + row.test_accuracy))  # 5,000 + 5,000
    costs = api.get_cost_info(1234, "mnist1d")
    assert costs["params"] == pytest.approx(row.params / 1e6) and costs["flops"] == pytest.approx(row.flops / 1e6)
    assert api.full_train_epochs == 12 and api.avaliable_hps == ["12"] and api.dataset == "mnist1d"
    assert api.get_more_info(1234, "mnist1d", hp=12, is_random=False) == api.get_more_info(1234, "mnist1d", is_random=False)


@pytest.mark.parametrize("call, expected", [
    (lambda api: api.get_more_info(1, "cifar10"), "valid: mnist1d"),
    (lambda api: api.get_cost_info(1, "ImageNet16-120"), "valid: mnist1d"),
    (lambda api: api.get_more_info(1, "mnist1d", hp="200"), "valid: '12'"),
    (lambda api: api.simulate_train_eval(1, "mnist1d", hp="90"), "valid: '12'"),
    (lambda api: api.get_more_info(1, "mnist1d", iepoch=12), "valid: 0..11"),
    (lambda api: api.get_more_info(1, "mnist1d", is_random=777), "0, 1, 2"),
    (lambda api: api.get_more_info(15625, "mnist1d"), "valid: 0..15624"),
    (lambda api: api.get_more_info("|none~0|", "mnist1d"), "valid: an index 0..15624"),
    (lambda api: api.arch(-1), "valid: 0..15624"),
    (lambda api: api.find_best("mnist1d", "ori-valid"), "valid: train, valid, x-valid, test, x-test, ori-test"),
    (lambda api: api.find_best("mnist1d", "valid", param_max="1"), "must be a number"),
    (lambda api: create(None, "sss"), "valid: tss, topology"),
    (lambda api: create(None, "nas-bench-201"), "valid: tss, topology"),
    (lambda api: create("no-such-table.h5"), "shipped tables: blocks-mnist1d, nb201-mnist1d"),
])
def test_bad_input_is_a_one_line_value_error(api, call, expected):
    with pytest.raises(ValueError) as err:
        call(api)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_indexing_like_nats_bench(api):
    assert api[-1] == api.arch(15624)
    with pytest.raises(IndexError, match="valid: 0..15624"):
        api[15625]
    assert sum(1 for _ in api) == 15625  # iteration stops at the end, as over a list
    random.seed(3)
    assert 0 <= api.random() < 15625


def test_block_table(tmp_path):
    api = create("blocks-mnist1d.h5")
    assert len(api) == 256 and api.arch(99) == "res3-incep-skip-sep3"
    assert api.query_index_by_arch("res3-incep-skip-sep3") == 99
    assert set(api.get_more_info(99, "mnist1d")) >= {"train-loss", "valid-accuracy", "test-all-time"}



@pytest.mark.slow
def test_regularized_evolution_example_runs_on_the_default_table():
    script = ROOT / "examples" / "nats_regularized_evolution.py"
    assert "from nasbench.compat.nats import create" in script.read_text()
    out = subprocess.run(
        [sys.executable, str(script), "--dataset", "mnist1d", "--time_budget", "300", "--runs", "3"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "3 runs" in out and "mean regret" in out


def test_a_table_that_evaluated_some_epochs_answers_only_there(sparse_table):
    sparse = create(str(sparse_table))
    for iepoch in (0, 2, None):
        assert np.isfinite(sparse.get_more_info(3, sparse.dataset, iepoch=iepoch, hp="3")["valid-accuracy"])
    with pytest.raises(ValueError, match=r"^iepoch 1 was not evaluated: .* valid iepoch: 0, 2$"):
        sparse.get_more_info(3, sparse.dataset, iepoch=1, hp="3")
