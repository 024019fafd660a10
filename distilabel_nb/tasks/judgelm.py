"""JudgeLM: score every answer from 1 to 10 on one line, then explain.

After Zhu et al., "JudgeLM" (2023): the judge sees a question and the answers of
several assistants, writes their scores first, on one line, and a single explanation
after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from distilabel_nb.schema import Scale
from distilabel_nb.tasks.labeller import GenerationsLabeller
from distilabel_nb.tasks.parsing import NUMBER, OutputParseError, clean, numbers_in, to_number

DEFAULT_SYSTEM_PROMPT = "You are a precise, impartial assistant who checks the quality of answers."

# A line that holds only scores: "8 6", "8, 6", "Scores: 8/10 6/10", "[8, 6]", "8 and 6".
_ONE = r"\d+(?:\.\d+)?(?:\s*/\s*10)?"
_SEPARATOR = r"(?:[,;|]\s*|\s+(?:(?:and|[,;|])\s+)?)"
_SCORE_LINE = re.compile(
    r"^[\s>*_#\-]*(?:(?:final\s+|overall\s+)?(?:scores?|ratings?)\s*(?:[:=\-]\s*)?)?(?:\[\s*)?"
    rf"({_ONE}(?:{_SEPARATOR}{_ONE})*)\s*(?:\]\s*)?(?:\.\s*)?$",
    re.IGNORECASE,
)


# The scores open the answer; a preamble line or two is tolerated, echoes further down are not scores.
_SCORE_LINE_WITHIN = 3
_ONLY_SCORE_LINES = re.compile(
    rf"^[^\w\n]*(?:assistant[ \t]*\d+\b[^\n]{{0,25}}?[:=\-–]|(?:score|rating)[ \t]+(?:for|of)[ \t]+assistant[ \t]*\d+\b[ \t]*(?:is[ \t]*)?[:=\-–]?)"
    rf"[ \t]*\[?{NUMBER}(?:[ \t]*/[ \t]*10)?[^\w\n]*$\n?",
    re.IGNORECASE | re.MULTILINE,
)


def _per_assistant(text: str, number: int) -> float | None:
    """``Assistant 2: 7``, ``Assistant 2 score: 7``, ``Score for Assistant 2 - 7``."""
    patterns = (
        rf"\bassistant[ \t]*{number}\b(?:'s)?[ \t]*(?:(?:answer|overall|score|rating|is)\b[ \t]*)*[:=\-–][ \t]*(?:\[[ \t]*)?({NUMBER})",
        rf"\b(?:score|rating)[ \t]+(?:for|of)[ \t]+assistant[ \t]*{number}\b[ \t]*(?:is\b[ \t]*)?(?:[:=\-–][ \t]*)?(?:\[[ \t]*)?({NUMBER})",
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return to_number(match.group(1))
    return None


@dataclass
class JudgeLMTask(GenerationsLabeller):
    """Score each of the ``generations`` for the ``input`` question, then explain.

    Outputs ``rating`` (a list aligned with ``generations``: 1 to 10, decimals allowed,
    as in the JudgeLM paper; so the scores are ``float``) and ``rationale`` (one
    explanation for the whole row).

    Args:
        criteria: What the scores weigh, shown to the judge.

    Example:
        >>> JudgeLMTask().parse_output("8 3\\nAssistant 1 is right; assistant 2 is not.", num_texts=2)
        {'rating': [8.0, 3.0], 'rationale': 'Assistant 1 is right; assistant 2 is not.'}
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    criteria: str = "helpfulness, relevance, accuracy and level of detail"

    template_name: ClassVar[str] = "judgelm.jinja2"
    output_args_names: ClassVar[list[str]] = ["rating", "rationale"]
    score_column: ClassVar[str] = "rating"
    item_name: ClassVar[str] = "assistant"

    @property
    def scale(self) -> Scale:
        """1 to 10; the prompt does not ask for whole numbers, and judges write 7.5."""
        return Scale(1, 10, whole=False)

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, Any]:
        """Read the score line (or ``Assistant N: score`` lines) and the explanation.

        Raises:
            OutputParseError: naming missing or out-of-range scores and a missing
                explanation; ``partial`` keeps what could be read.
        """
        text = clean(text).strip()
        lines = text.split("\n")
        scores: list[float] = []
        rest = text
        opening = [i for i, line in enumerate(lines) if line.strip()][:_SCORE_LINE_WITHIN]
        for index in opening:
            line = lines[index]
            match = _SCORE_LINE.match(line)
            if match:
                scores = numbers_in(match.group(1))
                rest = "\n".join(lines[index + 1:])
                break
        count = num_texts if num_texts is not None else len(scores)
        problems: list[str] = []
        if scores and num_texts is not None and len(scores) != num_texts:
            problems.append(f"the score line has {len(scores)} score(s) for {num_texts} assistant(s)")
        if not scores or len(scores) < count:
            found = [_per_assistant(text, n) for n in range(1, count + 1)]
            if any(value is not None for value in found):
                scores, problems = found, []  # type: ignore[assignment]
                rest = _ONLY_SCORE_LINES.sub("", text)
        scale = self.scale
        ratings: list[float | None] = []
        for number in range(1, count + 1):
            value = scores[number - 1] if number - 1 < len(scores) else None
            if value is None:
                problems.append(f"assistant {number}: no score found")
            ratings.append(scale.read(value, f"assistant {number}", problems))  # type: ignore[arg-type]
        rationale = rest.strip() or None
        if rationale is None and count:
            problems.append("no explanation found after the scores")
        result = {"rating": ratings, "rationale": rationale}
        if count == 0:
            raise OutputParseError("no scores found in the answer", partial=result)
        if problems:
            raise OutputParseError("; ".join(problems), partial=result)
        return result
