"""The examples in the task modules' docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

from distilabel_nb.tasks import registry

MODULES = [
    "base", "parsing", "labeller", "principles", "text_generation", "self_instruct", "evol", "ultrafeedback",
    "judgelm", "ultrajudge", "prometheus", "critique", "scorers", "registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # examples may register tasks
    module = importlib.import_module(f"distilabel_nb.tasks.{name}")
    import distilabel_nb.tasks as tasks
    from pydantic import BaseModel

    result = doctest.testmod(module, extraglobs={**{n: getattr(tasks, n) for n in tasks.__all__}, "BaseModel": BaseModel}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
