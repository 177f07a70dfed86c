"""NAS-Bench-201-style cell space: a DAG of nodes, one op per edge.

Node ``j`` is the sum over ``i < j`` of ``op_{i->j}(node_i)``; node 0 is the cell
input, the last node its output. Decisions are the edges in NAS-Bench-201's
order: ``(0->1), (0->2), (1->2), (0->3), (1->3), (2->3), ...``.

Encodings (each round-trips through :meth:`CellSpace.parse`):

* ``arch_str``: ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``, byte-identical
  to NAS-Bench-201's ``Structure.tostr()``;
* ``index``: ``0..N-1``, the edges read as a mixed-radix number, first edge most
  significant;
* ``ops`` (names) and ``decisions`` (op indices) in edge order;
* ``matrix``: ``(nodes, nodes)`` int, ``M[i, j]`` = op index on edge ``i->j`` for
  ``i < j``, and ``NO_EDGE`` (-1) elsewhere;
* ``graph``: ``networkx.DiGraph``, nodes ``0..n-1`` are tensors, every edge
  ``i->j`` carries ``op=<name>`` (a missing edge, or a missing node's, reads as ``none``);
* ``one_hot``: ``(edges * ops,)`` float32;
* ``path_encoding``: BANANAS-style indicator over op sequences along input-to-output
  paths (``none`` cuts a path), ``(sum_L K'^L,)`` for path lengths ``L = 1..n-1``
  and ``K'`` non-``none`` ops. It is many-to-one: decoding returns the
  lowest-index architecture with that encoding.
"""

from __future__ import annotations

import itertools
import re
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from nasbench.space.base import (SearchSpace, SpaceError, _numeric_vector, check_channels, check_menu, check_reduction, int_arg,
                                  is_sequence, skeleton_costs, stage_lengths)

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: every op the model builder knows; a space uses a subset, in the order given
KNOWN_OPS = NB201_OPS + ("nor_conv_5x5", "max_pool_3x3")
NO_EDGE = -1
_CONV_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3, "nor_conv_5x5": 5}
#: one ``op~i`` item; matched with ``fullmatch`` (``$`` would let a trailing newline
#: through) and ASCII digits only (``\d`` takes any Unicode digit)
_EDGE_RE = re.compile(r"(?P<op>[A-Za-z0-9_]+)~(?P<src>[0-9]+)")


