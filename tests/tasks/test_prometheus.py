"""Prometheus: golden prompts and the corpus of real answers."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import PrometheusTask

from task_cases import QUESTION, RATE, check_aligned, check_corpus_answer, check_fast, check_golden, corpus_cases, corpus_task_names, load_corpus

GOLDEN_CASES = {
    "prometheus_helpfulness_one_answer": (PrometheusTask(), {"input": QUESTION, "generations": ["Lyon."], "reference_answer": "Paris."}),
    "prometheus_reasoning": (PrometheusTask.for_reasoning(), {**RATE, "reference_answer": "Paris is the capital of France."}),
}
CORPUS = load_corpus("prometheus")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_rendered_prompt_matches_golden(name):
    check_golden(name, *GOLDEN_CASES[name])


@pytest.mark.parametrize("case", corpus_cases("prometheus"), ids=lambda case: case["id"])
def test_corpus_answer(case):
    check_corpus_answer(CORPUS, case)


@pytest.mark.parametrize("case", corpus_cases("prometheus"), ids=lambda case: case["id"])
def test_outputs_stay_aligned_with_the_rated_texts(case):
    check_aligned(CORPUS, case)


@pytest.mark.parametrize("name", corpus_task_names("prometheus"))
def test_parsers_stay_fast_on_pathological_answers(name):
    check_fast(name)
