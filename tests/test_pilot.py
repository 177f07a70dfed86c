"""The pilot: a stratified class sample, its build, and the candidate comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import build_tiny, tiny_space

from nasbench.report.pilot import random_search_regret, stratified_sample, weighted_quantile, write_pilot_report

TINY_ANCHORS = {"all-skip": "|skip_connect~0|+|skip_connect~0|skip_connect~1|",
                "all-conv3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"}


def test_sample_is_stratified_weighted_and_holds_the_anchors(tiny_table):
    space = tiny_space()
    sample = stratified_sample(tiny_table, size=6, top_share=0.5, strata=3, anchors=TINY_ANCHORS)
    drawn = sample[sample["weight"] > 0]
    assert len(drawn) == 6 and drawn["class_id"].is_unique
    assert (drawn["stratum"] == 2).sum() == 3  # the top stratum gets top_share of the sample
    # each drawn class stands for its class size x its stratum's classes per draw: the weights estimate every cell
    sizes = np.bincount(space.class_ids(), minlength=space.num_classes)
    assert drawn["class_weight"].sum() == pytest.approx(space.num_classes)  # each stratum's classes, exactly
    assert drawn["weight"].sum() == pytest.approx(len(space))  # and its cells
    assert np.allclose(drawn["weight"] / sizes[drawn["class_id"]] / drawn["class_weight"],
                       (drawn["weight"] / sizes[drawn["class_id"]] / drawn["class_weight"]).groupby(drawn["stratum"]).transform("first"))
    for name, arch in TINY_ANCHORS.items():
        assert space.parse(arch).class_id in set(sample.loc[sample["anchor"] == name, "class_id"])
    # higher strata hold higher reference accuracy
    by_stratum = drawn.groupby("stratum")["reference_test"]
    assert by_stratum.min().iloc[1:].to_numpy().min() >= by_stratum.max().iloc[0]
    with pytest.raises(ValueError, match="size must be at least strata"):
        stratified_sample(tiny_table, size=2, strata=3, anchors=TINY_ANCHORS)


def test_random_search_regret_falls_with_evaluations_and_vanishes_on_the_best():
    rng = np.random.default_rng(0)
    test = np.linspace(50, 99, 40)
    valid = test[:, None] + rng.normal(0, 0.1, size=(40, 2))
    weights = np.ones(40)
    regrets = [random_search_regret(valid, test, weights, n) for n in (1, 10, 100)]
    assert regrets[0] > regrets[1] > regrets[2] >= 0
    assert regrets[0] == pytest.approx(99 - test.mean(), abs=1.5)  # one draw: the mean gap
    only_best = np.zeros(40)
    only_best[-1] = 1
    assert random_search_regret(valid, test, only_best, 5) == 0.0
    assert weighted_quantile(test, weights, 0.5) == pytest.approx(np.median(test), abs=1.3)


@pytest.mark.slow
def test_pilot_report_compares_candidates_built_on_the_sample(tmp_path, tiny_table):
    from nasbench.cli.pilot import main
    from nasbench.train.build import read_priority_file

    sample = stratified_sample(tiny_table, size=4, top_share=0.5, strata=2, anchors=TINY_ANCHORS)
    sample.to_csv(tmp_path / "classes.csv", index=False)
    (tmp_path / "classes.txt").write_text("\n".join(sample["arch_str"]) + "\n")
    other = build_tiny(tmp_path / "one-epoch.h5", seeds=(0, 1), epochs=1, costs_pass="off",
                       only=read_priority_file(tmp_path / "classes.txt"))
    main(["report", "--sample", str(tmp_path / "classes.csv"), "--out", str(tmp_path / "pilot"),
          "--describe", "two=2 epochs", f"two={tiny_table}", f"one={other}"])
    summary = json.loads((tmp_path / "pilot" / "summary.json").read_text())
    assert set(summary["candidates"]) == {"two", "one"}
    two = summary["candidates"]["two"]
    assert two["description"] == "2 epochs" and set(two["anchors"]) == set(TINY_ANCHORS)
    assert two["all_skip_gap"] == pytest.approx(two["best"] - two["anchors"]["all-skip"])
    assert two["core_seconds_per_entry"] > 0 and set(two["random_search_regret"]) == {"10", "100", "500"}
    assert summary["provenance"]["sample_sha256"]
    frame = pd.read_csv(tmp_path / "pilot" / "candidates.csv")
    assert list(frame["candidate"]) == ["two", "one"]
    assert (tmp_path / "pilot" / "distribution.png").stat().st_size > 0


@pytest.mark.slow
def test_pilot_report_refuses_a_table_missing_sample_entries(tmp_path, tiny_table, capsys):
    from nasbench.cli.pilot import main

    sample = stratified_sample(tiny_table, size=4, top_share=0.5, strata=2, anchors=TINY_ANCHORS)
    sample.to_csv(tmp_path / "classes.csv", index=False)
    partial = build_tiny(tmp_path / "partial.h5", seeds=(0, 1), epochs=1, costs_pass="off", max_entries=1)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--sample", str(tmp_path / "classes.csv"), "--out", str(tmp_path / "pilot"), f"p={partial}"])
    assert exit_info.value.code != 0
    assert "entries (2 seeds) are not trained" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--sample", str(tmp_path / "classes.csv"), "bad-no-equals"])
    assert "must be NAME=TABLE" in capsys.readouterr().err
