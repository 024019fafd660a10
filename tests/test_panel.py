"""The run panel from Python: set widget values, press the buttons, read the result and the widgets.

Real runs use the bundled SmolLM2 model (tiny settings) or the OpenAI-compatible stub
server; the logic of "Pipeline's LLM" uses the scripted fake backend.
"""

from __future__ import annotations

import re
from html import unescape
import threading
import time

import pandas as pd
import pytest

from distilabel_nb import Pipeline, TextGenerationTask
from distilabel_nb.testing import StubServer
from distilabel_nb.widgets import Panel
from distilabel_nb.cells import duration
from distilabel_nb.widgets.progress import ProgressFacts
from distilabel_nb.run import RunState

SECRET = "sk-panel-secret-0123456789"


def _text(html: str) -> str:
    """Visible text of a panel HTML fragment."""
    return unescape(" ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S).split()))


def _all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", ()) or ():
        yield from _all_widgets(child)


def _server_panel(panel: Panel, server: StubServer, *, labeller: bool = False) -> Panel:
    """Point the generator at the stub server (no key), labeller off."""
    panel.generator.backend.value = "openai"
    panel.generator.model.value = "stub-model"
    panel.generator.base_url.value = server.base_url
    panel.generator.key_source.value = "none"
    panel.labeller.enabled.value = labeller
    return panel


def _status(panel: Panel) -> tuple[str, str]:
    match = re.search(r'data-status="(\w+)" data-run="(\d+)"', panel.header.value)
    assert match, panel.header.value
    return match.group(1), match.group(2)


# -- data --

def test_data_sources_columns_and_mapping(tmp_path):
    questions = pd.DataFrame({"question": ["What is <b>2+2</b>?", "Name a colour."], "id": [7, 8]})
    panel = Panel(questions)
    assert [value for _, value in panel.data.source.options] == ["given", "bundled", "file"]
    assert panel.data.mapping["input"].value == "question"  # guessed: the tasks read "input"
    assert "What is &lt;b&gt;2+2&lt;/b&gt;?" in panel.data.head.value and "<b>2+2</b>" not in panel.data.head.value
    assert "question" in _text(panel.data.summary.value) and "2 rows" in _text(panel.data.summary.value)
    assert panel.data.rows.value == panel.data.rows.max == 2

    panel.data.source.value = "bundled"
    assert len(panel.data.frame) == 10 and panel.data.mapping["input"].value == "input"

    frame = pd.DataFrame({"prompt": ["Say hi.", "Say bye.", "Count to 3."]})
    for name, write in [("d.jsonl", lambda p: frame.to_json(p, orient="records", lines=True)),
                        ("d.csv", lambda p: frame.to_csv(p, index=False)),
                        ("d.parquet", lambda p: frame.to_parquet(p))]:
        write(tmp_path / name)
        panel.data.source.value = "file"
        panel.data.path.value = str(tmp_path / name)  # Enter in the field loads it
        assert panel.data.frame is not None and panel.data.frame["prompt"].tolist() == frame["prompt"].tolist(), name
        assert panel.data.mapping["input"].value == "prompt"
        panel.data.path.value = ""

    panel.data.path.value = str(tmp_path / "missing.jsonl")
    assert panel.data.frame is None
    assert "Could not load the file" in panel.data.message.value and "No file at" in panel.data.message.value
    assert panel.run() is None and "Load a dataset first" in _text(panel.message.value)

    (tmp_path / "d.txt").write_text("x")
    panel.data.path.value = str(tmp_path / "d.txt")
    assert "use a .jsonl, .json, .csv or .parquet file" in panel.data.message.value

    panel.data.source.value = "given"
    panel.data.rows.value = 1
    data, labels = panel.data.run_frame()
    assert data["input"].tolist() == ["What is <b>2+2</b>?"] and list(labels) == [0]


def test_tasks_come_from_the_registry_and_set_the_mapping():
    registry = pytest.importorskip("distilabel_nb.tasks.registry").available_tasks()
    panel = Panel()
    assert [value for _, value in panel.generator.task.options] == list(registry["generators"])
    assert [value for _, value in panel.labeller.task.options] == list(registry["labellers"])
    assert list(panel.data.mapping) == ["input"]
    # structured output (JSON constrained to the schema) where the task supports it, on by default for labellers
    assert panel.labeller.structured.value and panel.labeller.build_task().structured
    assert panel.generator._structured_row.layout.display == "none"
    panel.labeller.structured.value = False
    assert not panel.labeller.build_task().structured
    assert "constrained to the task's JSON schema" not in _text(panel.preview.value)
    panel.labeller.structured.value = True
    assert "constrained to the task's JSON schema" in _text(panel.preview.value)

    panel.generator.enabled.value = False  # labelling only: the dataset must bring the answers
    assert list(panel.data.mapping) == ["input", "generations"]
    assert panel.data.mapping["generations"].value is None
    assert "Choose a column for: generations" in _text(panel.data._mapping_box.children[-1].value)
    assert panel.run() is None
    assert "Choose a dataset column for the task input(s) ['generations']" in _text(panel.message.value)

    panel.generator.enabled.value = True
    panel.labeller.enabled.value = False
    assert list(panel.data.mapping) == ["input"]
    assert "no model chosen" not in panel.header.value
    panel.generator.enabled.value = False
    assert panel.run() is None and "Turn on the generator, the labeller, or both" in _text(panel.message.value)


def test_prompt_preview_shows_the_exact_prompt_escaped():
    row = "Explain <script>alert(1)</script> & {{ jinja }}"
    panel = Panel(pd.DataFrame({"input": [row, "second"]}))
    panel.generator.num_generations.value = 2
    preview = panel.preview.value
    assert "<script>" not in preview and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ jinja }}" in preview
    task = TextGenerationTask()
    messages = task.generate_prompt(input=row).format_as("chat_template")
    for message in messages:
        assert f'<pre class="dnb-text">{_escape(message["content"])}</pre>' in preview
    assert "&lt;answer 2 from the generator appears here&gt;" in preview  # the labeller's view
    assert "the model applies its own chat template" in preview

    panel.generator.backend.value = "openai"
    assert "openai format" in panel.preview.value

    braces = Panel(pd.DataFrame({"{weird} {0} column": ["a {b}"]}))  # braces in names and values
    assert braces.data.mapping["input"].value == "{weird} {0} column"
    assert "{weird} {0} column → input" in _text(braces.data._mapping_box.children[-1].value)


