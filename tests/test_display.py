"""Cards show what each object is, and the text twin shows the same facts.

Each test names the facts a person needs from a card and checks them in both the HTML
(read back as text with ``html.parser``) and the plain text (``describe`` and the
``text/plain`` that IPython sends).
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter

from distilabel_nb import (
    LlamaCppLLM, LLMOutput, OpenAILLM, Pipeline, Prompt, RunState, TextGenerationTask, UltraFeedbackTask,
)
from distilabel_nb.display import ResultsView, describe, render, show_prompt, show_results, to_html
from distilabel_nb.display.facts import example_inputs
from distilabel_nb.display.readable import safe_url


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        self.in_style = tag == "style"
        if tag in ("div", "tr", "li", "pre", "summary", "br"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if not self.in_style:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def shows(obj, *facts: str) -> None:
    """Each fact is in the HTML card, in describe() and in IPython's text/plain."""
    html = html_text(obj._repr_html_())
    text = " ".join(describe(obj).split())
    bundle, _ = DisplayFormatter().format(obj)
    plain = " ".join(bundle["text/plain"].split())
    for fact in facts:
        assert fact in html, f"{fact!r} missing from the HTML card"
        assert fact in text, f"{fact!r} missing from the text card"
        assert fact in plain, f"{fact!r} missing from text/plain"
    assert "text/html" in bundle


# -- Prompt ----------------------------------------------------------------------------------

def test_prompt_shows_both_parts_and_several_formats():
    prompt = Prompt("Be brief.", "What is 2+2?")
    shows(prompt, "Be brief.", "What is 2+2?", "default", "chatml", "llama2", "openai", "<|im_start|>user",
          "[INST] <<SYS>>")
    assert "in use" in html_text(prompt._repr_html_())


def test_prompt_view_compares_chosen_formats():
    view = show_prompt(Prompt("", "Hi"), formats=["zephyr", "gemma"], chosen="mistral")
    assert [p.name for p in view.previews()] == ["mistral", "zephyr", "gemma"]
    shows(view, "mistral", "zephyr", "gemma", "<|user|>", "<start_of_turn>user", "none")
    assert "mistral (in use)" in describe(view)


def test_unknown_format_in_a_view_shows_its_error_instead_of_raising():
    view = show_prompt(Prompt("", "Hi"), formats=["nope"])
    shows(view, "Unknown prompt format 'nope'")


def test_prompt_without_system_says_so():
    shows(Prompt("", "Hello"), "system", "none", "Hello")


# -- Task ------------------------------------------------------------------------------------

def test_task_card_shows_kind_columns_system_prompt_template_and_example():
    task = UltraFeedbackTask()
    shows(task, "UltraFeedbackTask", "labeller", "input", "generations", "rating", "rationale",
          task.system_prompt, "ultrafeedback.jinja2", "overall quality", "Excellent", "‹input›", "‹generations 2›")
    html = task._repr_html_()
    assert 'class="dnb-jinja"' in html  # template tags are marked in the source
    assert "``" not in html_text(html)  # docstring markup is stripped


def test_generator_task_card():
    shows(TextGenerationTask(), "TextGenerationTask", "generator", "input", "generations", "text_generation.jinja2")


def test_example_inputs_are_lists_where_the_template_iterates():
    assert example_inputs(UltraFeedbackTask()) == {"input": "‹input›", "generations": ["‹generations 1›", "‹generations 2›"]}
    assert example_inputs(TextGenerationTask()) == {"input": "‹input›"}


def test_template_task_card():
    from distilabel_nb.tasks import Task

    task = Task.from_template("Summarize: {{ text }}", inputs=["text"], name="Summarize", system_prompt="Be short.")
    shows(task, "Summarize", "generator", "text", "Be short.", "Summarize: ‹text›")


# -- LLM -------------------------------------------------------------------------------------

def test_local_llm_card_shows_backend_file_format_params_and_task():
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=48, temperature=0.3, cache=False)
    shows(llm, "SmolLM2-135M-Instruct", "llama.cpp", "local file", "SmolLM2-135M-Instruct.Q4_1.gguf", "MB",
          "chat_template", "max_new_tokens", "48", "temperature", "0.3", "TextGenerationTask", "n_ctx", "cache", "off")
    assert 'class="dnb-param dnb-param-set"' in llm._repr_html_()  # changed parameters stand out


def test_server_llm_card_shows_base_url_and_no_key():
    llm = OpenAILLM("my-model", UltraFeedbackTask(), base_url="http://localhost:9/v1", api_key="sk-abc123secret", cache=False)
    shows(llm, "my-model", "openai", "server", "http://localhost:9/v1", "timeout", "max_retries", "UltraFeedbackTask")
    assert "sk-abc123secret" not in llm._repr_html_() + describe(llm) + repr(llm)


def test_custom_formatting_function_is_named():
    def my_format(prompt):
        return prompt.formatted_prompt.upper()

    llm = LlamaCppLLM(task=TextGenerationTask(), prompt_formatting_fn=my_format, cache=False)
    shows(llm, "custom function", "my_format")


