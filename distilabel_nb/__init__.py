"""distilabel_nb: build datasets with LLMs in Jupyter — generate, label, look as you go.

The names below load on first use (``from distilabel_nb import Pipeline`` imports the
pipeline module then), so ``import distilabel_nb`` stays quick.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distilabel_nb.llms import LLM, GenerationParams, LlamaCppLLM, LLMOutput, OpenAILLM
    from distilabel_nb.pipeline import DryRunError, Pipeline, pipeline
    from distilabel_nb.prompt import Prompt, known_formats, register_format
    from distilabel_nb.run import Run, RunEvent, RunState
    from distilabel_nb.tasks import OutputParseError, RatingLevel, Task, TextGenerationTask, UltraFeedbackTask
    from distilabel_nb.audit import audit_labels
    from distilabel_nb.pointwise import compare_modes
    from distilabel_nb.quality import quality_report
    from distilabel_nb.win_rates import compare_models, win_rates

__version__ = "0.1.0"

_EXPORTS = {
    "LLM": "distilabel_nb.llms",
    "GenerationParams": "distilabel_nb.llms",
    "LlamaCppLLM": "distilabel_nb.llms",
    "LLMOutput": "distilabel_nb.llms",
    "OpenAILLM": "distilabel_nb.llms",
    "DryRunError": "distilabel_nb.pipeline",
    "Pipeline": "distilabel_nb.pipeline",
    "pipeline": "distilabel_nb.pipeline",
    "Prompt": "distilabel_nb.prompt",
    "known_formats": "distilabel_nb.prompt",
    "register_format": "distilabel_nb.prompt",
    "Run": "distilabel_nb.run",
    "RunEvent": "distilabel_nb.run",
    "RunState": "distilabel_nb.run",
    "OutputParseError": "distilabel_nb.tasks",
    "RatingLevel": "distilabel_nb.tasks",
    "Task": "distilabel_nb.tasks",
    "TextGenerationTask": "distilabel_nb.tasks",
    "UltraFeedbackTask": "distilabel_nb.tasks",
    "audit_labels": "distilabel_nb.audit",
    "compare_modes": "distilabel_nb.pointwise",
    "quality_report": "distilabel_nb.quality",
    "compare_models": "distilabel_nb.win_rates",
    "win_rates": "distilabel_nb.win_rates",
}

#: Exported functions named like the submodule that holds them: the name stays the function.
_SHADOWED = ("pipeline", "win_rates")

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load an exported name, or a submodule (``distilabel_nb.runtime``), on first use."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    else:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """This package's module type: ``distilabel_nb.pipeline`` stays the ``pipeline()`` function.

    Importing the submodule of the same name sets it on the package; the name belongs
    to the function (as when every name was imported up front), so that is skipped.
    The same holds for ``win_rates``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
