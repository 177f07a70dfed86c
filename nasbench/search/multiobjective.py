"""Objectives, constraints, Pareto fronts and hypervolume for hardware-aware search.

**Objectives** (``objectives: [valid_accuracy, params]``): ``valid_accuracy`` is
maximised (the search observes one training seed, like single-objective
search); ``params``, ``flops`` and ``latency`` are minimised. Costs are known
without training: ``params`` and ``flops`` are the architecture's analytic
counts, ``latency`` is the table's batch-1 forward time, mean over seeds. Reports
score a front by its **ground truth**: ``valid_accuracy`` is replaced by the
table's mean final *test* accuracy over seeds (as single-objective regret scores
the incumbent), costs stay as they are.

**Normalisation and reference point.** Every objective is mapped to a minimised
value: ``1 - accuracy`` and ``cost / largest cost`` (the largest ``params`` /
``flops`` of any architecture of the space, the largest mean ``latency`` of any
trained class: fixed per benchmark, the same with or without constraints). The
hypervolume reference point is accuracy 0 and 1.1 x the largest cost, i.e.
``(1, 1.1, ...)`` after normalisation, so the most expensive architecture still
adds volume; a 2-objective hypervolume is at most 1.1.

>>> hypervolume(np.array([[0.25, 0.5], [0.5, 0.25]]), np.array([1.0, 1.0]))   # 0.75 x 0.5 + 0.5 x 0.25
0.5
>>> non_dominated(np.array([[1, 2], [2, 1], [2, 2], [1, 2]])).tolist()
[True, True, False, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

#: every objective a search may optimise, and its direction
OBJECTIVES: dict[str, str] = {
    "valid_accuracy": "maximise",
    "params": "minimise",
    "flops": "minimise",
    "latency": "minimise",
}
#: costs known before training: constraints may bound them
COSTS = ("params", "flops", "latency")
#: what the report scores an objective on (the rest are scored on themselves)
TRUTH = {"valid_accuracy": "test_accuracy"}
#: the hypervolume reference point sits this far beyond the largest cost
COST_REFERENCE = 1.1
#: units used in messages
_UNITS = {"params": "", "flops": " MACs", "latency": " s"}


# ---------------------------------------------------------------------- config checks
def check_objectives(objectives: Any) -> tuple[str, ...] | None:
    """``None`` (single-objective: valid accuracy) or 2-3 distinct objective names; else a one-line error."""
    if objectives is None:
        return None
    valid = ", ".join(OBJECTIVES)
    if isinstance(objectives, (str, bytes)) or not isinstance(objectives, Sequence):
        raise ValueError(f"objectives must be a list of 2 or 3 names from {valid} (or null), got {objectives!r}")
    names = tuple(objectives)
    for name in names:
        if name not in OBJECTIVES:
            hint = ""
            if name == "test_accuracy":
                hint = " (a search never sees test metrics: valid_accuracy fronts are scored on test accuracy)"
            raise ValueError(f"unknown objective {name!r}; valid: {valid}{hint}")
    if len(set(names)) != len(names):
        raise ValueError(f"objectives must be distinct, got {list(names)}")
    if not 2 <= len(names) <= 3:
        raise ValueError(
            f"objectives must list 2 or 3 of {valid}, got {len(names)} ({', '.join(names) or 'none'}); "
            "leave objectives null for single-objective search on valid_accuracy"
        )
    if "valid_accuracy" not in names:
        # costs alone are known analytically: that front needs no search and no training
        raise ValueError(
            f"objectives must include valid_accuracy, got {list(names)}; a front of costs alone "
            f"({', '.join(names)}) is known without training"
        )
    return names


def check_constraints(constraints: Any) -> dict[str, float] | None:
    """Upper bounds on costs: ``{params, flops, latency}`` -> positive number or null; ``None`` if none is set."""
    if constraints is None:
        return None
    if not isinstance(constraints, Mapping):
        raise ValueError(f"constraint must be a mapping of {', '.join(COSTS)} to upper bounds, got {constraints!r}")
    out = {}
    for key, value in constraints.items():
        if key not in COSTS:
            raise ValueError(f"unknown constraint {key!r}; valid: {', '.join(COSTS)}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
            raise ValueError(f"constraint.{key} must be a positive number or null, got {value!r}")
        out[key] = float(value)
    return out or None


def describe_constraints(constraints: Mapping[str, float] | None) -> str:
    """``params <= 20000, latency <= 0.0005 s`` (or ``none``)."""
    if not constraints:
        return "none"
    return ", ".join(f"{k} <= {_fmt(v)}{_UNITS[k]}" for k, v in constraints.items())


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.6g}"


# ---------------------------------------------------------------------- per-architecture table
@dataclass(frozen=True)
class ArchTable:
    """Costs and ground truth of every architecture of a benchmark, ``(N,)`` float64 each.

    ``latency`` and ``test_accuracy`` are the class's mean over trained seeds
    (final epoch), NaN where the class is not trained; ``trained`` says which.
    """

    params: np.ndarray
    flops: np.ndarray
    latency: np.ndarray
    test_accuracy: np.ndarray
    trained: np.ndarray

    @classmethod
    def from_benchmark(cls, benchmark: Any) -> "ArchTable":
        n = len(benchmark.space)
        batch = benchmark.query_batch(np.arange(n), missing="nan")
        return cls(
            params=np.asarray(batch["params"], dtype=np.float64),
            flops=np.asarray(batch["flops"], dtype=np.float64),
            latency=np.asarray(batch["latency"], dtype=np.float64),
            test_accuracy=np.asarray(batch["test_accuracy"], dtype=np.float64),
            trained=np.asarray(batch["num_seeds"]) > 0,
        )

    def cost(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def largest_costs(self) -> dict[str, float]:
        """Normalisers: the largest params/flops of the space, the largest latency of a trained class."""
        latency = self.latency[self.trained & np.isfinite(self.latency)]
        return {
            "params": float(self.params.max()),
            "flops": float(self.flops.max()),
            "latency": float(latency.max()) if len(latency) else 1.0,
        }

    def feasible(self, constraints: Mapping[str, float] | None) -> np.ndarray:
        """Architectures within every bound, ``(N,)`` bool (an unknown latency is out of bounds).

        A one-line error if no trained architecture is within them.
        """
        mask = np.ones(len(self.params), dtype=bool)
        for key, limit in (constraints or {}).items():
            with np.errstate(invalid="ignore"):
                mask &= self.cost(key) <= limit
        if constraints and not (mask & self.trained).any():
            raise ValueError(self._impossible(constraints))
        return mask

    def _impossible(self, constraints: Mapping[str, float]) -> str:
        smallest = {}
        for key in constraints:
            values = self.cost(key)[self.trained]
            values = values[np.isfinite(values)]
            smallest[key] = float(values.min()) if len(values) else float("nan")
        alone = [k for k, limit in constraints.items() if not smallest[k] <= limit]
        if alone:
            k = alone[0]
            return (
                f"no architecture satisfies the constraint {k} <= {_fmt(constraints[k])}{_UNITS[k]}: "
                f"the smallest achievable {k} is {_fmt(smallest[k])}{_UNITS[k]}"
            )
        each = ", ".join(f"{k} {_fmt(v)}{_UNITS[k]}" for k, v in smallest.items())
        return (
            f"no architecture satisfies the constraints {describe_constraints(constraints)} together; "
            f"the smallest achievable values, each on its own, are {each}"
        )


# ---------------------------------------------------------------------- normalisation
class Normaliser:
    """Map raw objective values to minimised, normalised ones (see the module docstring).

    >>> norm = Normaliser(("valid_accuracy", "params"), {"params": 2000.0})
    >>> norm(np.array([[0.9, 1000.0]])).tolist(), norm.reference.tolist()
    ([[0.09999999999999998, 0.5]], [1.0, 1.1])
    """

    def __init__(self, objectives: Sequence[str], largest: Mapping[str, float]):
        self.objectives = tuple(objectives)
        self.maximise = np.array([OBJECTIVES[o] == "maximise" for o in self.objectives])
        self.scale = np.array([1.0 if m else float(largest[o]) for o, m in zip(self.objectives, self.maximise)])
        self.reference = np.where(self.maximise, 1.0, COST_REFERENCE)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=np.float64))
        # an accuracy that is not finite (a diverged run) counts as 0
        acc = np.where(np.isfinite(values), values, 0.0)
        return np.where(self.maximise, 1.0 - acc, values / self.scale)

    def reference_raw(self) -> dict[str, float]:
        """The reference point in raw units: accuracy 0, 1.1 x the largest cost."""
        return {o: (0.0 if m else float(COST_REFERENCE * s)) for o, m, s in zip(self.objectives, self.maximise, self.scale)}


def minimised(values: Sequence[float], objectives: Sequence[str]) -> np.ndarray:
    """Raw objective values as a vector to minimise: accuracies negated (non-finite accuracy counts as 0)."""
    out = np.array(values, dtype=np.float64)
    for i, name in enumerate(objectives):
        if OBJECTIVES[name] == "maximise":
            out[i] = -out[i] if np.isfinite(out[i]) else -0.0
    return out


# ---------------------------------------------------------------------- dominance
def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is no worse than ``b`` everywhere and better somewhere (minimisation)."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Mask ``(n,)`` of the Pareto-optimal rows of ``points`` ``(n, m)`` (minimisation).

    Of several identical non-dominated rows only the first is kept.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    # lexicographic order: no row can be dominated by a later one
    order = np.lexsort(points.T[::-1])
    if points.shape[1] == 2:
        best = np.inf
        for i in order:
            if points[i, 1] < best:
                mask[i] = True
                best = points[i, 1]
        return mask
    front = np.empty((0, points.shape[1]))
    for i in order:
        p = points[i]
        if len(front) and np.any(np.all(front <= p, axis=1)):
            continue  # dominated by (or equal to) a kept row
        mask[i] = True
        front = np.vstack([front, p])
    return mask


def nondominated_sort(points: np.ndarray) -> list[np.ndarray]:
    """Fronts of ``points`` ``(n, m)`` (minimisation): lists of row indices, best front first."""
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n == 0:
        return []
    le = np.all(points[:, None, :] <= points[None, :, :], axis=2)
    lt = np.any(points[:, None, :] < points[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    fronts = []
    current = np.flatnonzero(count == 0)
    while len(current):
        fronts.append(current)
        count = count - dom[current].sum(axis=0)
        count[current] = -1
        current = np.flatnonzero(count == 0)
    return fronts


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row of one front; boundary rows get ``inf``."""
    points = np.asarray(points, dtype=np.float64)
    n, m = points.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(m):
        order = np.argsort(points[:, j], kind="stable")
        values = points[order, j]
        span = values[-1] - values[0]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume dominated by ``points`` ``(n, m)`` up to ``reference`` (minimisation).

    Rows not strictly better than the reference in every objective add nothing.
    Two objectives: a sweep; more: slicing along the last objective.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, len(reference))
    reference = np.asarray(reference, dtype=np.float64)
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    points = points[non_dominated(points)]
    return float(_hv(points, reference))


