"""The local executor: a pipeline's rows streamed through its LLMs on this process's event loop.

Rows stream: a row's labelling starts as soon as its generations are done, so labelling
overlaps generation. With several generators, a row goes to all of them at once, each
under its own concurrency, rate limits and cache; the labeller sees the row's answers
in the row's own order (:mod:`distilabel_nb.shuffle`) unless ``shuffle_before_labelling``
is off. At most ``batch_size`` rows are in flight; rows finish in any order
and come back in input order. A failed call or parse marks that row's error column and
the run goes on. Rows whose every call is in the cache are answered in chunks of
:data:`CACHE_CHUNK_ROWS`, one cache query per LLM and chunk.

Example:
    >>> run = LocalExecutor().start(pipe, rows, RunOptions())   # doctest: +SKIP
    >>> run.wait()                                              # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import pandas as pd

from distilabel_nb import runtime
from distilabel_nb.breaker import Breaker
from distilabel_nb.budget import Meter
from distilabel_nb.cache import CallCache
from distilabel_nb.dataset import dataset_records
from distilabel_nb.errors import DryRunError, InvalidArgument
from distilabel_nb.executors.base import Executor, RunOptions
from distilabel_nb.llms.base import LLM, LLMOutput, PreparedCall
from distilabel_nb.generators import joined_usage
from distilabel_nb.run import Run
from distilabel_nb.shuffle import in_order, row_order
from distilabel_nb.usage import StepUsage

if TYPE_CHECKING:
    from distilabel_nb.pipeline import Pipeline

CACHE_CHUNK_ROWS = 256  # rows looked up in the cache at once, before their calls are sent


class LocalExecutor(Executor):
    """Runs every dataset that is not for Dask, on the runtime's event loop."""

    def accepts(self, dataset: Any, options: RunOptions) -> bool:
        return True  # asked last: whatever no other executor takes

    def start(self, pipe: Pipeline, dataset: Any, options: RunOptions) -> Run:
        given = options.dask_only()
        if given:
            names = " and ".join(f"{name}=" for name in given)
            raise InvalidArgument(f"{names} {'applies' if len(given) == 1 else 'apply'} to runs on Dask: "
                                  "pass client= or a dask DataFrame, or leave them out")
        required = pipe.required_columns()
        records, columns, labels = dataset_records(dataset, required[0] if required else "input")
        pipe.check_columns(columns)
        batch_size = options.batch_size or sum(llm.max_concurrency for llm in pipe.llms())
        batch_size = max(1, min(batch_size, len(records)))  # a worker per row at most, whatever was asked
        index_name, column_labels = None, None
        if isinstance(dataset, pd.DataFrame):
            index = dataset.index
            index_name = list(index.names) if isinstance(index, pd.MultiIndex) else index.name
            if not all(isinstance(c, str) for c in dataset.columns):  # given back under the names they had
                column_labels = {str(c): c for c in dataset.columns}
        meter = Meter(options.max_cost, options.max_tokens, options.budget_pool)
        budget_notes = meter.check(pipe.llms())
        several = pipe.generators is not None and pipe.generators.several
        run = Run(len(records), pipe.generator is not None, pipe.labeller is not None,
                  pipe.frame_builder(columns, labels, index_name, column_labels), generators=pipe.generators.names if several else ())
        for note in budget_notes:
            run.emit("warning", error=note)
        rows = _Rows(pipe, run, options, meter)
        run.future = runtime.submit(rows.stream(records, batch_size, options.skip_dry_run))
        return run


def cache_warning(cache: CallCache, during: bool) -> str:
    """What a run says when ``cache`` could not be written: the answers are kept, and what to do."""
    if cache.read_only:
        return (f"the cache {cache.path} is read-only: its answers are used; new answers are in the result but not "
                "stored. To keep them, point DISTILABEL_NB_CACHE_DIR (or cache=CallCache(path)) at a writable folder")
    if during:
        return (f"the cache {cache.path} could not be written ({cache.write_error}); the answers are in the result "
                "and the writes are retried during the run")
    return (f"the cache {cache.path} could not be written ({cache.write_error}): {cache.unstored:,} answers are in the "
            "result but not in the cache, so a new run pays for them again; free disk space, or point "
            "DISTILABEL_NB_CACHE_DIR (or cache=CallCache(path)) at a writable folder")


