"""Commands killed outright (SIGKILL): their workers end with them.

Each command runs in its own session, so its process group holds it and every process
it started, however deep; a worker left alive by a killed command shows up there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")

#: seconds a killed command's workers may take to end
GRACE = 10.0
BUILD = ["nasbench.cli.build", "space=tiny", "dataset=tiny", "train=quick", "seeds=[0,1]", "workers=2",
         "checkpoint_seconds=1", "progress=false"]


def sweep_args(table: Path, sweep: Path, seconds: float = 100) -> list[str]:
    """Eight search jobs (of about half a second each at 100 simulated seconds), two at a time (the joblib launcher)."""
    return ["nasbench.cli.search", "-m", "strategy=random,rea", "seed=range(0,4)", f"benchmark.path={table}",
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


def test_a_killed_sweep_takes_its_workers_with_it(tiny_table, tmp_path):
    # jobs that would run for hours: only the kill can end them
    proc = start(sweep_args(tiny_table, tmp_path / "sweep", seconds=1e9), tmp_path)
    assert wait_for(workers_started(proc, "popen_loky_posix"), 120) and proc.poll() is None
    time.sleep(1.0)  # the workers are inside their jobs
    kill_and_check(proc)
    assert not list((tmp_path / "sweep").rglob("result.json"))


def test_a_killed_build_takes_its_workers_with_it(tmp_path):
    proc = start([*BUILD, f"output={tmp_path / 't.h5'}"], tmp_path)
    assert wait_for(workers_started(proc, "spawn_main"), 120) and proc.poll() is None
    kill_and_check(proc)
