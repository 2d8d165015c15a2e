"""Executors of experiment chunks: in-process, a process pool, or Dask.

All are `concurrent.futures.Executor`s, so the engine drives them the same way and a
chunk gives identical rows on any of them. Dask is imported only in `_dask_executor`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


class InlineExecutor(cf.Executor):
    """Runs each task at submit time in this process (one worker; tests; debugging)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


#: in a pool worker: the pid of its parent when it started (the driver, or the forkserver
#: the driver started); None in the driver itself
_PARENT: int | None = None
#: how often a pool worker checks that its parent is still there (seconds)
WATCH_INTERVAL_S = 0.2


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the driver, which stops the experiment cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_init() -> None:
    """A pool worker's start: ignore Ctrl-C, and exit as soon as its parent dies.

    When the driver is killed (kill -9), its workers are re-parented; a daemon thread
    sees the parent pid change and ends the worker, so no orphan goes on running (or
    writing) its queued chunks. A forkserver exits when the driver dies, which ends its
    workers the same way.
    """
    import threading

    global _PARENT
    _ignore_sigint()
    _PARENT = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != _PARENT:
                os._exit(70)
            time.sleep(WATCH_INTERVAL_S)

    threading.Thread(target=watch, name="watch-driver", daemon=True).start()


def driver_alive() -> bool:
    """In a pool worker: whether its parent is still the one it started with (always
    true in the driver and on Dask workers)."""
    return _PARENT is None or os.getppid() == _PARENT


def default_workers() -> int:
    """The number of cores this process may use (the default of --workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def open_executor(
    workers: int, dask: str | None = None, preload: tuple[str, ...] = ()
) -> Iterator[cf.Executor]:
    """The executor for an experiment: in-process (1 worker), a process pool, or Dask.

    `dask="local"` starts a LocalCluster with `workers` single-threaded worker processes;
    any other value is the address of a running scheduler (tcp://host:8786). Dask is
    imported only here. `preload`: modules every worker imports before its first task
    (the caller names them, so this module depends on no experiment code).
    """
    if dask is not None:
        with _dask_executor(workers, dask, preload) as ex:
            yield ex
        return
    if workers == 1:
        yield InlineExecutor()
        return
    ctx = multiprocessing.get_context(_start_method())
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(list(preload))
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
    try:
        pool.submit(int).result()  # start the workers now, before the progress bar's thread
        yield pool
    except BaseException:
        # stop at once: running chunks are lost (their runs are rerun on resume)
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 2.0  # dead before the driver counts what is saved
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
        raise
    else:
        pool.shutdown(wait=True)


def _start_method() -> str:
    """fork where it is safe (Linux, no other Python threads yet): workers start at once
    with the model imported; else forkserver (a clean server imports the model once and
    forks the workers from it), else spawn."""
    import threading

    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


#: Dask settings for experiment workers. The sampling profiler interrupts a run every 10 ms to
#: walk its stack, and the event-loop tick and monitors wake every 20-500 ms to take the
#: GIL: together ~15-20% of a run's time, for nothing a user looks at.
DASK_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "5s",
}


def _check_reachable(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a tcp:// scheduler address
    (Dask itself retries for its whole connect timeout before giving up)."""
    import socket
    from urllib.parse import urlsplit

    from sim.scenario import ScenarioError

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname:
        return  # other protocols: leave it to Dask
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786), timeout=5):
            pass
    except OSError as exc:
        raise ScenarioError(
            "--dask", "", f"cannot reach a Dask scheduler at {address!r} ({exc.strerror or exc})"
        ) from None


def _warm_worker(modules: tuple[str, ...]) -> None:
    """Import what a chunk needs, so a Dask worker's first chunk runs at full speed."""
    import importlib

    for name in modules:
        importlib.import_module(name)


@contextmanager
def _dask_executor(workers: int, address: str, preload: tuple[str, ...]) -> Iterator[cf.Executor]:
    import logging

    from sim.scenario import ScenarioError

    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a dependency
        raise ScenarioError(
            "--dask", "", "needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    import dask

    cluster = None
    dask.config.set(DASK_WORKER_CONFIG)
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            _check_reachable(address)
            try:
                client = Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(
                    "--dask", "", f"cannot reach a Dask scheduler at {address!r} ({exc})"
                ) from None
        try:
            # import the model on every worker now (part of start-up, not of the first
            # chunk): fresh worker processes would otherwise pay it inside the sweep
            client.run(_warm_worker, preload)
            yield client.get_executor(pure=False)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
