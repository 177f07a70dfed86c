"""``nasbench-search``: one strategy x one seed against a benchmark (see ``conf/search.yaml``)."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, USER_ERRORS, error_message, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_search
from nasbench.io import write_json

register_search()


def load_benchmark(cfg: dict[str, Any]):
    """The benchmark a search runs against, from the ``benchmark`` config group."""
    kind = cfg.get("kind")
    if kind == "table":
        from nasbench.table import Benchmark

        return Benchmark.load(cfg.get("path"))
    if kind == "surrogate":
        from nasbench.surrogate import SurrogateBenchmark

        return SurrogateBenchmark.load(cfg.get("path"), noise=cfg.get("noise", False), noise_seed=cfg.get("noise_seed", 0))
    raise ValueError(f"unknown benchmark kind {kind!r}; valid: table, surrogate")


def check_one_shot_options(name: str, cfg: dict[str, Any]) -> None:
    """The run options a supernet cannot honour are one-line errors."""
    unsupported = [
        text for text, on in (
            ("constraint.*", any(v is not None for v in (cfg.get("constraint") or {}).values())),
            ("objectives", bool(cfg.get("objectives"))),
            ("skip_duplicates=true", bool(cfg.get("skip_duplicates"))),
            (f"workers={cfg.get('workers')}", cfg.get("workers", 1) != 1),
        ) if on
    ]
    if unsupported:
        raise ValueError(f"strategy {name} trains a supernet and does not support {', '.join(unsupported)}; drop them for this strategy")


def check_search(cfg: dict[str, Any], benchmark) -> None:
    """Everything :func:`search` checks about ``cfg`` before it runs, without running it."""
    from nasbench.search import ONE_SHOT_NAMES, make_strategy, resolve_budget
    from nasbench.search.base import positive_int
    from nasbench.search.multiobjective import ArchTable, check_constraints

    resolve_budget(cfg["budget"], benchmark)
    options = dict(cfg["strategy"])
    name = options.pop("name", None)
    constraints = check_constraints(cfg.get("constraint"))
    if constraints:
        ArchTable.from_benchmark(benchmark).feasible(constraints)  # a bound nothing meets is an error now
    if name in ONE_SHOT_NAMES:
        from nasbench.search.oneshot import make_one_shot

        check_one_shot_options(name, cfg)
        make_one_shot(name, benchmark.space, cfg["seed"], **options)
    else:
        from nasbench.search.runner import check_searchable

        make_strategy(name, benchmark.space, np.random.default_rng(0), benchmark.num_epochs, objectives=cfg.get("objectives"), **options)
        positive_int("workers", cfg.get("workers", 1))
        check_searchable(benchmark)


def one_shot_search(name: str, options: dict[str, Any], cfg: dict[str, Any], benchmark, budget) -> dict[str, Any]:
    """Run a one-shot strategy; the options a supernet cannot honour are one-line errors."""
    check_one_shot_options(name, cfg)
    from nasbench.search.oneshot import make_one_shot, run_one_shot

    return run_one_shot(make_one_shot(name, benchmark.space, cfg["seed"], **options), benchmark, budget)


def search(
    cfg: dict[str, Any], benchmark=None, commit: str | None = None, versions: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run the search ``cfg`` describes (a resolved ``conf/search.yaml``); returns the result.

    ``benchmark``: the benchmark ``cfg["benchmark"]`` names, already loaded (benchmarks hold no
    state a run changes, so runs may share one); ``commit`` and ``versions``: the code's
    :func:`git_commit` and :func:`library_versions`, if known (looking them up costs as much
    as a short run).
    """
    from nasbench.search import ONE_SHOT_NAMES, make_generators, make_strategy, resolve_budget, run_search
    from nasbench.provenance import code_sha256, describe_benchmark, git_commit, library_versions

    commit = commit or git_commit()  # of the code this process imported, before the run
    code = code_sha256()
    options = dict(cfg["strategy"])
    name = options.pop("name", None)
    benchmark = benchmark if benchmark is not None else load_benchmark(cfg["benchmark"])
    # Budget allows inf (one-shot Python callers); a run from a config must end and record a real budget
    budget, budget_record = resolve_budget(cfg["budget"], benchmark)
    constraint = cfg.get("constraint") or {}
    objectives = cfg.get("objectives")
    if name in ONE_SHOT_NAMES:
        result = one_shot_search(name, options, cfg, benchmark, budget)
    else:
        strategy_rng, runner_rng = make_generators(cfg["seed"])
        strategy = make_strategy(name, benchmark.space, strategy_rng, benchmark.num_epochs, objectives=objectives, **options)
        result = run_search(
            strategy, benchmark, budget, runner_rng, skip_duplicates=bool(cfg["skip_duplicates"]),
            constraints=constraint, objectives=objectives, workers=cfg.get("workers", 1),
        )
    return {
        "strategy": name,
        "strategy_options": options,
        "seed": cfg["seed"],
        "skip_duplicates": bool(cfg["skip_duplicates"]),
        "budget": budget_record,
        "benchmark": {**cfg["benchmark"], "resolved": describe_benchmark(benchmark)},
        "config": cfg,
        "versions": versions or library_versions(),
        "git_commit": commit,
        "code_sha256": code,
        **result,
    }


