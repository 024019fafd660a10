"""Review widget driven from Python: set values, click, read the columns and the saved file."""

import json

import pandas as pd
import pytest

from distilabel_nb.agreement import agreement
from distilabel_nb.tasks import RatingLevel
from distilabel_nb.widgets.review import HUMAN_COLUMNS, Review, ReviewFileMismatch


@pytest.fixture
def labelled():
    """Three rows as a pipeline returns them: two answers each, AI ratings and rationales."""
    return pd.DataFrame({
        "input": ["What is 2 + 2?", "Name a primary colour.", "Say hi <b>loudly</b>"],
        "generations": [["4", "5"], ["Red", "Purple"], ["HI!", "hello"]],
        "rating": [[5.0, 1.0], [5.0, 2.0], [4.0, None]],
        "rationale": [["Correct.", "Wrong sum."], ["Right.", "Not primary."], ["Loud.", None]],
        "labelling_model": ["judge-1"] * 3,
        "labelling_error": [None, None, "text 2: no rating found"],
    })


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def rate(review, *values, note=None):
    for toggle, value in zip(review.rating_inputs, values):
        toggle.value = value
    if note is not None:
        review.note_input.value = note


def test_rate_click_next_and_columns(tmp_path, labelled):
    path = tmp_path / "review.jsonl"
    review = Review(labelled, save_to=path, reviewer="ana")
    assert review.position == 0 and len(review.rating_inputs) == 2
    assert review.next_button.disabled and review.back_button.disabled
    assert "0 / 3</b> reviewed" in review.progress_text.value

    review.rating_inputs[0].value = 5
    assert review.next_button.disabled  # one answer still unrated
    assert lines(path)[-1]["status"] == "partial"  # saved at once all the same
    review.rating_inputs[1].value = 2
    assert "Saved." in review.status.value
    review.note_input.value = "  the second is off by one "
    assert "Note saved." in review.status.value
    assert not review.next_button.disabled
    review.next_button.click()

    assert review.position == 1
    assert review.progress.value == 1
    assert "1 / 3</b> reviewed" in review.progress_text.value
    saved = lines(path)
    assert len(saved) == 3  # rating, rating, note: every answer written as it was given
    last = saved[-1]
    assert last["row"] == "0" and last["status"] == "reviewed"
    assert last["human_rating"] == [5, 2] and last["human_note"] == "the second is off by one"
    assert last["reviewer"] == "ana" and last["instruction"] == "What is 2 + 2?"

    out = review.to_dataframe()
    assert list(out.columns) == list(labelled.columns) + list(HUMAN_COLUMNS)
    assert out.loc[0, "human_rating"] == [5, 2]
    assert out.loc[0, "human_note"] == "the second is off by one"
    assert out.loc[0, "reviewer"] == "ana"
    assert out.loc[0, "review_status"] == "reviewed"
    assert str(out["reviewed_at"].dtype) == "datetime64[us, UTC]" or out["reviewed_at"].dt.tz is not None
    assert out.loc[1:, "human_rating"].isna().all() and out.loc[1:, "reviewed_at"].isna().all()
    assert review.result.equals(out)
    assert labelled.columns.tolist() == ["input", "generations", "rating", "rationale", "labelling_model",
                                         "labelling_error"]  # the input DataFrame is left alone


def test_reopened_on_the_same_file_continues_where_it_stopped(tmp_path, labelled):
    path = tmp_path / "review.jsonl"
    first = Review(labelled, save_to=path, reviewer="ana")
    rate(first, 5, 1, note="easy")
    first.next_button.click()
    rate(first, 4)  # half of row 1, then the kernel "dies"
    del first

    again = Review(labelled, save_to=path)  # a fresh object, as after a restart
    assert again.position == 1
    assert [t.value for t in again.rating_inputs] == [4, None]
    assert again.counts() == {"reviewed": 1, "skipped": 0, "partial": 1, "total": 3}
    assert "1 / 3</b> reviewed" in again.progress_text.value
    assert "began this row earlier" in again.status.value
    again.back_button.click()
    assert [t.value for t in again.rating_inputs] == [5, 1]
    assert again.note_input.value == "easy"
    # reopening wrote nothing: only answers are saved
    assert len(lines(path)) == 4
    out = again.to_dataframe()
    assert out.loc[0, "human_rating"] == [5, 1] and out.loc[1, "human_rating"] == [4, None]
    assert out.loc[1, "review_status"] == "partial"


