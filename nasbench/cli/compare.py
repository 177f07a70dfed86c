"""``nasbench-compare``: the default strategy comparison and its report (see ``conf/compare.yaml``).

Runs the same function as ``nasbench-search`` for every (strategy, seed,
duplicate setting), in this process, writing one ``result.json`` per run in
``runs_dir``, then writes the report like ``nasbench-report``. Runs already
finished with the same config, on the same benchmark (same table contents as
far as :func:`~nasbench.provenance.describe_benchmark` tells), by the same code (commit and
:func:`~nasbench.provenance.code_sha256`, so an installed copy resumes too) and libraries
are kept, so an interrupted comparison resumes; other runs are run again. A run
that fails is reported (one line) and listed in the report; the others go on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, error_message, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_compare

register_compare()


def strategy_config(name: str) -> dict[str, Any]:
    path = Path(CONF_DIR) / "strategy" / f"{name}.yaml"
    if not path.exists():
        valid = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(valid)}")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def planned_runs(cfg: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
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
    from nasbench.search import ONE_SHOT_NAMES

    runs = []
    for name in cfg["strategies"]:
        strategy = strategy_config(name)
        for skip in cfg["skip_duplicates"]:
            one_shot = strategy["name"] in ONE_SHOT_NAMES
            if skip and one_shot:
                continue  # a supernet evaluates no duplicates: one setting only
            for count in workers:
                if count > 1 and one_shot:
                    raise ValueError(f"strategy {name} trains one supernet and runs on one worker; drop it or use workers=[1]")
                # one worker is the plain runner: its recorded config is what it always was
                parallel = {"workers": count} if count > 1 else {}
                # a one-shot run trains a supernet for real (minutes): its own, smaller number of seeds
                for seed in range(min(cfg["seeds"], cfg["one_shot_seeds"]) if one_shot else cfg["seeds"]):
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
                    label = f"{name}{'+dedup' if skip else ''}{f'+{count}workers' if count > 1 else ''}"
                    runs.append((Path(cfg["runs_dir"]) / label / f"seed{seed:03d}", run))
    return runs


def finished(path: Path, run: dict[str, Any], identity: dict[str, Any]) -> bool:
    """Whether ``path`` holds a result of ``run`` made on the same benchmark by the same code and libraries."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False  # missing or unreadable: run it again
    return (
        isinstance(data, dict) and data.get("config") == run and data.get("git_commit") == identity["git_commit"]
        and data.get("code_sha256") == identity["code_sha256"] and data.get("versions") == identity["versions"]
        and (data.get("benchmark") or {}).get("resolved") == identity["benchmark"]
    )


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="compare", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    from tqdm import tqdm

    from nasbench.cli.search import check_search, load_benchmark, search, write_json
    from nasbench.provenance import code_sha256, describe_benchmark, git_commit, library_versions
    from nasbench.report.comparison import write_report
    from nasbench.report.pareto import write_pareto_report

    plain = OmegaConf.to_container(cfg, resolve=True)
    runs = planned_runs(plain)
    benchmark = load_benchmark(plain["benchmark"])
    for _, run in {(run["strategy"]["name"], run["skip_duplicates"]): (f, run) for f, run in runs}.values():
        check_search(run, benchmark)  # a bad strategy option or constraint stops the comparison before any run
    from nasbench.search.workers import synchronous_note

    most = max(plain.get("workers", [1]))
    for note in dict.fromkeys(synchronous_note(run["strategy"]["name"], most) for _, run in runs):
        if note:  # once per strategy that cannot run asynchronously
            print(f"note: {note}", file=sys.stderr)
    identity = {"benchmark": describe_benchmark(benchmark), "git_commit": git_commit(), "code_sha256": code_sha256(),
                "versions": library_versions()}
    todo = [(folder, run) for folder, run in runs if not finished(folder / "result.json", run, identity)]
    if len(todo) < len(runs):
        print(f"kept {len(runs) - len(todo)} finished runs from {plain['runs_dir']} (same config, benchmark, code and libraries)")
    failures = []
    for folder, run in tqdm(todo, desc="comparison", unit="run", disable=not plain["progress"]):
        (folder / "result.json").unlink(missing_ok=True)  # a stale result must not stand in for this run
        (folder / "error.txt").unlink(missing_ok=True)
        try:
            write_json(folder / "result.json", search(run, benchmark, identity["git_commit"], identity["versions"]))
        except Exception as err:  # noqa: BLE001 - one run's failure is reported and listed, the rest go on
            message = error_message(err)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "error.txt").write_text(f"{type(err).__name__}: {message}\n")
            failures.append(f"{folder.parent.name}/{folder.name}: {message}")
            tqdm.write(f"error: run {failures[-1]}", file=sys.stderr)
    if failures and len(failures) == len(runs):
        raise ValueError(f"every run failed; the first: {failures[0]}")
    writer = write_pareto_report if plain.get("objectives") else write_report
    out = writer(plain["runs_dir"], plain["out"], plain["title"], only=[folder / "result.json" for folder, _ in runs])
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
