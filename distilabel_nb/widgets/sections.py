"""The run panel's model tabs: one per role (generator, labeller), its task, model and parameters.

The Data tab is :mod:`.data_section`'s. A section owns its widgets, reads them into plain values (:mod:`.choices`) and calls
``on_change()`` when something that matters to the rest of the panel changed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

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

    The defaults make preference data: two answers per row, and a labeller (the panel
    passes ``temperature=0``) that rates them the same way every time.
    """

    def __init__(self, role: str, given: LLM | None, on_change: Callable[[], None], enabled: bool = True,
                 max_new_tokens: int = 256, temperature: float = 0.7, num_generations: int = 2):
        w = require_ipywidgets()
        self.role = role
        self.given = given
        self._on_change = on_change
        self._typed_key: str | None = None
        self._remote_concurrency: int | None = None
        # "generator 2", "generator 3", …: the panel's extra generators (their answers per row: the first's)
        self._kind = kind = "generator" if role.startswith("generator") else "labeller"
        self._choices = choices.task_choices(kind)
        task_options = [(c.label, c.name) for c in self._choices]
        backend_options = [(label, value) for value, label in choices.BACKENDS]
        if given is not None:
            task_options.insert(0, (f"{given.task.name} (from the pipeline)", choices.GIVEN))
            backend_options.insert(0, ("Pipeline's LLM", choices.GIVEN))
        title = "Generate answers" if kind == "generator" else "Label the answers (AI feedback)"
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
        self.temperature = w.BoundedFloatText(value=params.temperature if params else temperature, min=0.0, max=2.0,
                                              step=0.1, description="Temperature", style=STYLE,
                                              layout=w.Layout(width="220px"))
        self.num_generations = (
            w.BoundedIntText(value=num_generations, min=1, max=64, description="Answers per row", style=STYLE,
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
        one_at_a_time = local and not choices.local_engine_runs(backend, self.given)
        if one_at_a_time and self.concurrency.value != 1:
            self._remote_concurrency, self.concurrency.value = self.concurrency.value, 1
        elif not one_at_a_time and self._remote_concurrency is not None:
            self.concurrency.value, self._remote_concurrency = self._remote_concurrency, None
        self.concurrency.disabled = one_at_a_time or not on
        self._concurrency_note.value = panel_html.hint(
            "llama.cpp in-process answers one request at a time" if one_at_a_time
            else "calls decoded together by the local llama.cpp engine" if local else "requests in flight at once")
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