def _escape(text: str) -> str:
    from distilabel_nb.display.markup import escape

    return escape(text)


# -- runs with the bundled model --

def test_run_with_the_bundled_model_generates_and_labels():
    panel = Panel()
    panel.data.rows.value = 2
    panel.generator.max_new_tokens.value = 8
    panel.generator.temperature.value = 0.0
    panel.labeller.max_new_tokens.value = 16

    started = time.monotonic()
    panel.run_button.click()
    assert time.monotonic() - started < 1.0  # the click returns at once; the run goes on in the background
    assert panel.running and panel.run_button.disabled and not panel.stop_button.disabled
    partial = panel.result
    assert isinstance(partial, pd.DataFrame) and len(partial) <= 2

    result = panel.wait(timeout=240)
    assert list(result.index) == [0, 1] and len(result) == 2
    # the defaults make preference data: two answers per row, rated by a labeller at temperature 0
    assert panel.generator.num_generations.value == 2 and panel.labeller.temperature.value == 0.0
    assert result["generations"].map(lambda g: isinstance(g, list) and len(g) == 2 and bool(g[0])).all()
    assert set(result["labelling_model"]) == {"SmolLM2-135M-Instruct"}
    assert {"rating", "rationale", "labelling_error", "generation_error"} <= set(result.columns)

    state = panel.current_run.state
    for bar, failures in ((panel.progress.generation_bar, state.generation_failures),
                          (panel.progress.labelling_bar, state.labelling_failures)):
        # green when every row went through; amber ("finished with failures") otherwise
        assert (bar.value, bar.max, bar.bar_style) == (2, 2, "warning" if failures else "success")
    assert _status(panel) == ("finished", "1")
    assert not panel.running and not panel.run_button.disabled and panel.stop_button.disabled
    assert not panel.export_button.disabled
    assert "tokens" in _text(panel.progress.stats.value) and "rows/s" in _text(panel.progress.stats.value)
    assert panel.table.value.count("<tr>") == 3  # header + 2 rows
    assert _escape(result["generations"][0][0][:40]) in panel.table.value
    assert "Done: 2 rows" in _text(panel.message.value)


def test_stop_with_the_bundled_model_keeps_finished_rows():
    panel = Panel()
    panel.data.source.value = "bundled"
    panel.data.rows.value = 6
    panel.generator.max_new_tokens.value = 64
    panel.labeller.enabled.value = False

    run = panel.run()
    assert run is not None
    for event in run.events():
        if event is not None and event.kind == "row_done":
            break
    started = time.monotonic()
    panel.stop_button.click()
    kept = panel.wait(timeout=30)
    latency = time.monotonic() - started
    assert latency < 1.5, f"Stop took {latency:.2f}s"
    assert panel.stop_seconds is not None and panel.stop_seconds < 1.5

    state = run.state
    assert state.status == "cancelled" and 1 <= state.done < 6
    assert len(kept) == state.done and kept["generations"].map(bool).all()
    assert _status(panel)[0] == "cancelled"
    assert panel.progress.generation_bar.bar_style == "warning"
    # the labeller is off: its bar is hidden, the generation bar is not
    assert panel.progress._generation_row.layout.display == ""
    assert panel.progress._labelling_row.layout.display == "none"
    assert f"Stopped: {state.done} row" in _text(panel.message.value)
    assert not panel.run_button.disabled and panel.stop_button.disabled
    panel.stop()  # nothing left to stop: said, not raised
    assert "Nothing to stop" in _text(panel.message.value)


