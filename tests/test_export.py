"""Preference pairs and file exports."""

import json

import pandas as pd
import pytest

from distilabel_nb import Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.export import PAIR_COLUMNS, to_hf_dataset, to_jsonl, to_parquet, to_preference_pairs


def frame(generations, ratings, **extra):
    return pd.DataFrame({"input": [f"q{i}" for i in range(len(generations))], "generations": generations, "rating": ratings, **extra})


def pairs(df, **kwargs):
    return [(r.chosen, r.rejected) for r in to_preference_pairs(df, **kwargs).itertuples()]


def test_best_worst_one_pair_per_row_with_ratings_models_and_source():
    df = frame([["a", "b", "c"], ["x", "y"]], [[2, 5, 1], [1, 4]],
               generation_model=[["m1", "m2", "m3"], ["m1", "m2"]])
    df.index = ["r0", "r1"]
    out = to_preference_pairs(df)
    assert list(out.columns) == PAIR_COLUMNS
    assert out.to_dict("records") == [
        {"prompt": "q0", "chosen": "b", "rejected": "c", "chosen_rating": 5.0, "rejected_rating": 1.0,
         "chosen_model": "m2", "rejected_model": "m3", "source_row": "r0"},
        {"prompt": "q1", "chosen": "y", "rejected": "x", "chosen_rating": 4.0, "rejected_rating": 1.0,
         "chosen_model": "m2", "rejected_model": "m1", "source_row": "r1"},
    ]


def test_ties_make_no_pair_and_first_of_equals_wins():
    df = frame([["a", "b"], ["a", "b", "c", "d"]], [[3, 3], [5, 2, 5, 2]])
    assert pairs(df) == [("a", "b")]  # row 0 all tied: dropped; row 1: first top vs first bottom


@pytest.mark.parametrize("strategy, expected", [
    ("best_worst", [("b", "a")]),
    ("best_each", [("b", "a"), ("b", "c")]),
    ("all_pairs", [("b", "a"), ("c", "a"), ("b", "c")]),  # generation order of the two
])
def test_strategies(strategy, expected):
    df = frame([["a", "b", "c"]], [[1, 3, 2]])
    assert pairs(df, strategy=strategy) == expected


def test_all_pairs_skips_ties():
    df = frame([["a", "b", "c"]], [[2, 2, 1]])
    assert pairs(df, strategy="all_pairs") == [("a", "c"), ("b", "c")]


def test_missing_ratings_failed_rows_and_single_answers_are_left_out():
    df = frame(
        [["a", "b", "c"], ["x", "y"], ["only"], ["p", "q"]],
        [[None, 4.0, float("nan")], None, [5.0], [4.0, 2.0]],
        labelling_error=[None, "no ratings found", None, None],
    )
    assert pairs(df) == [("p", "q")]  # row 0 has one rated answer, row 1 failed, row 2 has one answer


def test_rows_whose_labelling_failed_give_no_pair_unless_asked():
    # A scale echo reads as ratings 1 and 2 but fails the parse: not a judgement to train on.
    df = frame(
        [["a", "b"], ["x", "y"]],
        [[1.0, 2.0], [5.0, 3.0]],
        labelling_error=["text 1: no rationale found; text 2: no rationale found", None],
    )
    assert pairs(df) == [("x", "y")]
    assert pairs(df, include_failed=True) == [("b", "a"), ("x", "y")]


def test_min_margin():
    df = frame([["a", "b"], ["c", "d"]], [[4, 3], [5, 1]])
    assert pairs(df, min_margin=2) == [("c", "d")]


def test_score_column_for_critique_tasks_and_clear_errors():
    df = pd.DataFrame({"input": ["q"], "generations": [["a", "b"]], "score": [[2, 9]]})
    assert pairs(df, rating_column="score") == [("b", "a")]
    assert pairs(df) == [("b", "a")]  # no schema attached: the column named like a score, holding numbers
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['rating'\].*available.*'verdict'"):
        to_preference_pairs(df.rename(columns={"score": "verdict"}), rating_column="rating")
    with pytest.raises(ValueError, match="Unknown strategy 'best'"):
        to_preference_pairs(df, "score", strategy="best")
    with pytest.raises(ValueError, match="min_margin"):
        to_preference_pairs(df, "score", min_margin=-1)


def test_empty_result_keeps_columns():
    out = to_preference_pairs(frame([["a", "b"]], [[1, 1]]))
    assert out.empty and list(out.columns) == PAIR_COLUMNS


def test_pairs_from_a_real_pipeline_result(scripted_llm):
    ratings = "#### Output for Text 1\nRating: 2\nRationale: thin\n#### Output for Text 2\nRating: 5\nRationale: great"
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"answer {i}", name="gen")
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: ratings, name="judge")
    df = Pipeline(generator=generator, labeller=labeller).generate(  # the judge answers by place: no shuffle
        [{"input": "q0"}, {"input": "q1"}], num_generations=2, display_progress_bar=False, shuffle_before_labelling=False
    )
    out = to_preference_pairs(df)
    assert out[["prompt", "chosen", "rejected", "chosen_model"]].values.tolist() == [
        ["q0", "answer 1", "answer 0", "gen"], ["q1", "answer 1", "answer 0", "gen"],
    ]


def test_jsonl_round_trip_keeps_lists_and_unicode(tmp_path):
    df = frame([["é", "b"]], [[1.0, 2.0]])
    path = to_jsonl(df, tmp_path / "sub" / "out.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"input": "q0", "generations": ["é", "b"], "rating": [1.0, 2.0]}
    assert "é" in lines[0]


def test_parquet_round_trip_and_pairs_from_it(tmp_path):
    df = frame([["a", "b"], ["c", "d"]], [[1.0, 2.0], [None, 3.0]])
    path = to_parquet(df, tmp_path / "out.parquet")
    back = pd.read_parquet(path)
    assert list(back["generations"][0]) == ["a", "b"]
    assert pairs(back) == [("b", "a")]  # numpy arrays from parquet are read as lists


def test_hf_dataset():
    ds = to_hf_dataset(frame([["a", "b"]], [[1.0, 2.0]]))
    assert ds.column_names == ["input", "generations", "rating"]
    assert ds[0]["generations"] == ["a", "b"]
