"""How a LlamaCppLLM talks to its local engine: the OpenAI backend's own request code, pointed at ``llama-server``.

:class:`EngineClient` is an :class:`~distilabel_nb.llms.openai.OpenAILLM` (same request
body, ``response_format`` json_schema handling, answer reading and error messages) with
three local differences:

- one request per answer, all of a row's answers at once, each in its own slot, the seed
  of answer ``i`` being ``seed + i`` as on the in-process path (the same seed twice would
  repeat the answer);
- a raw-text prompt with a schema sends it as llama-server's ``json_schema`` field (the
  OpenAI completions API has no ``response_format``);
- no retries and a long timeout: a local engine either answers or has died, and a death
  is reported at once (see :meth:`distilabel_nb.llms.engine.Engine.failure`).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from distilabel_nb import runtime
from distilabel_nb.llms.base import Completion
from distilabel_nb.llms.openai import OpenAILLM
from distilabel_nb.llms.params import GenerationParams
from distilabel_nb.prompt import FormattedPrompt

REQUEST_TIMEOUT = 3600.0  # seconds; a long answer of a big model on a slow CPU, not a stuck server
# (answer index, schema of a raw-text prompt) of the request being built, per asyncio task.
_ANSWER: contextvars.ContextVar[tuple[int, dict[str, Any] | None]] = contextvars.ContextVar("_ANSWER", default=(0, None))


class EngineClient(OpenAILLM):
    """The OpenAI-compatible client of one LlamaCppLLM to one running engine.

    Args:
        owner: The LlamaCppLLM whose task and parameters every request uses (read at
            each call: they may change after the client is made).
        base_url: The engine's ``/v1`` URL.
    """

    def __init__(self, owner: Any, base_url: str):
        super().__init__(owner.model_name, owner.task, base_url=base_url, max_concurrency=owner.max_concurrency,
                         timeout=REQUEST_TIMEOUT, max_retries=0, cache=False, prompt_format=owner.prompt_format)
        self.owner = owner

    def _request_kwargs(self, n: int, schema: dict[str, Any] | None = None) -> dict[str, Any]:
        kwargs = super()._request_kwargs(n, schema)
        index, raw_schema = _ANSWER.get()
        if "seed" in kwargs:
            kwargs["seed"] += index
        if raw_schema is not None and schema is None:
            kwargs["json_schema"] = raw_schema
        # A backend's own sampling parameters (top_k, min_p, …) go by llama-server's names.
        shared = GenerationParams.model_fields
        kwargs.update({k: v for k, v in self.params.model_dump().items() if k not in shared and v is not None})
        return kwargs

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema: dict[str, Any] | None = None) -> list[Completion]:
        if not runtime.in_runtime_thread():
            return await asyncio.wrap_future(runtime.submit(self._complete(prompt, num_generations, schema)))
        self.task, self.params = self.owner.task, self.owner.params
        if num_generations == 1:
            return await self._answer(prompt, 0, schema)
        # The answers of a row decode side by side, each in its own slot (and its own task, so its own _ANSWER).
        answers = [asyncio.ensure_future(self._answer(prompt, i, schema)) for i in range(num_generations)]
        try:
            return [completion for got in await asyncio.gather(*answers) for completion in got]
        except BaseException:
            for answer in answers:
                answer.cancel()
            raise

    async def _answer(self, prompt: FormattedPrompt, index: int, schema: dict[str, Any] | None) -> list[Completion]:
        token = _ANSWER.set((index, schema if isinstance(prompt, str) else None))
        try:
            return await super()._complete(prompt, 1, schema)
        finally:
            _ANSWER.reset(token)