def _hv(points: np.ndarray, reference: np.ndarray) -> float:
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    if points.shape[1] == 2:
        order = np.lexsort((points[:, 1], points[:, 0]))
        volume, best = 0.0, reference[1]
        for x, y in points[order]:
            if y < best:
                volume += (reference[0] - x) * (best - y)
                best = y
        return volume
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    volume = 0.0
    for i in range(len(points)):
        top = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        depth = top - points[i, -1]
        if depth > 0:
            slab = points[: i + 1, :-1]
            volume += depth * _hv(slab[non_dominated(slab)], reference[:-1])
    return volume


# ---------------------------------------------------------------------- ground truth
def truth_values(table: ArchTable, objectives: Sequence[str], indices: np.ndarray) -> np.ndarray:
    """Ground-truth objective values ``(n, m)`` of architectures: test accuracy for valid accuracy, costs as they are."""
    indices = np.asarray(indices, dtype=np.intp)
    cols = [getattr(table, TRUTH.get(o, o))[indices] for o in objectives]
    return np.stack(cols, axis=1) if cols else np.empty((len(indices), 0))


def true_front(table: ArchTable, objectives: Sequence[str], feasible: np.ndarray, normaliser: Normaliser) -> dict[str, Any]:
    """The Pareto front of the feasible trained architectures by ground truth, and its hypervolume."""
    indices = np.flatnonzero(feasible)
    raw = truth_values(table, objectives, indices)
    points = normaliser(raw)
    keep = non_dominated(points)
    order = np.lexsort(points[keep].T[::-1])
    return {
        "indices": indices[keep][order],
        "values": raw[keep][order],
        "hypervolume": hypervolume(points[keep], normaliser.reference),
    }


