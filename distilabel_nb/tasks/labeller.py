"""The base of labellers that judge every text of a row in one call.

A row holds an instruction (``input``) and several answers (``generations``); the
labeller writes one judgement per answer, and its output columns are lists aligned
with ``generations``. The number of answers comes from the row, so a missing or extra
judgement is noticed and named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from distilabel_nb.tasks.base import Task
from distilabel_nb.tasks.parsing import OutputParseError, as_text_list
from distilabel_nb.tasks.structured import read_structured


@dataclass
class GenerationsLabeller(Task):
    """Judge each text of the ``texts_input`` column (by default ``generations``).

    Subclasses implement :meth:`parse_output` with a ``num_texts`` argument: how many
    texts were judged (``None``: as many as the answer mentions), name their
    ``score_column`` and declare its :attr:`scale`, which reads each score
    (``int`` on a whole-number scale).
    """

    kind: ClassVar[str] = "labeller"
    input_args_names: ClassVar[list[str]] = ["input", "generations"]
    #: The input holding the list of texts that are judged.
    texts_input: ClassVar[str] = "generations"
    #: What one judgement is called in error messages ("text 2: no rating found").
    item_name: ClassVar[str] = "text"

    def bind_inputs(self, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
        inputs = super().bind_inputs(args, kwargs)
        inputs[self.texts_input] = as_text_list(inputs[self.texts_input], self.texts_input)
        return inputs

    def text_input_names(self) -> list[str]:
        """Every input but the list of judged texts, which :func:`as_text_list` checks."""
        return [name for name in self.input_args_names if name != self.texts_input]

    def count_texts(self, inputs: dict[str, Any]) -> int:
        """How many texts the row asks to judge."""
        return len(as_text_list(inputs[self.texts_input], self.texts_input))

    def parse_output(self, text: str, num_texts: int | None = None) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def parse_output_for(self, text: str, inputs: dict[str, Any]) -> dict[str, Any]:
        model = self.response_model(inputs)
        if model is not None:
            return self.columns_from_answer(read_structured(text, model, self.output_args_names), inputs)
        return self.parse_output(text, num_texts=self.count_texts(inputs))

    def finish(self, columns: dict[str, Any], problems: list[str], count: int) -> dict[str, Any]:
        """Return ``columns``, or raise an :class:`OutputParseError` listing ``problems``."""
        if count == 0:
            raise OutputParseError(f"no {self.item_name} judgements found in the answer", partial=columns)
        if problems:
            raise OutputParseError("; ".join(problems), partial=columns)
        return columns
