"""Reading numbers, numbered blocks and JSON out of what models write.

The labeller tasks share these helpers. They accept the usual noise — markdown
emphasis, Windows line ends, "4/5", "5.0 (Excellent)", "seven", prose before and
after — and return ``None`` for what they cannot read, so that the task can name it in
its :class:`OutputParseError`.

Example:
    >>> labelled_number("**Rating:** 4/5 (Good)", ("rating",))
    4.0
    >>> numbered_blocks("Text 1: fine\\nText 2: poor", ("text",))
    {1: ': fine\\n', 2: ': poor'}
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Sequence

WORD_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_WORDS = "|".join(WORD_NUMBERS)
# A number as a rating is written: 4, 4.5, 4,5 (decimal comma) or a word.
NUMBER = rf"(?:-?\d+(?:[.,]\d+)?|\b(?:{_WORDS})\b)"
# In a list of numbers a comma separates, so only the decimal point counts.
LIST_NUMBER = rf"(?:-?\d+(?:\.\d+)?|\b(?:{_WORDS})\b)"


def clean(text: str) -> str:
    """Unify line ends and drop markdown bold markers (``**``, ``__``)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("**", "").replace("__", "")


def to_number(token: str) -> float | None:
    """``"4"`` → 4.0, ``"4,5"`` → 4.5, ``"seven"`` → 7.0; anything else → ``None``."""
    token = token.strip().lower()
    if token in WORD_NUMBERS:
        return float(WORD_NUMBERS[token])
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def _label_pattern(labels: Iterable[str]) -> str:
    names = "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in labels)
    # "Rating: 4", "Rating (1-5): 4", "rating = [4]", "Score - (4)", "Rating is 4" — but not
    # "[Score 1]", where the number names an item.
    return (
        rf"\b(?:{names})s?\b[*_\s]*(?:(?:\(\s*\d+\s*(?:-|–|to)\s*\d+\s*\)|\b(?:is|of)\b)[*_\s]*)?(?:[:=\-–][*_\s]*)?"
        rf"(?:\[\s*(?P<bracketed>{NUMBER})(?:\s*/\s*\d+)?\s*\]|\(\s*(?P<parenthesized>{NUMBER})\s*\)|(?P<bare>{NUMBER})(?![\d.,]*\s*\]))"
    )


def _labelled_value(match: re.Match[str]) -> float | None:
    return to_number(match.group("bracketed") or match.group("parenthesized") or match.group("bare"))


def labelled_number(text: str, labels: Sequence[str]) -> float | None:
    """The first number written after one of ``labels`` (e.g. ``"Rating: 4"``)."""
    for match in re.finditer(_label_pattern(labels), text, re.IGNORECASE):
        return _labelled_value(match)
    return None


def labelled_numbers(text: str, labels: Sequence[str]) -> list[tuple[int, float]]:
    """Every ``(position, number)`` written after one of ``labels``, in order."""
    return [
        (m.start(), value)
        for m in re.finditer(_label_pattern(labels), text, re.IGNORECASE)
        if (value := _labelled_value(m)) is not None
    ]


def numbers_in(text: str) -> list[float]:
    """Every number in a short piece of text, e.g. a line of scores ``"8 6"``, ``"8/10, 6/10"``."""
    text = re.sub(r"(?<=\d)[ \t]*/[ \t]*10\b", "", text)  # "8/10" is the score 8
    return [value for token in re.findall(LIST_NUMBER, text, re.IGNORECASE) if (value := to_number(token)) is not None]


def heading_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """A line that opens item N: ``#### Output for Text 1``, ``**Response 2:**``, ``[Assistant 3]``, ``[4]``."""
    names = "|".join(re.escape(word) for word in words)
    item = rf"(?:(?:output|feedback|evaluation|critique|scores?|ratings?)\s+(?:for|of)\s+)?(?:the\s+)?(?:{names})[ \t]*(?:#[ \t]*)?"
    return re.compile(
        rf"^[ \t>#*_\-]*(?:\[\s*(?:{item})?(\d+)\s*\]|\(?{item}(\d+)\b\)?)",
        re.IGNORECASE | re.MULTILINE,
    )


