"""Text generation: answer an instruction, optionally steered by a principle.

With ``principles_distribution`` set, each row's system prompt gets one principle
(see :mod:`distilabel_nb.tasks.principles`), so that answers differ in helpfulness,
honesty and so on — the raw material for preference data. The choice is made from
the row's text and ``seed``: re-running a cell renders the same prompts (and hits
the cache), while different rows get different principles.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Union

from distilabel_nb.prompt import Prompt
from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.parsing import OutputParseError
from distilabel_nb.tasks.principles import PRINCIPLES
from distilabel_nb.tasks.settings import unknown_value

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer the user's request accurately and clearly. "
    "If you do not know something, say so instead of guessing."
)

PrinciplesDistribution = Union[dict[str, float], Literal["balanced"], None]


@dataclass
class TextGenerationTask(Task):
    """Answer the instruction in the ``input`` column; the answer goes to ``generations``.

    Args:
        system_prompt: The system prompt.
        principles: Groups of principles by name (default: helpfulness, harmlessness,
            honesty, truthfulness, verbalized_calibration).
        principles_distribution: ``None`` adds no principle; ``"balanced"`` picks a
            group uniformly; a dict such as ``{"honesty": 0.7, "helpfulness": 0.3}``
            gives each group's weight (weights need not sum to 1).
        seed: Changes which principle each row gets.

    Example:
        >>> task = TextGenerationTask()
        >>> task.parse_output("  Paris.  ")
        {'generations': 'Paris.'}
        >>> honest = TextGenerationTask(principles_distribution={"honesty": 1.0})
        >>> honest.principle_for("Who won in 2050?") in PRINCIPLES["honesty"]
        True
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    principles: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in PRINCIPLES.items()}, repr=False)
    principles_distribution: PrinciplesDistribution = None
    seed: int = 0

    kind: ClassVar[str] = "generator"
    template_name: ClassVar[str] = "text_generation.jinja2"
    input_args_names: ClassVar[list[str]] = ["input"]
    output_args_names: ClassVar[list[str]] = ["generations"]

    def __post_init__(self) -> None:
        empty = [name for name, texts in self.principles.items() if not texts]
        if empty:
            raise ValueError(f"principle groups {empty} are empty; give each group at least one principle")
        dist = self.principles_distribution
        if dist is None or dist == "balanced":
            return
        if not isinstance(dist, dict):
            raise ValueError(f"principles_distribution must be None, 'balanced' or a dict of weights, got {dist!r}")
        for name in dist:
            if name not in self.principles:
                raise unknown_value("principle group", name, self.principles, "in principles_distribution")
        if any(not isinstance(w, (int, float)) or w < 0 for w in dist.values()) or sum(dist.values()) <= 0:
            raise ValueError(f"principles_distribution weights must be >= 0 with a positive sum, got {dist}")

    def template_variables(self) -> dict[str, Any]:
        return {}

    def principle_for(self, input: str) -> str | None:
        """The principle this task adds for the instruction ``input`` (``None`` when off)."""
        dist = self.principles_distribution
        if dist is None:
            return None
        rng = random.Random(f"{self.seed}\x00{input}")
        weights = {name: 1.0 for name in self.principles} if dist == "balanced" else dist
        groups = [name for name, weight in weights.items() if weight > 0]
        group = rng.choices(groups, weights=[weights[g] for g in groups])[0]
        return rng.choice(self.principles[group])

    def generate_prompt(self, *args: Any, **kwargs: Any) -> Prompt:
        prompt = super().generate_prompt(*args, **kwargs)
        if self.principles_distribution is None:
            return prompt
        principle = self.principle_for(self.bind_inputs(args, kwargs)["input"])
        if principle is None:
            return prompt
        system = f"{prompt.system_prompt}\n\n{principle}" if prompt.system_prompt else principle
        return Prompt(system_prompt=system, formatted_prompt=prompt.formatted_prompt)

    def parse_output(self, text: str) -> dict[str, str]:
        answer = text.strip()
        if not answer:
            raise OutputParseError("the model returned an empty answer", partial={"generations": None})
        return {"generations": answer}
