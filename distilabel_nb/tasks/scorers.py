"""Quality and complexity scorers: one score per item, the items compared with each other.

After Liu et al., "Deita" (2023), which picks instruction-tuning data by scoring the
complexity of instructions and the quality of responses. The scorer sees all items of
a row at once and scores them relative to each other, one line per item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from distilabel_nb.schema import Scale
from distilabel_nb.tasks.labeller import GenerationsLabeller
from distilabel_nb.tasks.parsing import NUMBER, clean, labelled_number, labelled_numbers, leading_number, numbered_blocks, to_number

_NUMBERED_LINE = re.compile(
    rf"^[ \t]*(\d+)[ \t]*[.):][ \t]*(?:score[ \t]*(?:[:=\-][ \t]*)?)?({NUMBER})(?:[ \t]*/[ \t]*\d+)?[ \t]*\.?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass
class _ListScorer(GenerationsLabeller):
    """Score every item of ``texts_input`` from 1 to ``max_score``, one line each."""

    system_prompt: str = ""
    max_score: int = 5

    heading_words: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.max_score, int) or self.max_score < 2:
            raise ValueError(f"max_score must be a whole number >= 2, got {self.max_score!r}")

    @property
    def scale(self) -> Scale:
        """Whole numbers from 1 to ``max_score``, as the prompt asks."""
        return Scale(1, self.max_score)

    def _scores(self, text: str, count: int | None) -> dict[int, float | None]:
        blocks = numbered_blocks(text, self.heading_words)
        if blocks:
            found = {}
            for number, block in blocks.items():
                value = labelled_number(block, ("score",))
                found[number] = value if value is not None else leading_number(block)
            return found
        lines = {int(m.group(1)): to_number(m.group(2)) for m in _NUMBERED_LINE.finditer(text)}
        if lines:
            return lines
        return {i + 1: value for i, (_, value) in enumerate(labelled_numbers(text, ("score",)))}

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, list]:
        """Read one score per item.

        Raises:
            OutputParseError: naming each item without a score, or out of range.
        """
        found = self._scores(clean(text), num_texts)
        count = num_texts if num_texts is not None else max(found, default=0)
        problems: list[str] = []
        scores: list[int | float | None] = []
        for number in range(1, count + 1):
            where = f"{self.item_name} {number}"
            value = found.get(number)
            if value is None:
                problems.append(f"{where}: no score found")
            scores.append(self.scale.read(value, where, problems))
        return self.finish({self.output_args_names[0]: scores}, problems, count)


@dataclass
class QualityScorerTask(_ListScorer):
    """Score the quality of each of the ``generations`` for the ``input`` question.

    Outputs ``quality_score``: a list aligned with ``generations``, whole numbers from 1 to ``max_score``.

    Args:
        max_score: The top score, kept for responses that cannot be improved.

    Example:
        >>> QualityScorerTask().parse_output("[Response 1] Score: 4\\n[Response 2] Score: 2", num_texts=2)
        {'quality_score': [4, 2]}
    """

    system_prompt: str = "You compare answers written by AI assistants and score their quality."

    template_name: ClassVar[str] = "quality_scorer.jinja2"
    output_args_names: ClassVar[list[str]] = ["quality_score"]
    score_column: ClassVar[str] = "quality_score"
    item_name: ClassVar[str] = "response"
    heading_words: ClassVar[tuple[str, ...]] = ("response", "answer", "text")


@dataclass
class ComplexityScorerTask(_ListScorer):
    """Score how complex each of the ``instructions`` is.

    Outputs ``complexity_score``: a list aligned with ``instructions``, whole numbers from 1 to ``max_score``.
    Pairs with :class:`~distilabel_nb.tasks.EvolInstructTask`, whose ``instructions``
    column lists a row's evolutions.

    Args:
        max_score: The score of the most complex instructions.

    Example:
        >>> ComplexityScorerTask().parse_output("[1] Score: 2\\n[2] Score: 5", num_texts=2)
        {'complexity_score': [2, 5]}
    """

    system_prompt: str = "You judge how difficult and complex instructions are to carry out."

    template_name: ClassVar[str] = "complexity_scorer.jinja2"
    input_args_names: ClassVar[list[str]] = ["instructions"]
    texts_input: ClassVar[str] = "instructions"
    output_args_names: ClassVar[list[str]] = ["complexity_score"]
    score_column: ClassVar[str] = "complexity_score"
    item_name: ClassVar[str] = "instruction"
    heading_words: ClassVar[tuple[str, ...]] = ("instruction", "question", "prompt")