# -- runs against the stub server --

def test_second_run_does_not_start_while_one_runs():
    with StubServer(model="stub-model", latency=0.15) as server:
        panel = _server_panel(Panel(), server)
        panel.data.source.value = "bundled"
        panel.data.rows.value = 4
        panel.generator.concurrency.value = 1
        first = panel.run()
        panel.run_button.click()  # ignored: the button is disabled and run() refuses
        assert panel.run() is None
        assert "A run is already going" in _text(panel.message.value)
        assert panel.current_run is first
        panel.wait(timeout=30)
        assert server.request_count == 4
        assert _status(panel) == ("finished", "1")


def test_widgets_are_updated_from_a_background_thread_while_the_kernel_is_free():
    seen: list[str] = []
    with StubServer(model="stub-model", latency=0.1) as server:
        panel = _server_panel(Panel(), server)
        panel.data.source.value = "bundled"
        panel.generator.concurrency.value = 2
        panel.progress.generation_bar.observe(lambda _: seen.append(threading.current_thread().name), names="value")
        panel.run_button.click()
        ticks = 0
        while panel.running:  # the calling thread stays free while the run goes on
            ticks += 1
            time.sleep(0.01)
        result = panel.wait(timeout=30)
    assert len(result) == 10 and ticks > 10
    assert seen and set(seen) == {"distilabel-nb-progress"}


def test_export_jsonl_csv_parquet(tmp_path):
    with StubServer(model="stub-model", latency=0) as server:
        panel = _server_panel(Panel(pd.DataFrame({"input": ["a", "b", "c"]}, index=["x", "y", "z"])), server)
        panel.generator.num_generations.value = 2
        with pytest.raises(ValueError, match="Nothing to export yet"):
            panel.export(tmp_path / "early.jsonl")
        panel.run()
        result = panel.wait(timeout=30)
    assert list(result.index) == ["x", "y", "z"]  # the dataset's labels are kept

    back = pd.read_json(panel.export(tmp_path / "out.jsonl"), lines=True)
    assert back["input"].tolist() == ["a", "b", "c"] and back["generations"].map(len).tolist() == [2, 2, 2]
    back = pd.read_parquet(panel.export(tmp_path / "out.parquet"))
    assert back["generations"].map(list).tolist() == result["generations"].tolist()
    back = pd.read_csv(panel.export(tmp_path / "out.csv"))
    assert back["generations"].map(__import__("json").loads).tolist() == result["generations"].tolist()

    panel.export_format.value = "csv"
    assert panel.export_path.value.endswith(".csv")
    panel.export_path.value = str(tmp_path / "clicked.csv")
    panel.export_button.click()
    assert (tmp_path / "clicked.csv").is_file() and "Wrote 3 rows" in _text(panel.export_message.value)
    panel.export_path.value = str(tmp_path / "bad.xlsx")
    panel.export_format.value = "parquet"
    panel.export_button.click()
    assert (tmp_path / "bad.parquet").is_file()


def test_typed_key_is_never_kept_in_widgets_reprs_or_results():
    with StubServer(model="stub-model", api_key=SECRET, latency=0) as server:
        panel = _server_panel(Panel(), server)
        panel.data.rows.value = 2
        panel.generator.key_source.value = "typed"
        panel.generator.api_key.value = SECRET  # what pressing Enter in the password field sends
        assert panel.generator.api_key.value == ""
        assert "a key is set" in panel.generator.api_key.placeholder
        panel.run()
        result = panel.wait(timeout=30)
        assert result["generation_error"].isna().all() and server.request_count == 2

    places = [repr(panel), str(panel), repr(panel.generator), result.to_json(), repr(panel.pipeline),
              repr(panel.pipeline.generator), panel.message.value, panel.preview.value, panel.table.value]
    places += [repr(w.get_state()) for w in _all_widgets(panel.widget)]
    assert not [p for p in places if SECRET in p]


