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
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, error_message, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_compare
from nasbench.io import write_text

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
    runs = experiment.plan_comparison(plain)
    benchmark = experiment.load_benchmark(plain["benchmark"])
    for _, run in {(run["strategy"]["name"], run["skip_duplicates"]): (f, run) for f, run in runs}.values():
        experiment.check_search(run, benchmark)  # a bad strategy option or constraint stops the comparison before any run
    most = max(plain.get("workers", [1]))
    for note in dict.fromkeys(synchronous_note(experiment.configured_strategy(run["strategy"])[1], most) for _, run in runs):
        if note:  # once per strategy that cannot run asynchronously
            print(f"note: {note}", file=sys.stderr)
    identity = experiment.identity(benchmark)
    todo = [(folder, run) for folder, run in runs if not experiment.finished(folder / "result.json", run, identity)]
    if len(todo) < len(runs):
        print(f"kept {len(runs) - len(todo)} finished runs from {plain['runs_dir']} (same config, benchmark, code and libraries)")
    failures = []
    for folder, run in tqdm(todo, desc="comparison", unit="run", disable=not plain["progress"]):
        (folder / "result.json").unlink(missing_ok=True)  # a stale result must not stand in for this run
        (folder / "error.txt").unlink(missing_ok=True)
        try:
            result = experiment.search(run, benchmark, identity["git_commit"], identity["versions"])
            experiment.write_json(folder / "result.json", result)
        except Exception as err:  # noqa: BLE001 - one run's failure is reported and listed, the rest go on
            message = error_message(err)
            write_text(folder / "error.txt", f"{type(err).__name__}: {message}\n")
            failures.append(f"{folder.parent.name}/{folder.name}: {message}")
            tqdm.write(f"error: run {failures[-1]}", file=sys.stderr)
    if failures and len(failures) == len(runs):
        raise ValueError(f"every run failed; the first: {failures[0]}")
    writer = write_pareto_report if plain.get("objectives") else write_report
    out = writer(plain["runs_dir"], plain["out"], plain["title"], only=[folder / "result.json" for folder, _ in runs])
    print(f"report written to {out}/README.md")


if __name__ == "__main__":
    main()
