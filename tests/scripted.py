"""The scripted fake LLM for pipeline logic, importable by any test module (``from scripted import ScriptedLLM``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from distilabel_nb.llms.base import LLM, Completion
from distilabel_nb.prompt import FormattedPrompt


class ScriptedLLM(LLM):
    """A fake backend for pipeline logic: answers come from a function or a queue.

    ``history`` records every prompt sent; ``max_in_flight`` the most calls at once.
    """

    backend = "scripted"

    def __init__(self, task, respond: Callable[[FormattedPrompt, int], str] | None = None, *, delay: Callable[[FormattedPrompt], float] | float = 0.0, name: str = "scripted", **kwargs: Any):
        super().__init__(task, **kwargs)
        self.respond = respond or (lambda prompt, i: f"answer {i}")
        self.delay = delay
        self.name = name
        self.history: list[FormattedPrompt] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.call_log: list[tuple[str, float]] = []

    @property
    def model_name(self) -> str:
        return self.name

    @property
    def model_identity(self):
        return {"model": self.name, "responder": id(self.respond)}

    async def _complete(self, prompt: FormattedPrompt, num_generations: int, schema=None) -> list[Completion]:
        self.history.append(prompt)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.call_log.append(("start", time.monotonic()))
        try:
            delay = self.delay(prompt) if callable(self.delay) else self.delay
            await asyncio.sleep(delay)
            return [Completion(self.respond(prompt, i), {"prompt_tokens": 3, "completion_tokens": 2}) for i in range(num_generations)]
        finally:
            self.in_flight -= 1
            self.call_log.append(("end", time.monotonic()))
