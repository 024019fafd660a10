"""The Dask executor: a pipeline's partitions on a Dask cluster, progress in the notebook.

``pipeline.generate(ddf)`` with a ``dask.dataframe.DataFrame`` (or any dataset with
``client=``) runs here. Each partition is one Dask task, run on its worker by
:mod:`distilabel_nb.executors.dask_worker`. What travels to the workers is the pipeline's
settings, pickled once per run (a few KB).

Progress: every running partition reports its counters (rows generated, labelled, done,
failures, tokens; each generator's rows when there are several) and the warnings its run
said, a few times a second through Dask's structured events; the notebook adds them up
into the run's :class:`~distilabel_nb.run.RunState`, which feeds the tqdm bars and any
other front. A warning said by several partitions is said once (:func:`warning_key`).

Lost workers: every finished call is in the call cache (written before the row counts as
done), and Dask runs a lost worker's partitions again elsewhere; the retry reads the
finished calls back from the cache, so nothing finished is lost or paid twice — provided
the retrying worker can open the same cache file (see ``docs/distributed.md``).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.dataset import dataset_records
from distilabel_nb.errors import InvalidArgument, InvalidType, MissingDependency
from distilabel_nb.budget import Meter
from distilabel_nb.executors.base import Executor, RunOptions
from distilabel_nb.executors.dask_budget import DaskBudget
from distilabel_nb.executors.dask_worker import BY_GENERATOR, COUNTERS, PROGRESS_TOPIC, process_partition, stop_event_name
from distilabel_nb.run import Run

if TYPE_CHECKING:
    import dask.dataframe as dd
    from dask.distributed import Client, Future

    from distilabel_nb.pipeline import Pipeline

INSTALL_HINT = 'Running on Dask needs dask.distributed and dask.dataframe: pip install "distilabel_nb[dask]"'
#: ``client=`` value meaning "the current Dask client" (what ``distilabel_nb.distributed`` passes).
CURRENT_CLIENT = "current"


def is_dask_dataframe(obj: Any) -> bool:
    """Whether ``obj`` is a ``dask.dataframe.DataFrame`` (dask is imported only when ``obj`` comes from it)."""
    if not type(obj).__module__.startswith("dask."):
        return False
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame)


def require_dask():
    """The ``dask.dataframe`` and ``dask.distributed`` modules, or an error saying what to install."""
    try:
        import dask.dataframe as dd
        import dask.distributed as distributed
    except ImportError:
        raise MissingDependency(INSTALL_HINT) from None
    return dd, distributed


def _client(client: Any) -> "Client":
    _, distributed = require_dask()
    if client is not CURRENT_CLIENT and client is not None:
        if not isinstance(client, distributed.Client):
            raise InvalidType(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        return client
    try:
        return distributed.default_client()
    except ValueError:
        raise InvalidArgument(
            "No Dask client: start one first (from dask.distributed import Client; client = Client(...)) "
            "or pass client= to generate()"
        ) from None


def _as_dask_dataframe(dataset: Any, client: "Client", npartitions: int | None) -> tuple["dd.DataFrame", int | None]:
    """The dataset as a dask DataFrame, and its length when known without computing."""
    dd, _ = require_dask()
    if is_dask_dataframe(dataset):
        return (dataset if npartitions is None else dataset.repartition(npartitions=npartitions)), None
    if isinstance(dataset, pd.DataFrame):
        frame = dataset
    else:
        records, columns, _ = dataset_records(dataset)
        frame = pd.DataFrame(records, columns=columns)
    if npartitions is None:  # two partitions per worker thread: a lost worker costs little, and the load evens out
        threads = sum(client.nthreads().values()) or 1
        npartitions = 2 * threads
    import dask

    with dask.config.set({"dataframe.convert-string": False}):  # keep the dataset's own dtypes
        return dd.from_pandas(frame, npartitions=max(1, min(npartitions, len(frame))), sort=False), len(frame)


def _meta(pipe: Pipeline, ddf: "dd.DataFrame") -> pd.DataFrame:
    """The empty result: the input columns with the dask DataFrame's dtypes, then the added columns as objects."""
    added = pipe.generated_columns() + pipe.labelled_columns() + pipe.usage_columns()
    columns = list(dict.fromkeys([*ddf.columns, *added]))
    empty = ddf._meta
    meta = pd.DataFrame(
        {c: pd.Series(dtype=object) if c in added else empty[c] for c in columns}, index=empty.index, columns=columns
    )
    return schema.attach(meta, pipe.result_schema([str(c) for c in ddf.columns]))


