"""Where independent tasks run: processes on this machine, or a Dask cluster.

A stage that splits its work into independent tasks (the NLP step of ingest: one task per
batch of turns) hands them to an :class:`Engine`:

- ``local`` (default): processes on this machine, as many as cores (``workers`` to change
  it); one worker runs the tasks in this process, without a pool.
- ``dask``: a ``dask.distributed`` client on the scheduler at ``scheduler``
  (``tcp://host:8786``), or on a ``LocalCluster`` of ``workers`` processes when no address
  is given. Install the extra: ``pip install "consultations[dask]"``; the workers of a
  remote cluster need ``consultations`` and the spaCy model installed too.

Tasks receive their inputs by value (never a path on this machine), so they run the same on
a remote worker; results come back to this process, which writes them. Every task also gets
one ``shared`` object, sent once per worker (not once per task). Results are yielded as tasks
finish, with the task's index: callers that need an order sort by it. At most
``2 × workers`` tasks are in flight, so the inputs of a large run are never all in memory.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from consultations.core.errors import InputError

__all__ = ["ENGINES", "Engine", "TaskError"]

#: Engine names accepted by the settings file and ``--engine``.
ENGINES = ("local", "dask")


_END = object()


class TaskError(RuntimeError):
    """A task failed on a worker; the message holds the worker's error and traceback."""


@dataclass(frozen=True)
class Engine:
    """Run tasks on local processes or a Dask cluster.

    Attributes:
        kind: ``"local"`` or ``"dask"``.
        workers: number of worker processes (``None`` or 0: as many as cores; ignored when
            ``scheduler`` points at an existing cluster).
        scheduler: address of a Dask scheduler (``tcp://host:8786``); ``None``: a
            ``LocalCluster`` started for the run.
        processes: for a ``LocalCluster``: worker processes (``True``) or threads of this
            process (``False``, quicker to start; used by the tests).

    """

    kind: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    processes: bool = True

    def __post_init__(self):
        if self.kind not in ENGINES:
            raise ValueError(f"moteur inconnu {self.kind!r} : choisissez parmi "
                             f"{', '.join(ENGINES)}")

    @property
    def n_workers(self) -> int:
        """Number of workers asked for (cores when unset)."""
        if self.workers:
            return max(1, int(self.workers))
        try:
            return max(1, len(os.sched_getaffinity(0)))  # the cores this process may use
        except AttributeError:  # not on every platform
            return max(1, os.cpu_count() or 1)

    def describe(self) -> str:
        """Short description for the run summary (``local×2``, ``dask@tcp://…``)."""
        if self.kind == "dask" and self.scheduler:
            return f"dask@{self.scheduler}"
        return f"{self.kind}×{self.n_workers}"

    def map(self, fn: Callable[[Any, Any], Any], items: Iterable, shared: Any = None,
            ) -> Iterator[tuple[int, Any]]:
        """Run ``fn(item, shared)`` for every item; yield ``(index, result)`` as they finish.

        Args:
            fn: a module-level function (it is pickled by reference).
            items: task inputs; consumed lazily (at most ``2 × workers`` in flight).
            shared: one object every task receives (sent once per worker).

        Raises:
            TaskError: a task raised (its error and traceback in the message).

        """
        if self.kind == "dask":
            yield from self._map_dask(fn, items, shared)
            return
        it = iter(items)
        head = [x for x in (next(it, _END), next(it, _END)) if x is not _END]
        if self.n_workers == 1 or len(head) < 2:  # no pool for a single task
            for i, item in enumerate(itertools.chain(head, it)):
                yield i, _unwrap(_call(fn, item, shared))
        else:
            yield from self._map_local(fn, itertools.chain(head, it), shared)

    # ------------------------------------------------------------------ local processes
    def _map_local(self, fn, items, shared):
        methods = multiprocessing.get_all_start_methods()
        # fork: workers start at once and inherit what this process already loaded (the
        # spaCy pipeline when the caller preloaded it); elsewhere the platform default.
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        limit = 2 * self.n_workers
        with ProcessPoolExecutor(self.n_workers, mp_context=ctx, initializer=_set_shared,
                                 initargs=(shared,)) as pool:
            pending: dict = {}
            it = iter(enumerate(items))
            done_all = False
            try:
                while True:
                    while not done_all and len(pending) < limit:
                        nxt = next(it, None)
                        if nxt is None:
                            done_all = True
                            break
                        pending[pool.submit(_call_shared, fn, nxt[1])] = nxt[0]
                    if not pending:
                        return
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = pending.pop(fut)
                        yield i, _unwrap(fut.result())
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise

    # ------------------------------------------------------------------ dask
    def _map_dask(self, fn, items, shared):
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "le moteur « dask » a besoin de dask.distributed : installez-le avec "
                "pip install \"consultations[dask]\" (ou choisissez engine = \"local\")."
            ) from exc
        cluster = None
        if self.scheduler:
            client = Client(self.scheduler)
        else:
            cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1,
                                   processes=self.processes, dashboard_address=None)
            client = Client(cluster)
        try:
            n = max(1, len(client.scheduler_info().get("workers", {})) or self.n_workers)
            shared_f = client.scatter(shared, broadcast=True) if shared is not None else None
            it = iter(enumerate(items))
            index: dict = {}
            ac = as_completed()
            for _ in range(2 * n):
                nxt = next(it, None)
                if nxt is None:
                    break
                fut = client.submit(_call, fn, nxt[1], shared_f, pure=False)
                index[fut.key] = nxt[0]
                ac.add(fut)
            for fut in ac:
                i = index.pop(fut.key)
                result = fut.result()
                fut.release()
                nxt = next(it, None)
                if nxt is not None:
                    new = client.submit(_call, fn, nxt[1], shared_f, pure=False)
                    index[new.key] = nxt[0]
                    ac.add(new)
                yield i, _unwrap(result)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


# ---------------------------------------------------------------------- worker side

_SHARED: Any = None


def _set_shared(shared) -> None:
    global _SHARED
    _SHARED = shared


def _call_shared(fn, item):
    return _call(fn, item, _SHARED)


def _call(fn, item, shared):
    """Run a task; turn an error into a picklable ``("__task_error__", …)`` result."""
    try:
        return fn(item, shared)
    except Exception as exc:  # noqa: BLE001 - reported in the parent with its traceback
        if isinstance(exc, InputError):  # not picklable (several init args): keep its text
            return ("__task_error__", str(exc),
                    ("InputError", exc.path, exc.line, exc.message, exc.hint))
        return ("__task_error__", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                exc if _picklable(exc) else None)


def _picklable(exc) -> bool:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001
        return False
    return True


def _unwrap(result):
    if isinstance(result, tuple) and len(result) == 3 and result[0] == "__task_error__":
        if isinstance(result[2], tuple) and result[2][0] == "InputError":
            raise InputError(*result[2][1:])
        if isinstance(result[2], Exception):
            raise result[2]
        raise TaskError(result[1])
    return result
