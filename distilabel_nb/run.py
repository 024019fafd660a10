"""A pipeline run as plain data: events, a state snapshot, and a handle to wait or stop.

The pipeline emits :class:`RunEvent` s; :class:`RunState` folds them into counters that
every front (tqdm bars, the panel, HTML summaries) reads. Fronts never reach into the
pipeline: they subscribe to events or read ``run.state``.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Literal

import pandas as pd

from distilabel_nb.errors import without_machinery
from distilabel_nb.rich_repr import HTMLRepr

EventKind = Literal[
    "started", "dry_run_passed", "row_started", "answers_generated", "row_generated", "row_labelled", "row_done",
    "warning", "finished", "cancelled", "failed"
]
Status = Literal["pending", "running", "finished", "cancelled", "failed"]


@dataclass(frozen=True)
class RunEvent:
    """Something that happened in a run.

    Attributes:
        kind: What happened.
        row: The input position of the row concerned, if any.
        failed: Whether that step failed for the row.
        tokens: Tokens used by that step (prompt + completion), cached answers' too.
        error: The error text, when ``failed``; the warning's text for a ``warning``.
        elapsed: Seconds since the run started.
        prompt_tokens: Prompt tokens of the step's calls sent in this run.
        completion_tokens: Completion tokens of the step's calls sent in this run.
        cost: Dollars the step's calls cost (0 from the cache), ``None`` when the price is unknown.
        source: The generator concerned (its name), for ``answers_generated``: one
            generator's answers to the row are in (a run with several generators).
    """

    kind: EventKind
    row: int | None = None
    failed: bool = False
    tokens: int = 0
    error: str | None = None
    elapsed: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    source: str | None = None


@dataclass
class RunState(HTMLRepr):
    """Counters of a run, updated from its events. Read a copy with ``run.state``.

    ``tokens`` counts every answer's tokens, cached ones too; ``prompt_tokens``,
    ``completion_tokens`` and ``cost`` (dollars) the calls sent in this run. ``cost`` is
    ``None`` once a call's price is unknown (:mod:`distilabel_nb.pricing`).

    With several generators, ``generators`` names them, and ``generated_by`` and
    ``generation_failures_by`` count each one's rows answered and failed.
    """

    total_rows: int = 0
    has_generator: bool = True
    has_labeller: bool = False
    started: int = 0
    generated: int = 0
    labelled: int = 0
    done: int = 0
    generation_failures: int = 0
    labelling_failures: int = 0
    tokens: int = 0
    status: Status = "pending"
    error: str | None = None
    elapsed: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    #: What went wrong without stopping the run (e.g. the cache could not be written), each said once.
    warnings: tuple[str, ...] = ()
    #: Rows whose generation / labelling calls were sent in this run (not all from the cache).
    paid_generated: int = 0
    paid_labelled: int = 0
    generators: tuple[str, ...] = ()
    generated_by: dict[str, int] = field(default_factory=dict)
    generation_failures_by: dict[str, int] = field(default_factory=dict)

    def apply(self, event: RunEvent) -> None:
        self.elapsed = event.elapsed
        self.tokens += event.tokens
        self.prompt_tokens += event.prompt_tokens
        self.completion_tokens += event.completion_tokens
        self.cost = None if self.cost is None or event.cost is None else self.cost + event.cost
        if event.kind == "started":
            self.status = "running"
        elif event.kind == "row_started":
            self.started += 1
        elif event.kind == "answers_generated" and event.source is not None:
            self.generated_by[event.source] = self.generated_by.get(event.source, 0) + 1
            self.generation_failures_by[event.source] = self.generation_failures_by.get(event.source, 0) + event.failed
        elif event.kind == "row_generated":
            self.generated += 1
            self.generation_failures += event.failed
            self.paid_generated += bool(event.prompt_tokens or event.completion_tokens)
        elif event.kind == "row_labelled":
            self.labelled += 1
            self.labelling_failures += event.failed
            self.paid_labelled += bool(event.prompt_tokens or event.completion_tokens)
        elif event.kind == "row_done":
            self.done += 1
        elif event.kind == "warning" and event.error:
            self.warnings += (event.error,)
        elif event.kind in ("finished", "cancelled", "failed"):
            self.status = {"finished": "finished", "cancelled": "cancelled", "failed": "failed"}[event.kind]
            self.error = event.error

    def copy(self) -> "RunState":
        """A snapshot that later events do not change."""
        return replace(self, generated_by=dict(self.generated_by), generation_failures_by=dict(self.generation_failures_by))

    @property
    def in_flight(self) -> int:
        """Rows started and not done yet."""
        return max(0, self.started - self.done)

    @property
    def failures(self) -> int:
        return self.generation_failures + self.labelling_failures

    @property
    def rows_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining_seconds(self) -> float | None:
        rate = self.rows_per_second
        return (self.total_rows - self.done) / rate if rate > 0 else None

    @property
    def projected_cost(self) -> float | None:
        """The cost of the whole run at the cost per row so far (``None`` before a row is done or without a price).

        Rows answered from the cache cost nothing: when some were, the rows still to do are
        priced at the cost per row that was paid for (a run that goes on from the cache would
        otherwise be projected at a fraction of what it will cost).
        """
        if self.cost is None or not self.done:
            return None
        paid = max(self.paid_generated, self.paid_labelled)
        if not paid and not self.cost:
            return None  # every row so far came from the cache: nothing to price the rest by yet
        if not paid or paid >= self.done:
            return self.cost / self.done * self.total_rows
        return self.cost + self.cost / paid * (self.total_rows - self.done)

    @property
    def is_over(self) -> bool:
        return self.status in ("finished", "cancelled", "failed")


class Run(HTMLRepr):
    """A handle on a pipeline run going on in the background.

    Example:
        >>> run = pipeline.start(dataset)          # doctest: +SKIP
        >>> run.state.done, run.state.total_rows   # doctest: +SKIP
        (3, 10)
        >>> df = run.wait()                        # doctest: +SKIP
    """

    def __init__(self, total_rows: int, has_generator: bool, has_labeller: bool, build_frame: Callable[[dict[int, dict]], pd.DataFrame],
                 generators: tuple[str, ...] = ()):
        self._state = RunState(total_rows=total_rows, has_generator=has_generator, has_labeller=has_labeller,
                               generators=tuple(generators))
        self._lock = threading.Lock()
        self._rows: dict[int, dict[str, Any]] = {}
        self._listeners: list[Callable[[RunEvent], None]] = []
        self._queues: list[queue.SimpleQueue] = []
        self._build_frame = build_frame
        self._started = time.monotonic()
        self._over = threading.Event()
        self._cancel_requested = threading.Event()
        self.future: concurrent.futures.Future | None = None

    # -- written by the pipeline (on the runtime thread) --
    def emit(self, kind: EventKind, row: int | None = None, *, failed: bool = False, tokens: int = 0, error: str | None = None,
             prompt_tokens: int = 0, completion_tokens: int = 0, cost: float | None = 0.0, source: str | None = None) -> RunEvent:
        event = RunEvent(kind, row, failed, tokens, error, time.monotonic() - self._started, prompt_tokens, completion_tokens, cost,
                         source)
        with self._lock:
            self._state.apply(event)
            listeners, queues = list(self._listeners), list(self._queues)
        for q in queues:
            q.put(event)
        for listener in listeners:
            listener(event)
        if self._state.is_over:
            self._over.set()
        return event

    def store_row(self, index: int, record: dict[str, Any]) -> None:
        with self._lock:
            self._rows[index] = record

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called (the run may not have stopped yet)."""
        return self._cancel_requested.is_set()

    # -- read by any front --
    @property
    def state(self) -> RunState:
        """A snapshot copy of the counters."""
        with self._lock:
            return self._state.copy()

    def subscribe(self, listener: Callable[[RunEvent], None]) -> None:
        """Call ``listener(event)`` for every later event (on the runtime thread)."""
        with self._lock:
            self._listeners.append(listener)

    def events(self, poll: float = 0.1) -> Iterator[RunEvent | None]:
        """Iterate over events from now until the run is over; yields ``None`` every ``poll`` s idle."""
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._queues.append(q)
            over = self._state.is_over
        try:
            while not over:
                try:
                    event = q.get(timeout=poll)
                except queue.Empty:
                    yield None
                    over = self.state.is_over
                    continue
                yield event
                over = event.kind in ("finished", "cancelled", "failed")
        finally:
            with self._lock:
                self._queues.remove(q)

    def dataframe(self) -> pd.DataFrame:
        """The rows finished so far, in input order (index = input position)."""
        with self._lock:
            rows = dict(self._rows)
        return self._build_frame(rows)

    def cancel(self) -> None:
        """Stop sending work; finished rows are kept."""
        self._cancel_requested.set()
        if self.future is not None:
            self.future.cancel()

    def wait(self, timeout: float | None = None) -> pd.DataFrame:
        """Block until the run is over and return its DataFrame (partial if it was stopped).

        Raises:
            TimeoutError: when the run is still going after ``timeout`` seconds.
            Exception: what stopped the run (e.g. a failed dry run), if it failed.
        """
        if not self.join(timeout):
            raise TimeoutError(f"the run is still going after {timeout}s ({self.state.done}/{self.state.total_rows} rows)")
        self.raise_failure()
        return self.dataframe()

    def result(self) -> Any:
        """What ``Pipeline.generate`` returns: :meth:`wait`'s DataFrame for a local run."""
        return self.wait()

    def raise_failure(self) -> None:
        """Raise what stopped the run, if it failed, without the frames of the threads that carried it.

        Call it once the run is over (:meth:`join`).
        """
        if self.future is None:
            return
        try:
            self.future.result()  # done or about to be: the last event is emitted just before
        except concurrent.futures.CancelledError:
            pass
        except Exception as error:
            raise without_machinery(error) from None

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the run to be over; True if it is."""
        return self._over.wait(timeout)

    def __repr__(self) -> str:
        s = self.state
        return (f"Run(status={s.status!r}, done={s.done}/{s.total_rows}, generation_failures={s.generation_failures}, "
                f"labelling_failures={s.labelling_failures}, tokens={s.tokens}, elapsed={s.elapsed:.1f}s)")