def warning_key(text: str) -> str:
    """What a warning says without its figures: partitions that say the same thing with other counts say it once.

    Example:
        >>> warning_key("the cache c.sqlite could not be written: 12 answers are not stored")
        'the cache c.sqlite could not be written: # answers are not stored'
    """
    return re.sub(r"\d[\d,.]*", "#", text)


def _shippable(pipe: Pipeline) -> tuple[bytes, str]:
    """The pipeline's settings, pickled, and a token naming them (loaded models, clients and runs stay here)."""
    import copy

    import cloudpickle

    shipped = copy.copy(pipe)
    shipped.last_run = None
    payload = cloudpickle.dumps(shipped)
    return payload, hashlib.sha256(payload).hexdigest()[:24]


class DaskExecutor(Executor):
    """Runs a dask DataFrame, or any dataset given with ``client=``, one Dask task per partition."""

    def accepts(self, dataset: Any, options: RunOptions) -> bool:
        return options.client is not None or is_dask_dataframe(dataset)

    def start(self, pipe: Pipeline, dataset: Any, options: RunOptions) -> DaskRun:
        require_dask()
        import dask

        client = _client(options.client)
        ddf, total_rows = _as_dask_dataframe(dataset, client, options.npartitions)
        pipe.check_columns([str(c) for c in ddf.columns])
        meta = _meta(pipe, ddf)
        payload, token = _shippable(pipe)
        if total_rows is None:  # one pass over the source on the cluster, to size the bars
            total_rows = int(client.compute(ddf.map_partitions(len, meta=(None, "int64"))).result().sum())
        run_id = uuid.uuid4().hex[:12]
        budget_notes = Meter(options.max_cost, options.max_tokens).check(pipe.llms())  # an unknown price is said here
        pool = (DaskBudget.open(client, run_id, options.max_cost, options.max_tokens, ddf.npartitions)
                if options.budget() else None)
        on_worker = RunOptions(options.num_generations, options.batch_size, options.skip_dry_run,
                               max_cost=options.max_cost, max_tokens=options.max_tokens, budget_pool=pool,
                               shuffle_before_labelling=options.shuffle_before_labelling, seed=options.seed)
        tasks = [
            dask.delayed(process_partition, pure=False)(
                part, payload, token, number, run_id, on_worker, meta,
                dask_key_name=f"distilabel-nb-partition-{run_id}-{number}",
            )
            for number, part in enumerate(ddf.to_delayed())
        ]
        as_pandas = not is_dask_dataframe(dataset) if options.as_pandas is None else options.as_pandas
        run = DaskRun(pipe, client, run_id, meta, ddf.divisions if ddf.known_divisions else None, total_rows, as_pandas)
        run.budget_pool = pool
        for note in budget_notes:
            run._on_warning(note)
        run.submit(tasks)
        return run