@dataclass
class _RowWork:
    """One row on its way through the pipeline: what is known so far."""

    index: int
    row: dict[str, Any]
    record: dict[str, Any] = field(init=False)  # the row, then the columns filled so far
    generation: list[PreparedCall] | None = None  # one call per generator
    generated: list[LLMOutput] | None = None  # every generator's answers, joined
    labelling: PreparedCall | None = None
    labelled: LLMOutput | None = None
    order: list[int] | None = None  # the order the labeller is shown the answers in
    usage: dict[str, StepUsage] = field(default_factory=dict)  # by step: "generation", "labelling"

    def __post_init__(self) -> None:
        self.record = dict(self.row)


class _Rows:
    """A local run's rows through the pipeline's generator, then its labeller."""

    def __init__(self, pipe: Pipeline, run: Run, options: RunOptions, meter: Meter | None = None):
        self.pipe, self.run, self.num_generations = pipe, run, options.num_generations
        self.generators, self.labeller = pipe.generators, pipe.labeller
        self.shuffle, self.seed = options.shuffle_before_labelling, options.seed
        self.texts = pipe.texts_input()
        self.meter = meter or Meter()
        self._caches = list({id(llm.cache): llm.cache for llm in pipe.llms() if llm.cache is not None}.values())
        self._said: set[int] = set()  # the caches whose failed write was said
        self._corrupt = {id(cache): cache.corrupt for cache in self._caches}  # checksum misses before the run
        self._llms = list({id(llm): llm for llm in pipe.llms()}.values())
        self._breakers = {id(llm): Breaker() for llm in self._llms}

    async def _ask(self, llm: LLM, call: PreparedCall) -> tuple[list[LLMOutput], float]:
        """The call through the budget's meter, unless the breaker of ``llm`` is open: then the reason, without a call."""
        if call.answered:  # the cache (or a bad input) answers: nothing is sent
            return await self.meter.complete(llm, call)
        breaker = self._breakers[id(llm)]
        if breaker.open:
            message = breaker.not_sent(llm.model_name)
            return [LLMOutput(llm.model_name, call.prompt_used, None, None, error=message, error_kind="unavailable")
                    for _ in call.answers], 0.0
        outputs, latency = await self.meter.complete(llm, call)
        if breaker.record(outputs):
            self.run.emit("warning", error=f"stopped calling {llm.model_name}: {breaker.limit} calls in a row failed "
                          f"({breaker.reason}); the rows not sent yet are marked with it, every finished row is kept")
        self._note_cache()
        return outputs, latency

    # -- a cache that cannot be written: said once, the answers kept, the writes retried --
    def _note_cache(self) -> None:
        for cache in self._caches:
            if cache.write_error and id(cache) not in self._said:
                self._said.add(id(cache))
                self.run.emit("warning", error=cache_warning(cache, during=True))

    def _flush_caches(self) -> None:
        for cache in self._caches:
            if not cache.flush() and not cache.read_only:  # a read-only cache was said once already
                self.run.emit("warning", error=cache_warning(cache, during=False))
            changed = cache.corrupt - self._corrupt[id(cache)]
            if changed:
                self.run.emit("warning", error=(
                    f"{changed:,} cached answer{' did' if changed == 1 else 's did'} not match {'its' if changed == 1 else 'their'} "
                    f"checksum in {cache.path} (the file was changed): treated as missing and asked again"))

    # -- a row's steps, shared by rows answered from the cache and rows that call a model --
    def _take_generation(self, work: _RowWork, outputs: list[list[LLMOutput]], latencies: list[float] | None = None) -> None:
        """Record every generator's outputs for the row (joined), and their usage (added up)."""
        assert self.generators is not None
        work.generated = self.generators.join(outputs)
        if self.generators.several:
            work.record.update(self.pipe.generation_record(work.generated, self.generators.models(self.num_generations)))
        else:
            work.record.update(self.pipe.generation_record(work.generated))
        latencies = latencies or [0.0] * len(outputs)
        work.usage["generation"] = used = joined_usage(
            [StepUsage.of(own, self.meter.price(llm), latency) for llm, own, latency in zip(self.generators, outputs, latencies)])
        work.record.update(used.record("generation"))

    def _take_labelling(self, work: _RowWork, output: LLMOutput | None, latency: float = 0.0) -> None:
        """Record the labeller's output, or that there was nothing to label (``None``)."""
        assert self.labeller is not None
        work.labelled = output
        work.record.update(self.pipe.labelling_record(output, work.order))
        outputs = [output] if output is not None else []
        work.usage["labelling"] = used = StepUsage.of(outputs, self.meter.price(self.labeller), latency)
        work.record.update(used.record("labelling"))

    def _emit_step(self, work: _RowWork, kind: str) -> None:
        """``row_generated`` or ``row_labelled`` for a step already recorded."""
        step = "generation" if kind == "row_generated" else "labelling"
        error, used = work.record[f"{step}_error"], work.usage.get(step, StepUsage())
        self.run.emit(kind, work.index, failed=error is not None, tokens=used.tokens, error=error,  # type: ignore[arg-type]
                      prompt_tokens=used.billed_prompt_tokens, completion_tokens=used.billed_completion_tokens, cost=used.cost)

    def _answers_in(self, work: _RowWork, name: str, outputs: list[LLMOutput]) -> None:
        """``answers_generated``: one generator's answers to the row are in (a run with several)."""
        errors = [o.error for o in outputs if o.error]
        self.run.emit("answers_generated", work.index, failed=bool(errors), error=errors[0] if errors else None, source=name)

    def _generator_calls(self, work: _RowWork) -> list[PreparedCall]:
        """The row's call to each generator."""
        assert self.generators is not None
        return [llm.prepare({k: work.row.get(k) for k in llm.task.input_args_names}, self.num_generations)
                for llm in self.generators]

    def _labeller_call(self, work: _RowWork) -> PreparedCall | None:
        """The row's labelling call, or ``None`` when its generation failed (nothing to label).

        A row's answers are shown in the row's own order (``work.order``) when shuffling;
        answers that are not all texts are left in place, so the input error names the right one.
        """
        assert self.labeller is not None
        if self.generators is not None and work.record["generation_error"] is not None:
            return None
        inputs = {k: work.record.get(k) for k in self.labeller.task.input_args_names}
        answers = inputs.get(self.texts) if self.texts is not None else None
        if isinstance(answers, (list, tuple)) or hasattr(answers, "tolist"):
            answers = list(answers)
            texts = all(isinstance(answer, str) for answer in answers)
            work.order = row_order(inputs, self.texts, self.seed) if self.shuffle and texts else list(range(len(answers)))
            inputs[self.texts] = in_order(answers, work.order)
        return self.labeller.prepare(inputs, 1)

    async def _generate(self, work: _RowWork) -> None:
        """Ask every generator for the row's answers at once (each through the meter); say when each one's are in."""
        assert self.generators is not None
        calls = work.generation or self._generator_calls(work)
        several = self.generators.several

        async def ask(llm: Any, name: str, call: PreparedCall) -> tuple[list[LLMOutput], float]:
            if not call.answered:
                llm.look_up([call])
            outputs, latency = await self._ask(llm, call)
            if several:
                self._answers_in(work, name, outputs)
            return outputs, latency

        asks = [ask(llm, name, call) for llm, name, call in zip(self.generators, self.generators.names, calls)]
        # One generator is awaited in the row's own task; several each get one, side by side.
        done = await asyncio.gather(*asks) if several else [await asks[0]]
        self._take_generation(work, [outputs for outputs, _ in done], [latency for _, latency in done])

    def _finish(self, work: _RowWork) -> None:
        self.run.store_row(work.index, work.record)
        self.run.emit("row_done", work.index)

    async def _process_row(self, work: _RowWork) -> list[LLMOutput]:
        """Run a row's remaining steps: generate, then label what was generated."""
        self.run.emit("row_started", work.index)
        # A call prepared with its chunk is looked up again just before it is sent: an
        # earlier row of the chunk may have stored the same call's answer meanwhile.
        if self.generators is not None:
            if work.generated is None:
                await self._generate(work)
            self._emit_step(work, "row_generated")
        if self.labeller is not None:
            call = work.labelling or self._labeller_call(work)
            if call is not None and not call.answered:
                self.labeller.look_up([call])
            if call is None:
                self._take_labelling(work, None)
            else:
                outputs, latency = await self._ask(self.labeller, call)
                self._take_labelling(work, outputs[0], latency)
            self._emit_step(work, "row_labelled")
        self._finish(work)
        return (work.generated or []) + ([work.labelled] if work.labelled else [])

    def _finish_from_cache(self, chunk: list[tuple[int, dict[str, Any]]]) -> list[_RowWork]:
        """Finish the rows of ``chunk`` whose every call the cache answers; return the others.

        The cache is read in one query per LLM for the whole chunk, and the rows it
        answers skip the per-row scheduling. What was found travels with the rows that are
        left, so nothing is looked up or parsed twice.
        """
        rows = [_RowWork(index, row) for index, row in chunk]
        ready = rows
        if self.generators is not None:
            for work in rows:
                work.generation = self._generator_calls(work)
            for position, llm in enumerate(self.generators):
                llm.look_up([work.generation[position] for work in rows])
            ready = []
            for work in rows:
                found = [llm.outputs_from_cache(call) for llm, call in zip(self.generators, work.generation)]
                if all(outputs is not None for outputs in found):
                    self._take_generation(work, found)
                    ready.append(work)
        if self.labeller is not None:
            labelling = [(work, self._labeller_call(work)) for work in ready]
            self.labeller.look_up([call for _, call in labelling if call is not None])
            ready = []
            for work, call in labelling:
                work.labelling = call
                outputs = self.labeller.outputs_from_cache(call) if call is not None else [None]
                if outputs is not None:
                    self._take_labelling(work, outputs[0])
                    ready.append(work)
        for work in ready:
            self.run.emit("row_started", work.index)
            if self.generators is not None:
                if self.generators.several:
                    answers = work.generated or []
                    for number, name in enumerate(self.generators.names):
                        start = number * self.num_generations
                        self._answers_in(work, name, answers[start:start + self.num_generations])
                self._emit_step(work, "row_generated")
            if self.labeller is not None:
                self._emit_step(work, "row_labelled")
            self._finish(work)
        done = {work.index for work in ready}
        return [work for work in rows if work.index not in done]

    def _rows_to_send(self, todo: list[tuple[int, dict[str, Any]]]) -> Iterator[_RowWork | None]:
        """The rows that need a model call, after the cache answered what it could, chunk by chunk.

        ``None`` marks the end of a chunk: the worker that takes it lets the event loop
        run, so a Stop lands even while every row comes from the cache. A Stop also ends
        the chunks at once, for any worker, rather than when the loop gets to it.
        """
        if not any(llm.reads_cache for llm in self.pipe.llms()):
            for index, row in todo:
                yield _RowWork(index, row)
            return
        for start in range(0, len(todo), CACHE_CHUNK_ROWS):
            if self.run.cancel_requested:  # every worker takes chunks: stop them all at the next one
                raise asyncio.CancelledError
            yield from self._finish_from_cache(todo[start:start + CACHE_CHUNK_ROWS])
            yield None

    async def stream(self, records: list[dict[str, Any]], batch_size: int, skip_dry_run: bool) -> None:
        """The whole run: the dry run on the first row, then every other row, ``batch_size`` at once."""
        self.run.emit("started")
        try:
            todo = list(enumerate(records))
            if todo and not skip_dry_run:
                # Every server first (its models list, in seconds), before a local model spends time on row one.
                await asyncio.gather(*(llm.acheck() for llm in self._llms))
                first_index, first_row = todo.pop(0)
                outputs = await self._process_row(_RowWork(first_index, first_row))
                fatal = [o.error for o in outputs if o.error_kind == "unavailable"]
                if fatal:
                    # skip_dry_run is not offered: every other row would meet the same error.
                    raise DryRunError(f"Dry run on the first row failed: {fatal[0]}. Fix the setup and run again.")
                self.run.emit("dry_run_passed", first_index)

            async def work(item: _RowWork | None) -> None:
                if item is not None:
                    await self._process_row(item)

            await runtime.bounded_run(work, self._rows_to_send(todo), batch_size)
        except asyncio.CancelledError:
            self._flush_caches()
            self.run.emit("cancelled")
            raise
        except BaseException as exc:
            self._flush_caches()
            self.run.emit("failed", error=str(exc))
            raise
        if self.meter.pool is not None:  # a budget shared with other partitions: what this one did not spend
            await asyncio.to_thread(self.meter.give_back)
        self._flush_caches()
        self.run.emit("finished")
