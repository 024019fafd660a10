"""Run a pipeline on a Dask cluster: partitions on the workers, progress in the notebook.

``pipeline.generate(ddf)`` with a ``dask.dataframe.DataFrame`` (or any dataset with
``client=``) lands here. Each partition is one Dask task; on its worker it runs through the
same streaming pipeline as a local run, so the columns, the row order and the errors are
those of a local run. What travels to the workers is the pipeline's settings (pickled once
per run, a few KB); each worker process unpickles it once and keeps it, so a GGUF model
loads once per worker and an HTTP client is built once per worker.

Progress: every running partition reports its counters (rows generated, labelled, done,
failures, tokens) a few times a second through Dask's structured events; the notebook
adds them up into the run's :class:`~distilabel_nb.run.RunState`, which feeds the tqdm
bars and any other front.

Lost workers: every finished call is in the call cache (written before the row counts as
done), and Dask runs a lost worker's partitions again elsewhere; the retry reads the
finished calls back from the cache, so nothing finished is lost or paid twice — provided
the retrying worker can open the same cache file (see ``docs/distributed.md``).

Example:
    >>> from dask.distributed import Client                         # doctest: +SKIP
    >>> import dask.dataframe as dd                                  # doctest: +SKIP
    >>> client = Client(n_workers=2, threads_per_worker=1)           # doctest: +SKIP
    >>> ddf = dd.from_pandas(df, npartitions=8)                      # doctest: +SKIP
    >>> result = pipe.generate(ddf)               # a dask DataFrame  # doctest: +SKIP
    >>> df = pipe.generate(ddf, as_pandas=True)   # or pandas         # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.pipeline import Pipeline, _ProgressBars, dataset_records
from distilabel_nb.run import Run, RunState

if TYPE_CHECKING:
    import dask.dataframe as dd
    from dask.distributed import Client, Future

INSTALL_HINT = 'Running on Dask needs dask.distributed and dask.dataframe: pip install "distilabel_nb[dask]"'

#: Seconds between two progress reports of a running partition.
REPORT_SECONDS = 0.25
#: Seconds between two checks, on a worker, of whether the run was stopped.
STOP_CHECK_SECONDS = 1.0
#: Pipelines (with their loaded models and clients) kept per worker process.
KEEP_PIPELINES = 4
#: The Dask event topic that carries the partitions' progress reports.
PROGRESS_TOPIC = "distilabel-nb-progress"

_COUNTERS = ("started", "generated", "labelled", "done", "generation_failures", "labelling_failures", "tokens")


def is_dask_dataframe(obj: Any) -> bool:
    """Whether ``obj`` is a ``dask.dataframe.DataFrame`` (dask is imported only when ``obj`` comes from it)."""
    if not type(obj).__module__.startswith("dask."):
        return False
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame)


def _require_dask():
    try:
        import dask.dataframe as dd
        import dask.distributed as distributed
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return dd, distributed


# -- on the workers ---------------------------------------------------------------------------

_worker_pipelines: "OrderedDict[str, Pipeline]" = OrderedDict()
_worker_lock = threading.Lock()
_worker_builds = 0


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
    llms = {id(llm): llm for pipe in pipes for llm in (pipe.generator, pipe.labeller) if llm is not None}
    loaded = [llm for llm in llms.values() if isinstance(llm, LlamaCppLLM) and llm._llama is not None]
    return {"pipelines_built": builds, "pipelines_kept": len(pipes), "models_loaded": len(loaded)}


class _Reporter:
    """Sends a partition's counters to the notebook through Dask's structured events."""

    def __init__(self, run_id: str, partition: int):
        from dask.distributed import get_worker

        try:
            self.worker = get_worker()
        except ValueError:  # not on a distributed worker: nobody listens
            self.worker = None
        self.run_id, self.partition = run_id, partition
        self.last: tuple | None = None

    def send(self, state: RunState) -> None:
        counters = tuple(getattr(state, name) for name in _COUNTERS)
        if self.worker is None or counters == self.last:
            return
        self.last = counters
        report = {"run": self.run_id, "partition": self.partition, **dict(zip(_COUNTERS, counters))}
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


def process_partition(
    partition: pd.DataFrame, payload: bytes, token: str, number: int, run_id: str,
    num_generations: int, batch_size: int | None, skip_dry_run: bool, meta: pd.DataFrame,
) -> pd.DataFrame:
    """Run one partition through the pipeline on this worker (the Dask task)."""
    pipe = _worker_pipeline(token, payload)
    reporter = _Reporter(run_id, number)
    stop = _StopSignal(_stop_name(run_id))
    run = pipe.start(partition, num_generations, batch_size, skip_dry_run)
    try:
        while not run.join(REPORT_SECONDS):
            reporter.send(run.state)
            if stop.requested():
                run.cancel()
        frame = run.wait()
    finally:
        reporter.send(run.state)
    return _conform(frame, meta)


# -- in the notebook --------------------------------------------------------------------------

def _default_client(client: "Client | None") -> "Client":
    _, distributed = _require_dask()
    if client is not None:
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
        return client
    try:
        return distributed.default_client()
    except ValueError:
        raise ValueError(
            "No Dask client: start one first (from dask.distributed import Client; client = Client(...)) "
            "or pass client= to generate()"
        ) from None


def _as_dask_dataframe(dataset: Any, client: "Client", npartitions: int | None) -> tuple["dd.DataFrame", int | None]:
    """The dataset as a dask DataFrame, and its length when known without computing."""
    dd, _ = _require_dask()
    if npartitions is not None and (not isinstance(npartitions, int) or npartitions < 1):
        raise ValueError(f"Invalid npartitions={npartitions!r} (allowed: int >= 1)")
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
    added = pipe.generated_columns() + pipe.labelled_columns()
    columns = list(dict.fromkeys([*ddf.columns, *added]))
    empty = ddf._meta
    meta = pd.DataFrame(
        {c: pd.Series(dtype=object) if c in added else empty[c] for c in columns}, index=empty.index, columns=columns
    )
    return schema.attach(meta, pipe.result_schema([str(c) for c in ddf.columns]))


def _shippable(pipe: Pipeline) -> tuple[bytes, str]:
    """The pipeline's settings, pickled, and a token naming them (loaded models, clients and runs stay here)."""
    import copy

    import cloudpickle

    shipped = copy.copy(pipe)
    shipped.last_run = None
    payload = cloudpickle.dumps(shipped)
    return payload, hashlib.sha256(payload).hexdigest()[:24]


