"""Prometheus: golden prompts and the corpus of real answers."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import PrometheusTask
from distilabel_nb.tasks.prometheus import RUBRICS

from task_cases import FamilyChecks, QUESTION, RATE

GOLDEN_CASES = {
    "prometheus_helpfulness_one_answer": (PrometheusTask(), {"input": QUESTION, "generations": ["Lyon."], "reference_answer": "Paris."}),
    "prometheus_reasoning": (PrometheusTask.for_reasoning(), {**RATE, "reference_answer": "Paris is the capital of France."}),
}


class TestPrometheusFamily(FamilyChecks):
    family = "prometheus"
    golden = GOLDEN_CASES


@pytest.mark.parametrize("name", list(RUBRICS))
def test_a_rubric_name_selects_its_question_and_scores(name):
    task = PrometheusTask(rubric=name)
    assert task == PrometheusTask.for_rubric(name) and (task.rubric, task.score_descriptions) == RUBRICS[name]
    assert PrometheusTask(rubric=name.replace("_", " ").title()) == task


@pytest.mark.parametrize("build, message", [
    (lambda: PrometheusTask(rubric="honsty"), "unknown rubric 'honsty'; did you mean 'honesty'? known: 'helpfulness', 'harmlessness', "),
    (lambda: PrometheusTask(rubric="factual validty"), "unknown rubric 'factual validty'; did you mean 'factual_validity'? known: "),
    (lambda: PrometheusTask.for_rubric("reasonning"), "unknown rubric 'reasonning'; did you mean 'reasoning'? known: "),
])
def test_an_unknown_rubric_names_the_close_matches(build, message):
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value).startswith(message)


def test_a_rubric_of_your_own_is_a_question():
    task = PrometheusTask(rubric="Is the response polite?", score_descriptions={1: "Rude.", 2: "Polite."})
    assert task.rubric == "Is the response polite?" and task.scale.high == 2
    assert PrometheusTask(rubric="Is the answer polite").score_descriptions == RUBRICS["helpfulness"][1]  # four words: a criterion
