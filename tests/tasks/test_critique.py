"""Critique and UltraCM: golden prompts and the corpus of real answers."""

from __future__ import annotations

from distilabel_nb.tasks import CritiqueTask, UltraCMTask

from task_cases import FamilyChecks, QUESTION, RATE

GOLDEN_CASES = {
    "critique": (CritiqueTask(), RATE),
    "ultracm_one_answer": (UltraCMTask(), {"input": QUESTION, "generations": ["Lyon."]}),
    "ultracm": (UltraCMTask(), RATE),
}


class TestCritiqueFamily(FamilyChecks):
    family = "critique"
    golden = GOLDEN_CASES
