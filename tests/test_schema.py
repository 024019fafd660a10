"""The result schema: the pipeline attaches it, every front reads it, and frames without one still work.

The fronts' test: JudgeLM scores 1 to 10, so ratings that happen to be at most 5 must still be
drawn on 1-10 (a guess from the values would say 1-5). Each front is checked on the same
pipeline result, and again on the frame with its attrs removed (the fallback).
"""

from __future__ import annotations

import doctest
import pickle

import pandas as pd
import pytest

from distilabel_nb import Pipeline, schema
from distilabel_nb import cells
from distilabel_nb.agreement import agreement
from distilabel_nb.cli import summarize
from distilabel_nb.display.html import to_html
from distilabel_nb.display.results import show_results
from distilabel_nb.export import to_preference_pairs
from distilabel_nb.schema import Scale
from distilabel_nb.tasks import (
    ComplexityScorerTask,
    CritiqueTask,
    JudgeLMTask,
    PrometheusTask,
    QualityScorerTask,
    Task,
    TextGenerationTask,
    UltraCMTask,
    UltraFeedbackTask,
    UltraJudgeTask,
    available_tasks,
    make_task,
)
from distilabel_nb.display import panel_html
from distilabel_nb.widgets.review import Review

QUESTIONS = [{"input": "Capital of France?"}, {"input": "2 + 2?"}]


def judged(scripted_llm, answer: str = "3 5\nThe first is vague; the second is right.") -> pd.DataFrame:
    """A real pipeline result: two answers per row, judged by JudgeLM with scores at most 5."""
    generator = scripted_llm(TextGenerationTask(), lambda prompt, i: f"answer {i}")
    labeller = scripted_llm(JudgeLMTask(), lambda prompt, i: answer, name="judge")
    # The scripted judge answers by place: shown in the order generated, its scores land where it wrote them.
    return Pipeline(generator=generator, labeller=labeller).generate(QUESTIONS, num_generations=2, display_progress_bar=False,
                                                                     shuffle_before_labelling=False)


def without_schema(df: pd.DataFrame) -> pd.DataFrame:
    bare = df.copy()
    bare.attrs.clear()
    return bare


# -- scales ---------------------------------------------------------------------------------

def test_every_packaged_labeller_declares_its_real_scale():
    expected = [
        (UltraFeedbackTask(), ("rating", 1, 5, True)),
        (UltraFeedbackTask.for_honesty(), ("rating", 1, 5, True)),
        (JudgeLMTask(), ("rating", 1, 10, False)),  # the paper's judges write 7.5
        (UltraJudgeTask(), ("rating", 0, 10, False)),  # final scores such as 8.5
        (PrometheusTask(), ("score", 1, 5, True)),
        (CritiqueTask(), ("score", 1, 10, True)),
        (CritiqueTask(min_score=0, max_score=3), ("score", 0, 3, True)),
        (UltraCMTask(), ("score", 1, 10, True)),
        (QualityScorerTask(), ("quality_score", 1, 5, True)),
        (ComplexityScorerTask(max_score=7), ("complexity_score", 1, 7, True)),
    ]
    for task, (column, low, high, whole) in expected:
        assert task.kind == "labeller"
        assert (task.score_column, task.scale.low, task.scale.high, task.scale.whole) == (column, low, high, whole), task.name
    assert TextGenerationTask().scale is None
    for name in available_tasks()["labellers"]:  # every registered labeller, with the scale its description names
        task = make_task(name)
        assert task.scale is not None and f"{task.scale.low}-{task.scale.high}" in available_tasks()["labellers"][name].description


