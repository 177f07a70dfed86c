"""A table as a syne-tune ``Blackbox`` for syne-tune's simulator (``pip install "nasbench[synetune]"``).

::

    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.optimizer.baselines import RandomSearch
    from nasbench.compat.synetune import METRIC_ELAPSED_TIME, METRIC_VALID_ERROR, blackbox

    bb = blackbox()                                   # the shipped flagship table
    backend = UserBlackboxBackend(bb, elapsed_time_attr=METRIC_ELAPSED_TIME, tuner_sleep_time=0.5)
    scheduler = RandomSearch(bb.configuration_space, metrics=[METRIC_VALID_ERROR], random_seed=0)
    Tuner(backend, scheduler, StoppingCriterion(max_wallclock_time=3000), n_workers=4,
          sleep_time=0, callbacks=[SimulatorCallback()]).run()

A trial on the shipped tables trains for 3-15 simulated seconds (12 epochs; 5.6 s for the
flagship's median cell), and syne-tune's simulator starts new trials only when its tuner
wakes, every ``tuner_sleep_time`` simulated seconds (5 by default). Random search
(``random_seed=0``) on the flagship for 200 s with 4 workers trained for 543 of the 800
worker-seconds with the default and for 756 with ``tuner_sleep_time=0.5``.

The names are those of syne-tune's own NAS-Bench-201 blackbox (``nasbench201`` in its
blackbox repository), so a script or scheduler set up for it runs on a table after
changing where the blackbox comes from:

* hyperparameters ``hp_x0``, ``hp_x1``, ... one per decision of the space (for the cell
  space the six edges in arch-string order), each a ``choice`` over the option names;
* fidelity ``hp_epoch``, the epochs ``1 .. num_epochs`` (12 for the shipped tables), or
  where the table's recipe evaluated only some epochs those alone (``Benchmark.evaluated_epochs``,
  e.g. 1, 2, 4, 8, 12: a trial reports at those, so set a multi-fidelity scheduler's rung
  levels among them);
* seeds: the table's training seeds that every class has (the simulator draws one per trial);
* objectives, in the order syne-tune's NAS-Bench-201 blackbox has them, then the test error:

  ===========================  ============================================================
  ``metric_valid_error``       ``1 - valid_accuracy`` (fraction), the default metric
  ``metric_train_error``       ``1 - train_accuracy``
  ``metric_runtime``           simulated training seconds since the previous fidelity
  ``metric_elapsed_time``      simulated training seconds up to this epoch (``train_time``)
  ``metric_latency``           forward seconds at batch 256 (NATS-Bench's latency)
  ``metric_flops``             multiply-accumulates per example, in millions (NATS-Bench's unit)
  ``metric_params``            parameters, in millions
  ``metric_test_error``        ``1 - test_accuracy``
  ===========================  ============================================================

Where they differ from syne-tune's NAS-Bench-201 numbers: it reads its validation error
from NATS-Bench's ``ori-test`` evaluations (on cifar100 and ImageNet16-120 the valid and test
splits together) and adds an evaluation's time to its runtime; here the validation error is the table's valid split alone, the test
error its test split, and the times are the table's simulated training time alone (it
records no evaluation time). Every number is the table's, never imputed: a class without
one of the seeds drops that seed from the blackbox, and a table where no seed is trained for
every class is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nasbench.table.benchmark import Benchmark
from nasbench.table.store import TableError

if TYPE_CHECKING:
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular

#: the fidelity: the epoch (syne-tune's NAS-Bench-201 blackbox's ``TIME_ATTR``)
RESOURCE_ATTR = "hp_epoch"
METRIC_VALID_ERROR = "metric_valid_error"
METRIC_TRAIN_ERROR = "metric_train_error"
#: time since the previous fidelity (the previous epoch, where the table evaluated every epoch)
METRIC_RUNTIME = "metric_runtime"
#: time from the start of training to the end of this epoch (the simulator's ``elapsed_time_attr``)
METRIC_ELAPSED_TIME = "metric_elapsed_time"
METRIC_LATENCY = "metric_latency"
METRIC_FLOPS = "metric_flops"
METRIC_PARAMS = "metric_params"
METRIC_TEST_ERROR = "metric_test_error"
OBJECTIVES = (METRIC_VALID_ERROR, METRIC_TRAIN_ERROR, METRIC_RUNTIME, METRIC_ELAPSED_TIME, METRIC_LATENCY,
              METRIC_FLOPS, METRIC_PARAMS, METRIC_TEST_ERROR)
#: how syne-tune's blackbox repository records a blackbox's default metric, elapsed time and fidelity
METADATA = {"metric_elapsed_time": METRIC_ELAPSED_TIME, "metric_default": METRIC_VALID_ERROR, "time_attr": RESOURCE_ATTR}


def hyperparameter_names(num_decisions: int) -> list[str]:
    return [f"hp_x{d}" for d in range(num_decisions)]


def blackbox(table: Benchmark | str | None = None) -> BlackboxTabular:
    """Every architecture of ``table`` (``None``: the shipped flagship; a shipped table's name, a path or a
    :class:`~nasbench.table.Benchmark`) as a syne-tune ``BlackboxTabular`` (see the module's doc)."""
    try:
        import pandas as pd
        from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
        from syne_tune.config_space import choice, randint
    except ImportError:
        raise ImportError('nasbench.compat.synetune needs syne-tune: pip install "nasbench[synetune]"') from None
    bench = table if isinstance(table, Benchmark) else Benchmark.load(table)
    space, n, epochs = bench.space, len(bench), bench.evaluated_epochs
    seeds = [seed for seed, every in zip(bench.seeds, bench.done.all(axis=0)) if every]
    if not seeds:
        raise TableError(
            f"no seed is trained for every class of this table ({bench.entries_done} of {bench.done.size} entries done); "
            "a blackbox needs at least one"
        )
    names = hyperparameter_names(space.num_decisions)
    decisions = space.all_decisions
    hyperparameters = pd.DataFrame({
        name: np.asarray(space.option_names(d), dtype=object)[decisions[:, d]] for d, name in enumerate(names)
    })
    index = np.arange(n)
    columns = {name: k for k, name in enumerate(OBJECTIVES)}
    evaluations = np.empty((n, len(seeds), len(epochs), len(OBJECTIVES)), dtype=np.float32)
    for s, seed in enumerate(seeds):
        previous = np.zeros(n)
        for e, epoch in enumerate(epochs):
            rows = bench.query_batch(index, epoch=epoch, seed=seed)
            values = evaluations[:, s, e]
            values[:, columns[METRIC_VALID_ERROR]] = 1 - rows["valid_accuracy"]
            values[:, columns[METRIC_TRAIN_ERROR]] = 1 - rows["train_accuracy"]
            values[:, columns[METRIC_TEST_ERROR]] = 1 - rows["test_accuracy"]
            values[:, columns[METRIC_ELAPSED_TIME]] = rows["train_time"]
            values[:, columns[METRIC_RUNTIME]] = rows["train_time"] - previous
            values[:, columns[METRIC_LATENCY]] = rows["latency_b256"]
            values[:, columns[METRIC_FLOPS]] = rows["flops"] / 1e6
            values[:, columns[METRIC_PARAMS]] = rows["params"] / 1e6
            previous = rows["train_time"]
    return BlackboxTabular(
        hyperparameters=hyperparameters,
        configuration_space={name: choice(space.option_names(d)) for d, name in enumerate(names)},
        fidelity_space={RESOURCE_ATTR: randint(1, epochs[-1])},
        objectives_evaluations=evaluations,
        fidelity_values=np.asarray(epochs),
        objectives_names=list(OBJECTIVES),
    )


def to_arch(config: dict[str, Any], table: Benchmark) -> Any:
    """The architecture (a nasbench ``Arch``) of a blackbox configuration of ``table``."""
    space = table.space
    names = hyperparameter_names(space.num_decisions)
    missing = [name for name in names if name not in config]
    if missing:
        raise TableError(f"configuration {config!r} lacks {', '.join(missing)}; valid keys: {', '.join(names)}")
    return space.parse([str(config[name]) for name in names])


def simulate_random_search(bb: BlackboxTabular, seconds: float, workers: int = 4, seed: int = 0,
                           tuner_sleep_time: float = 0.02, delay: float = 0.0) -> np.ndarray:
    """The finish times of the trials that syne-tune's simulator trains to the last epoch within ``seconds``.

    Random search (``random_seed=seed``) on ``workers`` simulated workers over the blackbox ``bb``
    (:func:`blackbox`), under ``StoppingCriterion(max_wallclock_time=seconds)``; the simulator draws
    each trial's table seed from numpy's global generator, seeded here with ``seed``. The tuner
    starts new trials only when it wakes, every ``tuner_sleep_time`` simulated seconds (see the
    module's doc). ``delay`` is each of the simulator's modelled overheads (``SimulatorConfig``:
    starting a trial, registering a result, a completion, a stop); syne-tune's default is 0.05 s,
    which costs a worker about 0.1 s between trials; 0 simulates training time alone, as
    nasbench's runner does. Its files go to a temporary folder.
    """
    import contextlib
    import io
    import logging
    import os
    import tempfile

    try:
        from syne_tune import StoppingCriterion, Tuner
        from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
        from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
        from syne_tune.blackbox_repository import UserBlackboxBackend
        from syne_tune.optimizer.baselines import RandomSearch
    except ImportError:
        raise ImportError('nasbench.compat.synetune needs syne-tune: pip install "nasbench[synetune]"') from None
    overheads = SimulatorConfig(delay_on_trial_result=delay, delay_complete_after_final_report=delay,
                                delay_complete_after_stop=delay, delay_start=delay, delay_stop=delay)
    quiet = logging.getLogger("syne_tune")
    level, folder = quiet.level, os.environ.get("SYNETUNE_FOLDER")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNETUNE_FOLDER"] = tmp
        quiet.setLevel(logging.WARNING)
        try:
            np.random.seed(seed)
            results = SimulatorCallback()
            tuner = Tuner(
                trial_backend=UserBlackboxBackend(bb, elapsed_time_attr=METRIC_ELAPSED_TIME, tuner_sleep_time=tuner_sleep_time,
                                                  simulator_config=overheads),
                scheduler=RandomSearch(bb.configuration_space, metrics=[METRIC_VALID_ERROR], random_seed=seed),
                stop_criterion=StoppingCriterion(max_wallclock_time=seconds),
                n_workers=workers, sleep_time=0, callbacks=[results], save_tuner=False, tuner_name="nasbench-simulator",
            )
            with contextlib.redirect_stdout(io.StringIO()):  # its progress tables
                tuner.run()
        finally:
            quiet.setLevel(level)
            if folder is None:
                os.environ.pop("SYNETUNE_FOLDER", None)
            else:
                os.environ["SYNETUNE_FOLDER"] = folder
    frame = results.dataframe()
    times = frame.loc[frame[RESOURCE_ATTR] == int(np.max(bb.fidelity_values)), "st_tuner_time"].to_numpy(dtype=float)
    return np.sort(times[times <= seconds])


def compare_with_simulator(table: Benchmark | str | None = None, seconds: float = 500.0, workers: int = 4,
                           seeds: int = 20, tuner_sleep_time: float = 0.02, delay: float = 0.0) -> dict[str, Any]:
    """Random search on ``workers`` workers for ``seconds`` of wall-clock time, ``seeds`` times each in
    nasbench's runner (:func:`~nasbench.search.runner.run_search`) and in syne-tune's simulator
    (:func:`simulate_random_search`) on the same table: how many evaluations each finishes.

    The two draw their architectures and seeds from different generators, so the counts agree only
    in distribution: Welch's t-test (scipy) on the two sets of counts, and the difference of the
    means with its standard error.
    """
    from scipy.stats import ttest_ind

    from nasbench.search import Budget, make_generators, make_strategy, run_search

    bench = table if isinstance(table, Benchmark) else Benchmark.load(table)
    bb = blackbox(bench)
    ours, theirs = [], []
    for seed in range(seeds):
        strategy_rng, runner_rng = make_generators(seed)
        strategy = make_strategy("random", bench.space, strategy_rng, bench.num_epochs)
        ours.append(run_search(strategy, bench, Budget(seconds), runner_rng, workers=workers)["num_evals"])
        theirs.append(len(simulate_random_search(bb, seconds, workers, seed, tuner_sleep_time, delay)))
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return {
        "table": str(bench.path), "seconds": seconds, "workers": workers, "seeds": seeds,
        "tuner_sleep_time": tuner_sleep_time, "delay": delay, "nasbench": ours, "syne_tune": theirs,
        "mean_nasbench": float(a.mean()), "mean_syne_tune": float(b.mean()),
        "difference": float(a.mean() - b.mean()), "se_difference": se,
        "welch_p": float(ttest_ind(a, b, equal_var=False).pvalue),
    }
