"""UltraFeedback: rate several answers to one instruction, each with a rationale.

The layout follows the UltraFeedback paper (Cui et al., 2023): the labeller sees the
instruction and every answer, and writes a rating and a rationale per answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from distilabel_nb.tasks.base import OutputParseError, Task


@dataclass(frozen=True)
class RatingLevel:
    """One step of a rating scale, shown to the labeller."""

    value: int
    label: str
    description: str


OVERALL_QUALITY = [
    RatingLevel(1, "Poor", "wrong, off-topic or unhelpful."),
    RatingLevel(2, "Weak", "partly relevant, with clear mistakes or gaps."),
    RatingLevel(3, "Fair", "relevant and mostly right, but incomplete or unclear in places."),
    RatingLevel(4, "Good", "correct, relevant and clear, with minor room to improve."),
    RatingLevel(5, "Excellent", "correct, complete, clear and exactly what was asked."),
]

DEFAULT_SYSTEM_PROMPT = "You are a careful, impartial judge of answers written by AI assistants."

_NUMBER = r"(-?\d+(?:[.,]\d+)?)"
_BLOCK_HEADING = re.compile(r"^[#*\s]*(?:output\s+for\s+)?text\s*(\d+)\b.*$", re.IGNORECASE | re.MULTILINE)
_RATING = re.compile(r"rating[*_\s]*[:=\-]?[*_\s]*" + _NUMBER, re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_RATIONALE = re.compile(r"rationale[*_\s]*[:=\-]?[*_\s]*(.*)", re.IGNORECASE | re.DOTALL)


def _read_number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass
class UltraFeedbackTask(Task):
    """Rate each of the ``generations`` for the ``input`` instruction.

    Outputs ``rating`` and ``rationale``: lists aligned with ``generations``.

    Args:
        aspect: What the ratings judge, shown as the heading.
        task_description: What the labeller is told to look for.
        ratings: The scale, lowest first.

    Example:
        >>> task = UltraFeedbackTask()
        >>> task.parse_output("#### Output for Text 1\\nRating: 4\\nRationale: Clear.")
        {'rating': [4.0], 'rationale': ['Clear.']}
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    aspect: str = "overall quality"
    task_description: str = (
        "Judge how well each text answers the instruction: is it correct, helpful, honest, "
        "and does it follow the instruction?"
    )
    ratings: list[RatingLevel] = field(default_factory=lambda: list(OVERALL_QUALITY))

    kind: ClassVar[str] = "labeller"
    template_name: ClassVar[str] = "ultrafeedback.jinja2"
    input_args_names: ClassVar[list[str]] = ["input", "generations"]
    output_args_names: ClassVar[list[str]] = ["rating", "rationale"]

    @classmethod
    def for_overall_quality(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """The default aspect: overall quality of each answer."""
        return cls(**kwargs)

    @property
    def rating_range(self) -> tuple[int, int]:
        values = [r.value for r in self.ratings]
        return min(values), max(values)

    def _blocks(self, text: str) -> dict[int, str]:
        """Split the answer at "Text N" headings; without headings, at each "Rating"."""
        headings = list(_BLOCK_HEADING.finditer(text))
        if headings:
            blocks: dict[int, str] = {}
            for i, match in enumerate(headings):
                end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
                blocks.setdefault(int(match.group(1)), text[match.end():end])
            return blocks
        starts = [m.start() for m in _RATING.finditer(text)]
        return {i + 1: text[s:(starts[i + 1] if i + 1 < len(starts) else len(text))] for i, s in enumerate(starts)}

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, list]:
        """Read one rating and rationale per text.

        Args:
            text: The labeller's answer.
            num_texts: How many texts were rated; defaults to the number of blocks found.

        Raises:
            OutputParseError: listing every text whose rating could not be read.
        """
        text = text.replace("\r\n", "\n")
        blocks = self._blocks(text)
        count = num_texts if num_texts is not None else max(blocks, default=0)
        low, high = self.rating_range
        ratings: list[float | None] = []
        rationales: list[str | None] = []
        problems: list[str] = []
        for number in range(1, count + 1):
            block = blocks.get(number, "")
            rating_match = _RATING.search(block)
            rationale_match = _RATIONALE.search(block)
            # The rationale is its first paragraph: prose after a blank line is chatter.
            rationale = _PARAGRAPH_BREAK.split(rationale_match.group(1).strip())[0].strip("* ") if rationale_match else None
            rating = _read_number(rating_match.group(1)) if rating_match else None
            if rating is None:
                problems.append(f"text {number}: no rating found")
            elif not low <= rating <= high:
                problems.append(f"text {number}: rating {rating:g} is outside {low}-{high}")
                rating = None
            ratings.append(rating)
            rationales.append(rationale or None)
        result = {"rating": ratings, "rationale": rationales}
        if count == 0:
            raise OutputParseError("no ratings found in the answer", partial=result)
        if problems:
            raise OutputParseError("; ".join(problems), partial=result)
        return result

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, list]:
        return self.parse_output(text, num_texts=len(inputs["generations"]))
