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
    tasks_alive = []

    def count_tasks(event):  # called on the runtime thread, between rows
        if event.kind == "row_done":
            tasks_alive.append(len(asyncio.all_tasks(loop)))

    run = Pipeline(generator=llm).start(rows, batch_size=16)
    run.subscribe(count_tasks)
    frame = run.wait(timeout=120)

    assert len(frame) == 3000 and frame["generation_error"].isna().all()
    assert len(tasks_alive) > 2000  # (rows finished before the subscription are not seen)
    # 16 row tasks, plus the run itself and a few of the loop's own
    assert max(tasks_alive) <= 16 + 4, max(tasks_alive)
    assert llm.max_in_flight <= 16
