"""The review's store on its own: answers saved to JSONL, taken back, matched to rows; no widget."""

import doctest
import json
import subprocess
import sys

import pandas as pd
import pytest

from distilabel_nb import review_store
from distilabel_nb.review_store import HUMAN_COLUMNS, ReviewFileMismatch, ReviewStore, scale_steps
from distilabel_nb.tasks import RatingLevel


@pytest.fixture
def frame():
    return pd.DataFrame({
        "question": ["What is 2 + 2?", "Name a primary colour.", "Say hi"],
        "answers": [["4", "5"], ["Red", "Purple"], None],
        "rating": [[5, 1], [4, None], None],
        "labelling_model": ["judge", "judge", None],
        "labelling_error": [None, None, "no generations to rate"],
    }, index=pd.Index(["a", "b", "c"], name="id"))


def open_store(frame, path, **kwargs):
    return ReviewStore(frame, path, columns={"instruction": "question", "generations": "answers"}, **kwargs)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_answers_are_written_at_once_and_taken_back_by_a_new_store(tmp_path, frame):
    path = tmp_path / "r.jsonl"
    store = open_store(frame, path)
    assert store.first_open_position() == 0 and store.counts() == {"reviewed": 0, "skipped": 0, "partial": 0, "total": 3}
    store.save(0, complete=False, mode="rate", rating=[5, None], reviewer=" ana ")
    assert lines(path)[-1]["status"] == "partial" and lines(path)[-1]["reviewer"] == "ana"
    store.save(0, complete=True, mode="rate", rating=[5, 2], note="  off by one ", reviewer="ana")
    store.save(1, complete=False, skipped=True, mode="rate", rating=[None, None])

    again = open_store(frame, path)
    assert again.counts() == {"reviewed": 1, "skipped": 1, "partial": 0, "total": 3}
    assert again.first_open_position() == 2  # neither answered nor begun
    assert again.answer(0)["human_note"] == "off by one" and again.answer(0)["row"] == '"a"'
    # a skipped row stays skipped until it is complete
    again.save(1, complete=False, mode="rate", rating=[3, None])
    assert again.status(1) == "skipped"
    again.save(1, complete=True, mode="rate", rating=[3, 3])
    assert again.status(1) == "reviewed"

    out = open_store(frame, path).to_dataframe()
    assert list(out.columns) == [*frame.columns, *HUMAN_COLUMNS]
    assert out.loc["a", "human_rating"] == [5, 2] and out.loc["b", "human_rating"] == [3, 3]
    assert pd.isna(out.loc["c", "human_rating"]) and out.loc["c", "review_status"] is None
    assert isinstance(out["reviewed_at"].dtype, pd.DatetimeTZDtype) and str(out["reviewed_at"].dt.tz) == "UTC"
    assert frame.columns.tolist() == ["question", "answers", "rating", "labelling_model", "labelling_error"]


def test_rows_read_as_the_reviewer_sees_them(tmp_path, frame):
    store = open_store(frame, tmp_path / "r.jsonl")
    assert store.generations(0) == ["4", "5"] and store.generations(2) == []
    assert store.cell("instruction", 1) == "Name a primary colour." and store.cell("no such column", 1) is None
    assert store.ai(1, 1) == {"rating": None, "rationale": None, "error": None, "model": "judge"}
    assert store.ai(2, 0)["error"] == "labelling_error: no generations to rate"
    unrated = open_store(frame.drop(columns="rating"), tmp_path / "other.jsonl")
    assert unrated.ai(0, 0) is None


def test_a_changed_row_is_refused_or_started_afresh(tmp_path, frame):
    path = tmp_path / "r.jsonl"
    open_store(frame, path).save(0, complete=True, mode="rate", rating=[5, 1])
    changed = frame.copy()
    changed.at["a", "answers"] = ["4", "22"]
    with pytest.raises(ReviewFileMismatch, match=r"1 answered row\(s\).*row a: answered for 'What is 2 \+ 2\?'"):
        open_store(changed, path)
    ignored = open_store(changed, path, on_mismatch="ignore")
    assert ignored.status(0) is None and ignored.changed == 1
    assert ignored.opening_notes() == ["1 saved answer(s) were for rows that have changed since and were not used"]
    subset = open_store(frame.iloc[1:], path)
    assert subset.not_in_df == 1 and "1 row(s) not in this DataFrame" in subset.opening_notes()[0]


def test_rows_in_review_order_keep_their_answers(tmp_path, frame):
    path = tmp_path / "r.jsonl"
    open_store(frame, path).save(1, complete=True, mode="rate", rating=[3, 3])  # row "b"
    again = open_store(frame, path, order=["b", "c", "a"])
    assert list(again.df.index) == ["b", "c", "a"] and again.status(0) == "reviewed"
    assert again.first_open_position() == 1 and list(again.to_dataframe().index) == ["b", "c", "a"]
    with pytest.raises(ValueError, match="labels not in the DataFrame"):
        open_store(frame, path, order=["z"])


def test_a_half_written_line_is_skipped_and_never_glued_to(tmp_path, frame):
    path = tmp_path / "r.jsonl"
    open_store(frame, path).save(0, complete=True, mode="rate", rating=[5, 1])
    with open(path, "a") as handle:
        handle.write('{"row": "\\"b\\"", "finger')  # the kernel died mid-write
    again = open_store(frame, path)
    assert again.file.unreadable_lines == [2] and "1 unreadable line(s)" in again.opening_notes()[0]
    again.save(1, complete=True, mode="rate", rating=[2, 2])
    assert path.read_text().splitlines()[1] == '{"row": "\\"b\\"", "finger'
    assert open_store(frame, path).answer(1)["human_rating"] == [2, 2]


def test_scales_and_saved_ratings_off_the_scale(tmp_path, frame):
    steps = scale_steps([RatingLevel(1, "Poor", "bad."), (2, "Fair"), 3])
    assert [s.button_text for s in steps] == ["1 · Poor", "2 · Fair", "3"]
    assert steps[0].tooltip == "1 · Poor: bad."
    for bad, message in (([], "scale is empty"), (["good"], "must be numbers"), ([1, 1], "repeated values")):
        with pytest.raises(ValueError, match=message):
            scale_steps(bad)
    path = tmp_path / "r.jsonl"
    open_store(frame, path).save(0, complete=True, mode="rate", rating=[5, 1])
    with pytest.raises(ValueError, match=r"holds ratings \[5\] that are not on this scale \[1, 2, 3\]"):
        open_store(frame, path, scale=[1, 2, 3])


def test_bad_arguments(tmp_path, frame):
    with pytest.raises(ValueError, match=r"no column\(s\) \['prompt', 'generations'\].*instruction_column="):
        ReviewStore(frame, tmp_path / "r.jsonl", columns={"instruction": "prompt"})
    with pytest.raises(ValueError, match="on_mismatch must be"):
        open_store(frame, tmp_path / "r.jsonl", on_mismatch="drop")
    with pytest.raises(ValueError, match="reset_index"):
        open_store(frame.set_axis(["a", "a", "b"]), tmp_path / "r.jsonl")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        open_store(frame.to_dict("records"), tmp_path / "r.jsonl")


def test_the_store_loads_no_widget_and_no_display():
    code = ("import sys, distilabel_nb.review_store; "
            "print(sorted(m for m in sys.modules if m == 'ipywidgets' or m.startswith(('distilabel_nb.display', "
            "'distilabel_nb.widgets'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_docstring_example_runs():
    assert doctest.testmod(review_store).failed == 0
