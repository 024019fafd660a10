"""Executors carry out a pipeline's runs: locally, or on a Dask cluster.

``executor_for`` asks each executor of :data:`EXECUTORS`, in order, whether it takes the
dataset; the local one takes whatever the others leave.
"""

from __future__ import annotations

from typing import Any

from distilabel_nb.executors.base import Executor, RunOptions
from distilabel_nb.executors.dask import DaskExecutor
from distilabel_nb.executors.local import LocalExecutor

#: The executors, in the order they are asked.
EXECUTORS: tuple[Executor, ...] = (DaskExecutor(), LocalExecutor())


def executor_for(dataset: Any, options: RunOptions) -> Executor:
    """The first executor that takes ``dataset`` with ``options``."""
    return next(executor for executor in EXECUTORS if executor.accepts(dataset, options))


__all__ = ["EXECUTORS", "DaskExecutor", "Executor", "LocalExecutor", "RunOptions", "executor_for"]
