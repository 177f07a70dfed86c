"""The runner's books for one search: what each proposal costs, what a duplicate is answered, the incumbent, the front.

:func:`nasbench.search.runner.run_search` is the loop (ask, start on a free
worker, finish, tell); :class:`Ledger` keeps the accounts it consults: the
constraint and duplicate rules, the seed and cost of each evaluation (a resumed
model pays only its extra epochs), the budget, the incumbent and, with
objectives, the Pareto front, and at the end the run's result. The module
docstring of :mod:`nasbench.search.runner` states the rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from nasbench.search.base import MAX_CONSECUTIVE_DUPLICATES, Observation, Strategy, Trial, ranking_score
from nasbench.search.multiobjective import ArchTable, FrontTracker, Normaliser, check_constraints, check_objectives, true_front
from nasbench.space.base import Arch

#: consecutive infeasible proposals after which a run stops (the constraint leaves the strategy nothing)
MAX_CONSECUTIVE_INFEASIBLE = 100_000


@dataclass(frozen=True)
class Evaluation:
    """A trial to train: the architecture's class, the seed it observes, the table's answer and what it costs."""

    trial: Trial
    arch: Arch
    class_id: int
    epoch: int
    model: tuple[int, int | None]  # (class, Trial.model): the model a resume continues
    seed: int
    result: Any  # the benchmark's QueryResult at (arch, epoch, seed)
    trained_time: float  # simulated seconds to train it from scratch to `epoch`
    cost: float  # what this evaluation pays: trained_time less what a resumed model paid before

    @property
    def key(self) -> tuple[int, int]:
        return self.class_id, self.epoch



def final_summary(rows: Sequence[Mapping[str, Any]], space) -> dict[str, Any] | None:
    """A run's ``final`` entry from its last trajectory row: the incumbent and its regret (None for no rows)."""
    if not rows:
        return None
    final = rows[-1]
    return {
        "incumbent_index": final["incumbent_index"],
        "incumbent_arch_str": space[final["incumbent_index"]].arch_str,
        "incumbent_valid": final["incumbent_valid"],
        "incumbent_test": final["incumbent_test"],
        "regret": final["regret"],
    }

