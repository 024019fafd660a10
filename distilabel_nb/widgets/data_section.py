"""The run panel's Data tab: choose the dataset, preview it, map its columns to the task inputs.

The preview of a wide frame (a pipeline's result, say) shows the columns the tasks read
first and only a few others, each cell cut short (:func:`preview_columns`); every column
is still in :attr:`DataSection.frame`.

Example:
    >>> import pandas as pd
    >>> section = DataSection(pd.DataFrame({"question": ["2 + 2?"]}), lambda: None)
    >>> section.set_inputs(["input"]); section.mapping["input"].value
    'question'
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cli import bundled_instructions
from distilabel_nb.display import panel_html
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.progress import require_ipywidgets

if TYPE_CHECKING:
    import ipywidgets

STYLE = {"description_width": "112px"}


def _show(widget: "ipywidgets.Widget", visible: bool) -> None:
    widget.layout.display = "" if visible else "none"

#: Most columns the preview of the first rows shows.
PREVIEW_COLUMNS = 4


def preview_columns(frame: pd.DataFrame, task_columns: Sequence[str], limit: int = PREVIEW_COLUMNS) -> list[str]:
    """The columns the Data tab previews: those the tasks read, then a few others.

    After the task's columns come, for a pipeline's result, its answers and scores, then
    the other input columns; prompts, raw answers, model names, errors and usage columns
    are never previewed (they are all in the frame, and named under the table).

    Example:
        >>> frame = pd.DataFrame({"id": [7], "generation_prompt": ["…"], "question": ["2 + 2?"],
        ...                       "generations": [["4", "5"]], "rating": [[5, 1]]})
        >>> preview_columns(frame, ["question"])
        ['question', 'generations', 'rating', 'id']
    """
    found = schema.of(frame)
    hidden = set(found.provenance) | set(found.errors) | set(found.usage)
    by_name = {str(c): c for c in frame.columns}
    answers = [schema.GENERATIONS] if schema.GENERATIONS in by_name else []
    order = [*task_columns, *found.generated, *answers, *found.scores, *found.labelled, *found.inputs, *by_name]
    chosen = [name for name in dict.fromkeys(map(str, order)) if name in by_name and name not in hidden]
    return [by_name[name] for name in chosen[:max(limit, len(task_columns))]]


class DataSection:
    """Choose the dataset, see its columns and first rows, map its columns to the task inputs.

    Attributes:
        source: where the data comes from: ``"given"`` (the dataset passed to the panel),
            ``"bundled"`` (the sample instructions) or ``"file"``.
        path, load_button: the file to read (JSONL, JSON, CSV or Parquet).
        rows: how many of the first rows to run.
        mapping: task input name -> ``Dropdown`` of dataset columns.
        frame: the loaded DataFrame (``None`` until a file is loaded).
    """

    def __init__(self, dataset: Any, on_change: Callable[[], None]):
        w = require_ipywidgets()
        self._on_change = on_change
        self._given = choices.as_frame(dataset) if dataset is not None else None
        options = ([("Your data", "given")] if self._given is not None else []) + [
            ("Bundled sample", "bundled"), ("File", "file")]
        self.source = w.ToggleButtons(options=options, value=options[0][1], description="Source", style={
            **STYLE, "button_width": "150px"})
        self.source.add_class("widget-inline-hbox")  # description beside the buttons, like other rows
        self.path = w.Text(placeholder="path/to/data.jsonl  (.jsonl, .json, .csv, .parquet)", description="File",
                           continuous_update=False, style=STYLE, layout=w.Layout(width="560px"))
        self.load_button = w.Button(description="Load", icon="folder-open", layout=w.Layout(width="90px"))
        self._file_row = w.HBox([self.path, self.load_button], layout=w.Layout(grid_gap="8px"))
        self.rows = w.BoundedIntText(value=1, min=1, max=1, description="Rows to run", style=STYLE,
                                     layout=w.Layout(width="210px"))
        self._rows_note = w.HTML()
        self.summary = w.HTML()
        self.head = w.HTML()
        self.message = w.HTML()
        self._mapping_title = w.HTML(panel_html.section_title("Columns for the task inputs"))
        self._mapping_box = w.VBox()
        self.mapping: dict[str, "ipywidgets.Dropdown"] = {}
        self._inputs: list[str] = []
        self.frame: pd.DataFrame | None = None
        self.origin = ""
        self._rows_row = w.HBox([self.rows, self._rows_note], layout=w.Layout(
            align_items="center", grid_gap="8px", margin="8px 0 0 0"))
        self.widget = w.VBox([
            self.source, self._file_row, self.message, self.summary, self.head,
            self._rows_row, self._mapping_title, self._mapping_box,
        ])
        self.source.observe(lambda _: self._source_changed(), names="value")
        self.path.observe(lambda change: self.load_file() if change["new"] else None, names="value")
        self.load_button.on_click(lambda _: self.load_file())
        self.rows.observe(lambda _: self._rows_changed(), names="value")
        self._source_changed(notify=False)

    # -- loading --
    def _source_changed(self, notify: bool = True) -> None:
        source = self.source.value
        _show(self._file_row, source == "file")
        self.message.value = ""
        if source == "given":
            self._set_frame(self._given, "your data")
        elif source == "bundled":
            self._set_frame(bundled_instructions(), "the bundled sample")
        else:
            self._set_frame(None, "")
            if self.path.value.strip():
                self.load_file(notify=False)
            else:
                self.message.value = panel_html.hint("Type the path of a .jsonl, .json, .csv or .parquet file, then press Load or Enter.")
        if notify:
            self._on_change()

    def load_file(self, notify: bool = True) -> bool:
        """Read the file in ``path``; show a readable message if it cannot be read."""
        try:
            frame = choices.read_table(self.path.value)
        except (OSError, ValueError) as exc:
            self._set_frame(None, "")
            self.message.value = panel_html.note("error", "Could not load the file", str(exc))
            ok = False
        else:
            self.message.value = ""
            self._set_frame(frame, os.path.basename(self.path.value.strip()))
            ok = True
        if notify:
            self._on_change()
        return ok

    def _set_frame(self, frame: pd.DataFrame | None, origin: str) -> None:
        self.frame, self.origin = frame, origin
        for part in (self._rows_row, self._mapping_title, self._mapping_box):
            _show(part, frame is not None)
        if frame is None:
            self.summary.value = self.head.value = self._rows_note.value = ""
            self.rows.disabled = True
            self.set_inputs(self._inputs)
            return
        self.summary.value = panel_html.data_summary(frame, f"from {origin}")
        total = max(len(frame), 1)
        self.rows.max = total
        self.rows.value = total
        self.rows.disabled = False
        self._rows_changed(notify=False)
        self.set_inputs(self._inputs)

    def _rows_changed(self, notify: bool = True) -> None:
        total = len(self.frame) if self.frame is not None else 0
        self._rows_note.value = panel_html.hint(f"of {total:,} (the first rows run)")
        if notify:
            self._on_change()

    # -- mapping --
    def set_inputs(self, names: list[str]) -> None:
        """Show one column chooser per task input, keeping choices that still apply."""
        w = require_ipywidgets()
        previous = {name: dropdown.value for name, dropdown in self.mapping.items()}
        self._inputs = list(names)
        columns = [str(c) for c in self.frame.columns] if self.frame is not None else []
        self.mapping = {}
        for name in names:
            value = previous.get(name) if previous.get(name) in columns else choices.guess_column(name, columns, self.frame)
            dropdown = w.Dropdown(options=[("— choose a column —", None)] + [(c, c) for c in columns], value=value,
                                  description=name, style=STYLE, layout=w.Layout(width="380px"))
            dropdown.observe(lambda _: self._mapping_changed(), names="value")
            self.mapping[name] = dropdown
        self._mapping_box.children = tuple(self.mapping.values()) + (w.HTML(),)
        self._mapping_changed(notify=False)

    def _mapping_changed(self, notify: bool = True) -> None:
        if self.frame is not None:
            self.head.value = panel_html.data_head(self.frame, columns=preview_columns(
                self.frame, [c for c in self.mapping_values().values() if c is not None]))
        unmapped = [name for name, dropdown in self.mapping.items() if dropdown.value is None]
        note = self._mapping_box.children[-1]
        if self.frame is None:
            note.value = ""
        elif unmapped:
            note.value = panel_html.note("warning", "Choose a column for: " + ", ".join(unmapped),
                                    "Each task input is read from one dataset column.")
        else:
            renamed = [f"{d.value} → {name}" for name, d in self.mapping.items() if d.value != name]
            note.value = panel_html.hint("Read as task inputs: " + "; ".join(renamed)) if renamed else panel_html.hint(
                "Every task input has a column of the same name.")
        if notify:
            self._on_change()

    def mapping_values(self) -> dict[str, str | None]:
        return {name: dropdown.value for name, dropdown in self.mapping.items()}

    # -- reading --
    def run_frame(self) -> tuple[pd.DataFrame, pd.Index]:
        """The rows to run (fresh positional index, task inputs filled) and their original labels.

        Raises:
            ValueError: no data loaded, a dataset without rows, or a task input without a column.
        """
        if self.frame is None:
            raise ValueError("Load a dataset first (Data tab): your DataFrame, the bundled sample or a file")
        if self.frame.empty:
            raise ValueError(f"The dataset ({self.origin}) has no rows: load a file with rows, or choose another "
                             "source (Data tab)")
        rows = min(int(self.rows.value), len(self.frame))
        data = choices.apply_mapping(self.frame, self.mapping_values(), rows)
        return data, self.frame.index[:rows]

    def first_row(self) -> dict[str, Any] | None:
        """The first row with the task inputs filled from their columns (``None`` without data)."""
        if self.frame is None or self.frame.empty:
            return None
        row = self.frame.iloc[0].to_dict()
        for name, column in self.mapping_values().items():
            if column is not None:
                row[name] = row.get(column)
        return row

    def describe(self) -> tuple[str, str]:
        if self.frame is None:
            return ("no data", "")
        rows = min(int(self.rows.value), len(self.frame))
        return (f"{rows:,} row{'s' if rows != 1 else ''}", f"from {self.origin}")
