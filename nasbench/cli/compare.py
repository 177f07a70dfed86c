"""``nasbench-compare``: the default strategy comparison and its report (see ``conf/compare.yaml``).

Runs the same function as ``nasbench-search`` (:func:`nasbench.search.experiment.search`) for every
run :func:`~nasbench.search.experiment.plan_comparison` plans (strategy, seed,
duplicate setting, workers), in this process, writing one ``result.json`` per run in
``runs_dir``, then writes the report like ``nasbench-report``. Runs already
finished with the same config, on the same benchmark (same table contents as
far as :func:`~nasbench.provenance.describe_benchmark` tells), by the same code (commit and
:func:`~nasbench.provenance.code_sha256`, so an installed copy resumes too) and libraries
are kept, so an interrupted comparison resumes; other runs are run again. A run
that fails is reported (one line) and listed in the report; the others go on.

With ``tables``, in place of the default table, the comparison runs on each listed table (its runs
in ``runs_dir/<name>``, its report in ``out/<name>``, see :func:`~nasbench.search.experiment.plan_tables`),
and :func:`~nasbench.report.across_tables.write_across_tables` ranks the strategies across them in ``out``.
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, error_message, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_compare
from nasbench.io import output_folder, write_text

register_compare()


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="compare", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    from tqdm import tqdm

    from nasbench.report.comparison import write_report
    from nasbench.report.pareto import write_pareto_report
    from nasbench.search import experiment
    from nasbench.search.workers import synchronous_note

    plain = OmegaConf.to_container(cfg, resolve=True)
    for option in ("out", "runs_dir"):  # refused now, not after the runs
        output_folder(plain[option], option)
    given = any(o.lstrip("+~").split("=", 1)[0] == "tables" for o in HydraConfig.get().overrides.task)
    tables = []  # (name, config, runs, benchmark, identity): every table planned, loaded and checked before any run
    for name, table_cfg in experiment.plan_tables(plain, given):
        for option in ("out", "runs_dir"):
            output_folder(table_cfg[option], option)
        runs = experiment.plan_comparison(table_cfg)
        benchmark = experiment.load_benchmark(table_cfg["benchmark"])
        for _, run in {(run["strategy"]["name"], run["skip_duplicates"]): (f, run) for f, run in runs}.values():
            experiment.check_search(run, benchmark)  # a bad strategy option or constraint stops the comparison before any run
        tables.append((name, table_cfg, runs, benchmark, experiment.identity(benchmark)))
    most = max(plain.get("workers", [1]))
    first_runs = tables[0][2]  # every table plans the same strategies
    for note in dict.fromkeys(synchronous_note(experiment.configured_strategy(run["strategy"])[1], most) for _, run in first_runs):
        if note:  # once per strategy that cannot run asynchronously
            print(f"note: {note}", file=sys.stderr)
    todo = []
    for name, table_cfg, runs, benchmark, identity in tables:
        left = [(folder, run) for folder, run in runs if not experiment.finished(folder / "result.json", run, identity)]
        if len(left) < len(runs):
            print(f"kept {len(runs) - len(left)} finished runs from {table_cfg['runs_dir']} (same config, benchmark, code and libraries)")
        todo += [(name, folder, run, benchmark, identity) for folder, run in left]
    failures = {name: [] for name, *_ in tables}
    for name, folder, run, benchmark, identity in tqdm(todo, desc="comparison", unit="run", disable=not plain["progress"]):
        (folder / "result.json").unlink(missing_ok=True)  # a stale result must not stand in for this run
        (folder / "error.txt").unlink(missing_ok=True)
        try:
            result = experiment.search(run, benchmark, identity["git_commit"], identity["versions"],
                                       progress=plain["progress"])
            experiment.write_json(folder / "result.json", result)
        except Exception as err:  # noqa: BLE001 - one run's failure is reported and listed, the rest go on
            message = error_message(err)
            folder.mkdir(parents=True, exist_ok=True)
            write_text(folder / "error.txt", f"{type(err).__name__}: {message}\n")
            failures[name].append(f"{folder.relative_to(plain['runs_dir'])}: {message}")
            tqdm.write(f"error: run {failures[name][-1]}", file=sys.stderr)
    for name, _, runs, *_ in tables:
        if failures[name] and len(failures[name]) == len(runs):
            raise ValueError(f"every run{f' on table {name}' if name else ''} failed; the first: {failures[name][0]}")
    writer = write_pareto_report if plain.get("objectives") else write_report
    for name, table_cfg, runs, *_ in tables:
        out = writer(table_cfg["runs_dir"], table_cfg["out"], table_cfg["title"], only=[folder / "result.json" for folder, _ in runs])
        print(f"report written to {out}/README.md")
    if plain.get("tables") is not None:
        from nasbench.report.across_tables import write_across_tables

        out = write_across_tables([(name, table_cfg["runs_dir"], [folder / "result.json" for folder, _ in runs])
                                   for name, table_cfg, runs, *_ in tables], plain["out"], plain["title"])
        print(f"rank across tables written to {out}/README.md")


if __name__ == "__main__":
    main()
