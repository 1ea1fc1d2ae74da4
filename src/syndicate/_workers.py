"""Worker processes for the build: process pools for parsing and rendering, and forked archive-page workers.

Everything here is about processes, nothing about feeds: callers pass the function to run and the work to split.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("syndicate.build")
_A = TypeVar("_A")
_R = TypeVar("_R")
_T = TypeVar("_T")


def cpu_count() -> int:
    """Cores this process may run on, at most 8 (more workers only add memory for a build's sizes)."""
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1), 8)


@dataclass(frozen=True)
class Parallelism:
    """When a build uses worker processes, and how many. Below each threshold a pool costs more than it saves
    (docs/benchmarks.md, where_time_goes); tests lower them to drive the parallel paths with a few posts."""

    workers: int = 0  # 0: one per core (cpu_count)
    parse_from: int = 500  # files to parse
    render_from: int = 100  # post bodies to render
    archive_from: int = 300  # archive documents to render (in forked workers)

    @property
    def count(self) -> int:
        return self.workers or cpu_count()

    def can_fork(self) -> bool:
        """Whether worker processes may be forked from here: only while this is the only thread (see process_pool)."""
        return self.count > 1 and threading.active_count() == 1


_PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_parent(parent: int | None) -> None:
    """Worker initializer: end this worker when the process that forked it ends.

    A pool's workers wait on a pipe their siblings also hold open, so they never see it close: without this, the
    workers of a build killed with SIGKILL (the OOM killer, a supervisor) would wait forever, holding memory. ``parent``
    is the pid expected as parent (None under a fork server, whose own end follows ours): if it has already gone, the
    signal was set too late and the worker ends itself.
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


# The modules a fork server loads once, before it forks any worker: what the workers' functions need.
_FORK_SERVER_PRELOAD = ["syndicate.builder"]


def start_fork_server() -> None:
    """Start the fork server now rather than at the first pool that needs it (see process_pool).

    Starting it means a new interpreter importing the build's modules (docs/benchmarks.md, "Cold server start"): a
    server that is about to parse many posts in a thread starts it first, so that this runs alongside its own
    imports and set-up instead of after them. A fork server that cannot be started is left to ``process_pool``,
    whose failure the build already handles.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_FORK_SERVER_PRELOAD)
    with contextlib.suppress(OSError):
        multiprocessing.forkserver.ensure_running()


def process_pool(workers: int) -> ProcessPoolExecutor:
    # fork is cheapest, but only safe while this is the only thread: the server builds in a worker thread while its
    # event loop runs, and forking a threaded process can copy a lock held by another thread into the child. Then a
    # fork server (started once, single-threaded) forks the workers instead.
    if threading.active_count() == 1:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_FORK_SERVER_PRELOAD)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_parent, initargs=(None,))


def in_parallel(
    function: Callable[[_A], list[_R]],
    batches: list[_A],
    workers: int,
    done: Callable[[int], None],
    meanwhile: Callable[[], None] | None = None,
) -> list[_R]:
    """Run ``function`` over ``batches`` in worker processes (serially, here, if the pool cannot be used); see
    ``each_in_parallel`` for ``meanwhile``."""
    results: list[_R] = []
    for batch in each_in_parallel(function, batches, workers, meanwhile):
        results.extend(batch)
        done(len(results))
    return results


def each_in_parallel(
    function: Callable[[_A], list[_R]],
    batches: list[_A],
    workers: int,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[list[_R]]:
    """``function``'s result for each of ``batches`` in order, as each arrives from worker processes (or is made
    here, serially, if the pool cannot be used): a caller that consumes each batch as it comes never holds every
    result at once (a million posts' results would take gigabytes).

    A pool can fail for reasons that have nothing to do with the posts (no /dev/shm, a process limit, a main module
    that cannot be re-imported): the build then goes on in this process with the batches not yet given, rather than
    failing.

    ``meanwhile`` is called once, in this process, as soon as the workers have been given the batches: work of the
    caller's that would otherwise wait for their results (or, if there are no workers, before the batches are done
    here).
    """
    given = 0
    pending = [meanwhile] if meanwhile is not None else []
    in_meanwhile = False
    try:
        with process_pool(workers) as pool:
            results = pool.map(function, batches)
            in_meanwhile = True
            while pending:
                pending.pop()()
            in_meanwhile = False
            for batch in results:
                given += 1
                yield batch
    except (BrokenProcessPool, OSError) as exc:
        if in_meanwhile:
            raise  # the caller's own failure, not the pool's
        log.warning("worker processes unavailable (%s); continuing in one process", exc)
        while pending:
            pending.pop()()
        for args in batches[given:]:
            yield function(args)


# What forked workers inherit: set by ``fork_workers`` just before the fork, so the work (and the posts it holds) is
# not pickled to the workers.
_JOB: tuple[Callable[[list[object]], list[object]], Sequence[object]] | None = None


def run_inherited(indices: list[int]) -> list[object]:
    """Forked worker: run the inherited job's function on its items at ``indices``."""
    assert _JOB is not None, "only in a worker forked by fork_workers"
    function, items = _JOB
    return function([items[i] for i in indices])


@dataclass(frozen=True)
class ForkedWorkers(Generic[_R]):
    """Forked workers each running one contiguous run of the items (see fork_workers)."""

    pool: ProcessPoolExecutor
    futures: list[Future[list[_R]]]

    def collect(self) -> tuple[list[_R], BaseException | None]:
        """Every finished worker's results in order, and the failure of the first that could not finish (None when
        all did: then the results are complete; else the caller does the work itself and cleans up after these)."""
        results: list[_R] = []
        failure: BaseException | None = None
        with self.pool:
            for future in self.futures:
                try:
                    results.extend(future.result())
                except (BrokenProcessPool, OSError) as exc:
                    failure = failure or exc
        return results, failure


def fork_workers(
    function: Callable[[list[_T]], list[_R]], items: Sequence[_T], workers: int
) -> ForkedWorkers[_R] | None:
    """Fork workers that run ``function`` on ``items``, cut into one contiguous run per worker; None if none could
    be started. The workers inherit ``function`` and ``items`` instead of receiving them pickled."""
    global _JOB
    count = min(workers, len(items))
    tasks = [list(range(len(items) * i // count, len(items) * (i + 1) // count)) for i in range(count)]
    _JOB = (function, items)  # type: ignore[assignment]
    # Objects that exist at the fork are left out of the workers' garbage collections, which would otherwise
    # write to every one of them and so copy the whole inherited heap, page by page.
    gc.freeze()
    try:
        # A fork pool forks every worker on the first submit, before its own threads start.
        pool = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )
        futures: list[Future[list[_R]]] = [
            pool.submit(run_inherited, task)  # type: ignore[arg-type]
            for task in tasks
        ]
    except OSError as exc:
        log.warning("worker processes could not be forked (%s); the work is done in this process", exc)
        return None
    finally:
        gc.unfreeze()
        _JOB = None
    return ForkedWorkers(pool, futures)
