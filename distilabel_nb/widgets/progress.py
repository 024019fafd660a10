"""Live progress of a run as ipywidgets: one bar per step, and the run's numbers.

:class:`RunProgress` only reads :class:`~distilabel_nb.run.RunState` snapshots; :func:`follow`
feeds it from a small background thread while the run goes on, so the notebook kernel
stays free (ipykernel sends widget updates from any thread).

Example:
    >>> run = pipeline.start(dataset)                        # doctest: +SKIP
    >>> progress = RunProgress(run.state); follow(run, progress.update)  # doctest: +SKIP
    >>> progress                                             # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from distilabel_nb.cells import dollars, duration
from distilabel_nb.run import Run, RunState
from distilabel_nb.display import panel_html

if TYPE_CHECKING:
    import ipywidgets

INSTALL_HINT = (
    "The run panel needs ipywidgets: pip install ipywidgets "
    "(JupyterLab 4 and Notebook 7 then show widgets without further setup)"
)

#: Seconds between two refreshes of the widgets while a run goes on.
REFRESH_SECONDS = 0.2


def require_ipywidgets():
    """Import ipywidgets, or raise an ImportError that says how to install it."""
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return ipywidgets


@dataclass(frozen=True)
class ProgressFacts:
    """What the progress block shows, computed from a state and the time elapsed."""

    elapsed: float
    rows_per_second: float
    remaining: float | None
    tokens: int
    failures: int
    cost: float | None = 0.0
    projected_cost: float | None = None

    @classmethod
    def of(cls, state: RunState, elapsed: float | None = None) -> "ProgressFacts":
        """``elapsed`` is the live time since the start (``state.elapsed`` only moves on events)."""
        seconds = state.elapsed if elapsed is None or state.is_over else max(state.elapsed, elapsed)
        rate = state.done / seconds if seconds > 0 else 0.0
        left = state.total_rows - state.done
        remaining = 0.0 if left <= 0 or state.is_over else (left / rate if rate > 0 else None)
        return cls(seconds, rate, remaining, state.tokens, state.failures, state.cost, state.projected_cost)

    def items(self, over: bool) -> list[tuple[str, str, bool]]:
        rate = f"{self.rows_per_second:.2f}" if self.rows_per_second < 10 else f"{self.rows_per_second:,.0f}"
        items = [
            (rate, "rows/s", False),
            (f"{self.tokens:,}", "tokens", False),
            (f"{self.failures:,}", "failed" if self.failures else "failures", self.failures > 0),
            (dollars(self.cost), "cost", False),
            (duration(self.elapsed, clock=True), "elapsed", False),
        ]
        if not over and self.projected_cost is not None:
            items.append(("~" + dollars(self.projected_cost), "projected", False))
        if not over:
            left = duration(self.remaining, clock=True)
            items.append(("~" + left if self.remaining is not None else left, "left", False))
        return items


BAR_STYLES = {"running": "info", "finished": "success", "cancelled": "warning", "failed": "danger"}
#: The style of a step that is over but had failures: amber, "finished with failures".
WITH_FAILURES = "warning"


def step_style(state: RunState, done: int, failures: int) -> str:
    """A step's bar style: blue while it goes on; once every row is through (or the run is
    over) green, or amber (:data:`WITH_FAILURES`) when some of its rows failed; red for a
    run that failed, amber for one that was stopped.

    Example:
        >>> step_style(RunState(total_rows=3, status="running"), done=3, failures=1)
        'warning'
    """
    if state.status == "pending":
        return ""
    if state.status in ("cancelled", "failed"):
        return BAR_STYLES[state.status]
    if state.status == "running" and done < state.total_rows:
        return BAR_STYLES["running"]
    return WITH_FAILURES if failures else BAR_STYLES["finished"]


class RunProgress:
    """Progress bars for generation and labelling, and a line of numbers.

    With several generators, one bar per generator takes the place of the generation bar.

    Attributes:
        generation_bar, labelling_bar: ``ipywidgets.IntProgress`` (value = rows done).
        generation_count, labelling_count: ``"3 / 4"`` beside each bar, then the step's
            failures (amber) and, once the step is over, the time it took.
        generator_bars: with several generators, ``{name: (bar, count)}``, one per generator.
        stats: rows/s, tokens, failures, elapsed and remaining time.
        widget: the ``VBox`` holding all of them.
    """

    def __init__(self, state: RunState | None = None):
        w = require_ipywidgets()
        state = state or RunState(total_rows=0, has_generator=True, has_labeller=True)
        label_style = {"description_width": "92px"}  # "Generator 1" in full

        def bar(description: str) -> "ipywidgets.IntProgress":
            widget = w.IntProgress(value=0, min=0, max=max(state.total_rows, 1), description=description,
                                   style=label_style, layout=w.Layout(width="520px", max_width="70%"))
            widget.add_class("dnb-bar")
            return widget

        self.generation_bar = bar("Generating")
        self.labelling_bar = bar("Labelling")
        self.generation_count = w.HTML(panel_html.count(0, state.total_rows))
        self.labelling_count = w.HTML(panel_html.count(0, state.total_rows))
        self.stats = w.HTML(panel_html.stats(ProgressFacts.of(state).items(over=False)))
        # one Layout per row: a shared one would hide both rows when one is hidden
        self._generation_row = w.HBox([self.generation_bar, self.generation_count],
                                      layout=w.Layout(align_items="center", grid_gap="10px"))
        self._labelling_row = w.HBox([self.labelling_bar, self.labelling_count],
                                     layout=w.Layout(align_items="center", grid_gap="10px"))
        self.widget = w.VBox([self._generation_row, self._labelling_row, self.stats])
        self._bar = bar
        self.generator_bars: dict[str, tuple[Any, Any]] = {}
        self._step_seconds: dict[str, float] = {}
        self.update(state)

    def _per_generator(self, state: RunState) -> None:
        """One bar per generator for a run with several (made when the run's generators change)."""
        if tuple(self.generator_bars) == state.generators:
            return
        w = require_ipywidgets()
        self.generator_bars = {name: (self._bar(f"Generator {i + 1}"), w.HTML()) for i, name in enumerate(state.generators)}
        rows = [w.HBox(list(pair), layout=w.Layout(align_items="center", grid_gap="10px"))
                for pair in self.generator_bars.values()]
        self.widget.children = (self._generation_row, *rows, self._labelling_row, self.stats)

    def reset(self, state: RunState) -> None:
        """Show a new run from zero."""
        for bar_widget in (self.generation_bar, self.labelling_bar):
            bar_widget.bar_style = ""
            bar_widget.value = 0
            bar_widget.max = max(state.total_rows, 1)
        self._step_seconds = {}
        self.generator_bars = {}
        self.widget.children = (self._generation_row, self._labelling_row, self.stats)
        self.update(state)

    def update(self, state: RunState, elapsed: float | None = None) -> None:
        """Show ``state``; ``elapsed`` is the live time since the start."""
        for step, bar_widget, count_widget, done, failures in (
            ("generated", self.generation_bar, self.generation_count, state.generated, state.generation_failures),
            ("labelled", self.labelling_bar, self.labelling_count, state.labelled, state.labelling_failures),
        ):
            if state.total_rows and done >= state.total_rows and step not in self._step_seconds:
                # the step is over: its clock stops here, while the next step may go on
                self._step_seconds[step] = state.elapsed if elapsed is None else max(state.elapsed, elapsed)
            bar_widget.max = max(state.total_rows, 1)
            bar_widget.value = min(done, bar_widget.max)
            bar_widget.bar_style = step_style(state, done, failures)
            count_widget.value = panel_html.count(done, state.total_rows, failures, self._step_seconds.get(step))
        self._per_generator(state)
        for name, (bar_widget, count_widget) in self.generator_bars.items():
            done, failures = state.generated_by.get(name, 0), state.generation_failures_by.get(name, 0)
            bar_widget.max = max(state.total_rows, 1)
            bar_widget.value = min(done, bar_widget.max)
            bar_widget.bar_style = step_style(state, done, failures)
            count_widget.value = panel_html.generator_count(name, done, state.total_rows, failures)
        self._generation_row.layout.display = "" if state.has_generator and not state.generators else "none"
        self._labelling_row.layout.display = "" if state.has_labeller else "none"
        self.stats.value = panel_html.stats(ProgressFacts.of(state, elapsed).items(over=state.is_over))

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)


def follow(run: Run, on_tick: Callable[[RunState, float], None], on_over: Callable[[RunState], None] | None = None,
           interval: float = REFRESH_SECONDS) -> threading.Thread:
    """Call ``on_tick(state, elapsed)`` every ``interval`` s while ``run`` goes on, then ``on_over(state)``.

    Runs in a daemon thread and returns it. An exception in ``on_tick`` is ignored (the
    next tick shows the state again); ``on_over`` always runs, so a view that fails once
    cannot leave a panel stuck in "running".
    """
    started = time.monotonic() - run.state.elapsed

    def loop() -> None:
        try:
            while True:
                over = run.join(timeout=interval)
                state = run.state
                try:
                    on_tick(state, time.monotonic() - started)
                except Exception:
                    pass
                if over:
                    break
        finally:
            if on_over is not None:
                on_over(run.state)

    thread = threading.Thread(target=loop, name="distilabel-nb-progress", daemon=True)
    thread.start()
    return thread
