"""Parametrize the shared family checks of ``task_cases.py`` over each family's golden prompts and corpus."""

from __future__ import annotations

from task_cases import corpus_cases, corpus_task_names


def pytest_generate_tests(metafunc):
    cls = metafunc.cls
    if "golden_name" in metafunc.fixturenames:
        metafunc.parametrize("golden_name", sorted(cls.golden))
    if "corpus_case" in metafunc.fixturenames:
        cases = corpus_cases(cls.family)
        metafunc.parametrize("corpus_case", cases, ids=[case["id"] for case in cases])
    if "corpus_task" in metafunc.fixturenames:
        metafunc.parametrize("corpus_task", corpus_task_names(cls.family))
