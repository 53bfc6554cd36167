"""Chunks of replicates: dispatch to joblib or Dask, checkpoint, resume.

A run is split into chunks of consecutive replicates. Each chunk's result is
written to ``DIR/chunks/`` under a temporary name and then renamed, so a file
that exists is complete. Re-running the same command skips finished chunks;
a run key (hash of everything that changes the numbers) guards the folder
against being reused for a different run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config
from tqdm.auto import tqdm

from mssim.errors import MssimError
from mssim.files import atomic_write_bytes
from mssim.registry import load_plugin, loaded_plugins

BACKENDS = ("threads", "processes", "dask")
ChunkResult = dict[str, np.ndarray]


def chunk_ranges(replicates: int, chunk_size: int) -> list[np.ndarray]:
    """Consecutive replicate indices, ``chunk_size`` at a time."""
    return [
        np.arange(start, min(start + chunk_size, replicates))
        for start in range(0, replicates, chunk_size)
    ]


def run_key(payload: dict[str, Any]) -> str:
    """A short hash of everything that determines a run's numbers."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checkpoints:
    """Finished chunks of one run, kept in ``folder/chunks``.

    Args:
        folder: The run's output folder, or None to keep nothing.
        key: The run key; a folder holding another key is refused.
    """

    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = None if folder is None else Path(folder) / "chunks"
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".chunk-*.tmp.npz"):  # left by a killed process
            stale.unlink(missing_ok=True)
        stamp = self.folder / "RUN_KEY"
        if stamp.exists() and stamp.read_text().strip() != key:
            raise MssimError(
                f"{folder}: holds chunks of a different run (the scenario or run settings "
                "changed); choose another --out folder or delete this one"
            )
        atomic_write_bytes(stamp, key.encode())

    def path(self, index: int) -> Path | None:
        """Where chunk ``index`` is kept (None when not checkpointing)."""
        return None if self.folder is None else self.folder / f"chunk-{index:06d}.npz"

    def load(self, index: int) -> ChunkResult | None:
        """A finished chunk, or None."""
        path = self.path(index)
        if path is None or not path.exists():
            return None
        with np.load(path) as data:
            return {k: data[k] for k in data.files}

    def save(self, index: int, result: ChunkResult) -> None:
        """Keep a finished chunk (atomically)."""
        path = self.path(index)
        if path is None:
            return
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        try:
            np.savez(tmp, **result)
            os.replace(tmp, path)
        finally:  # an interrupted write leaves nothing behind
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _backend(backend: str, n_jobs: int, scheduler: str | None) -> Iterator[int]:
    if backend not in BACKENDS:
        raise MssimError(f"--backend: unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if backend != "dask":
        with parallel_config(
            backend="threading" if backend == "threads" else "loky",
            inner_max_num_threads=1 if backend == "processes" else None,
        ):
            yield n_jobs
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise MssimError(
            "--backend dask: dask.distributed is not installed; pip install 'mssim[dask]'"
        ) from None
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=max(n_jobs, 1),
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    processes=True,
                )
            )
            client = stack.enter_context(Client(cluster))
        workers = len(client.scheduler_info().get("workers", {})) or max(n_jobs, 1)
        with parallel_config(backend="dask"):
            yield workers


def run_chunks(
    task: Callable[[np.ndarray], ChunkResult],
    chunks: list[np.ndarray],
    checkpoints: Checkpoints,
    n_jobs: int = 1,
    backend: str = "processes",
    scheduler: str | None = None,
    progress: bool | None = None,
    label: str = "replicates",
) -> list[ChunkResult]:
    """Run every chunk not already finished, keeping each as it completes.

    Args:
        task: Function of a chunk's replicate indices; must be picklable for
            process and Dask backends.
        chunks: Replicate indices per chunk.
        checkpoints: Where finished chunks are kept.
        n_jobs: Parallel workers (local backends).
        backend: ``threads``, ``processes`` or ``dask``.
        scheduler: Dask scheduler address (``tcp://host:port``); None starts
            a loopback cluster.
        progress: Show a progress bar; None = only on a terminal.
        label: What the bar counts.

    Returns:
        Chunk results in chunk order.
    """
    results: dict[int, ChunkResult] = {}
    for i in range(len(chunks)):
        found = checkpoints.load(i)
        if found is not None:
            results[i] = found
    todo = [i for i in range(len(chunks)) if i not in results]
    show = sys.stderr.isatty() if progress is None else progress
    total = sum(len(c) for c in chunks)
    with tqdm(
        total=total,
        initial=sum(len(chunks[i]) for i in results),
        unit=" " + label,
        disable=not show,
        smoothing=0.1,
        dynamic_ncols=True,
    ) as bar:
        if todo:
            with _backend(backend, n_jobs, scheduler) as workers:
                indexed = _indexed(task)
                stream = Parallel(n_jobs=workers, return_as="generator_unordered")(
                    delayed(indexed)(i, chunks[i]) for i in todo
                )
                for i, result in stream:
                    checkpoints.save(i, result)
                    results[i] = result
                    bar.set_postfix_str(f"chunks {len(results)}/{len(chunks)}", refresh=False)
                    bar.update(len(chunks[i]))
    return [results[i] for i in range(len(chunks))]


class _indexed:
    """Wrap a task so results come back with their chunk index.

    The plug-ins loaded here are loaded in the worker too (a worker process or
    a Dask worker starts without them), so registered names resolve the same.
    """

    def __init__(self, task: Callable[[np.ndarray], ChunkResult]) -> None:
        self.task = task
        self.plugins = tuple(loaded_plugins())

    def __call__(self, index: int, replicates: np.ndarray) -> tuple[int, ChunkResult]:
        for spec in self.plugins:
            load_plugin(spec)
        return index, self.task(replicates)
