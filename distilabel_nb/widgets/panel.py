"""The run panel: pick data, task and models, run batches with live progress, export.

The panel builds a :class:`~distilabel_nb.pipeline.Pipeline` from its widgets and starts
it on the package's background loop (``Pipeline.start``), so the kernel stays free while
the run goes on. A small thread (:func:`~distilabel_nb.widgets.progress.follow`) reads the
run's state snapshots and updates the widgets; it never drives the pipeline.

Example:
    >>> from distilabel_nb.widgets import Panel
    >>> panel = Panel()                        # the bundled sample instructions
    >>> panel.data.rows.value = 2
    >>> panel.generator.max_new_tokens.value = 16
    >>> panel.labeller.enabled.value = False
    >>> panel.run_button.click()               # doctest: +SKIP
    >>> panel.wait().shape                     # doctest: +SKIP
    (2, 7)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.display import panel_html
from distilabel_nb.display.readable import error_text
from distilabel_nb.llms.base import LLM
from distilabel_nb.pipeline import Pipeline
from distilabel_nb.run import Run, RunState
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.preview import prompt_preview
from distilabel_nb.widgets.progress import follow, require_ipywidgets
from distilabel_nb.widgets.run_view import RunView, outcome, run_exception
from distilabel_nb.widgets.data_section import DataSection
from distilabel_nb.widgets.export_row import ExportRow, results_card
from distilabel_nb.widgets.more_generators import MoreGenerators, generators_of, win_rate_card
from distilabel_nb.widgets.sections import ModelSection

if TYPE_CHECKING:
    import ipywidgets

_TAB_TITLES = ("Data", "Generator", "Labeller", "Prompt preview")


class Panel:
    """An ipywidgets panel that configures and runs a pipeline, with live progress.

    Args:
        dataset: A DataFrame, a list of dicts or a ``datasets.Dataset`` to offer as
            "Your data"; without it the panel starts on the bundled sample instructions.
        generator: An LLM to offer as the generator ("Pipeline's LLM"), with its task.
        labeller: An LLM to offer as the labeller.

    Attributes:
        data: the Data tab (:class:`~distilabel_nb.widgets.data_section.DataSection`).
        generator, labeller: the model tabs (:class:`~distilabel_nb.widgets.sections.ModelSection`);
            more generators below the first with :meth:`add_generator` (or the tab's button).
        preview: the prompt preview (``ipywidgets.HTML``).
        run_button, stop_button: start and stop a run.
        cache: the call cache mode: ``True`` reuses stored answers, ``"refresh"`` asks the
            models again (and stores the new answers), ``False`` turns the cache off.
        budget: the run's ``max_cost`` in dollars (0: no budget); rows it leaves unsent say so.
        progress: the bars and numbers (:class:`~distilabel_nb.widgets.progress.RunProgress`).
        table: the latest finished rows (``ipywidgets.HTML``).
        message: what the panel has to say (errors included) (``ipywidgets.HTML``).
        results_card: the results card of the first rows of :attr:`result` once a run is over
            (``ipywidgets.HTML``, in a box that opens then).
        win_rate_card: with several generators and a judge, which model won the run
            (:func:`~distilabel_nb.win_rates.compare_models`' card; ``ipywidgets.HTML``).
        export_format, export_path, export_button: write the result, or its DPO pairs, to a file.
        widget: the whole panel (``ipywidgets.VBox``); the panel displays as it.
        last_error: the exception behind the last error message, for debugging.

    Example:
        >>> panel = Panel(pd.DataFrame({"question": ["Name a prime number."]}))
        >>> panel.data.mapping["input"].value
        'question'
    """

    def __init__(self, dataset: Any = None, *, generator: LLM | list[LLM] | None = None, labeller: LLM | None = None):
        given = list(generator) if isinstance(generator, (list, tuple)) else [generator] if generator is not None else []
        generator = given[0] if given else None  # the others: under it, from more_generators
        w = require_ipywidgets()
        self._lock = threading.RLock()
        self._run: Run | None = None
        self._pipeline: Pipeline | None = None
        self._own_llms: list[LLM] = []
        self._labels: pd.Index | None = None
        self._run_number = 0
        self._busy = False
        self._idle = threading.Event()
        self._idle.set()
        self._stop_requested_at: float | None = None
        self._status = ("ready", "")
        self._failed = 0  # rows of the latest finished run with an error
        self._building = True
        self.last_error: BaseException | None = None
        self.stop_seconds: float | None = None

        self.header = w.HTML()
        self.data = DataSection(dataset, self._config_changed)
        both_given = generator is not None or labeller is not None
        self.generator = ModelSection("generator", generator, self._config_changed,
                                      enabled=generator is not None or not both_given, max_new_tokens=256)
        self.labeller = ModelSection("labeller", labeller, self._config_changed,
                                     enabled=labeller is not None or not both_given, max_new_tokens=512,
                                     temperature=0.0)
        self.more_generators = MoreGenerators(self._config_changed)
        for llm in given[1:]:  # a pipeline's other generators, each as "Pipeline's LLM"
            self.more_generators.add(llm)
        self.preview = w.HTML()
        self.tabs = w.Tab(children=[self.data.widget, w.VBox([self.generator.widget, self.more_generators.widget]),
                                    self.labeller.widget, self.preview])
        self.tabs.titles = _TAB_TITLES
        self.tabs.add_class("dnb-tabs")

        self.run_button = w.Button(description="Run", icon="play", button_style="primary",
                                   tooltip="Run the pipeline on the chosen rows", layout=w.Layout(width="110px"))
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True,
                                    tooltip="Stop the run; finished rows are kept", layout=w.Layout(width="110px"))
        self.cache = w.Dropdown(options=[(label, value) for value, label in choices.CACHE_MODES], value=True,
                                layout=w.Layout(width="200px"))
        self.budget = w.BoundedFloatText(value=0.0, min=0.0, max=1e9, step=0.5, description="Budget $",
                                         tooltip="max_cost: the most dollars the run may spend (0: no budget)",
                                         style={"description_width": "64px"}, layout=w.Layout(width="170px"))
        self.message = w.HTML()
        self._view = RunView()
        self.progress, self.table = self._view.progress, self._view.table
        self._export = ExportRow(lambda: self.result)
        self.export_format, self.export_path = self._export.format, self._export.path
        self.export_button, self.export_message = self._export.button, self._export.message
        self.results_card = w.HTML()
        self.results_card.add_class("dnb-results-card")  # a box of its own height, scrolled
        self._results_box = w.Accordion(children=[self.results_card], titles=("Results card (first rows)",))
        self._results_box.add_class("dnb-results-box")
        self.win_rate_card = w.HTML()
        self.win_rate_card.add_class("dnb-results-card")

        self.run_button.on_click(self._guarded(lambda _: self.run(), "Could not start the run"))
        self.stop_button.on_click(self._guarded(lambda _: self.stop(), "Could not stop the run"))
        self.export_button.on_click(self._guarded(lambda _: self._export.clicked(), "Could not export"))

        def gap() -> "ipywidgets.Layout":
            return w.Layout(align_items="center", grid_gap="8px")

        style = w.HTML(panel_html.style())
        style.add_class("dnb-hidden")  # its CSS applies though it is not shown
        self.widget = w.VBox([
            style,
            self.header,
            self.tabs,
            w.HBox([self.run_button, self.stop_button, self.cache, self.budget], layout=w.Layout(
                align_items="center", grid_gap="8px", margin="12px 0 4px 0")),
            self.message,
            self.progress.widget,
            w.HTML(panel_html.section_title("Latest finished rows")),
            self.table,
            w.HTML(panel_html.section_title("Result")),
            w.HBox([self._view.result_note], layout=gap()),
            self._results_box,
            self.win_rate_card,
            self._export.widget,
        ])
        self.widget.add_class("dnb-panel")
        self._building = False
        self._config_changed()

    # -- display --
    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        rows, origin = self.data.describe()
        state = self._run.state if self._run is not None else None
        progress = f", done={state.done}/{state.total_rows}" if state is not None else ""
        return (f"Panel(data={rows} {origin}, generator={self.generator!r}, labeller={self.labeller!r}, "
                f"status={self._status[0]}{progress})")

    # -- messages --
    def _say(self, kind: str, title: str, detail: str = "") -> None:
        self.message.value = panel_html.note(kind, title, detail)

    def _guarded(self, action: Callable[[Any], Any], title: str) -> Callable[[Any], None]:
        """A click handler that shows errors in the panel instead of a traceback."""

        def handler(button: Any) -> None:
            try:
                action(button)
            except Exception as exc:
                self.last_error = exc
                self._say("error", title, error_text(exc))

        return handler

    def _set_status(self, status: str, detail: str = "") -> None:
        self._status = (status, detail)
        self._render_header()

    def _render_header(self) -> None:
        flow = [self.data.describe()]
        for section in self.generator_sections() + [self.labeller]:
            task, model = section.describe()
            if task:
                flow.append((task, model))
        if len(flow) == 1:
            flow.append(("no model chosen", ""))
        self.header.value = panel_html.header(flow, panel_html.status_pill(*self._status, run_number=self._run_number,
                                                                             failed=self._failed))

    # -- configuration --
    def add_generator(self, **settings: Any) -> ModelSection:
        """Add a generator under the first (the tab's Add button), its widgets set from ``settings``
        (``temperature=1.2``, …), and return its section; each writes the first's "Answers per row"."""
        return self.more_generators.add(**settings)

    def remove_generator(self, section: ModelSection) -> None:  # the added section's Remove button
        self.more_generators.remove(section)

    def generator_sections(self) -> list[ModelSection]:
        """The sections of every generator: the first, then the added ones."""
        return [self.generator, *self.more_generators.sections]

    def _config_changed(self) -> None:
        if self._building:
            return
        try:
            generator_task = self.generator.build_task()
            labeller_task = self.labeller.build_task()
        except Exception as exc:  # a broken registry entry: say so, keep the panel usable
            self.preview.value = panel_html.note("error", "Could not build the task", error_text(exc))
            return
        names = schema.required_inputs(generator_task, labeller_task)
        if names != list(self.data.mapping):
            self.data.set_inputs(names)
        self._render_header()
        self.preview.value = prompt_preview(self.data.first_row(), self.generator, self.labeller,
                                            generator_task, labeller_task)

    # -- running --
    @property
    def running(self) -> bool:
        """Whether a run is going on (until its last update reached the widgets)."""
        return self._busy

    @property
    def current_run(self) -> Run | None:
        """The latest :class:`~distilabel_nb.run.Run` started from the panel."""
        return self._run

    @property
    def pipeline(self) -> Pipeline | None:
        """The pipeline of the latest run."""
        return self._pipeline

    def run(self) -> Run | None:
        """Start a run with the current settings (what the Run button does).

        Returns the :class:`~distilabel_nb.run.Run`, or ``None`` when a run is already
        going or the settings cannot work (the panel then says why).
        """
        with self._lock:
            if self._busy:
                self._say("warning", "A run is already going",
                          "Wait for it to finish or press Stop; a second run does not start meanwhile.")
                return None
            try:
                frame, labels = self.data.run_frame()
                first = self.generator.build(self.cache.value)
                more = self.more_generators.build(self.cache.value)
                generator = generators_of(first, more)
                labeller = self.labeller.build(self.cache.value)
                if generator is None and labeller is None:
                    raise ValueError("Turn on the generator, the labeller, or both (Generator and Labeller tabs)")
                pipeline = Pipeline(generator=generator, labeller=labeller)
                num_generations = int(self.generator.num_generations.value) if generator is not None else 1
                run = pipeline.start(frame, num_generations=num_generations, max_cost=float(self.budget.value) or None)
            except Exception as exc:
                self.last_error = exc
                self._say("error", "Could not start the run", error_text(exc))
                return None
            self._busy = True
            self._idle.clear()
            self._run, self._pipeline, self._labels = run, pipeline, labels
            # LLMs built here (not copies of the pipeline's own, which share its client)
            self._own_llms = self.more_generators.own() + [llm for llm, section in ((first, self.generator), (
                labeller, self.labeller)) if llm is not None and section.backend.value != choices.GIVEN]
            self._run_number += 1
            self._failed = 0
            self._stop_requested_at = None
            self.stop_seconds = None
            self.run_button.disabled = True
            self.stop_button.disabled = False
            self.stop_button.button_style = "warning"
            self.export_button.disabled = True
            self.export_message.value = self.results_card.value = self.win_rate_card.value = ""
            self._results_box.selected_index = None
            self._say("info", "")
            self._view.start(run, pipeline, labels)
            self._set_status("running", "checking the setup on row 1")
            follow(run, lambda state, elapsed: self._tick(run, state, elapsed), lambda state: self._over(run, state))
            return run

    def stop(self) -> None:
        """Stop the run (what the Stop button does); every finished row is kept."""
        with self._lock:
            run = self._run
            if run is None or not self._busy:
                self._say("info", "Nothing to stop: no run is going on.")
                return
            if self._stop_requested_at is None:
                self._stop_requested_at = time.monotonic()
                self._set_status("stopping")
                self.stop_button.disabled = True
                run.cancel()

    def wait(self, timeout: float | None = None) -> pd.DataFrame | None:
        """Block until the current run is over and the panel shows it; return :attr:`result`.

        Raises:
            TimeoutError: when the run still goes on after ``timeout`` seconds.
        """
        if not self._idle.wait(timeout):
            state = self._run.state if self._run is not None else None
            where = f" ({state.done}/{state.total_rows} rows)" if state else ""
            raise TimeoutError(f"the panel's run is still going after {timeout}s{where}")
        return self.result

    @property
    def result(self) -> pd.DataFrame | None:
        """The result DataFrame: the rows finished so far while running, all rows after.

        Rows keep the dataset's index labels; ``None`` before the first run.
        """
        run, labels = self._run, self._labels
        if run is None or labels is None:
            return None
        frame = run.dataframe()
        frame.index = labels.take(frame.index.to_numpy(dtype=int)) if len(frame) else labels[:0]
        return frame

    # -- updates (background thread) --
    def _tick(self, run: Run, state: RunState, elapsed: float) -> None:
        if run is not self._run:
            return
        self._view.tick(run, state, elapsed)
        if self._stop_requested_at is None and state.status in ("pending", "running"):
            detail = "checking the setup on row 1" if state.done == 0 and not self._view.dry_run_passed else (
                f"{state.done:,} of {state.total_rows:,} rows")
            if self._status != ("running", detail):
                self._set_status("running", detail)

    def _over(self, run: Run, state: RunState) -> None:
        try:
            if run is not self._run:
                return
            if self._stop_requested_at is not None:
                self.stop_seconds = time.monotonic() - self._stop_requested_at
            result = self.result
            self._view.finish(run, state, result)
            self.results_card.value = results_card(result)
            self.win_rate_card.value = win_rate_card(result)
            self._results_box.selected_index = 0 if self.results_card.value else None
            end = outcome(state, result)
            self._failed = end.failed
            self._set_status(end.status, end.detail)
            self._say(end.kind, end.title, end.text)
            if state.status == "failed":
                self.last_error = run_exception(run)
        finally:
            if run is self._run:
                for llm in self._own_llms:  # their HTTP clients; a given LLM's stays open
                    llm.close()
                self.run_button.disabled = False
                self.stop_button.disabled = True
                self.stop_button.button_style = ""
                self.export_button.disabled = state.done == 0
                self._busy = False
                self._idle.set()

    # -- export --
    def export(self, path: str | Path | None = None, fmt: str | None = None) -> Path:
        """Write :attr:`result` to ``path`` as JSONL, CSV or Parquet, or its DPO pairs.

        Args:
            path: The file (default: the panel's export path).
            fmt: ``"jsonl"``, ``"csv"``, ``"parquet"``, or ``"pairs"`` for the DPO pairs of
                the result as JSONL (prompt, chosen, rejected, their ratings; see
                :func:`~distilabel_nb.export.to_preference_pairs`). Default: from the path's
                extension, else the panel's format choice.

        Raises:
            ValueError: when there is nothing to export yet, for an unknown format, or
                (``"pairs"``) when no row has two answers with different ratings.
        """
        return self._export.export(path, fmt)