def test_scale_reads_whole_numbers_as_int_and_names_what_is_off_the_scale():
    problems: list[str] = []
    whole, decimal = Scale(1, 5), Scale(1, 10, whole=False)
    assert [whole.read(v, f"text {i}", problems, "rating") for i, v in enumerate([4.0, 9.0, 4.5, None])] == [4, None, None, None]
    assert type(whole.read(5.0, "x", [])) is int and type(decimal.read(8.0, "x", [])) is float
    assert problems == ["text 1: rating 9 is outside 1-5", "text 2: rating 4.5 is not a whole number (the scale is 1-5)"]
    with pytest.raises(ValueError, match="low below high"):
        Scale(5, 1)
    with pytest.raises(ValueError, match="whole ends"):
        Scale(0.5, 5)


def test_parsed_ratings_are_int_on_whole_scales():
    parsed = UltraFeedbackTask().parse_output("Text 1\nRating: 5.0 (Excellent)\nRationale: Right.", num_texts=1)
    assert parsed["rating"] == [5] and type(parsed["rating"][0]) is int
    structured = UltraFeedbackTask(structured=True).parse_output('{"ratings": [{"rationale": "ok", "rating": 4}]}', num_texts=1)
    assert type(structured["rating"][0]) is int
    assert type(PrometheusTask().parse_output("Feedback: Fine. [RESULT] 4", num_texts=1)["score"][0]) is int
    assert type(JudgeLMTask().parse_output("8 6\nBoth fine.", num_texts=2)["rating"][0]) is float


def last_number(text: str) -> dict:
    return {"score": float(text.split()[-1])}


def test_a_custom_labeller_declares_its_scale_and_its_scores_are_read_on_it():
    task = Task.from_template("Score: {{ text }}", inputs=["text"], outputs=["score"], kind="labeller",
                              parse=last_number, score_column="score", scale=(1, 5))
    assert str(task.scale) == "1–5" and task.parse_output("Score 4") == {"score": 4}
    with pytest.raises(Exception, match="score 4.5 is not a whole number"):
        task.parse_output("Score 4.5")
    assert pickle.loads(pickle.dumps(task)).scale == Scale(1, 5)
    with pytest.raises(ValueError, match="kind='labeller'"):
        Task.from_template("{{ text }}", inputs=["text"], score_column="generations", scale=(1, 5))
    with pytest.raises(ValueError, match="not one of the outputs"):
        Task.from_template("{{ text }}", inputs=["text"], kind="labeller", score_column="score", scale=(1, 5))


# -- the schema on the frame ----------------------------------------------------------------

def test_the_pipeline_attaches_the_schema_as_plain_data(scripted_llm, tmp_path):
    df = judged(scripted_llm)
    found = schema.attached(df)
    assert found is not None and not found.guessed
    assert found.inputs == ("input",) and found.generated == ("generations",)
    assert found.labelled == ("rating", "rationale") and found.provenance == schema.PROVENANCE_COLUMNS
    assert found.errors == schema.ERROR_COLUMNS and found.rated == "generations"
    assert found.scores == {"rating": Scale(1, 10, whole=False)}
    assert found.tasks == {"generator": "TextGenerationTask", "labeller": "JudgeLMTask"}
    assert set(found.columns) == {str(c) for c in df.columns}
    # plain data: it survives pickling and Parquet
    assert schema.attached(pickle.loads(pickle.dumps(df))) == found
    pytest.importorskip("pyarrow")
    df.to_parquet(tmp_path / "result.parquet")
    assert schema.attached(pd.read_parquet(tmp_path / "result.parquet")) == found


def test_a_subset_keeps_the_schema_of_its_columns_and_guesses_new_ones(scripted_llm):
    df = judged(scripted_llm)[["input", "generations", "rating"]].copy()
    df["human_rating"] = [[4, 2], [5, 5]]
    found = schema.of(df)
    assert found.scale("rating") == Scale(1, 10, whole=False)  # from the task, though every value is <= 5
    assert found.scale("human_rating") == Scale(1, 5)  # guessed from its values
    assert found.labelled == ("rating", "human_rating") and found.provenance == ()


