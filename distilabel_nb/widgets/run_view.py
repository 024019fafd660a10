"""What the run panel shows of a run as it goes: the bars and numbers, the latest finished rows.

:class:`RunView` only reads the run (its events and state snapshots); the panel calls
:meth:`RunView.tick` from the :func:`~distilabel_nb.widgets.progress.follow` thread.

Example:
    >>> view = RunView()
    >>> "Finished rows appear here" in view.table.value
    True
"""

from __future__ import annotations

import collections
import concurrent.futures
from dataclasses import dataclass

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.budget import BUDGET_ERROR
from distilabel_nb.cells import duration
from distilabel_nb.display import panel_html
from distilabel_nb.pipeline import Pipeline
from distilabel_nb.run import Run, RunEvent, RunState
from distilabel_nb.widgets.progress import RunProgress, require_ipywidgets

#: Finished rows shown in the live table.
LATEST_ROWS = 5
#: Most text columns and rating columns the live table shows.
TABLE_TEXT_COLUMNS = 3
TABLE_RATING_COLUMNS = 2


class RunView:
    """The progress bars, the latest finished rows and the line about ``panel.result``.

    Attributes:
        progress: the bars and numbers (:class:`~distilabel_nb.widgets.progress.RunProgress`).
        table: the latest finished rows (``ipywidgets.HTML``).
        result_note: what ``panel.result`` holds (``ipywidgets.HTML``).
        dry_run_passed: whether the current run's first row passed its check.
    """

    def __init__(self) -> None:
        w = require_ipywidgets()
        self.progress = RunProgress(RunState(total_rows=0, has_generator=True, has_labeller=True))
        self.table = w.HTML(panel_html.live_table(pd.DataFrame(), [], [], []))
        self.result_note = w.HTML(panel_html.hint("panel.result holds the DataFrame once a run starts"))
        self.dry_run_passed = False
        self._latest: collections.deque[int] = collections.deque(maxlen=LATEST_ROWS)
        self._table_done = -1
        self._pipeline: Pipeline | None = None
        self._labels: pd.Index | None = None

    def start(self, run: Run, pipeline: Pipeline, labels: pd.Index | None = None) -> None:
        """Show ``run`` from zero and listen to its events.

        ``labels`` are the index labels of the run's rows in ``panel.result`` (the
        dataset's own); the table numbers its rows by them (by input position without).
        """
        self._pipeline = pipeline
        self._labels = labels
        self.dry_run_passed = False
        self._latest.clear()
        self._table_done = -1
        self.progress.reset(run.state)
        self.table.value = panel_html.live_table(pd.DataFrame(), [], [], [])
        run.subscribe(self._on_event)

    def _on_event(self, event: RunEvent) -> None:
        if event.kind == "row_done" and event.row is not None:
            self._latest.appendleft(event.row)
        elif event.kind == "dry_run_passed":
            self.dry_run_passed = True

    def tick(self, run: Run, state: RunState, elapsed: float) -> None:
        """Show the state of a run that goes on (``elapsed``: the live time since its start)."""
        self.progress.update(state, elapsed)
        if state.done != self._table_done:
            self._refresh_table(run, state)
            self.result_note.value = panel_html.hint(
                f"panel.result: the {state.done:,} row{'s' if state.done != 1 else ''} finished so far "
                "(complete when the run is over)")

    def finish(self, run: Run, state: RunState, result: pd.DataFrame | None) -> None:
        """Show the end of a run and what ``panel.result`` (``result``) holds."""
        self.progress.update(state)
        self._refresh_table(run, state)
        self.result_note.value = panel_html.hint(
            f"panel.result: {state.done:,} row{'s' if state.done != 1 else ''} × "
            f"{len(result.columns) if result is not None else 0} columns")

    def _refresh_table(self, run: Run, state: RunState) -> None:
        frame = run.dataframe()  # index = input positions
        self._table_done = state.done
        if frame.empty:
            return
        positions = [p for p in self._latest if p in frame.index]
        if len(positions) < min(LATEST_ROWS, len(frame)):  # events seen late: fill with the last rows
            positions += [p for p in reversed(frame.index.tolist()) if p not in positions]
        positions = positions[:LATEST_ROWS]
        latest = frame.loc[positions]
        errors = [c for c in schema.ERROR_COLUMNS if c in frame.columns]
        scales = {name: scale.bounds for name, scale in schema.of(frame).scores.items()}
        labels = self._labels.take(positions) if self._labels is not None else positions
        self.table.value = panel_html.live_table(latest, list(labels), _table_columns(self._pipeline, frame), errors, scales)


