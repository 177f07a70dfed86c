"""``nasbench-search``: one strategy x one seed against a benchmark (see ``conf/search.yaml``).

The search itself is :func:`nasbench.search.experiment.search`; this shell composes the config,
writes the result into Hydra's folder and, in a sweep, keeps finished jobs and records failed ones.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from nasbench.cli.common import CONF_DIR, USER_ERRORS, error_message, fail, one_line_errors, one_line_hydra_errors
from nasbench.cli.schema import register_search, register_strategies
from nasbench.io import write_text
from nasbench.search import experiment

register_search()


def finished_job(out: Path, cfg: dict[str, Any]) -> tuple[bool, Any, str | None]:
    """Whether ``out`` holds a finished result of the run ``cfg`` describes, made on the same benchmark by
    the same code and libraries (as ``nasbench-compare`` keeps one); also the benchmark and commit, for the run.

    A benchmark that cannot be loaded answers "not finished": the run then reports why.
    """
    if not out.is_file():
        return False, None, None
    try:
        benchmark = experiment.load_benchmark(cfg["benchmark"])
    except USER_ERRORS:
        return False, None, None
    identity = experiment.identity(benchmark)
    return experiment.finished(out, cfg, identity), benchmark, identity["git_commit"]


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


def main() -> None:
    """The console script: the strategies the command line selects join Hydra's strategy group, then :func:`run`."""
    try:
        register_strategies(sys.argv[1:])
    except USER_ERRORS as err:
        fail(error_message(err))
    run()


@one_line_hydra_errors
@hydra.main(config_path=CONF_DIR, config_name="search", version_base="1.3")
@one_line_errors
def run(cfg: DictConfig) -> None:
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
        write_text(unfinished, "this sweep job has written neither its result nor its error.txt (yet)\n")
    try:
        from nasbench.search.workers import synchronous_note

        note = synchronous_note(experiment.configured_strategy(plain["strategy"])[1], plain["workers"])
        if note:
            print(f"note: {note}", file=sys.stderr)
        result = experiment.search(plain, benchmark, commit)
        experiment.write_json(out, result)
    except Exception as err:
        if not sweep_job:
            raise
        # one job of a sweep: say why it failed, leave it to the report's list of failed runs, and let the others run
        message = error_message(err) if isinstance(err, USER_ERRORS) else f"{type(err).__name__}: {error_message(err)}"
        details = "" if isinstance(err, USER_ERRORS) else "\n" + traceback.format_exc()  # a bug, not bad input: keep the trace
        try:
            write_text(failure, message + "\n" + details)
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
