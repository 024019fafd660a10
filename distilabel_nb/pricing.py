"""What a model's tokens cost: a price given on the LLM, a local model's zero, or the ``genai-prices`` tables.

A price is in dollars per million tokens, one for the prompt (``input``) and one for the
answer (``output``). Where it comes from, in order:

1. ``price={"input": …, "output": …}`` on the LLM (a generation parameter, so
   ``llm.replace(price=…)`` works too);
2. a local model: a GGUF file through llama.cpp, or a server on this machine
   (``localhost``, ``127.0.0.1``), costs 0;
3. a hosted model named without a price: the ``genai-prices`` library's tables;
4. otherwise the price is unknown, and every cost figure says so (``None``, ``NaN`` in a
   column) rather than guess.

Example:
    >>> Price(input=0.15, output=0.6).cost(1_000, 500)
    0.00045
    >>> PriceInfo(None, "unknown").cost(1_000, 500) is None
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from distilabel_nb.llms.base import LLM

PER_TOKENS = 1_000_000
#: Backends that run a model on this machine.
LOCAL_BACKENDS = frozenset({"llama.cpp"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


class Price(BaseModel):
    """Dollars per million tokens: ``input`` for the prompt, ``output`` for the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, allow_inf_nan=False, strict=True, description="dollars per million prompt tokens")
    output: float = Field(ge=0, allow_inf_nan=False, strict=True, description="dollars per million completion tokens")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for that many tokens."""
        return (prompt_tokens * self.input + completion_tokens * self.output) / PER_TOKENS


#: What a local model costs.
FREE = Price(input=0, output=0)


@dataclass(frozen=True)
class PriceInfo:
    """An LLM's price and where it comes from (``source``); ``price`` is ``None`` when unknown."""

    price: Price | None
    source: str

    @property
    def known(self) -> bool:
        return self.price is not None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Dollars for that many tokens, or ``None`` when the price is unknown."""
        return None if self.price is None else self.price.cost(prompt_tokens, completion_tokens)

    def __str__(self) -> str:
        if self.price is None:
            return f"unknown ({self.source})"
        return f"${self.price.input:g} / ${self.price.output:g} per M tokens in / out ({self.source})"


def price_of(llm: LLM) -> PriceInfo:
    """The price of ``llm``'s tokens: given, local (0), from ``genai-prices``, or unknown.

    Example:
        >>> price_of(OpenAILLM("gpt-4o-mini", task, price={"input": 1, "output": 2})).source  # doctest: +SKIP
        'given'
    """
    given = getattr(llm.params, "price", None)
    if given is not None:
        return PriceInfo(given, "given")
    if llm.backend in LOCAL_BACKENDS:
        return PriceInfo(FREE, "local model")
    facts = llm.facts()
    host = urlparse(facts.location).hostname if facts.where == "server" else None
    if host in LOOPBACK_HOSTS:
        return PriceInfo(FREE, "server on this machine")
    if facts.where != "server":
        return PriceInfo(None, f"no price for {llm.model_name!r} ({llm.backend}): pass price={{'input': …, 'output': …}}")
    return listed_price(llm.model_name, facts.location)


@functools.lru_cache(maxsize=256)
def listed_price(model: str, api_url: str | None = None) -> PriceInfo:
    """The ``genai-prices`` price of a hosted model (today's), found by its server's URL, else by its name alone.

    Example:
        >>> listed_price("no-such-model-anywhere").known
        False
    """
    try:
        from genai_prices import Usage, calc_price
    except ImportError:
        return PriceInfo(None, "genai-prices is not installed (pip install genai-prices), and no price= was given")
    def per_million(input_tokens: int, output_tokens: int, url: str | None) -> Any:
        return calc_price(Usage(input_tokens=input_tokens, output_tokens=output_tokens), model_ref=model, provider_api_url=url)

    for url in dict.fromkeys([api_url, None]):  # a server genai-prices does not know may serve a model it does
        try:
            per_input, per_output = per_million(PER_TOKENS, 0, url), per_million(0, PER_TOKENS, url)
        except (LookupError, ValueError):
            continue
        return PriceInfo(Price(input=float(per_input.total_price), output=float(per_output.total_price)),
                         f"genai-prices, {per_input.provider.id}")
    return PriceInfo(None, f"genai-prices does not list {model!r}: pass price={{'input': …, 'output': …}}")