class CellSpace(SearchSpace):
    """Cells of ``num_nodes`` nodes with one op from ``ops`` per edge, in a fixed macro skeleton.

    The skeleton (for 1-D signals, scaled down from NAS-Bench-201): stem conv
    (k=3) + BN; for each stage a stack of ``cells_per_stage`` cells at
    ``channels[s]``, a reduction between stages; BN + ReLU, global average
    pooling, a linear head.

    ``reduction`` is the module between stages:

    * ``residual`` (default, NAS-Bench-201's): two ReLU-Conv3-BN (the first with
      stride 2) plus a pooled 1x1 shortcut. It holds four 3-tap convolutions of
      its own, so the skeleton is a capable network whatever the cells hold: on
      MNIST-1D a cell of skip connections scores within a point of the best.
    * ``pool``: average-pool to half length, 1x1 conv, BN -- linear, so the
      cells carry every nonlinear, spatial operation and decide the network.

    ``config()`` names ``reduction`` only when it is not the default, so tables made
    before the option existed keep their space identity.

    >>> space = CellSpace()
    >>> len(space), space.num_classes
    (15625, 6466)
    >>> space.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|").index
    9527
    """

    kind = "cell"

    def __init__(
        self,
        num_nodes: int = 4,
        ops: Sequence[str] = NB201_OPS,
        channels: Sequence[int] = (8, 16, 32),
        cells_per_stage: int = 1,
        in_channels: int = 1,
        input_length: int = 40,
        num_classes: int = 10,
        reduction: str = "residual",
    ):
        self.reduction = check_reduction(reduction)
        ops = check_menu("ops", "op", ops, KNOWN_OPS)
        num_nodes = int_arg("num_nodes", num_nodes, 2, 6)
        channels = check_channels(channels)
        cells_per_stage = int_arg("cells_per_stage", cells_per_stage, 1)
        in_channels = int_arg("in_channels", in_channels, 1)
        num_classes = int_arg("num_classes", num_classes, 2)
        input_length = int_arg("input_length", input_length, 2 ** (len(channels) - 1))
        self.num_nodes = num_nodes
        self.ops = ops
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self.in_channels = in_channels
        self.input_length = input_length
        self.num_classes_out = num_classes
        self.edges = [(i, j) for j in range(1, num_nodes) for i in range(j)]

    # ------------------------------------------------------------------ basics
    @property
    def num_choices(self) -> tuple[int, ...]:
        return (len(self.ops),) * len(self.edges)

    def option_names(self, decision: int) -> list[str]:
        return list(self.ops)

    def config(self) -> dict:
        config = {
            "kind": self.kind,
            "num_nodes": self.num_nodes,
            "ops": list(self.ops),
            "channels": list(self.channels),
            "cells_per_stage": self.cells_per_stage,
            "in_channels": self.in_channels,
            "input_length": self.input_length,
            "num_classes": self.num_classes_out,
        }
        if self.reduction != "residual":
            config["reduction"] = self.reduction
        return config

    def __repr__(self) -> str:
        extra = f", reduction={self.reduction!r}" if self.reduction != "residual" else ""
        return f"CellSpace(num_nodes={self.num_nodes}, ops={list(self.ops)}, channels={list(self.channels)}{extra})"

    # ------------------------------------------------------------------ strings
    def to_string(self, decisions: Sequence[int]) -> str:
        decisions = self._check_decisions(decisions)
        nodes = []
        for j in range(1, self.num_nodes):
            parts = [f"{self.ops[decisions[self._edge_pos[(i, j)]]]}~{i}" for i in range(j)]
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    @cached_property
    def _edge_pos(self) -> dict[tuple[int, int], int]:
        return {edge: pos for pos, edge in enumerate(self.edges)}

    def from_string(self, text: str) -> tuple[int, ...]:
        example = self.to_string([0] * len(self.edges))
        if not isinstance(text, str):
            raise SpaceError(f"arch string must be a str like {example!r}, got {type(text).__name__}")
        node_texts = text.split("+")
        if len(node_texts) != self.num_nodes - 1:
            raise SpaceError(
                f"arch string has {len(node_texts)} node groups, expected {self.num_nodes - 1} "
                f"separated by '+', e.g. {example!r}"
            )
        decisions = [0] * len(self.edges)
        for j, node_text in enumerate(node_texts, start=1):
            if len(node_text) < 2 or not (node_text.startswith("|") and node_text.endswith("|")):
                raise SpaceError(f"node {j} group {node_text!r} must start and end with '|', e.g. {example!r}")
            items = node_text[1:-1].split("|")
            if len(items) != j:
                raise SpaceError(f"node {j} must have {j} edges (op~0..op~{j - 1}), got {len(items)} in {node_text!r}")
            for expected_src, item in enumerate(items):
                match = _EDGE_RE.fullmatch(item)
                if not match:
                    raise SpaceError(
                        f"edge {item!r} of node {j} must look like 'op~{expected_src}' with op one of {', '.join(self.ops)}"
                    )
                op, src = match["op"], match["src"]
                if op not in self.ops:
                    raise SpaceError(f"unknown op {op!r} in {item!r}; valid: {', '.join(self.ops)}")
                if src != str(expected_src):
                    raise SpaceError(
                        f"edge {item!r} of node {j}: expected input node {expected_src} "
                        f"(inputs are 0..{j - 1} in order, written without leading zeros)"
                    )
                decisions[self._edge_pos[(expected_src, j)]] = self.ops.index(op)
        return tuple(decisions)

    # ------------------------------------------------------------------ encodings
    def to_ops(self, decisions: Sequence[int]) -> list[str]:
        return [self.ops[d] for d in self._check_decisions(decisions)]

    @cached_property
    def _edge_rows_cols(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = np.array([i for i, _ in self.edges])
        cols = np.array([j for _, j in self.edges])
        off_edges = np.ones((self.num_nodes, self.num_nodes), dtype=bool)
        off_edges[rows, cols] = False
        return rows, cols, off_edges

    def to_matrix(self, decisions: Sequence[int]) -> np.ndarray:
        decisions = self._check_decisions(decisions)
        rows, cols, _ = self._edge_rows_cols
        m = np.full((self.num_nodes, self.num_nodes), NO_EDGE, dtype=np.int64)
        m[rows, cols] = decisions
        return m

    def from_matrix(self, matrix: np.ndarray) -> tuple[int, ...]:
        n = self.num_nodes
        try:
            m = np.asarray(matrix)
        except Exception:
            m = None
        if m is None or m.shape != (n, n):
            got = "an unreadable object" if m is None else f"shape {m.shape}"
            raise SpaceError(f"edge-op matrix must have shape ({n}, {n}), got {got}")
        if m.dtype.kind not in "iuf" or not np.all(np.isfinite(m) & (m == np.round(m))):
            raise SpaceError(
                f"edge-op matrix entries must be integers: op index 0..{len(self.ops) - 1} above the diagonal, "
                f"{NO_EDGE} elsewhere"
            )
        rows, cols, off_edges = self._edge_rows_cols
        if np.any(m[off_edges] != NO_EDGE):
            raise SpaceError(f"edge-op matrix must hold {NO_EDGE} on and below the diagonal (edges go i->j with i<j)")
        ops = m[rows, cols]
        bad = (ops < 0) | (ops >= len(self.ops))
        if bad.any():
            i, j = int(rows[bad][0]), int(cols[bad][0])
            raise SpaceError(
                f"edge-op matrix entry [{i}, {j}] = {int(ops[bad][0])} is not an op index; valid above the "
                f"diagonal: 0..{len(self.ops) - 1} ({', '.join(self.ops)})"
            )
        return self._check_decisions([int(v) for v in ops.tolist()])

    def to_graph(self, decisions: Sequence[int]):
        import networkx as nx

        decisions = self._check_decisions(decisions)
        g = nx.DiGraph()
        g.add_nodes_from(range(self.num_nodes))
        for (i, j), d in zip(self.edges, decisions):
            g.add_edge(i, j, op=self.ops[d])
        return g

    def from_graph(self, graph: Any) -> tuple[int, ...]:
        if not all(hasattr(graph, a) for a in ("nodes", "edges", "is_directed", "is_multigraph")):
            raise SpaceError(f"expected a networkx.DiGraph with op=<name> on edges i->j, i<j; got {type(graph).__name__}")
        if not graph.is_directed() or graph.is_multigraph():
            raise SpaceError("graph must be a networkx.DiGraph (directed, one edge per node pair) with op=<name> on edges i->j, i<j")
        nodes = set(graph.nodes)
        if not nodes <= set(range(self.num_nodes)):  # a node left out has no edges: they read as none
            raise SpaceError(f"graph nodes must be among 0..{self.num_nodes - 1}, got {sorted(nodes, key=str)}")
        decisions = [self.ops.index("none") if "none" in self.ops else -1] * len(self.edges)
        for i, j, data in graph.edges(data=True):
            if (i, j) not in self._edge_pos:
                raise SpaceError(f"graph edge {i}->{j} is not a cell edge (edges go i->j with i<j)")
            op = data.get("op")
            if op not in self.ops:
                raise SpaceError(f"unknown op {op!r} on graph edge {i}->{j}; valid: {', '.join(self.ops)}")
            decisions[self._edge_pos[(i, j)]] = self.ops.index(op)
        if -1 in decisions:
            raise SpaceError("graph misses an edge and this space has no 'none' op to fill it")
        return tuple(decisions)

    # ------------------------------------------------------------------ path encoding
    @cached_property
    def _paths(self) -> list[list[int]]:
        """Edge positions along every input-to-output path."""
        inner = range(1, self.num_nodes - 1)
        paths = []
        for r in range(len(inner) + 1):
            for mid in itertools.combinations(inner, r):
                nodes = (0, *mid, self.num_nodes - 1)
                paths.append([self._edge_pos[(a, b)] for a, b in zip(nodes, nodes[1:])])
        return paths

    @cached_property
    def _path_ops(self) -> list[int]:
        return [k for k, op in enumerate(self.ops) if op != "none"]

    @cached_property
    def path_encoding_length(self) -> int:
        k = len(self._path_ops)
        return sum(k**length for length in range(1, self.num_nodes))

    def _path_encode_batch(self, decisions: np.ndarray) -> np.ndarray:
        decisions = np.atleast_2d(decisions)
        k = len(self._path_ops)
        op_rank = np.full(len(self.ops), -1)
        op_rank[self._path_ops] = np.arange(k)
        ranks = op_rank[decisions]
        out = np.zeros((len(decisions), self.path_encoding_length), dtype=np.float32)
        offsets = {length: sum(k**m for m in range(1, length)) for length in range(1, self.num_nodes)}
        rows = np.arange(len(decisions))
        for path in self._paths:
            r = ranks[:, path]
            alive = np.all(r >= 0, axis=1)
            code = np.zeros(len(decisions), dtype=np.int64)
            for col in range(len(path)):
                code = code * k + np.maximum(r[:, col], 0)
            out[rows[alive], offsets[len(path)] + code[alive]] = 1.0
        return out

    def to_path_encoding(self, decisions: Sequence[int]) -> np.ndarray:
        return self._path_encode_batch(np.asarray(self._check_decisions(decisions)))[0]

    @cached_property
    def _path_lookup(self) -> dict[bytes, int]:
        codes = self._path_encode_batch(self.all_decisions).astype(np.uint8)
        lookup: dict[bytes, int] = {}
        for index, row in enumerate(codes):
            lookup.setdefault(row.tobytes(), index)
        return lookup

    def from_path_encoding(self, vector: Sequence[float] | np.ndarray) -> tuple[int, ...]:
        vec = _numeric_vector(vector, "path encoding")
        if vec.shape != (self.path_encoding_length,):
            raise SpaceError(f"path encoding must have shape ({self.path_encoding_length},), got {vec.shape}")
        if not np.all((vec == 0) | (vec == 1)):
            raise SpaceError("path encoding entries must be 0 or 1")
        index = self._path_lookup.get(vec.astype(np.uint8).tobytes())
        if index is None:
            raise SpaceError("no architecture of this space has this path encoding")
        return tuple(int(d) for d in self.decisions_of(index))

    # ------------------------------------------------------------------ parse hooks
    def _parse_other(self, x: Any) -> tuple[int, ...] | None:
        if hasattr(x, "nodes") and hasattr(x, "edges") and hasattr(x, "is_directed"):
            return self.from_graph(x)
        return None

    def _array_encodings(self) -> list[str]:
        n = self.num_nodes
        return super()._array_encodings() + [f"({self.path_encoding_length},) path encoding", f"({n}, {n}) edge-op matrix"]

    def _parse_array(self, arr: np.ndarray) -> tuple[int, ...]:
        if arr.ndim == 2:
            return self.from_matrix(arr)
        if arr.ndim == 1 and arr.dtype.kind in "biuf" and len(arr) == self.path_encoding_length:
            if len(arr) in (self.num_decisions, sum(self.num_choices)):
                raise SpaceError(
                    f"a length-{len(arr)} vector is ambiguous in this space; "
                    "call space.from_path_encoding or space.from_one_hot"
                )
            return self.from_path_encoding(arr)
        return super()._parse_array(arr)

    # ------------------------------------------------------------------ isomorphism
    def _compute_class_keys(self) -> list[str]:
        # NAS-Bench-201's grouping: each node is the sorted '+'-join of its input
        # terms; a `none` edge or a zero input is '#', `skip_connect` passes the
        # input's string through, any other op wraps it as '(input)@op'.
        # Strings are built per node over edge prefixes, so each is made once.
        none = self.ops.index("none") if "none" in self.ops else -1
        skip = self.ops.index("skip_connect") if "skip_connect" in self.ops else -1
        k = len(self.ops)
        node_strings: list[list[str]] = [["0"]]  # node j's string for each prefix of decisions
        for j in range(1, self.num_nodes):
            length = self._prefix_len(j)
            strings = []
            for prefix in range(k**length):
                terms = []
                for i in range(j):
                    op = (prefix // k ** (j - 1 - i)) % k
                    source = node_strings[i][prefix // k ** (length - self._prefix_len(i))]
                    if op == none or source == "#":
                        terms.append("#")
                    elif op == skip:
                        terms.append(source)
                    else:
                        terms.append(f"({source})@{self.ops[op]}")
                strings.append("+".join(sorted(terms)))
            node_strings.append(strings)
        return node_strings[-1]

    @staticmethod
    def _prefix_len(node: int) -> int:
        """Number of leading decisions that determine ``node`` (the edges into nodes 1..node)."""
        return node * (node + 1) // 2

    def _compute_connected(self) -> np.ndarray:
        none = self.ops.index("none") if "none" in self.ops else -1
        alive = [np.ones(len(self), dtype=bool)]
        dec = self.all_decisions
        for j in range(1, self.num_nodes):
            node = np.zeros(len(self), dtype=bool)
            for i in range(j):
                node |= (dec[:, self._edge_pos[(i, j)]] != none) & alive[i]
            alive.append(node)
        return alive[-1]

    # ------------------------------------------------------------------ costs
    @cached_property
    def _stage_lengths(self) -> list[int]:
        return stage_lengths(self.input_length, len(self.channels))

    def _op_costs(self) -> tuple[np.ndarray, np.ndarray]:
        """Params and MACs each op adds when placed on one edge, summed over all cells."""
        params = np.zeros(len(self.ops), dtype=np.int64)
        macs = np.zeros(len(self.ops), dtype=np.int64)
        for c, length in zip(self.channels, self._stage_lengths):
            for k, op in enumerate(self.ops):
                kernel = _CONV_KERNEL.get(op)
                if kernel:
                    params[k] += self.cells_per_stage * (c * c * kernel + 2 * c)
                    macs[k] += self.cells_per_stage * c * c * kernel * length
        return params, macs

    def _skeleton_costs(self) -> tuple[int, int]:
        """Params and MACs of everything outside the cells."""
        return skeleton_costs(self.in_channels, self.channels, self.input_length, self.num_classes_out, self.reduction)

    def costs(self, decisions: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """Parameters (count) and FLOPs (multiply-accumulates of conv and linear layers).

        The FLOPs convention is NAS-Bench-201's and fvcore's: one multiply-add
        counts once; BN, ReLU, pooling and additions are not counted. PyTorch's
        ``FlopCounterMode`` reports twice this number.
        """
        arr = self._decision_array(decisions)
        op_params, op_macs = self._op_costs()
        base_params, base_macs = self._skeleton_costs()
        params = base_params + op_params[arr].sum(axis=-1)
        flops = base_macs + op_macs[arr].sum(axis=-1)
        if arr.ndim == 1:
            return {"params": int(params), "flops": int(flops)}
        return {"params": params, "flops": flops}

    # ------------------------------------------------------------------ model / features
    def build_model(self, decisions: Sequence[int], **_: Any):
        decisions = self._check_decisions(decisions)  # before the (slow) torch import
        from nasbench.space.cell_model import CellNetwork

        return CellNetwork(self, decisions)

    def build_supernet(self):
        from nasbench.space.supernet import CellSupernet

        return CellSupernet(self)

    def features(self, decisions: np.ndarray) -> np.ndarray:
        """One-hot ops, path encoding, log params / log FLOPs, connected: ``(n, E*K + P + 3)`` float32.

        ``connected`` is explicit because a cell cut off from its input scores chance
        accuracy, and trees would need many splits to find it in the path bits.
        """
        dec = np.atleast_2d(self._decision_array(decisions))
        costs = self.costs(dec)
        return np.concatenate(
            [
                self.one_hot(dec),
                self._path_encode_batch(dec),
                np.log10(costs["params"])[:, None].astype(np.float32),
                np.log10(costs["flops"])[:, None].astype(np.float32),
                self.is_connected()[self.index_of(dec)][:, None].astype(np.float32),
            ],
            axis=1,
        )

    def feature_names(self) -> list[str]:
        names = [f"edge{i}->{j}={op}" for i, j in self.edges for op in self.ops]
        names += [f"path{p}" for p in range(self.path_encoding_length)]
        return names + ["log10_params", "log10_flops", "connected"]
