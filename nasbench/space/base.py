"""The search-space abstraction every other part of nasbench works through.

A search space is a product of categorical decisions (an op per edge of a cell,
a block per position of a sequence, ...). Everything downstream -- the
generator, the table, the strategies, the surrogate -- sees only:

* ``len(space)`` architectures with a stable integer index ``0..N-1``;
* ``space.num_choices``: options per decision, so that mutation, policies and
  neighbourhoods are defined once for every space;
* ``space.class_ids()``: which architectures compute the same function;
* ``space.parse(x)``: any encoding to an :class:`Arch`;
* ``space.features(decisions)``: a numeric encoding for predictors;
* ``space.costs(...)`` and ``space.build_model(...)``.

No torch is imported here; model building imports it lazily.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator, Sequence

import numpy as np

#: an index written as text: ASCII digits only (``str.isdigit`` also takes '²', '٣', ...)
_INDEX_TEXT = re.compile(r"-?[0-9]+")


class SpaceError(ValueError):
    """Bad input for a search space: the message says what was wrong and what is valid."""


@dataclass(frozen=True)
class Arch:
    """One architecture of a space, identified by its integer index.

    All encodings are derived from ``(space, index)``; see the space's
    ``encodings()`` for what it offers.
    """

    space: "SearchSpace"
    index: int

    @property
    def decisions(self) -> tuple[int, ...]:
        """Option index per decision, shape ``(num_decisions,)``."""
        return tuple(int(d) for d in self.space.decisions_of(self.index))

    @property
    def arch_str(self) -> str:
        return self.space.to_string(self.decisions)

    @property
    def class_id(self) -> int:
        return int(self.space.class_ids()[self.index])

    @property
    def one_hot(self) -> np.ndarray:
        return self.space.one_hot(self.decisions)

    def __str__(self) -> str:
        return self.arch_str

    def __repr__(self) -> str:
        return f"Arch({self.index}, {self.arch_str!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Arch)
            and other.index == self.index
            and other.space.signature == self.space.signature
        )

    def __hash__(self) -> int:
        return hash((self.space.signature, self.index))

    def __getattr__(self, name: str) -> Any:
        # Space-specific encodings (matrix, graph, path_encoding, ...) live on the space.
        # The fields themselves are never looked up here (a half-built instance, as
        # during unpickling, would otherwise recurse).
        if name.startswith("_") or name in ("space", "index"):
            raise AttributeError(name)
        encoder = getattr(type(self.space), f"to_{name}", None)
        if encoder is None:
            raise AttributeError(
                f"{type(self).__name__} has no encoding {name!r}; "
                f"valid: {', '.join(self.space.encodings())}"
            )
        return encoder(self.space, self.decisions)


class SearchSpace(ABC):
    """A finite product of categorical decisions. Subclasses define the meaning."""

    #: short name used in configs and table metadata
    kind: str = "abstract"

    @property
    @abstractmethod
    def num_choices(self) -> tuple[int, ...]:
        """Number of options of each decision, shape ``(num_decisions,)``."""

    @abstractmethod
    def to_string(self, decisions: Sequence[int]) -> str:
        """The space's canonical string for an architecture."""

    @abstractmethod
    def from_string(self, text: str) -> tuple[int, ...]:
        """Inverse of :meth:`to_string`; raises :class:`SpaceError`."""

    @abstractmethod
    def _compute_class_keys(self) -> list[Any]:
        """A hashable key per architecture; equal keys mean the same function."""

    @abstractmethod
    def _compute_connected(self) -> np.ndarray:
        """Bool per architecture: does the output depend on the input?"""

    @abstractmethod
    def config(self) -> dict:
        """JSON-able description from which :func:`space_from_config` rebuilds the space."""

    @abstractmethod
    def costs(self, decisions: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """Analytic ``params`` (count) and ``flops`` (multiply-accumulates) of the built model.

        ``decisions`` is ``(D,)`` (returns ints) or ``(n, D)`` (returns ``(n,)`` int64 arrays).
        """

    @abstractmethod
    def build_model(self, decisions: Sequence[int], **skeleton: Any):
        """The ``torch.nn.Module`` the generator trains (imports torch)."""

    def build_supernet(self):
        """A :class:`~nasbench.space.supernet.Supernet` holding every option (for one-shot search)."""
        raise SpaceError(f"{type(self).__name__} has no supernet; one-shot strategies (darts, gdas, spos) need a space that defines one")

    @abstractmethod
    def features(self, decisions: np.ndarray) -> np.ndarray:
        """Numeric features for predictors, ``(n, num_features)`` float32, from ``(n, num_decisions)``."""

    # ------------------------------------------------------------------ indices
    @cached_property
    def _choices(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self.num_choices)

    @property
    def num_decisions(self) -> int:
        return len(self._choices)

    def __len__(self) -> int:
        return int(np.prod(self.num_choices, dtype=np.int64))

    def __iter__(self) -> Iterator[Arch]:
        return (Arch(self, i) for i in range(len(self)))

    def __getitem__(self, index: int) -> Arch:
        return Arch(self, self._check_index(index))

    @cached_property
    def _radix(self) -> np.ndarray:
        # The first decision is the most significant digit, so iteration order is
        # lexicographic in decision order.
        weights = np.ones(self.num_decisions, dtype=np.int64)
        for d in range(self.num_decisions - 2, -1, -1):
            weights[d] = weights[d + 1] * self.num_choices[d + 1]
        return weights

    @cached_property
    def _radix_list(self) -> list[int]:
        return [int(w) for w in self._radix]

    def _index_of_valid(self, decisions: Sequence[int]) -> int:
        """Index of decisions already checked (``_check_decisions`` or a ``from_*`` decoder)."""
        return sum(d * w for d, w in zip(decisions, self._radix_list))

    def index_of(self, decisions: Sequence[int] | np.ndarray) -> int | np.ndarray:
        """Index of one ``(D,)`` or many ``(n, D)`` decision vectors; raises :class:`SpaceError`."""
        arr = self._decision_array(decisions)
        return int(arr @ self._radix) if arr.ndim == 1 else arr @ self._radix

    def decisions_of(self, index: int | np.ndarray) -> np.ndarray:
        """Decision vector(s) of index(es): ``(D,)`` or ``(n, D)`` int64; raises :class:`SpaceError`."""
        idx = np.asarray(index)
        if idx.dtype.kind not in "iu":
            raise SpaceError(f"architecture indices must be integers in 0..{len(self) - 1}, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise SpaceError(f"architecture index out of range; valid: 0..{len(self) - 1}")
        idx = idx.astype(np.int64, copy=False)
        return (idx[..., None] // self._radix) % np.asarray(self.num_choices)

    def _decision_array(self, decisions: Any) -> np.ndarray:
        """``(D,)`` or ``(n, D)`` int64 array of valid option indices, else :class:`SpaceError`."""
        d = self.num_decisions
        try:
            arr = np.asarray(decisions)
        except Exception:
            arr = None
        if arr is None or arr.dtype.kind not in "iu" or arr.ndim not in (1, 2) or arr.shape[-1] != d:
            got = "an unreadable object" if arr is None else f"shape {arr.shape} of {arr.dtype}"
            raise SpaceError(f"decisions must be integer option indices of shape ({d},) or (n, {d}), got {got}")
        if arr.size:
            bad = (arr < 0) | (arr >= np.asarray(self.num_choices))
            if bad.any():
                pos = int(np.argwhere(bad)[0][-1])
                raise SpaceError(
                    f"decision {pos} out of range; valid: 0..{self.num_choices[pos] - 1}"
                )
        return arr.astype(np.int64, copy=False)

    @cached_property
    def all_decisions(self) -> np.ndarray:
        """Every architecture's decisions, ``(N, D)`` int64, in index order."""
        arr = self.decisions_of(np.arange(len(self)))
        arr.flags.writeable = False
        return arr

    def _check_index(self, index: Any) -> int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise SpaceError(
                f"architecture index must be an integer in 0..{len(self) - 1}, got {type(index).__name__}"
            )
        if not 0 <= index < len(self):
            raise SpaceError(f"architecture index {index} out of range; valid: 0..{len(self) - 1}")
        return int(index)

    def _check_decisions(self, decisions: Any) -> tuple[int, ...]:
        try:
            values = list(decisions)
        except TypeError:
            raise SpaceError(
                f"decisions must be a sequence of {self.num_decisions} option indices, "
                f"got {type(decisions).__name__}"
            ) from None
        if len(values) != self.num_decisions:
            raise SpaceError(
                f"expected {self.num_decisions} decisions, got {len(values)}"
            )
        out = []
        for d, (value, k) in enumerate(zip(values, self._choices)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise SpaceError(f"decision {d} must be an integer option index in 0..{k - 1}, got {value!r}")
            if not 0 <= value < k:
                raise SpaceError(f"decision {d} = {value} out of range; valid: 0..{k - 1}")
            out.append(int(value))
        return tuple(out)

    # ------------------------------------------------------------------ parse
    def encodings(self) -> list[str]:
        """Names of the encodings :meth:`parse` accepts and :class:`Arch` offers."""
        names = ["index", "arch_str", "decisions", "one_hot"]
        names += [n[3:] for n in dir(type(self)) if n.startswith("to_") and n != "to_string"]
        return sorted(set(names))

    def parse(self, x: Any) -> Arch:
        """Any encoding (an :class:`Arch`, index, string, decision list, one-hot, ...) to an :class:`Arch`."""
        if isinstance(x, Arch):
            if x.space.signature != self.signature:
                raise SpaceError(f"architecture {x.arch_str!r} belongs to another space ({x.space.kind})")
            return x
        if isinstance(x, (bool, np.bool_)):
            raise SpaceError(
                f"an architecture cannot be a bool; valid encodings: {', '.join(self.encodings())}"
            )
        if isinstance(x, (int, np.integer)):
            return self[int(x)]
        if isinstance(x, str):
            text = x.strip()
            if _INDEX_TEXT.fullmatch(text):
                if len(text.lstrip("-")) > 30:  # int() refuses very long digit strings
                    raise SpaceError(f"architecture index {text[:20]}... out of range; valid: 0..{len(self) - 1}")
                return self[int(text)]
            return Arch(self, self._index_of_valid(self.from_string(text)))
        if isinstance(x, (float, complex, np.floating, np.complexfloating)):
            raise SpaceError(
                f"architecture index must be an integer in 0..{len(self) - 1}, got {type(x).__name__} {x!r}"
            )
        parsed = self._parse_other(x)
        if parsed is not None:
            return Arch(self, self._index_of_valid(parsed))
        if isinstance(x, (list, tuple)) and _mixes_bools(x):
            # numpy would silently read true/false as 1/0 next to integers
            raise SpaceError("an encoding mixes true/false with numbers; write option indices or one-hot as integers")
        try:
            arr = np.asarray(x)
        except Exception:
            arr = None
        if arr is None or arr.dtype == object or arr.size == 0 or arr.dtype.kind not in "biufUS":
            raise SpaceError(
                f"cannot read an architecture from {type(x).__name__}; valid encodings: "
                f"{', '.join(self.encodings())}"
            )
        if arr.ndim == 0:
            if arr.dtype.kind in "iu":
                return self[int(arr)]
            raise SpaceError(
                f"cannot read an architecture from a scalar {arr.dtype}; valid encodings: "
                f"{', '.join(self.encodings())}"
            )
        return Arch(self, self._index_of_valid(self._parse_array(arr)))

    def _parse_other(self, x: Any) -> tuple[int, ...] | None:
        """Hook for space-specific objects (graphs, ...). ``None`` if not recognised."""
        return None

    def _array_encodings(self) -> list[str]:
        """The array encodings :meth:`_parse_array` reads, for error messages."""
        return [f"({self.num_decisions},) option names or indices", f"({sum(self.num_choices)},) one-hot"]

    def _parse_array(self, arr: np.ndarray) -> tuple[int, ...]:
        """Decisions from an array: names, option indices or one-hot."""
        if arr.ndim != 1 or arr.dtype.kind not in "biufUS":
            raise SpaceError(
                f"cannot read an architecture from an array of shape {arr.shape} and dtype {arr.dtype}; "
                f"valid: {', '.join(self._array_encodings())}"
            )
        if arr.dtype.kind in "US":
            if len(arr) != self.num_decisions:
                self._raise_length(len(arr))
            return self._check_decisions([self._option_index(d, str(v)) for d, v in enumerate(arr)])
        if len(arr) == self.num_decisions:
            if arr.dtype.kind == "b":
                raise SpaceError(
                    f"option indices must be integers, not bools; valid: {', '.join(self._array_encodings())}"
                )
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
                raise SpaceError(f"option indices must be whole numbers in 0..{max(self.num_choices) - 1}")
            return self._check_decisions([int(v) for v in arr])
        if len(arr) == sum(self.num_choices):
            return self.from_one_hot(arr)
        return self._raise_length(len(arr))

    def _raise_length(self, n: int):
        raise SpaceError(
            f"a 1-D encoding of length {n} matches none of this space's: {', '.join(self._array_encodings())}"
        )

    def option_names(self, decision: int) -> list[str]:
        """Names of the options of one decision."""
        return [str(i) for i in range(self.num_choices[decision])]

    def _option_index(self, decision: int, name: str) -> int:
        names = self.option_names(decision)
        if name not in names:
            raise SpaceError(f"unknown option {name!r} at position {decision}; valid: {', '.join(names)}")
        return names.index(name)

    # ------------------------------------------------------------------ one-hot
    def one_hot(self, decisions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Concatenated one-hot per decision, ``(sum(num_choices),)`` or ``(n, ...)`` float32."""
        arr = self._decision_array(decisions)
        single = arr.ndim == 1
        arr = np.atleast_2d(arr)
        offsets = np.concatenate([[0], np.cumsum(self.num_choices)[:-1]])
        out = np.zeros((len(arr), sum(self.num_choices)), dtype=np.float32)
        np.put_along_axis(out, arr + offsets, 1.0, axis=1)
        return out[0] if single else out

    def from_one_hot(self, vector: Sequence[float] | np.ndarray) -> tuple[int, ...]:
        vec = _numeric_vector(vector, "one-hot")
        if vec.shape != (sum(self.num_choices),):
            raise SpaceError(
                f"one-hot must have shape ({sum(self.num_choices)},) "
                f"({self.num_decisions} blocks of {', '.join(map(str, self.num_choices))}), got {vec.shape}"
            )
        if not np.all((vec == 0) | (vec == 1)):
            raise SpaceError("one-hot entries must be 0 or 1")
        starts = self._one_hot_starts
        sums = np.add.reduceat(vec, starts)
        if np.any(sums != 1):
            d = int(np.flatnonzero(sums != 1)[0])
            start, k = int(starts[d]), self._choices[d]
            raise SpaceError(
                f"one-hot block of decision {d} (entries {start}..{start + k - 1}) must hold exactly one 1, "
                f"holds {int(sums[d])}"
            )
        return tuple((np.flatnonzero(vec) - starts).tolist())

    @cached_property
    def _one_hot_starts(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self._choices)[:-1]]).astype(np.int64)

    # ------------------------------------------------------------------ classes
    @cached_property
    def _classes(self) -> tuple[np.ndarray, np.ndarray]:
        keys = self._compute_class_keys()
        lookup: dict[Any, int] = {}
        ids = np.fromiter((lookup.setdefault(k, len(lookup)) for k in keys), dtype=np.int32, count=len(keys))
        # Representative: the cheapest member (no dead parametric ops), ties by index.
        params = self.costs(self.all_decisions)["params"]
        order = np.lexsort((np.arange(len(ids)), params, ids))
        first = np.ones(len(order), dtype=bool)
        first[1:] = ids[order][1:] != ids[order][:-1]
        reps = order[first].astype(np.int64)
        ids.flags.writeable = False
        reps.flags.writeable = False
        return ids, reps

    def class_ids(self) -> np.ndarray:
        """Isomorphism class id per architecture, ``(N,)`` int32, ids ``0..num_classes-1`` in order of first appearance."""
        return self._classes[0]

    def representatives(self) -> np.ndarray:
        """Index of the architecture trained for each class, ``(num_classes,)``: the member with fewest params, then lowest index."""
        return self._classes[1]

    @property
    def num_classes(self) -> int:
        return len(self.representatives())

    @cached_property
    def _connected(self) -> np.ndarray:
        arr = np.asarray(self._compute_connected(), dtype=bool)
        arr.flags.writeable = False
        return arr

    def is_connected(self) -> np.ndarray:
        """Whether each architecture's output depends on its input, ``(N,)`` bool."""
        return self._connected

    # ------------------------------------------------------------------ moves
    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random architecture."""
        return Arch(self, int(rng.integers(len(self))))

    def neighbours(self, arch: Arch) -> list[Arch]:
        """Every architecture that differs from ``arch`` in exactly one decision, in a fixed order."""
        decisions = list(self.parse(arch).decisions)
        out = []
        for d, k in enumerate(self.num_choices):
            for option in range(k):
                if option != decisions[d]:
                    moved = decisions.copy()
                    moved[d] = option
                    out.append(Arch(self, self.index_of(moved)))
        return out

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one uniformly chosen decision to a different option."""
        decisions = list(self.parse(arch).decisions)
        mutable = [d for d, k in enumerate(self.num_choices) if k > 1]
        d = int(rng.choice(mutable))
        options = [o for o in range(self.num_choices[d]) if o != decisions[d]]
        decisions[d] = int(rng.choice(options))
        return Arch(self, self.index_of(decisions))

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        """Uniform crossover: each decision from either parent with probability 1/2."""
        a, b = self.parse(a), self.parse(b)
        take_a = rng.random(self.num_decisions) < 0.5
        child = np.where(take_a, a.decisions, b.decisions)
        return Arch(self, self.index_of(child))

    # ------------------------------------------------------------------ identity
    @cached_property
    def signature(self) -> str:
        """Short hash of :meth:`config`: tables and models record it to refuse foreign spaces."""
        blob = json.dumps(self.config(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and other.signature == self.signature

    def __hash__(self) -> int:
        return hash(self.signature)


def _mixes_bools(values: list | tuple) -> bool:
    """Whether a (possibly nested) list holds both bools and other values."""
    flat: list = []
    for v in values:
        flat.extend(v if isinstance(v, (list, tuple)) else [v])
    bools = sum(isinstance(v, (bool, np.bool_)) for v in flat)
    return 0 < bools < len(flat)


def _numeric_vector(vector: Any, what: str) -> np.ndarray:
    """``vector`` as a float64 array, or :class:`SpaceError` if it holds no numbers."""
    try:
        arr = np.asarray(vector)
        if arr.dtype.kind not in "biuf":
            raise TypeError
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise SpaceError(f"{what} must be an array of 0s and 1s, got {type(vector).__name__}") from None


# ---------------------------------------------------------------------- constructor checks
def int_arg(name: str, value: Any, low: int, high: int | None = None) -> int:
    """A constructor integer, or :class:`SpaceError` naming the valid range."""
    valid = f"{low}..{high}" if high is not None else f">= {low}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise SpaceError(f"{name} must be an integer {valid}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise SpaceError(f"{name} must be an integer {valid}, got {value!r}")
    return int(value)


def is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) or (
        hasattr(value, "__len__") and hasattr(value, "__getitem__") and not isinstance(value, (str, bytes, dict))
    )


def check_menu(label: str, item: str, names: Any, known: Sequence[str]) -> tuple[str, ...]:
    """A space's option menu: at least 2 distinct names from ``known``, or :class:`SpaceError`."""
    if isinstance(names, str) or not is_sequence(names):
        raise SpaceError(f"{label} must be a list of {item} names from {', '.join(known)}; got {names!r}")
    names = tuple(names)
    unknown = [n for n in names if not isinstance(n, str) or n not in known]
    if unknown:
        raise SpaceError(f"unknown {item} {unknown[0]!r}; valid: {', '.join(known)}")
    if len(set(names)) != len(names) or len(names) < 2:
        raise SpaceError(f"{label} must be at least 2 distinct names from {', '.join(known)}; got {list(names)}")
    return names


def check_channels(channels: Any) -> tuple[int, ...]:
    """Channels per stage: a non-empty list of positive integers, or :class:`SpaceError`."""
    if isinstance(channels, str) or not is_sequence(channels) or len(channels) == 0:
        raise SpaceError(f"channels must be a non-empty list of positive integers, got {channels!r}")
    return tuple(int_arg("channels", c, 1) for c in channels)


#: the fixed module between stages: NAS-Bench-201's residual block, or a linear pool + 1x1 conv + BN
REDUCTIONS = ("pool", "residual")


def check_reduction(reduction: Any) -> str:
    """A reduction name of :data:`REDUCTIONS`, or :class:`SpaceError`."""
    if reduction not in REDUCTIONS:
        raise SpaceError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")
    return reduction


def stage_lengths(input_length: int, stages: int) -> list[int]:
    """Signal length in each stage: every reduction halves it, rounding up (stride 2)."""
    lengths = [input_length]
    for _ in range(stages - 1):
        lengths.append((lengths[-1] - 1) // 2 + 1)
    return lengths


def skeleton_costs(in_channels: int, channels: Sequence[int], input_length: int, num_classes: int,
                   reduction: str) -> tuple[int, int]:
    """Params and MACs of the macro skeleton: stem conv + BN, the reductions, BN + linear head."""
    c0 = channels[0]
    params = in_channels * c0 * 3 + 2 * c0  # stem conv + BN
    macs = in_channels * c0 * 3 * input_length
    lengths = stage_lengths(input_length, len(channels))
    for (c_in, c_out), length in zip(zip(channels, channels[1:]), lengths[1:]):
        if reduction == "residual":
            params += c_in * c_out * 3 + 2 * c_out  # conv_a (stride 2) + BN
            params += c_out * c_out * 3 + 2 * c_out  # conv_b + BN
            params += c_in * c_out  # shortcut 1x1 conv after avg-pool
            macs += (c_in * c_out * 3 + c_out * c_out * 3 + c_in * c_out) * length
        else:
            params += c_in * c_out + 2 * c_out  # 1x1 conv after avg-pool + BN
            macs += c_in * c_out * length
    c_last = channels[-1]
    params += 2 * c_last + c_last * num_classes + num_classes  # BN + linear
    macs += c_last * num_classes
    return params, macs