@dataclass(frozen=True)
class Outcome:
    """What the panel says when a run is over: its status pill and its note."""

    status: str  # "finished", "cancelled" or "failed"
    detail: str
    kind: str  # the note's kind: "success", "warning" or "error"
    title: str
    text: str = ""
    failed: int = 0  # rows with an error


def outcome(state: RunState, result: pd.DataFrame | None) -> Outcome:
    """The status and the note of a run that is over (``result``: what ``panel.result`` holds).

    Example:
        >>> outcome(RunState(total_rows=3, done=1, status="cancelled"), None).title
        'Stopped: 1 row of 3 finished and kept.'
    """
    rows = f"{state.done:,} row{'s' if state.done != 1 else ''}"
    took = duration(state.elapsed, clock=True)
    if state.status == "finished":
        failed = failed_rows(result)
        unsent = budget_stopped(result)
        if unsent:
            return Outcome("finished", f"{rows} in {took}", "warning",
                           f"Budget reached: {state.done - unsent:,} of {state.total_rows:,} rows done; {unsent:,} not sent",
                           "The rows the budget stopped keep their place, with the reason in their error; raise "
                           "Budget $ and press Run to go on (answers paid for are reused when the cache is on).", failed)
        if failed:
            return Outcome("finished", f"{rows} in {took}", "warning", f"Done: {rows} in {took}; {failed} with errors",
                           "Rows that failed keep their place with the reason in generation_error / "
                           "labelling_error; the table below shows the latest ones.", failed)
        return Outcome("finished", f"{rows} in {took}", "success", f"Done: {rows} in {took}.")
    if state.status == "cancelled":
        return Outcome("cancelled", f"{rows} kept", "warning", f"Stopped: {rows} of {state.total_rows:,} finished and kept.",
                       "panel.result holds them; press Run to start again from the first row.")
    return Outcome("failed", "", "error", "The run stopped with an error", state.error or "unknown error")


def run_exception(run: Run) -> BaseException | None:
    """The exception that ended a failed run (its future settles just after the last event)."""
    if run.future is None:
        return None
    try:
        return run.future.exception(timeout=5)
    except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
        return None


def budget_stopped(frame: pd.DataFrame | None) -> int:
    """How many rows of a result the budget left unsent."""
    if frame is None or frame.empty:
        return 0
    prefix = BUDGET_ERROR.split("(")[0]
    errors = [c for c in schema.ERROR_COLUMNS if c in frame.columns]
    return int(sum(frame[c].astype(str).str.startswith(prefix) for c in errors).astype(bool).sum()) if errors else 0


def failed_rows(frame: pd.DataFrame | None) -> int:
    """How many rows of a result hold an error."""
    if frame is None or frame.empty:
        return 0
    errors = [c for c in schema.ERROR_COLUMNS if c in frame.columns]
    if not errors:
        return 0
    return int(frame[errors].notna().any(axis=1).sum())


def _table_columns(pipeline: Pipeline | None, frame: pd.DataFrame) -> list[tuple[str, str]]:
    """What the live table shows: an input, the answers, then the labeller's ratings and texts."""
    text: list[str] = []
    ratings: list[str] = []
    labeller_text: list[str] = []
    scores = schema.of(frame).scores
    if pipeline is not None:
        if pipeline.generator is not None:
            text += list(pipeline.generator.task.input_args_names)[:1]
            text += list(pipeline.generator.task.output_args_names)
        if pipeline.labeller is not None:
            if not text:
                text += list(pipeline.labeller.task.input_args_names)
            for name in pipeline.labeller.task.output_args_names:
                (ratings if name in scores else labeller_text).append(name)
    text = [c for c in dict.fromkeys(text) if c in frame.columns][:TABLE_TEXT_COLUMNS]
    ratings = [c for c in dict.fromkeys(ratings) if c in frame.columns][:TABLE_RATING_COLUMNS]
    labeller_text = [c for c in labeller_text if c in frame.columns and c not in text][:1]
    # With several generators, every answer is shown beside its model.
    several = pipeline is not None and pipeline.generators is not None and pipeline.generators.several
    answers = set(pipeline.generators.output_args_names) if several else set()
    return ([(c, "answers" if c in answers else "text") for c in text] + [(c, "rating") for c in ratings]
            + [(c, "text") for c in labeller_text])
