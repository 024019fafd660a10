"""The run front: mistakes raised from the public call in a few frames, and an interrupt that hands back the rows.

A mistake in the arguments or the data raises from ``Pipeline.generate``/``start`` with
at most two frames of ours and a message that names the fix; an error from inside a run
comes back without the frames of the threads that carried it. An interrupt (a real
``SIGINT``, in this process and in a Jupyter kernel) stops the run, shows one line and
leaves the finished rows where the line says.
"""

from __future__ import annotations

import io
import os
import queue
import textwrap
import threading
import time
import traceback
from pathlib import Path

import pandas as pd
import pytest

import distilabel_nb
from distilabel_nb import DryRunError, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.errors import RunInterrupted
from distilabel_nb.llms.base import BackendUnavailable
from distilabel_nb.progress_bars import ProgressBars
from distilabel_nb.run import RunState

PACKAGE = os.path.dirname(distilabel_nb.__file__) + os.sep
MACHINERY = (f"{os.sep}concurrent{os.sep}futures{os.sep}", f"{os.sep}asyncio{os.sep}", f"{os.sep}threading.py")


def our_frames(error: BaseException) -> list[traceback.FrameSummary]:
    return [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith(PACKAGE)]


def machinery_frames(error: BaseException) -> list[str]:
    return [frame.filename for frame in traceback.extract_tb(error.__traceback__) if any(m in frame.filename for m in MACHINERY)]


def rows(n: int) -> list[dict]:
    return [{"input": f"question {i}"} for i in range(n)]


MISTAKES = [
    pytest.param([{"question": "hi"}], {}, ValueError,
                 ["missing column(s) ['input']", "available columns: ['question']", "df.rename(columns="], id="missing-column"),
    pytest.param(["a", "b"], {}, TypeError,
                 ["row 0 is str ('a')", "pd.DataFrame({'input': texts})", "[{'input': text} for text in texts]"], id="list-of-texts"),
    pytest.param("What is 2 + 2?", {}, TypeError,
                 ["Unsupported dataset type str", "pd.DataFrame({'input': ['What is 2 + 2?']})"], id="a-text"),
    pytest.param({"input": ["a", "b"]}, {}, TypeError, ["dict of columns, pass pd.DataFrame(data)"], id="dict-of-columns"),
    pytest.param(pd.Series(["a"]), {}, TypeError, ["Series", "series.to_frame('input')"], id="series"),
    pytest.param(rows(1), {"num_generations": 0}, ValueError, ["Invalid num_generations=0: pass an int >= 1"], id="num_generations-0"),
    pytest.param(rows(1), {"num_generations": "2"}, ValueError, ["Invalid num_generations='2': pass an int >= 1"], id="num_generations-str"),
    pytest.param(rows(1), {"batch_size": 0}, ValueError, ["Invalid batch_size=0: pass None or an int >= 1"], id="batch_size-0"),
    pytest.param(rows(1), {"batch_size": 2.5}, ValueError, ["Invalid batch_size=2.5"], id="batch_size-float"),
    pytest.param(rows(1), {"npartitions": 2}, ValueError, ["npartitions= applies to runs on Dask: pass client="], id="dask-only"),
]


@pytest.mark.parametrize("call", ["generate", "start"])
@pytest.mark.parametrize("dataset, kwargs, kind, phrases", MISTAKES)
def test_a_mistake_is_raised_from_the_public_call_with_its_fix(call, dataset, kwargs, kind, phrases, scripted_llm):
    generator = scripted_llm(TextGenerationTask())
    pipe = Pipeline(generator=generator)
    with pytest.raises(kind) as info:
        getattr(pipe, call)(dataset, **kwargs)
    for phrase in phrases:
        assert phrase in str(info.value), (phrase, str(info.value))
    frames = our_frames(info.value)
    assert len(frames) <= 2 and frames[0].name == call, [(f.filename, f.name) for f in frames]
    assert generator.history == []  # refused before any call


