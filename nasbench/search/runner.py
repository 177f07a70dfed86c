"""Run a strategy against a benchmark under a simulated time budget.

The runner owns everything a strategy must not touch: the benchmark, the
budget, the seed each evaluation observes and the bookkeeping.

* **Cost.** Evaluating an architecture at epoch ``e`` costs its table
  ``train_time`` at ``e`` (the measured seconds to train it that far), as
  NAS-Bench-201's ``simulate_train_eval`` charges; a ``resume`` trial pays only
  the epochs beyond its model's last evaluation in this run (``Trial.model``).
  A run that diverged before ``e`` is charged up to its last finite epoch. A
  budget that cannot pay for the first evaluation is an error
  (:class:`BudgetTooSmall`).
* **Noise.** Each evaluation observes one training seed, drawn from the table's
  trained seeds by the run's generator (a resumed trial keeps its seed), so a
  search sees the seed-to-seed noise a real search would.
* **What the search sees.** Train/valid metrics only; test accuracy is recorded
  for the report.
* **Incumbent.** The best valid accuracy among evaluations at the highest epoch
  evaluated so far; its ground truth is the table's mean final test accuracy
  over seeds, and ``regret`` is the table's optimum of that minus the incumbent's.
* **Duplicates.** With ``skip_duplicates`` an architecture whose isomorphism
  class was already evaluated at that epoch is answered from memory: it costs
  nothing and is not counted as an evaluation. With objectives it still enters
  the front with its own costs (a class's members can differ in params), as it
  would if trained again.
* **Constraints.** ``constraints={"params": 20000, "latency": 5e-4}`` bounds
  costs known without training (analytic params / flops, the table's batch-1
  latency, mean over seeds). An infeasible proposal is skipped before it costs
  anything: the strategy is told ``Observation(feasible=False, ...)`` and it is
  not counted. The regret reference becomes the best feasible architecture (mean
  final test accuracy over seeds); a bound nothing meets is a one-line error
  giving the smallest achievable value.
* **Workers.** ``workers=N`` simulates N parallel workers on one wall clock
  (:class:`~nasbench.search.workers.WorkerPool`, an event queue ordered by
  finish time). Whenever a worker is free the strategy is asked for the next
  trial, knowing only the evaluations that have finished; the clock then jumps
  to the next finish, which is told to the strategy and becomes a trajectory
  row (``time`` is its finish, with its ``worker`` and ``start``). The budget is
  wall-clock: a worker whose next evaluation would finish after it starts
  nothing more, and the search ends when no worker is busy. ``worker_seconds``
  records the training time of the finished evaluations. A synchronous strategy
  (:attr:`~nasbench.search.base.Strategy.asynchronous` false) may answer
  ``None``: its free workers wait for the next finish. With ``skip_duplicates`` a
  class still in training at that epoch is answered when that evaluation
  finishes. ``workers=1`` is the plain ask/evaluate/tell loop, and its result is
  exactly what it was before workers existed (no worker fields).
* **Objectives.** With ``objectives=("valid_accuracy", "params")`` every
  observation carries the objectives' values and each trajectory row records
  the run's front (:class:`~nasbench.search.multiobjective.FrontTracker`): its
  size, its hypervolume as observed and by ground truth (test accuracy), and the
  hypervolume regret against the true front of the table's feasible
  architectures (normalisation and reference point in
  :mod:`nasbench.search.multiobjective`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from nasbench.search.base import MAX_CONSECUTIVE_DUPLICATES, Observation, Strategy, Trial, positive_int, ranking_score
from nasbench.search.multiobjective import (
    ArchTable, FrontTracker, Normaliser, check_constraints, check_objectives, true_front,
)
from nasbench.search.workers import WorkerPool
from nasbench.table import MissingEntryError

#: consecutive infeasible proposals after which a run stops (the constraint leaves the strategy nothing)
MAX_CONSECUTIVE_INFEASIBLE = 100_000


@dataclass(frozen=True)
class Budget:
    """Simulated seconds (> 0) and an optional cap on counted evaluations.

    ``seconds=inf`` (no time limit) needs ``max_evals`` in :func:`run_search`;
    one-shot runs end with their epochs.
    """

    seconds: float
    max_evals: int | None = None

    def __post_init__(self):
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, (int, float)) or not self.seconds > 0:
            raise ValueError(f"budget.seconds must be a positive number of simulated seconds, got {self.seconds!r}")
        if self.max_evals is not None and (
            isinstance(self.max_evals, bool) or not isinstance(self.max_evals, (int, np.integer)) or self.max_evals < 1
        ):
            raise ValueError(f"budget.max_evals must be a positive integer or null, got {self.max_evals!r}")


def resolve_budget(budget: Mapping[str, Any], benchmark: Any) -> tuple[Budget, dict[str, Any]]:
    """The :class:`Budget` a config's ``budget`` gives on ``benchmark``, and the record of it a result keeps.

    ``budget.seconds`` (simulated seconds) wins when set; otherwise the budget is
    ``budget.evaluations`` full evaluations' worth: that many times the benchmark's mean
    full-evaluation time (:attr:`~nasbench.table.Benchmark.evaluation_seconds`), so that
    the default buys about the same number of evaluations on every table.
    ``budget.max_evals`` caps the counted evaluations either way.
    """
    from nasbench.search.base import positive_float

    seconds, evaluations = budget.get("seconds"), budget.get("evaluations")
    per = float(benchmark.evaluation_seconds)
    if seconds is None:
        if evaluations is None:
            raise ValueError("give budget.seconds (simulated seconds) or budget.evaluations "
                             "(full evaluations' worth on the benchmark searched)")
        evaluations = positive_float("budget.evaluations", evaluations)
        seconds = evaluations * per
    else:
        seconds, evaluations = positive_float("budget.seconds", seconds), None
    resolved = Budget(seconds, budget.get("max_evals"))
    record = {
        "seconds": resolved.seconds,
        "max_evals": resolved.max_evals,
        "evaluations": evaluations,  # None: the budget was given in seconds
        "evaluation_seconds": per,
        "evaluation_seconds_from": benchmark.evaluation_seconds_from,
    }
    return resolved, record


class BudgetTooSmall(ValueError):
    """The budget cannot pay for the first evaluation (one-shot: the first supernet epoch)."""


def time_until_divergence(benchmark, index: int, seed: int, epoch: int) -> float:
    """Simulated seconds a run that diverged before ``epoch`` trained: up to its last finite epoch.

    A run that diverged in its first epoch is charged the architecture's first
    epoch as the other seeds timed it (zero if none did).
    """
    times = np.asarray(benchmark.curve(index, "train_time", seed=seed), dtype=np.float64)[:epoch]
    finite = times[np.isfinite(times)]
    if len(finite):
        return float(finite[-1])
    first = float(benchmark.query(index, epoch=1).train_time)
    return first if np.isfinite(first) else 0.0


def make_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the strategy and for the runner's seed draws."""
    strategy_rng, runner_rng = np.random.default_rng(positive_int("seed", seed, minimum=0)).spawn(2)
    return strategy_rng, runner_rng


