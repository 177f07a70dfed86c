"""``nasbench-query ARCH``: every encoding of an architecture, its class and costs, and its table metrics.

ARCH is any encoding, given as text: an arch string (``'|nor_conv_3x3~0|+|...|'``),
an index (``11153``), op names or op indices separated by commas or spaces
(``nor_conv_3x3,none,...`` or ``3,0,1,1,0,2``), or a JSON list (ops, one-hot,
path encoding, or the edge-op matrix as a nested list). Accuracies are
fractions in [0, 1]; times are seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.cli.common import one_line_errors
from nasbench.io import finite, plain

#: encodings shown first, in this order; any other encoding of the space follows
_ORDER = ("arch_str", "index", "ops", "decisions", "matrix", "graph", "one_hot", "path_encoding")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_arch_text(space, text: str):
    """An :class:`~nasbench.space.Arch` from command-line text in any encoding."""
    from nasbench.space import SpaceError

    text = text.strip()
    if not text:
        raise SpaceError(
            "empty ARCH; give an arch string, an index, op names or indices separated by commas, or a JSON list"
        )
    if text[0] in "[{":
        try:
            value = json.loads(text)
        except ValueError as err:
            raise SpaceError(f"ARCH looks like JSON but does not parse: {err}") from None
        if not isinstance(value, list):
            raise SpaceError("a JSON ARCH must be a list (ops, op indices, one-hot, path encoding or matrix)")
        return space.parse(value)
    if "|" in text or "~" in text:
        return space.parse(text)
    tokens = [t for t in re.split(r"[,\s]+", text) if t]
    if len(tokens) == 1:
        if not tokens[0].isascii() or not tokens[0].isdigit():
            if _NUMBER.match(tokens[0]) or re.fullmatch(r"[+-]?0[xXoObB][0-9a-fA-F]+", tokens[0]):
                raise SpaceError(f"an index is a whole number in 0..{len(space) - 1} written in decimal digits, "
                                 f"got {tokens[0]!r}")
        return space.parse(tokens[0])
    numeric = [bool(_NUMBER.match(t)) for t in tokens]
    if all(numeric):
        return space.parse([int(t) if re.fullmatch(r"[+-]?\d+", t) else float(t) for t in tokens])
    if any(numeric):
        raise SpaceError(f"ARCH mixes numbers and names: {text!r}; give op names or op indices, not both")
    return space.parse(tokens)


def _plain(value: Any) -> Any:
    """JSON-able form of an encoding or metric (NaN becomes None, a float array of whole numbers integers)."""
    if hasattr(value, "edges") and hasattr(value, "is_directed"):  # networkx graph
        return [[int(i), int(j), data.get("op")] for i, j, data in value.edges(data=True)]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.all(value == np.round(value)):
        value = value.astype(np.int64)
    return finite(plain(value))


def describe(space, arch, bench=None) -> dict[str, Any]:
    """Encodings, class and costs of ``arch`` (class ids from the table when there is one)."""
    names = [n for n in _ORDER if n in space.encodings()]
    names += [n for n in space.encodings() if n not in names]
    info: dict[str, Any] = {}
    for name in names:
        key = "graph_edges" if name == "graph" else name
        info[key] = _plain(getattr(arch, name))
    class_ids = bench.class_ids if bench is not None else space.class_ids()
    reps = bench.representatives if bench is not None else space.representatives()
    c = int(class_ids[arch.index])
    info["class_id"] = c
    info["class_size"] = int(np.count_nonzero(class_ids == c))
    info["representative"] = int(reps[c])
    connected = bench.connected if bench is not None else space.is_connected()
    info["connected"] = bool(connected[arch.index])
    info.update({k: int(v) for k, v in space.costs(arch.decisions).items()})
    return info


def table_info(bench, arch, epoch, seed) -> dict[str, Any]:
    from nasbench.table import MissingEntryError

    out: dict[str, Any] = {
        "path": str(bench.path),
        "entries_done": bench.entries_done,
        "entries_total": int(bench.done.size),
        "complete": bench.complete,
        "costs": costs_provenance(bench.metadata),
        "seeds": list(bench.seeds),
        "num_epochs": bench.num_epochs,
        "result": None,
        "missing": None,
    }
    try:
        result = bench.query(arch.index, epoch=epoch, seed=seed)
    except MissingEntryError as err:
        out["missing"] = str(err)
    else:
        out["result"] = {k: _plain(v) for k, v in result.to_dict().items()}
    return out


def costs_provenance(meta: dict[str, Any]) -> str:
    """Where ``train_time`` and latency come from: one sitting (a costs pass or a build in one run) or several."""
    record = meta.get("costs_pass")
    if isinstance(record, dict) and record.get("finished"):
        return f"measured in one sitting ({record['finished'][:10]}, costs pass over {record.get('entries')} entries)"
    runs = len(meta.get("build_history") or [])
    if runs > 1:
        return f"measured along a build of {runs} (re)starts, not yet in one sitting: they may mix machines and loads"
    return "measured during the build, in one run"


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":")) if any(isinstance(v, list) for v in value) \
            else json.dumps(value)
    return str(value)


def print_text(info: dict[str, Any], table: dict[str, Any] | None, note: str | None) -> None:
    rows = []
    for key, value in info.items():
        if key in ("class_size", "representative"):
            continue
        if key == "ops":
            text = ",".join(value)
        elif key == "graph_edges":
            text = ", ".join(f"{i}->{j} {op}" for i, j, op in value)
        elif key == "class_id":
            size = info["class_size"]
            same = "no other architecture computes" if size == 1 else f"{size} architectures compute"
            text = f"{value} ({same} the same function; trained representative: {info['representative']})"
        elif key in ("params", "flops"):
            text = f"{value:,}" + ("  (multiply-accumulates per sample)" if key == "flops" else "")
        else:
            text = _format_value(value)
        rows.append((key.replace("_id", " id").replace("graph_edges", "graph edges"), text))
    width = max(len(k) for k, _ in rows)
    for key, text in rows:
        print(f"{key:<{width}}  {text}")
    print()
    if table is None:
        print(note)
        return
    state = "complete" if table["complete"] else "partial"
    print(f"table  {table['path']} ({state}: {table['entries_done']} of {table['entries_total']} entries done)")
    print(f"  costs {table['costs']}")
    result = table["result"]
    if result is None:
        print(f"  {table['missing']}")
        return
    seeds = f"seed {result['seed']}" if result["seed"] is not None else f"mean over {result['num_seeds']} seed(s)"
    print(f"  epoch {result['epoch']} of {table['num_epochs']}, {seeds}"
          + ("; a run diverged (its metrics are NaN from then on)" if result["diverged"] else ""))
    for key in ("train_accuracy", "valid_accuracy", "test_accuracy", "train_loss", "valid_loss", "test_loss",
                "train_time", "latency", "latency_b256"):
        value = result[key]
        if value is None:
            text = "nan"
        elif key.endswith("accuracy"):
            text = f"{value:.4f}  ({100 * value:.2f}%)"
        elif key == "train_time":
            text = f"{value:.2f} s"
        elif key.startswith("latency"):
            text = f"{1e3 * value:.3f} ms"
        else:
            text = f"{value:.4f}"
        print(f"  {key:<15} {text}")


def _other_table_hint(text: str, space, given: Path | None) -> str:
    """``"; ... pass --table NAME"`` when another shipped table's space parses ``text``; else ``""``."""
    from nasbench.space import SpaceError
    from nasbench.table import Benchmark, shipped_tables, table_name

    for path in shipped_tables().values():
        if given is not None and table_name(path) == table_name(given):
            continue
        try:
            other = Benchmark.load(path).space
            if other.signature != space.signature:
                parse_arch_text(other, text)
                return f" (it is an architecture of the {other.kind} space of {path.name}: pass --table {path.name})"
        except (SpaceError, ValueError):
            continue
    return ""


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    from nasbench.table.benchmark import DEFAULT_TABLE

    parser = argparse.ArgumentParser(
        prog="nasbench-query", description=__doc__.replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("arch", metavar="ARCH", help="the architecture, in any encoding (see above)")
    parser.add_argument("--table", type=Path, default=None,
                        help=f"table file (.h5) or a shipped table's name; default: the shipped {DEFAULT_TABLE} table, if present")
    parser.add_argument("--epoch", type=int, default=None, help="1-based epoch (default: the last)")
    parser.add_argument("--seed", type=int, default=None, help="a seed of the table (default: mean over seeds)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)

    from nasbench.space import SpaceError
    from nasbench.table import Benchmark, TableError, default_table_path

    bench, note = None, None
    if args.table is not None:
        bench = Benchmark.load(args.table)
    else:
        path = default_table_path()
        if path.exists():
            bench = Benchmark.load(path)
        else:
            note = f"no table: {path} does not exist (build one with nasbench-build, or pass --table); showing the space only"
    if bench is None:
        if args.epoch is not None or args.seed is not None:
            raise TableError(f"--epoch and --seed need a table; {default_table_path()} does not exist (pass --table)")
        from nasbench.space import CellSpace

        space = CellSpace()
    else:
        space = bench.space
    try:
        arch = parse_arch_text(space, args.arch)
    except SpaceError as err:
        raise SpaceError(f"{err}{_other_table_hint(args.arch, space, args.table)}") from None
    info = describe(space, arch, bench)
    table = None if bench is None else table_info(bench, arch, args.epoch, args.seed)
    if args.json:
        payload = {**info, "space": space.config(), "table": table}
        if note:
            payload["note"] = note
        json.dump(payload, sys.stdout, indent=2)
        print()
    else:
        print_text(info, table, note)


if __name__ == "__main__":  # pragma: no cover
    main()
