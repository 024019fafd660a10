"""The scripted fake LLM for pipeline logic, importable by any test module (``from scripted import ScriptedLLM``).

Also the scripted UltraFeedback judges the audit, quality and multi-generator tests share:
``by_content`` reads the texts (the careful answer 5, anything else 1), ``by_position``
echoes the places (1, 2, 3… whatever the texts say).
"""

from __future__ import annotations

import asyncio
import re
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


GOOD, BAD = "a careful, correct answer", "nonsense"


def prompt_text(prompt) -> str:
    """A prompt as one text, whether a raw string or chat messages."""
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


def texts_of(prompt) -> list[str]:
    """The answers an UltraFeedback prompt shows, in the order shown."""
    return re.findall(r"<text \d+>\n(.*?)\n</text \d+>", prompt_text(prompt), re.DOTALL)


def blocks(ratings, rationale: str = "Because it is so.") -> str:
    """An UltraFeedback answer giving ``ratings`` to the texts in the order shown."""
    return "\n".join(f"#### Output for Text {i + 1}\nRating: {r}\nRationale: {rationale}" for i, r in enumerate(ratings))


def by_content(prompt, _i) -> str:
    """A judge that reads the texts: the careful answer 5, anything else 1."""
    return blocks(5 if "careful" in text else 1 for text in texts_of(prompt))


def by_position(prompt, _i) -> str:
    """A judge that echoes the places: 1, 2, 3… whatever the texts say."""
    return blocks(range(1, len(texts_of(prompt)) + 1))