def check_searchable(benchmark: Any) -> None:
    """Refuse a partial table at once: a search may propose any architecture, trained or not."""
    untrained = int((~np.asarray(benchmark.done).any(axis=1)).sum())
    if untrained:
        raise MissingEntryError(
            f"the table is partial: {untrained} of {len(benchmark.done)} classes have no trained seed "
            f"({benchmark.entries_done} of {benchmark.done.size} (class, seed) entries done) and a search may propose "
            "any of them; use e.g. benchmark=blocks, or finish this table with nasbench-build"
        )


def run_search(
    strategy: Strategy,
    benchmark: Any,
    budget: Budget,
    rng: np.random.Generator,
    skip_duplicates: bool = False,
    constraints: Mapping[str, float | None] | None = None,
    objectives: Sequence[str] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Ask/evaluate/tell until the budget is spent; returns the trajectory and summary (JSON-able).

    ``constraints`` (upper bounds on ``params``, ``flops``, ``latency``),
    ``objectives`` (2-3 of ``valid_accuracy``, ``params``, ``flops``,
    ``latency``; default: the strategy's own) and ``workers`` (simulated
    parallel workers) are described in the module docstring.
    """
    if budget.seconds == np.inf and budget.max_evals is None:
        raise ValueError(
            "budget.seconds=inf never ends a search without budget.max_evals; give a finite budget.seconds or set budget.max_evals"
        )
    workers = positive_int("workers", workers)
    check_searchable(benchmark)
    space = benchmark.space
    last_epoch = benchmark.num_epochs
    seeds = np.asarray(benchmark.seeds)
    done = benchmark.done
    class_ids = benchmark.class_ids
    constraints = check_constraints(constraints)
    objectives = check_objectives(objectives)
    own = getattr(strategy, "objectives", None)
    if objectives is None:
        objectives = own
    elif own is not None and tuple(own) != objectives:
        raise ValueError(f"strategy {strategy.name} optimises {list(own)} but the run's objectives are {list(objectives)}")
    table = ArchTable.from_benchmark(benchmark) if constraints or objectives else None
    feasible = table.feasible(constraints) if constraints else None
    if feasible is None:
        optimum = float(benchmark.optimum("test_accuracy"))
    else:
        optimum = float(np.nanmax(np.where(feasible & table.trained, table.test_accuracy, np.nan)))
    mo: dict[str, Any] = {}
    if objectives:
        normaliser = Normaliser(objectives, table.largest_costs())
        front = FrontTracker(objectives, table, normaliser)
        truth = true_front(table, objectives, table.trained if feasible is None else feasible & table.trained, normaliser)
        optimum_hv = truth["hypervolume"]

        def objective_values(index: int, valid: float) -> tuple[float, ...]:
            return tuple(valid if o == "valid_accuracy" else float(table.cost(o)[index]) for o in objectives)

        mo = {
            "objectives": list(objectives),
            "hypervolume_reference": normaliser.reference_raw(),
            "optimum_hypervolume": optimum_hv,
            "true_front": [
                {"index": int(i), "arch_str": space[int(i)].arch_str, "truth": [float(v) for v in values]}
                for i, values in zip(truth["indices"], truth["values"])
            ],
        }
    truth_cache: dict[int, float] = {}

    def ground_truth(index: int) -> float:
        if index not in truth_cache:
            truth_cache[index] = float(benchmark.query(index).test_accuracy)
        return truth_cache[index]

    pool = WorkerPool(workers)
    rows: list[dict[str, Any]] = []
    # (class, epoch) -> the answer a duplicate gets, and the (epoch, train_time, seed) a resume of it continues from
    seen: dict[tuple[int, int], tuple[Observation, tuple[int, float, int]]] = {}
    # (class, epoch) in flight -> the duplicates proposed meanwhile, answered when it finishes
    waiting: dict[tuple[int, int], list[tuple[Trial, int, int]]] = {}
    # (class, Trial.model) -> (epoch, train_time, seed) of the model's last evaluation, for resumes
    paid: dict[tuple[int, int | None], tuple[int, float, int]] = {}
    incumbent: dict[str, Any] | None = None
    duplicates = consecutive_duplicates = 0
    duplicate_limit = int(getattr(strategy, "max_consecutive_duplicates", MAX_CONSECUTIVE_DUPLICATES))
    infeasible = consecutive_infeasible = 0
    stop_reason = "budget"
    asking = True  # false once the strategy has nothing left to propose: the evaluations in flight still finish
    first_unaffordable: tuple[float, int] | None = None  # (cost, epoch) of the first evaluation the budget could not pay

    def answer_duplicate(trial: Trial, index: int, key: tuple[int, int], class_id: int) -> None:
        answer, record = seen[key]
        if objectives:  # the class's accuracy, this architecture's own costs
            answer = replace(answer, objectives=objective_values(index, answer.valid_accuracy))
            # as if trained again (skip_duplicates only saves the cost): a cheaper member of the class may enter the front
            front.add(index, answer.objectives, key[1])
        paid[(class_id, trial.model)] = record  # a later resume continues from the remembered model
        strategy.tell(trial, answer)

    evaluated = set(getattr(benchmark, "evaluated_epochs", range(1, last_epoch + 1)))
    while True:
        while asking and pool.has_free():
            trial = strategy.ask()
            if trial is None:  # a synchronous strategy waits for what is in flight
                if not pool.running and first_unaffordable is None:
                    raise RuntimeError(f"strategy {strategy.name} proposed nothing while no evaluation was in flight")
                break  # (nothing in flight: it waits for an evaluation the budget cut off, and the search ends)
            arch = space.parse(trial.arch)
            epoch = last_epoch if trial.epoch is None else int(trial.epoch)
            if not 1 <= epoch <= last_epoch:
                raise ValueError(f"strategy {strategy.name} asked for epoch {epoch}; valid: 1..{last_epoch}")
            if epoch not in evaluated:
                raise ValueError(f"strategy {strategy.name} asked for epoch {epoch}, which the table did not evaluate; "
                                 f"valid: {', '.join(map(str, sorted(evaluated)))} (the table's train.eval_epochs)")
            class_id = int(class_ids[arch.index])
            key = (class_id, epoch)
            if feasible is not None and not feasible[arch.index]:
                infeasible += 1
                consecutive_infeasible += 1
                strategy.tell(trial, Observation(-np.inf, -np.inf, np.inf, epoch, 0.0, feasible=False))
                if consecutive_infeasible >= MAX_CONSECUTIVE_INFEASIBLE:
                    stop_reason = "only_infeasible"
                    asking = False
                continue
            if skip_duplicates and (key in seen or key in waiting):
                duplicates += 1
                consecutive_duplicates += 1
                if key in seen:
                    answer_duplicate(trial, arch.index, key, class_id)
                else:  # its class is being trained at this epoch: answered from memory when that finishes
                    waiting[key].append((trial, arch.index, class_id))
                if consecutive_duplicates >= duplicate_limit:
                    stop_reason = "only_duplicates"
                    asking = False
                continue
            consecutive_duplicates = consecutive_infeasible = 0
            model = (class_id, trial.model)
            resumed = paid.get(model) if trial.resume else None
            if resumed is not None:
                seed = resumed[2]
            else:
                available = seeds[done[class_id]]  # every class has one (check_searchable)
                seed = int(available[rng.integers(len(available))])
            result = benchmark.query(arch.index, epoch=epoch, seed=seed)
            trained_time = float(result.train_time)
            if not np.isfinite(trained_time):  # diverged before `epoch`: training stopped there
                trained_time = time_until_divergence(benchmark, arch.index, seed, epoch)
            cost = trained_time
            if resumed is not None and resumed[0] <= epoch:
                cost = max(cost - resumed[1], 0.0)
            if pool.now + cost > budget.seconds:  # it would finish after the budget: this worker is done
                if first_unaffordable is None:
                    first_unaffordable = (cost, epoch)
                pool.retire()
                continue
            if skip_duplicates:
                waiting[key] = []
            pool.start(cost, (trial, arch, class_id, key, model, seed, result, trained_time, cost))
        if not pool.running:
            break
        job = pool.finish_next()
        trial, arch, class_id, key, model, seed, result, trained_time, cost = job.payload
        epoch = key[1]
        paid[model] = (epoch, trained_time, seed)
        valid = float(result.valid_accuracy)
        observation = Observation(
            valid_accuracy=valid,
            train_accuracy=float(result.train_accuracy),
            valid_loss=float(result.valid_loss),
            epoch=epoch,
            train_time=cost,
            objectives=objective_values(arch.index, valid) if objectives else None,
        )
        seen[key] = (Observation(**{**asdict(observation), "train_time": 0.0, "duplicate": True}), paid[model])
        strategy.tell(trial, observation)
        score = ranking_score(valid)
        if incumbent is None or epoch > incumbent["epoch"] or (epoch == incumbent["epoch"] and score > incumbent["score"]):
            incumbent = {"epoch": epoch, "score": score, "index": arch.index, "valid": valid}
        incumbent_test = ground_truth(incumbent["index"])
        row = {
            "n_evals": len(rows) + 1,
            "time": round(pool.now, 6),
            "index": arch.index,
            "arch_str": arch.arch_str,
            "class_id": class_id,
            "epoch": epoch,
            "seed": seed,
            "cost": round(cost, 6),
            "valid_accuracy": valid,
            "test_accuracy": float(result.test_accuracy),
            "incumbent_index": incumbent["index"],
            "incumbent_valid": incumbent["valid"],
            "incumbent_test": incumbent_test,
            "regret": optimum - incumbent_test,
        }
        if workers > 1:  # one worker's rows stay as they always were: worker 0, start = time - cost
            row.update({"worker": job.worker, "start": round(job.start, 6)})
        if objectives:
            front.add(arch.index, observation.objectives, epoch)
            row.update(
                {
                    "objectives": list(observation.objectives),
                    "front_size": len(front.members),
                    "hypervolume": front.hypervolume,
                    "hypervolume_test": front.hypervolume_test,
                    "hv_regret": optimum_hv - front.hypervolume_test,
                }
            )
        rows.append(row)
        for duplicate, index, duplicate_class in waiting.pop(key, []):
            answer_duplicate(duplicate, index, key, duplicate_class)
        if budget.max_evals is not None and len(rows) >= budget.max_evals:
            stop_reason = "max_evals"
            break
    if not rows and first_unaffordable is not None:  # an empty run has no incumbent: nothing to report
        cost, epoch = first_unaffordable
        cheapest = float(benchmark.optimum("train_time", epoch=epoch))
        raise BudgetTooSmall(
            f"budget.seconds={budget.seconds:g} ran out before the first evaluation: it costs {cost:.3g} "
            f"simulated s (epoch {epoch}; the cheapest architecture costs {cheapest:.3g} s); raise budget.seconds"
        )
    elapsed = pool.now
    final = rows[-1] if rows else None
    summary = None if final is None else {
        "incumbent_index": final["incumbent_index"],
        "incumbent_arch_str": space[final["incumbent_index"]].arch_str,
        "incumbent_valid": final["incumbent_valid"],
        "incumbent_test": final["incumbent_test"],
        "regret": final["regret"],
    }
    if objectives:
        mo["front"] = front.summary(space)
        if summary is not None:  # the front now, which a duplicate after the last evaluation may have changed
            summary.update({
                "front_size": len(front.members),
                "hypervolume": front.hypervolume,
                "hypervolume_test": front.hypervolume_test,
                "hv_regret": optimum_hv - front.hypervolume_test,
            })
    return {
        "stop_reason": stop_reason,
        "num_evals": len(rows),
        "num_duplicates_skipped": duplicates,
        "max_consecutive_duplicates": duplicate_limit if skip_duplicates else None,
        "num_infeasible_skipped": infeasible,
        "simulated_time": elapsed,
        **({"workers": workers, "worker_seconds": pool.busy_seconds, "asynchronous": strategy.asynchronous}
           if workers > 1 else {}),
        "constraints": constraints,
        "num_feasible_architectures": None if feasible is None else int(feasible.sum()),
        "optimum_test_accuracy": optimum,
        **mo,
        "final": summary,
        "strategy_state": strategy.state(),
        "trajectory": rows,
    }
