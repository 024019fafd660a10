"""The tqdm bars of ``generate()``: rows generated and rows labelled, with their failures.

The last bar also shows the tokens sent so far, the cost so far and the projected cost
of the whole run (the cost per finished row times the rows), when the price is known.

With several generators there is one bar per generator ("Generating · model-a"), each
counting the rows that generator has answered.

``tqdm.auto`` draws them: text in a terminal, widgets in a notebook. They read the run's
:class:`~distilabel_nb.run.RunState` a few times a second, for a local run and a Dask
run alike. A step's bar stops its clock when the step is over (the generating bar does
not keep counting while the labeller finishes), and a step that had failures ends amber
with their count (``failed=3``): in a notebook the widget's ``"warning"`` style, in a
terminal the bar's colour, never the plain green of a step where every row went through.

Example:
    >>> import sys
    >>> bars = ProgressBars(sys.stderr)                    # doctest: +SKIP
    >>> run = pipe.start(rows)                             # doctest: +SKIP
    >>> bars.follow(run); bars.close()                     # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

from distilabel_nb.cells import dollars
from distilabel_nb.run import Run, RunState

#: Seconds between two looks at the run's state.
POLL_SECONDS = 0.1
#: The colour of a text bar whose step had failures (amber: "finished with failures").
FAILURES_COLOUR = "#e06c00"
#: The style of a notebook bar whose step had failures (ipywidgets' amber).
FAILURES_STYLE = "warning"


def _bar_class() -> type:
    """A ``tqdm.auto`` bar whose clock can be stopped (tqdm is imported on first use)."""
    from tqdm.auto import tqdm

    return stoppable(tqdm)


@functools.cache
def stoppable(tqdm: type) -> type:
    """``tqdm`` (a front: ``tqdm.std.tqdm``, ``tqdm.notebook.tqdm``) with a clock that can be
    stopped and an amber end for a step that had failures."""

    class StoppableBar(tqdm):
        stopped_at: float | None = None  # the elapsed seconds shown once the step is over

        @property
        def format_dict(self) -> dict[str, Any]:
            shown = super().format_dict
            if self.stopped_at is not None:
                shown["elapsed"] = self.stopped_at
            return shown

        failed = 0  # rows of this step that failed

        def stop_clock(self) -> None:
            if self.stopped_at is None:
                self.stopped_at = super().format_dict["elapsed"]
                if self.failed:
                    self._show_failures()
                self.refresh()

        def _show_failures(self) -> None:
            container = getattr(self, "container", None)  # a notebook bar: (label, bar, text) widgets
            if container is not None:
                container.children[-2].bar_style = FAILURES_STYLE
            else:
                self.colour = FAILURES_COLOUR

        def close(self) -> None:
            super().close()  # a notebook bar turns green (or red, when the step did not end) here
            if self.failed and self.stopped_at is not None:
                self._show_failures()

    return StoppableBar


def _counts(state: RunState, counter: str) -> tuple[int, int]:
    """Rows through a bar's step, and those that failed it."""
    if counter.startswith("generated_by:"):
        name = counter.split(":", 1)[1]
        return state.generated_by.get(name, 0), state.generation_failures_by.get(name, 0)
    if counter == "generated":
        return state.generated, state.generation_failures
    return state.labelled, state.labelling_failures


def _short(warning: str) -> str:
    """A warning as a bar's postfix: its first words (the whole text comes as a Python warning)."""
    if warning.startswith("the cache"):
        return "cache not written"
    if warning.startswith("stopped calling"):
        return "backend down: rows not sent"
    return warning[:40]


def spend_postfix(state: RunState) -> dict[str, str]:
    """What the run has spent, for a bar's postfix: tokens, cost, and the projected cost while it goes.

    Example:
        >>> spend_postfix(RunState(total_rows=10, done=4, prompt_tokens=900, completion_tokens=300, cost=0.02))
        {'tokens': '1.2k', 'cost': '$0.02', 'projected': '$0.05'}
    """
    tokens = state.prompt_tokens + state.completion_tokens
    if not tokens:
        return {}
    shown = {"tokens": f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens), "cost": dollars(state.cost)}
    if state.projected_cost is not None and state.done < state.total_rows:
        shown["projected"] = dollars(state.projected_cost)
    return shown


class ProgressBars:
    """A run's bars, drawn from the first state shown; without ``show`` there are none.

    Args:
        stream: Where text bars write. Take ``sys.stderr`` before the run starts:
            llama-cpp-python swaps it for ``/dev/null`` while it loads a model on a worker
            thread, and bars that looked it up then would write nowhere for the whole run.
        show: Whether to draw the bars.
    """

    def __init__(self, stream: Any, show: bool = True):
        self.stream, self.visible = stream, show
        self.bars: dict[str, Any] = {}

    def _open(self, state: RunState) -> None:
        if not self.visible or self.bars:
            return
        bar = _bar_class()
        for name in state.generators:
            self.bars[f"generated_by:{name}"] = bar(total=state.total_rows, desc=f"Generating · {name}", unit="row",
                                                    file=self.stream)
        if state.has_generator and not state.generators:
            self.bars["generated"] = bar(total=state.total_rows, desc="Generating", unit="row", file=self.stream)
        if state.has_labeller:
            self.bars["labelled"] = bar(total=state.total_rows, desc="Labelling", unit="row", file=self.stream)

    def follow(self, run: Run) -> None:
        """Show the run's progress until it is over."""
        self.show(run.state)
        while not run.join(timeout=POLL_SECONDS):
            self.show(run.state)
        self.show(run.state)

    def show(self, state: RunState) -> None:
        """Bring the bars to ``state``; a step whose every row is through stops its clock
        (and turns amber if some of its rows failed)."""
        self._open(state)
        last = next(reversed(self.bars), None)
        for counter, bar in self.bars.items():
            done, failed = _counts(state, counter)
            postfix: dict[str, Any] = {"failed": failed} if failed else {}
            if counter == last:
                postfix.update(spend_postfix(state))
            if state.warnings:
                postfix["warning"] = _short(state.warnings[-1])
            if done != bar.n or postfix != getattr(bar, "shown_postfix", {}):
                bar.failed = failed
                if postfix:
                    bar.set_postfix(postfix, refresh=False)
                    bar.shown_postfix = postfix
                bar.update(done - bar.n)
            if done == state.total_rows:
                bar.stop_clock()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