class FrontTracker:
    """The non-dominated set of a run's evaluations, as seen (valid accuracy) and by ground truth.

    Like the single-objective incumbent, the front holds the evaluations at the
    highest epoch evaluated so far (a multi-fidelity search restarts it when it
    first trains to a higher epoch). Observations whose accuracy is not finite
    (diverged) do not enter it.
    """

    def __init__(self, objectives: Sequence[str], table: ArchTable, normaliser: Normaliser):
        self.objectives = tuple(objectives)
        self.table = table
        self.normaliser = normaliser
        self.epoch = 0
        self.members: list[dict[str, Any]] = []
        self.hypervolume = 0.0
        self.hypervolume_test = 0.0

    def add(self, index: int, values: Sequence[float], epoch: int) -> None:
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            return
        if epoch > self.epoch:
            self.epoch, self.members = epoch, []
        elif epoch < self.epoch:
            return
        point = self.normaliser(values)[0]
        if any(np.all(m["point"] <= point) for m in self.members):
            return  # dominated by, or equal to, a member: nothing changes
        self.members = [m for m in self.members if not dominates(point, m["point"])]
        truth = truth_values(self.table, self.objectives, np.array([index]))[0]
        self.members.append({"index": int(index), "values": values, "point": point, "truth": truth})
        self.members.sort(key=lambda m: tuple(m["point"]))
        reference = self.normaliser.reference
        self.hypervolume = hypervolume(np.array([m["point"] for m in self.members]), reference)
        self.hypervolume_test = hypervolume(self.normaliser(np.array([m["truth"] for m in self.members])), reference)

    def summary(self, space: Any) -> list[dict[str, Any]]:
        return [
            {
                "index": m["index"],
                "arch_str": space[m["index"]].arch_str,
                "observed": [float(v) for v in m["values"]],
                "truth": [float(v) for v in m["truth"]],
            }
            for m in self.members
        ]


__all__ = [
    "OBJECTIVES", "COSTS", "TRUTH", "COST_REFERENCE", "check_objectives", "check_constraints",
    "describe_constraints", "ArchTable", "Normaliser", "minimised", "dominates", "non_dominated",
    "nondominated_sort", "crowding_distance", "hypervolume", "truth_values", "true_front", "FrontTracker",
]