def test_skip_back_and_the_last_row(tmp_path, labelled):
    path = tmp_path / "r.jsonl"
    review = Review(labelled, save_to=path)
    review.next()  # incomplete row: stays, and says why
    assert review.position == 0 and "Rate every answer first" in review.status.value
    review.skip_button.click()
    assert review.position == 1
    assert lines(path)[-1]["status"] == "skipped" and lines(path)[-1]["human_rating"] == [None, None]
    rate(review, 5, 3)
    review.next_button.click()
    rate(review, 4, 4)
    review.next_button.click()  # the last row: stays, and reports what is left
    assert review.position == 2
    assert "last row" in review.status.value and "1 skipped" in review.status.value
    assert review.counts() == {"reviewed": 2, "skipped": 1, "partial": 0, "total": 3}
    out = review.to_dataframe()
    assert out["review_status"].tolist() == ["skipped", "reviewed", "reviewed"]
    assert out.loc[0, "human_rating"] is None
    # a reopened review starts at the skipped row, the only one not done
    assert Review(labelled, save_to=path).position == 0
    # rating a skipped row later makes it reviewed
    review.go_to(0)
    rate(review, 5, 1)
    assert review.counts()["reviewed"] == 3
    review.go_to(2)
    review.next()
    assert "All 3 rows reviewed" in review.status.value


def test_best_mode(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "best.jsonl", mode="best", reviewer="bo")
    assert review.rating_inputs == [] and review.best_input is not None
    assert review.best_input.options == (("Answer 1", 0), ("Answer 2", 1))
    review.best_input.value = 0
    review.next_button.click()
    out = review.to_dataframe()
    assert out.loc[0, "human_best"] == 0 and pd.isna(out.loc[1, "human_best"])
    assert out.loc[0, "human_rating"] is None and out.loc[0, "review_status"] == "reviewed"
    assert Review(labelled, save_to=tmp_path / "best.jsonl", mode="best").position == 1


def test_a_changed_dataframe_is_detected(tmp_path, labelled):
    path = tmp_path / "r.jsonl"
    review = Review(labelled, save_to=path)
    rate(review, 5, 1)
    changed = labelled.copy()
    changed.at[0, "generations"] = ["4", "22"]  # same instruction, another answer
    with pytest.raises(ReviewFileMismatch, match=r"different DataFrame: 1 answered row\(s\).*row 0: answered for "
                                                 r"'What is 2 \+ 2\?'.*new save_to file"):
        Review(changed, save_to=path)
    ignored = Review(changed, save_to=path, on_mismatch="ignore")
    assert ignored.position == 0 and [t.value for t in ignored.rating_inputs] == [None, None]
    assert "1 saved answer(s) were for rows that have changed" in ignored.status.value
    # a DataFrame read back with a new index is caught the same way
    with pytest.raises(ReviewFileMismatch):
        Review(labelled.iloc[::-1].reset_index(drop=True), save_to=path)


def test_a_subset_of_the_rows_keeps_its_answers(tmp_path, labelled):
    path = tmp_path / "r.jsonl"
    review = Review(labelled, save_to=path)
    rate(review, 5, 1)
    review.next_button.click()
    rate(review, 2, 2)
    subset = labelled.iloc[[1, 2]]  # index labels 1 and 2 kept
    again = Review(subset, save_to=path)
    assert again.position == 1  # row with index 2, the first not done
    assert again.to_dataframe().loc[1, "human_rating"] == [2, 2]
    assert "1 row(s) not in this DataFrame" in again.status.value


