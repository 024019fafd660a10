"""A step that had failures does not end plain green: its bar ends amber, with the count.

The tqdm bars of ``generate()`` (text in a terminal, widgets in a notebook) and the run
panel's bars, on real runs against the stub server: a labeller reading free text from a
backend that answers none it can read fails on every row, the generator on none.
"""

from __future__ import annotations

import io
import re
from html import unescape

import pandas as pd
import pytest

from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.progress_bars import FAILURES_COLOUR, ProgressBars, stoppable
from distilabel_nb.run import RunState
from distilabel_nb.testing import StubServer

AMBER_ANSI = "\x1b[38;2;{};{};{}m".format(*(int(FAILURES_COLOUR[i:i + 2], 16) for i in (1, 3, 5)))


def _text(html: str) -> str:
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


@pytest.fixture(scope="module")
def server():
    with StubServer(model="stub-model") as stub:
        yield stub


def _pipeline(server: StubServer) -> Pipeline:
    def llm(task):
        return OpenAILLM("stub-model", task, base_url=server.base_url, api_key="none", cache=False)

    # the stub's free text ("stub reply 0 […]") holds no rating: every labelling fails to parse
    return Pipeline(generator=llm(TextGenerationTask()), labeller=llm(UltraFeedbackTask(structured=False)))


ROWS = [{"input": f"question {i}"} for i in range(3)]


def test_generate_s_text_bars_end_amber_for_the_step_that_failed(server, capsys):
    df = _pipeline(server).generate(ROWS, skip_dry_run=True)
    assert df["labelling_error"].notna().all() and df["generation_error"].isna().all()
    lines = capsys.readouterr().err.replace("\n", "\r").split("\r")
    last_labelling = [line for line in lines if "Labelling" in line][-1]
    last_generating = [line for line in lines if "Generating" in line][-1]
    assert "failed=3" in last_labelling and "3/3" in last_labelling
    assert AMBER_ANSI in last_labelling  # the bar itself is drawn amber
    assert AMBER_ANSI not in last_generating and "failed" not in last_generating


def test_a_notebook_bar_ends_warning_with_failures_and_success_without():
    notebook = pytest.importorskip("tqdm.notebook")
    bar_class = stoppable(notebook.tqdm)
    with_failures, clean = bar_class(total=2, desc="Labelling"), bar_class(total=2, desc="Generating")
    with_failures.failed = 1
    for bar in (with_failures, clean):
        bar.update(2)
        bar.stop_clock()
        bar.close()  # tqdm.notebook turns a finished bar green here
    assert with_failures.container.children[1].bar_style == "warning"
    assert clean.container.children[1].bar_style == "success"


def test_progress_bars_mark_only_the_step_with_failures():
    stream = io.StringIO()
    bars = ProgressBars(stream)
    state = RunState(total_rows=2, has_generator=True, has_labeller=True, status="running")
    try:
        state.generated, state.labelled, state.labelling_failures = 2, 2, 2
        bars.show(state)
    finally:
        bars.close()
    assert bars.bars["labelled"].colour == FAILURES_COLOUR and bars.bars["labelled"].failed == 2
    assert bars.bars["generated"].colour is None


def test_the_panel_s_labelling_bar_ends_amber_with_the_count(server):
    from distilabel_nb.widgets import Panel
    from test_panel_preview import on_stub  # the panel on the stub, as the preview's tests set it

    panel = on_stub(Panel(pd.DataFrame(ROWS)), server)
    panel.labeller.structured.value = False
    result = panel.run() and panel.wait(timeout=60)
    assert result is not None and result["labelling_error"].notna().all()
    assert panel.progress.generation_bar.bar_style == "success"
    assert panel.progress.labelling_bar.bar_style == "warning"
    assert "3 / 3 · 3 failed · in " in _text(panel.progress.labelling_count.value)
    assert "failed" not in _text(panel.progress.generation_count.value)
    # the header's pill: finished, with failures (amber), not plain "Finished"
    assert 'data-status="finished" data-run="1" data-failed="3"' in panel.header.value
    assert "Finished with failures · 3 rows in" in _text(panel.header.value)


def test_a_notebook_bar_s_clock_stops_with_its_step():
    notebook = pytest.importorskip("tqdm.notebook")
    stopped, running = (stoppable(notebook.tqdm)(total=1, desc=name) for name in ("Generating", "Labelling"))
    for bar in (stopped, running):
        bar.update(1)
    stopped.stop_clock()
    for bar in (stopped, running):
        bar.start_t -= 3600  # an hour later, as tqdm counts
        bar.refresh()
    assert "1:00:00" in running.container.children[2].value
    assert "1:00:00" not in stopped.container.children[2].value  # "1/1 [00:00<00:00, …]"
    for bar in (stopped, running):
        bar.close()
