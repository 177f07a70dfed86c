"""Where one table entry's time goes: the generator's phases, measured on one class.

``python -m nasbench.train.profile --out reports/speed/generator`` trains one
class (its representative, seeds 0, 1, 2, the flagship space and dataset) with
each recipe, the reference (``conf/train/default.yaml``) and the stacked fast
path (``conf/train/stacked.yaml``), in this process with one torch thread, and
splits the CPU seconds per entry (this process's, so that other jobs on a shared
machine do not inflate them) into the trainers' phases (:class:`Stopwatch`):
build, data (orders and batch gathers), forward (with the loss), backward,
optimizer, metrics (train running averages, divergence checks), evaluation
(valid and test), latency measurement; BN is the share of forward and backward
self time that ``torch.profiler`` gives BatchNorm kernels over 20 steps. The
build's other work per entry: the timing pass (once per class), starting a
worker process (spawn, imports, dataset; once per worker per build, so
negligible on a full build) and sending a job and its result between processes.
Writes ``profile.csv`` (recipe, phase, seconds per entry, share), ``profile.json``
(the same with provenance and the machine) and ``README.md``; ``--benchmark`` with
the pytest-benchmark JSON of ``benchmarks/test_generator_speed.py`` writes its rates
to ``throughput.md`` (``--recipes ''`` to do only that).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

#: the class profiled by default: the flagship's most expensive kind of cell (three convolutions, a pool, a skip)
DEFAULT_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
SEEDS = (0, 1, 2)
#: a full flagship build's entries per worker process (6,466 classes x 3 seeds over 2 workers)
ENTRIES_PER_WORKER = 6466 * 3 / 2


def recipe_of(name: str):
    """The recipe ``train=<name>`` of ``nasbench-build``'s config."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from nasbench.cli.common import CONF_DIR
    from nasbench.cli.schema import register
    from nasbench.train.recipe import Recipe

    register()
    with initialize_config_dir(config_dir=CONF_DIR, version_base=None):
        config = compose("build", overrides=[f"train={name}"])
    return Recipe(**OmegaConf.to_container(config.train, resolve=True))