def test_a_labeller_only_pipeline_suggests_its_own_first_column(scripted_llm):
    pipe = Pipeline(labeller=scripted_llm(UltraFeedbackTask()))
    with pytest.raises(TypeError, match=r"pd.DataFrame\(\{'input': texts\}\)"):
        pipe.generate(["a"])


def test_dask_generate_raises_mistakes_from_its_own_call_too(scripted_llm):
    pytest.importorskip("dask.distributed")
    from distilabel_nb import distributed

    pipe = Pipeline(generator=scripted_llm(TextGenerationTask()))
    for kwargs, phrase in [({"num_generations": 0}, "Invalid num_generations=0"),
                           ({"client": "my-cluster"}, "client must be a dask.distributed.Client, got str")]:
        with pytest.raises((ValueError, TypeError), match=phrase) as info:
            distributed.generate(pipe, rows(2), **kwargs)
        assert [f.name for f in our_frames(info.value)] == ["generate", "generate"]  # distributed's, then Pipeline's


class Down(Exception):
    pass


def test_a_failed_dry_run_comes_back_without_the_run_machinery(scripted_llm):
    class Unreachable(scripted_llm):
        async def _complete(self, prompt, n, schema=None):
            raise BackendUnavailable("cannot reach http://127.0.0.1:9/v1")

    pipe = Pipeline(generator=Unreachable(TextGenerationTask()))
    with pytest.raises(DryRunError, match="cannot reach http://127.0.0.1:9/v1") as info:
        pipe.generate(rows(3), display_progress_bar=False)
    assert [f.name for f in our_frames(info.value)] == ["generate"]
    assert machinery_frames(info.value) == [] and info.value.__suppress_context__
    run = pipe.start(rows(3))
    with pytest.raises(DryRunError) as info:
        run.wait(timeout=10)
    assert len(our_frames(info.value)) <= 2 and machinery_frames(info.value) == []


def test_an_unexpected_error_in_a_run_keeps_where_it_happened_and_loses_the_threads(scripted_llm, monkeypatch):
    pipe = Pipeline(generator=scripted_llm(TextGenerationTask()))

    def broken_record(outputs):
        raise Down("a bug while building a row")

    monkeypatch.setattr(pipe, "generation_record", broken_record)
    with pytest.raises(Down) as info:
        pipe.generate(rows(2), display_progress_bar=False)
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "broken_record" in names and "_take_generation" in names  # the bug's own frames stay
    assert machinery_frames(info.value) == []


def test_an_interrupt_stops_the_run_says_where_the_rows_are_and_the_bars_show_them(scripted_llm, capsys, interrupt_when):
    generator = scripted_llm(TextGenerationTask(), delay=0.3, max_concurrency=1)
    pipe = Pipeline(generator=generator)
    interrupt_when(lambda: pipe.last_run is not None and pipe.last_run.state.done >= 1)
    with pytest.raises(KeyboardInterrupt) as info:
        pipe.generate(rows(6), skip_dry_run=True)
    error = info.value
    assert isinstance(error, RunInterrupted)
    run = pipe.last_run
    done = run.state.done
    assert run.state.status == "cancelled" and 1 <= done < 6
    assert str(error) == (f"Stopped after {done} of 6 rows; the finished rows are in `pipe.last_run.dataframe()` "
                          "(their answers are cached: run the cell again to go on)")
    pd.testing.assert_frame_equal(error.partial_result, run.dataframe())
    assert list(error.partial_result["input"]) == [f"question {i}" for i in range(done)]
    assert error._render_traceback_() == [f"RunInterrupted: {error}"]  # what IPython prints: one line
    assert [f.name for f in our_frames(error)] == ["generate"] and machinery_frames(error) == []
    assert error.__suppress_context__  # no "During handling of the above exception…"
    calls = len(generator.history)
    time.sleep(0.5)
    assert len(generator.history) == calls  # nothing more is sent
    last_bar = capsys.readouterr().err.split("\r")[-1]
    assert last_bar.startswith("Generating:") and f"{done}/6" in last_bar


