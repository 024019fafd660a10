"""The run panel on a wide frame and on a frame with its own index: what the Data tab previews,
how the tables number rows, and the defaults that make preference data.

Runs use the stub server (OpenAI-compatible, deterministic replies).
"""

from __future__ import annotations

import json

import re
from html import unescape

import pandas as pd
import pytest

from distilabel_nb import schema
from distilabel_nb.testing import StubServer
from distilabel_nb.widgets import Panel


def _text(html: str) -> str:
    return unescape(" ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S).split()))


def _header_cells(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", html)]


def _row_numbers(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'<td class="dnb-num">(.*?)</td>', html)]


@pytest.fixture(scope="module")
def server():
    with StubServer(model="stub-model") as stub:
        yield stub


def on_stub(panel: Panel, server: StubServer) -> Panel:
    """``panel``'s generator and labeller on the stub, without a cache (``tests/test_progress_colours.py`` too)."""
    for section in (panel.generator, panel.labeller):
        section.backend.value = "openai"
        section.model.value = "stub-model"
        section.base_url.value = server.base_url
        section.key_source.value = "none"
    panel.cache.value = False
    return panel


def test_tables_number_rows_by_the_dataframe_s_index(server):
    df = pd.DataFrame({"input": ["first question", "second question"]}, index=[10, 11])
    panel = on_stub(Panel(df), server)
    assert _row_numbers(panel.data.head.value) == ["10", "11"]
    result = panel.run() and panel.wait(timeout=60)
    assert list(result.index) == [10, 11]
    assert sorted(_row_numbers(panel.table.value)) == ["10", "11"]  # newest first


def test_a_wide_result_previews_the_task_s_columns_and_a_few_others(server):
    first = on_stub(Panel(pd.DataFrame({"input": [f"question {i} " + "long text " * 40 for i in range(3)]})), server)
    wide = first.run() and first.wait(timeout=60)
    assert schema.GENERATION_PROMPT in wide.columns and len(wide.columns) >= 10

    panel = Panel(wide)
    head = panel.data.head.value
    shown = _header_cells(head)[1:]
    assert shown[0] == "input" and len(shown) <= 4
    assert not set(shown) & set(schema.PROVENANCE_COLUMNS + schema.ERROR_COLUMNS)
    assert "generations" in shown
    assert f"{len(wide.columns) - len(shown)} more columns not shown" in _text(head)
    chips = re.findall(r'class="dnb-chip">', panel.data.summary.value)
    assert len(wide.columns) > 12 and len(chips) == 12  # the chips stop at 12, and say how many more
    assert f"+{len(wide.columns) - 12} more" in _text(panel.data.summary.value)
    cells = re.findall(r"<td>(.*?)</td>", head)
    assert cells and max(len(unescape(c)) for c in cells) <= 90  # cut, with an ellipsis
    assert any(unescape(c).endswith("…") for c in cells)


def test_a_dataset_without_rows_is_refused_before_a_run(server):
    panel, sent = on_stub(Panel(pd.DataFrame({"input": pd.Series([], dtype=str)})), server), server.request_count
    assert panel.run() is None and server.request_count == sent
    assert "Could not start the run" in _text(panel.message.value)
    assert "The dataset (your data) has no rows: load a file with rows, or choose another source" in _text(panel.message.value)


def test_defaults_make_preference_data():
    panel = Panel()
    assert panel.generator.num_generations.value == 2
    assert panel.labeller.temperature.value == 0.0
    assert panel.generator.temperature.value == 0.7
    assert "×2" in _text(panel.header.value)


def _rating_responder(body: dict, index: int) -> str:
    """The labeller (which asks for JSON) rates "answer 0" 5 and "answer 1" 2, in whatever order the
    panel's run shows them (it shuffles them); a plain answer for the generator."""
    if body.get("response_format"):
        shown = re.findall(r"<text \d+>\n(.*?)\n</text \d+>", body["messages"][-1]["content"], re.DOTALL)
        ratings = [{"rationale": "right and clear", "rating": 5} if text.startswith("answer 0") else
                   {"rationale": "vague", "rating": 2} for text in shown]
        return json.dumps({"ratings": ratings})
    return f"answer {index} to: {body['messages'][-1]['content'][:30]}"


def test_dpo_pairs_export_and_the_results_card(tmp_path):
    with StubServer(model="stub-model", responder=_rating_responder) as rated:
        panel = on_stub(Panel(pd.DataFrame({"input": ["What is 2 + 2?", "Name a <b>colour</b>."]}, index=[4, 9])), rated)
        assert panel.results_card.value == "" and panel._results_box.selected_index is None
        result = panel.run() and panel.wait(timeout=60)
    assert result["rating"].tolist() == [[5, 2], [5, 2]]

    # the results card of panel.result, opened when the run is over: index labels, ratings, escaped text
    card = panel.results_card.value
    assert panel._results_box.selected_index == 0
    assert "dnb-card-results" in card and "2 rows" in _text(card)
    assert re.findall(r'<th class="dnb-idx"[^>]*>(\d+)</th>', card) == ["4", "9"]
    assert "<b>colour</b>" not in card and "&lt;b&gt;colour&lt;/b&gt;" in card

    # DPO pairs: the format switch names the file, the button writes one pair per row
    panel.export_format.value = "pairs"
    assert panel.export_path.value == "distilabel_nb_result_pairs.jsonl"
    panel.export_path.value = str(tmp_path / "pairs.jsonl")
    panel.export_button.click()
    assert "Wrote 2 DPO pairs from 2 rows" in _text(panel.export_message.value), panel.message.value
    pairs = pd.read_json(tmp_path / "pairs.jsonl", lines=True)
    assert pairs[["chosen_rating", "rejected_rating", "source_row"]].values.tolist() == [[5, 2, 4], [5, 2, 9]]
    assert pairs["chosen"][0].startswith("answer 0") and pairs["rejected"][0].startswith("answer 1")
    panel.export_format.value = "csv"
    assert panel.export_path.value.endswith("pairs.csv")  # back to the result's own name
    assert panel.export(tmp_path / "from_code.jsonl", fmt="pairs").is_file()


def test_dpo_pairs_export_without_ratings_says_what_to_change(server, tmp_path):
    panel = on_stub(Panel(pd.DataFrame({"input": ["What is 2 + 2?"]})), server)
    panel.labeller.enabled.value = False
    panel.run() and panel.wait(timeout=60)
    panel.export_format.value = "pairs"
    panel.export_path.value = str(tmp_path / "pairs.jsonl")
    panel.export_button.click()
    message = _text(panel.message.value)
    assert "Could not export" in message and "No DPO pairs" in message and "Turn the labeller on" in message
    assert not (tmp_path / "pairs.jsonl").exists()
    with pytest.raises(ValueError, match="No DPO pairs"):
        panel.export(tmp_path / "pairs.jsonl", fmt="pairs")


def test_dpo_pairs_export_of_ties_says_what_to_change(tmp_path):
    ties = '{"ratings": [{"rationale": "fine", "rating": 4}, {"rationale": "fine too", "rating": 4}]}'
    with StubServer(model="stub-model", responder=lambda body, i: ties if body.get("response_format") else f"a{i}") as s:
        panel = on_stub(Panel(pd.DataFrame({"input": ["What is 2 + 2?"]})), s)
        panel.run() and panel.wait(timeout=60)
    assert panel.result["rating"].tolist() == [[4, 4]]
    with pytest.raises(ValueError, match="a pair needs two answers of a row with different ratings.*Answers per row"):
        panel.export(tmp_path / "pairs.jsonl", fmt="pairs")
    assert not (tmp_path / "pairs.jsonl").exists()
