"""Fill ``<!-- task-registry -->`` in a page with the live task registry, as a table.

The list of tasks on the site is then always the one ``available_tasks()`` returns.
"""

from __future__ import annotations

MARKER = "<!-- task-registry -->"


def _table() -> str:
    from distilabel_nb.tasks import available_tasks

    lines = ["| name | kind | task | inputs → outputs | what it does |", "|---|---|---|---|---|"]
    for group in available_tasks().values():
        for name, factory in group.items():
            task = factory()
            flow = f"{', '.join(task.input_args_names)} → {', '.join(task.output_args_names)}"
            lines.append(f"| `{name}` | {factory.kind} | `{type(task).__name__}` | {flow} | {factory.description} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, _table())
    return markdown
