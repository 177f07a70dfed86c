"""``nasbench-compare``: the default strategy comparison and its report (see ``conf/compare.yaml``).

Runs the same function as ``nasbench-search`` for every (strategy, seed,
duplicate setting), in this process, writing one ``result.json`` per run in
``runs_dir``, then writes the report like ``nasbench-report``. Runs already
finished with the same config are kept, so an interrupted comparison resumes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_compare

register_compare()


def strategy_config(name: str) -> dict[str, Any]:
    path = Path(CONF_DIR) / "strategy" / f"{name}.yaml"
    if not path.exists():
        valid = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ValueError(f"unknown strategy {name!r}; valid: {', '.join(valid)}")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def planned_runs(cfg: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    if cfg["seeds"] < 1:
        raise ValueError(f"seeds must be >= 1, got {cfg['seeds']}")
    if not cfg["strategies"]:
        raise ValueError("strategies must name at least one strategy")
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
            if skip and strategy["name"] in ONE_SHOT_NAMES:
                continue  # a supernet evaluates no duplicates: one setting only
            for seed in range(cfg["seeds"]):
                run = {
                    "strategy": strategy,
                    "benchmark": cfg["benchmark"],
                    "seed": seed,
                    "skip_duplicates": bool(skip),
                    "budget": cfg["budget"],
                    **extra,
                    "output": "result.json",
                }
                folder = Path(cfg["runs_dir"]) / f"{name}{'+dedup' if skip else ''}" / f"seed{seed:03d}"
                runs.append((folder, run))
    return runs


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="compare", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    from tqdm import tqdm

    from nasbench.cli.search import search, write_json
    from nasbench.report.comparison import write_report
    from nasbench.report.pareto import write_pareto_report

    plain = OmegaConf.to_container(cfg, resolve=True)
    runs = planned_runs(plain)
    kept = 0
    for folder, run in tqdm(runs, desc="comparison", unit="run", disable=not plain["progress"]):
        path = folder / "result.json"
        if path.exists():
            try:
                if json.loads(path.read_text()).get("config") == run:
                    kept += 1
                    continue
            except ValueError:
                pass  # unreadable: run it again
        write_json(path, search(run))
    if kept:
        print(f"kept {kept} finished runs from {plain['runs_dir']}")
    writer = write_pareto_report if plain.get("objectives") else write_report
    out = writer(plain["runs_dir"], plain["out"], plain["title"], only=[folder / "result.json" for folder, _ in runs])
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
