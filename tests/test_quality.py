"""Quality report, near-duplicates, filters before export, and the review order."""

from __future__ import annotations

import pandas as pd
import pytest

from scripted import ScriptedLLM, blocks, by_content, prompt_text, texts_of
from distilabel_nb import Pipeline
from distilabel_nb.audit import audit_labels
from distilabel_nb.duplicates import find_duplicates
from distilabel_nb.export import to_preference_pairs
from distilabel_nb.filters import DropNearDuplicates, KeepSurvivedSwap, MinMargin, MinRating, filter_rows
from distilabel_nb.quality import failure_kind, quality_report
from distilabel_nb.tasks import UltraFeedbackTask
from distilabel_nb.triage import ordered, review_order
from distilabel_nb.widgets.review import Review

KNOWN = [
    "What is the capital of France?",      # 0
    "Write a haiku about the sea.",        # 1
    "what is the  capital of FRANCE?",     # 2: near 0 (case, spacing)
    "Name three primary colours.",         # 3
    "Write a haiku about the sea.",        # 4: exact 1
    "Name three primary colors.",          # 5: near 3 (one letter)
    "What is 12 * 9?",                     # 6
    "What is 12 * 8?",                     # 7: another question, not a duplicate
    "Explain how a rainbow forms.",        # 8
    "Write a haiku about the sea.",        # 9: exact 1
]


def test_near_duplicates_in_a_known_set():
    found = find_duplicates(KNOWN, list(range(len(KNOWN))))
    pairs = {(row.key, row.duplicate_of, row.match) for row in found.itertuples()}
    assert pairs == {(2, 0, "near"), (4, 1, "exact"), (5, 3, "near"), (9, 1, "exact")}
    assert found.set_index("key").at[5, "similarity"] >= 0.8
    assert set(found["group"]) == {0, 1, 3}
    stricter = find_duplicates(KNOWN, list(range(len(KNOWN))), threshold=0.95)
    assert set(stricter["key"]) == {2, 4, 9}  # case and spacing only, and the exact repeats
    with pytest.raises(ValueError, match="threshold"):
        find_duplicates(KNOWN, list(range(len(KNOWN))), threshold=0)


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "input": KNOWN[:6],
        "generations": [["Paris.", "Lyon."], ["Waves fold and fold", "The sea."], ["Paris.", "Paris."],
                        ["Red, yellow, blue.", "Red."], ["Sea, sea.", "Salt and foam"], [None, None]],
        "rating": [[5, 1], [4, 4], [5, 5], [2, 1], [5, None], None],
        "labelling_error": [None, None, None, None, "text 2: no rating found", "not labelled: the generation failed"],
        "generation_error": [None] * 5 + ["APIConnectionError: Connection error."],
    })


def test_quality_report_facts():
    df = frame()
    report = quality_report(df, task=UltraFeedbackTask())
    assert {name: str(scale) for name, scale in report.scales.items()} == {"rating": "1–5"}
    assert report.ratings.index.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert report.ratings["rating"].tolist() == [2, 1, 0, 2, 4]
    summary = report.rating_summary.loc["rating"]
    assert (summary["read"], summary["missing"]) == (9, 1)
    assert (report.ties["rating"].count, report.ties["rating"].total) == (2, 4)
    assert report.duplicate_rows("instruction") == [2, 4, 5]
    answers = report.duplicates[report.duplicates["kind"] == "answer"]
    assert {(k, d) for k, d in zip(answers["key"], answers["duplicate_of"])} == {((2, 1), (0, 1)), ((2, 2), (0, 1))}
    lengths = report.length_summary
    assert lengths.loc["answer", "missing"] == 2 and lengths.loc["instruction", "max"] == max(map(len, KNOWN[:6]))
    kinds = dict(zip(zip(report.failures["column"], report.failures["kind"]), report.failures["rows"]))
    assert kinds == {("labelling_error", "no rating found"): 1, ("labelling_error", "not labelled: the generation failed"): 1,
                     ("generation_error", "APIConnectionError: Connection error."): 1}
    text = repr(report)
    assert "duplicate instructions  1 exact, 2 near" in text and "9 read on 1–5" in text
    assert failure_kind("text 2: rating 7 is outside 1-5") == "text N: rating N is outside N-N"


def test_quality_report_guesses_score_columns_and_checks_them():
    df = frame().assign(human_rating=[[5, 2]] * 6, note=["rating of the day"] * 6)
    assert list(quality_report(df).ratings.columns) == ["rating", "human_rating"]
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['score'\]"):
        quality_report(df, columns=["score"])


