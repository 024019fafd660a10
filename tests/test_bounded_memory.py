"""Pending work is bounded by the concurrency, not by the number of rows."""

import asyncio
import itertools

from distilabel_nb import Pipeline, TextGenerationTask, runtime


def test_bounded_map_keeps_limit_tasks_and_pulls_items_lazily():
    pulled = 0

    def rows():
        nonlocal pulled
        for i in itertools.count():  # endless: only a lazy consumer can finish
            pulled += 1
            yield i

    async def consume():
        ahead, tasks = [], []
        async for count, _ in _numbered(runtime.bounded_map(_tick, rows(), 8)):
            ahead.append(pulled - count)
            tasks.append(len(asyncio.all_tasks()))
            if count == 500:
                break
        return ahead, tasks

    ahead, tasks = runtime.run_sync(consume())
    # at most 8 running, plus at most 8 finished ones not yet handed over
    assert max(ahead) <= 2 * 8, max(ahead)
    assert max(tasks) <= 8 + 1, max(tasks)  # + the consumer itself


async def _tick(item):
    await asyncio.sleep(0)
    return item


async def _numbered(results):
    count = 0
    async for result in results:
        count += 1
        yield count, result


def test_a_long_run_keeps_only_batch_size_rows_in_flight(scripted_llm):
    llm = scripted_llm(TextGenerationTask(), delay=0.001, max_concurrency=16, cache=False)
    loop = runtime.get_loop()
    rows = [{"input": f"question {i}"} for i in range(3000)]
    tasks_alive, in_flight = [], []

    def count_tasks(event):  # called on the runtime thread, between rows
        if event.kind == "row_done":
            tasks_alive.append(len(asyncio.all_tasks(loop)))
            in_flight.append(run.state.in_flight)

    run = Pipeline(generator=llm).start(rows, batch_size=16)
    run.subscribe(count_tasks)
    frame = run.wait(timeout=120)

    assert len(frame) == 3000 and frame["generation_error"].isna().all()
    assert len(tasks_alive) > 2000  # (rows finished before the subscription are not seen)
    # 16 row tasks, plus the run itself and a few of the loop's own
    assert max(tasks_alive) <= 16 + 4, max(tasks_alive)
    assert llm.max_in_flight <= 16
    assert 0 < max(in_flight) <= 16  # rows started and not done, as the run's own events count them


def test_bounded_run_keeps_limit_workers_pulls_lazily_and_lets_the_loop_run():
    pulled = 0
    done = []

    def rows():
        nonlocal pulled
        for i in range(2000):
            pulled += 1
            yield i

    async def instant(item):  # never waits, like a row answered from the cache
        done.append((item, pulled, len(asyncio.all_tasks())))

    async def main():
        ticks = 0

        async def ticker():  # another task on the loop: it must get turns meanwhile
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        other = asyncio.ensure_future(ticker())
        await runtime.bounded_run(instant, rows(), 8)
        other.cancel()
        return ticks

    ticks = runtime.run_sync(main())
    assert [item for item, _, _ in sorted(done)] == list(range(2000))
    assert max(seen - item for item, seen, _ in done) <= 8  # items are pulled only by a free worker
    assert max(tasks for _, _, tasks in done) <= 8 + 2  # the workers, main() and the ticker
    assert ticks > 2000 // 8  # the loop ran other work between items


def test_bounded_run_raises_the_first_error_and_cancels_the_rest():
    cancelled = []

    async def fn(item):
        if item == 3:
            raise KeyError("row 3")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise

    async def main():
        try:
            await runtime.bounded_run(fn, range(100), 4)
        except KeyError as exc:
            return exc

    error = runtime.run_sync(main())
    assert isinstance(error, KeyError) and cancelled and len(cancelled) <= 4
