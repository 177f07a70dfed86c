"""How well does a weight-sharing supernet rank architectures? Measured against the table.

A single-path supernet (:class:`~nasbench.search.oneshot.spos.Spos`) is trained
with uniform path sampling; after each checkpoint epoch every architecture of a
fixed sample of trained classes is scored with the inherited weights (BN
statistics re-estimated per architecture) and the scores are rank-correlated
(Kendall tau, Spearman; scipy.stats) with the table's mean final valid and test
accuracy over seeds.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nasbench.search.base import positive_int
from nasbench.search.oneshot.common import OneShotRun, SupernetTraining
from nasbench.search.oneshot.spos import Spos
from nasbench.search.runner import Budget


def sample_trained_classes(benchmark, num_classes: int, seed: int) -> np.ndarray:
    """``num_classes`` distinct trained classes (all if fewer), in a seed-fixed random order."""
    positive_int("num_classes", num_classes, minimum=2)
    trained = np.flatnonzero(benchmark.done.any(axis=1))
    if len(trained) < 2:
        raise ValueError(f"{benchmark.path}: a ranking needs at least 2 trained classes, the table has {len(trained)}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(trained, size=min(num_classes, len(trained)), replace=False))


def correlations(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tau = stats.kendalltau(scores, truth)
    rho = stats.spearmanr(scores, truth)
    return {"kendall_tau": float(tau.statistic), "spearman": float(rho.statistic)}


def ranking_analysis(
    benchmark,
    checkpoints: Sequence[int] = (1, 2, 5, 10, 25, 50),
    num_classes: int = 500,
    seed: int = 0,
    sample_seed: int = 0,
    progress: Callable[[str], None] | None = None,
    **spos_options: Any,
) -> dict[str, Any]:
    """Train one supernet (``seed``) to ``max(checkpoints)`` epochs, scoring the sample (``sample_seed``) at each checkpoint.

    Returns ``summary`` (a frame, one row per checkpoint: correlations with
    valid and test accuracy, supernet wall and simulated seconds), ``scores``
    (one row per class and checkpoint) and the run's ``calibration``.
    """
    checkpoints = sorted({int(c) for c in checkpoints})
    if not checkpoints or checkpoints[0] < 1:
        raise ValueError(f"checkpoints must be epochs >= 1, got {list(checkpoints)}")
    classes = sample_trained_classes(benchmark, num_classes, sample_seed)
    space = benchmark.space
    indices = benchmark.representatives[classes]
    truth = benchmark.query_batch(indices)
    strategy = Spos(spos_options, epochs=checkpoints[-1]).start(space, seed)
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(strategy.options.threads or previous))  # before calibration: it times with these threads
    try:
        return _train_and_score(benchmark, strategy, checkpoints, classes, indices, truth, progress)
    finally:
        torch.set_num_threads(previous)


def _train_and_score(benchmark, strategy: Spos, checkpoints, classes, indices, truth, progress) -> dict[str, Any]:
    space = benchmark.space
    run = OneShotRun(benchmark, Budget(seconds=float("inf")), strategy.seed)
    summary, score_rows = [], []
    scoring = {"wall": 0.0, "simulated": 0.0}  # spent scoring at checkpoints: not supernet training

    def at_epoch(spos: Spos, run: OneShotRun, epoch: int) -> None:
        if epoch not in checkpoints:
            return
        wall, simulated = run.wall, run.elapsed
        with run.charged():
            scores = np.array([spos.score(run, space.all_decisions[i]) for i in indices])
        row = {"seed": spos.seed, "epoch": epoch, "num_classes": len(classes),
               "supernet_wall_seconds": wall - scoring["wall"], "supernet_simulated_seconds": simulated - scoring["simulated"],
               "scoring_wall_seconds": run.wall - wall}
        scoring["wall"] += run.wall - wall
        scoring["simulated"] += run.elapsed - simulated
        for metric in ("valid_accuracy", "test_accuracy"):
            for name, value in correlations(scores, np.asarray(truth[metric])).items():
                row[f"{name}_{metric.split('_')[0]}"] = value
        summary.append(row)
        score_rows.extend(
            {"seed": spos.seed, "epoch": epoch, "class_id": int(c), "arch_str": space[int(i)].arch_str, "supernet_valid_accuracy": float(s),
             "table_valid_accuracy": float(v), "table_test_accuracy": float(t)}
            for c, i, s, v, t in zip(classes, indices, scores, truth["valid_accuracy"], truth["test_accuracy"])
        )
        if progress is not None:
            progress(f"seed {spos.seed}, epoch {epoch}: Kendall tau {row['kendall_tau_valid']:.3f}, Spearman {row['spearman_valid']:.3f} "
                     f"(valid accuracy, {len(classes)} classes)")

    strategy.epoch_callback = at_epoch
    reason = SupernetTraining.search(strategy, run)  # the training phase of SPOS, without its search
    if reason == "diverged":
        raise ValueError(
            f"supernet seed {strategy.seed} diverged in epoch {run.diverged_epoch} (non-finite training loss); "
            "lower supernet.lr or supernet.grad_clip"
        )
    return {"summary": pd.DataFrame(summary), "scores": pd.DataFrame(score_rows), "calibration": run.calibration.to_dict(),
            "classes": classes.tolist()}
