"""Worker processes that end with the process that started them.

A build's training processes and a sweep's joblib (loky) workers are children of the
command. When the command is killed outright (``kill -9``, an out-of-memory kill) nothing
in it runs to stop them: idle workers would wait for work for minutes, busy ones would
finish their job and write its result for a command that no longer exists. So each
worker watches its parent from a thread and kills itself when the parent is gone; its
own workers then see it gone and do the same.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from typing import Any

#: seconds between two looks at the parent
INTERVAL = 0.5

_watching = threading.Event()


def die_with_parent(parent: int | None = None, interval: float = INTERVAL) -> None:
    """Kill this process as soon as ``parent`` (a pid; default: the process that started this one) has ended.

    Call it first thing in a worker process; calling it again does nothing. The parent
    counts as ended when this process is re-parented (its parent pid changes), which
    also holds when it ended before this call.
    """
    if _watching.is_set():
        return
    if parent is None:
        import multiprocessing

        started_by = multiprocessing.parent_process()
        parent = started_by.pid if started_by is not None else os.getppid()
    _watching.set()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGKILL)  # as the parent was: its work resumes from what is saved

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def start_worker(parent: int, initializer: str, *args: Any) -> None:
    """A pool's worker initializer: :func:`die_with_parent`, then ``initializer`` (``"module:function"``) with ``args``.

    The initializer is named, not passed: a spawned worker imports whatever it unpickles
    before it runs anything, and a build worker's module imports torch, which can take
    seconds on a busy machine, while the parent may be gone already.
    """
    die_with_parent(parent)
    module, _, function = initializer.partition(":")
    getattr(importlib.import_module(module), function)(*args)


def loky_workers_die_with_parent() -> None:
    """Make the joblib (loky) workers this process starts from now on run :func:`die_with_parent`.

    Hydra's joblib launcher asks joblib for the ``"loky"`` backend by name and passes no
    worker initializer, so the name is registered again for a backend that adds one.
    """
    from joblib import register_parallel_backend
    from joblib._parallel_backends import LokyBackend

    class LokyWorkersDieWithParent(LokyBackend):
        def configure(self, *args, **kwargs):
            kwargs.setdefault("initializer", die_with_parent)
            kwargs.setdefault("initargs", (os.getpid(),))
            return super().configure(*args, **kwargs)

    register_parallel_backend("loky", LokyWorkersDieWithParent)
