"""What every executor shares: the run's options, checked once, and the executor interface.

An executor carries out a pipeline's run: :class:`~distilabel_nb.executors.local.LocalExecutor`
on this process's event loop, :class:`~distilabel_nb.executors.dask.DaskExecutor` on a
Dask cluster. ``Pipeline.start`` and ``Pipeline.generate`` build one :class:`RunOptions`,
ask each executor in turn whether it takes the dataset, and hand the run to the first
that does; progress, waiting and interrupts are the pipeline's, the same for every one.

Example:
    >>> RunOptions(num_generations=2).batch_size is None
    True
    >>> RunOptions(num_generations=0)
    Traceback (most recent call last):
    ...
    distilabel_nb.errors.InvalidArgument: Invalid num_generations=0: pass an int >= 1 (the answers written per row)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from distilabel_nb.errors import InvalidArgument, count_argument
from distilabel_nb.shuffle import check_options

if TYPE_CHECKING:
    from distilabel_nb.pipeline import Pipeline
    from distilabel_nb.run import Run

#: The options that only a run on Dask takes.
DASK_ONLY = ("npartitions", "as_pandas")


@dataclass(frozen=True)
class RunOptions:
    """How to run a dataset through a pipeline; checked when made.

    See :meth:`~distilabel_nb.pipeline.Pipeline.generate` for what each one means.

    Raises:
        InvalidArgument: for a value that cannot work (a ``ValueError``), naming the allowed ones.
    """

    num_generations: int = 1
    batch_size: int | None = None
    skip_dry_run: bool = False
    client: Any = None
    npartitions: int | None = None
    as_pandas: bool | None = None
    max_cost: float | None = None
    max_tokens: int | None = None
    shuffle_before_labelling: bool = True
    seed: int = 0
    #: A budget shared with other runs (the partitions of a Dask run; :class:`~distilabel_nb.budget.Pool`), set by the executor.
    budget_pool: Any = None

    def __post_init__(self) -> None:
        for name, meaning in (("num_generations", "the answers written per row"),
                              ("batch_size", "the most rows in flight at once"),
                              ("npartitions", "the partitions to split the dataset into"),
                              ("max_tokens", "the tokens the run may spend")):
            object.__setattr__(self, name, count_argument(name, getattr(self, name), meaning, optional=name != "num_generations"))
        if not isinstance(self.skip_dry_run, (bool, np.bool_)):
            raise InvalidArgument(f"Invalid skip_dry_run={self.skip_dry_run!r}: pass True or False")
        if self.as_pandas is not None and not isinstance(self.as_pandas, bool):
            raise InvalidArgument(f"Invalid as_pandas={self.as_pandas!r}: pass True, False or None")
        check_options(self.shuffle_before_labelling, self.seed)
        cost = self.max_cost
        if cost is not None and (isinstance(cost, (bool, np.bool_)) or not isinstance(cost, Real)
                                 or not 0 < cost < math.inf):  # NaN too: it would never stop a run
            raise InvalidArgument(f"Invalid max_cost={cost!r}: pass a number > 0 (the dollars the run may spend), or None")

    def budget(self) -> list[str]:
        """The budget options that were given (``max_cost``, ``max_tokens``)."""
        return [name for name in ("max_cost", "max_tokens") if getattr(self, name) is not None]

    def dask_only(self) -> list[str]:
        """The Dask-only options that were given."""
        return [name for name in DASK_ONLY if getattr(self, name) is not None]


class Executor(ABC):
    """Carries out a pipeline's runs; the local one and the Dask one are its two kinds."""

    @abstractmethod
    def accepts(self, dataset: Any, options: RunOptions) -> bool:
        """Whether this executor runs ``dataset`` with ``options``."""

    @abstractmethod
    def start(self, pipe: Pipeline, dataset: Any, options: RunOptions) -> Run:
        """Check the dataset against the pipeline, start the run and return its handle.

        Raises:
            UserError: a mistake in the dataset or the options, before any model call.
        """
