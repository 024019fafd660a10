"""Position-bias audit and the pointwise remedy: scripted judges for the logic, the bundled model for the figure."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from scripted import BAD, GOOD, ScriptedLLM, blocks, by_content, by_position, prompt_text, texts_of
from distilabel_nb import Pipeline
from distilabel_nb.audit import audit_labels, preference
from distilabel_nb.pointwise import PointwiseLLM, compare_modes, pointwise, rate_pointwise
from distilabel_nb.tasks import JudgeLMTask, UltraFeedbackTask








def rows(n: int = 10) -> pd.DataFrame:
    """Labelled rows: the good answer first in even rows, second in odd ones."""
    generations = [[GOOD, BAD] if i % 2 == 0 else [BAD, GOOD] for i in range(n)]
    return pd.DataFrame({"input": [f"question {i}?" for i in range(n)], "generations": generations})


def labelled(judge, n: int = 10) -> pd.DataFrame:
    """The rows labelled in the order given (the audit of a shuffled run: tests/test_multigen.py)."""
    return Pipeline(labeller=judge).generate(rows(n), display_progress_bar=False, shuffle_before_labelling=False)


def test_a_judge_that_rates_by_position_is_found_inconsistent():
    judge = ScriptedLLM(UltraFeedbackTask(), by_position, name="echo")
    df = labelled(judge)
    assert all(r == [1.0, 2.0] for r in df["rating"])  # what the pipeline stored: position, not content
    sent_before = len(judge.history)
    audit = audit_labels(df, judge)
    assert audit.calls == 10 and len(judge.history) == sent_before + 10
    assert audit.position_consistency.count == 0 and audit.position_consistency.total == 10
    assert audit.position_consistency.high < 0.35  # Wilson: 0 of 10 is at most ~28%
    assert len(audit.flipped) == 10 and audit.flipped["rating_swapped"].tolist() == [[2.0, 1.0]] * 10
    place, echo = audit.position_preference()
    assert (place, echo.count, echo.total) == (2, 10, 10)
    assert audit.verdict().startswith("the labeller preferred whichever answer came second in 10 of 10 swapped rows: "
                                      "these ratings mostly reflect position, not quality.")
    assert audit.by_position["shift"].tolist() == [1.0, -1.0]
    assert audit.by_position["shown_here_mean"].tolist() == [1.0, 2.0]
    assert audit.tie_rate.count == 0 and audit.failure_rate.count == 0


def test_a_judge_that_rates_by_content_is_consistent_and_a_second_audit_is_free():
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="reader")
    df = labelled(judge)
    audit = audit_labels(df, judge)
    assert (audit.position_consistency.count, audit.position_consistency.total) == (10, 10)
    assert audit.flipped.empty and audit.position_preference()[0] is None
    assert "survived the swap in 10 of 10 rows: these ratings follow the answers" in audit.verdict()
    assert audit.by_position["shift"].tolist() == [0.0, 0.0]
    sent = len(judge.history)
    again = audit_labels(df, judge)
    assert again.calls == 0 and len(judge.history) == sent
    assert again.rows["swapped"].tolist() == audit.rows["swapped"].tolist()


def test_the_swapped_order_is_what_the_judge_saw():
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="reader")
    df = labelled(judge, 2)
    audit_labels(df, judge)
    assert texts_of(judge.history[-2]) == [BAD, GOOD] and texts_of(judge.history[-1]) == [GOOD, BAD]
    three = pd.DataFrame({"input": ["q?"], "generations": [["x", GOOD, "y"]], "rating": [[1.0, 5.0, 1.0]]})
    audit = audit_labels(three, judge)
    assert texts_of(judge.history[-1]) == ["y", GOOD, "x"]
    assert audit.rows.at[0, "swapped"] == [1.0, 5.0, 1.0] and audit.rows.at[0, "outcome"] == "consistent"


def test_a_sample_is_seeded_and_ties_and_failures_are_counted_apart():
    def mixed(prompt, _i):
        texts = texts_of(prompt)
        if "question 3?" in prompt_text(prompt):
            return "I cannot rate these."
        if "question 4?" in prompt_text(prompt):
            return blocks([3, 3])
        return blocks(5 if "careful" in t else 1 for t in texts)

    judge = ScriptedLLM(UltraFeedbackTask(), mixed, name="mixed")
    df = labelled(judge)
    full = audit_labels(df, judge)
    assert full.failure_rate.count == 1 and full.tie_rate.count == 1
    assert (full.position_consistency.count, full.position_consistency.total) == (8, 8)
    assert "1 tied and 1 could not be read" in full.verdict()
    first = audit_labels(df, judge, sample=4, seed=1)
    assert first.n_audited == 4 and first.skipped == {"not in the sample": 6}
    assert first.rows["row"].tolist() == audit_labels(df, judge, sample=4, seed=1).rows["row"].tolist()
    assert audit_labels(df, judge, sample=0.5).n_audited == 5


def test_rows_without_two_answers_are_skipped_and_bad_calls_explained():
    judge = ScriptedLLM(UltraFeedbackTask(), by_content)
    df = pd.DataFrame({"input": ["a", "b"], "generations": [[GOOD], [GOOD, None]], "rating": [[5.0], [5.0, None]]})
    audit = audit_labels(df, judge)
    assert audit.n_audited == 0 and audit.skipped == {"fewer than two answers": 1, "an answer is missing or empty": 1}
    assert audit.verdict() == "nothing was audited: no row had two or more answers to swap."
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['rating'\]"):
        audit_labels(df.drop(columns="rating"), judge)
    with pytest.raises(TypeError, match="labelling task"):
        audit_labels(df, object())
    with pytest.raises(ValueError, match="sample must be"):
        audit_labels(df, judge, sample=0)


def test_self_consistency_asks_again_at_a_temperature():
    judge = ScriptedLLM(UltraFeedbackTask(), by_content, name="reader", temperature=0.0)
    df = labelled(judge, 4)
    audit = audit_labels(df, judge, temperature=1.0)
    assert audit.calls == 8 and judge.params.temperature == 0.0
    assert (audit.self_consistency.count, audit.self_consistency.total) == (4, 4)
    assert audit_labels(df, judge, temperature=1.0).calls == 0


def test_pointwise_rates_each_answer_alone_and_is_a_pipeline_labeller():
    echo = ScriptedLLM(UltraFeedbackTask(), by_position, name="echo")
    judge = pointwise(echo)
    assert isinstance(judge, PointwiseLLM) and judge.model_name == "echo" and judge.task is echo.task
    df = Pipeline(labeller=judge).generate(rows(3), display_progress_bar=False)
    assert len(echo.history) == 6 and all(len(texts_of(p)) == 1 for p in echo.history)
    assert df["rating"].tolist() == [[1.0, 1.0]] * 3  # one answer per call: the echo has one place to rate
    assert len(df.at[0, "labelling_prompt"]) == 2 and "[text 2]" in df.at[0, "raw_labelling_response"]
    assert df["labelling_error"].isna().all()
    again = Pipeline(labeller=judge).generate(rows(3), display_progress_bar=False)
    assert len(echo.history) == 6 and again["rating"].tolist() == df["rating"].tolist()


def test_pointwise_errors_name_the_answer():
    def half(prompt, _i):
        return "no idea" if BAD in prompt_text(prompt) else blocks([5])

    frame, calls = rate_pointwise(rows(2), ScriptedLLM(UltraFeedbackTask(), half))
    assert calls == 4
    assert frame.at[0, "rating"] == [5.0, None] and frame.at[0, "labelling_error"].startswith("text 2: ")
    assert frame.at[1, "rating"] == [None, 5.0] and frame.at[1, "labelling_error"].startswith("text 1: ")


def test_compare_modes_on_the_same_rows():
    echo = ScriptedLLM(UltraFeedbackTask(), by_position, name="echo")
    df = labelled(echo, 6)
    before = len(echo.history)
    comparison = compare_modes(df, echo)
    assert comparison.listwise.position_consistency.count == 0
    assert comparison.pointwise.position_consistency.total == 0  # every pointwise verdict is a 1-1 tie
    assert comparison.pointwise.tie_rate.count == 6 and comparison.pointwise.calls == 0
    assert comparison.calls == len(echo.history) - before == 6 + 12
    table = comparison.table()
    assert table.loc["list-wise", "position_consistency"] == 0 and table.loc["pointwise", "tie_rate"] == 1
    assert "pointwise, where each answer is rated alone, in 0 of 0" in comparison.verdict()

    reader = ScriptedLLM(UltraFeedbackTask(), by_content, name="reader")
    both = compare_modes(labelled(reader, 6), reader)
    assert both.listwise.position_consistency.value == 1 and both.pointwise.position_consistency.value == 1
    assert (both.agreement.count, both.agreement.total) == (6, 6)


def test_judgelm_rows_are_swapped_too():
    def scores(prompt, _i):
        answers = re.findall(r"answer begins\]\n(.*?)\n\[Assistant", prompt_text(prompt), re.DOTALL)
        return " ".join("9" if "careful" in a else "2" for a in answers) + "\nThe careful one is right."

    judge = ScriptedLLM(JudgeLMTask(), scores)
    audit = audit_labels(labelled(judge, 4), judge)
    assert audit.position_consistency.value == 1 and audit.score_column == "rating"


def test_preference():
    assert preference([1, 2]) == (1, False, 1.0)
    assert preference([5, 5, 1]) == (None, True, 0.0)
    assert preference([5]) == (None, False, None)


def test_a_pointwise_labeller_travels_to_a_worker():
    import pickle

    from distilabel_nb import OpenAILLM

    judge = pointwise(OpenAILLM("judge-model", UltraFeedbackTask(structured=True), base_url="http://127.0.0.1:9/v1", api_key="k"))
    twin = pickle.loads(pickle.dumps(judge))
    assert isinstance(twin, PointwiseLLM) and twin.model_name == "judge-model" and twin.task.structured
    assert twin.prepare({"input": "q?", "generations": ["a", "b"]}).keys == judge.prepare({"input": "q?", "generations": ["a", "b"]}).keys


def test_a_second_ask_at_a_temperature_shares_the_model():
    from distilabel_nb.audit import with_temperature

    judge = ScriptedLLM(UltraFeedbackTask(), by_content, temperature=0.0)
    warm = with_temperature(judge, 0.9)
    assert warm.params.temperature == 0.9 and judge.params.temperature == 0.0 and warm.respond is judge.respond
    assert with_temperature(pointwise(judge), 0.9).inner.params.temperature == 0.9


def test_docstring_examples_run():
    import doctest

    from distilabel_nb import audit, duplicates, filters, pointwise as pointwise_module, quality, report, triage

    for module in (audit, duplicates, filters, pointwise_module, quality, report, triage):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


@pytest.mark.slow
def test_the_bundled_model_audited_in_both_modes(shared_llama):
    """The real judge: every swapped and pointwise call is made once, read back, and paid for once."""
    from distilabel_nb import LlamaCppLLM

    judge = LlamaCppLLM(task=UltraFeedbackTask(structured=True, rationale_max_chars=60), model=shared_llama,
                        max_new_tokens=96, temperature=0.0)
    df = labelled(judge, 2)
    assert df["labelling_error"].isna().all() and all(len(r) == 2 for r in df["rating"])
    modes = compare_modes(df, judge)
    assert (modes.listwise.calls, modes.calls) == (2, 2 + 4)  # 2 swapped rows, then 4 answers alone
    assert modes.listwise.failure_rate.count == 0 and modes.pointwise.failure_rate.count == 0
    assert set(modes.listwise.rows["outcome"]) <= {"consistent", "flipped", "tie"}
    assert all(len(p) == 2 for p in modes.pointwise_labels["labelling_prompt"])
    assert modes.pointwise.position_consistency.count == modes.pointwise.position_consistency.total  # alone: no place
    assert compare_modes(df, judge).calls == 0
