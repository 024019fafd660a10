"""The budget of a Dask run: a pool on the scheduler that every partition's meter takes from.

``generate(ddf, max_cost=…, max_tokens=…)`` puts the run's budget in a
``distributed.Variable`` named for the run, guarded by a ``distributed.Lock`` of the same
name, both held by the scheduler. A partition's :class:`~distilabel_nb.budget.Meter` sends
a call only when the call's reservation fits in what the meter took from the pool; when it
does not, the meter takes a block (:data:`BLOCKS_PER_PARTITION` blocks make a partition's
even share; at least what the call needs), and when the pool has not that much left, the
call and every later one of that partition are refused. A partition gives back what it
took and did not spend when it ends.

So the calls of the whole run never go over the budget, whatever the workers do: what a
lost worker took is never given back (spent, as far as the pool knows), and its partition's
retry takes from what is left. The price is a few round trips to the scheduler per
partition, and a run that may stop a little short of the budget: a partition refused
while another still holds an unspent block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dask.distributed import Client

#: Blocks that make a partition's even share of the budget: a partition takes a block at a time.
BLOCKS_PER_PARTITION = 4


@dataclass(frozen=True)
class DaskBudget:
    """A Dask run's budget pool, by name: opened in the notebook, taken from on the workers (:meth:`on`).

    Attributes:
        name: The scheduler's ``Variable`` and ``Lock`` that hold it.
        block_cost: The dollars a partition takes at a time (0 without ``max_cost``).
        block_tokens: The tokens a partition takes at a time (0 without ``max_tokens``).
    """

    name: str
    block_cost: float
    block_tokens: int

    @classmethod
    def open(cls, client: "Client", run_id: str, max_cost: float | None, max_tokens: int | None,
             partitions: int) -> "DaskBudget":
        """Put the run's budget on the scheduler."""
        from dask.distributed import Variable

        name = f"distilabel-nb-budget-{run_id}"
        Variable(name, client=client).set({"cost": float(max_cost or 0.0), "tokens": int(max_tokens or 0)})
        blocks = BLOCKS_PER_PARTITION * max(1, partitions)
        return cls(name, float(max_cost or 0.0) / blocks, int(max_tokens or 0) // blocks)

    def close(self, client: "Client") -> None:
        """Take the pool off the scheduler (the run is over)."""
        from dask.distributed import Variable

        Variable(self.name, client=client).delete()

    def on(self, client: "Client") -> "_Taker":
        """The pool as one partition's meter takes from it, through the worker's ``client``."""
        return _Taker(self, client)


class _Taker:
    """One partition's side of the pool (a :class:`~distilabel_nb.budget.Pool`); called off the event loop."""

    def __init__(self, budget: DaskBudget, client: "Client"):
        from dask.distributed import Lock, Variable

        self.budget = budget
        self.lock = Lock(budget.name)  # made on the task's thread: it finds the worker's scheduler there
        self.left = Variable(budget.name, client=client)

    def take(self, cost: float, tokens: int) -> tuple[float, int] | None:
        with self.lock:
            left = self.left.get()
            if left["cost"] < cost or left["tokens"] < tokens:
                return None
            granted = (min(left["cost"], max(cost, self.budget.block_cost)),
                       min(left["tokens"], max(tokens, self.budget.block_tokens)))
            self.left.set({"cost": left["cost"] - granted[0], "tokens": left["tokens"] - granted[1]})
        return granted

    def give_back(self, cost: float, tokens: int) -> None:
        with self.lock:
            left = self.left.get()
            self.left.set({"cost": left["cost"] + cost, "tokens": left["tokens"] + tokens})