def test_a_schema_from_another_version_is_ignored_not_misread():
    df = pd.DataFrame({"rating": [[3, 9]]})
    df.attrs[schema.ATTRS_KEY] = {"version": 99}
    assert schema.attached(df) is None and schema.of(df).scale("rating") == Scale(1, 10)


def test_ratings_are_int_lists_that_pandas_sums_and_compares(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda prompt, i: f"answer {i}")
    rating = "Text 1\nRating: 4\nRationale: Good.\nText 2\nRating: 6\nRationale: Off the scale."
    labeller = scripted_llm(UltraFeedbackTask(), lambda prompt, i: rating)
    df = Pipeline(generator=generator, labeller=labeller).generate(QUESTIONS, num_generations=2, display_progress_bar=False,
                                                                   shuffle_before_labelling=False)
    assert df["rating"].tolist() == [[4, None], [4, None]] and type(df["rating"][0][0]) is int
    assert "[4, None]" in repr(df[["rating"]]) and "4.0" not in repr(df[["rating"]])
    long = df.explode("rating")["rating"].astype("Int64")  # the documented recipe
    assert str(long.dtype) == "Int64" and long.sum() == 8 and long.isna().sum() == 2 and (long.dropna() == 4).all()


# -- every front reads it -------------------------------------------------------------------

@pytest.fixture
def judgelm_frame(scripted_llm):
    return judged(scripted_llm)


def test_results_view_draws_judgelm_on_1_to_10(judgelm_frame):
    view = show_results(judgelm_frame)
    assert view.rating_range == (1, 10) and view.rating_columns() == ["rating"]
    html = view._repr_html_()
    assert 'title="3 on 1–10"' in html and 'title="5 on 1–10"' in html and "on 1–5" not in html
    assert "mean rating 4.00 on 1–10" in repr(view)
    fallback = show_results(without_schema(judgelm_frame))
    assert fallback.rating_range == (1, 5) and 'title="5 on 1–5"' in fallback._repr_html_()


def test_output_card_draws_judgelm_on_1_to_10(scripted_llm):
    judge = scripted_llm(JudgeLMTask(), lambda prompt, i: "3 5\nFine.")
    (output,) = judge.generate([{"input": "q", "generations": ["a", "b"]}])[0]
    assert output.scales == {"rating": Scale(1, 10, whole=False)}
    html = to_html(output)
    assert 'title="3 on 1–10"' in html and "on 1–5" not in html
    output.scales = {}  # an output made by hand: guessed from the values
    assert 'title="3 on 1–5"' in to_html(output)


def test_panel_table_draws_judgelm_on_1_to_10(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda prompt, i: f"answer {i}")
    labeller = scripted_llm(JudgeLMTask(), lambda prompt, i: "3 5\nFine.", name="judge")
    panel = Pipeline(generator=generator, labeller=labeller).panel(pd.DataFrame(QUESTIONS))
    panel.generator.num_generations.value = 2
    panel.run()
    result = panel.wait(timeout=30)
    assert [sorted(r) for r in result["rating"]] == [[3.0, 5.0]] * 2  # the panel shuffles: the places vary by row
    assert 'title="5 on 1–10"' in panel.table.value and "on 1–5" not in panel.table.value
    # the table's own fallback: a frame without the schema, rated by its values
    assert 'title="5 on 1–5"' in panel_html.live_table(without_schema(result), [0, 1], [("rating", "rating")], [],
                                                        {n: s.bounds for n, s in schema.of(without_schema(result)).scores.items()})