def test_filters_say_what_they_removed_and_why():
    df = frame()
    result = filter_rows(df, [DropNearDuplicates(), MinRating(3), MinMargin(1)])
    assert result.steps[["filter", "rows_in", "removed", "rows_out"]].values.tolist() == [
        ["near-duplicates", 6, 3, 3], ["minimum rating", 3, 1, 2], ["minimum margin", 2, 1, 1]]
    reasons = dict(zip(result.removed["row"], result.removed["reason"]))
    assert reasons[4] == "input repeats row 1"
    assert reasons[2] == "input is a near-duplicate (1.00) of row 0"
    assert reasons[3] == "best rating 2 < 3" and reasons[1] == "margin 0 < 1 (best 4, worst 4)"
    assert result.kept.index.tolist() == [0]
    only_answers = filter_rows(df.iloc[[0, 2]].reset_index(drop=True).assign(input=["a", "b"]), [DropNearDuplicates()])
    assert only_answers.removed["reason"].tolist() == ["answers 1 and 2 are near-duplicates (1.00)"]
    with pytest.raises(TypeError, match="Filter objects"):
        filter_rows(df, [lambda frame: frame])
    with pytest.raises(ValueError, match="column 'score'"):
        filter_rows(df, [MinRating(3, column="score")])


def half_echo(prompt, _i):
    """Rates by content for even questions, echoes the places for odd ones."""
    number = int(prompt_text(prompt).split("question ")[1].split("?")[0])
    if number % 2:
        return blocks(range(1, len(texts_of(prompt)) + 1))
    return by_content(prompt, _i)


def swapped_rows():
    judge = ScriptedLLM(UltraFeedbackTask(), half_echo)
    rows = pd.DataFrame({"input": [f"question {i}?" for i in range(6)],
                         "generations": [["a careful answer", "wrong"], ["a careful answer", "wrong"]] * 3})
    df = Pipeline(labeller=judge).generate(rows, display_progress_bar=False)
    return df, audit_labels(df, judge, sample=4, seed=0)


def test_pairs_keep_only_preferences_that_survived_the_swap():
    df, audit = swapped_rows()
    audited = set(audit.rows["row"])
    assert len(audited) == 4 and set(audit.flipped.index) == {r for r in audited if r % 2}  # the echoed rows
    pairs = to_preference_pairs(df, filters=[KeepSurvivedSwap(audit), MinMargin(1)])
    assert pairs["source_row"].tolist() == sorted(r for r in audited if r % 2 == 0)
    steps = pairs.attrs["filters"]
    assert [(s["filter"], s["removed"]) for s in steps] == [("survived swap", 6 - len(pairs)), ("minimum margin", 0)]
    why = {r["row"]: r["reason"] for r in steps[0]["rows"]}
    assert why == {r: "not audited" if r not in audited else "preference flipped when the answers were swapped"
                   for r in range(6) if r not in set(pairs["source_row"])}
    kept = to_preference_pairs(df, filters=[KeepSurvivedSwap(audit, unaudited="keep")])
    assert kept["source_row"].tolist() == sorted(r for r in range(6) if r not in audit.flipped.index)
    assert "filters" not in to_preference_pairs(df).attrs


def test_review_shows_flipped_then_near_ties_first(tmp_path):
    df, audit = swapped_rows()
    assert list(audit.flipped.index) == [1, 3]
    df.at[2, "rating"] = [3.0, 3.0]
    df.at[4, "rating"] = [4.0, 3.5]
    assert review_order(df, audit) == [1, 3, 2, 4, 5, 0]  # flipped, tied, near-ties (0.5, then 1), the rest
    assert review_order(df) == [2, 4, 1, 3, 5, 0]  # without the audit: the tie, then margins of 0.5, then 1
    review = Review(df, save_to=tmp_path / "r.jsonl", order=audit)
    assert review.df.index.tolist() == [1, 3, 2, 4, 5, 0] and review.position == 0
    assert "question 1?" in review.instruction_view.value
    review.rating_inputs[0].value, review.rating_inputs[1].value = 5, 1
    again = Review(df, save_to=tmp_path / "r.jsonl")  # the answer is kept by row, whatever the order
    assert again.to_dataframe().at[1, "human_rating"] == [5, 1]
    with pytest.raises(ValueError, match="labels not in the DataFrame"):
        ordered(df, [0, 99])
    with pytest.raises(ValueError, match="order must be"):
        ordered(df, "random")
