"""Many sandboxed jobs at once: local worker threads by default, Ray for a cluster.

Local workers are threads, not processes: each job's real work is sandboxed child processes
(`run_sandboxed`), during which the thread only waits, so threads give the concurrency without
pickling `fn` or its items. One item's exception becomes a `SandboxFailure` in its slot.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from apprentice.errors import SandboxError, UnknownNameError

T = TypeVar("T")
R = TypeVar("R")
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class SandboxFailure:
    """The result slot of an item whose job raised: what was raised, and where."""

    index: int
    error_type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"item {self.index} failed: {self.error_type}: {self.message}"


class SandboxPool:
    """Run `fn(item)` for many items, `workers` at a time; a context manager.

    backend "local" uses threads in this process; "ray" submits each item as a Ray task to the
    cluster `ray.init()` finds (a local one when none is running) and needs `pip install ray`.
    """

    def __init__(self, workers: int = 4, backend: str = "local"):
        if backend not in BACKENDS:
            raise UnknownNameError(f"unknown pool backend {backend!r} (known: {', '.join(BACKENDS)})")
        if workers < 1:
            raise SandboxError(f"workers={workers} must be at least 1")
        self.workers = workers
        self.backend = backend
        self._executor: ThreadPoolExecutor | None = None
        self._ray: Any = None
        self._started_ray = False

    def __enter__(self) -> SandboxPool:
        if self.backend == "local":
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
        else:
            self._ray, self._started_ray = _start_ray()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R | SandboxFailure]:
        """`fn` applied to every item, in the items' order; an item whose call raised gets a
        SandboxFailure instead, and the other items are unaffected."""
        if self._executor is None and self._ray is None:
            raise SandboxError("SandboxPool.map called outside `with SandboxPool(...) as pool:`")
        items = list(items)
        if self._executor is not None:
            futures = [self._executor.submit(_guarded, fn, index, item)
                       for index, item in enumerate(items)]
            return [future.result() for future in futures]
        return self._map_ray(fn, items)

    def _map_ray(self, fn: Callable[[T], R], items: list[T]) -> list[R | SandboxFailure]:
        remote = self._ray.remote(_guarded)
        results: list[R | SandboxFailure] = []
        # At most `workers` tasks in flight, so a large map does not flood the cluster.
        for start in range(0, len(items), self.workers):
            window = [remote.remote(fn, start + offset, item)
                      for offset, item in enumerate(items[start:start + self.workers])]
            results += self._ray.get(window)
        return results


def _guarded(fn: Callable[[T], R], index: int, item: T) -> R | SandboxFailure:
    # Any exception of one item is its result, by contract; KeyboardInterrupt/SystemExit pass.
    try:
        return fn(item)
    except Exception as error:
        return SandboxFailure(index, type(error).__name__, str(error), traceback.format_exc())


def _start_ray() -> tuple[Any, bool]:
    try:
        import ray
    except ImportError as error:
        raise SandboxError(f"the ray backend needs ray ({error}); `pip install 'apprentice[ray]'` "
                           f"or use backend='local'") from error
    if ray.is_initialized():
        return ray, False
    ray.init(num_cpus=None, include_dashboard=False, log_to_driver=False)
    return ray, True