def test_the_generating_bar_stops_its_clock_when_generation_is_over():
    stream = io.StringIO()
    state = RunState(total_rows=3, has_generator=True, has_labeller=True)
    bars = ProgressBars(stream)
    try:
        state.generated, state.labelled = 3, 1
        bars.show(state)
        generating, labelling = bars.bars["generated"], bars.bars["labelled"]
        stopped = generating.format_dict["elapsed"]
        started = labelling.format_dict["elapsed"]
        time.sleep(0.05)
        assert generating.format_dict["elapsed"] == stopped
        assert labelling.format_dict["elapsed"] > started
        state.labelled = 3
        bars.show(state)
    finally:
        bars.close()
    assert generating.format_dict["elapsed"] == stopped  # closing does not restart it either
    assert "Generating: 100%" in stream.getvalue() and "3/3" in stream.getvalue()


KERNEL_CELL = textwrap.dedent("""
    import threading, time
    from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
    from distilabel_nb.testing import StubServer

    server = StubServer(model="stub-model", latency=0.4).start()
    pipe = Pipeline(generator=OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url,
                                        max_concurrency=1, cache=False))

    def tell_when_a_row_is_done():
        while pipe.last_run is None or pipe.last_run.state.done < 1:
            time.sleep(0.01)
        print("ROW DONE", flush=True)

    threading.Thread(target=tell_when_a_row_is_done, daemon=True).start()
    df = pipe.generate([{"input": f"question {i}"} for i in range(6)], skip_dry_run=True)
""")


@pytest.mark.timeout(120)
def test_in_a_jupyter_kernel_an_interrupt_prints_one_line_and_keeps_the_rows(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    root = str(Path(distilabel_nb.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root, "DISTILABEL_NB_CACHE_DIR": str(tmp_path)}
    manager = jupyter_client.KernelManager(kernel_name="python3")  # "python" in its spec runs as sys.executable
    manager.start_kernel(env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        outputs: "queue.Queue[dict]" = queue.Queue()
        reply = {}

        def run_cell():
            reply.update(client.execute_interactive(KERNEL_CELL, output_hook=outputs.put, timeout=60)["content"])

        cell = threading.Thread(target=run_cell)
        cell.start()
        seen = []
        while not any("ROW DONE" in m["content"].get("text", "") for m in seen):
            seen.append(outputs.get(timeout=60))
        manager.interrupt_kernel()
        cell.join(timeout=60)
        while not outputs.empty():
            seen.append(outputs.get())
        errors = [m["content"] for m in seen if m["msg_type"] == "error"]
        streams = "".join(m["content"].get("text", "") for m in seen if m["msg_type"] == "stream")
        assert reply["status"] == "error" and reply["ename"] == "RunInterrupted"
        assert len(errors) == 1 and len(errors[0]["traceback"]) == 1, errors
        line = errors[0]["traceback"][0]
        assert line.startswith("RunInterrupted: Stopped after ") and line.endswith(" of 6 rows; the finished rows are in `pipe.last_run.dataframe()`")
        assert "Traceback" not in streams and "threading.py" not in streams
        kept = client.execute_interactive("print(len(pipe.last_run.dataframe()), pipe.last_run.state.done, 'df' in dir())",
                                          output_hook=outputs.put, timeout=30)
        assert kept["content"]["status"] == "ok"
        printed = ""
        while not outputs.empty():
            message = outputs.get()
            printed += message["content"].get("text", "") if message["msg_type"] == "stream" else ""
        kept_rows, done, assigned = printed.split()
        assert int(kept_rows) == int(done) >= 1 and f"Stopped after {done} of 6 rows" in line and assigned == "False"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
