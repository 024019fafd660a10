"""The local engine on the real binary: llama.cpp's llama-server, started, shared, cancelled, killed and stopped.

Every test runs the bundled SmolLM2 through the real ``llama-server`` that ``make install``
builds; none fakes the engine. Processes are found by scanning ``/proc``.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.llms import engine as engine_module
from distilabel_nb.llms import llama_cpp as llama_cpp_module
from distilabel_nb.llms.engine_build import SERVER_ENV, find_server_binary

pytestmark = [
    pytest.mark.skipif(find_server_binary() is None, reason="llama-server is not built (make install builds it)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc"),
]
LONG = "Count from 1 to 5000, writing every number in words, one per line."


@pytest.fixture(autouse=True, scope="module")
def no_engine_left_by_earlier_modules():
    """These tests count and watch engine processes: they start with none running.

    An LLM of an earlier test module that is not collected yet keeps its engine alive
    (it stops when its last LLM goes, or at exit), and these tests would see it.
    """
    gc.collect()
    engine_module.stop_all()
    yield


def engine_pids(parent: int | None = None) -> set[int]:
    """Pids of running llama-server processes (children of ``parent`` when given)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")[0]
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if command.endswith(b"llama-server") and state != "Z" and (parent is None or int(ppid) == parent):
            pids.add(int(entry.name))
    return pids


def wait_until(condition, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def busy_slots(llm: LlamaCppLLM) -> int:
    """How many of the engine's slots are decoding, from its own /slots endpoint."""
    url = llm._server.base_url.removesuffix("/v1") + "/slots"
    with urllib.request.urlopen(url, timeout=5) as response:
        return sum(1 for slot in json.load(response) if slot.get("is_processing"))


def rows(n: int, text: str = "Name a colour") -> list[dict[str, str]]:
    return [{"input": f"{text} (row {i})."} for i in range(n)]


@pytest.fixture
def generator():
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=24, temperature=0, cache=False)
    yield llm
    llm.close()


def test_the_bundled_model_runs_on_the_engine_with_one_slot_per_call(generator):
    assert generator.engine == "server" and not generator.loaded
    outputs = generator.generate(rows(3))
    assert all(out.ok and out.raw_output.strip() for (out,) in outputs), outputs
    assert outputs[0][0].usage["completion_tokens"] > 0
    engine = generator._server
    assert engine.running and generator.loaded and engine.slots == generator.max_concurrency == 8
    assert engine.process.pid in engine_pids(parent=os.getpid())
    assert "8 slots × 4096 tokens" in engine.describe()
    assert ("engine", "llama.cpp's server (local engine)") in generator.facts().settings  # on its card


def test_generator_and_structured_labeller_share_one_process(generator):
    labeller = LlamaCppLLM(task=UltraFeedbackTask(structured=True), max_new_tokens=200, temperature=0, cache=False)
    try:
        df = Pipeline(generator=generator, labeller=labeller).generate(rows(4), num_generations=2, display_progress_bar=False)
        assert generator._server is labeller._server and labeller._server.slots == 16
        assert df["generation_error"].isna().all() and df["labelling_error"].isna().all(), df["labelling_error"].tolist()
        # Schema-constrained JSON on the fast path: every rating read, on the task's scale.
        assert all(len(r) == 2 and all(1 <= x <= 5 for x in r) for r in df["rating"]), df["rating"].tolist()
        assert all(json.loads(raw) for raw in df["raw_labelling_response"])
    finally:
        labeller.close()


def test_a_raw_text_format_with_a_schema_is_constrained_too():
    llm = LlamaCppLLM(task=UltraFeedbackTask(structured=True), prompt_format="chatml", max_new_tokens=200,
                      temperature=0, cache=False)
    try:
        (output,) = llm.generate([{"input": "What is 2+2?", "generations": ["4", "5"]}])[0]
        assert isinstance(output.prompt_used, str) and output.ok, output.error
        assert set(json.loads(output.raw_output)) >= {"ratings"} or output.parsed_output["rating"], output.raw_output
    finally:
        llm.close()


def test_seeds_give_each_answer_its_own_and_repeat(generator):
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=16, temperature=1.0, seed=5, cache=False)
    try:
        first = [out.raw_output for out in llm.generate([{"input": "Name an animal."}], num_generations=2)[0]]
        again = [out.raw_output for out in llm.generate([{"input": "Name an animal."}], num_generations=2)[0]]
        assert first == again and first[0] != first[1]
    finally:
        llm.close()


def test_an_in_process_answer_is_read_from_the_cache_on_the_engine(model_path):
    """The switch keeps the cache keys: a re-run on the engine sends nothing."""
    settings = dict(task=TextGenerationTask(), max_new_tokens=12, temperature=0.7, seed=3)
    in_process = LlamaCppLLM(model=model_path, engine="in-process", **settings)
    first = in_process.generate(rows(2))
    on_engine = LlamaCppLLM(model=model_path, **settings)
    try:
        again = on_engine.generate(rows(2))
        assert on_engine.engine == "server" and not on_engine.loaded  # answered without starting the engine
        assert [o.raw_output for (o,) in again] == [o.raw_output for (o,) in first] and all(o.cached for (o,) in again)
    finally:
        on_engine.close()


