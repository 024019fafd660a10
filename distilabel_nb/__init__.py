"""distilabel_nb: build datasets with LLMs in Jupyter — generate, label, look as you go."""

from distilabel_nb.llms import LLM, GenerationParams, LlamaCppLLM, LLMOutput, OpenAILLM
from distilabel_nb.pipeline import DryRunError, Pipeline, pipeline
from distilabel_nb.prompt import Prompt, known_formats, register_format
from distilabel_nb.run import Run, RunEvent, RunState
from distilabel_nb.tasks import OutputParseError, RatingLevel, Task, TextGenerationTask, UltraFeedbackTask

__version__ = "0.1.0"

__all__ = [
    "DryRunError",
    "GenerationParams",
    "LLM",
    "LLMOutput",
    "LlamaCppLLM",
    "OpenAILLM",
    "OutputParseError",
    "Pipeline",
    "Prompt",
    "RatingLevel",
    "Run",
    "RunEvent",
    "RunState",
    "Task",
    "TextGenerationTask",
    "UltraFeedbackTask",
    "known_formats",
    "pipeline",
    "register_format",
]
