"""Quality and complexity scorers: golden prompts and the corpus of real answers."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import ComplexityScorerTask, QualityScorerTask

from task_cases import RATE, check_aligned, check_corpus_answer, check_fast, check_golden, corpus_cases, corpus_task_names, load_corpus

GOLDEN_CASES = {
    "quality_scorer": (QualityScorerTask(), RATE),
    "complexity_scorer": (ComplexityScorerTask(), {"instructions": ["Name a color.", "Prove that there are infinitely many primes."]}),
}
CORPUS = load_corpus("scorers")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_rendered_prompt_matches_golden(name):
    check_golden(name, *GOLDEN_CASES[name])


@pytest.mark.parametrize("case", corpus_cases("scorers"), ids=lambda case: case["id"])
def test_corpus_answer(case):
    check_corpus_answer(CORPUS, case)


@pytest.mark.parametrize("case", corpus_cases("scorers"), ids=lambda case: case["id"])
def test_outputs_stay_aligned_with_the_rated_texts(case):
    check_aligned(CORPUS, case)


@pytest.mark.parametrize("name", corpus_task_names("scorers"))
def test_parsers_stay_fast_on_pathological_answers(name):
    check_fast(name)
