"""The run panel's prompt preview: the exact prompts the first row makes, as each model receives them.

Example:
    >>> from distilabel_nb.widgets.sections import ModelSection
    >>> generator = ModelSection("generator", None, lambda: None)
    >>> labeller = ModelSection("labeller", None, lambda: None, enabled=False)
    >>> html = prompt_preview({"input": "Hi"}, generator, labeller, generator.build_task(), None)
    >>> "Generator · TextGenerationTask" in html
    True
"""

from __future__ import annotations

from typing import Any

from distilabel_nb.display import panel_html
from distilabel_nb.display.readable import error_text
from distilabel_nb.tasks.base import Task
from distilabel_nb.widgets import choices
from distilabel_nb.widgets.sections import ModelSection


def prompt_preview(row: dict[str, Any] | None, generator: ModelSection, labeller: ModelSection,
                   generator_task: Task | None, labeller_task: Task | None) -> str:
    """The preview's HTML for the dataset's first ``row`` (``None`` without data).

    ``generator_task`` and ``labeller_task`` are the roles' tasks (``None`` for a role that is
    off). The labeller's prompt holds a placeholder for each answer the generator is to
    give; a prompt that cannot be built shows why instead.
    """
    if row is None:
        return panel_html.note("info", "Load a dataset to see the prompts of its first row.")
    blocks = [panel_html.hint("The exact prompts the first row produces, as they are sent to each model.")]
    n = generator.num_generations.value if generator.num_generations is not None else 1
    for section, task in ((generator, generator_task), (labeller, labeller_task)):
        if task is None:
            continue
        title = "Generator" if section is generator else "Labeller"
        inputs = dict(row)
        if section is labeller and generator_task is not None:
            for name in generator_task.output_args_names:
                inputs[name] = [f"<answer {i + 1} from the generator appears here>" for i in range(n)]
        config = section.config()
        try:
            prompt = choices.render_prompt(task, inputs, config, section.given)
        except Exception as exc:
            blocks.append(panel_html.prompt_error(title, error_text(exc)))
            continue
        fmt = choices.prompt_format_for(config, section.given)
        how = "chat messages; the model applies its own chat template" if fmt == "chat_template" else f"{fmt} format"
        try:
            constrained = task.response_schema({n: inputs.get(n) for n in task.input_args_names}) is not None
        except Exception:
            constrained = False
        if constrained:
            how += "; the answer is constrained to the task's JSON schema"
        blocks.append(panel_html.prompt_block(f"{title} · {task.name}",
                                              f"{choices.describe_model(config, section.given)} · {how}", prompt))
    return "".join(blocks)
