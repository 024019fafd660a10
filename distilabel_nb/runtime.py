"""The one background event loop that runs all async work.

A notebook kernel already runs an asyncio loop, so ``asyncio.run()`` fails there. Every
coroutine of this package runs instead on one daemon thread with its own loop;
synchronous calls block on a future, which works the same in a script, a test or a
running Jupyter kernel.

Example:
    >>> import asyncio
    >>> run_sync(asyncio.sleep(0, result=42))
    42
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The runtime's loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or not _thread or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=serve, name="distilabel-nb-runtime", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The runtime's loop if it is running, else ``None`` (never starts one)."""
    loop = _loop
    return loop if loop is not None and loop.is_running() and not loop.is_closed() else None


def in_runtime_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the runtime loop and return a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the runtime loop and wait for its result.

    A KeyboardInterrupt while waiting cancels the coroutine before it propagates.

    Raises:
        RuntimeError: when called from inside the runtime thread (it would deadlock).
    """
    if in_runtime_thread():
        coro.close()
        raise RuntimeError("run_sync() was called on the runtime thread; await the coroutine instead")
    future = submit(coro)
    try:
        return future.result()
    except KeyboardInterrupt:
        future.cancel()
        raise


async def bounded_run(fn: Callable[[T], Awaitable[Any]], items: Iterable[T], limit: int) -> None:
    """Await ``fn(item)`` for every item, at most ``limit`` at once, results dropped.

    :func:`bounded_map` without its results queue, for work that keeps its own results
    (a pipeline stores each row as it finishes): ``limit`` workers take items one at a
    time, and each lets the loop run between items, so that work which never has to wait
    (answers from the cache) cannot hold the loop — a Stop still lands at once. The first
    exception raised by ``fn`` is raised here, and the other workers are cancelled.

    Example:
        >>> seen = []
        >>> async def note(x): seen.append(x)
        >>> run_sync(bounded_run(note, [1, 2, 3], 2)); sorted(seen)
        [1, 2, 3]
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            await fn(item)
            await asyncio.sleep(0)

    workers = [asyncio.ensure_future(worker()) for _ in range(limit)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def bounded_map(
    fn: Callable[[T], Awaitable[R]], items: Iterable[T], limit: int
) -> AsyncIterator[tuple[int, R]]:
    """Yield ``(index, await fn(item))`` as results finish, with at most ``limit`` pending.

    ``limit`` workers take items one at a time from ``items``: only ``limit`` tasks exist
    however long ``items`` is, and an item is taken only when a worker is free. (A task
    per item would cost the loop and the garbage collector more for every row.) The
    first exception raised by ``fn`` is raised here, and the other workers are cancelled.

    Example:
        >>> async def double(x): return 2 * x
        >>> async def collect(): return sorted([r async for r in bounded_map(double, [1, 2, 3], 2)])
        >>> run_sync(collect())
        [(0, 2), (1, 4), (2, 6)]
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    iterator = iter(enumerate(items))
    # Finished results wait here for the consumer; a full queue holds the workers back.
    finished: asyncio.Queue = asyncio.Queue(maxsize=limit)
    worker_done = object()

    async def worker() -> None:
        try:
            for index, item in iterator:
                await finished.put((index, await fn(item), None))
        except Exception as exc:  # handed to the consumer, which raises it
            await finished.put((None, None, exc))
        await finished.put((worker_done, None, None))

    workers = [asyncio.ensure_future(worker()) for _ in range(limit)]
    try:
        running = len(workers)
        while running:
            index, result, error = await finished.get()
            if error is not None:
                raise error
            if index is worker_done:
                running -= 1
                continue
            yield index, result
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
