"""Views with options: a prompt compared across chosen formats.

Example:
    >>> from distilabel_nb import Prompt
    >>> view = show_prompt(Prompt("Be brief.", "Hi"), formats=["chatml", "zephyr"])
    >>> [p.name for p in view.previews()]
    ['chatml', 'zephyr']
"""

from __future__ import annotations

from typing import Sequence

from distilabel_nb.display.facts import FormatPreview, prompt_formats
from distilabel_nb.display.plaintext import describe
from distilabel_nb.prompt import Prompt
from distilabel_nb.rich_repr import HTMLRepr


class PromptView(HTMLRepr):
    """A prompt's system and user parts, and its rendering in several chat formats side by side.

    Args:
        prompt: The prompt to show.
        formats: Format names to compare (default: default, chatml, llama2, openai).
        chosen: The format in use; shown first and marked.
    """

    def __init__(self, prompt: Prompt, formats: Sequence[str] | None = None, chosen: str | None = None):
        if not isinstance(prompt, Prompt):
            raise TypeError(f"show_prompt() takes a Prompt, got {type(prompt).__name__}")
        self.prompt = prompt
        self.formats = list(formats) if formats is not None else None
        self.chosen = chosen

    def previews(self) -> list[FormatPreview]:
        return prompt_formats(self.prompt, self.formats, self.chosen)

    def __repr__(self) -> str:
        return describe(self)


def show_prompt(prompt: Prompt, formats: Sequence[str] | None = None, chosen: str | None = None) -> PromptView:
    """Show a prompt rendered in several chat formats side by side.

    Args:
        prompt: A :class:`~distilabel_nb.prompt.Prompt` (e.g. from ``task.generate_prompt``).
        formats: Names from :func:`~distilabel_nb.prompt.known_formats` (default: default,
            chatml, llama2, openai). An unknown name shows its error in its panel.
        chosen: The format in use, shown first and marked "in use".

    Example:
        >>> show_prompt(task.generate_prompt("Say hi"), formats=["chatml", "llama2"], chosen="chatml")  # doctest: +SKIP
    """
    return PromptView(prompt, formats, chosen)