def _stop_name(run_id: str) -> str:
    return f"distilabel-nb-stop-{run_id}"


_runs: dict[str, "DaskRun"] = {}  # runs going on, by id, that progress reports are routed to
_runs_lock = threading.Lock()


def _route_report(event: tuple[float, dict[str, Any]]) -> None:
    """Client-side handler of :data:`PROGRESS_TOPIC`: hand each report to its run."""
    _, report = event
    with _runs_lock:
        run = _runs.get(report.get("run"))
    if run is not None:
        run._on_report(report)


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
    """

    def __init__(self, pipe: Pipeline, client: "Client", run_id: str, meta: pd.DataFrame,
                 divisions: tuple | None, total_rows: int):
        super().__init__(total_rows, pipe.generator is not None, pipe.labeller is not None, lambda rows: meta.iloc[:0])
        self.client = client
        self.run_id = run_id
        self.meta = meta
        self.divisions = divisions
        self.partitions: list["Future"] = []
        self._best: dict[int, dict[str, int]] = {}  # per partition: the highest counters any attempt reached
        self._best_lock = threading.Lock()
        self._gathered: dict[int, pd.DataFrame] = {}
        self.future = concurrent.futures.Future()  # resolved when every partition is done (or one failed)

    def _submit(self, tasks: list) -> None:
        with _runs_lock:
            _runs[self.run_id] = self
        self.client.subscribe_topic(PROGRESS_TOPIC, _route_report)  # idempotent: one handler per client
        self.emit("started")
        self.partitions = self.client.compute(tasks)
        threading.Thread(target=self._watch, name="distilabel-nb-dask-run", daemon=True).start()

    # -- progress from the workers (on the client's event loop) --
    def _on_report(self, report: dict[str, Any]) -> None:
        number = report["partition"]
        with self._best_lock:  # a retried partition starts again from zero: each row counts once
            before = self._best.get(number, dict.fromkeys(_COUNTERS, 0))
            after = {name: max(before[name], int(report[name])) for name in _COUNTERS}
            self._best[number] = after
        if self.state.is_over:
            return
        delta = {name: after[name] - before[name] for name in _COUNTERS}
        tokens = delta["tokens"]
        for kind, count, failures in (("row_started", delta["started"], 0),
                                      ("row_generated", delta["generated"], delta["generation_failures"]),
                                      ("row_labelled", delta["labelled"], delta["labelling_failures"]),
                                      ("row_done", delta["done"], 0)):
            for i in range(count):
                self.emit(kind, failed=i < failures, tokens=tokens)
                tokens = 0
        if tokens:  # only when a retried partition reports more tokens than rows
            with self._lock:
                self._state.tokens += tokens

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
        deadline = time.monotonic() + 3  # the last reports may trail the results by a moment
        while self.state.done < self.state.total_rows and time.monotonic() < deadline:
            time.sleep(0.02)
        self.emit("finished")
        if not self.future.done():
            self.future.set_result(None)
        self._forget()

    def _forget(self) -> None:
        with _runs_lock:
            _runs.pop(self.run_id, None)

    def _stop_workers(self) -> None:
        from dask.distributed import Event

        try:
            Event(_stop_name(self.run_id), client=self.client).set()
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

        dd, _ = _require_dask()
        with dask.config.set({"dataframe.convert-string": False}):  # lists stay lists, not their text
            return dd.from_delayed(self.partitions, meta=self.meta, divisions=self.divisions, verify_meta=False)

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


def start(
    pipe: Pipeline, dataset: Any, num_generations: int = 1, batch_size: int | None = None,
    skip_dry_run: bool = False, *, client: "Client | None" = None, npartitions: int | None = None,
) -> DaskRun:
    """Start a run on a Dask cluster and return its :class:`DaskRun` handle.

    Checks the columns and the arguments before anything is sent. See :func:`generate`.
    """
    _require_dask()
    import dask

    client = _default_client(client)
    if not isinstance(num_generations, int) or num_generations < 1:
        raise ValueError(f"Invalid num_generations={num_generations!r} (allowed: int >= 1)")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"Invalid batch_size={batch_size!r} (allowed: int >= 1, the rows in flight at once per partition)")
    ddf, total_rows = _as_dask_dataframe(dataset, client, npartitions)
    pipe.check_columns([str(c) for c in ddf.columns])
    meta = _meta(pipe, ddf)
    payload, token = _shippable(pipe)
    if total_rows is None:  # one pass over the source on the cluster, to size the bars
        total_rows = int(client.compute(ddf.map_partitions(len, meta=(None, "int64"))).result().sum())
    run_id = uuid.uuid4().hex[:12]
    tasks = [
        dask.delayed(process_partition, pure=False)(
            part, payload, token, number, run_id, num_generations, batch_size, skip_dry_run, meta,
            dask_key_name=f"distilabel-nb-partition-{run_id}-{number}",
        )
        for number, part in enumerate(ddf.to_delayed())
    ]
    run = DaskRun(pipe, client, run_id, meta, ddf.divisions if ddf.known_divisions else None, total_rows)
    pipe.last_run = run
    run._submit(tasks)
    return run


def generate(
    pipe: Pipeline, dataset: Any, num_generations: int = 1, batch_size: int | None = None,
    display_progress_bar: bool = True, skip_dry_run: bool = False, *, client: "Client | None" = None,
    npartitions: int | None = None, as_pandas: bool | None = None,
) -> "pd.DataFrame | dd.DataFrame":
    """Run ``dataset`` through ``pipe`` on a Dask cluster, one task per partition.

    Args:
        pipe: The pipeline.
        dataset: A ``dask.dataframe.DataFrame``, or a pandas DataFrame, list of dicts or
            ``datasets.Dataset`` to split into ``npartitions``.
        num_generations: Answers the generator writes per row.
        batch_size: Most rows in flight at once in each partition (default: the sum of the
            LLMs' ``max_concurrency``).
        display_progress_bar: Show tqdm bars adding up every worker's rows.
        skip_dry_run: Send every row without first checking the setup on each
            partition's first row.
        client: The ``dask.distributed.Client`` (default: the current one).
        npartitions: Partitions to split a non-Dask dataset into (default: two per worker
            thread), or to repartition a dask DataFrame into.
        as_pandas: Return pandas (default for non-Dask datasets) instead of a dask
            DataFrame whose partitions stay on the workers (default for dask DataFrames).

    Returns:
        The same columns, index and row order as a local run.

    Raises:
        ValueError: on missing columns or bad arguments, before any model call.
        DryRunError: when a partition's first row shows the setup cannot work.
        KeyboardInterrupt: when interrupted; its ``partial_result`` holds the finished
            partitions.
    """
    if as_pandas is None:
        as_pandas = not is_dask_dataframe(dataset)
    run, bars = _ProgressBars.start(
        lambda: start(pipe, dataset, num_generations, batch_size, skip_dry_run, client=client, npartitions=npartitions),
        display_progress_bar,
    )
    try:
        bars.follow(run)
        if as_pandas:
            return run.wait()
        run.future.result()
        return run.collection
    except KeyboardInterrupt as interrupt:
        run.cancel()
        interrupt.partial_result = run.dataframe()  # type: ignore[attr-defined]
        raise
    finally:
        bars.close()
