"""Local worker processes die with the process that started them.

joblib's loky workers outlive a parent killed with ``kill -9`` until their idle
timeout (minutes), still computing chunks nobody will collect. Each worker
therefore starts, with its first task, a daemon thread that checks twice a
second whether its parent process has gone (the worker is then re-parented,
so ``os.getppid()`` changes) and ends the worker at once. Only the local
``processes`` backend does this: a Dask worker on another machine has its own
lifetime.
"""

from __future__ import annotations

import os
import threading
import time

CHECK_EVERY = 0.5  # seconds between checks of the parent


def die_with_parent(parent: int) -> None:
    """Make this worker process exit when ``parent`` (the process that started it) dies.

    Does nothing in ``parent`` itself (the threads backend) or when the
    watch is already running in this process.

    Args:
        parent: Process id of the mssim process that dispatched the work.
    """
    if os.getpid() == parent or os.getppid() != parent:
        return
    with _LOCK:
        if _WATCHING:
            return
        _WATCHING.append(parent)
    threading.Thread(target=_watch, args=(parent,), name="mssim-parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(CHECK_EVERY)
    os._exit(1)  # the parent is gone: nobody will collect this worker's results


_LOCK = threading.Lock()
_WATCHING: list[int] = []
