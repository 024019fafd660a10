"""Tasks: what a model is asked and how its answer is read."""

from distilabel_nb.tasks.base import OutputParseError, Task
from distilabel_nb.tasks.text_generation import TextGenerationTask
from distilabel_nb.tasks.ultrafeedback import RatingLevel, UltraFeedbackTask

__all__ = ["OutputParseError", "RatingLevel", "Task", "TextGenerationTask", "UltraFeedbackTask"]