def test_review_offers_and_draws_judgelm_on_1_to_10(judgelm_frame, tmp_path):
    review = Review(judgelm_frame, save_to=tmp_path / "review.jsonl")
    assert [s.value for s in review.scale] == list(range(1, 11)) and review.store.ai_range == (1, 10)
    shown = " ".join(child.value for child in review.widget.children if hasattr(child, "value") and isinstance(child.value, str))
    shown += " ".join(_html_values(review.widget))
    assert 'title="5 on 1–10"' in shown and "on 1–5" not in shown
    fallback = Review(without_schema(judgelm_frame), save_to=tmp_path / "other.jsonl")
    assert [s.value for s in fallback.scale] == [1, 2, 3, 4, 5]
    prometheus = judgelm_frame.rename(columns={"rating": "score"})
    prometheus.attrs = {schema.ATTRS_KEY: {**judgelm_frame.attrs[schema.ATTRS_KEY], "scores": {"score": Scale(1, 5).to_dict()}}}
    assert Review(prometheus, save_to=tmp_path / "p.jsonl").store.columns["rating"] == "score"


def _html_values(widget) -> list[str]:
    values = [widget.value] if isinstance(getattr(widget, "value", None), str) else []
    for child in getattr(widget, "children", ()):
        values += _html_values(child)
    return values


def test_cli_summary_names_the_scale(judgelm_frame):
    text = summarize(judgelm_frame)
    assert "rating (1–10)" in text and "3, 5" in text
    assert "rating (1–5)" in summarize(without_schema(judgelm_frame))


def test_export_takes_the_score_column_from_the_schema(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda prompt, i: f"answer {i}")
    labeller = scripted_llm(CritiqueTask(), lambda prompt, i: "### Answer 1\nCritique: Weak.\nScore: 2\n### Answer 2\nCritique: Good.\nScore: 5")
    df = Pipeline(generator=generator, labeller=labeller).generate(QUESTIONS, num_generations=2, display_progress_bar=False,
                                                                   shuffle_before_labelling=False)
    pairs = to_preference_pairs(df)  # "score", not "rating": the schema names it
    assert pairs[["chosen", "rejected", "chosen_rating", "rejected_rating"]].values.tolist() == [["answer 1", "answer 0", 5, 2]] * 2
    assert pairs["chosen_rating"].dtype == "int64"


def test_agreement_uses_the_labellers_scale(judgelm_frame):
    pytest.importorskip("sklearn")
    df = judgelm_frame.copy()
    df["human_rating"] = [[3, 5], [4, 5]]
    result = agreement(df)
    assert result.labels == list(range(1, 11)) and list(result.confusion.index) == list(range(1, 11))
    assert all(type(v) is int for v in result.confusion.index) and "4.0" not in repr(result.confusion)
    assert str(result.pairs["b"].dtype) == "Int64"
    fallback = agreement(without_schema(df))
    assert fallback.labels == [3, 4, 5]  # the observed range, as before


def test_a_frame_the_pipeline_did_not_make_is_guessed():
    df = pd.DataFrame({"question": ["q"], "score": [[0.2, 0.9]], "generation_model": [["m", "m"]], "oops_error": [None]})
    found = schema.of(df)
    assert found.guessed and found.scores == {"score": Scale(0, 1, whole=False)}
    assert found.provenance == ("generation_model",) and found.errors == ("oops_error",) and found.inputs == ("question",)


# -- cells ----------------------------------------------------------------------------------

def test_cell_helpers():
    assert all(cells.is_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT))
    assert not any(cells.is_missing(v) for v in (0, "", [], False))
    assert cells.is_blank("  ") and cells.is_blank(None) and not cells.is_blank("x")
    import numpy as np

    assert cells.as_list(np.array([1, 2])) == [1, 2] and cells.as_list("text") == ["text"] and cells.as_list(pd.NA) == []
    assert cells.plain(4.0) == "4" and cells.plain(12345) == "12,345" and cells.plain(None) == "—"
    assert cells.plain(None, missing="") == "" and panel_html.plain([1, None]) == "1 | —" and panel_html.plain(None) == ""
    assert cells.duration(0.4) == "0.4 s" and cells.duration(3723, clock=True) == "1:02:03"


@pytest.mark.parametrize("module", [schema, cells])
def test_docstring_examples(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
