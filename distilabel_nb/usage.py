"""What one row's step used: tokens, dollars, wall seconds, and whether the cache answered.

Every backend reports its tokens on each answer (``LLMOutput.usage``: an OpenAI-compatible
server's ``usage``, the local engine's and llama.cpp's counts). A step's usage adds up its
answers; its cost prices the answers that were sent in this run (an answer from the cache
costs 0) with the LLM's price (:mod:`distilabel_nb.pricing`), or is ``None`` when that
price is unknown, or when a priced call came back without the server reporting its usage
(no prompt tokens: it was paid for, but how much is not known). The per-row columns are
named in :mod:`distilabel_nb.schema`.

Example:
    >>> from distilabel_nb.llms.base import LLMOutput
    >>> from distilabel_nb.pricing import Price, PriceInfo
    >>> out = LLMOutput("m", "hi", "4", {}, usage={"prompt_tokens": 1000, "completion_tokens": 500})
    >>> used = StepUsage.of([out], PriceInfo(Price(input=1, output=2), "given"), latency_s=0.5)
    >>> used.cost, used.billed_tokens, used.record("generation")["generation_cached"]
    (0.002, 1500, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from distilabel_nb import schema
from distilabel_nb.pricing import FREE

if TYPE_CHECKING:
    from distilabel_nb.llms.base import LLMOutput
    from distilabel_nb.pricing import PriceInfo


def _tokens(outputs: Sequence[LLMOutput], kind: str) -> int:
    return sum(int(o.usage.get(kind, 0) or 0) for o in outputs)


@dataclass(frozen=True)
class StepUsage:
    """One row's generation or labelling: its answers' tokens and what the run paid for them.

    Attributes:
        prompt_tokens: Prompt tokens of the step's answers (cached ones as first counted).
        completion_tokens: Completion tokens of the step's answers.
        cost: Dollars paid in this run (0 when the cache answered), ``None`` when the price is unknown.
        latency_s: Wall seconds of the step's calls (0 when the cache answered).
        cached: Whether every answer came from the cache.
        billed_prompt_tokens: Prompt tokens of the calls sent in this run.
        billed_completion_tokens: Completion tokens of the calls sent in this run.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0
    latency_s: float = 0.0
    cached: bool = False
    billed_prompt_tokens: int = 0
    billed_completion_tokens: int = 0

    @classmethod
    def of(cls, outputs: Sequence[LLMOutput], price: PriceInfo, latency_s: float = 0.0) -> "StepUsage":
        """The usage of a step's outputs, priced at ``price``."""
        fresh = [o for o in outputs if not o.cached]
        billed_prompt, billed_completion = _tokens(fresh, "prompt_tokens"), _tokens(fresh, "completion_tokens")
        sent = any(o.raw_output is not None for o in fresh)  # a failed call has no answer to pay for
        cost = price.cost(billed_prompt, billed_completion) if sent else 0.0
        if sent and not billed_prompt and price.price != FREE:
            cost = None  # answered, but the server reported no usage: a priced call's cost is not known
        return cls(_tokens(outputs, "prompt_tokens"), _tokens(outputs, "completion_tokens"), cost, latency_s,
                   bool(outputs) and not fresh, billed_prompt, billed_completion)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def billed_tokens(self) -> int:
        return self.billed_prompt_tokens + self.billed_completion_tokens

    def record(self, step: str) -> dict[str, Any]:
        """The step's usage columns (``generation_…`` or ``labelling_…``); an unknown cost is ``NaN``."""
        values = (self.prompt_tokens, self.completion_tokens, math.nan if self.cost is None else self.cost,
                  round(self.latency_s, 4), self.cached)
        names = schema.GENERATION_USAGE if step == "generation" else schema.LABELLING_USAGE
        return dict(zip(names, values))
