"""Critique tasks: write a critique of each answer and score it.

:class:`CritiqueTask` is the general form (your criteria, your score range).
:class:`UltraCMTask` follows UltraCM (Cui et al., 2023), the critique model trained on
UltraFeedback: a teacher's feedback that says how to improve, after an overall score
from 1 to 10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from distilabel_nb.schema import Scale
from distilabel_nb.tasks.labeller import GenerationsLabeller
from distilabel_nb.tasks.parsing import (
    NUMBER,
    clean,
    is_placeholder,
    labelled_number,
    labelled_text,
    leading_number,
    numbered_blocks,
    to_number,
)

CRITIQUE_SYSTEM_PROMPT = "You are a demanding but fair reviewer of answers written by AI assistants."
ULTRACM_SYSTEM_PROMPT = (
    "You are a teacher. You give specific, constructive feedback on answers so that their "
    "author learns how to improve them."
)

_SCORE_LABELS = ("overall score", "score", "rating")
_CRITIQUE_LABELS = ("critique", "feedback", "review")


@dataclass
class CritiqueTask(GenerationsLabeller):
    """Critique each of the ``generations`` for the ``input`` instruction, and score it.

    Outputs ``critique`` and ``score`` (whole numbers from ``min_score`` to
    ``max_score``): lists aligned with ``generations``.

    Args:
        criteria: What the critique weighs.
        min_score: The lowest score.
        max_score: The highest score.

    Example:
        >>> CritiqueTask().parse_output("Critique: Accurate but terse.\\nScore: 7", num_texts=1)
        {'critique': ['Accurate but terse.'], 'score': [7]}
    """

    system_prompt: str = CRITIQUE_SYSTEM_PROMPT
    criteria: str = "correctness, helpfulness, honesty and how well it follows the instruction"
    min_score: int = 1
    max_score: int = 10

    template_name: ClassVar[str] = "critique.jinja2"
    output_args_names: ClassVar[list[str]] = ["critique", "score"]
    score_column: ClassVar[str] = "score"
    item_name: ClassVar[str] = "answer"

    def __post_init__(self) -> None:
        if not (isinstance(self.min_score, int) and isinstance(self.max_score, int) and self.min_score < self.max_score):
            raise ValueError(f"min_score must be a whole number below max_score, got {self.min_score} and {self.max_score}")

    @property
    def scale(self) -> Scale:
        """Whole numbers from ``min_score`` to ``max_score`` (1 to 10 by default)."""
        return Scale(self.min_score, self.max_score)

    def _blocks(self, text: str, count: int | None) -> dict[int, str]:
        blocks = numbered_blocks(text, ("answer", "response", "text"))
        if blocks:
            return blocks
        if count == 1:
            return {1: text} if text.strip() else {}
        starts = [m.start() for m in re.finditer(r"\b(?:critique|feedback|review)\b[*_\s]*:", text, re.IGNORECASE)]
        return {i + 1: text[s:(starts[i + 1] if i + 1 < len(starts) else len(text))] for i, s in enumerate(starts)}

    def _read_block(self, block: str) -> tuple[float | None, str | None]:
        score = labelled_number(block, _SCORE_LABELS)
        if score is None:
            score = leading_number(block)
        return score, labelled_text(block, _CRITIQUE_LABELS, _SCORE_LABELS)

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, list]:
        """Read a critique and a score for each answer.

        Raises:
            OutputParseError: naming each answer without a score or a critique.
        """
        text = clean(text)
        blocks = self._blocks(text, num_texts)
        count = num_texts if num_texts is not None else max(blocks, default=0)
        critiques: list[str | None] = []
        scores: list[int | float | None] = []
        problems: list[str] = []
        for number in range(1, count + 1):
            score, critique = self._read_block(blocks.get(number, ""))
            where = f"answer {number}"
            if score is None:
                problems.append(f"{where}: no score found")
            elif critique is None:
                problems.append(f"{where}: no critique found")
            scores.append(self.scale.read(score, where, problems))
            critiques.append(critique)
        return self.finish({"critique": critiques, "score": scores}, problems, count)


# "Overall score: 8/10 -" with what precedes it on its line; the feedback may follow on the same line.
_OVERALL = re.compile(rf"^[^\n]*?\b(?:overall[ \t]+)?score\b[^\n\d]{{0,12}}?({NUMBER})(?:[ \t]*/[ \t]*10)?[ \t]*[.:\-–]?", re.IGNORECASE | re.MULTILINE)


_LEADING_SCORE = re.compile(rf"[\s\]\):\-–*]*({NUMBER})(?:[ \t]*/[ \t]*10)?\b[ \t]*[.:\-–]?")


@dataclass
class UltraCMTask(CritiqueTask):
    """UltraCM's teacher feedback on each of the ``generations``: an overall score (1-10), then how to improve.

    Outputs ``critique`` and ``score``: lists aligned with ``generations``.

    Example:
        >>> UltraCMTask().parse_output("### Feedback\\nOverall Score: 6\\nCorrect, but explain why.", num_texts=1)
        {'critique': ['Correct, but explain why.'], 'score': [6]}
    """

    system_prompt: str = ULTRACM_SYSTEM_PROMPT
    criteria: str = "how helpful, truthful and honest the answer is, and how well it follows the instruction"

    template_name: ClassVar[str] = "ultracm.jinja2"

    def _blocks(self, text: str, count: int | None) -> dict[int, str]:
        blocks = numbered_blocks(text, ("answer", "response"))
        if blocks:
            return blocks
        if count == 1:
            return {1: text} if text.strip() else {}
        scores = list(_OVERALL.finditer(text))
        starts = [m.start() for m in scores]
        return {i + 1: text[s:(starts[i + 1] if i + 1 < len(starts) else len(text))] for i, s in enumerate(starts)}

    def _read_block(self, block: str) -> tuple[float | None, str | None]:
        """``Overall score: 6`` (or a bare ``6`` opening the block), then the feedback."""
        match = _OVERALL.search(block) or _LEADING_SCORE.match(block)
        score = to_number(match.group(1)) if match else None
        body = block[: match.start()] + block[match.end():] if match else block
        body = re.sub(r"^[\s#*:\]\)]*(?:feedback\b)?[\s*:]*", "", body.strip(), flags=re.IGNORECASE)
        critique = body.strip() or None
        return score, None if critique is None or is_placeholder(critique) else critique
