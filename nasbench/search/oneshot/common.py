"""What every one-shot strategy shares: data, clock, calibration, BN recalibration, recording.

One-shot strategies train a supernet for real, so their cost is measured, not
looked up. :class:`OneShotRun` converts it into the table's simulated seconds:

    simulated seconds = CPU seconds x (table seconds per epoch of the reference
                        architecture / this machine's CPU seconds per epoch of it)

The reference is the most expensive trained architecture of the table (most
FLOPs), timed for a few steps of the table's own recipe (batch size, optimizer)
right before the search, with the same thread count the search uses. So a run
on a machine twice as fast as the table's build machine is charged twice its
time, and budgets mean the same on every machine. Both are read on the process's
CPU clock (:data:`cost_clock`), as the table's timing pass does, so that time
spent waiting for a core on a busy machine is not charged; the wall time is
recorded too.

Every derived architecture is looked up in the benchmark for its ground truth
(mean final test accuracy over seeds) and recorded as a trajectory row in the
runner's format (:func:`nasbench.search.runner.run_search`), so the report
treats one-shot and table-based strategies alike.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from nasbench.search.base import BaseStrategy, positive_float, positive_int
from nasbench.search.ledger import final_summary
from nasbench.search.runner import Budget, BudgetTooSmall
from nasbench.space.base import Arch
from nasbench.table.store import TableError
from nasbench.train.data import DatasetConfig, load_dataset
from nasbench.train.recipe import Recipe
from nasbench.train.trainer import make_optimizer

#: the clock that one-shot cost is measured on (one-shot training runs on the CPU)
cost_clock = time.process_time


@dataclass(frozen=True)
class Calibration:
    """Seconds per epoch of ``reference`` in the table and measured here (CPU); ``factor`` = their ratio."""

    reference: str
    table_epoch_seconds: float
    measured_epoch_seconds: float
    threads: int

    @property
    def factor(self) -> float:
        return self.table_epoch_seconds / self.measured_epoch_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_arch": self.reference,
            "table_epoch_seconds": self.table_epoch_seconds,
            "measured_epoch_seconds": self.measured_epoch_seconds,
            "threads": self.threads,
            "clock": "process CPU",
            "simulated_per_cpu_second": self.factor,
        }


def table_recipe(benchmark) -> tuple[Recipe, DatasetConfig]:
    """The training recipe and dataset recorded in the benchmark's table."""
    meta = benchmark.metadata
    try:
        return Recipe(**meta["recipe"]), DatasetConfig(**meta["dataset"])
    except (KeyError, TypeError) as err:
        raise TableError(f"{benchmark.path}: the table records no usable recipe or dataset ({err})") from None


