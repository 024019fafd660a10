"""The review widget's keyboard shortcuts, from Python: each key as the browser sends it.

Keys arrive as the anywidget's custom messages (``{"key": "4"}``), the way
``display/review_keys.js`` sends them; ``tests/browser/test_review_browser.py`` presses the
real keys in JupyterLab.
"""

from __future__ import annotations

import json
import re
from html import unescape

import pandas as pd
import pytest

from distilabel_nb.widgets.review import Review
from distilabel_nb.widgets.review_keys import ReviewKeys


@pytest.fixture
def labelled():
    return pd.DataFrame({
        "input": ["What is 2 + 2?", "Name a primary colour.", "Say hi"],
        "generations": [["4", "5"], ["Red", "Purple"], ["HI!", "hello"]],
        "rating": [[5, 1], [5, 2], [4, 3]],
    })


def key(review: Review, name: str) -> None:
    """A key press as the front end reports it (a custom comm message)."""
    review.keys._handle_custom_msg({"key": name}, [])


def _text(html: str) -> str:
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def _active(review: Review) -> list[int]:
    return [i for i, box in enumerate(review._answer_boxes) if "dnb-review-active" in box._dom_classes]


def test_digits_rate_the_marked_answer_and_enter_goes_on(tmp_path, labelled):
    path = tmp_path / "review.jsonl"
    review = Review(labelled, save_to=path)
    assert isinstance(review.keys, ReviewKeys) and review.keys in review.widget.children
    assert "1 – 5 rate the marked answer · Enter next row · ← → move between rows" in _text(review.keys_hint.value)
    assert _active(review) == [0]
    key(review, "4")
    assert [t.value for t in review.rating_inputs] == [4, None] and _active(review) == [1]
    key(review, "2")
    assert [t.value for t in review.rating_inputs] == [4, 2]
    saved = [json.loads(line) for line in path.read_text().splitlines()]
    assert saved[-1]["human_rating"] == [4, 2]  # saved as given, like a click
    key(review, "Enter")
    assert review.position == 1 and _active(review) == [0]


def test_enter_on_an_unfinished_row_says_so_and_arrows_move(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "review.jsonl")
    key(review, "3")
    key(review, "Enter")
    assert review.position == 0 and "Rate every answer first" in _text(review.status.value)
    key(review, "ArrowRight")
    assert review.position == 1 and review.store.status(0) == "partial"  # moved, not skipped
    key(review, "ArrowLeft")
    assert review.position == 0 and [t.value for t in review.rating_inputs] == [3, None]
    assert _active(review) == [1]  # the answer still without a rating
    key(review, "ArrowLeft")
    assert review.position == 0


def test_a_digit_off_the_scale_is_named_and_ignored(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "review.jsonl")
    key(review, "7")
    assert [t.value for t in review.rating_inputs] == [None, None]
    assert "7 is not on the scale: press 1–5" in _text(review.status.value)
    key(review, "x")  # not a shortcut: nothing happens
    assert review.position == 0 and [t.value for t in review.rating_inputs] == [None, None] and _active(review) == [0]


def test_zero_is_ten_on_a_ten_point_scale(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "review.jsonl", scale=range(1, 11))
    assert "1 – 0 (0 is 10) rate the marked answer" in _text(review.keys_hint.value)
    key(review, "0")
    key(review, "1")
    assert [t.value for t in review.rating_inputs] == [10, 1]


def test_best_mode_a_digit_picks_the_answer(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "review.jsonl", mode="best")
    assert "1 – 2 pick the best answer" in _text(review.keys_hint.value)  # two answers a row, whatever the scale
    key(review, "2")
    assert review.best_input.value == 1
    key(review, "3")  # there is no third answer: said, and nothing changes
    assert review.best_input.value == 1 and "This row has 2 answers: press 1–2" in _text(review.status.value)
    key(review, "Enter")
    assert review.position == 1