def test_safe_url():
    assert safe_url("https://u:p@h/v1?token=t&a=1") == "https://u:***@h/v1?token=***&a=1"
    assert safe_url("http://localhost:8080/v1") == "http://localhost:8080/v1"


# -- LLMOutput -------------------------------------------------------------------------------

def test_output_card_ok():
    output = LLMOutput("m1", [{"role": "user", "content": "Rate it"}], "Rating: 4\nRationale: Fine.",
                       {"rating": [4.0], "rationale": ["Fine."]}, usage={"prompt_tokens": 10, "completion_tokens": 7})
    shows(output, "m1", "ok", "10 + 7 tokens", "Rating: 4", "rationale", "Fine.", "Rate it")
    assert "dnb-rating-high" in output._repr_html_()


def test_output_card_error_is_highlighted_and_unread_ratings_show_as_question_marks():
    output = LLMOutput("m1", "raw prompt", "no idea", {"rating": [None, 2.0]}, error="text 1: no rating found",
                       error_kind="parse")
    shows(output, "parse error", "text 1: no rating found", "no idea")
    html = output._repr_html_()
    assert 'class="dnb-error"' in html and "dnb-rating-none" in html and "dnb-rating-low" in html


# -- Pipeline and runs -----------------------------------------------------------------------

def test_pipeline_before_and_after_a_run(scripted_llm):
    gen = scripted_llm(TextGenerationTask(), respond=lambda p, i: f"answer {i}", name="gen-model")
    lab = scripted_llm(UltraFeedbackTask(), respond=lambda p, i: "#### Output for Text 1\nRating: 4\nRationale: ok\n"
                                                                 "#### Output for Text 2\nRating: 2\nRationale: meh",
                       name="judge-model")
    pipe = Pipeline(generator=gen, labeller=lab)
    shows(pipe, "TextGenerationTask", "UltraFeedbackTask", "gen-model", "judge-model", "input", "generations",
          "rating", "rationale", "labelling_error", "not run yet")
    pipe.generate(pd.DataFrame({"input": ["a", "b", None]}), num_generations=2, display_progress_bar=False)
    shows(pipe, "finished", "3 / 3", "tokens", "1 failed generation", "is empty")
    shows(pipe.last_run, "finished", "generated", "labelled", "3 / 3", "1 failed", "row 2", "generation_error")


def test_labeller_only_pipeline_flow(scripted_llm):
    pipe = Pipeline(labeller=scripted_llm(UltraFeedbackTask()))
    shows(pipe, "input", "generations", "labeller", "UltraFeedbackTask")


def test_run_state_card():
    state = RunState(total_rows=10, has_generator=True, has_labeller=True, generated=6, labelled=4, done=4,
                     generation_failures=1, tokens=1234, status="running", elapsed=12.0)
    shows(state, "running", "4 / 10", "6 / 10", "1,234", "12.0 s", "1 failed generation", "remaining")
    html = state._repr_html_()
    assert 'style="width:50.0%"' in html  # 6 generated minus 1 failed, of 10
    assert 'style="width:10.0%"' in html  # the failed one, in red


def test_failed_run_shows_its_error():
    shows(RunState(total_rows=2, status="failed", error="server down"), "failed", "server down")


# -- results ---------------------------------------------------------------------------------

def results_frame(rows: int = 25) -> pd.DataFrame:
    return pd.DataFrame({
        "input": [f"instruction {i}" for i in range(rows)],
        "generation_model": [["g"] * 2] * rows,
        "generation_prompt": [["p"] * 2] * rows,
        "generations": [[f"answer {i}a", "x" * 900 if i == 1 else f"answer {i}b"] for i in range(rows)],
        "generation_error": ["timed out" if i == 3 else None for i in range(rows)],
        "labelling_model": ["judge"] * rows,
        "rating": [[5.0, 1.0] if i != 2 else [None, 3.0] for i in range(rows)],
        "rationale": [["good", "bad"]] * rows,
        "labelling_error": [None] * rows,
    })


def test_results_view_pages_and_footer():
    view = show_results(results_frame(25), page=2, page_size=10)
    assert (view.pages, view.first_row, view.last_row) == (3, 11, 20)
    assert list(view.rows()["input"]) == [f"instruction {i}" for i in range(10, 20)]
    shows(view, "rows 11–20 of 25", "page 2 of 3", "show_results(df, page=3)", "instruction 10", "instruction 19")
    assert "instruction 9" not in html_text(view._repr_html_())
    last = view.page_at(3)
    assert (last.first_row, last.last_row) == (21, 25)
    assert "next:" not in describe(last)