def finished_job(out: Path, cfg: dict[str, Any]) -> tuple[bool, Any, str | None]:
    """Whether ``out`` holds a finished result of the run ``cfg`` describes, made on the same benchmark by
    the same code and libraries (as ``nasbench-compare`` keeps one); also the benchmark and commit, for the run.

    A benchmark that cannot be loaded answers "not finished": the run then reports why.
    """
    from nasbench.cli.compare import finished
    from nasbench.provenance import code_sha256, describe_benchmark, git_commit, library_versions

    if not out.is_file():
        return False, None, None
    try:
        benchmark = load_benchmark(cfg["benchmark"])
    except USER_ERRORS:
        return False, None, None
    identity = {"benchmark": describe_benchmark(benchmark), "git_commit": git_commit(), "code_sha256": code_sha256(),
                "versions": library_versions()}
    return finished(out, cfg, identity), benchmark, identity["git_commit"]


#: left in a sweep job's folder until the job has written its result or its error.txt
UNFINISHED = ".unfinished"


class FailedJobsCallback(Callback):
    """Ends a sweep with exit status 1, naming the failed jobs, when any job of it failed.

    A job failed when it recorded an ``error.txt``, or when it left its :data:`UNFINISHED`
    marker behind: it could write neither a result nor an ``error.txt`` (a full disk),
    or it was killed. Files are told apart by identity and modification stamp, not by
    clocks: a file that is new or changed since the sweep started belongs to it (a
    reused sweep folder may hold older ones; a shared file system's clock may differ
    from this host's).
    """

    @staticmethod
    def _stamps(sweep: Path) -> dict[Path, tuple[int, int]]:
        stamps = {}
        for pattern in ("**/error.txt", f"**/{UNFINISHED}"):
            for path in sweep.glob(pattern):
                try:
                    info = path.stat()
                except OSError:
                    continue
                stamps[path] = (info.st_ino, info.st_mtime_ns)
        return stamps

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.before = self._stamps(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        new = sorted(path for path, stamp in self._stamps(sweep).items() if self.before.get(path) != stamp)
        recorded = [str(path.parent.relative_to(sweep)) for path in new if path.name == "error.txt"]
        unrecorded = [str(path.parent.relative_to(sweep)) for path in new if path.name == UNFINISHED]
        if not (recorded or unrecorded):
            return
        parts = [f"{', '.join(recorded)}: each folder's error.txt says why"] if recorded else []
        if unrecorded:
            parts.append(f"{', '.join(unrecorded)}: no error.txt could be written, see the job's stderr or log")
        print(f"error: {len(recorded) + len(unrecorded)} job(s) of the sweep failed ({'; '.join(parts)}); "
              f"the others' results are in {sweep}", file=sys.stderr)
        sys.exit(1)


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="search", version_base="1.3")
@one_line_errors
def main(cfg: DictConfig) -> None:
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir) / cfg.output
    failure = out.with_name("error.txt")
    unfinished = Path(hydra_cfg.runtime.output_dir) / UNFINISHED
    sweep_job = hydra_cfg.mode == RunMode.MULTIRUN
    plain = OmegaConf.to_container(cfg, resolve=True)
    benchmark, commit = None, None
    if sweep_job:  # a sweep run again into its folder keeps the jobs that finished
        kept, benchmark, commit = finished_job(out, plain)
        if kept:
            failure.unlink(missing_ok=True)
            unfinished.unlink(missing_ok=True)
            print(f"{plain['strategy']['name']} seed={plain['seed']}: kept the finished result {out} "
                  "(same config, benchmark, code and libraries)")
            return
        for earlier in (out, failure):  # no earlier attempt may stand in for this job
            earlier.unlink(missing_ok=True)
        unfinished.parent.mkdir(parents=True, exist_ok=True)
        unfinished.write_text("this sweep job has written neither its result nor its error.txt (yet)\n")
    try:
        from nasbench.search.workers import synchronous_note

        note = synchronous_note(plain["strategy"].get("name"), plain["workers"])
        if note:
            print(f"note: {note}", file=sys.stderr)
        result = search(plain, benchmark, commit)
        write_json(out, result)
    except Exception as err:
        if not sweep_job:
            raise
        # one job of a sweep: say why it failed, leave it to the report's list of failed runs, and let the others run
        message = error_message(err) if isinstance(err, USER_ERRORS) else f"{type(err).__name__}: {error_message(err)}"
        details = "" if isinstance(err, USER_ERRORS) else "\n" + traceback.format_exc()  # a bug, not bad input: keep the trace
        try:
            failure.parent.mkdir(parents=True, exist_ok=True)
            failure.write_text(message + "\n" + details)
            unfinished.unlink(missing_ok=True)
        except OSError as unwritable:  # e.g. the disk is full: the marker stays, and the sweep counts the job as failed
            message += f" (and its error.txt could not be written: {error_message(unwritable)})"
        print(f"error: job {hydra_cfg.job.num} ({' '.join(hydra_cfg.overrides.task)}): {message}", file=sys.stderr)
        return
    if sweep_job:
        unfinished.unlink(missing_ok=True)
    final = result["final"] or {}
    front = f", front of {final.get('front_size', 0)}, hypervolume regret {final.get('hv_regret', float('nan')):.4f}" if result.get("objectives") else ""
    workers = f" on {result['workers']} workers ({result['worker_seconds']:.0f} worker-s)" if result.get("workers") else ""
    print(
        f"{result['strategy']} seed={result['seed']}: {result['num_evals']} evaluations, "
        f"{result['simulated_time']:.0f} of {result['budget']['seconds']:.0f} s simulated{workers}, "
        f"incumbent test {100 * final.get('incumbent_test', float('nan')):.2f}%, "
        f"regret {100 * final.get('regret', float('nan')):.2f} points{front} -> {out}"
    )


if __name__ == "__main__":
    main()
