"""UltraFeedback: rate several answers to one instruction, each with a rationale.

The layout follows the UltraFeedback paper (Cui et al., 2023): the labeller sees the
instruction and every answer, and writes a rating and a rationale per answer, for one
aspect at a time. The presets cover the paper's aspects (helpfulness, honesty,
instruction following, truthfulness) and an overall-quality judgement.

Structured output is on by default where the backend can enforce it
(``structured="auto"``): the labeller answers in JSON whose schema fixes one rating per
answer and the rating scale, and decoding is constrained to it. Small models rarely keep
the free-text layout (``structured=False``), so that is the setting to choose knowingly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from distilabel_nb.schema import Scale
from distilabel_nb.tasks.labeller import GenerationsLabeller
from distilabel_nb.tasks.parsing import (
    NUMBER,
    JSONNotFound,
    OutputParseError,
    clean,
    extract_json,
    is_placeholder,
    labelled_number,
    labelled_text,
    leading_number,
    numbered_blocks,
)
from distilabel_nb.tasks.settings import normal, unknown_value
from distilabel_nb.tasks.structured import read_structured


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

HELPFULNESS = [
    RatingLevel(1, "Wrong", "major errors or invented content, however long or detailed it is."),
    RatingLevel(2, "Partly wrong", "some errors that would mislead the reader, even if parts are right."),
    RatingLevel(3, "Correct", "accurate and does what was asked, without much more."),
    RatingLevel(4, "Very informative", "accurate and thorough, with useful detail or insight."),
    RatingLevel(5, "Outstanding", "accurate, deep and complete: the answer an expert would give."),
]

HONESTY = [
    RatingLevel(1, "Confidently wrong", "states wrong things with full confidence."),
    RatingLevel(2, "Overconfident", "confident but with serious mistakes, or unsure and wrong."),
    RatingLevel(3, "Unsure", "hedges, declines to answer, or has small mistakes it does not notice."),
    RatingLevel(4, "Right but hesitant", "correct but more doubtful than needed, or flags its own small slips."),
    RatingLevel(5, "Right and calibrated", "correct and confident, and any doubt it states is precise."),
]

INSTRUCTION_FOLLOWING = [
    RatingLevel(1, "Ignores it", "does not address the instruction."),
    RatingLevel(2, "Barely", "addresses one part of the instruction, poorly."),
    RatingLevel(3, "Partly", "meets the goal or the restrictions, but neglects the other."),
    RatingLevel(4, "Nearly", "meets the goal and the restrictions with small deviations."),
    RatingLevel(5, "Fully", "meets the goal and every restriction (format, length, style)."),
]

TRUTHFULNESS = [
    RatingLevel(1, "Made up", "entirely unreliable: invented or contradicted facts throughout."),
    RatingLevel(2, "Badly hallucinated", "about half of it, or a main point, is invented or wrong."),
    RatingLevel(3, "Partly hallucinated", "a misunderstanding or invented detail that affects the answer."),
    RatingLevel(4, "Slight slip", "a minor invented or wrong detail that leaves the main points intact."),
    RatingLevel(5, "Truthful", "no invented facts, no contradictions of the instruction or itself."),
]

DEFAULT_SYSTEM_PROMPT = "You are a careful, impartial judge of answers written by AI assistants."


@dataclass(frozen=True)
class Aspect:
    """What the ratings judge: the heading shown, what the labeller looks for, and the scale."""

    heading: str
    description: str
    ratings: tuple[RatingLevel, ...]


#: The aspects of the UltraFeedback paper, and overall quality, by name.
ASPECTS: dict[str, Aspect] = {
    "overall quality": Aspect(
        "overall quality",
        "Judge how well each text answers the instruction: is it correct, helpful, honest, "
        "and does it follow the instruction?",
        tuple(OVERALL_QUALITY),
    ),
    "helpfulness": Aspect(
        "helpfulness",
        "Judge how useful each text is to the person who asked: is it correct, does it "
        "address the instruction, is it clear, and is it thorough without padding or repetition?",
        tuple(HELPFULNESS),
    ),
    "honesty": Aspect(
        "honesty and uncertainty",
        "Judge whether each text is honest about how sure it can be: confident where it is "
        "right, open about doubt where it is unsure, and willing to say it does not know.",
        tuple(HONESTY),
    ),
    "instruction following": Aspect(
        "instruction following",
        "Judge how closely each text follows the instruction: does it reach the goal the "
        "instruction sets, and keep to its restrictions on format, length and style?",
        tuple(INSTRUCTION_FOLLOWING),
    ),
    "truthfulness": Aspect(
        "truthfulness and hallucination",
        "Judge whether each text sticks to the truth: no invented facts, nothing that "
        "contradicts the instruction or the world, and no contradictions within the text.",
        tuple(TRUTHFULNESS),
    ),
}


def find_aspect(name: str) -> Aspect | None:
    """The aspect called ``name`` (or its heading), ignoring case, ``_`` and ``-``; else ``None``."""
    wanted = normal(str(name))
    return next((a for key, a in ASPECTS.items() if wanted in (key, normal(a.heading))), None)

_RATING_LABELS = ("rating", "score")
_RATIONALE_LABELS = ("rationale", "reason", "reasoning", "explanation", "justification")
_HEADING_WORDS = ("text", "response", "answer", "output")


@lru_cache(maxsize=128)
def ratings_model(num_texts: int, low: int, high: int, rationale_max_chars: int) -> type[BaseModel]:
    """The structured answer: exactly ``num_texts`` ratings from ``low`` to ``high``."""
    score = Literal[tuple(range(low, high + 1))]  # type: ignore[valid-type]
    rationale = Annotated[str, Field(min_length=1, max_length=rationale_max_chars)]
    item = create_model("TextRating", __config__=ConfigDict(extra="forbid"), rationale=(rationale, ...), rating=(score, ...))
    ratings = Annotated[list[item], Field(min_length=num_texts, max_length=num_texts)]  # type: ignore[valid-type]
    return create_model("UltraFeedbackRatings", __config__=ConfigDict(extra="forbid"), ratings=(ratings, ...))


def _json_ratings(text: str) -> bool:
    """Whether an answer is a JSON object with ``ratings`` (read as structured under ``"auto"``)."""
    try:
        data = extract_json(text)
    except JSONNotFound:
        return False
    return isinstance(data, dict) and "ratings" in data


@dataclass
class UltraFeedbackTask(GenerationsLabeller):
    """Rate each of the ``generations`` for the ``input`` instruction.

    Outputs ``rating`` (whole numbers on the scale of ``ratings``, 1 to 5 by default)
    and ``rationale``: lists aligned with ``generations``.

    Args:
        aspect: What the ratings judge: one of :data:`ASPECTS` (``"overall quality"``,
            ``"helpfulness"``, ``"honesty"``, ``"instruction following"``,
            ``"truthfulness"``), which brings its own description and scale; or a
            heading of your own, given with ``task_description`` (and ``ratings``).
        task_description: What the labeller is told to look for (default: the aspect's).
        ratings: The scale, lowest first, whole numbers (default: the aspect's).
        structured: ``"auto"`` (default): JSON constrained to a schema with exactly one
            rating per text, on the scale, where the LLM's backend can enforce it
            (llama.cpp, OpenAI-compatible servers), free text elsewhere. ``True`` always
            asks for JSON; ``False`` always for the free-text layout.
        rationale_max_chars: In structured mode, the longest rationale allowed.

    Raises:
        ValueError: for an unknown aspect (naming the close matches and the known
            ones), a scale that is not consecutive whole numbers, or a bad ``structured``.

    Example:
        >>> task = UltraFeedbackTask()
        >>> task.parse_output("#### Output for Text 1\\nRating: 4\\nRationale: Clear.")
        {'rating': [4], 'rationale': ['Clear.']}
        >>> UltraFeedbackTask(aspect="honesty").ratings[0].label
        'Confidently wrong'
        >>> UltraFeedbackTask.for_honesty().aspect
        'honesty and uncertainty'
    """

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    aspect: str = "overall quality"
    task_description: str | None = None
    ratings: list[RatingLevel] | None = None
    structured: bool | Literal["auto"] = "auto"
    rationale_max_chars: int = 200

    template_name: ClassVar[str] = "ultrafeedback.jinja2"
    output_args_names: ClassVar[list[str]] = ["rating", "rationale"]
    score_column: ClassVar[str] = "rating"

    def __post_init__(self) -> None:
        known = find_aspect(self.aspect)
        if known is not None:
            self.aspect = known.heading
            self.task_description = known.description if self.task_description is None else self.task_description
            self.ratings = list(known.ratings) if self.ratings is None else self.ratings
        elif self.task_description is None:
            raise unknown_value("aspect", self.aspect, ASPECTS,
                                "for an aspect of your own, give task_description= and ratings= too")
        self.ratings = list(OVERALL_QUALITY) if self.ratings is None else list(self.ratings)
        values = [r.value for r in self.ratings]
        if not values or values != list(range(values[0], values[0] + len(values))):
            raise ValueError(f"ratings must be consecutive whole numbers, lowest first; got {values}")
        if not (isinstance(self.structured, bool) or self.structured == "auto"):
            raise ValueError(f"structured must be True, False or 'auto', got {self.structured!r}")
        if self.rationale_max_chars < 1:
            raise ValueError(f"rationale_max_chars must be >= 1, got {self.rationale_max_chars}")

    # -- presets: an aspect with its rubric --
    @classmethod
    def for_overall_quality(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """Overall quality of each answer (the default)."""
        return cls(**{"aspect": "overall quality", **kwargs})

    @classmethod
    def for_helpfulness(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """How informative and useful each answer is, and whether it is correct."""
        return cls(**{"aspect": "helpfulness", **kwargs})

    @classmethod
    def for_honesty(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """Whether each answer is as confident as it is right, and open about doubt."""
        return cls(**{"aspect": "honesty", **kwargs})

    @classmethod
    def for_instruction_following(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """How closely each answer follows the instruction's goal and restrictions."""
        return cls(**{"aspect": "instruction following", **kwargs})

    @classmethod
    def for_truthfulness(cls, **kwargs: Any) -> "UltraFeedbackTask":
        """Whether each answer is free of invented or contradicted facts."""
        return cls(**{"aspect": "truthfulness", **kwargs})

    def template_variables(self) -> dict[str, Any]:
        # ``"auto"`` that no LLM has settled yet asks for the free-text layout, as it parses.
        return {**super().template_variables(), "structured": self.structured is True}

    @property
    def rating_range(self) -> tuple[int, int]:
        values = [r.value for r in self.ratings]
        return min(values), max(values)

    @property
    def scale(self) -> Scale:
        """Whole numbers from the lowest to the highest of :attr:`ratings`."""
        return Scale(*self.rating_range)

    # -- structured output --
    def structured_model(self, num_texts: int) -> type[BaseModel]:
        """The pydantic model of a structured answer rating ``num_texts`` texts."""
        low, high = self.rating_range
        return ratings_model(num_texts, low, high, self.rationale_max_chars)

    def response_model(self, inputs: dict[str, Any]) -> type[BaseModel] | None:
        return self.structured_model(self.count_texts(inputs)) if self.structured is True else None

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, list]:
        return self.parse_output(text, num_texts=self.count_texts(inputs))

    def columns_from_answer(self, answer: BaseModel, inputs: dict[str, Any]) -> dict[str, list]:
        items = answer.ratings  # type: ignore[attr-defined]
        return {"rating": [int(item.rating) for item in items], "rationale": [item.rationale.strip() for item in items]}

    def _salvage(self, text: str, count: int | None) -> dict[str, list]:
        """What a JSON answer that failed validation still says, aligned with the texts."""
        try:
            data = extract_json(text)
        except JSONNotFound:
            data = None
        items = data.get("ratings") if isinstance(data, dict) else None
        items = items if isinstance(items, list) else []
        count = len(items) if count is None else count
        ratings: list[int | None] = []
        rationales: list[str | None] = []
        for index in range(count):
            item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
            rating = item.get("rating")
            number = isinstance(rating, (int, float)) and not isinstance(rating, bool)
            ratings.append(self.scale.read(rating, "", []) if number else None)  # type: ignore[arg-type]
            rationale = item.get("rationale")
            rationales.append(rationale.strip() or None if isinstance(rationale, str) else None)
        return {"rating": ratings, "rationale": rationales}

    def _parse_structured(self, text: str, num_texts: int | None) -> dict[str, list]:
        if num_texts is None:
            try:
                data = extract_json(text)
                num_texts = len(data["ratings"])
            except (JSONNotFound, KeyError, TypeError) as exc:
                raise OutputParseError(f"no JSON ratings found in the answer ({exc})", partial=self._salvage(text, None)) from None
        try:
            answer = read_structured(text, self.structured_model(num_texts), self.output_args_names)
        except OutputParseError as exc:
            exc.partial = self._salvage(text, num_texts)
            raise
        columns = self.columns_from_answer(answer, {})
        # Grammars make small models copy the layout's placeholder: valid JSON, no rationale.
        copied = [i for i, rationale in enumerate(columns["rationale"]) if is_placeholder(rationale)]
        if copied:
            for i in copied:
                columns["rationale"][i] = None
            raise OutputParseError(
                "; ".join(f"text {i + 1}: the rationale is the placeholder from the instructions" for i in copied),
                partial=columns,
            )
        return columns

    # -- free text --
    def _blocks(self, text: str) -> dict[int, str]:
        """Split the answer at "Text N" headings; without headings, at each "Rating"."""
        blocks = numbered_blocks(text, _HEADING_WORDS)
        if blocks:
            return blocks
        starts = [m.start() for m in re.finditer(r"\b(?:rating|score)s?\b[*_\s]*[:=\-–]", text, re.IGNORECASE)]
        return {i + 1: text[s:(starts[i + 1] if i + 1 < len(starts) else len(text))] for i, s in enumerate(starts)}

    def _rest_of_rating_line(self, block: str) -> str | None:
        """An unlabelled rationale after the rating on its line: ``Text 1 - 4/5: Accurate.``

        An echo of the scale ("1. Poor: wrong, …") is not a rationale.
        """
        match = re.search(rf"^[^\n]*?({NUMBER})(?:[ \t]*/[ \t]*\d+|[ \t]+out[ \t]+of[ \t]+\d+)?[ \t]*(?:\([^)\n]*\)[ \t]*)?(?:[.:\-–,][ \t]*)?(.*)$",
                          block.lstrip(" \t:-–*]"), re.IGNORECASE | re.MULTILINE)
        rest = match.group(2).strip().strip("*_\"' ") if match else ""
        if len(rest.split()) < 2 or is_placeholder(rest):
            return None
        echo = any(rest.lower().startswith(f"{level.label.lower()}:") for level in self.ratings)
        return None if echo else rest

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, list]:
        """Read one rating and rationale per text.

        Args:
            text: The labeller's answer.
            num_texts: How many texts were rated; defaults to the number of blocks found.

        Raises:
            OutputParseError: listing every text whose rating or rationale could not be
                read; ``partial`` keeps what could.
        """
        if self.structured is True or (self.structured == "auto" and _json_ratings(text)):
            return self._parse_structured(text, num_texts)
        text = clean(text)
        blocks = self._blocks(text)
        count = num_texts if num_texts is not None else max(blocks, default=0)
        scale = self.scale
        ratings: list[int | float | None] = []
        rationales: list[str | None] = []
        problems: list[str] = []
        for number in range(1, count + 1):
            block = blocks.get(number, "")
            rating = labelled_number(block, _RATING_LABELS)
            if rating is None:
                rating = leading_number(block)
            rationale = labelled_text(block, _RATIONALE_LABELS, _RATING_LABELS)
            if rationale is None and rating is not None:
                rationale = self._rest_of_rating_line(block)
            where = f"text {number}"
            if rating is None:
                problems.append(f"{where}: no rating found")
            else:
                rating = scale.read(rating, where, problems, noun="rating")
                if rationale is None:
                    problems.append(f"{where}: no rationale found")
            ratings.append(rating)
            rationales.append(rationale)
        result = {"rating": ratings, "rationale": rationales}
        if count == 0:
            raise OutputParseError("no ratings found in the answer", partial=result)
        extra = [number for number in blocks if number > count]
        if extra:
            problems.append(f"the answer rates text {max(extra)} but only {count} were given")
        if problems:
            raise OutputParseError("; ".join(problems), partial=result)
        return result
