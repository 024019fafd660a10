"""Run a pipeline on a Dask cluster: partitions on the workers, progress in the notebook.

``pipeline.generate(ddf)`` with a ``dask.dataframe.DataFrame`` (or any dataset with
``client=``) runs on Dask: each partition is one Dask task which, on its worker, runs
through the same streaming pipeline as a local run, so the columns, the row order and the
errors are those of a local run. The executor lives in
:mod:`distilabel_nb.executors.dask` (the notebook side) and
:mod:`distilabel_nb.executors.dask_worker` (the worker side); this module holds the names
a user reaches for. The guide: ``docs/distributed.md``.

Example:
    >>> from dask.distributed import Client                         # doctest: +SKIP
    >>> import dask.dataframe as dd                                  # doctest: +SKIP
    >>> client = Client(n_workers=2, threads_per_worker=1)           # doctest: +SKIP
    >>> ddf = dd.from_pandas(df, npartitions=8)                      # doctest: +SKIP
    >>> result = pipe.generate(ddf)               # a dask DataFrame  # doctest: +SKIP
    >>> df = pipe.generate(ddf, as_pandas=True)   # or pandas         # doctest: +SKIP
    >>> client.run(worker_report)                 # what each worker holds  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distilabel_nb.executors.dask import CURRENT_CLIENT, INSTALL_HINT, DaskRun, is_dask_dataframe
from distilabel_nb.executors.dask_worker import (
    KEEP_PIPELINES,
    PROGRESS_TOPIC,
    REPORT_SECONDS,
    STOP_CHECK_SECONDS,
    process_partition,
    worker_report,
)

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from dask.distributed import Client

    from distilabel_nb.pipeline import Pipeline

__all__ = [
    "INSTALL_HINT", "KEEP_PIPELINES", "PROGRESS_TOPIC", "REPORT_SECONDS", "STOP_CHECK_SECONDS",
    "DaskRun", "generate", "is_dask_dataframe", "process_partition", "start", "worker_report",
]


def start(pipe: Pipeline, dataset: Any, *args: Any, client: "Client | None" = None, **kwargs: Any) -> DaskRun:
    """``pipe.start(dataset, ...)`` on Dask: on ``client``, or the current client.

    Takes the arguments of :meth:`~distilabel_nb.pipeline.Pipeline.start`.
    """
    return pipe.start(dataset, *args, client=CURRENT_CLIENT if client is None else client, **kwargs)  # type: ignore[return-value]


def generate(pipe: Pipeline, dataset: Any, *args: Any, client: "Client | None" = None,
             **kwargs: Any) -> "pd.DataFrame | dd.DataFrame":
    """``pipe.generate(dataset, ...)`` on Dask: on ``client``, or the current client.

    Takes the arguments of :meth:`~distilabel_nb.pipeline.Pipeline.generate`; a pandas
    DataFrame, list of dicts or ``datasets.Dataset`` is split into ``npartitions``.

    Returns:
        A dask DataFrame for a dask DataFrame (pandas with ``as_pandas=True``), else
        pandas: the same columns, index and row order as a local run.
    """
    return pipe.generate(dataset, *args, client=CURRENT_CLIENT if client is None else client, **kwargs)
