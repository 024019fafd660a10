"""The Pipeline: a dataset through a generator LLM and/or a labeller LLM, into a DataFrame.

Rows stream: a row's labelling starts as soon as its generations are done, so labelling
overlaps generation. At most ``batch_size`` rows are in flight; rows finish in any order
and come back in input order. A failed call or parse marks that row's error column and
the run goes on.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import pandas as pd

from distilabel_nb import runtime, schema
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.llms.base import LLM, LLMOutput, PreparedCall
from distilabel_nb.run import Run, RunState

GENERATION_COLUMNS = list(schema.GENERATION_PROVENANCE)
NOT_LABELLED = "not labelled: the generation failed (see generation_error)"
LABELLING_COLUMNS = list(schema.LABELLING_PROVENANCE)


RunT = TypeVar("RunT", bound=Run)
CACHE_CHUNK_ROWS = 256  # rows looked up in the cache at once, before their calls are sent


@dataclass
class _RowWork:
    """One row on its way through the pipeline: what is known so far."""

    index: int
    row: dict[str, Any]
    record: dict[str, Any] = field(init=False)  # the row, then the columns filled so far
    generation: PreparedCall | None = None
    generated: list[LLMOutput] | None = None
    labelling: PreparedCall | None = None
    labelled: LLMOutput | None = None

    def __post_init__(self) -> None:
        self.record = dict(self.row)


class DryRunError(RuntimeError):
    """The first row showed that the setup cannot work (server down, bad key, unknown model)."""


def dataset_records(dataset: Any) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
    """Rows as dicts, the column names, and the row labels of a supported dataset.

    Accepts a pandas DataFrame, a list of dicts, or a Hugging Face ``datasets.Dataset``.

    Raises:
        TypeError: for anything else, saying what is accepted.
    """
    if isinstance(dataset, pd.DataFrame):
        return dataset.to_dict("records"), [str(c) for c in dataset.columns], list(dataset.index)
    if type(dataset).__module__.startswith("datasets.") and hasattr(dataset, "to_list"):
        records = dataset.to_list()
        return records, list(dataset.column_names), list(range(len(records)))
    if isinstance(dataset, (list, tuple)):
        bad = [i for i, row in enumerate(dataset) if not isinstance(row, dict)]
        if bad:
            raise TypeError(f"dataset rows must be dicts; row {bad[0]} is {type(dataset[bad[0]]).__name__}")
        columns = list(dict.fromkeys(key for row in dataset for key in row))
        return list(dataset), columns, list(range(len(dataset)))
    raise TypeError(
        f"Unsupported dataset type {type(dataset).__name__}: pass a pandas DataFrame, "
        "a list of dicts or a datasets.Dataset"
    )


def _tokens(outputs: Iterable[LLMOutput]) -> int:
    return sum(o.usage.get("prompt_tokens", 0) + o.usage.get("completion_tokens", 0) for o in outputs)


def _joined_errors(outputs: Sequence[LLMOutput], label: str) -> str | None:
    """One error text for a row: said once when every output failed the same way."""
    errors = [o.error for o in outputs if o.error]
    if not errors:
        return None
    if len(errors) == len(outputs) and len(set(errors)) == 1:
        return errors[0]
    return "; ".join(f"{label} {i + 1}: {o.error}" for i, o in enumerate(outputs) if o.error)


class Pipeline(HTMLRepr):
    """Generate with one LLM, label with another, collect everything in a DataFrame.

    Args:
        generator: The LLM whose task generates (e.g. answers instructions).
        labeller: The LLM whose task rates or critiques (e.g. ``UltraFeedbackTask``).

    Example:
        >>> from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask
        >>> pipe = Pipeline(
        ...     generator=LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=64),
        ...     labeller=LlamaCppLLM(task=UltraFeedbackTask(), max_new_tokens=128),
        ... )
        >>> df = pipe.generate([{"input": "Name a prime number."}], num_generations=2)  # doctest: +SKIP
    """

    def __init__(self, generator: LLM | None = None, labeller: LLM | None = None):
        if generator is None and labeller is None:
            raise ValueError("A Pipeline needs a generator, a labeller, or both: Pipeline(generator=..., labeller=...)")
        for role, llm in (("generator", generator), ("labeller", labeller)):
            if llm is not None and not isinstance(llm, LLM):
                raise TypeError(f"{role} must be an LLM (LlamaCppLLM, OpenAILLM, …), got {type(llm).__name__}")
        self.generator = generator
        self.labeller = labeller
        self.last_run: Run | None = None

    # -- columns --
    def generated_columns(self) -> list[str]:
        """Columns the generator adds (lists of length ``num_generations``), then its error column."""
        if self.generator is None:
            return []
        return GENERATION_COLUMNS + list(self.generator.task.output_args_names) + ["generation_error"]

    def labelled_columns(self) -> list[str]:
        if self.labeller is None:
            return []
        return LABELLING_COLUMNS + list(self.labeller.task.output_args_names) + ["labelling_error"]

    def required_columns(self) -> list[str]:
        """Dataset columns the run needs: the generator's inputs, and the labeller's that the generator does not make."""
        return schema.required_inputs(*self._tasks())

    def _tasks(self) -> tuple[Any, Any]:
        return (self.generator.task if self.generator else None, self.labeller.task if self.labeller else None)

    def result_schema(self, columns: Sequence[str]) -> schema.ResultSchema:
        """The :class:`~distilabel_nb.schema.ResultSchema` of a run over a dataset with ``columns``."""
        return schema.for_tasks(columns, *self._tasks())

    def check_columns(self, columns: Sequence[str]) -> None:
        """Raise a ValueError naming missing and available columns."""
        missing = [c for c in self.required_columns() if c not in columns]
        if not missing:
            return
        hint = ""
        if self.generator and self.labeller:
            produced = self.generator.task.output_args_names
            hint = (
                f" The generator ({self.generator.task.name}) produces {list(produced)}; the labeller "
                f"({self.labeller.task.name}) needs {list(self.labeller.task.input_args_names)}."
            )
        raise ValueError(
            f"The dataset is missing column(s) {missing}; available columns: {list(columns)}.{hint} "
            "Rename your columns (e.g. df.rename(columns={'question': 'input'})) to match."
        )

    # -- rows --
    def _generation_record(self, outputs: list[LLMOutput]) -> dict[str, Any]:
        assert self.generator is not None
        record: dict[str, Any] = {
            "generation_model": [o.model_name for o in outputs],
            "generation_prompt": [o.prompt_used for o in outputs],
            "raw_generation_responses": [o.raw_output for o in outputs],
        }
        for name in self.generator.task.output_args_names:
            record[name] = [(o.parsed_output or {}).get(name) for o in outputs]
        record["generation_error"] = _joined_errors(outputs, "generation")
        return record

    def _labelling_record(self, output: LLMOutput | None) -> dict[str, Any]:
        """The labelling columns; ``output`` is ``None`` when the row had nothing to label."""
        assert self.labeller is not None
        parsed = (output.parsed_output if output else None) or {}
        record: dict[str, Any] = {
            "labelling_model": self.labeller.model_name,
            "labelling_prompt": output.prompt_used if output else None,
            "raw_labelling_response": output.raw_output if output else None,
        }
        for name in self.labeller.task.output_args_names:
            record[name] = parsed.get(name)
        record["labelling_error"] = NOT_LABELLED if output is None else output.error
        return record

    # -- a row's steps, shared by rows answered from the cache and rows that call a model --
    def _take_generation(self, work: _RowWork, outputs: list[LLMOutput]) -> None:
        work.generated = outputs
        work.record.update(self._generation_record(outputs))

    def _take_labelling(self, work: _RowWork, output: LLMOutput | None) -> None:
        """Record the labeller's output, or that there was nothing to label (``None``)."""
        work.labelled = output
        work.record.update(self._labelling_record(output))

    def _emit_step(self, run: Run, work: _RowWork, kind: str) -> None:
        """``row_generated`` or ``row_labelled`` for a step already recorded."""
        if kind == "row_generated":
            error, outputs = work.record["generation_error"], work.generated or []
        else:
            error, outputs = work.record["labelling_error"], [work.labelled] if work.labelled else []
        run.emit(kind, work.index, failed=error is not None, tokens=_tokens(outputs), error=error)  # type: ignore[arg-type]

    def _generator_call(self, work: _RowWork, num_generations: int) -> PreparedCall:
        assert self.generator is not None
        return self.generator.prepare({k: work.row.get(k) for k in self.generator.task.input_args_names}, num_generations)

    def _labeller_call(self, work: _RowWork) -> PreparedCall | None:
        """The row's labelling call, or ``None`` when its generation failed (nothing to label)."""
        assert self.labeller is not None
        if self.generator is not None and work.record["generation_error"] is not None:
            return None
        return self.labeller.prepare({k: work.record.get(k) for k in self.labeller.task.input_args_names}, 1)

    def _finish(self, run: Run, work: _RowWork) -> None:
        run.store_row(work.index, work.record)
        run.emit("row_done", work.index)

    async def _process_row(self, run: Run, work: _RowWork, num_generations: int) -> list[LLMOutput]:
        """Run a row's remaining steps: generate, then label what was generated."""
        run.emit("row_started", work.index)
        # A call prepared with its chunk is looked up again just before it is sent: an
        # earlier row of the chunk may have stored the same call's answer meanwhile.
        if self.generator is not None:
            if work.generated is None:
                call = work.generation or self._generator_call(work, num_generations)
                if not call.answered:
                    self.generator.look_up([call])
                self._take_generation(work, await self.generator.acomplete(call))
            self._emit_step(run, work, "row_generated")
        if self.labeller is not None:
            call = work.labelling or self._labeller_call(work)
            if call is not None and not call.answered:
                self.labeller.look_up([call])
            self._take_labelling(work, (await self.labeller.acomplete(call))[0] if call is not None else None)
            self._emit_step(run, work, "row_labelled")
        self._finish(run, work)
        return (work.generated or []) + ([work.labelled] if work.labelled else [])

    def _finish_from_cache(self, run: Run, chunk: list[tuple[int, dict[str, Any]]], num_generations: int) -> list[_RowWork]:
        """Finish the rows of ``chunk`` whose every call the cache answers; return the others.

        The cache is read in one query per LLM for the whole chunk, and the rows it
        answers skip the per-row scheduling. What was found travels with the rows that are
        left, so nothing is looked up or parsed twice.
        """
        rows = [_RowWork(index, row) for index, row in chunk]
        ready = rows
        if self.generator is not None:
            calls = [self._generator_call(work, num_generations) for work in rows]
            self.generator.look_up(calls)
            ready = []
            for work, call in zip(rows, calls):
                work.generation = call
                outputs = self.generator.outputs_from_cache(call)
                if outputs is not None:
                    self._take_generation(work, outputs)
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
            run.emit("row_started", work.index)
            if self.generator is not None:
                self._emit_step(run, work, "row_generated")
            if self.labeller is not None:
                self._emit_step(run, work, "row_labelled")
            self._finish(run, work)
        done = {work.index for work in ready}
        return [work for work in rows if work.index not in done]

    def _rows_to_send(self, run: Run, todo: list[tuple[int, dict[str, Any]]], num_generations: int) -> Iterator[_RowWork | None]:
        """The rows that need a model call, after the cache answered what it could, chunk by chunk.

        ``None`` marks the end of a chunk: the worker that takes it lets the event loop
        run, so a Stop lands even while every row comes from the cache. A Stop also ends
        the chunks at once, for any worker, rather than when the loop gets to it.
        """
        if not any(llm is not None and llm.reads_cache for llm in (self.generator, self.labeller)):
            for index, row in todo:
                yield _RowWork(index, row)
            return
        for start in range(0, len(todo), CACHE_CHUNK_ROWS):
            if run.cancel_requested:  # every worker takes chunks: stop them all at the next one
                raise asyncio.CancelledError
            yield from self._finish_from_cache(run, todo[start:start + CACHE_CHUNK_ROWS], num_generations)
            yield None

    async def _run(self, run: Run, records: list[dict[str, Any]], num_generations: int, batch_size: int, skip_dry_run: bool) -> None:
        run.emit("started")
        try:
            todo = list(enumerate(records))
            if todo and not skip_dry_run:
                first_index, first_row = todo.pop(0)
                outputs = await self._process_row(run, _RowWork(first_index, first_row), num_generations)
                fatal = [o.error for o in outputs if o.error_kind == "unavailable"]
                if fatal:
                    raise DryRunError(
                        f"Dry run on the first row failed: {fatal[0]}. Fix the setup, or pass "
                        "skip_dry_run=True to send every row anyway."
                    )
                run.emit("dry_run_passed", first_index)

            async def work(item: _RowWork | None) -> None:
                if item is not None:
                    await self._process_row(run, item, num_generations)

            await runtime.bounded_run(work, self._rows_to_send(run, todo, num_generations), batch_size)
        except asyncio.CancelledError:
            run.emit("cancelled")
            raise
        except BaseException as exc:
            run.emit("failed", error=str(exc))
            raise
        run.emit("finished")

    def _frame_builder(self, columns: list[str], labels: list[Any], index_name: Any):
        all_columns = list(dict.fromkeys(columns + self.generated_columns() + self.labelled_columns()))
        result_schema = self.result_schema(columns)

        def build(rows: dict[int, dict[str, Any]]) -> pd.DataFrame:
            positions = sorted(rows)
            frame = pd.DataFrame([rows[p] for p in positions], columns=all_columns)
            frame.index = pd.Index([labels[p] for p in positions], name=index_name)
            return schema.attach(frame, result_schema)

        return build

    def start(self, dataset: Any, num_generations: int = 1, batch_size: int | None = None, skip_dry_run: bool = False,
              *, client: Any = None, npartitions: int | None = None) -> Run:
        """Start a run in the background and return its :class:`~distilabel_nb.run.Run` handle.

        Checks the dataset's columns and the arguments before any model call.
        See :meth:`generate` for the arguments.
        """
        from distilabel_nb import distributed  # dask itself is imported only for a Dask run

        if client is not None or distributed.is_dask_dataframe(dataset):
            return distributed.start(self, dataset, num_generations, batch_size, skip_dry_run, client=client, npartitions=npartitions)
        if npartitions is not None:
            raise ValueError("npartitions= applies to runs on Dask: pass client= or a dask DataFrame")
        records, columns, labels = dataset_records(dataset)
        self.check_columns(columns)
        if not isinstance(num_generations, int) or num_generations < 1:
            raise ValueError(f"Invalid num_generations={num_generations!r} (allowed: int >= 1)")
        if batch_size is None:
            batch_size = sum(llm.max_concurrency for llm in (self.generator, self.labeller) if llm is not None)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"Invalid batch_size={batch_size!r} (allowed: int >= 1, the rows in flight at once)")
        index_name = dataset.index.name if isinstance(dataset, pd.DataFrame) else None
        run = Run(len(records), self.generator is not None, self.labeller is not None,
                  self._frame_builder(columns, labels, index_name))
        self.last_run = run
        run.future = runtime.submit(self._run(run, records, num_generations, batch_size, skip_dry_run))
        return run

    def generate(
        self,
        dataset: Any,
        num_generations: int = 1,
        batch_size: int | None = None,
        display_progress_bar: bool = True,
        skip_dry_run: bool = False,
        *,
        client: Any = None,
        npartitions: int | None = None,
        as_pandas: bool | None = None,
    ) -> pd.DataFrame:
        """Run the dataset through the pipeline and return one row per input row.

        Args:
            dataset: A pandas DataFrame, a list of dicts or a ``datasets.Dataset``; or a
                ``dask.dataframe.DataFrame``, run on the Dask cluster.
            num_generations: Answers the generator writes per row.
            batch_size: Most rows in flight at once (default: the sum of the LLMs'
                ``max_concurrency``).
            display_progress_bar: Show ``tqdm`` bars for generation and labelling.
            skip_dry_run: Send every row without first checking the setup on row one.
            client: A ``dask.distributed.Client``: run the partitions on its workers
                (see :func:`distilabel_nb.distributed.generate`, ``npartitions`` and ``as_pandas``).

        Returns:
            The input columns plus the generation and labelling columns, in input order.

        Raises:
            ValueError: on missing columns or bad arguments, before any model call.
            DryRunError: when the first row shows the setup cannot work.
            KeyboardInterrupt: when interrupted; its ``partial_result`` holds the rows
                finished so far.
        """
        from distilabel_nb import distributed

        if client is not None or distributed.is_dask_dataframe(dataset):
            return distributed.generate(self, dataset, num_generations, batch_size, display_progress_bar, skip_dry_run,
                                        client=client, npartitions=npartitions, as_pandas=as_pandas)
        if npartitions is not None or as_pandas is not None:
            raise ValueError("npartitions= and as_pandas= apply to runs on Dask: pass client= or a dask DataFrame")
        run, bars = _ProgressBars.start(lambda: self.start(dataset, num_generations, batch_size, skip_dry_run),
                                        display_progress_bar)
        try:
            bars.follow(run)
            return run.wait()
        except KeyboardInterrupt as interrupt:
            run.cancel()
            try:
                interrupt.partial_result = run.wait(timeout=10)  # type: ignore[attr-defined]
            except TimeoutError:
                interrupt.partial_result = run.dataframe()  # type: ignore[attr-defined]
            raise
        finally:
            bars.close()

    def panel(self, dataset: Any = None):
        """An interactive run panel (ipywidgets) offering this pipeline's LLMs and ``dataset``.

        See :class:`distilabel_nb.widgets.Panel`.

        Example:
            >>> pipe.panel(df)  # doctest: +SKIP
        """
        from distilabel_nb.widgets.panel import Panel

        return Panel(dataset, generator=self.generator, labeller=self.labeller)

    def __repr__(self) -> str:
        return f"Pipeline(generator={self.generator!r}, labeller={self.labeller!r})"