def test_results_view_reads_a_pipeline_result():
    view = show_results(results_frame(5))
    shows(view, "5 rows", "2 answers per row", "generated by g", "labelled by judge", "1 generation error",
          "0 labelling errors", "timed out", "rationale", "good", "answer 0a", "hidden: generation_model")
    assert [c.kind for c in view.columns] == ["text", "generations", "error", "error"]
    assert view.columns[1].aligned == ("rating", "rationale")
    html = view._repr_html_()
    assert html.count("dnb-rating-high") >= 5 and html.count("dnb-rating-low") >= 5
    assert "dnb-rating-none" in html  # the unread rating of row 2
    assert 'class="dnb-fold dnb-fold-text"' in html  # the 900-character answer is folded
    assert "dnb-row-error" in html
    assert "1 ratings unread" in describe(view)


def test_results_view_columns_and_errors():
    df = results_frame(3)
    assert [c.name for c in show_results(df, columns="all").columns][:3] == ["input", "generation_model", "generation_prompt"]
    assert [c.name for c in show_results(df, columns=["input"]).columns] == ["input"]
    with pytest.raises(ValueError, match="Unknown column"):
        show_results(df, columns=["nope"])
    with pytest.raises(ValueError, match="3 rows make 1 page"):
        show_results(df, page=2)
    with pytest.raises(ValueError, match="page_size"):
        show_results(df, page_size=0)
    with pytest.raises(TypeError, match="DataFrame"):
        show_results([{"a": 1}])


def test_results_view_any_dataframe():
    df = pd.DataFrame({"question": ["q1", "q2"], "score": [7.0, 2.5], "meta": [{"a": 1}, None]})
    view = ResultsView(df)
    assert view.rating_range == (1.0, 10.0)
    assert [c.kind for c in view.columns] == ["text", "rating", "text"]
    shows(view, "q1", "q2", "7", "2.5", "rows 1–2 of 2")


def test_results_view_empty_frame():
    view = show_results(pd.DataFrame({"input": []}))
    assert (view.first_row, view.last_row, view.pages) == (0, 0, 1)
    shows(view, "0 rows", "no rows")


def test_numeric_column_names_and_index_labels():
    df = pd.DataFrame({0: ["a"], 1: ["b"]}, index=["row-x"])
    shows(show_results(df), "row-x", "a", "b")


# -- robustness ------------------------------------------------------------------------------

def test_a_failing_renderer_shows_the_error_not_a_traceback():
    class Weird:
        pass

    @render.register(Weird)
    def _(obj):
        raise RuntimeError("renderer broke")

    html = to_html(Weird())
    assert "renderer broke" in html_text(html) and "preview failed" in html_text(html)


def test_css_ships_with_the_package_and_is_scoped():
    from distilabel_nb.display.html import stylesheet

    import re

    css = re.sub(r"@supports[^{]*\{", "", stylesheet())
    selectors = [block.split("{")[0] for block in css.split("}") if "{" in block]
    for selector in selectors:
        for part in selector.split(","):
            part = part.strip()
            if part and not part.startswith("@"):
                assert ".dnb" in part, f"unscoped CSS selector {part!r}"
    assert "--jp-ui-font-color1" in css and "--jp-layout-color1" in css and "--jp-border-color2" in css


def test_reprs_stay_one_line_summaries(scripted_llm):
    pipe = Pipeline(generator=scripted_llm(TextGenerationTask(), name="g"))
    pipe.generate([{"input": "a"}, {"input": None}], display_progress_bar=False)
    assert repr(pipe.last_run) == (f"Run(status='finished', done=2/2, generation_failures=1, labelling_failures=0, "
                                   f"tokens=5, elapsed={pipe.last_run.state.elapsed:.1f}s)")
    for obj in (pipe, pipe.generator, Prompt("s", "u")):
        assert "\n" not in repr(obj)


def test_docstring_examples_of_the_display_run():
    import doctest
    import importlib
    import pkgutil

    import distilabel_nb.display as display
    from distilabel_nb import rich_repr

    modules = [rich_repr] + [importlib.import_module(f"distilabel_nb.display.{info.name}")
                             for info in pkgutil.iter_modules(display.__path__)]
    assert len(modules) > 15
    for module in modules:
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0, module.__name__


IMPORTS_ONE_WAY = """
import sys
import distilabel_nb
from distilabel_nb import LlamaCppLLM, OpenAILLM, Pipeline, Prompt, TextGenerationTask, UltraFeedbackTask
import distilabel_nb.agreement, distilabel_nb.cli, distilabel_nb.export, distilabel_nb.review_store

def fronts():
    return sorted({m.split(".")[1] if m.startswith("distilabel_nb.") else m for m in sys.modules
                   if m.startswith(("distilabel_nb.display", "distilabel_nb.widgets")) or m in ("ipywidgets", "openai")})

print(fronts())
Prompt("Be brief.", "Hi")._repr_html_()
print(fronts())
"""


def test_the_core_loads_no_front_until_a_card_is_asked_for():
    """Imports run one way: the core never loads display/ or widgets/; a card loads display only."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", IMPORTS_ONE_WAY], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.splitlines() == ["[]", "['display']"]