class DaskRun(Run):
    """A pipeline run on a Dask cluster: the same handle as a local :class:`~distilabel_nb.run.Run`.

    ``state``, ``events()``, ``subscribe()``, ``join()`` and ``wait()`` behave as for a
    local run; the counters add up every partition's rows (a partition that Dask runs
    again after a lost worker is counted once). Events carry no row position. ``dataframe()``
    gathers the finished partitions into pandas, in input order; :attr:`collection` is
    the result as a dask DataFrame whose partitions stay on the workers.

    Attributes:
        client: The ``dask.distributed.Client`` the run uses.
        partitions: One ``distributed.Future`` per partition, in input order.
        meta: An empty frame with the result's columns and dtypes.
        as_pandas: Whether :meth:`result` gathers pandas rather than giving :attr:`collection`.
    """

    _going: dict[str, "DaskRun"] = {}  # runs going on, by id, that progress reports are routed to
    _going_lock = threading.Lock()

    def __init__(self, pipe: Pipeline, client: "Client", run_id: str, meta: pd.DataFrame,
                 divisions: tuple | None, total_rows: int, as_pandas: bool = True):
        several = pipe.generators is not None and pipe.generators.several
        super().__init__(total_rows, pipe.generator is not None, pipe.labeller is not None, lambda rows: meta.iloc[:0],
                         generators=pipe.generators.names if several else ())
        self.client = client
        self.run_id = run_id
        self.meta = meta
        self.divisions = divisions
        self.as_pandas = as_pandas
        self.partitions: list["Future"] = []
        self._best: dict[int, dict[str, int]] = {}  # per partition: the highest counters any attempt reached
        self._best_lock = threading.Lock()
        self._best_cost: dict[int, float] = {}  # per partition: the most dollars any attempt reported
        self._warned: dict[str, tuple[int, str, set[str]]] = {}  # by warning_key: (its place in the state, first text, texts)
        self._reported: set[int] = set()  # the partitions whose last report (at their end) is in
        self._gathered: dict[int, pd.DataFrame] = {}
        self.future = concurrent.futures.Future()  # resolved when every partition is done (or one failed)
        self.budget_pool: DaskBudget | None = None  # the run's budget on the scheduler (max_cost=, max_tokens=)

    def submit(self, tasks: list) -> None:
        """Send the partitions' tasks to the cluster and follow them."""
        with self._going_lock:
            self._going[self.run_id] = self
        self.client.subscribe_topic(PROGRESS_TOPIC, DaskRun._route_report)  # idempotent: one handler per client
        self.emit("started")
        self.partitions = self.client.compute(tasks)
        threading.Thread(target=self._watch, name="distilabel-nb-dask-run", daemon=True).start()

    # -- progress from the workers (on the client's event loop) --
    @classmethod
    def _route_report(cls, event: tuple[float, dict[str, Any]]) -> None:
        """Client-side handler of :data:`PROGRESS_TOPIC`: hand each report to its run."""
        _, report = event
        with cls._going_lock:
            run = cls._going.get(report.get("run"))
        if run is not None:
            run._on_report(report)

    def _on_report(self, report: dict[str, Any]) -> None:
        number = report["partition"]
        names = [*COUNTERS, *(name for name in report if name.split(":", 1)[0] in BY_GENERATOR)]
        with self._best_lock:  # a retried partition starts again from zero: each row counts once
            before = self._best.get(number, {})
            after = {name: max(before.get(name, 0), int(report.get(name, 0))) for name in {*names, *before}}
            self._best[number] = after
            cost = report.get("cost", 0.0)  # dollars so far in the partition, None when a price is unknown
            cost_delta = None if cost is None else max(0.0, cost - self._best_cost.get(number, 0.0))
            self._best_cost[number] = max(self._best_cost.get(number, 0.0), cost or 0.0)
        if self.state.is_over:
            return
        if report.get("final"):
            self._reported.add(number)
        for text in report.get("warnings", ()):
            self._on_warning(text)
        delta = {name: after[name] - before.get(name, 0) for name in after}
        for source in self._state.generators:  # one generator's answers to a row are in
            failures = delta.get(f"generation_failures_by:{source}", 0)
            for i in range(delta.get(f"generated_by:{source}", 0)):
                self.emit("answers_generated", failed=i < failures, source=source)
        spend = {"tokens": delta["tokens"], "prompt_tokens": delta["prompt_tokens"],
                 "completion_tokens": delta["completion_tokens"], "cost": cost_delta}
        for kind, count, failures in (("row_started", delta["started"], 0),
                                      ("row_generated", delta["generated"], delta["generation_failures"]),
                                      ("row_labelled", delta["labelled"], delta["labelling_failures"]),
                                      ("row_done", delta["done"], 0)):
            for i in range(count):
                self.emit(kind, failed=i < failures, **spend)
                spend = {"tokens": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0}
        if spend["tokens"] or spend["cost"] != 0.0:  # a retried partition that reports more spend than rows
            with self._lock:
                self._state.tokens += spend["tokens"]
                self._state.prompt_tokens += spend["prompt_tokens"]
                self._state.completion_tokens += spend["completion_tokens"]
                cost_so_far = self._state.cost
                self._state.cost = None if cost_so_far is None or spend["cost"] is None else cost_so_far + spend["cost"]

    def _on_warning(self, text: str) -> None:
        """A partition's warning: said once for the run, however many partitions say it.

        Partitions that say it with other figures (answers not stored, say) do not say it
        again; the run's text then notes that its figures are one partition's.
        """
        key = warning_key(text)
        known = self._warned.get(key)  # reports arrive one at a time, on the client's event loop
        if known is None:
            self._warned[key] = (len(self._state.warnings), text, {text})
            self.emit("warning", error=text)
        elif text not in known[2]:
            known[2].add(text)
            place, first = known[0], known[1]
            with self._lock:
                if place < len(self._state.warnings) and self._state.warnings[place] == first:
                    said = list(self._state.warnings)
                    said[place] = f"{first} (figures from one partition; other partitions said the same with other figures)"
                    self._state.warnings = tuple(said)

    # -- the end of the run --
    def _watch(self) -> None:
        from dask.distributed import as_completed

        error: BaseException | None = None
        try:
            for future in as_completed(self.partitions):
                if future.status == "error":
                    error = future.exception()
                    break
        except Exception as exc:  # e.g. the client was closed under the run
            error = exc
        if self.state.is_over:  # cancelled meanwhile
            return self._forget()
        if error is not None:
            self._stop_workers()
            self.client.cancel(self.partitions)
            self.emit("failed", error=str(error))
            if not self.future.done():
                self.future.set_exception(error)
            return self._forget()
        deadline = time.monotonic() + 3  # the last reports (a warning at a partition's end) may trail the results
        while len(self._reported) < len(self.partitions) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.emit("finished")
        if not self.future.done():
            self.future.set_result(None)
        self._forget()

    def _forget(self) -> None:
        with self._going_lock:
            self._going.pop(self.run_id, None)
        if self.budget_pool is not None:
            try:
                self.budget_pool.close(self.client)
            except Exception:  # the cluster is gone, and the pool with it
                pass
            self.budget_pool = None

    def _stop_workers(self) -> None:
        from dask.distributed import Event

        try:
            Event(stop_event_name(self.run_id), client=self.client).set()
        except Exception:  # the cluster is gone: nothing runs there any more
            pass

    # -- read by any front --
    def dataframe(self) -> pd.DataFrame:
        """The finished partitions as one pandas DataFrame, in input order (partial while running)."""
        todo = [i for i, f in enumerate(self.partitions) if f.status == "finished" and i not in self._gathered]
        if todo:
            frames = self.client.gather([self.partitions[i] for i in todo], errors="skip")
            self._gathered.update(zip(todo, frames))
        frames = [self._gathered[i] for i in sorted(self._gathered)]
        if not frames:
            return self.meta.copy()
        return pd.concat(frames).infer_objects()  # a local run's dtypes (e.g. `str` for all-text columns)

    @property
    def collection(self) -> "dd.DataFrame":
        """The result as a dask DataFrame backed by the partitions held on the workers."""
        import dask

        dd, _ = require_dask()
        with dask.config.set({"dataframe.convert-string": False}):  # lists stay lists, not their text
            return dd.from_delayed(self.partitions, meta=self.meta, divisions=self.divisions, verify_meta=False)

    def result(self) -> "pd.DataFrame | dd.DataFrame":
        """Wait for the end; pandas if :attr:`as_pandas`, else :attr:`collection` (nothing gathered)."""
        if self.as_pandas:
            return self.wait()
        self.join()
        self.raise_failure()
        return self.collection

    def cancel(self) -> None:
        """Stop the run: no new partition starts, running ones stop within a second; finished ones are kept."""
        if self.state.is_over:
            return
        self._cancel_requested.set()
        self._stop_workers()
        self.client.cancel([f for f in self.partitions if f.status != "finished"])
        self.emit("cancelled")
        self.future.cancel()
        self._forget()