def calibrate(benchmark, data, recipe: Recipe, steps: int = 20, warmup: int = 3) -> Calibration:
    """Time ``steps`` training steps of the reference architecture (see the module docstring)."""
    space = benchmark.space
    trained = np.flatnonzero(benchmark.done.any(axis=1))
    if len(trained) == 0:
        raise TableError(f"{benchmark.path}: no trained class to calibrate the one-shot cost against")
    reps = benchmark.representatives[trained]
    reference = int(reps[np.argmax(space.costs(space.all_decisions[reps])["flops"])])
    table_epoch = benchmark.epoch_seconds(reference)
    model = space.build_model(space.all_decisions[reference])
    optimizer = make_optimizer(model.parameters(), recipe)
    x, y = data["train"]
    generator = torch.Generator().manual_seed(0)
    model.train()
    for step in range(warmup + steps):
        if step == warmup:
            start = cost_clock()
        batch = torch.randint(len(x), (recipe.batch_size,), generator=generator)
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    per_step = (cost_clock() - start) / steps
    measured_epoch = per_step * math.ceil(len(x) / recipe.batch_size)
    return Calibration(space[reference].arch_str, table_epoch, measured_epoch, torch.get_num_threads())


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index batches of a fresh permutation per pass, forever (the last short batch is kept)."""
    while True:
        order = torch.randperm(n, generator=generator)
        yield from order.split(batch_size)


@torch.no_grad()
def recalibrate_batchnorm(net: nn.Module, forward, x: torch.Tensor, num_batches: int, batch_size: int) -> None:
    """Reset every BN's running statistics and re-estimate them for one architecture.

    A shared supernet's statistics are those of the mixture of paths it was
    trained on; each candidate gets its own, from ``num_batches`` training batches
    (SPOS's recipe). ``forward(inputs)`` runs the candidate.
    """
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the recalibration batches
        net.train()
        for b in range(num_batches):
            forward(x[b * batch_size:(b + 1) * batch_size])
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        net.eval()


@torch.no_grad()
def accuracy(forward, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    correct = sum(int((forward(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum()) for i in range(0, len(x), batch_size))
    return correct / len(x)


class OneShotRun:
    """A one-shot search in progress: data, simulated clock, budget and trajectory.

    ``data[split]`` holds ``(x, y)`` tensors of the table's own dataset (checked
    against its fingerprint). Strategies wrap measured work in :meth:`charged`,
    ask :meth:`affords` before starting more, and :meth:`record` each architecture
    they would return at that point.
    """

    def __init__(self, benchmark, budget: Budget, seed: int, calibration_steps: int = 20):
        self.benchmark = benchmark
        self.space = benchmark.space
        self.budget = budget
        self.seed = int(seed)
        self.recipe, dataset = table_recipe(benchmark)
        splits = load_dataset(dataset)
        recorded = benchmark.metadata.get("dataset_fingerprint")
        if recorded and splits.fingerprint != recorded:
            raise TableError(
                f"{benchmark.path}: dataset fingerprint {recorded[:12]} differs from this machine's "
                f"{splits.fingerprint[:12]} (another mnist1d version?); a supernet trained here would not match the table"
            )
        self.data = {name: tuple(torch.as_tensor(a) for a in splits.split(name)) for name in ("train", "valid", "test")}
        self.calibration = calibrate(benchmark, self.data, self.recipe, steps=calibration_steps)
        self.elapsed = 0.0  # simulated seconds
        self.wall = 0.0  # wall seconds of charged work
        self.cpu = 0.0  # CPU seconds of charged work (what is charged)
        self.rows: list[dict[str, Any]] = []
        self.truth_missing = 0
        self.optimum = float(benchmark.optimum("test_accuracy"))
        self._since_last_row = 0.0
        self._incumbent: dict[str, Any] | None = None
        self.out_of_budget = False  # an architecture was derived after the budget ran out (not recorded)
        self.diverged_epoch: int | None = None  # the supernet epoch whose training loss or weights went non-finite

    # ------------------------------------------------------------------ clock
    @contextmanager
    def charged(self):
        """Measure the enclosed work and charge it to the simulated clock."""
        start, start_cpu = time.perf_counter(), cost_clock()
        try:
            yield
        finally:
            cpu = cost_clock() - start_cpu
            self.wall += time.perf_counter() - start
            self.cpu += cpu
            self.elapsed += cpu * self.calibration.factor
            self._since_last_row += cpu * self.calibration.factor

    def affords(self, simulated_seconds: float) -> bool:
        return self.elapsed + simulated_seconds <= self.budget.seconds

    def check_first_epoch(self, strategy: str, seconds_so_far: float, fraction_done: float) -> None:
        """Raise :class:`BudgetTooSmall` if the first epoch, extrapolated, will not fit the budget.

        Called inside :meth:`charged`, so ``elapsed`` does not hold ``seconds_so_far`` yet.
        """
        estimate = seconds_so_far / max(fraction_done, 1e-9)
        if not self.affords(estimate):
            raise BudgetTooSmall(
                f"budget.seconds={self.budget.seconds:g} cannot pay for one supernet epoch of {strategy} "
                f"(about {estimate:.0f} simulated s on this machine); raise budget.seconds"
            )

    @property
    def evaluations_left(self) -> bool:
        return self.budget.max_evals is None or len(self.rows) < self.budget.max_evals

    # ------------------------------------------------------------------ truth and trajectory
    def truth(self, arch: Arch) -> tuple[float, float]:
        """The benchmark's mean final (valid, test) accuracy of ``arch`` (NaN if its class is not trained)."""
        try:
            result = self.benchmark.query(arch.index)
        except TableError:
            return float("nan"), float("nan")
        return float(result.valid_accuracy), float(result.test_accuracy)

    def record(self, arch: Arch, supernet_valid: float, incumbent: bool = True, **extra: Any) -> None:
        """Add a trajectory row for ``arch``, scored ``supernet_valid`` by the supernet.

        ``incumbent=True``: ``arch`` is what the search would return now (DARTS,
        GDAS); otherwise the incumbent is the best supernet score so far (SPOS).
        An architecture derived after the budget ran out is not recorded (the
        search had no time left to return it); ``out_of_budget`` says so.
        """
        if self.elapsed > self.budget.seconds:
            self.out_of_budget = True
            return
        valid, test = self.truth(arch)
        if not np.isfinite(test):
            self.truth_missing += 1
        if incumbent or self._incumbent is None or supernet_valid > self._incumbent["valid"]:
            self._incumbent = {"index": arch.index, "valid": supernet_valid, "test": test}
        row = {
            "n_evals": len(self.rows) + 1,
            "time": round(self.elapsed, 6),
            "index": arch.index,
            "arch_str": arch.arch_str,
            "class_id": arch.class_id,
            "epoch": self.benchmark.num_epochs,
            "seed": None,
            "cost": round(self._since_last_row, 6),
            "valid_accuracy": supernet_valid,
            "test_accuracy": test,
            "truth_valid_accuracy": valid,
            "incumbent_index": self._incumbent["index"],
            "incumbent_valid": self._incumbent["valid"],
            "incumbent_test": self._incumbent["test"],
            "regret": self.optimum - self._incumbent["test"],
            **extra,
        }
        self._since_last_row = 0.0
        self.rows.append(row)

    def result(self, stop_reason: str, state: dict[str, Any]) -> dict[str, Any]:
        """The run in :func:`~nasbench.search.runner.run_search`'s result format."""
        summary = final_summary(self.rows, self.space)
        return {
            "stop_reason": stop_reason,
            "supernet_diverged_epoch": self.diverged_epoch,
            "num_evals": len(self.rows),
            "num_duplicates_skipped": 0,
            "num_infeasible_skipped": 0,
            "simulated_time": self.elapsed,
            "wall_seconds": self.wall,
            "cpu_seconds": self.cpu,
            "calibration": self.calibration.to_dict(),
            "truth_missing": self.truth_missing,
            "option_names": [self.space.option_names(d) for d in range(self.space.num_decisions)],
            "constraints": {},
            "num_feasible_architectures": None,
            "optimum_test_accuracy": self.optimum,
            "final": summary,
            "strategy_state": state,
            "trajectory": self.rows,
        }


