"""The worker side of a Dask run: one partition through the pipeline, with progress reports.

Each partition is one Dask task (:func:`process_partition`). On its worker it runs through
the local executor, the same streaming run as ``Pipeline.start`` in a notebook, so the
columns, the row order and the errors are those of a local run; a budget is taken from the
run's pool on the scheduler (:mod:`~distilabel_nb.executors.dask_budget`). Each worker process unpickles a pipeline's
settings once and keeps it (:data:`KEEP_PIPELINES` of them), so a GGUF model loads once
per worker and an HTTP client is built once per worker.

A running partition reports its counters through Dask's structured events
(:data:`PROGRESS_TOPIC`) every :data:`REPORT_SECONDS` — with several generators, each
one's rows answered and failed too (:func:`counters`) — and the warnings its run has
said (a cache that could not be written, a breaker that opened), and checks every
:data:`STOP_CHECK_SECONDS` whether the notebook asked to stop (a ``distributed.Event``
named by :func:`stop_event_name`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import pandas as pd

from distilabel_nb.executors.local import LocalExecutor

if TYPE_CHECKING:
    from distilabel_nb.executors.base import RunOptions
    from distilabel_nb.pipeline import Pipeline
    from distilabel_nb.run import RunState

#: Seconds between two progress reports of a running partition.
REPORT_SECONDS = 0.25
#: Seconds between two checks, on a worker, of whether the run was stopped.
STOP_CHECK_SECONDS = 1.0
#: Pipelines (with their loaded models and clients) kept per worker process.
KEEP_PIPELINES = 4
#: The Dask event topic that carries the partitions' progress reports.
PROGRESS_TOPIC = "distilabel-nb-progress"
#: The counters of a run's state that a report carries.
COUNTERS = ("started", "generated", "labelled", "done", "generation_failures", "labelling_failures", "tokens",
            "prompt_tokens", "completion_tokens")
#: How a report names one generator's counters: ``generated_by:<name>``, ``generation_failures_by:<name>``.
BY_GENERATOR = ("generated_by", "generation_failures_by")

_worker_pipelines: "OrderedDict[str, Pipeline]" = OrderedDict()
_worker_lock = threading.Lock()
_worker_builds = 0


def stop_event_name(run_id: str) -> str:
    """The name of the ``distributed.Event`` that asks a run's partitions to stop."""
    return f"distilabel-nb-stop-{run_id}"


def _worker_pipeline(token: str, payload: bytes) -> Pipeline:
    """This process's copy of the pipeline ``token`` names: unpickled once, then reused."""
    global _worker_builds
    with _worker_lock:
        pipe = _worker_pipelines.get(token)
        if pipe is None:
            import cloudpickle

            pipe = cloudpickle.loads(payload)
            _worker_pipelines[token] = pipe
            _worker_builds += 1
            while len(_worker_pipelines) > KEEP_PIPELINES:  # drop the oldest, its models with it
                _worker_pipelines.popitem(last=False)
        else:
            _worker_pipelines.move_to_end(token)
        return pipe


def worker_report() -> dict[str, Any]:
    """What this process holds: pipelines built and kept, and GGUF models loaded.

    Run it on every worker with ``client.run(worker_report)``.
    """
    from distilabel_nb.llms.llama_cpp import LlamaCppLLM

    with _worker_lock:
        pipes = list(_worker_pipelines.values())
        builds = _worker_builds
    llms = {id(llm): llm for pipe in pipes for llm in pipe.llms()}
    loaded = [llm for llm in llms.values() if isinstance(llm, LlamaCppLLM) and llm.loaded]
    return {"pipelines_built": builds, "pipelines_kept": len(pipes), "models_loaded": len(loaded)}


def counters(state: RunState) -> dict[str, int]:
    """What a report counts of ``state``: :data:`COUNTERS`, then each generator's (``generated_by:<name>`` …).

    Example:
        >>> from distilabel_nb.run import RunState
        >>> counts = counters(RunState(generators=("a", "b"), generated_by={"a": 2}, generation_failures_by={"a": 1}))
        >>> {name: n for name, n in counts.items() if ":" in name}
        {'generated_by:a': 2, 'generated_by:b': 0, 'generation_failures_by:a': 1, 'generation_failures_by:b': 0}
    """
    counts = {name: getattr(state, name) for name in COUNTERS}
    for field in BY_GENERATOR:
        by = getattr(state, field)
        counts.update({f"{field}:{name}": by.get(name, 0) for name in state.generators})
    return counts


class _Reporter:
    """Sends a partition's counters and warnings to the notebook through Dask's structured events."""

    def __init__(self, run_id: str, partition: int):
        from dask.distributed import get_worker

        try:
            self.worker = get_worker()
        except ValueError:  # not on a distributed worker: nobody listens
            self.worker = None
        self.run_id, self.partition = run_id, partition
        self.last: tuple | None = None

    def send(self, state: RunState, final: bool = False) -> None:
        """Report ``state`` if it changed; ``final``: the partition's last report, sent whatever it holds."""
        counts = counters(state)
        shown = (tuple(counts.items()), state.cost, state.warnings)
        if self.worker is None or (shown == self.last and not final):
            return
        self.last = shown
        report = {"run": self.run_id, "partition": self.partition, **counts, "cost": state.cost,
                  "warnings": list(state.warnings), "final": final}
        self.worker.log_event(PROGRESS_TOPIC, report)


class _StopSignal:
    """Whether the notebook asked to stop the run (a ``distributed.Event``, checked now and then)."""

    def __init__(self, name: str):
        self.name = name
        self.next_check = time.monotonic() + STOP_CHECK_SECONDS

    def requested(self) -> bool:
        if time.monotonic() < self.next_check:
            return False
        self.next_check = time.monotonic() + STOP_CHECK_SECONDS
        try:
            from dask.distributed import Event

            return Event(self.name).is_set()
        except Exception:  # no scheduler to ask: keep going
            return False


def _conform(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The partition's frame with the columns and dtypes that the dask DataFrame declares."""
    frame = frame.reindex(columns=meta.columns)
    for column, dtype in meta.dtypes.items():
        if frame[column].dtype != dtype:
            try:
                frame[column] = frame[column].astype(dtype)
            except (TypeError, ValueError):
                pass
    return frame


def process_partition(partition: pd.DataFrame, payload: bytes, token: str, number: int, run_id: str,
                      options: RunOptions, meta: pd.DataFrame) -> pd.DataFrame:
    """Run one partition through the pipeline on this worker (the Dask task)."""
    pipe = _worker_pipeline(token, payload)
    reporter = _Reporter(run_id, number)
    stop = _StopSignal(stop_event_name(run_id))
    if options.budget_pool is not None:  # the run's budget, taken from the scheduler through this worker's client
        from dask.distributed import get_client

        options = dataclasses.replace(options, budget_pool=options.budget_pool.on(get_client()))
    run = LocalExecutor().start(pipe, partition, options)  # what Pipeline.start runs on this machine
    try:
        while not run.join(REPORT_SECONDS):
            reporter.send(run.state)
            if stop.requested():
                run.cancel()
        frame = run.wait()
    finally:
        reporter.send(run.state, final=True)
    return _conform(frame, meta)
