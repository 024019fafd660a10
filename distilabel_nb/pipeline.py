"""The Pipeline: a dataset through a generator LLM and/or a labeller LLM, into a DataFrame.

The pipeline knows its result: the columns each LLM adds, how a row's outputs become
those columns, and the frame they are gathered in. An executor carries out the run
(:mod:`distilabel_nb.executors`: on this process, or on a Dask cluster); ``generate()``
starts it, shows its progress, waits for it and handles an interrupt, the same way for
every executor.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.dataset import dataset_records
from distilabel_nb.errors import DryRunError, InvalidArgument, RunInterrupted, RunWarning, UserError
from distilabel_nb.executors import RunOptions, executor_for
from distilabel_nb.generators import Generators
from distilabel_nb.llms.base import LLM, LLMOutput
from distilabel_nb.progress_bars import ProgressBars
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.run import Run
from distilabel_nb.shuffle import restore

if TYPE_CHECKING:
    from distilabel_nb.estimate import Estimate

__all__ = ["DryRunError", "Pipeline", "dataset_records", "pipeline"]

GENERATION_COLUMNS = list(schema.GENERATION_PROVENANCE)
NOT_LABELLED = "not labelled: the generation failed (see generation_error)"
LABELLING_COLUMNS = list(schema.LABELLING_PROVENANCE)
#: Seconds an interrupted ``generate()`` waits for the run to stop before taking the rows it has.
STOP_SECONDS = 10


def _joined_errors(outputs: Sequence[LLMOutput], label: str, models: Sequence[str] | None = None) -> str | None:
    """One error text for a row: said once when every output failed the same way.

    With ``models`` (several generators), each failed answer is named with its model too.
    """
    errors = [o.error for o in outputs if o.error]
    if not errors:
        return None
    if len(errors) == len(outputs) and len(set(errors)) == 1:
        return errors[0]
    named = [f" ({models[i]})" if models is not None and i < len(models) else "" for i in range(len(outputs))]
    return "; ".join(f"{label} {i + 1}{named[i]}: {o.error}" for i, o in enumerate(outputs) if o.error)


class Pipeline(HTMLRepr):
    """Generate with one LLM (or several), label with another, collect everything in a DataFrame.

    Args:
        generator: The LLM whose task generates (e.g. answers instructions); or a list of
            LLMs (or a dict ``{name: LLM}``), each writing ``num_generations`` answers to
            every row, side by side (see :mod:`distilabel_nb.generators`).
        labeller: The LLM whose task rates or critiques (e.g. ``UltraFeedbackTask``).

    Attributes:
        generators: The :class:`~distilabel_nb.generators.Generators` (``None`` without a generator).
        generator: The generator LLM; with several, the first of them.

    Example:
        >>> from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask
        >>> pipe = Pipeline(
        ...     generator=LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=64),
        ...     labeller=LlamaCppLLM(task=UltraFeedbackTask(), max_new_tokens=128),
        ... )
        >>> df = pipe.generate([{"input": "Name a prime number."}], num_generations=2)  # doctest: +SKIP
    """

    def __init__(self, generator: LLM | Sequence[LLM] | dict[str, LLM] | None = None, labeller: LLM | None = None):
        if generator is None and labeller is None:
            raise ValueError("A Pipeline needs a generator, a labeller, or both: Pipeline(generator=..., labeller=...)")
        if labeller is not None and not isinstance(labeller, LLM):
            raise TypeError(f"labeller must be an LLM (LlamaCppLLM, OpenAILLM, …), got {type(labeller).__name__}")
        self.generators: Generators | None = Generators(generator) if generator is not None else None
        self.generator: LLM | None = self.generators.first if self.generators is not None else None
        self.labeller = labeller
        self.last_run: Run | None = None

    def llms(self) -> list[LLM]:
        """Every LLM of the pipeline: the generators, then the labeller."""
        return [llm for _, llm in self.roles()]

    def roles(self) -> list[tuple[str, LLM]]:
        """Each LLM with its role: ``generator`` (``generator 1``, ``generator 2``, … with several), ``labeller``."""
        gens = list(self.generators or ())
        roles = [("generator" if len(gens) == 1 else f"generator {i + 1}", llm) for i, llm in enumerate(gens)]
        return roles + ([("labeller", self.labeller)] if self.labeller is not None else [])

    # -- columns --
    def generated_columns(self) -> list[str]:
        """Columns the generator adds (lists of length ``num_generations``), then its error column."""
        if self.generator is None:
            return []
        return GENERATION_COLUMNS + list(self.generator.task.output_args_names) + ["generation_error"]

    def labelled_columns(self) -> list[str]:
        """Columns the labeller adds: provenance, its outputs, the order it saw the answers in, its error column."""
        if self.labeller is None:
            return []
        order = [schema.LABELLING_ORDER] if self.texts_input() is not None else []
        return LABELLING_COLUMNS + list(self.labeller.task.output_args_names) + order + ["labelling_error"]

    def texts_input(self) -> str | None:
        """The labeller's input holding a row's answers (``generations``), or ``None`` for a labeller of one text."""
        return getattr(self.labeller.task, "texts_input", None) if self.labeller is not None else None

    def usage_columns(self) -> list[str]:
        """Each step's tokens, cost, latency and whether the cache answered (:data:`schema.USAGE_COLUMNS`)."""
        return (list(schema.GENERATION_USAGE) if self.generator else []) + (list(schema.LABELLING_USAGE) if self.labeller else [])

    def required_columns(self) -> list[str]:
        """Dataset columns the run needs: the generator's inputs, and the labeller's that the generator does not make."""
        return schema.required_inputs(*self._tasks())

    def _tasks(self) -> tuple[Any, Any]:
        return (self.generator.task if self.generator else None, self.labeller.task if self.labeller else None)

    def result_schema(self, columns: Sequence[str]) -> schema.ResultSchema:
        """The :class:`~distilabel_nb.schema.ResultSchema` of a run over a dataset with ``columns``."""
        return schema.for_tasks(columns, *self._tasks())

    def check_columns(self, columns: Sequence[str]) -> None:
        """Raise an :class:`~distilabel_nb.errors.InvalidArgument` (a ``ValueError``) naming missing and available columns."""
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
        raise InvalidArgument(
            f"The dataset is missing column(s) {missing}; available columns: {list(columns)}.{hint} "
            "Rename your columns (e.g. df.rename(columns={'question': 'input'})) to match."
        )

    # -- the result: a row's columns, and the frame of all rows --
    def generation_record(self, outputs: list[LLMOutput], models: Sequence[str] | None = None) -> dict[str, Any]:
        """The generators' columns for one row, from its outputs (``num_generations`` per generator).

        ``models`` names each output's generator (default: each output's model).
        """
        assert self.generator is not None
        record: dict[str, Any] = {
            "generation_model": list(models) if models is not None else [o.model_name for o in outputs],
            "generation_prompt": [o.prompt_used for o in outputs],
            "raw_generation_responses": [o.raw_output for o in outputs],
            schema.GENERATION_FINISH_REASONS: [o.finish_reason for o in outputs],
        }
        for name in self.generator.task.output_args_names:
            record[name] = [(o.parsed_output or {}).get(name) for o in outputs]
        record["generation_error"] = _joined_errors(outputs, "generation", models)
        return record

    def labelling_record(self, output: LLMOutput | None, order: Sequence[int] | None = None) -> dict[str, Any]:
        """The labeller's columns for one row; ``output`` is ``None`` when the row had nothing to label.

        ``order`` is the order the row's answers were shown in (:mod:`distilabel_nb.shuffle`):
        every per-answer output is put back in the answers' order.
        """
        assert self.labeller is not None
        parsed = (output.parsed_output if output else None) or {}
        record: dict[str, Any] = {
            "labelling_model": self.labeller.model_name,
            "labelling_prompt": output.prompt_used if output else None,
            "raw_labelling_response": output.raw_output if output else None,
            schema.LABELLING_FINISH_REASON: output.finish_reason if output else None,
        }
        for name in self.labeller.task.output_args_names:
            record[name] = restore(parsed.get(name), order) if order is not None else parsed.get(name)
        if self.texts_input() is not None:
            record[schema.LABELLING_ORDER] = list(order) if order is not None else None
        record["labelling_error"] = NOT_LABELLED if output is None else output.error
        return record

    def frame_builder(self, columns: list[str], labels: list[Any], index_name: Any, column_labels: dict[str, Any] | None = None):
        """A function from the finished rows (by input position) to the result's DataFrame.

        Args:
            columns: The dataset's columns, which come first.
            labels: The dataset's row labels, by position (the result's index).
            index_name: The name of the dataset's index (a list of names for a MultiIndex).
            column_labels: The dataset's own column labels by their text (for columns named ``0`` or ``1.5``).
        """
        all_columns = list(dict.fromkeys(columns + self.generated_columns() + self.labelled_columns() + self.usage_columns()))
        result_schema = self.result_schema(columns)

        def build(rows: dict[int, dict[str, Any]]) -> pd.DataFrame:
            positions = sorted(rows)
            frame = pd.DataFrame([rows[p] for p in positions], columns=all_columns)
            if isinstance(index_name, list):
                frame.index = pd.MultiIndex.from_tuples([labels[p] for p in positions], names=index_name)
            else:
                frame.index = pd.Index([labels[p] for p in positions], name=index_name)
            if column_labels:
                frame = frame.rename(columns=column_labels)
            return schema.attach(frame, result_schema)

        return build

    # -- runs --
    def start(self, dataset: Any, num_generations: int = 1, batch_size: int | None = None, skip_dry_run: bool = False,
              *, client: Any = None, npartitions: int | None = None, max_cost: float | None = None,
              max_tokens: int | None = None, shuffle_before_labelling: bool = True, seed: int = 0) -> Run:
        """Start a run in the background and return its :class:`~distilabel_nb.run.Run` handle.

        Checks the dataset's columns and the arguments before any model call.
        See :meth:`generate` for the arguments.

        Example:
            >>> run = pipe.start(df)                 # doctest: +SKIP
            >>> run.state.done, run.state.total_rows  # doctest: +SKIP
            (3, 10)
        """
        try:
            return self._start(dataset, RunOptions(num_generations, batch_size, skip_dry_run, client, npartitions,
                                                   max_cost=max_cost, max_tokens=max_tokens,
                                                   shuffle_before_labelling=shuffle_before_labelling, seed=seed))
        except UserError as error:
            raise error.with_traceback(None) from None  # the checks' frames say nothing to the user

    def _start(self, dataset: Any, options: RunOptions) -> Run:
        run = executor_for(dataset, options).start(self, dataset, options)
        self.last_run = run
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
        max_cost: float | None = None,
        max_tokens: int | None = None,
        shuffle_before_labelling: bool = True,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Run the dataset through the pipeline and return one row per input row.

        Args:
            dataset: A pandas DataFrame, a list of dicts or a ``datasets.Dataset``; or a
                ``dask.dataframe.DataFrame``, run on the Dask cluster.
            num_generations: Answers each generator writes per row.
            batch_size: Most rows in flight at once (default: the sum of the LLMs'
                ``max_concurrency``); on Dask, in each partition.
            display_progress_bar: Show ``tqdm`` bars for generation and labelling.
            skip_dry_run: Send every row without first checking the setup on row one
                (on Dask, on each partition's first row).
            client: A ``dask.distributed.Client``: run the partitions on its workers
                (the guide: docs/distributed.md).
            npartitions: On Dask, the partitions to split a non-Dask dataset into (default:
                two per worker thread), or to repartition a dask DataFrame into.
            as_pandas: On Dask, return pandas (the default for non-Dask datasets) instead
                of a dask DataFrame whose partitions stay on the workers (the default for
                dask DataFrames).
            max_cost: A budget in dollars: no call is sent that could take the run over it
                (the calls in flight counted); the rows left unsent say so in their error
                column, and a later run with a larger budget goes on from the cache
                (docs/cost.md). Needs the LLMs' prices.
            max_tokens: A budget in tokens (prompt + completion), kept the same way.
            shuffle_before_labelling: Show the labeller each row's answers in an order of
                the row's own (random across rows, the same for the row on every run, so a
                re-run is answered from the cache); its outputs are put back in the answers'
                order and the order shown is kept in ``labelling_order``. On by default
                whenever a row has more than one answer: several generators, or
                ``num_generations >= 2`` with one. ``False`` shows them as generated.
            seed: Changes the order of every row's answers (the same seed, the same orders).

        Returns:
            The input columns plus the generation and labelling columns, in input order.

        Raises:
            ValueError: on missing columns or bad arguments, before any model call.
            TypeError: for a dataset of a kind it cannot read, saying how to make one.
            DryRunError: when the first row shows the setup cannot work.
            RunInterrupted: on an interrupt (a ``KeyboardInterrupt``), once the run has
                stopped; the finished rows are in ``pipe.last_run.dataframe()`` and in its
                ``partial_result``.

        Example:
            >>> df = pipe.generate(pd.DataFrame({"input": ["Name a prime number."]}))  # doctest: +SKIP
        """
        bars = ProgressBars(sys.stderr, display_progress_bar)  # the stream of before the run: see ProgressBars
        try:
            run = self._start(dataset, RunOptions(num_generations, batch_size, skip_dry_run, client, npartitions, as_pandas,
                                                  max_cost=max_cost, max_tokens=max_tokens,
                                                  shuffle_before_labelling=shuffle_before_labelling, seed=seed))
            try:
                bars.follow(run)
                result = run.result()
                for warning in run.state.warnings:  # each said once, at the call that ran
                    warnings.warn(warning, RunWarning, stacklevel=2)
                return result
            except KeyboardInterrupt:
                raise self._interrupted(run, bars) from None
            finally:
                bars.close()
        except UserError as error:
            raise error.with_traceback(None) from None  # the checks' and the run's frames say nothing to the user

    def estimate(self, dataset: Any, sample: int = 20, *, seed: int = 0, num_generations: int = 1,
                 min_margin: float = 0.0, display_progress_bar: bool = True) -> "Estimate":
        """Run a random sample of ``dataset`` and forecast the whole run: tokens, cost, time, failures, pairs.

        The sample goes through the cache, so the real run reuses its answers. See
        :mod:`distilabel_nb.estimate` for how each figure is made (docs/cost.md).

        Args:
            dataset: What :meth:`generate` takes (not a dask DataFrame).
            sample: Rows to run, drawn at random with ``seed``.
            seed: The seed of the draw (another seed, another sample).
            num_generations: As the real run will ask.
            min_margin: The smallest rating difference that makes a preference pair.
            display_progress_bar: Show the sample's bars.

        Returns:
            An :class:`~distilabel_nb.estimate.Estimate` (a card in a notebook, text with ``print``).

        Example:
            >>> pipe.estimate(df, sample=20).cost_interval  # doctest: +SKIP
            (3.70, 4.55)
        """
        from distilabel_nb.estimate import estimate

        try:
            return estimate(self, dataset, sample, seed=seed, num_generations=num_generations, min_margin=min_margin,
                            display_progress_bar=display_progress_bar)
        except UserError as error:
            raise error.with_traceback(None) from None

    def _interrupted(self, run: Run, bars: ProgressBars) -> RunInterrupted:
        """Stop ``run`` after an interrupt, bring the bars to what it finished, and say where that is."""
        run.cancel()
        try:
            partial = run.wait(timeout=STOP_SECONDS)
        except Exception:  # still stopping, or failed meanwhile: what is finished is kept all the same
            partial = run.dataframe()
        state = run.state
        bars.show(state)
        kept = "the finished rows are" if len(partial) == state.done else f"the {len(partial)} rows of the finished partitions are"
        cached = all(llm.cache is not None and not llm.cache_refresh for llm in self.llms())
        again = " (their answers are cached: run the cell again to go on)" if cached else ""
        return RunInterrupted(f"Stopped after {state.done} of {state.total_rows} rows; {kept} in "
                              f"`pipe.last_run.dataframe()`{again}", partial)

    def panel(self, dataset: Any = None):
        """An interactive run panel (ipywidgets) offering this pipeline's LLMs and ``dataset``.

        See :class:`distilabel_nb.widgets.Panel`.

        Example:
            >>> pipe.panel(df)  # doctest: +SKIP
        """
        from distilabel_nb.widgets.panel import Panel

        several = self.generators is not None and self.generators.several
        return Panel(dataset, generator=list(self.generators) if several else self.generator, labeller=self.labeller)

    def __repr__(self) -> str:
        generator = list(self.generators) if self.generators is not None and self.generators.several else self.generator
        return f"Pipeline(generator={generator!r}, labeller={self.labeller!r})"


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