def test_stopping_a_run_frees_the_engine_slots_at_once():
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=3000, temperature=0, cache=False, max_concurrency=4)
    try:
        run = Pipeline(generator=llm).start(rows(8, LONG), skip_dry_run=True)
        assert wait_until(lambda: llm._server.running and busy_slots(llm) == 4, timeout=60)
        run.cancel()
        run.wait(timeout=30)
        # A 3000-token answer takes minutes here; the slots are free within llama-server's polling second.
        assert wait_until(lambda: busy_slots(llm) == 0, timeout=10), busy_slots(llm)
        assert llm.generate(rows(1))[0][0].ok  # the engine serves the next call
    finally:
        llm.close()


def test_a_killed_engine_fails_its_rows_by_name_and_the_next_run_starts_a_new_one():
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=3000, temperature=0, cache=False, max_concurrency=2)
    try:
        run = Pipeline(generator=llm).start(rows(2, LONG), skip_dry_run=True)
        assert wait_until(lambda: llm._server.running and busy_slots(llm) == 2, timeout=60)
        first_pid = llm._server.process.pid
        os.kill(first_pid, signal.SIGKILL)
        df = run.wait(timeout=60)
        errors = df["generation_error"].tolist()
        assert all(f"llama-server pid {first_pid}) was killed by SIGKILL" in e for e in errors), errors
        assert all("the end of its log" in e for e in errors)
        llm.params.max_new_tokens = 8
        again = Pipeline(generator=llm).generate(rows(2), display_progress_bar=False)
        assert again["generation_error"].isna().all() and llm._server.process.pid != first_pid
        assert first_pid not in engine_pids()
    finally:
        llm.close()


def test_two_model_files_run_at_once_in_two_engines(model_path, tmp_path):
    copy = tmp_path / "second.gguf"
    shutil.copyfile(model_path, copy)
    first = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=12, temperature=0, cache=False)
    second = LlamaCppLLM(task=UltraFeedbackTask(structured=True), model=copy, max_new_tokens=160, temperature=0, cache=False)
    try:
        df = Pipeline(generator=first, labeller=second).generate(rows(3), display_progress_bar=False)
        assert df["generation_error"].isna().all() and df["labelling_error"].isna().all()
        assert set(df["generation_model"].explode()) == {"SmolLM2-135M-Instruct"} and set(df["labelling_model"]) == {"second"}
        pids = {first._server.process.pid, second._server.process.pid}
        assert len(pids) == 2 and pids <= engine_pids(parent=os.getpid())
    finally:
        first.close()
        second.close()
    assert not pids & engine_pids()


def test_an_engine_stops_when_its_last_llm_is_closed_or_collected():
    one = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=4, cache=False)
    two = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=4, cache=False)
    one.generate(rows(1))
    pid = one._server.process.pid
    one.close()
    assert pid in engine_pids()  # the other LLM still uses it
    del two
    gc.collect()
    assert pid not in engine_pids()


@pytest.mark.parametrize("ending", ["killed", "exits"])
def test_no_engine_outlives_its_python_process(ending, tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from distilabel_nb import LlamaCppLLM, TextGenerationTask
        llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=4, cache=False)
        assert llm.generate([{"input": "Hi"}])[0][0].ok
        print(llm._server.process.pid, flush=True)
        if sys.argv[1] == "killed":
            time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script, ending], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        pid = int(child.stdout.readline())
        assert pid in engine_pids(parent=child.pid) or ending == "exits"
        if ending == "killed":
            child.kill()  # as a kernel killed by Jupyter: no atexit, no finally
        assert child.wait(timeout=60) is not None
        assert wait_until(lambda: pid not in engine_pids(), timeout=10)
    finally:
        child.kill()


def test_without_the_binary_auto_runs_in_process_with_a_one_line_note(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(SERVER_ENV, str(tmp_path / "no-llama-server"))
    monkeypatch.setattr(llama_cpp_module, "_noted", type(llama_cpp_module._noted)())
    llm = LlamaCppLLM(task=TextGenerationTask())
    LlamaCppLLM(task=TextGenerationTask())
    note = capsys.readouterr().err.strip().splitlines()
    assert llm.engine == "in-process" and llm.max_concurrency == 1
    assert len(note) == 1 and "llama-server is not built" in note[0] and "distilabel-nb build-engine" in note[0]
    with pytest.raises(FileNotFoundError, match="engine='server' needs llama.cpp's llama-server"):
        LlamaCppLLM(task=TextGenerationTask(), engine="server")


def test_a_loaded_llama_stays_in_process(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=4)
    assert llm.engine == "in-process" and llm._server is None
    with pytest.raises(ValueError, match="runs in-process"):
        LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, engine="server")


def test_a_model_the_engine_cannot_load_fails_the_dry_run_with_its_log(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    llm = LlamaCppLLM(task=TextGenerationTask(), model=bad, cache=False)
    with pytest.raises(Exception, match=r"Dry run on the first row failed: the local llama.cpp engine for broken.gguf \(llama-server pid \d+\) exited"):
        Pipeline(generator=llm).generate(rows(2), display_progress_bar=False)
    assert not engine_module.running_engines() or all(e.model_path != bad for e in engine_module.running_engines())
