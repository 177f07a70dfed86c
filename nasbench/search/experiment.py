"""Searches and comparisons as configs describe them: what ``nasbench-search`` and ``nasbench-compare`` run.

A config is a plain mapping (a resolved ``conf/search.yaml``): ``strategy``,
``benchmark``, ``seed``, ``budget``, ``skip_duplicates``, ``constraint``,
``objectives``, ``workers``. :func:`search` runs one and returns the
``result.json`` it makes (the run, its config and its provenance);
:func:`plan_comparison` lists the runs of a comparison (a resolved
``conf/compare.yaml``), :func:`plan_tables` splits a comparison over several tables into
one per table, :func:`finished` tells which runs a folder holds already.

A config's ``strategy`` is ``{name, **options}`` for a registered strategy
(:mod:`nasbench.search.registry`; a YAML file in ``conf/strategy`` may name a
variant, e.g. ``darts2``), or ``{name: custom, cls: "module:Class", options:
{...}}`` for a class of the user's own.
"""

from __future__ import annotations

import json
from dataclasses import fields
from importlib.resources import files
from pathlib import Path
from typing import Any, Mapping

from nasbench.io import write_json

__all__ = ["load_benchmark", "strategy_config", "strategy_names", "configured_strategy", "check_search", "search",
           "write_json", "identity", "finished", "plan_comparison", "plan_tables"]

#: the strategy name that runs the class ``strategy.cls`` names
CUSTOM = "custom"
#: the run settings a config can set, as :attr:`~nasbench.search.base.BaseStrategy.supports` names them
SETTINGS = ("constraints", "objectives", "skip_duplicates", "workers")


def load_benchmark(cfg: Mapping[str, Any]):
    """The benchmark a search runs against, from the ``benchmark`` config group."""
    kind = cfg.get("kind")
    if kind == "table":
        from nasbench.table import Benchmark

        return Benchmark.load(cfg.get("path"))
    if kind == "surrogate":
        from nasbench.surrogate import SurrogateBenchmark

        return SurrogateBenchmark.load(cfg.get("path"), noise=cfg.get("noise", False), noise_seed=cfg.get("noise_seed", 0))
    raise ValueError(f"unknown benchmark kind {kind!r}; valid: table, surrogate")


def strategy_config(name: str) -> dict[str, Any]:
    """The config node of strategy ``name`` as ``strategy=<name>`` composes it: a registered strategy's
    ``{name, **defaults}``, with what ``conf/strategy/<name>.yaml`` overrides (a variant's file names the
    strategy it extends in its ``defaults`` list)."""
    from omegaconf import OmegaConf

    from nasbench.search import registry

    path = Path(str(files("nasbench.conf"))) / "strategy" / f"{name}.yaml"
    if not path.is_file():
        if name not in registry.names():
            raise ValueError(unknown_strategy(name))
        return registry.config(name)
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    bases = [entry for entry in node.pop("defaults", []) if entry != "_self_"]
    base: dict[str, Any] = {}
    for entry in bases:
        base.update(strategy_config(entry))
    return {**base, **node}


def strategy_names() -> list[str]:
    """What ``strategy=`` accepts: the registered strategies and the files in ``conf/strategy``."""
    from nasbench.search import registry

    return sorted({*registry.names(), *(p.stem for p in (Path(str(files("nasbench.conf"))) / "strategy").glob("*.yaml"))})


def unknown_strategy(name: Any) -> str:
    return f"unknown strategy {name!r}; valid: {', '.join(strategy_names())}"


