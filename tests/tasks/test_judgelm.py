"""JudgeLM: the golden prompt and the corpus of real answers."""

from __future__ import annotations

from distilabel_nb.tasks import JudgeLMTask

from task_cases import FamilyChecks, RATE

GOLDEN_CASES = {
    "judgelm": (JudgeLMTask(), RATE),
}


class TestJudgeLMFamily(FamilyChecks):
    family = "judgelm"
    golden = GOLDEN_CASES
