"""Quality and complexity scorers: golden prompts and the corpus of real answers."""

from __future__ import annotations

from distilabel_nb.tasks import ComplexityScorerTask, QualityScorerTask

from task_cases import FamilyChecks, RATE

GOLDEN_CASES = {
    "quality_scorer": (QualityScorerTask(), RATE),
    "complexity_scorer": (ComplexityScorerTask(), {"instructions": ["Name a color.", "Prove that there are infinitely many primes."]}),
}


class TestScorersFamily(FamilyChecks):
    family = "scorers"
    golden = GOLDEN_CASES
