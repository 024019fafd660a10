"""UltraJudge: judge every answer area by area, as a demanding user would, then score it.

A labeller in the spirit of UltraFeedback and JudgeLM: for each answer it rates a few
areas (0 to 10, with one line of feedback each) and then gives a final score. The
areas are configurable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from distilabel_nb.schema import Scale
from distilabel_nb.tasks.labeller import GenerationsLabeller
from distilabel_nb.tasks.parsing import (
    NUMBER,
    OutputParseError,
    clean,
    first_paragraph,
    is_placeholder,
    numbered_blocks,
    numbers_in,
    to_number,
)

DEFAULT_AREAS = ["Practical accuracy", "Clarity & transparency", "Authenticity & reliability", "Compliance with intent"]

DEFAULT_SYSTEM_PROMPT = (
    "You evaluate answers written by AI assistants the way their users would. Put yourself in "
    "the place of the person who asked: does the answer solve the problem, is it right, clear "
    "and trustworthy, and does it do what was meant? Be thorough and impartial, and judge the "
    "content, not its length or position."
)


def _area_pattern(area: str) -> str:
    words = [re.escape(word) for word in re.split(r"\s+", area.strip())]
    return r"\s+".join(words).replace(r"\&", r"(?:&|and)")


@dataclass
class UltraJudgeTask(GenerationsLabeller):
    """Rate every area of each of the ``generations``, then give each a final score.

    Outputs ``rating`` (final scores, 0 to 10 with decimals allowed, so ``float``;
    aligned with ``generations``) and
    ``areas`` (aligned with ``generations``: for each answer a dict
    ``{area: {"rating": float, "rationale": str}}``).

    Args:
        areas: The areas to rate, in order.

    Example:
        >>> task = UltraJudgeTask(areas=["Accuracy", "Clarity"])
        >>> answer = "### Assistant 1\\nAccuracy - 9\\nRight.\\nClarity - 8\\nClear.\\n\\nFinal scores: 8.5"
        >>> task.parse_output(answer, num_texts=1)["rating"]
        [8.5]
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    areas: list[str] = field(default_factory=lambda: list(DEFAULT_AREAS))

    template_name: ClassVar[str] = "ultrajudge.jinja2"
    output_args_names: ClassVar[list[str]] = ["rating", "areas"]
    score_column: ClassVar[str] = "rating"
    item_name: ClassVar[str] = "assistant"

    @property
    def scale(self) -> Scale:
        """0 to 10, decimals allowed (final scores such as 8.5), for the areas and the final score."""
        return Scale(0, 10, whole=False)

    def __post_init__(self) -> None:
        if not self.areas or not all(isinstance(a, str) and a.strip() for a in self.areas):
            raise ValueError(f"areas must be a non-empty list of area names, got {self.areas!r}")

    def _final_scores(self, text: str, blocks: dict[int, str], count: int) -> list[float | None]:
        """``Final scores: 8 6`` on one line, else a ``Final score: 8`` in each block."""
        match = re.search(r"final\s+scores?[ \t]*(?:\([^)\n]*\)[ \t]*)?(?:[:=\-–][ \t]*)?([^\n]*)", text, re.IGNORECASE)
        if match and count > 1 and len(numbers_in(match.group(1))) >= count:
            return numbers_in(match.group(1))[:count]  # type: ignore[return-value]
        scores: list[float | None] = []
        for number in range(1, count + 1):
            found = re.search(rf"(?:final|overall)\s+scores?[ \t]*(?:[:=\-–][ \t]*)?({NUMBER})", blocks.get(number, ""), re.IGNORECASE)
            scores.append(to_number(found.group(1)) if found else None)
        if count == 1 and scores[0] is None and match and numbers_in(match.group(1)):
            scores = [numbers_in(match.group(1))[0]]
        return scores

    def _areas(self, block: str, where: str, problems: list[str]) -> dict[str, dict[str, Any]]:
        patterns = [_area_pattern(area) for area in self.areas]
        next_area = "|".join(patterns) + r"|final\s+scores?|overall\s+score"
        lead = r"[#*\->\d. \t]*"  # bullets, numbering, emphasis before an area name
        result: dict[str, dict[str, Any]] = {}
        for area, pattern in zip(self.areas, patterns):
            match = re.search(
                rf"(?:^|\n){lead}(?:{pattern})[ \t]*(?:\([^)\n]*\)[ \t]*)?[:=\-–][ \t]*\[?({NUMBER})(?:[ \t]*/[ \t]*10)?\]?"
                rf"[ \t]*(?:[:.\-–][ \t]*)?(.*?)(?=\n{lead}(?:{next_area})|\Z)",
                block,
                re.IGNORECASE | re.DOTALL,
            )
            if not match:
                problems.append(f"{where}: no rating for {area!r}")
                continue
            rating = self.scale.read(to_number(match.group(1)), f"{where}, {area!r}", problems)
            rationale = first_paragraph(match.group(2))
            if rationale is not None and is_placeholder(rationale):
                rationale = None
            if rationale is None:
                problems.append(f"{where}: no feedback for {area!r}")
            result[area] = {"rating": rating, "rationale": rationale}
        return result

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, Any]:
        """Read each answer's area ratings and feedback, and the final scores.

        Raises:
            OutputParseError: naming each missing area rating, feedback or final score.
        """
        text = clean(text)
        blocks = numbered_blocks(text, ("assistant", "answer", "response"))
        count = num_texts if num_texts is not None else max(blocks, default=0)
        if count == 1 and not blocks:
            blocks = {1: text}
        problems: list[str] = []
        finals = self._final_scores(text, blocks, count)
        ratings: list[float | None] = []
        areas: list[dict[str, dict[str, Any]]] = []
        for number in range(1, count + 1):
            where = f"assistant {number}"
            block = blocks.get(number)
            if block is None:
                problems.append(f"{where}: no evaluation found")
                areas.append({})
            else:
                areas.append(self._areas(block, where, problems))
            final = finals[number - 1] if number - 1 < len(finals) else None
            if final is None:
                problems.append(f"{where}: no final score found")
            ratings.append(self.scale.read(final, f"{where}, final", problems))  # type: ignore[arg-type]
        result = {"rating": ratings, "areas": areas}
        if count == 0:
            raise OutputParseError("no assistant evaluations found in the answer", partial=result)
        if problems:
            raise OutputParseError("; ".join(problems), partial=result)
        return result
