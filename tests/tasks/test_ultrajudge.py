"""UltraJudge: the golden prompt and the corpus of real answers."""

from __future__ import annotations

from distilabel_nb.tasks import UltraJudgeTask

from task_cases import FamilyChecks, RATE

GOLDEN_CASES = {
    "ultrajudge": (UltraJudgeTask(), RATE),
}


class TestUltraJudgeFamily(FamilyChecks):
    family = "ultrajudge"
    golden = GOLDEN_CASES
