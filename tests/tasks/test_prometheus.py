"""Prometheus: golden prompts and the corpus of real answers."""

from __future__ import annotations

from distilabel_nb.tasks import PrometheusTask

from task_cases import FamilyChecks, QUESTION, RATE

GOLDEN_CASES = {
    "prometheus_helpfulness_one_answer": (PrometheusTask(), {"input": QUESTION, "generations": ["Lyon."], "reference_answer": "Paris."}),
    "prometheus_reasoning": (PrometheusTask.for_reasoning(), {**RATE, "reference_answer": "Paris is the capital of France."}),
}


class TestPrometheusFamily(FamilyChecks):
    family = "prometheus"
    golden = GOLDEN_CASES
