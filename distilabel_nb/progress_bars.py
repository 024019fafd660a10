"""The tqdm bars of ``generate()``: rows generated and rows labelled, with their failures.

With several generators there is one bar per generator ("Generating · model-a"), each
counting the rows that generator has answered.

``tqdm.auto`` draws them: text in a terminal, widgets in a notebook. They read the run's
:class:`~distilabel_nb.run.RunState` a few times a second, for a local run and a Dask
run alike. A step's bar stops its clock when the step is over (the generating bar does
not keep counting while the labeller finishes).

Example:
    >>> import sys
    >>> bars = ProgressBars(sys.stderr)                    # doctest: +SKIP
    >>> run = pipe.start(rows)                             # doctest: +SKIP
    >>> bars.follow(run); bars.close()                     # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

from distilabel_nb.run import Run, RunState

#: Seconds between two looks at the run's state.
POLL_SECONDS = 0.1


@functools.cache
def _bar_class() -> type:
    """A ``tqdm.auto`` bar whose clock can be stopped (tqdm is imported on first use)."""
    from tqdm.auto import tqdm

    class StoppableBar(tqdm):
        stopped_at: float | None = None  # the elapsed seconds shown once the step is over

        @property
        def format_dict(self) -> dict[str, Any]:
            shown = super().format_dict
            if self.stopped_at is not None:
                shown["elapsed"] = self.stopped_at
            return shown

        def stop_clock(self) -> None:
            if self.stopped_at is None:
                self.stopped_at = super().format_dict["elapsed"]
                self.refresh()

    return StoppableBar


def _counts(state: RunState, counter: str) -> tuple[int, int]:
    """Rows through a bar's step, and those that failed it."""
    if counter.startswith("generated_by:"):
        name = counter.split(":", 1)[1]
        return state.generated_by.get(name, 0), state.generation_failures_by.get(name, 0)
    if counter == "generated":
        return state.generated, state.generation_failures
    return state.labelled, state.labelling_failures


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
        """Bring the bars to ``state``; a step whose every row is through stops its clock."""
        self._open(state)
        for counter, bar in self.bars.items():
            done, failed = _counts(state, counter)
            if done != bar.n:
                if failed:
                    bar.set_postfix(failed=failed, refresh=False)
                bar.update(done - bar.n)
            if done == state.total_rows:
                bar.stop_clock()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
