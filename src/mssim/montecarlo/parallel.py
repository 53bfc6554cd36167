"""Chunks of replicates: dispatch to joblib or Dask, checkpoint, resume.

A run is split into chunks of consecutive replicates. Each chunk's result is
written to ``DIR/chunks/`` under a temporary name and then renamed, so a file
that exists is complete. Re-running the same command skips finished chunks;
a run key (hash of everything that changes the numbers) guards the folder
against being reused for a different run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import io
import json
import math
import os
import sys
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config
from tqdm.auto import tqdm

from mssim.errors import MssimError
from mssim.files import atomic_write_bytes
from mssim.montecarlo.workers import die_with_parent
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


CHUNK_FORMAT = "mssim-chunk-1"
_META = "chunk.json"


def chunk_hash(key: str, index: int, members: dict[str, bytes]) -> str:
    """The sha256 of a chunk: its run key, its index and the bytes of every array.

    Args:
        key: The run key.
        index: The chunk's index in the run.
        members: Array name -> the array's ``.npy`` bytes.

    Returns:
        The hexadecimal digest.
    """
    digest = hashlib.sha256(f"{CHUNK_FORMAT}\0{key}\0{index}\0".encode())
    for name in sorted(members):
        data = members[name]
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def encode_chunk(key: str, index: int, result: ChunkResult) -> bytes:
    """A chunk as an uncompressed ``.npz`` file with its run key and content hash.

    The archive holds one ``<name>.npy`` member per array and a ``chunk.json``
    member with the format, run key, chunk index and :func:`chunk_hash`.
    """
    members = {}
    for name, array in result.items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
        members[name] = buffer.getvalue()
    meta = {
        "format": CHUNK_FORMAT,
        "key": key,
        "index": index,
        "sha256": chunk_hash(key, index, members),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
        archive.writestr(_META, json.dumps(meta))
    return buffer.getvalue()


def decode_chunk(data: bytes, key: str, index: int, replicates: int) -> ChunkResult | str:
    """The arrays of a chunk file, or why it cannot be trusted.

    A chunk is trusted only if it is an uncompressed archive of plain
    (non-object) arrays whose run key, index and content hash match, and
    whose arrays all end in one entry per replicate of the chunk.

    Args:
        data: The file's bytes.
        key: The run key the chunk must carry.
        index: The chunk index it must carry.
        replicates: Replicates in the chunk.

    Returns:
        Array name -> array, or a short reason the chunk is refused.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if any(info.compress_type != zipfile.ZIP_STORED for info in infos):
                return "it holds compressed members (mssim writes none)"
            members = {info.filename: archive.read(info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
        return "it is not a complete chunk archive (cut short or not written by mssim)"
    try:
        meta = json.loads(members.pop(_META, b""))
    except ValueError:
        return "it has no readable chunk.json"
    if not isinstance(meta, dict) or meta.get("format") != CHUNK_FORMAT:
        return f"it is not in the format {CHUNK_FORMAT}"
    if meta.get("key") != key or meta.get("index") != index:
        return "it belongs to another run or another chunk"
    if not members or any(not name.endswith(".npy") for name in members):
        return "it holds members that are not arrays"
    arrays = {name.removesuffix(".npy"): body for name, body in members.items()}
    if meta.get("sha256") != chunk_hash(key, index, arrays):
        return "its content does not match its sha256 (changed after it was written)"
    result = {}
    for name, body in arrays.items():
        array = _read_array(body)
        if array is None or array.ndim == 0 or array.shape[-1] != replicates:
            return f"its array {name!r} is not one entry per replicate"
        result[name] = array
    return result


_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _read_array(body: bytes) -> np.ndarray | None:
    """A plain array from ``.npy`` bytes whose size matches its header, or None."""
    buffer = io.BytesIO(body)
    try:
        version = np.lib.format.read_magic(buffer)
        read_header = _HEADERS[version]
        shape, fortran, dtype = read_header(buffer)
    except (KeyError, ValueError, SyntaxError, TypeError, EOFError):
        return None
    payload = body[buffer.tell() :]
    if dtype.hasobject or len(payload) != math.prod(shape) * dtype.itemsize:
        return None
    array = np.frombuffer(payload, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise MssimError(
            f"{path}: is a symbolic link; mssim does not follow links in a results folder "
            "(checkpoints are written only inside --out); remove the link or choose another --out"
        )


class Checkpoints:
    """Finished chunks of one run, kept in ``folder/chunks``.

    Each chunk file carries the run key, its index and a sha256 of its arrays
    (:func:`encode_chunk`). On resume a chunk that is cut short, changed,
    garbage or from another run is not trusted: it is computed again and
    replaced, with a warning. Links are never followed: a ``chunks`` folder,
    a chunk file or a folder between ``root`` and ``chunks`` that is a
    symbolic link is refused.

    Args:
        folder: The run's output folder, or None to keep nothing.
        key: The run key; a folder holding another key is refused.
        root: The output folder the user gave (``--out``); default ``folder``.

    Raises:
        MssimError: Naming the path, for a symbolic link, a file where a
            folder should be, or a folder holding chunks of another run.
    """

    def __init__(self, folder: Path | None, key: str, root: Path | None = None) -> None:
        self.key = key
        self.folder = None if folder is None else Path(folder) / "chunks"
        if self.folder is None:
            return
        top = Path(folder if root is None else root)
        for part in [self.folder, *self.folder.parents]:
            if part == top:
                break
            _refuse_link(part)
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".chunk-*.tmp"):  # left by a killed process
            stale.unlink(missing_ok=True)
        stamp = self.folder / "RUN_KEY"
        _refuse_link(stamp)
        if stamp.exists() and stamp.read_bytes().strip() != key.encode():
            raise MssimError(
                f"{folder}: holds chunks of a different run (the scenario or run settings "
                "changed); choose another --out folder or delete this one"
            )
        atomic_write_bytes(stamp, key.encode())

    def path(self, index: int) -> Path | None:
        """Where chunk ``index`` is kept (None when not checkpointing)."""
        return None if self.folder is None else self.folder / f"chunk-{index:06d}.npz"

    def load(self, index: int, replicates: int) -> ChunkResult | None:
        """A finished chunk that can be trusted, or None (then it is computed again).

        Args:
            index: The chunk's index.
            replicates: Replicates in the chunk.

        Raises:
            MssimError: Naming the path, if it is a symbolic link or not a file.
        """
        path = self.path(index)
        if path is None or not os.path.lexists(path):
            return None
        _refuse_link(path)
        if not path.is_file():
            raise MssimError(f"{path}: is not a file; remove it or choose another --out")
        found = decode_chunk(path.read_bytes(), self.key, index, replicates)
        if isinstance(found, str):
            warnings.warn(f"{path}: not trusted, computed again: {found}", stacklevel=2)
            return None
        return found

    def save(self, index: int, result: ChunkResult) -> None:
        """Keep a finished chunk (atomically; a link at the path is replaced, not followed)."""
        path = self.path(index)
        if path is None:
            return
        atomic_write_bytes(path, encode_chunk(self.key, index, result))


SCHEDULER_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before giving up


def _distributed() -> Any:
    try:
        import dask.distributed
    except ImportError:
        raise MssimError(
            "--backend dask: dask.distributed is not installed; pip install 'mssim[dask]'"
        ) from None
    return dask.distributed


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Refuse a Dask scheduler that does not answer, before any work is done.

    Connects to ``address``, asks the server who it is and disconnects.

    Args:
        address: Scheduler address, e.g. ``tcp://10.0.0.5:8786``.
        timeout: Seconds to wait for the connection and for the answer.

    Raises:
        MssimError: Naming the address, if it is malformed, nothing answers
            there within ``timeout``, or what answers is not a Dask scheduler.
    """
    distributed = _distributed()

    async def identity() -> object:
        comm = await distributed.comm.connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity"})
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # works inside a running loop too
        try:
            reply = pool.submit(asyncio.run, identity()).result()
        except Exception as err:  # refused, timed out, malformed, or another protocol
            raise MssimError(
                f"--scheduler {address}: cannot reach a Dask scheduler there within "
                f"{timeout:g} s ({type(err).__name__}: {err}); check the address "
                "(tcp://host:port) and that the scheduler is running"
            ) from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise MssimError(f"--scheduler {address}: something answered, but not a Dask scheduler")


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
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if scheduler:
            check_scheduler(scheduler)
            client = stack.enter_context(distributed.Client(scheduler, timeout=SCHEDULER_TIMEOUT))
        else:
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=max(n_jobs, 1),
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    processes=True,
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
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
        found = checkpoints.load(i, len(chunks[i]))
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
                indexed = _indexed(task, watch_parent=backend == "processes")
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
    With ``watch_parent`` a local worker process exits when this process dies
    (:func:`mssim.montecarlo.workers.die_with_parent`).
    """

    def __init__(self, task: Callable[[np.ndarray], ChunkResult], watch_parent: bool) -> None:
        self.task = task
        self.plugins = tuple(loaded_plugins())
        self.parent = os.getpid() if watch_parent else None

    def __call__(self, index: int, replicates: np.ndarray) -> tuple[int, ChunkResult]:
        if self.parent is not None:
            die_with_parent(self.parent)
        for spec in self.plugins:
            load_plugin(spec)
        return index, self.task(replicates)
