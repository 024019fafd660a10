"""No text from a user, a dataset or a model survives as markup in any card; no key ever shows.

Hostile strings go in every place a card shows text — system prompt, instruction, model
output, error text, model name, base URL, format name, column names and DataFrame values —
and the HTML is parsed back: only the tags the cards themselves use may appear, with no
event-handler attribute, and the hostile text must come back as text.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter

from distilabel_nb import LLMOutput, OpenAILLM, Pipeline, Prompt, RunState, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.display import describe, show_prompt, show_results, to_html
from distilabel_nb.tasks import Task, available_tasks

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "</table>",
    "\"'><svg onload=alert(1)>",
    "{{ 7*7 }}",
    "{% for x in y %}",
]
HOSTILE = " ".join(PAYLOADS)
SECRET = "sk-test-9f8e7d6c5b4a-never-show"

#: Every tag the cards write; anything else in the output came from data.
CARD_TAGS = {"div", "span", "strong", "pre", "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "ol", "li", "br", "style"}


class Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[str] = []
        self.ends: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.starts.append(tag)
        self.attrs += [(tag, name, value) for name, value in attrs]

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.ends.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def audit(html: str) -> Audit:
    parser = Audit()
    parser.feed(html)
    parser.close()
    assert not set(parser.starts) - CARD_TAGS, f"markup from data: {set(parser.starts) - CARD_TAGS}"
    assert parser.starts.count("style") == 1
    for tag, name, value in parser.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert name in {"class", "title", "style", "role", "colspan", "rowspan", "open"}, (tag, name)
        if name == "style":
            assert value is not None and value.startswith("width:") and value.endswith("%"), value
    for tag in ("table", "tr", "td", "div", "details"):
        assert parser.starts.count(tag) == parser.ends.count(tag), f"unbalanced <{tag}>"
    return parser


def hostile_objects(scripted_llm) -> dict[str, object]:
    task = UltraFeedbackTask(system_prompt=HOSTILE, aspect=HOSTILE, task_description=HOSTILE)
    def answer(prompt, i: int) -> str:
        if "fail here" in str(prompt):
            raise RuntimeError(HOSTILE)  # becomes the row's generation_error
        return HOSTILE

    generator = scripted_llm(TextGenerationTask(system_prompt=HOSTILE), respond=answer, name=HOSTILE)
    labeller = scripted_llm(task, respond=lambda prompt, i: HOSTILE, name=HOSTILE)
    server = OpenAILLM(HOSTILE, task, base_url=f"http://example.invalid/{HOSTILE}", api_key=SECRET, cache=False)
    pipe = Pipeline(generator=generator, labeller=labeller)
    dataset = pd.DataFrame({"input": [HOSTILE, HOSTILE + " fail here"], HOSTILE: [HOSTILE, 1]})
    df = pipe.generate(dataset, num_generations=2, display_progress_bar=False)
    prompt = Prompt(HOSTILE, HOSTILE)
    output = LLMOutput(HOSTILE, prompt.as_messages(), HOSTILE, {"rating": [HOSTILE, None], HOSTILE: HOSTILE},
                       error=HOSTILE, error_kind="parse", usage={"prompt_tokens": 1})
    frame = pd.DataFrame({
        "input": [HOSTILE], "generations": [[HOSTILE, HOSTILE * 30]], "rating": [[1.0, None]],
        "rationale": [[HOSTILE, None]], HOSTILE: [HOSTILE], "generation_error": [HOSTILE], "labelling_error": [HOSTILE],
    })
    return {
        "prompt": prompt,
        "prompt_view": show_prompt(prompt, formats=["chatml", HOSTILE, "openai"], chosen="chatml"),
        "task": task,
        "template_task": Task.from_template("<script>alert(1)</script></table><svg onload=alert(1)> {{ input }}",
                                            inputs=["input"], system_prompt=HOSTILE, name="Hostile", note=HOSTILE),
        "generator": generator,
        "server": server,
        "output": output,
        "pipeline": pipe,
        "run": pipe.last_run,
        "failed_state": RunState(total_rows=3, status="failed", error=HOSTILE),
        "results": show_results(df, columns="all"),
        "frame": show_results(frame),
        "estimate": pipe.estimate(dataset, sample=2, display_progress_bar=False),
    }


@pytest.fixture
def objects(scripted_llm):
    return hostile_objects(scripted_llm)


@pytest.mark.parametrize("name", ["prompt", "prompt_view", "task", "template_task", "generator", "server", "output",
                                  "pipeline", "run", "failed_state", "results", "frame", "estimate"])
def test_hostile_text_stays_text(objects, name):
    obj = objects[name]
    parsed = audit(obj._repr_html_())
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text, "the hostile text should be shown, as text"
    assert "</table>" in text


def test_jinja_in_values_is_never_rendered(objects):
    example = objects["task"].generate_prompt(input=HOSTILE, generations=[HOSTILE])
    assert "{{ 7*7 }}" in example.formatted_prompt and "49" not in example.formatted_prompt
    text = "".join(audit(objects["task"]._repr_html_()).text)
    assert "{{ 7*7 }}" in text and "{% for x in y %}" in text


def test_column_names_and_values_are_escaped_in_results(objects):
    html = objects["frame"]._repr_html_()
    assert "&lt;/table&gt;" in html
    parsed = audit(html)
    assert parsed.starts.count("table") == 1  # the results table, nothing opened or closed by data


def test_every_task_in_the_library_renders_safely():
    for group in available_tasks().values():
        for name, factory in group.items():
            task = factory(system_prompt=HOSTILE)
            parsed = audit(task._repr_html_())
            assert "cannot render" not in "".join(parsed.text), name


def test_the_api_key_never_shows(objects, scripted_llm):
    server = objects["server"]
    pipe = Pipeline(generator=server, labeller=scripted_llm(UltraFeedbackTask()))
    bundle, _ = DisplayFormatter().format(pipe)
    for shown in [repr(server), str(server), describe(server), server._repr_html_(), to_html(pipe), repr(pipe),
                  *bundle.values(), *server._repr_mimebundle_().values()]:
        assert SECRET not in shown
        assert SECRET[:12] not in shown


def test_credentials_in_a_base_url_are_hidden(scripted_llm):
    server = OpenAILLM("m", TextGenerationTask(), base_url="http://user:hunter2@example.invalid/v1?api_key=zzz-secret&region=eu",
                       api_key=SECRET, cache=False)
    for shown in (server._repr_html_(), describe(server)):
        assert "hunter2" not in shown and "zzz-secret" not in shown
        assert "region=eu" in shown and "example.invalid" in shown