class Ledger:
    """The books of one search of ``strategy`` on ``benchmark`` under ``budget`` (see :func:`~nasbench.search.runner.run_search`)."""

    def __init__(self, strategy: Strategy, benchmark, budget, skip_duplicates: bool = False,
                 constraints: Mapping[str, float | None] | None = None, objectives: Sequence[str] | None = None):
        self.strategy = strategy
        self.benchmark = benchmark
        self.budget = budget
        self.skip_duplicates = skip_duplicates
        self.space = benchmark.space
        self.last_epoch = benchmark.num_epochs
        self.seeds = np.asarray(benchmark.seeds)
        self.done = benchmark.done
        self.class_ids = benchmark.class_ids
        self.evaluated = set(getattr(benchmark, "evaluated_epochs", range(1, self.last_epoch + 1)))
        self.constraints = check_constraints(constraints)
        objectives = check_objectives(objectives)
        own = getattr(strategy, "objectives", None)
        if objectives is None:
            objectives = own
        elif own is not None and tuple(own) != objectives:
            raise ValueError(f"strategy {strategy.name} optimises {list(own)} but the run's objectives are {list(objectives)}")
        self.objectives = objectives
        self.table = ArchTable.from_benchmark(benchmark) if self.constraints or objectives else None
        self.feasible = self.table.feasible(self.constraints) if self.constraints else None
        if self.feasible is None:
            self.optimum = float(benchmark.optimum("test_accuracy"))
        else:
            self.optimum = float(np.nanmax(np.where(self.feasible & self.table.trained, self.table.test_accuracy, np.nan)))
        self.multiobjective: dict[str, Any] = {}
        if objectives:
            self._start_front()
        self._truth: dict[int, float] = {}
        self.rows: list[dict[str, Any]] = []
        # (class, epoch) -> the answer a duplicate gets, and the (epoch, train_time, seed) a resume of it continues from
        self.seen: dict[tuple[int, int], tuple[Observation, tuple[int, float, int]]] = {}
        # (class, epoch) in flight -> the duplicates proposed meanwhile, answered when it finishes
        self.waiting: dict[tuple[int, int], list[tuple[Trial, int, int]]] = {}
        # (class, Trial.model) -> (epoch, train_time, seed) of the model's last evaluation, for resumes
        self.paid: dict[tuple[int, int | None], tuple[int, float, int]] = {}
        self.incumbent: dict[str, Any] | None = None
        self.duplicates = self.consecutive_duplicates = 0
        self.duplicate_limit = int(getattr(strategy, "max_consecutive_duplicates", MAX_CONSECUTIVE_DUPLICATES))
        self.infeasible = self.consecutive_infeasible = 0
        self.stop_reason = "budget"
        self.exhausted = False  # the strategy proposes nothing new: what is in flight still finishes
        self.first_unaffordable: tuple[float, int] | None = None  # (cost, epoch) of the first evaluation the budget could not pay

    def _start_front(self) -> None:
        table, objectives, feasible = self.table, self.objectives, self.feasible
        normaliser = Normaliser(objectives, table.largest_costs())
        self.front = FrontTracker(objectives, table, normaliser)
        truth = true_front(table, objectives, table.trained if feasible is None else feasible & table.trained, normaliser)
        self.optimum_hv = truth["hypervolume"]
        self.multiobjective = {
            "objectives": list(objectives),
            "hypervolume_reference": normaliser.reference_raw(),
            "optimum_hypervolume": self.optimum_hv,
            "true_front": [
                {"index": int(i), "arch_str": self.space[int(i)].arch_str, "truth": [float(v) for v in values]}
                for i, values in zip(truth["indices"], truth["values"])
            ],
        }

    def objective_values(self, index: int, valid: float) -> tuple[float, ...]:
        return tuple(valid if o == "valid_accuracy" else float(self.table.cost(o)[index]) for o in self.objectives)

    def ground_truth(self, index: int) -> float:
        """The table's mean final test accuracy of ``index``, over seeds."""
        if index not in self._truth:
            self._truth[index] = float(self.benchmark.query(index).test_accuracy)
        return self._truth[index]

    # ------------------------------------------------------------------ proposals
    def propose(self, trial: Trial, rng: np.random.Generator) -> Evaluation | None:
        """Account for a proposal: ``None`` if it was answered at once (infeasible, or a duplicate), else what to train.

        The seed of a new model is drawn from ``rng``; :attr:`exhausted` turns true when the
        strategy has proposed only infeasible architectures or only duplicates for too long.
        """
        strategy = self.strategy
        arch = self.space.parse(trial.arch)
        epoch = self.last_epoch if trial.epoch is None else int(trial.epoch)
        if not 1 <= epoch <= self.last_epoch:
            raise ValueError(f"strategy {strategy.name} asked for epoch {epoch}; valid: 1..{self.last_epoch}")
        if epoch not in self.evaluated:
            raise ValueError(f"strategy {strategy.name} asked for epoch {epoch}, which the table did not evaluate; "
                             f"valid: {', '.join(map(str, sorted(self.evaluated)))} (the table's train.eval_epochs)")
        class_id = int(self.class_ids[arch.index])
        key = (class_id, epoch)
        if self.feasible is not None and not self.feasible[arch.index]:
            self.infeasible += 1
            self.consecutive_infeasible += 1
            strategy.tell(trial, Observation(-np.inf, -np.inf, np.inf, epoch, 0.0, feasible=False))
            if self.consecutive_infeasible >= MAX_CONSECUTIVE_INFEASIBLE:
                self.stop_reason, self.exhausted = "only_infeasible", True
            return None
        if self.skip_duplicates and (key in self.seen or key in self.waiting):
            self.duplicates += 1
            self.consecutive_duplicates += 1
            if key in self.seen:
                self._answer_duplicate(trial, arch.index, key, class_id)
            else:  # its class is being trained at this epoch: answered from memory when that finishes
                self.waiting[key].append((trial, arch.index, class_id))
            if self.consecutive_duplicates >= self.duplicate_limit:
                self.stop_reason, self.exhausted = "only_duplicates", True
            return None
        self.consecutive_duplicates = self.consecutive_infeasible = 0
        model = (class_id, trial.model)
        resumed = self.paid.get(model) if trial.resume else None
        if resumed is not None:
            seed = resumed[2]
        else:
            available = self.seeds[self.done[class_id]]  # every class has one (check_searchable)
            seed = int(available[rng.integers(len(available))])
        result = self.benchmark.query(arch.index, epoch=epoch, seed=seed)
        trained_time = float(result.train_time)
        if not np.isfinite(trained_time):  # diverged before `epoch`: training stopped there
            from nasbench.search.runner import time_until_divergence

            trained_time = time_until_divergence(self.benchmark, arch.index, seed, epoch)
        cost = trained_time
        if resumed is not None and resumed[0] <= epoch:
            cost = max(cost - resumed[1], 0.0)
        return Evaluation(trial, arch, class_id, epoch, model, seed, result, trained_time, cost)

    def affords(self, evaluation: Evaluation, now: float) -> bool:
        """Whether ``evaluation``, started at ``now``, finishes within the budget (the first that does not is remembered)."""
        if now + evaluation.cost <= self.budget.seconds:
            return True
        if self.first_unaffordable is None:
            self.first_unaffordable = (evaluation.cost, evaluation.epoch)
        return False

    def started(self, evaluation: Evaluation) -> None:
        if self.skip_duplicates:
            self.waiting[evaluation.key] = []

    def _answer_duplicate(self, trial: Trial, index: int, key: tuple[int, int], class_id: int) -> None:
        answer, record = self.seen[key]
        if self.objectives:  # the class's accuracy, this architecture's own costs
            answer = replace(answer, objectives=self.objective_values(index, answer.valid_accuracy))
            # as if trained again (skip_duplicates only saves the cost): a cheaper member of the class may enter the front
            self.front.add(index, answer.objectives, key[1])
        self.paid[(class_id, trial.model)] = record  # a later resume continues from the remembered model
        self.strategy.tell(trial, answer)

    # ------------------------------------------------------------------ results
    def finished(self, evaluation: Evaluation, now: float, worker: int | None = None, start: float | None = None) -> None:
        """Tell the strategy how ``evaluation`` went, update the incumbent and the front, add its trajectory row
        (with ``worker`` and ``start`` when several workers run) and answer the duplicates that waited for it."""
        e = evaluation
        self.paid[e.model] = (e.epoch, e.trained_time, e.seed)
        valid = float(e.result.valid_accuracy)
        observation = Observation(
            valid_accuracy=valid,
            train_accuracy=float(e.result.train_accuracy),
            valid_loss=float(e.result.valid_loss),
            epoch=e.epoch,
            train_time=e.cost,
            objectives=self.objective_values(e.arch.index, valid) if self.objectives else None,
        )
        self.seen[e.key] = (Observation(**{**asdict(observation), "train_time": 0.0, "duplicate": True}), self.paid[e.model])
        self.strategy.tell(e.trial, observation)
        score = ranking_score(valid)
        incumbent = self.incumbent
        if incumbent is None or e.epoch > incumbent["epoch"] or (e.epoch == incumbent["epoch"] and score > incumbent["score"]):
            self.incumbent = incumbent = {"epoch": e.epoch, "score": score, "index": e.arch.index, "valid": valid}
        incumbent_test = self.ground_truth(incumbent["index"])
        row = {
            "n_evals": len(self.rows) + 1,
            "time": round(now, 6),
            "index": e.arch.index,
            "arch_str": e.arch.arch_str,
            "class_id": e.class_id,
            "epoch": e.epoch,
            "seed": e.seed,
            "cost": round(e.cost, 6),
            "valid_accuracy": valid,
            "test_accuracy": float(e.result.test_accuracy),
            "incumbent_index": incumbent["index"],
            "incumbent_valid": incumbent["valid"],
            "incumbent_test": incumbent_test,
            "regret": self.optimum - incumbent_test,
        }
        if worker is not None:  # one worker's rows stay as they always were: worker 0, start = time - cost
            row.update({"worker": worker, "start": round(start, 6)})
        if self.objectives:
            self.front.add(e.arch.index, observation.objectives, e.epoch)
            row.update({"objectives": list(observation.objectives), "front_size": len(self.front.members),
                        **self._front_numbers()})
        self.rows.append(row)
        for duplicate, index, duplicate_class in self.waiting.pop(e.key, []):
            self._answer_duplicate(duplicate, index, e.key, duplicate_class)

    def _front_numbers(self) -> dict[str, float]:
        return {"hypervolume": self.front.hypervolume, "hypervolume_test": self.front.hypervolume_test,
                "hv_regret": self.optimum_hv - self.front.hypervolume_test}

    def reached_max_evals(self) -> bool:
        if self.budget.max_evals is not None and len(self.rows) >= self.budget.max_evals:
            self.stop_reason = "max_evals"
            return True
        return False

    def result(self, elapsed: float, parallel: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run's result (JSON-able): its summary, books and trajectory; ``parallel``: the workers' record."""
        from nasbench.search.runner import BudgetTooSmall

        rows = self.rows
        if not rows and self.first_unaffordable is not None:  # an empty run has no incumbent: nothing to report
            cost, epoch = self.first_unaffordable
            cheapest = float(self.benchmark.optimum("train_time", epoch=epoch))
            raise BudgetTooSmall(
                f"budget.seconds={self.budget.seconds:g} ran out before the first evaluation: it costs {cost:.3g} "
                f"simulated s (epoch {epoch}; the cheapest architecture costs {cheapest:.3g} s); raise budget.seconds"
            )
        summary = final_summary(rows, self.space)
        if self.objectives:
            self.multiobjective["front"] = self.front.summary(self.space)
            if summary is not None:  # the front now, which a duplicate after the last evaluation may have changed
                summary.update({"front_size": len(self.front.members), **self._front_numbers()})
        return {
            "stop_reason": self.stop_reason,
            "num_evals": len(rows),
            "num_duplicates_skipped": self.duplicates,
            "max_consecutive_duplicates": self.duplicate_limit if self.skip_duplicates else None,
            "num_infeasible_skipped": self.infeasible,
            "simulated_time": elapsed,
            **(parallel or {}),
            "constraints": self.constraints,
            "num_feasible_architectures": None if self.feasible is None else int(self.feasible.sum()),
            "optimum_test_accuracy": self.optimum,
            **self.multiobjective,
            "final": summary,
            "strategy_state": self.strategy.state(),
            "trajectory": rows,
        }