class OneShotStrategy(BaseStrategy):
    """Base class: trains a supernet inside :meth:`search` and records what it derives.

    :meth:`run` builds the supernet (:meth:`start`, its initial weights depend on the
    seed alone), calibrates the cost and searches; the options a supernet cannot
    honour (:attr:`supports` is empty) are refused before.
    """

    needs_torch = True
    one_shot = True
    supports: ClassVar[frozenset[str]] = frozenset()
    #: show a progress bar (stderr) while training
    progress: bool = True

    def start(self, space, seed: int) -> "OneShotStrategy":
        """Bind to ``space`` and build the supernet from ``seed``; returns the strategy."""
        self.space = space
        self.seed = positive_int("seed", seed, minimum=0)
        with torch.random.fork_rng():  # the supernet's initial weights depend on the seed alone
            torch.manual_seed(self.seed)
            self.net = space.build_supernet()
        return self

    def run(self, benchmark, budget: Budget, seed: int, calibration_steps: int = 20) -> dict[str, Any]:
        self.start(benchmark.space, seed)
        return run_one_shot(self, benchmark, budget, calibration_steps)

    def check(self, benchmark, seed: int, **settings: Any) -> None:
        self.start(benchmark.space, seed)

    @property
    def label(self) -> str:
        """How the run is named in reports."""
        return self.name

    def search(self, run: OneShotRun) -> str:
        """Train and derive, recording rows in ``run``; returns the stop reason."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {}

    def path_score(self, run: OneShotRun, path: Sequence[int], bn_batches: int, eval_samples: int) -> float:
        """Supernet valid accuracy of ``path`` after BN recalibration on training batches."""
        x_train, _ = run.data["train"]
        x_valid, y_valid = run.data["valid"]
        forward = lambda inputs: self.net(inputs, path=path)  # noqa: E731
        recalibrate_batchnorm(self.net, forward, x_train, bn_batches, 256)
        return accuracy(forward, x_valid[:eval_samples], y_valid[:eval_samples])


def run_one_shot(strategy: OneShotStrategy, benchmark, budget: Budget, calibration_steps: int = 20) -> dict[str, Any]:
    """Calibrate, search with ``strategy`` (started: :meth:`OneShotStrategy.start`) and return the run
    in the runner's result format (plus ``label``)."""
    threads = strategy.options.threads
    previous = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.random.get_rng_state()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        run = OneShotRun(benchmark, budget, strategy.seed, calibration_steps=calibration_steps)
        reason = strategy.search(run)
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])
        torch.random.set_rng_state(previous[2])
    if not run.rows and run.diverged_epoch is not None:
        raise ValueError(
            f"{strategy.label} diverged in supernet epoch {run.diverged_epoch} (non-finite training loss or architecture "
            "weights) before deriving any architecture; lower strategy.lr or strategy.grad_clip"
        )
    if not run.rows:
        raise BudgetTooSmall(
            f"budget.seconds={budget.seconds:g} ran out before {strategy.name} derived any architecture "
            f"({run.elapsed:.0f} simulated s spent); raise budget.seconds or lower strategy.epochs"
        )
    return {"label": strategy.label, **run.result(reason, strategy.state())}


def positive_int_option(options, *names: str) -> None:
    for name in names:
        positive_int(f"strategy option {name}", getattr(options, name))


def positive_float_option(options, *names: str, allow_zero: bool = False) -> None:
    for name in names:
        positive_float(f"strategy option {name}", getattr(options, name), allow_zero)


