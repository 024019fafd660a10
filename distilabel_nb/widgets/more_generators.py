"""The run panel's extra generators: add and remove them, each with its own model and parameters.

The Generator tab holds the first generator's section and, below it, any number of
others (``Add generator``), each a :class:`~distilabel_nb.widgets.sections.ModelSection`
with a Remove button. A run with several generators gives every row an answer from each
(:mod:`distilabel_nb.generators`); the panel shows the model beside each answer, and the
win-rate card of the result once the run is over (:func:`win_rate_card`).

Example:
    >>> from distilabel_nb.widgets import Panel
    >>> panel = Panel()
    >>> second = panel.add_generator(temperature=1.2)
    >>> len(panel.generator_sections()), second.temperature.value
    (2, 1.2)
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.display import panel_html
from distilabel_nb.display.html import to_html
from distilabel_nb.llms.base import LLM
from distilabel_nb.win_rates import compare_models
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.progress import require_ipywidgets
from distilabel_nb.widgets.sections import ModelSection


class MoreGenerators:
    """The generators after the first: their sections, the Add button, a Remove button each.

    Args:
        on_change: Called when a generator is added or removed, or one of its settings changed.

    Attributes:
        sections: the extra generators' sections, in order.
        add_button: adds one (``ipywidgets.Button``).
        widget: the list and the button (``ipywidgets.VBox``).
    """

    def __init__(self, on_change: Callable[[], None]):
        w = require_ipywidgets()
        self._w = w
        self._on_change = on_change
        self.sections: list[ModelSection] = []
        self._rows: list[Any] = []
        self._built: list[tuple[LLM, ModelSection]] = []
        self.add_button = w.Button(description="Add generator", icon="plus",
                                   tooltip="Another model answers every row too; the judge compares their answers",
                                   layout=w.Layout(width="160px", margin="10px 0 0 0"))
        self.add_button.on_click(lambda _: self.add())
        self._list = w.VBox([])
        self.widget = w.VBox([self._list, self.add_button])

    def add(self, given: LLM | None = None, **settings: Any) -> ModelSection:
        """Add a generator (the bundled model by default, or ``given``: a pipeline's own LLM);
        ``settings`` set its widgets, e.g. ``temperature=1.2``.

        Raises:
            ValueError: for a setting the section has no widget for.
        """
        w = self._w
        number = len(self.sections) + 2
        section = ModelSection(f"generator {number}", given, self._on_change, max_new_tokens=256)
        for name, value in settings.items():
            control = getattr(section, name, None)
            if control is None or not hasattr(control, "value"):
                raise ValueError(f"add_generator() got {name}=; a generator's settings are task, backend, model, "
                                 "base_url, gguf_path, max_new_tokens, temperature and concurrency")
            control.value = value
        remove = w.Button(description="Remove", icon="trash", tooltip="Take this generator out of the run",
                          layout=w.Layout(width="110px"))
        row = w.VBox([w.HBox([w.HTML(panel_html.section_title(f"Generator {number}")), remove],
                             layout=w.Layout(align_items="center", grid_gap="10px", margin="14px 0 4px 0")),
                      section.widget])
        remove.on_click(lambda _: self.remove(section))
        self.sections.append(section)
        self._rows.append(row)
        self._list.children = tuple(self._rows)
        self._on_change()
        return section

    def remove(self, section: ModelSection) -> None:
        """Take ``section``'s generator out of the panel."""
        if section not in self.sections:
            return
        position = self.sections.index(section)
        del self.sections[position], self._rows[position]
        self._list.children = tuple(self._rows)
        self._on_change()

    def build(self, cache: bool | str = True) -> list[LLM]:
        """The LLMs of the extra generators that are on."""
        self._built = [(llm, section) for llm, section in ((s.build(cache), s) for s in self.sections) if llm is not None]
        return [llm for llm, _ in self._built]

    def own(self) -> list[LLM]:
        """The LLMs of the last :meth:`build` that the panel made, not a pipeline's own (it closes their clients)."""
        return [llm for llm, section in self._built if section.backend.value != choices.GIVEN]


def generators_of(first: LLM | None, more: list[LLM]) -> LLM | list[LLM] | None:
    """What ``Pipeline(generator=...)`` takes: one LLM, several, or none."""
    llms = ([first] if first is not None else []) + more
    return llms[0] if len(llms) == 1 else llms or None


def win_rate_card(result: pd.DataFrame | None) -> str:
    """The win-rate card of a run with several generators and a judge (``""`` otherwise)."""
    if result is None or result.empty or schema.GENERATION_MODEL not in result.columns:
        return ""
    found = schema.of(result)
    if found.score_column is None:
        return ""
    models = {str(m) for cell in result[schema.GENERATION_MODEL] if isinstance(cell, (list, tuple)) for m in cell}
    if len(models) < 2:
        return ""
    return to_html(compare_models(result))