class _ProgressBars:
    """tqdm.auto bars (text in a terminal, widgets in a notebook) showing a run's state.

    Without ``show`` there are no bars, and the methods do nothing.
    """

    def __init__(self, state: RunState, stream: Any, show: bool = True):
        from tqdm.auto import tqdm

        self.bars = {}
        if not show:
            return
        if state.has_generator:
            self.bars["generated"] = tqdm(total=state.total_rows, desc="Generating", unit="row", file=stream)
        if state.has_labeller:
            self.bars["labelled"] = tqdm(total=state.total_rows, desc="Labelling", unit="row", file=stream)

    @classmethod
    def start(cls, start_run: Callable[[], RunT], show: bool) -> tuple[RunT, _ProgressBars]:
        """Start a run with ``start_run()``, and its bars writing to ``sys.stderr`` as it was before.

        llama-cpp-python swaps ``sys.stderr`` for ``/dev/null`` while it loads a model, on
        a worker thread: bars that looked it up during that moment would write nowhere
        for the whole run.
        """
        stream = sys.stderr
        run = start_run()
        return run, cls(run.state, stream, show)

    def follow(self, run: Run) -> None:
        """Show the run's progress until it is over."""
        while not run.join(timeout=0.1):
            self.show(run.state)
        self.show(run.state)

    def show(self, state: RunState) -> None:
        failures = {"generated": state.generation_failures, "labelled": state.labelling_failures}
        for counter, bar in self.bars.items():
            done = getattr(state, counter)
            if done != bar.n:
                if failures[counter]:
                    bar.set_postfix(failed=failures[counter], refresh=False)
                bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def pipeline(kind: str, subtask: str | None = None, *, generator: LLM | None = None, labeller: LLM | None = None, **labeller_kwargs: Any) -> Pipeline:
    """Build a preset pipeline.

    ``"preference"``: the generator's answers rated by UltraFeedback for ``subtask``
    (a preset name such as ``"overall_quality"``, the default). Without ``labeller``, the
    bundled local model labels, with ``labeller_kwargs`` as its generation parameters.
    A ``labeller`` you pass keeps its own task: ``subtask`` and ``labeller_kwargs`` only
    configure the bundled one, so giving both is an error rather than a silent no-op.

    Example:
        >>> pipe = pipeline("preference", "honesty", generator=LlamaCppLLM(task=TextGenerationTask()))  # doctest: +SKIP
    """
    from distilabel_nb.llms.llama_cpp import LlamaCppLLM
    from distilabel_nb.tasks.settings import unknown_value
    from distilabel_nb.tasks.ultrafeedback import UltraFeedbackTask

    if kind != "preference":
        raise ValueError(f"Unknown pipeline kind {kind!r}; known: 'preference'")
    if labeller is not None:
        ignored = (["subtask"] if subtask is not None else []) + sorted(labeller_kwargs)
        if ignored:
            raise ValueError(
                f"pipeline('preference') got labeller= and also {', '.join(ignored)}, which only set up the "
                "bundled labeller; give your labeller its task and parameters itself, e.g. "
                "OpenAILLM(model, UltraFeedbackTask.for_honesty(), max_new_tokens=512)"
            )
        return Pipeline(generator=generator, labeller=labeller)
    subtask = subtask or "overall_quality"
    preset = getattr(UltraFeedbackTask, f"for_{subtask}", None)
    if preset is None:
        raise unknown_value("preference subtask", subtask, sorted(name[4:] for name in dir(UltraFeedbackTask) if name.startswith("for_")))
    return Pipeline(generator=generator, labeller=LlamaCppLLM(task=preset(), **labeller_kwargs))