def fraction_option(options, *names: str) -> None:
    """Momentum-like options: a number in [0, 1)."""
    positive_float_option(options, *names, allow_zero=True)
    for name in names:
        if getattr(options, name) >= 1:
            raise ValueError(f"strategy option {name} must be in [0, 1), got {getattr(options, name)!r}")


@dataclass(frozen=True)
class SupernetOptions:
    """The options of :class:`SupernetTraining`: DARTS' weight optimiser, as NAS-Bench-201 ran it."""

    epochs: int = 50
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0003
    grad_clip: float = 5.0
    eval_samples: int = 1000  # valid samples the supernet scores a derived cell on
    threads: int | None = 1  # torch threads; 1 is fastest for these small tensors, run seeds in parallel instead

    def __post_init__(self):
        positive_int_option(self, "epochs", "eval_samples")
        positive_float_option(self, "lr", "grad_clip")
        positive_float_option(self, "lr_min", "weight_decay", allow_zero=True)
        fraction_option(self, "momentum")
        if self.threads is not None:
            positive_int_option(self, "threads")


class SupernetTraining(OneShotStrategy):
    """Epochs of supernet training with a simulated-time budget; subclasses define :meth:`step`.

    Weights: SGD with momentum and cosine decay to ``lr_min`` per epoch, gradient
    clipping, batches of the table recipe's size (DARTS' settings, as
    NAS-Bench-201 ran them). After every epoch :meth:`end_of_epoch` runs (charged).
    """

    Options = SupernetOptions

    def step(self, run: OneShotRun, x: torch.Tensor, y: torch.Tensor, epoch: int) -> torch.Tensor:
        """One training step on the batch ``(x, y)`` (weights, and architecture where there is one).

        Returns the values that must stay finite (:meth:`watched`): the training
        stops as diverged when one is not.
        """
        raise NotImplementedError

    @staticmethod
    def watched(loss: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        """``loss`` and ``tensors`` (architecture parameters), flattened into one tensor to check for NaN/inf."""
        return torch.cat([loss.detach().reshape(1), *(t.detach().flatten() for t in tensors)])

    def end_of_epoch(self, run: OneShotRun, epoch: int) -> None:
        """Derive and record after ``epoch`` (1-based); wrap measured work in ``run.charged()``."""

    def weight_update(self, loss: torch.Tensor) -> torch.Tensor:
        """One SGD step of the supernet's weights on ``loss``; returns it, detached."""
        self.weight_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.options.grad_clip)
        self.weight_optimizer.step()
        return loss.detach()

    def search(self, run: OneShotRun) -> str:
        o = self.options
        torch.use_deterministic_algorithms(True)  # run_one_shot restores the caller's setting and RNG state
        torch.manual_seed(self.seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.setup(run)
        self.weight_optimizer = torch.optim.SGD(self.net.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.weight_optimizer, T_max=o.epochs, eta_min=o.lr_min)
        n_train = len(run.data["train"][0])
        train_batches = batches(n_train, run.recipe.batch_size, self.generator)
        steps = math.ceil(n_train / run.recipe.batch_size)
        bar = tqdm(total=o.epochs, desc=f"{self.label} seed {self.seed}", unit="epoch", leave=False, disable=not self.progress)
        with bar:
            return self._epochs(run, schedule, train_batches, steps, bar)

    def _epochs(self, run: OneShotRun, schedule, train_batches, steps: int, bar) -> str:
        last_epoch_cost = 0.0
        x_train, y_train = run.data["train"]
        check_at = min(3, steps) - 1  # extrapolate the first epoch's cost from its first (up to) 3 steps
        for epoch in range(1, self.options.epochs + 1):
            if not run.evaluations_left:
                return "max_evals"
            if epoch > 1 and not run.affords(last_epoch_cost):
                return "budget"
            before = run.elapsed
            with run.charged():
                self.net.train()
                start = cost_clock()
                for step in range(steps):
                    batch = next(train_batches)
                    if not bool(torch.isfinite(self.step(run, x_train[batch], y_train[batch], epoch)).all()):
                        run.diverged_epoch = epoch
                        return "diverged"
                    if epoch == 1 and step == check_at:
                        run.check_first_epoch(self.name, (cost_clock() - start) * run.calibration.factor, (step + 1) / steps)
                schedule.step()
            self.end_of_epoch(run, epoch)
            if run.out_of_budget:
                return "budget"
            last_epoch_cost = run.elapsed - before
            bar.update()
            bar.set_postfix(simulated_s=f"{run.elapsed:.0f}")
        return "epochs"

    def setup(self, run: OneShotRun) -> None:
        """Create whatever the strategy needs before training (architecture parameters, ...)."""


def argmax_arch(space, alphas: torch.Tensor) -> Arch:
    """The discrete architecture of the largest weight per decision."""
    return space.parse(tuple(int(k) for k in alphas.argmax(-1)))