def numbered_blocks(text: str, words: Sequence[str]) -> dict[int, str]:
    """Split ``text`` at headings naming item N; each block runs to the next heading.

    A block starts right after the item's number, so ``"Text 1: Rating 4"`` keeps
    ``": Rating 4"``. When a number heads two blocks, the first one wins.
    """
    headings = list(heading_pattern(words).finditer(text))
    blocks: dict[int, str] = {}
    for i, match in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        number = int(match.group(1) or match.group(2))
        blocks.setdefault(number, text[match.end():end])
    return blocks


def leading_number(block: str) -> float | None:
    """A number right after a block's heading, on its line: ``"] 4"``, ``": 7/10"``, ``" - 3"``."""
    match = re.match(rf"[\]\)\t *_:=\-–]*({NUMBER})\b", block, re.IGNORECASE)  # same line only
    return to_number(match.group(1)) if match else None


def first_paragraph(text: str) -> str | None:
    """The first paragraph of ``text`` with emphasis and quotes trimmed, or ``None`` if empty."""
    paragraph = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    paragraph = re.sub(r"\n[ \t]*(?:(?:\d+[.)]|[-*•])[ \t]*)?$", "", paragraph)  # a dangling list marker
    paragraph = paragraph.strip().strip("*_\"' \t").strip()
    return paragraph or None


def is_placeholder(text: str) -> bool:
    """True for a template placeholder echoed back, e.g. ``"<one or two sentences>"``."""
    return bool(re.fullmatch(r"\s*[<\[][^<>\[\]]*[>\]]\s*", text))


def labelled_text(text: str, labels: Sequence[str], stop_labels: Sequence[str] = ()) -> str | None:
    """The prose after ``Label:`` up to a blank line or a line opening with a ``stop_labels`` word.

    Example:
        >>> labelled_text("Rationale: Clear.\\nRating: 4", ("rationale",), ("rating",))
        'Clear.'
    """
    names = "|".join(re.escape(label) for label in labels)
    match = re.search(rf"\b(?:{names})\b[*_\s]*[:=\-–][ \t]*(.*)", text, re.IGNORECASE | re.DOTALL)
    if not match:
        return None
    body = match.group(1)
    if stop_labels:
        stops = "|".join(re.escape(label) for label in stop_labels)
        body = re.split(rf"\n[ \t>#*_\-]*(?:{stops})\b", body, maxsplit=1, flags=re.IGNORECASE)[0]
    paragraph = first_paragraph(body)
    return None if paragraph is None or is_placeholder(paragraph) else paragraph


class OutputParseError(ValueError):
    """A model's answer could not be read completely.

    Attributes:
        partial: The output columns that could be read (missing ones are ``None``).
    """

    def __init__(self, message: str, partial: dict[str, Any] | None = None):
        super().__init__(message)
        self.partial = partial


class JSONNotFound(ValueError):
    """No JSON value could be read from the answer."""


def _closes(text: str, start: int) -> bool:
    """Whether the bracket opened at ``start`` is closed before the text ends."""
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return True
    return False


def extract_json(text: str) -> Any:
    """The first JSON object or array in ``text`` (code fences and chatter around it are fine).

    Raises:
        JSONNotFound: saying why nothing could be read (none there, or where it breaks).
    """
    text = text.strip()
    starts = [i for i, ch in enumerate(text) if ch in "{["]
    if not starts:
        raise JSONNotFound("the answer holds no JSON object")
    decoder = json.JSONDecoder()
    first_error: json.JSONDecodeError | None = None
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
            return value
        except json.JSONDecodeError as exc:
            if not _closes(text, start):  # everything after this point is inside it
                raise JSONNotFound("the JSON answer stops before it is complete (is max_new_tokens too small?)") from None
            first_error = first_error or exc
    assert first_error is not None
    raise JSONNotFound(f"the answer is not valid JSON: {first_error.msg} at character {first_error.pos}")


def as_text_list(value: Any, name: str) -> list[str]:
    """A row's list of texts (a list, tuple or numpy array; one string counts as one text).

    Raises:
        ValueError: when it is empty, not a list of strings, or holds an empty item.
    """
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"input {name!r} must be a list of texts, got {type(value).__name__}") from None
    if not items:
        raise ValueError(f"input {name!r} is an empty list; there is nothing to rate")
    for index, item in enumerate(items):
        if item is None or (isinstance(item, float) and item != item):
            raise ValueError(f"input {name!r}: item {index + 1} is empty (None/NaN); the generation probably failed")
        if not isinstance(item, str):
            raise ValueError(f"input {name!r}: item {index + 1} is a {type(item).__name__}, not a text")
    return items
