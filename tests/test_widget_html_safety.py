"""Hostile text through the HTML the widgets and the agreement card write, parsed back.

The cards have their own audit (test_display_safety.py); this one covers the HTML that
the run panel, the review widget and the agreement card put on the page: no tag or
event-handler attribute may come from data, and the hostile text must come back as text.
"""

from __future__ import annotations

import pandas as pd
import pytest

from distilabel_nb.agreement import agreement
from distilabel_nb.widgets import Panel, Review
from test_display_safety import Audit  # the card audit's parser; the rules here are the widgets' own

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</table>", "\"'><svg onload=alert(1)>"]
HOSTILE = " ".join(PAYLOADS)
FROM_DATA = {"script", "img", "svg", "iframe", "object", "embed", "a", "form", "input"}


def audit(html: str) -> str:
    """Fail on markup that came from data; return the page's text."""
    parser = Audit()
    parser.feed(html)
    parser.close()
    assert not set(parser.starts) & FROM_DATA, set(parser.starts) & FROM_DATA
    handlers = [(tag, name) for tag, name, _ in parser.attrs if name.startswith("on")]
    assert not handlers, handlers
    return "".join(parser.text)


def html_of(widget) -> str:
    """Every HTML string a widget tree shows (HTML widgets' values, labels' descriptions)."""
    parts = []
    stack = [widget]
    while stack:
        node = stack.pop()
        value = getattr(node, "value", None)
        if type(node).__name__ in ("HTML", "HTMLMath") and isinstance(value, str):
            parts.append(value)
        stack.extend(getattr(node, "children", ()) or ())
    return "\n".join(parts)


@pytest.fixture
def hostile_frame():
    return pd.DataFrame({
        "input": [HOSTILE, "plain question"],
        "generations": [[HOSTILE, "fine"], ["ok", HOSTILE]],
        "rating": [[4, 1], [3, 5]],
        "rationale": [[HOSTILE, "short"], ["good", HOSTILE]],
        "labelling_model": [HOSTILE, HOSTILE],
        "labelling_error": [HOSTILE, None],
    })


def test_review_widget(tmp_path, hostile_frame):
    review = Review(hostile_frame, save_to=tmp_path / "review.jsonl", reviewer=HOSTILE)
    text = audit(html_of(review.widget))
    assert PAYLOADS[0] in text and PAYLOADS[1] in text  # shown, as text
    review.note_input.value = HOSTILE
    for control in review.rating_inputs:
        control.value = 3
    review.next_button.click()
    text = audit(html_of(review.widget))
    assert "plain question" in text


def test_agreement_card(hostile_frame):
    frame = hostile_frame.rename(columns={"rating": HOSTILE})
    frame["other"] = [[4, 2], [3, 5]]
    text = audit(agreement(frame, a=HOSTILE, b="other")._repr_html_())
    assert PAYLOADS[0] in text


def test_run_panel(hostile_frame):
    frame = hostile_frame[["input"]].rename(columns={"input": HOSTILE})
    frame["input"] = [HOSTILE, "plain"]
    panel = Panel(frame)
    text = audit(html_of(panel.widget))
    assert PAYLOADS[1] in text  # the column name, as text
    panel.generator.backend.value = "openai"
    panel.generator.model.value = HOSTILE
    panel.generator.base_url.value = "http://127.0.0.1:1/v1?" + HOSTILE
    audit(html_of(panel.widget))
