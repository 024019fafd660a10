"""Text generation: answer an instruction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from distilabel_nb.tasks.base import OutputParseError, Task

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer the user's request accurately and clearly. "
    "If you do not know something, say so instead of guessing."
)


@dataclass
class TextGenerationTask(Task):
    """Answer the instruction in the ``input`` column; the answer goes to ``generations``.

    Example:
        >>> task = TextGenerationTask()
        >>> task.parse_output("  Paris.  ")
        {'generations': 'Paris.'}
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT

    kind: ClassVar[str] = "generator"
    template_name: ClassVar[str] = "text_generation.jinja2"
    input_args_names: ClassVar[list[str]] = ["input"]
    output_args_names: ClassVar[list[str]] = ["generations"]

    def parse_output(self, text: str) -> dict[str, str]:
        answer = text.strip()
        if not answer:
            raise OutputParseError("the model returned an empty answer", partial={"generations": None})
        return {"generations": answer}