def test_every_value_is_escaped(tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    df = pd.DataFrame({"input": [evil], "generations": [[f"<script>{evil}</script>"]], "rating": [[3]],
                       "rationale": [[f"<b>{evil}</b>"]], "labelling_model": ["<i>m</i>"]})
    review = Review(df, save_to=tmp_path / "x.jsonl")
    shown = review.instruction_view.value + "".join(child.children[0].value for child in review.generations_box.children)
    assert "<img" not in shown and "<script>" not in shown and "<b>&lt;" not in shown and "<i>m" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in review.instruction_view.value
    assert "&lt;script&gt;" in shown and "&lt;i&gt;m&lt;/i&gt;" in shown


def test_ai_rating_rationale_and_errors_are_shown_or_hidden(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "r.jsonl")
    first = review.generations_box.children[0].children[0].value
    assert "AI rating" in first and "Correct." in first and "judge-1" in first
    review.go_to(2)
    second = review.generations_box.children[1].children[0].value
    assert "dnb-rating-none" in second  # the AI gave no rating for this answer: the "?" badge
    blind = Review(labelled, save_to=tmp_path / "blind.jsonl", show_ai=False)
    assert "AI rating" not in blind.generations_box.children[0].children[0].value


def test_rows_without_generations_can_only_be_skipped(tmp_path):
    df = pd.DataFrame({"input": ["a", "b"], "generations": [None, ["x"]], "generation_error": ["timeout", None]})
    review = Review(df, save_to=tmp_path / "r.jsonl")
    assert review.rating_inputs == [] and review.next_button.disabled
    assert "no generations (timeout)" in review.generations_box.children[0].value
    review.skip_button.click()
    assert review.position == 1 and review.counts()["skipped"] == 1


def test_scale_with_words_and_string_index(tmp_path):
    levels = [RatingLevel(1, "Poor", "bad."), RatingLevel(2, "Fair", "so-so."), RatingLevel(3, "Good", "fine.")]
    df = pd.DataFrame({"input": ["q"], "generations": [["a"]]}, index=pd.Index(["id-7"], name="id"))
    review = Review(df, save_to=tmp_path / "r.jsonl", scale=levels)
    toggle = review.rating_inputs[0]
    assert [label for label, _ in toggle.options] == ["1 · Poor", "2 · Fair", "3 · Good"]
    assert toggle.tooltips == ("1 · Poor: bad.", "2 · Fair: so-so.", "3 · Good: fine.")
    toggle.value = 3
    assert lines(tmp_path / "r.jsonl")[0]["row"] == '"id-7"'
    assert review.to_dataframe().loc["id-7", "human_rating"] == [3]
    with pytest.raises(ValueError, match="not on this scale"):
        Review(df, save_to=tmp_path / "r.jsonl", scale=[1, 2])


def test_a_half_written_last_line_is_survived(tmp_path, labelled):
    path = tmp_path / "r.jsonl"
    review = Review(labelled, save_to=path)
    rate(review, 5, 1)
    with open(path, "a") as handle:
        handle.write('{"row": "1", "fingerpr')  # the kernel died mid-write
    again = Review(labelled, save_to=path)
    assert again.position == 1 and "1 unreadable line(s)" in again.status.value
    rate(again, 3, 3)
    text = path.read_text().splitlines()
    assert text[2] == '{"row": "1", "fingerpr'  # left as it was; the next answer starts a new line
    assert [json.loads(line)["human_rating"] for line in text[3:]] == [[3, None], [3, 3]]
    assert Review(labelled, save_to=path).to_dataframe().loc[1, "human_rating"] == [3, 3]


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "judge"}, "mode must be one of"),
    ({"instruction_column": "prompt"}, r"no column\(s\) \['prompt'\]"),
    ({"scale": []}, "scale is empty"),
    ({"scale": ["good"]}, "scale values must be numbers"),
    ({"on_mismatch": "drop"}, "on_mismatch must be"),
])
def test_bad_arguments(tmp_path, labelled, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Review(labelled, save_to=tmp_path / "r.jsonl", **kwargs)


def test_duplicate_index_is_refused(tmp_path, labelled):
    with pytest.raises(ValueError, match="reset_index"):
        Review(labelled.set_axis([0, 0, 1]), save_to=tmp_path / "r.jsonl")


def test_path_is_shown_and_widget_displays(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "sub" / "r.jsonl")
    assert str(tmp_path / "sub" / "r.jsonl") in review.status.value
    assert review.path == (tmp_path / "sub" / "r.jsonl").resolve()
    bundle = review._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "0 / 3 reviewed" in repr(review)
    rate(review, 1, 1)  # the folder is made on the first answer
    assert review.path.exists()


def test_human_labels_feed_agreement(tmp_path, labelled):
    review = Review(labelled, save_to=tmp_path / "r.jsonl", reviewer="ana")
    rate(review, 5, 2)
    review.next_button.click()
    rate(review, 5, 2)
    review.next_button.click()
    rate(review, 3, 3)
    result = agreement(review.to_dataframe(), "rating", "human_rating")
    # AI [5,1] [5,2] [4,None] vs human [5,2] [5,2] [3,3]: 5 pairs, one dropped
    assert result.n == 5 and result.n_dropped == 1
    assert result.exact == pytest.approx(3 / 5)
    assert result.mean_abs_diff == pytest.approx(2 / 5)


def test_docstring_example_runs():
    import doctest

    from distilabel_nb.widgets import review as review_module

    assert doctest.testmod(review_module).failed == 0