def configured_strategy(node: Mapping[str, Any]) -> tuple[str, type, dict[str, Any]]:
    """``(name, class, options)`` of a config's strategy node (see the module docstring)."""
    from nasbench.search import registry

    node = dict(node)
    name = node.pop("name", None)
    if name != CUSTOM:
        if not isinstance(name, str) or ":" in name:
            raise ValueError(unknown_strategy(name))
        try:
            return name, registry.get(name), node
        except ValueError:
            raise ValueError(unknown_strategy(name)) from None
    target, options = node.pop("cls", None), node.pop("options", None)
    if node:
        raise ValueError(f"unknown key {sorted(node)[0]!r} of strategy custom; valid: cls, options")
    if target is None:
        raise ValueError("strategy=custom needs the class to run: strategy.cls=module:Class, e.g. strategy.cls=my_module:MyStrategy")
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"strategy.options must be a mapping of options, e.g. strategy.options={{population_size: 20}}, got {options!r}")
    cls = registry.load(target)
    return cls.name, cls, dict(options or {})


def settings_of(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The run settings ``cfg`` sets (those left at their defaults are not named)."""
    requested = {
        "constraints": cfg.get("constraint") or {},
        "objectives": cfg.get("objectives"),
        "skip_duplicates": bool(cfg.get("skip_duplicates")),
        "workers": cfg.get("workers", 1),
    }
    used = {
        "constraints": any(v is not None for v in requested["constraints"].values()),
        "objectives": bool(requested["objectives"]),
        "skip_duplicates": requested["skip_duplicates"],
        "workers": requested["workers"] != 1,
    }
    return {key: value for key, value in requested.items() if used[key]}


def check_settings(name: str, cls: type, settings: Mapping[str, Any]) -> None:
    """The run settings that strategy ``cls`` cannot honour (:attr:`supports`) are one-line errors."""
    text = {"constraints": "constraint.*", "objectives": "objectives", "skip_duplicates": "skip_duplicates=true",
            "workers": f"workers={settings.get('workers')}"}
    unsupported = [text[key] for key in SETTINGS if key in settings and key not in cls.supports]
    if unsupported:
        raise ValueError(f"strategy {name} does not support {', '.join(unsupported)}; drop them for this strategy")


def prepared(cfg: Mapping[str, Any], strategy=None) -> tuple[str, Any, dict[str, Any], dict[str, Any]]:
    """``(name, strategy, options, settings)`` of the search ``cfg`` describes; ``strategy``: an instance to run instead."""
    from nasbench.search.base import require_objectives

    if strategy is None:
        name, cls, options = configured_strategy(cfg["strategy"])
    else:
        name, cls, options = strategy.name, type(strategy), None
    settings = settings_of(cfg)
    check_settings(name, cls, settings)
    require_objectives(cls, settings.get("objectives"))  # before the options: they may be fine once objectives are set
    if strategy is None:
        strategy = cls(options)
    if options is None or cfg["strategy"].get("name") == CUSTOM:  # recorded as they ran, defaults included
        options = {f.name: getattr(strategy.options, f.name) for f in fields(strategy.options)}
    return name, strategy, options, settings


def check_search(cfg: Mapping[str, Any], benchmark) -> None:
    """Everything :func:`search` checks about ``cfg`` before it runs, without running it."""
    from nasbench.search.multiobjective import ArchTable, check_constraints
    from nasbench.search.runner import resolve_budget

    resolve_budget(cfg["budget"], benchmark)
    constraints = check_constraints(cfg.get("constraint"))
    if constraints:
        ArchTable.from_benchmark(benchmark).feasible(constraints)  # a bound nothing meets is an error now
    _, strategy, _, settings = prepared(cfg)
    strategy.check(benchmark, cfg["seed"], **settings)


def search(cfg: Mapping[str, Any], benchmark=None, commit: str | None = None, versions: dict[str, str] | None = None,
           strategy=None, unbounded: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the search ``cfg`` describes (a resolved ``conf/search.yaml``); returns the result (what ``result.json`` holds).

    ``benchmark``: the benchmark ``cfg["benchmark"]`` names, already loaded (benchmarks hold no
    state a run changes, so runs may share one); ``commit`` and ``versions``: the code's
    :func:`git_commit` and :func:`library_versions`, if known (looking them up costs as much
    as a short run); ``strategy``: a strategy instance to run (``cfg["strategy"]`` then only
    records it); ``unbounded``: a budget of ``max_evals`` alone is allowed (no time limit);
    ``progress``: whether a one-shot strategy shows its training's progress bar.
    """
    from nasbench.provenance import code_sha256, describe_benchmark, git_commit, library_versions
    from nasbench.search.runner import resolve_budget

    commit = commit or git_commit()  # of the code this process imported, before the run
    code = code_sha256()
    benchmark = benchmark if benchmark is not None else load_benchmark(cfg["benchmark"])
    # Budget allows inf (one-shot Python callers); a run from a config must end and record a real budget
    budget, budget_record = resolve_budget(cfg["budget"], benchmark, unbounded=unbounded)
    name, strategy, options, settings = prepared(cfg, strategy)
    if getattr(strategy, "one_shot", False):
        strategy.progress = progress
    result = strategy.run(benchmark, budget, cfg["seed"], **settings)
    return {
        "strategy": name,
        "strategy_options": options,
        "seed": cfg["seed"],
        "skip_duplicates": bool(cfg["skip_duplicates"]),
        "budget": budget_record,
        "benchmark": {**cfg["benchmark"], "resolved": describe_benchmark(benchmark)},
        "config": dict(cfg),
        "versions": versions or library_versions(),
        "git_commit": commit,
        "code_sha256": code,
        **result,
    }


# ---------------------------------------------------------------------- comparisons
def identity(benchmark) -> dict[str, Any]:
    """What a finished run must share with this process to be kept: the benchmark, the code and the libraries."""
    from nasbench.provenance import code_sha256, describe_benchmark, git_commit, library_versions

    return {"benchmark": describe_benchmark(benchmark), "git_commit": git_commit(), "code_sha256": code_sha256(),
            "versions": library_versions()}


def finished(path: Path, run: Mapping[str, Any], identity: Mapping[str, Any]) -> bool:
    """Whether ``path`` holds a result of ``run`` made on the same benchmark by the same code and libraries."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False  # missing or unreadable: run it again
    return (
        isinstance(data, dict) and data.get("config") == run and data.get("git_commit") == identity["git_commit"]
        and data.get("code_sha256") == identity["code_sha256"] and data.get("versions") == identity["versions"]
        and (data.get("benchmark") or {}).get("resolved") == identity["benchmark"]
    )


def plan_comparison(cfg: Mapping[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """The runs of the comparison ``cfg`` describes (a resolved ``conf/compare.yaml``): ``(folder, search config)``.

    Every strategy x seed x duplicate setting x worker count; a one-shot strategy runs
    ``one_shot_seeds`` seeds, and only the settings it supports. ``custom`` in ``strategies``
    is the class ``cfg["strategy"]["cls"]`` names, with ``cfg["strategy"]["options"]``.
    """
    for key in ("seeds", "one_shot_seeds"):
        if cfg[key] < 1:
            raise ValueError(f"{key} must be >= 1, got {cfg[key]}")
    if not cfg["strategies"]:
        raise ValueError("strategies must name at least one strategy")
    twice = sorted({name for name in cfg["strategies"] if cfg["strategies"].count(name) > 1})
    if twice:
        raise ValueError(f"strategies lists {', '.join(twice)} twice; name each strategy once")
    settings = cfg["skip_duplicates"]
    if not settings or len(set(settings)) != len(settings):
        raise ValueError(f"skip_duplicates must list false, true or both, each once, got {settings}")
    workers = cfg.get("workers", [1])
    if not workers or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in workers) or len(set(workers)) != len(workers):
        raise ValueError(f"workers must list integers >= 1, each once, e.g. [1,4,16], got {workers}")
    from nasbench.search.multiobjective import check_constraints, check_objectives

    # only set when used, so that the recorded config of an unconstrained run is what it always was
    extra: dict[str, Any] = {}
    if check_constraints(cfg.get("constraint")):
        extra["constraint"] = cfg["constraint"]
    if check_objectives(cfg.get("objectives")):
        extra["objectives"] = list(cfg["objectives"])
    runs = []
    for name in cfg["strategies"]:
        if name == CUSTOM:
            custom = cfg.get("strategy") or {}
            strategy = {"name": CUSTOM, "cls": custom.get("cls"), "options": custom.get("options")}
        else:
            strategy = strategy_config(name)
        label, cls, _ = configured_strategy(strategy)
        if name != CUSTOM:
            label = name  # a variant (darts2) keeps its own name
        for skip in cfg["skip_duplicates"]:
            if skip and "skip_duplicates" not in cls.supports:
                continue  # e.g. a supernet evaluates no duplicates: one setting only
            for count in workers:
                if count > 1 and "workers" not in cls.supports:
                    raise ValueError(f"strategy {name} runs on one worker only; drop it or use workers=[1]")
                # one worker is the plain runner: its recorded config is what it always was
                parallel = {"workers": count} if count > 1 else {}
                # a one-shot run trains a supernet for real (minutes): its own, smaller number of seeds
                for seed in range(min(cfg["seeds"], cfg["one_shot_seeds"]) if cls.one_shot else cfg["seeds"]):
                    run = {
                        "strategy": strategy,
                        "benchmark": cfg["benchmark"],
                        "seed": seed,
                        "skip_duplicates": bool(skip),
                        "budget": cfg["budget"],
                        **extra,
                        **parallel,
                        "output": "result.json",
                    }
                    folder = f"{label}{'+dedup' if skip else ''}{f'+{count}workers' if count > 1 else ''}"
                    runs.append((Path(cfg["runs_dir"]) / folder / f"seed{seed:03d}", run))
    return runs


def plan_tables(cfg: Mapping[str, Any], given: bool = True) -> list[tuple[str | None, dict[str, Any]]]:
    """The single-table comparisons a comparison config (a resolved ``conf/compare.yaml``) stands for: ``(name, config)``.

    ``tables`` lists the tables to compare on in place of the benchmark's default table (a table
    benchmark whose ``path`` is null): one comparison per table (a shipped table's name or a
    file), named as :func:`~nasbench.table.table_name` names it, with ``benchmark.path`` set to
    it, its runs in ``runs_dir/<name>``, its report in ``out/<name>`` titled ``<title>: <name>``.
    The budget in full evaluations is the same on every table; each table prices it at its own
    mean evaluation time. ``tables`` null, or a benchmark that names its own table or is a
    surrogate: the config itself (name ``None``). ``given``: ``tables`` was set by the user, not
    by the config's default; it is then an error for such a benchmark, which it would not apply to.
    """
    tables = cfg.get("tables")
    benchmark = cfg.get("benchmark") or {}
    own = benchmark.get("kind") != "table" or benchmark.get("path") is not None
    if tables is None or (own and not given):
        return [(None, dict(cfg))]
    from nasbench.table import table_name

    if own:
        what = f"names its own table ({benchmark['path']})" if benchmark.get("kind") == "table" else f"is a {benchmark.get('kind')}"
        raise ValueError(f"tables lists the tables to compare on in place of the default table, but the benchmark {what}; "
                         "give tables or that benchmark, not both")
    if not tables:
        raise ValueError("tables must list at least one table (a shipped table's name or a file), or be null for the "
                         "benchmark's own table")
    if cfg.get("objectives"):
        raise ValueError("tables ranks single-objective comparisons across tables; with objectives, compare one table "
                         "at a time (tables=null)")
    names = [table_name(str(table)) for table in tables]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"tables names {', '.join(twice)} twice; name each table once (a table's name is its file name "
                         "without .h5)")
    return [
        (name, {**cfg, "tables": None, "benchmark": {**benchmark, "path": str(table)},
                "runs_dir": str(Path(cfg["runs_dir"]) / name), "out": str(Path(cfg["out"]) / name),
                "title": f"{cfg['title']}: {name}"})
        for name, table in zip(names, tables)
    ]