def test_key_from_the_environment_reaches_the_server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with StubServer(model="stub-model", api_key=SECRET, latency=0) as server:
        panel = _server_panel(Panel(), server)
        panel.data.rows.value = 2
        panel.generator.key_source.value = "env"
        panel.run()
        result = panel.wait(timeout=30)
        assert result["generation_error"].isna().all() and server.request_count == 2  # a wrong key gets 401
    assert SECRET not in result.to_json() and SECRET not in repr(panel.pipeline.generator)


def test_run_with_a_gguf_file_path(model_path):
    panel = Panel()
    panel.data.rows.value = 1
    panel.generator.backend.value = "gguf"
    panel.generator.gguf_path.value = str(model_path)
    panel.generator.max_new_tokens.value = 8
    panel.labeller.enabled.value = False
    panel.run()
    result = panel.wait(timeout=240)
    assert result["generation_error"].isna().all() and result["generations"][0][0]
    assert panel.pipeline.generator.model_path == model_path and panel.pipeline.labeller is None
    assert "labelling_model" not in result.columns


def test_errors_are_shown_readably_not_raised():
    with StubServer(model="stub-model", api_key=SECRET, latency=0) as server:
        panel = _server_panel(Panel(), server)
        panel.data.rows.value = 3
        panel.generator.key_source.value = "typed"
        panel.generator.api_key.value = "sk-wrong-key-42"
        panel.run_button.click()
        panel.wait(timeout=30)
    assert _status(panel)[0] == "failed"
    text = _text(panel.message.value)
    assert "The run stopped with an error" in text and "rejected the API key" in text
    assert "Traceback" not in panel.message.value and "sk-wrong-key-42" not in panel.message.value
    assert panel.last_error is not None
    assert panel.progress.generation_bar.bar_style == "danger"
    assert not panel.run_button.disabled

    panel.generator.key_source.value = "none"
    panel.generator.base_url.value = "http://127.0.0.1:9/v1"  # nothing listens there
    panel.run_button.click()
    panel.wait(timeout=60)
    assert "cannot reach http://127.0.0.1:9/v1" in _text(panel.message.value)

    panel.generator.model.value = ""
    panel.run_button.click()
    assert "Type the model name" in _text(panel.message.value) and not panel.running

    panel.generator.backend.value = "gguf"
    panel.generator.gguf_path.value = "/nowhere/model.gguf"
    panel.run_button.click()
    assert "Could not start the run" in _text(panel.message.value)
    assert "No GGUF model file at '/nowhere/model.gguf'" in _text(panel.message.value)
    assert "Traceback" not in panel.message.value


def test_pipeline_panel_offers_the_pipelines_llms(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), respond=lambda prompt, i: f"<i>answer {i}</i>", max_new_tokens=5)
    panel = Pipeline(generator=generator).panel([{"input": "hi"}, {"input": "bye"}])
    assert panel.generator.backend.value == "given" and panel.generator.task.value == "given"
    assert not panel.labeller.enabled.value and panel.data.source.value == "given"
    assert panel.generator.max_new_tokens.value == 5
    assert "scripted" in panel.header.value

    panel.generator.num_generations.value = 2
    panel.generator.max_new_tokens.value = 7
    panel.run()
    result = panel.wait(timeout=30)
    assert result["generations"].tolist() == [["<i>answer 0</i>", "<i>answer 1</i>"]] * 2
    assert panel.pipeline.generator is not generator and panel.pipeline.generator.params.max_new_tokens == 7
    assert generator.params.max_new_tokens == 5  # the pipeline's own LLM is left as it was
    assert "&lt;i&gt;answer 0&lt;/i&gt;" in panel.table.value and "<i>answer" not in panel.table.value


def test_progress_facts():
    state = RunState(total_rows=10, done=4, tokens=1234, generation_failures=1, status="running", elapsed=2.0, cost=0.02)
    facts = ProgressFacts.of(state, elapsed=8.0)
    assert facts.elapsed == 8.0 and facts.rows_per_second == 0.5 and facts.remaining == 12.0
    assert [label for _, label, _ in facts.items(over=False)] == ["rows/s", "tokens", "failed", "cost", "elapsed", "projected", "left"]
    assert facts.items(over=False)[3][0] == "$0.02" and facts.items(over=False)[5][0] == "~$0.05"
    assert [label for _, label, _ in facts.items(over=True)] == ["rows/s", "tokens", "failed", "cost", "elapsed"]
    assert facts.items(over=False)[2] == ("1", "failed", True)
    assert duration(0.4, clock=True) == "0:00" and duration(3599, clock=True) == "59:59" and duration(None, clock=True) == "—"


def test_docstring_examples_run():
    import doctest

    from distilabel_nb.widgets import choices, panel, preview, progress, run_view

    for module in (panel, progress, choices, preview, run_view):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0, module.__name__
