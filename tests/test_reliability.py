"""Faults against our stub OpenAI-compatible server, resume after kill -9, and secrets."""

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest

from distilabel_nb import DryRunError, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.testing import StubServer, last_user_text


def rows(n):
    return [{"input": f"question {i}"} for i in range(n)]


@pytest.mark.parametrize("fault", ["429", "500", "503", "hang", "drop"])
def test_transient_faults_are_retried_and_the_row_succeeds(fault):
    with StubServer(model="m", latency=0, faults={1: fault}, retry_after=0.2, hang_seconds=5) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, timeout=1, max_retries=2)
        started = time.monotonic()
        (output,) = llm.generate(rows(1))[0]
        elapsed = time.monotonic() - started
        assert output.ok, output.error
        assert server.request_count == 2
    if fault == "429":
        assert elapsed >= 0.2  # Retry-After honoured
    if fault == "hang":
        assert elapsed >= 1  # the timeout fired, then the retry answered


def test_a_row_that_keeps_failing_is_recorded_and_the_run_goes_on():
    rule = lambda number, body: "500" if last_user_text(body) == "question 2" else None
    with StubServer(model="m", latency=0, fault_rule=rule) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=1, max_concurrency=4)
        df = Pipeline(generator=llm).generate(rows(6), display_progress_bar=False)
        assert server.prompt_counts["question 2"] == 2  # first try + one retry
    assert df["generation_error"].notna().tolist() == [False, False, True, False, False, False]
    assert "HTTP 500" in df.loc[2, "generation_error"]


def test_requests_per_minute_limit_spaces_requests():
    with StubServer(model="m", latency=0) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_concurrency=8, requests_per_minute=600, cache=False)
        started = time.monotonic()
        llm.generate(rows(16))
        elapsed = time.monotonic() - started
    # 600/min = 10/s: the first second's share goes at once, the rest waits for capacity
    assert elapsed >= 0.5


def test_tokens_per_minute_limit_waits_for_capacity():
    with StubServer(model="m", latency=0) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_concurrency=8, tokens_per_minute=6000, max_new_tokens=20, cache=False)
        started = time.monotonic()
        llm.generate(rows(6))  # ~60 tokens each (prompt estimate + 20), 6000/min = 100/s
        assert time.monotonic() - started >= 1.5


@pytest.mark.parametrize("kwargs", [{"requests_per_minute": 0}, {"tokens_per_minute": -5}])
def test_bad_rate_limits(kwargs):
    with pytest.raises(ValueError, match="allowed: a number > 0"):
        OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:1/v1", **kwargs)


RESUMABLE_RUN = """
import sys
from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
llm = OpenAILLM("m", TextGenerationTask(), base_url=sys.argv[1], max_concurrency=4, max_retries=0, timeout=120)
df = Pipeline(generator=llm).generate([{"input": f"question {i}"} for i in range(40)], display_progress_bar=False)
print("ROWS", len(df), int(df["generation_error"].isna().sum()))
"""


def test_a_killed_run_resumes_with_zero_lost_and_zero_duplicated(tmp_path, isolated_cache):
    answered: list[str] = []
    lock = threading.Lock()
    hang_after = {"n": 15}

    def responder(body, index):
        with lock:
            answered.append(last_user_text(body))
        return f"answer to {last_user_text(body)}"

    rule = lambda number, body: "hang" if hang_after["n"] and number > hang_after["n"] else None
    script = tmp_path / "run.py"
    script.write_text(RESUMABLE_RUN)
    env = {**os.environ, "DISTILABEL_NB_CACHE_DIR": str(isolated_cache)}
    with StubServer(model="m", latency=0.01, responder=responder, fault_rule=rule, hang_seconds=600) as server:
        process = subprocess.Popen([sys.executable, str(script), server.base_url], env=env, stdout=subprocess.PIPE, text=True)
        db = isolated_cache / "calls.sqlite"
        deadline = time.monotonic() + 60
        while True:  # wait until the 15 answered calls are stored and the rest hang
            stored = 0
            if db.exists():
                with sqlite3.connect(db) as con:
                    try:
                        stored = con.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
                    except sqlite3.OperationalError:
                        pass
            if stored >= 15 and server.request_count > 15:
                break
            assert time.monotonic() < deadline, f"stored={stored} requests={server.request_count}"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert len(answered) == 15

        hang_after["n"] = 0  # the server is healthy again
        result = subprocess.run([sys.executable, str(script), server.base_url], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "ROWS 40 40" in result.stdout
    counts = pd.Series(answered).value_counts()
    assert len(counts) == 40 and counts.max() == 1  # every row answered exactly once: none lost, none paid twice


PLANTED = "sk-planted-SECRET-4242"


def test_the_api_key_never_leaks(tmp_path, isolated_cache, caplog):
    caplog.set_level(logging.DEBUG)
    with StubServer(model="m", latency=0, api_key=PLANTED) as server:
        llm = OpenAILLM("m", UltraFeedbackTask(), base_url=server.base_url, api_key=PLANTED)
        gen = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key=PLANTED)
        pipe = Pipeline(generator=gen, labeller=llm)
        df = pipe.generate(rows(2), num_generations=2, display_progress_bar=False)
        wrong = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key=PLANTED + "x", max_retries=0)
        with pytest.raises(DryRunError) as info:
            Pipeline(generator=wrong).generate([{"input": "not cached yet"}], display_progress_bar=False)
    texts = {
        "repr": repr(llm) + repr(gen) + repr(pipe) + repr(wrong),
        "html": llm._repr_html_() + pipe._repr_html_() + pipe.last_run._repr_html_(),
        "dataframe": df.to_json() + df.to_csv(),
        "error": str(info.value) + repr(info.value),
        "logs": caplog.text,
        "cache": (isolated_cache / "calls.sqlite").read_bytes().decode("latin-1")
        + "".join(p.read_bytes().decode("latin-1") for p in isolated_cache.glob("calls.sqlite-*")),
    }
    assert "rejected the API key" in texts["error"]
    assert len(caplog.records) > 0  # the SDK's debug logs were captured and checked too
    for where, text in texts.items():
        assert PLANTED not in text, f"the API key leaked into the {where}"
