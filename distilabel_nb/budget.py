"""A run's meter: each call timed and priced, and a budget that sends no call that could go over it.

``generate(…, max_cost=…, max_tokens=…)`` gives a run a budget. Before a call is sent,
the meter reserves what it could use at most: its prompt's tokens (estimated from the
prompt's length at the most tokens per character seen in the run, at least one token per
:data:`CHARS_PER_TOKEN` characters, and :data:`MESSAGE_TOKENS` for each message's
framing) plus ``max_new_tokens`` for each answer, priced at the LLM's price. A call is
sent only when what was spent, plus the reservations of the calls in flight, plus its own
stays within the budget (a call answered without the server reporting its usage counts
as its reservation). Calls in flight finish; once one call
is refused, every later one is too (the run ends the same way each time), and its row
gets :data:`BUDGET_ERROR` as its error rather than an exception. The answers that were
paid for are cached: a later run with a larger budget takes them from the cache and
sends only the rest.

On Dask every partition has its own meter, and the run's budget is a :class:`Pool` they
share: a meter may spend what it took from the pool, takes more when a call does not fit
(a block at a time, so the pool is asked a few times per partition), and gives back what
it did not spend at its end (:meth:`Meter.give_back`).

Example:
    >>> meter = Meter(max_cost=0.5)
    >>> meter.limits()
    'max_cost=$0.5'
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from distilabel_nb.errors import InvalidArgument
from distilabel_nb.pricing import FREE, price_of

if TYPE_CHECKING:
    from distilabel_nb.llms.base import LLM, LLMOutput, PreparedCall
    from distilabel_nb.pricing import PriceInfo

#: The fewest characters a token is taken to cover when a prompt's tokens are reserved.
CHARS_PER_TOKEN = 3
#: Tokens reserved for each chat message's framing (role, separators), and once for the reply's.
MESSAGE_TOKENS = 8
BUDGET_ERROR = "not sent: the run's budget ({limits}) would be exceeded by this call; run again with a larger budget to go on (the answers paid for are cached)"


def _prompt_chars(call: PreparedCall) -> int:
    prompt = call.prompt_used
    if isinstance(prompt, str):
        return len(prompt)
    return sum(len(str(message.get("content", ""))) for message in prompt or [])


@dataclass
class _Reservation:
    tokens: int
    cost: float


class Pool(Protocol):
    """A budget several meters share (a Dask run's; :mod:`distilabel_nb.executors.dask_budget`)."""

    def take(self, cost: float, tokens: int) -> tuple[float, int] | None:
        """At least ``cost`` dollars and ``tokens`` tokens more for one meter, or ``None`` when the pool has not that much left."""

    def give_back(self, cost: float, tokens: int) -> None:
        """What a meter took and did not spend."""


class Meter:
    """Times, prices and (with a budget) gates a run's calls; one per run.

    Args:
        max_cost: Most dollars the run may spend, or ``None``.
        max_tokens: Most tokens (prompt + completion) the run's calls may use, or ``None``.
        pool: The run's budget shared with other meters (a Dask run's partitions): this
            meter spends only what it takes from it.

    The limits are checked by :class:`~distilabel_nb.executors.base.RunOptions`.
    """

    def __init__(self, max_cost: float | None = None, max_tokens: int | None = None, pool: Pool | None = None):
        self.max_cost, self.max_tokens, self.pool = max_cost, max_tokens, pool
        # What this meter may spend: the budget, or what it took from the pool so far.
        self._cap_cost = 0.0 if pool is not None and max_cost is not None else max_cost
        self._cap_tokens = 0 if pool is not None and max_tokens is not None else max_tokens
        self._lock = threading.Lock()
        self._gates: dict[int, asyncio.Semaphore] = {}
        self._prices: dict[int, PriceInfo] = {}
        self.spent_cost = 0.0
        self.spent_tokens = 0
        self._reserved_cost = 0.0
        self._reserved_tokens = 0
        self._tokens_per_char: dict[int, float] = {}  # by LLM: the most prompt tokens per character seen
        self.refused = 0
        self.closed = False

    @property
    def limited(self) -> bool:
        return self.max_cost is not None or self.max_tokens is not None

    def limits(self) -> str:
        """The budget as text, e.g. ``'max_cost=$0.5, max_tokens=10,000'``."""
        parts = ([f"max_cost=${self.max_cost:g}"] if self.max_cost is not None else []) + (
            [f"max_tokens={self.max_tokens:,}"] if self.max_tokens is not None else [])
        return ", ".join(parts) or "no budget"

    def price(self, llm: LLM) -> PriceInfo:
        """The LLM's price, looked up once per run."""
        info = self._prices.get(id(llm))
        if info is None:
            info = self._prices[id(llm)] = price_of(llm)
        return info

    def check(self, llms: list[LLM]) -> list[str]:
        """Look up the LLMs' prices (here, not on the run's event loop); raise when ``max_cost`` needs one that is unknown.

        Returns:
            What the run should say about its budget: a ``max_cost`` that cannot stop it,
            every LLM being priced at 0 (a local model, or a server on this machine).
        """
        infos = [(llm, self.price(llm)) for llm in llms]
        for llm, info in infos:
            if self.max_cost is not None and not info.known:
                raise InvalidArgument(f"max_cost= needs the price of {llm.model_name!r}, which is unknown: {info.source} "
                                      "(dollars per million tokens), or keep a budget in tokens with max_tokens=")
        if self.max_cost is None or not infos or any(info.price != FREE for _, info in infos):
            return []
        names = ", ".join(f"{llm.model_name!r} ({info.source})" for llm, info in infos)
        return [f"max_cost=${self.max_cost:g} cannot stop this run: every LLM is priced at $0: {names}. If a server "
                "forwards to a paid API, pass its price={'input': …, 'output': …}; or keep a budget in tokens with max_tokens="]

    def _reserve(self, llm: LLM, call: PreparedCall) -> _Reservation | tuple[float, int] | None:
        """The call's reservation; ``None`` once refused; with a pool, what more it needs when it does not fit."""
        missing = sum(answer is None for answer in call.answers)
        ratio = self._tokens_per_char.get(id(llm), 1 / CHARS_PER_TOKEN)
        messages = len(call.prompt_used) if isinstance(call.prompt_used, list) else 0
        prompt = int(_prompt_chars(call) * ratio) + MESSAGE_TOKENS * (messages + 1)
        completion = llm.params.max_new_tokens * missing
        tokens, info = prompt + completion, self.price(llm)
        cost = info.price.cost(prompt, completion) if info.price is not None else 0.0
        with self._lock:
            if self.closed:
                return None
            short_cost = 0.0 if self._cap_cost is None else self.spent_cost + self._reserved_cost + cost - self._cap_cost
            short_tokens = 0 if self._cap_tokens is None else self.spent_tokens + self._reserved_tokens + tokens - self._cap_tokens
            if short_cost > 0 or short_tokens > 0:
                if self.pool is not None:
                    return max(0.0, short_cost), max(0, short_tokens)
                self.closed = True
                return None
            self._reserved_cost += cost
            self._reserved_tokens += tokens
        return _Reservation(tokens, cost)

    async def _reserve_within(self, llm: LLM, call: PreparedCall) -> _Reservation | None:
        """The call's reservation, taking more from the pool (off the event loop) while it does not fit."""
        reserved = self._reserve(llm, call)
        while isinstance(reserved, tuple):
            assert self.pool is not None
            granted = await asyncio.to_thread(self.pool.take, *reserved)
            with self._lock:
                if granted is None:
                    self.closed = True
                    return None
                if self._cap_cost is not None:
                    self._cap_cost += granted[0]
                if self._cap_tokens is not None:
                    self._cap_tokens += granted[1]
            reserved = self._reserve(llm, call)
        return reserved

    def give_back(self) -> None:
        """At the end of the run: what was taken from the pool and not spent goes back to it."""
        if self.pool is None:
            return
        with self._lock:
            cost = 0.0 if self._cap_cost is None else max(0.0, self._cap_cost - self.spent_cost - self._reserved_cost)
            tokens = 0 if self._cap_tokens is None else max(0, self._cap_tokens - self.spent_tokens - self._reserved_tokens)
            self._cap_cost = None if self._cap_cost is None else self._cap_cost - cost
            self._cap_tokens = None if self._cap_tokens is None else self._cap_tokens - tokens
        if cost or tokens:
            self.pool.give_back(cost, tokens)

    def _settle(self, reservation: _Reservation | None, call: PreparedCall, outputs: list[LLMOutput], llm: LLM) -> None:
        fresh = [o for o in outputs if not o.cached]
        prompt = sum(int(o.usage.get("prompt_tokens", 0) or 0) for o in fresh)
        completion = sum(int(o.usage.get("completion_tokens", 0) or 0) for o in fresh)
        cost, tokens = self.price(llm).cost(prompt, completion) or 0.0, prompt + completion
        if reservation is not None and not prompt and any(o.raw_output is not None for o in fresh):
            cost, tokens = reservation.cost, reservation.tokens  # answered without its usage: counted at the most it could be
        chars = _prompt_chars(call)
        with self._lock:
            if reservation is not None:
                self._reserved_cost -= reservation.cost
                self._reserved_tokens -= reservation.tokens
            self.spent_cost += cost
            self.spent_tokens += tokens
            if chars and prompt:
                seen = self._tokens_per_char.get(id(llm), 1 / CHARS_PER_TOKEN)
                self._tokens_per_char[id(llm)] = max(seen, prompt / chars)

    def _refused(self, llm: LLM, call: PreparedCall) -> list[LLMOutput]:
        from distilabel_nb.llms.base import LLMOutput

        with self._lock:
            self.refused += 1
        message = BUDGET_ERROR.format(limits=self.limits())
        return [LLMOutput(llm.model_name, call.prompt_used, None, None, error=message, error_kind="budget")
                for _ in call.answers]

    async def complete(self, llm: LLM, call: PreparedCall) -> tuple[list[LLMOutput], float]:
        """``llm.acomplete(call)`` timed from when it is sent, within the budget: the outputs and the wall seconds.

        A call the cache answers takes no time and no budget. The meter's own gate holds
        the calls to ``llm.max_concurrency``, so that the time is the call's, not its wait.
        """
        if call.answered:
            return await llm.acomplete(call), 0.0
        gate = self._gates.get(id(llm))
        if gate is None:
            gate = self._gates[id(llm)] = asyncio.Semaphore(llm.max_concurrency)
        async with gate:
            reservation = await self._reserve_within(llm, call) if self.limited else None
            if self.limited and reservation is None:
                return self._refused(llm, call), 0.0
            start = time.monotonic()
            try:
                outputs = await llm.acomplete(call)
            except BaseException:
                self._settle(reservation, call, [], llm)
                raise
            latency = time.monotonic() - start
            self._settle(reservation, call, outputs, llm)
        return outputs, latency
