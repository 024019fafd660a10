"""Self-Instruct: write new user requests for an application, from a piece of context.

After Wang et al., "Self-Instruct" (2022): a model writes instructions that seed an
instruction dataset. Here the model sees what the application does and some context
(the ``input`` column), and writes ``num_instructions`` requests, one per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.parsing import OutputParseError, clean, is_placeholder

DEFAULT_CRITERIA = [
    "Vary the verbs and the sentence structure; do not repeat yourself.",
    "Keep each request to one or two sentences that a text model can answer.",
    "Make each request self-contained: it must make sense without the others.",
    'Mix questions ("Why does x happen?") and commands ("Explain how x works.").',
]

DEFAULT_SYSTEM_PROMPT = (
    "You write realistic, varied requests that users send to AI applications. "
    "You follow the requested format exactly."
)

_ITEM = re.compile(
    r"^[ \t]*(?:\d+[ \t]*[.):]|[-*•]|(?:request|query|question|instruction|prompt)[ \t]*#?\d+[ \t]*[.):\-])[ \t]*(\S.*)$",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(r"^(?:sure|certainly|of course|okay|ok|here (?:are|is)|below (?:are|is))\b", re.IGNORECASE)


def _tidy(line: str) -> str:
    return line.strip().strip("\"'“”`").strip()


@dataclass
class SelfInstructTask(Task):
    """Write ``num_instructions`` requests for an application about the ``input`` context.

    Outputs ``instructions``: the list of requests the model wrote (at most
    ``num_instructions``, duplicates removed).

    Args:
        application_description: What the AI application does.
        num_instructions: How many requests to write.
        criteria: Guidelines the requests must follow.

    Example:
        >>> task = SelfInstructTask(num_instructions=2)
        >>> task.parse_output("Here you go:\\n1. Explain tides.\\n2. Why is the sky blue?")
        {'instructions': ['Explain tides.', 'Why is the sky blue?']}
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    application_description: str = "A general-purpose AI assistant."
    num_instructions: int = 5
    criteria: list[str] = field(default_factory=lambda: list(DEFAULT_CRITERIA))

    kind: ClassVar[str] = "generator"
    template_name: ClassVar[str] = "self_instruct.jinja2"
    input_args_names: ClassVar[list[str]] = ["input"]
    output_args_names: ClassVar[list[str]] = ["instructions"]

    def __post_init__(self) -> None:
        if not isinstance(self.num_instructions, int) or self.num_instructions < 1:
            raise ValueError(f"num_instructions must be a whole number >= 1, got {self.num_instructions!r}")

    def parse_output(self, text: str) -> dict[str, list[str]]:
        """Read the requests: numbered or bulleted lines, else every line that is not chatter.

        Raises:
            OutputParseError: when no request can be found.
        """
        lines = [line for line in clean(text).split("\n") if line.strip()]
        items = [_tidy(m.group(1)) for line in lines if (m := _ITEM.match(line))]
        if not items:
            items = [
                _tidy(line) for line in lines
                if not line.lstrip().startswith("#") and not line.rstrip().endswith(":") and not _PREAMBLE.match(line.strip())
            ]
        seen: set[str] = set()
        instructions = []
        for item in items:
            key = item.casefold()
            if item and key not in seen and not is_placeholder(item):
                seen.add(key)
                instructions.append(item)
        if not instructions:
            raise OutputParseError("no instructions found in the answer", partial={"instructions": None})
        return {"instructions": instructions[: self.num_instructions]}
