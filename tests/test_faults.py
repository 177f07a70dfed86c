"""Commands killed outright (SIGKILL): their workers end with them, and running them again finishes the work.

Each command runs in its own session, so its process group holds it and every process
it started, however deep; a worker left alive by a killed command shows up there.
The fault-injection tests start and kill each command ten times: about a minute each on
the 2-core development machine (this module: 140 s; up to 7 minutes a test while other
jobs loaded the machine); ``-m "not faults"`` leaves them out.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nasbench.table.store import EPOCH_FIELDS, read_table

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")

#: seconds a killed command's workers may take to end: a worker starts watching its parent only once
#: its interpreter and pool code are imported, which took over 10 s on a loaded 2-core machine
GRACE = 30.0
BUILD = ["nasbench.cli.build", "space=tiny", "dataset=tiny", "train=quick", "seeds=[0,1]", "workers=2",
         "checkpoint_seconds=1", "progress=false"]


def sweep_args(table: Path, sweep: Path, seconds: float = 100) -> list[str]:
    """Sixteen search jobs (of about half a second each at 100 simulated seconds), two at a time (the joblib launcher)."""
    return ["nasbench.cli.search", "-m", "strategy=random,rea", "seed=range(0,8)", f"benchmark.path={table}",
            f"budget.seconds={seconds:g}", f"hydra.sweep.dir={sweep}"]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def group(pgid: int) -> list[str]:
    """The live (not zombie) processes of process group ``pgid``: ``"pid command"`` each."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        state, _, pgrp = text.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            alive.append(f"{stat.parent.name} {command[:120]}")
    return alive


def wait_for(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def kill_and_check(proc: subprocess.Popen) -> None:
    """SIGKILL the command alone (as an out-of-memory kill would); within :data:`GRACE` s nothing it started lives."""
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: not group(proc.pid), GRACE), f"alive {GRACE:g} s after the kill: {group(proc.pid)}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what the assertion found, so that it does not outlive the test
        except ProcessLookupError:
            pass


def workers_started(proc: subprocess.Popen, marker: str, count: int = 2):
    return lambda: proc.poll() is not None or sum(marker in p for p in group(proc.pid)) >= count


@pytest.mark.slow
def test_a_killed_sweep_takes_its_workers_with_it(tiny_table, tmp_path):
    # jobs that would run for hours: only the kill can end them
    proc = start(sweep_args(tiny_table, tmp_path / "sweep", seconds=1e9), tmp_path)
    assert wait_for(workers_started(proc, "popen_loky_posix"), 120) and proc.poll() is None
    time.sleep(1.0)  # the workers are inside their jobs
    kill_and_check(proc)
    assert not list((tmp_path / "sweep").rglob("result.json"))


@pytest.mark.slow
def test_a_killed_build_takes_its_workers_with_it(tmp_path):
    proc = start([*BUILD, f"output={tmp_path / 't.h5'}"], tmp_path)
    assert wait_for(workers_started(proc, "spawn_main"), 120) and proc.poll() is None
    kill_and_check(proc)


def kill_at_random_points(args: list[str], cwd: Path, kills: int, progress, rng: random.Random) -> None:
    """Start the command and SIGKILL it, ``kills`` times, each start resuming the last.

    Every other kill lands at a random time in the command's first seconds (imports, loading,
    starting workers); the others a random time after ``progress()`` (a count of what is saved)
    has grown in this run, so that each run saves work and the next one resumes from it.
    """
    done = 0
    for attempt in range(3 * kills):
        proc = start(args, cwd)
        if attempt % 2:
            before = progress()
            wait_for(lambda: proc.poll() is not None or progress() > before, 300)
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            time.sleep(rng.uniform(0.3, 3.0))
        if proc.poll() is not None:  # it finished first: no kill this time
            continue
        kill_and_check(proc)
        done += 1
        if done == kills:
            return
    pytest.fail(f"only {done} of {kills} kills landed while the command ran")


def finish(args: list[str], cwd: Path) -> None:
    result = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.faults
def test_a_sweep_killed_ten_times_resumes_to_the_same_results(tiny_table, tmp_path):
    finish(sweep_args(tiny_table, tmp_path / "reference"), tmp_path)
    reference = {p.relative_to(tmp_path / "reference"): p.read_bytes() for p in (tmp_path / "reference").rglob("result.json")}
    assert len(reference) == 16
    sweep = tmp_path / "sweep"
    args = sweep_args(tiny_table, sweep)
    kill_at_random_points(args, tmp_path, 10, lambda: len(list(sweep.rglob("result.json"))), random.Random(0))
    finish(args, tmp_path)
    results = {p.relative_to(tmp_path / "sweep"): p.read_bytes() for p in (tmp_path / "sweep").rglob("result.json")}
    assert results == reference


@pytest.mark.slow
@pytest.mark.faults
def test_a_build_killed_ten_times_resumes_to_the_same_table(tiny_table, tmp_path):
    args = [*BUILD, f"output={tmp_path / 't.h5'}"]

    def saved() -> int:  # entries and timed classes in the file (written whole, then renamed into place)
        try:
            table = read_table(tmp_path / "t.h5")
        except ValueError:  # not written yet
            return 0
        return int(table.entries["done"].sum() + np.isfinite(table.epoch_seconds).sum())

    kill_at_random_points(args, tmp_path, 10, saved, random.Random(1))
    finish(args, tmp_path)
    table, reference = read_table(tmp_path / "t.h5"), read_table(tiny_table)  # the same build, in one go
    assert table.attrs["complete"] and table.entries["done"].all()
    assert table.attrs["build_key"] == reference.attrs["build_key"]
    for name in EPOCH_FIELDS:
        if name != "epoch_time":  # wall times differ from run to run
            np.testing.assert_array_equal(table.epochs[name], reference.epochs[name], err_msg=name)
    np.testing.assert_array_equal(table.entries["diverged"], reference.entries["diverged"])
    assert len(json.loads(table.attrs["build_history"])) >= 2  # it did resume
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*.lock"))
