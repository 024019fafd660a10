"""Critique and UltraCM: golden prompts and the corpus of real answers."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import CritiqueTask, UltraCMTask

from task_cases import QUESTION, RATE, check_aligned, check_corpus_answer, check_fast, check_golden, corpus_cases, corpus_task_names, load_corpus

GOLDEN_CASES = {
    "critique": (CritiqueTask(), RATE),
    "ultracm_one_answer": (UltraCMTask(), {"input": QUESTION, "generations": ["Lyon."]}),
    "ultracm": (UltraCMTask(), RATE),
}
CORPUS = load_corpus("critique")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_rendered_prompt_matches_golden(name):
    check_golden(name, *GOLDEN_CASES[name])


@pytest.mark.parametrize("case", corpus_cases("critique"), ids=lambda case: case["id"])
def test_corpus_answer(case):
    check_corpus_answer(CORPUS, case)


@pytest.mark.parametrize("case", corpus_cases("critique"), ids=lambda case: case["id"])
def test_outputs_stay_aligned_with_the_rated_texts(case):
    check_aligned(CORPUS, case)


@pytest.mark.parametrize("name", corpus_task_names("critique"))
def test_parsers_stay_fast_on_pathological_answers(name):
    check_fast(name)