def bn_share(model, step, steps: int = 20) -> float:
    """Share of the self CPU time of ``steps`` calls of ``step`` spent in BatchNorm kernels (forward and backward)."""
    from torch.profiler import profile

    for _ in range(3):
        step()
    with profile() as prof:
        for _ in range(steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    return sum(e.self_cpu_time_total for e in events if "batch_norm" in e.key) / total


def _bn_step(space, decisions, data, recipe):
    """One training step of the recipe's model (stacked or not), for :func:`bn_share`."""
    import torch
    from torch import nn

    from nasbench.train.stacked import channel_major, stack_models
    from nasbench.train.trainer import make_optimizer

    models = []
    for seed in SEEDS if recipe.stack_seeds else SEEDS[:1]:
        torch.manual_seed(seed)
        models.append(space.build_model(decisions))
    model = stack_models(models) if recipe.stack_seeds else models[0]
    optimizer = make_optimizer(model.parameters(), recipe)
    x, y = (torch.as_tensor(a[:recipe.batch_size]) for a in data.split("train"))
    inputs = channel_major(x.expand(len(models), *x.shape)) if recipe.stack_seeds else x

    def step():
        logits = model(inputs).reshape(-1, space.num_classes_out)
        loss = nn.functional.cross_entropy(logits, y.repeat_interleave(len(models)) if recipe.stack_seeds else y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return model, step


def _ready() -> float:
    return time.perf_counter()


def worker_costs(space, dataset) -> tuple[float, float]:
    """Seconds to start one spawned, set-up worker; seconds of one job round trip (submit, a trivial job, result)."""
    from nasbench.train.jobs import init_worker

    start = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=init_worker,
                             initargs=(space.config(), asdict(dataset), 1)) as pool:
        pool.submit(_ready).result()
        started = time.perf_counter() - start
        trips = []
        for _ in range(20):
            t = time.perf_counter()
            pool.submit(_ready).result()
            trips.append(time.perf_counter() - t)
    return started, sorted(trips)[len(trips) // 2]


def profile_class(space, decisions, data, recipe) -> dict[str, float]:
    """Seconds per entry by phase, training ``decisions`` for every seed of :data:`SEEDS` with ``recipe``."""
    from nasbench.train.recipe import TimingConfig
    from nasbench.train.stacked import train_stacked
    from nasbench.train.timing import time_epoch
    from nasbench.train.trainer import Stopwatch, train

    watch = Stopwatch(time.process_time)
    start = time.process_time()
    if recipe.stack_seeds:
        train_stacked(space, decisions, data, recipe, list(SEEDS), watch=watch)
    else:
        for seed in SEEDS:
            train(space, decisions, data, recipe, seed, watch=watch)
    total = time.process_time() - start
    phases = {name: seconds / len(SEEDS) for name, seconds in watch.seconds.items()}
    phases["other (loop, epoch bookkeeping)"] = total / len(SEEDS) - sum(phases.values())
    start = time.process_time()
    time_epoch(space, decisions, data, recipe, TimingConfig())
    phases["timing pass"] = (time.process_time() - start) / len(SEEDS)
    return phases


def throughput_lines(path: str) -> list[str]:
    """A README section from the pytest-benchmark JSON of ``benchmarks/test_generator_speed.py``."""
    try:
        data = json.loads(Path(path).read_text())
        runs = {b["name"]: b["extra_info"] for b in data["benchmarks"]}
        plain, generator = runs["test_plain_loop"], runs["test_generator_stacked"]
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"--benchmark {path}: not a JSON of benchmarks/test_generator_speed.py ({err})") from None
    machine = data.get("machine_info", {})
    lines = ["", "## Throughput: the generator against the plain loop", "",
             f"`benchmarks/test_generator_speed.py`, {data.get('datetime', '')} on {machine.get('cpu', {}).get('brand_raw', '')}, "
             f"commit {data.get('commit_info', {}).get('id', '')[:12]}: 8 classes x 3 seeds each side, in one run. "
             "Entries per core-hour by wall time x cores used, and by the CPU seconds the processes got "
             "(the machine was shared with other jobs, so the wall clock also counts waiting for a core).", "",
             "| | wall s | CPU s | entries / core-hour (wall) | entries / core-hour (CPU) |", "|---|---|---|---|---|"]
    for name, run in (("plain loop (reference recipe, 1 process)", plain),
                      ("generator, stacked recipe (2 workers)", generator)):
        lines.append(f"| {name} | {run['wall_s']:.0f} | {run['cpu_s']:.0f} | {run['entries_per_core_hour_wall']:.0f} | "
                     f"{run['entries_per_core_hour_cpu']:.0f} |")
    wall = generator["entries_per_core_hour_wall"] / plain["entries_per_core_hour_wall"]
    cpu = generator["entries_per_core_hour_cpu"] / plain["entries_per_core_hour_cpu"]
    hours = 6466 * 3 / (2 * generator["entries_per_core_hour_cpu"])
    lines += ["", f"Ratio generator / plain loop: {wall:.2f}x by wall time, {cpu:.2f}x by CPU time. At the generator's "
              f"CPU rate a full flagship table (6,466 classes x 3 seeds) takes {hours:.0f} h on 2 dedicated cores."]
    return lines


def main(argv=None) -> None:
    import numpy as np
    import torch

    from nasbench.io import json_default, write_text
    from nasbench.provenance import report_provenance
    from nasbench.space import CellSpace
    from nasbench.train.data import DatasetConfig, load_dataset
    from nasbench.train.trainer import machine_description

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="reports/speed/generator", help="output folder")
    parser.add_argument("--arch", default=DEFAULT_ARCH, help="the architecture whose class is profiled (any encoding)")
    parser.add_argument("--recipes", default="default,stacked", help="comma-separated conf/train recipes ('' profiles none)")
    parser.add_argument("--benchmark", default=None,
                        help="pytest-benchmark JSON of benchmarks/test_generator_speed.py: its rates go to throughput.md")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.benchmark:
        from nasbench.provenance import git_commit

        lines = throughput_lines(args.benchmark)
        out.mkdir(parents=True, exist_ok=True)
        command = "python -m nasbench.train.profile " + " ".join(argv if argv is not None else sys.argv[1:])
        write_text(out / "throughput.md", "\n".join(
            ["# Generator throughput", *lines[2:], "", f"Made by `{command.strip()}` at {git_commit()[:12]}.", ""]))
        print("\n".join(lines))
    if not args.recipes:
        return
    torch.set_num_threads(1)
    space, dataset = CellSpace(), DatasetConfig()
    data = load_dataset(dataset)
    try:
        arch = space.parse(args.arch)
    except ValueError as err:
        raise SystemExit(f"--arch: {err}") from None
    decisions = tuple(int(d) for d in arch.decisions)
    spawn, trip = worker_costs(space, dataset)
    rows = []
    for name in args.recipes.split(","):
        recipe = recipe_of(name)
        phases = profile_class(space, decisions, data, recipe)
        model, step = _bn_step(space, decisions, data, recipe)
        share = bn_share(model, step)
        phases["process: worker start (amortised over a full build)"] = spawn / ENTRIES_PER_WORKER
        # a reference job carries one entry, a stacked job all seeds of a class
        phases["process: job round trip"] = trip / (len(SEEDS) if recipe.stack_seeds else 1)
        total = sum(phases.values())
        for phase, seconds in phases.items():
            rows.append({"recipe": name, "phase": phase, "seconds_per_entry": seconds, "share": seconds / total})
        bn = share * (phases["forward"] + phases["backward"])
        rows.append({"recipe": name, "phase": "of forward+backward: BN", "seconds_per_entry": bn, "share": bn / total})
        rows.append({"recipe": name, "phase": "total", "seconds_per_entry": total, "share": 1.0})
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    frame = pd.DataFrame(rows)
    write_text(out / "profile.csv", frame.to_csv(index=False))
    totals = frame[frame.phase == "total"].set_index("recipe").seconds_per_entry
    command = "python -m nasbench.train.profile " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = report_provenance(arch=arch.arch_str if hasattr(arch, "arch_str") else space.to_string(decisions),
                             seeds=list(SEEDS), space=space.config(), dataset=asdict(dataset),
                             recipes={n: recipe_of(n).to_dict() for n in totals.index},
                             machine=machine_description(),
                             measured=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
    meta["command"] = command.strip()
    write_text(out / "profile.json", json.dumps({**meta, "rows": rows}, indent=1, default=json_default))
    table = frame.pivot(index="phase", columns="recipe", values="seconds_per_entry").reindex(
        list(dict.fromkeys(frame.phase)))
    lines = [
        "# Generator profile: where one entry's time goes",
        "",
        f"One class ({meta['arch']}), seeds {', '.join(map(str, SEEDS))}, flagship space and dataset, one process "
        f"with one torch thread, on {meta['machine'].get('cpu', 'unknown CPU')}, measured {meta['measured']}. "
        "CPU seconds of the process per (architecture, seed) entry (worker start and job round trip: wall seconds); "
        "the machine was shared with other jobs, which still slows a process through shared caches and cores.",
        "",
        "| phase | " + " | ".join(f"{r} (s)" for r in table.columns) + " |",
        "|---|" + "---|" * len(table.columns),
    ]
    for phase, values in table.iterrows():
        lines.append(f"| {phase} | " + " | ".join(
            f"{v:.3g} ({100 * v / totals[r]:.0f}%)" if np.isfinite(v) else "" for r, v in values.items()) + " |")
    if len(totals) > 1:
        base = totals.iloc[0]
        lines += ["", "Speed-up per entry against the first recipe: " + ", ".join(
            f"{r} {base / t:.2f}x" for r, t in totals.items())]
    lines += ["", "BN is part of forward and backward (not added to the total).", "",
              f"Made by `{meta['command']}` at {meta['git_commit'][:12]}; profile.json holds the provenance.", ""]
    write_text(out / "README.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
