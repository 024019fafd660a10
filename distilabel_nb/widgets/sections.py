"""The two kinds of settings tabs of the run panel: the data, and one model role.

Each section owns its widgets, reads them into plain values (:mod:`.choices`) and calls
``on_change()`` when something that matters to the rest of the panel changed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from distilabel_nb.cli import bundled_instructions
from distilabel_nb.display import panel_html
from distilabel_nb.llms.base import LLM
from distilabel_nb.tasks.base import Task
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.progress import require_ipywidgets

if TYPE_CHECKING:
    import ipywidgets

LABEL_WIDTH = "112px"
STYLE = {"description_width": LABEL_WIDTH}


def _show(widget: "ipywidgets.Widget", visible: bool) -> None:
    widget.layout.display = "" if visible else "none"


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
        self.head.value = panel_html.data_head(frame)
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
            ValueError: no data loaded, or a task input without a column.
        """
        if self.frame is None:
            raise ValueError("Load a dataset first (Data tab): your DataFrame, the bundled sample or a file")
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


class ModelSection:
    """Choose one role's task, backend and generation parameters.

    Attributes:
        enabled: whether this role takes part in the run.
        task: the task (registry name).
        backend: ``"local"`` (bundled model), ``"gguf"``, ``"openai"`` or ``"given"``.
        gguf_path, model, base_url: where the model is.
        key_source: ``"env"``, ``"typed"`` or ``"none"``; ``api_key``: a password field
            that is emptied as soon as a key is typed — the key stays only in memory.
        max_new_tokens, temperature, num_generations (generator only), concurrency.
    """

    def __init__(self, role: str, given: LLM | None, on_change: Callable[[], None], enabled: bool = True,
                 max_new_tokens: int = 256):
        w = require_ipywidgets()
        self.role = role
        self.given = given
        self._on_change = on_change
        self._typed_key: str | None = None
        self._remote_concurrency: int | None = None
        self._kind = kind = "generator" if role == "generator" else "labeller"
        self._choices = choices.task_choices(kind)
        task_options = [(c.label, c.name) for c in self._choices]
        backend_options = [(label, value) for value, label in choices.BACKENDS]
        if given is not None:
            task_options.insert(0, (f"{given.task.name} (from the pipeline)", choices.GIVEN))
            backend_options.insert(0, ("Pipeline's LLM", choices.GIVEN))
        title = "Generate answers" if role == "generator" else "Label the answers (AI feedback)"
        self.enabled = w.Checkbox(value=enabled, description=title, indent=False,
                                  layout=w.Layout(width="auto", margin="0 0 6px 0"))
        self.task = w.Dropdown(options=task_options, value=task_options[0][1], description="Task", style=STYLE,
                               layout=w.Layout(width="380px"))
        self.task_description = w.HTML()
        given_structured = getattr(given.task, "structured", None) if given is not None else None
        self.structured = w.Checkbox(
            value=bool(given_structured) if given_structured is not None else role == "labeller",
            description="Structured output (JSON schema)", indent=False,
            layout=w.Layout(width="auto"))
        self._structured_note = w.HTML(panel_html.hint(
            "decoding follows the schema, so even small models' answers can be read"))
        self._structured_row = w.HBox([self.structured, self._structured_note], layout=w.Layout(
            align_items="center", grid_gap="10px", margin="0 0 0 118px"))
        self.backend = w.ToggleButtons(options=backend_options, value=backend_options[0][1], description="Model",
                                       style={**STYLE, "button_width": "160px"})
        self.backend.add_class("widget-inline-hbox")
        self.given_note = w.HTML(panel_html.hint(f"{given!r}") if given is not None else "")
        self.gguf_path = w.Text(placeholder="path/to/model.gguf", description="GGUF file", style=STYLE,
                                continuous_update=False, layout=w.Layout(width="560px"))
        self.model = w.Text(placeholder="e.g. gpt-4o-mini", description="Model name", style=STYLE,
                            continuous_update=False, layout=w.Layout(width="380px"))
        self.base_url = w.Text(value=os.environ.get("OPENAI_BASE_URL", ""), placeholder="https://api.openai.com/v1",
                               description="Base URL", style=STYLE, continuous_update=False,
                               layout=w.Layout(width="560px"))
        self.key_source = w.Dropdown(options=[(label, value) for value, label in choices.KEY_SOURCES], value="env",
                                     description="API key", style=STYLE, layout=w.Layout(width="470px"))
        self.api_key = w.Password(placeholder="paste the key, then press Enter", description="Key", style=STYLE,
                                  continuous_update=False, layout=w.Layout(width="470px"))
        self.key_status = w.HTML()
        self._server_box = w.VBox([self.model, self.base_url, self.key_source, self.api_key, self.key_status])

        params = given.params if given is not None else None
        self.max_new_tokens = w.BoundedIntText(value=params.max_new_tokens if params else max_new_tokens, min=1,
                                               max=1_000_000, description="Max new tokens", style=STYLE,
                                               layout=w.Layout(width="220px"))
        self.temperature = w.BoundedFloatText(value=params.temperature if params else 0.7, min=0.0, max=2.0,
                                              step=0.1, description="Temperature", style=STYLE,
                                              layout=w.Layout(width="220px"))
        self.num_generations = (
            w.BoundedIntText(value=1, min=1, max=64, description="Answers per row", style=STYLE,
                             layout=w.Layout(width="220px"))
            if role == "generator" else None
        )
        self.concurrency = w.BoundedIntText(value=given.max_concurrency if given is not None else 8, min=1, max=512,
                                            description="Concurrency", style=STYLE, layout=w.Layout(width="220px"))
        self._concurrency_note = w.HTML()
        param_widgets = [self.max_new_tokens, self.temperature] + ([self.num_generations] if self.num_generations else [])
        self._params_box = w.VBox([
            w.HTML(panel_html.section_title("Generation")),
            w.HBox(param_widgets, layout=w.Layout(grid_gap="12px", flex_flow="row wrap")),
            w.HBox([self.concurrency, self._concurrency_note], layout=w.Layout(align_items="center", grid_gap="8px")),
        ])
        self._body = w.VBox([
            w.HBox([self.task, self.task_description], layout=w.Layout(align_items="center", grid_gap="10px")),
            self._structured_row,
            self.backend, self.given_note, self.gguf_path, self._server_box, self._params_box,
        ])
        self.widget = w.VBox([self.enabled, self._body])

        self.api_key.observe(self._key_typed, names="value")
        for control in (self.enabled, self.task, self.structured, self.backend, self.gguf_path, self.model,
                        self.base_url, self.key_source, self.max_new_tokens, self.temperature, self.concurrency,
                        *([self.num_generations] if self.num_generations else [])):
            control.observe(lambda _: self._changed(), names="value")
        self._changed(notify=False)

    # -- the key --
    def _key_typed(self, change: dict) -> None:
        if change["new"]:
            self._typed_key = change["new"]
            self.api_key.value = ""  # the key does not stay in the widget's state
            self.api_key.placeholder = "a key is set — paste another to replace it"
            self._changed()

    def forget_key(self) -> None:
        """Drop a typed key."""
        self._typed_key = None
        self.api_key.placeholder = "paste the key, then press Enter"
        self._changed()

    # -- state --
    def _changed(self, notify: bool = True) -> None:
        backend = self.backend.value
        on = self.enabled.value
        choice = next((c for c in self._choices if c.name == self.task.value), None)
        if self.task.value == choices.GIVEN and self.given is not None:
            self.task_description.value = panel_html.hint("the task of the pipeline's LLM")
        else:
            self.task_description.value = panel_html.hint(choice.description if choice else "")
        try:
            task = choices.build_task(self.task.value, self.given, self._kind)
        except Exception:
            task = None
        _show(self._structured_row, task is not None and choices.supports_structured(task))
        _show(self.given_note, backend == choices.GIVEN)
        _show(self.gguf_path, backend == "gguf")
        _show(self._server_box, backend == "openai")
        _show(self.api_key, self.key_source.value == "typed")
        if self.key_source.value == "env":
            present = bool(os.environ.get(choices.ENV_KEY))
            self.key_status.value = panel_html.hint(
                f"{choices.ENV_KEY} is {'set' if present else 'not set'} in the kernel's environment.")
        elif self.key_source.value == "typed":
            self.key_status.value = panel_html.hint(
                "A key is set (held in memory only: not in the widget, the notebook or any output)." if self._typed_key
                else "Paste the key and press Enter; the field empties itself and keeps the key in memory only.")
        else:
            self.key_status.value = panel_html.hint("No key is sent (for a local server that needs none).")
        local = backend in ("local", "gguf") or (
            backend == choices.GIVEN and self.given is not None and self.given.backend == "llama.cpp")
        if local and self.concurrency.value != 1:
            self._remote_concurrency, self.concurrency.value = self.concurrency.value, 1
        elif not local and self._remote_concurrency is not None:
            self.concurrency.value, self._remote_concurrency = self._remote_concurrency, None
        self.concurrency.disabled = local or not on
        self._concurrency_note.value = panel_html.hint(
            "llama.cpp answers one request at a time" if local else "requests in flight at once")
        for control in (self.task, self.structured, self.backend, self.gguf_path, self.model, self.base_url,
                        self.key_source,
                        self.api_key, self.max_new_tokens, self.temperature,
                        *([self.num_generations] if self.num_generations else [])):
            control.disabled = not on
        self._body.layout.opacity = "1" if on else "0.45"
        if notify:
            self._on_change()

    def config(self, cache: bool | str = True) -> choices.ModelConfig:
        return choices.ModelConfig(
            role=self.role, task=self.task.value, backend=self.backend.value, gguf_path=self.gguf_path.value,
            model=self.model.value, base_url=self.base_url.value, key_source=self.key_source.value,
            max_new_tokens=int(self.max_new_tokens.value), temperature=float(self.temperature.value),
            max_concurrency=int(self.concurrency.value), cache=cache,
            structured=bool(self.structured.value) if self._structured_row.layout.display != "none" else None,
        )

    def build_task(self) -> Task | None:
        """A fresh task for this role, or ``None`` when the role is off."""
        if not self.enabled.value:
            return None
        return choices.build_task(self.task.value, self.given, self._kind, self.config().structured)

    def build(self, cache: bool | str = True) -> LLM | None:
        """The LLM for this role, or ``None`` when the role is off.

        Args:
            cache: The call cache mode: ``True`` reuses answers, ``"refresh"`` asks again,
                ``False`` turns it off.
        """
        if not self.enabled.value:
            return None
        return choices.build_llm(self.config(cache), self.given, self._typed_key)

    def describe(self) -> tuple[str, str]:
        """``(task name, "on <model>")`` for the header."""
        if not self.enabled.value:
            return ("", "")
        config = self.config()
        task = self.given.task.name if config.task == choices.GIVEN and self.given else config.task
        model = choices.describe_model(config, self.given)
        extra = f" ×{self.num_generations.value}" if self.num_generations is not None and self.num_generations.value > 1 else ""
        return (task, f"on {model}{extra}")

    def __repr__(self) -> str:
        task, model = self.describe()
        return f"{task} {model}" if task else "off"
