"""Nothing lost, second round: a cache that cannot be written, slow rate limits, odd answers.

Each test reproduces one fault of issue 15 against real parts (sqlite, the stub server,
the openai SDK) and checks that the run goes on and keeps every paid answer.
"""

import os
import sqlite3
import time
import warnings

import pandas as pd
import pytest

from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
from distilabel_nb import cache as cache_module
from distilabel_nb.cache import CallCache
from distilabel_nb.errors import RunWarning
from distilabel_nb.testing import StubServer, last_user_text


def rows(n):
    return [{"input": f"question {i}"} for i in range(n)]


def llm_on(server, **kwargs):
    return OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=0, timeout=5, **kwargs)


def fill_the_disk(cache: CallCache) -> None:
    """sqlite's own "database or disk is full": the file may not grow by a page."""
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count={pages}")


def free_the_disk(cache: CallCache) -> None:
    with cache._lock:
        cache._db.execute("PRAGMA max_page_count=1073741823")


# -- 1. a cache write that fails degrades, never aborts --
def test_a_full_disk_keeps_every_answer_says_it_once_and_stores_them_later(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "RETRY_SECONDS", 0.0)
    cache = CallCache(tmp_path / "calls.sqlite")
    fill_the_disk(cache)

    def responder(body, index):
        if last_user_text(body) == "question 30":  # space is freed during the run
            free_the_disk(cache)
        return f"answer to {last_user_text(body)}"

    with StubServer(model="m", latency=0, responder=responder) as server:
        pipe = Pipeline(generator=llm_on(server, cache=cache, max_concurrency=1))
        with pytest.warns(RunWarning, match="could not be written .*database or disk is full.*answers are in the result"):
            df = pipe.generate(rows(60), display_progress_bar=False)
        assert server.request_count == 60
        state = pipe.last_run.state
        assert len(state.warnings) == 1 and state.status == "finished"
        assert df["generation_error"].isna().all()
        assert df["generations"].tolist() == [[f"answer to question {i}"] for i in range(60)]
        # the writes were retried: everything is in the file, and a re-run pays nothing
        assert len(cache) == 60 and cache.unstored == 0
        again = pipe.generate(rows(60), display_progress_bar=False)
        assert server.request_count == 60 and again["generations"].tolist() == df["generations"].tolist()


def test_a_write_lock_held_by_another_process_keeps_the_answers_and_says_what_is_not_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "WRITE_WAIT_SECONDS", 0.05)
    path = tmp_path / "calls.sqlite"
    cache = CallCache(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, past every wait
    try:
        with StubServer(model="m", latency=0) as server:
            pipe = Pipeline(generator=llm_on(server, cache=cache, max_concurrency=2))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df = pipe.generate(rows(6), display_progress_bar=False)
            said = [str(w.message) for w in caught if issubclass(w.category, RunWarning)]
            assert df["generation_error"].isna().all() and all(g[0] for g in df["generations"])
            assert len(said) == 2 and "database is locked" in said[0]
            assert "6 answers are in the result but not in the cache" in said[1]
            assert "DISTILABEL_NB_CACHE_DIR" in said[1]
            # still in memory: the same process asks for none of them again
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RunWarning)
                pipe.generate(rows(6), display_progress_bar=False)
            assert server.request_count == 6
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert cache.flush() and len(cache) == 6


def test_the_bar_and_the_card_say_the_cache_was_not_written(tmp_path):
    cache = CallCache(tmp_path / "calls.sqlite")
    fill_the_disk(cache)
    with StubServer(model="m", latency=0, responder=lambda body, i: "long answer " * 1000) as server:
        pipe = Pipeline(generator=llm_on(server, cache=cache))
        run = pipe.start(rows(2))
        run.wait(timeout=30)
    from distilabel_nb.display import describe, to_html
    from distilabel_nb.progress_bars import ProgressBars
    import io

    assert "database or disk is full" in to_html(run) and "warning" in describe(run.state)
    stream = io.StringIO()
    bars = ProgressBars(stream)
    bars.show(run.state)
    bars.close()
    assert "cache not written" in stream.getvalue()


# -- 2. requests_per_minute below 60 --
def test_requests_per_minute_below_60_sends_every_row_spaced_out():
    with StubServer(model="m", latency=0) as server:
        llm = llm_on(server, requests_per_minute=30, cache=False)
        started = time.monotonic()
        outputs = llm.generate(rows(2))
        elapsed = time.monotonic() - started
        assert server.request_count == 2
    assert all(o[0].ok for o in outputs), [o[0].error for o in outputs]
    assert elapsed >= 1.9  # 30 a minute: one every two seconds


def test_tokens_per_minute_below_60_sends_too():
    with StubServer(model="m", latency=0) as server:
        (output,) = llm_on(server, tokens_per_minute=30, cache=False).generate(rows(1))[0]
    assert output.ok, output.error


# -- 3. a message.content that is not a string --
@pytest.mark.parametrize("content, text", [
    ([{"type": "text", "text": "Hello"}, {"type": "text", "text": " world"}], "Hello world"),
    (None, ""),
])
def test_content_as_text_parts_or_null_is_read_and_cached(content, text):
    with StubServer(model="m", latency=0, responder=lambda body, i: {"content": content}) as server:
        pipe = Pipeline(generator=llm_on(server))
        first = pipe.generate(rows(2), display_progress_bar=False)
        second = pipe.generate(rows(2), display_progress_bar=False)
    for df in (first, second):
        assert df["raw_generation_responses"].tolist() == [[text], [text]]
    if text:
        assert first["generation_error"].isna().all() and server.request_count == 2
    else:
        assert (first["generation_error"] == "the model returned an empty answer").all()


def test_content_that_is_a_number_fails_its_row_naming_it_and_the_run_goes_on():
    reply = lambda body, i: {"content": 42} if last_user_text(body) == "question 1" else "fine"
    with StubServer(model="m", latency=0, responder=reply) as server:
        df = Pipeline(generator=llm_on(server)).generate(rows(3), display_progress_bar=False)
    assert df["generation_error"].notna().tolist() == [False, True, False]
    assert "message.content of type int (42), not a text" in df.loc[1, "generation_error"]


# -- 5. timeout= is a deadline for the whole answer --
def test_a_trickled_answer_is_abandoned_at_the_timeout():
    with StubServer(model="m", latency=0, faults={1: "trickle"}, trickle_seconds=0.5) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=0, timeout=2, cache=False)
        started = time.monotonic()
        (output,) = llm.generate(rows(1))[0]
        elapsed = time.monotonic() - started
    assert output.error == f"request to {server.base_url} (model 'm') timed out after 2s"
    assert elapsed < 20  # the body alone takes minutes at this pace; a read timeout never fires


def test_a_trickled_answer_is_retried_within_the_deadline_and_the_row_succeeds():
    with StubServer(model="m", latency=0, faults={1: "trickle"}, trickle_seconds=0.5) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=1, timeout=1, cache=False)
        (output,) = llm.generate(rows(1))[0]
        assert output.ok and server.request_count == 2


# -- 8. a backend lost during the run: the breaker --
def test_a_key_revoked_mid_run_stops_sending_and_marks_the_rest():
    def revoke_at_20(body, index):
        if server.request_count >= 20:
            server._auth = "Bearer revoked"
        return "fine"

    with StubServer(model="m", latency=0.01, api_key="sk-good", responder=revoke_at_20) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key="sk-good", max_concurrency=8, cache=False)
        pipe = Pipeline(generator=llm)
        with pytest.warns(RunWarning, match="stopped calling m: 5 calls in a row failed"):
            df = pipe.generate(rows(300), display_progress_bar=False)
        sent = server.request_count
    errors = df["generation_error"]
    assert len(df) == 300 and sent < 60  # 300 without the breaker
    assert errors.iloc[:19].isna().all()  # what finished before is kept
    assert errors.iloc[-200:].str.startswith("not sent: ").all()
    assert errors.iloc[-200:].str.contains("rejected the API key").all()


def test_a_server_gone_mid_run_fails_the_rest_at_once():
    server = StubServer(model="m", latency=0.05).start()
    llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_concurrency=2, max_retries=1, timeout=2, cache=False)
    try:
        run = Pipeline(generator=llm).start(rows(80))
        while run.state.done < 10:
            time.sleep(0.01)
        server.stop()
        df = run.wait(timeout=120)
    finally:
        server.stop()
    errors = df["generation_error"].fillna("")
    assert len(df) == 80 and (errors.iloc[:10] == "").all()
    assert errors.str.startswith("not sent: cannot reach").sum() >= 60
    assert "stopped calling m" in run.state.warnings[0]


def test_cached_rows_and_bad_inputs_do_not_trip_the_breaker():
    from distilabel_nb.breaker import Breaker
    from distilabel_nb.llms.outputs import LLMOutput

    breaker = Breaker(limit=2)
    down = [LLMOutput("m", "p", None, None, error="cannot reach", error_kind="unavailable")]
    bad = [LLMOutput("m", None, None, None, error="empty input", error_kind="input")]
    fine = [LLMOutput("m", "p", "ok", {})]
    assert [breaker.record(o) for o in (down, bad, fine, down)] == [False, False, False, False]
    assert breaker.record(down) and breaker.reason == "cannot reach"


# -- 10. batch_size beyond the rows --
def test_a_huge_batch_size_starts_no_more_workers_than_rows(monkeypatch):
    from distilabel_nb import runtime

    limits = []
    original = runtime.bounded_run

    async def spy(fn, items, limit):
        limits.append(limit)
        return await original(fn, items, limit)

    monkeypatch.setattr(runtime, "bounded_run", spy)
    with StubServer(model="m", latency=0) as server:
        df = Pipeline(generator=llm_on(server)).generate(rows(2), batch_size=10**6, display_progress_bar=False)
    assert limits == [2] and df["generation_error"].isna().all()


# -- 4. truncation is data --
def test_an_answer_cut_at_max_new_tokens_is_flagged_kept_and_cached_with_its_reason():
    cut = lambda body, i: {"content": "The answer is lon", "finish_reason": "length"}
    with StubServer(model="m", latency=0, responder=cut) as server:
        pipe = Pipeline(generator=llm_on(server, max_new_tokens=8))
        first = pipe.generate(rows(1), display_progress_bar=False)
        again = pipe.generate(rows(1), display_progress_bar=False)
        assert server.request_count == 1
    for df in (first, again):
        assert df.loc[0, "generation_finish_reasons"] == ["length"]
        assert df.loc[0, "generations"] == ["The answer is lon"]  # a generator's text is kept as it is
        assert pd.isna(df.loc[0, "generation_error"])


def test_a_labeller_answer_cut_at_max_new_tokens_is_a_parse_error_naming_the_fix():
    from distilabel_nb import UltraFeedbackTask

    cut = lambda body, i: {"content": "#### Output for Text 1\nRating: 4\nRationale: goo", "finish_reason": "length"}
    with StubServer(model="judge", latency=0, responder=cut) as server:
        labeller = OpenAILLM("judge", UltraFeedbackTask(structured=False), base_url=server.base_url, max_new_tokens=16)
        df = Pipeline(labeller=labeller).generate([{"input": "q", "generations": ["a", "b"]}], display_progress_bar=False)
    assert df.loc[0, "labelling_finish_reason"] == "length"
    assert "the answer was cut at max_new_tokens=16 (finish_reason 'length')" in df.loc[0, "labelling_error"]
    assert "raise max_new_tokens" in df.loc[0, "labelling_error"]


def test_the_results_card_shows_a_cut_answer():
    from distilabel_nb.display import describe, show_results, to_html

    cut = lambda body, i: {"content": "half an ans", "finish_reason": "length"}
    with StubServer(model="m", latency=0, responder=cut) as server:
        df = Pipeline(generator=llm_on(server, max_new_tokens=4)).generate(rows(1), display_progress_bar=False)
    view = show_results(df)
    assert "cut at max_new_tokens" in to_html(view) and "cut at max_new_tokens" in describe(view)
    with StubServer(model="m", latency=0, responder=cut) as server:
        (output,) = llm_on(server, max_new_tokens=4).generate(rows(1))[0]
    assert output.finish_reason == "length"
    assert "cut at max_new_tokens" in to_html(output) and "cut at max_new_tokens" in describe(output)


# -- 14. checksums --
def test_an_entry_whose_bytes_changed_is_a_miss_asked_again_and_said(tmp_path):
    path = tmp_path / "calls.sqlite"
    with StubServer(model="m", latency=0) as server:
        pipe = Pipeline(generator=llm_on(server, cache=CallCache(path)))
        pipe.generate(rows(3), display_progress_bar=False)
        other = sqlite3.connect(path)
        other.execute("UPDATE calls SET answer = replace(answer, 'stub', 'STUB') WHERE rowid = 2")
        other.commit()
        other.close()
        with pytest.warns(RunWarning, match="1 cached answer did not match its checksum"):
            df = pipe.generate(rows(3), display_progress_bar=False)
        assert server.request_count == 4  # the changed one only, asked again
    assert not df["generations"].astype(str).str.contains("STUB").any()


def test_a_cache_written_by_an_earlier_version_is_read_and_gains_the_new_columns(tmp_path):
    path = tmp_path / "calls.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE calls (key TEXT PRIMARY KEY, answer TEXT NOT NULL, usage TEXT NOT NULL, created REAL NOT NULL)")
    old.execute("INSERT INTO calls VALUES ('k', 'old answer', '{}', 0)")
    old.commit()
    old.close()
    cache = CallCache(path)
    assert cache.get_many(["k"]) == {"k": ("old answer", {}, None)}
    cache.put("k2", "new", {}, "stop")
    assert cache.get_many(["k2"]) == {"k2": ("new", {}, "stop")}


# -- 11. the cache folder --
def test_a_file_where_the_cache_folder_should_be_is_a_clear_error(tmp_path, monkeypatch):
    from distilabel_nb.errors import CacheUnavailable

    (tmp_path / "blocker").write_text("a file")
    monkeypatch.setenv("DISTILABEL_NB_CACHE_DIR", str(tmp_path / "blocker"))
    with pytest.raises(CacheUnavailable, match=r"cannot be made: a file is in the way\. Fix: .*DISTILABEL_NB_CACHE_DIR.*cache=False") as info:
        OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
    ours = [f for f in __import__("traceback").extract_tb(info.value.__traceback__) if "distilabel_nb" in f.filename]
    assert len(ours) <= 2, [f.name for f in ours]
    with pytest.raises(CacheUnavailable, match="is a folder"):
        CallCache(tmp_path)


# -- 13. display: big answers, terminal escapes --
def test_a_huge_answer_is_cut_in_the_card_with_a_note_and_kept_whole_in_the_frame():
    from distilabel_nb.display import show_results, to_html

    huge = "word " * 1_000_000  # 5 MB
    df = pd.DataFrame({"input": [f"q{i}" for i in range(10)], "generations": [[huge]] * 10})
    page = to_html(show_results(df))
    assert len(page) < 1_000_000  # 50 MB before
    assert "the first 20,000 of 5,000,000 characters are shown; the whole text is in the DataFrame" in page
    assert len(df.loc[0, "generations"][0]) == 5_000_000


def test_ansi_escapes_and_bidi_controls_do_not_reach_the_text_twin():
    from distilabel_nb.display import describe, show_results

    hostile = "\x1b[2J\x1b[31mred\x1b[0m \u202egnirts desrever\u202c \x1b]0;title\x07done"
    df = pd.DataFrame({"input": [hostile], "generations": [[hostile]], "generation_error": [hostile]})
    text = describe(show_results(df)) + repr(show_results(df))
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "red gnirts desrever done" in text


# -- 6. two processes on one cache --
TWIN_RUN = """
import sys, time, pathlib
from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask
from distilabel_nb.cache import CallCache
base_url, path, go = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
llm = OpenAILLM("m", TextGenerationTask(), base_url=base_url, max_concurrency=8, max_retries=0, cache=CallCache(path))
while not go.exists():
    time.sleep(0.005)
df = Pipeline(generator=llm).generate([{"input": f"question {i}"} for i in range(80)], display_progress_bar=False,
                                      skip_dry_run=True)
print("ROWS", len(df), int(df["generation_error"].isna().sum()))
"""


def test_two_processes_on_one_cache_pay_once_for_each_call(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "twin.py"
    script.write_text(TWIN_RUN)
    go = tmp_path / "go"
    path = tmp_path / "calls.sqlite"
    CallCache(path)  # the file exists before both start
    with StubServer(model="m", latency=0.05) as server:
        twins = [subprocess.Popen([sys.executable, str(script), server.base_url, str(path), str(go)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        time.sleep(1.5)  # both have loaded the package and wait at the line
        go.write_text("go")
        outs = [twin.communicate(timeout=120) for twin in twins]
        sent = server.request_count
    for out, err in outs:
        assert "ROWS 80 80" in out, err[-2000:]
    assert sent == 80  # 160 without claims (974 of 1,000 sent twice before)
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0


def test_a_claim_left_by_a_killed_process_or_run_out_is_taken_over(tmp_path):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from distilabel_nb.cache_claims import _HOST

    cache = CallCache(tmp_path / "calls.sqlite")
    with StubServer(model="m", latency=0) as server:
        llm = llm_on(server, cache=cache)
        calls = [llm.prepare(row) for row in rows(2)]
        far = time.time() + 3600
        cache._db.execute("INSERT INTO claims VALUES (?, ?, ?)", (calls[0].keys[0], f"{_HOST}:{dead.pid}:gone", far))
        cache._db.execute("INSERT INTO claims VALUES (?, ?, ?)", (calls[1].keys[0], "elsewhere:1:old", time.time() - 1))
        run = Pipeline(generator=llm).start(rows(2), skip_dry_run=True)
        df = run.wait(timeout=30)  # waited on forever if the stale claims were honoured
        assert server.request_count == 2
    assert df["generation_error"].isna().all()


def test_a_live_claim_is_waited_for_and_its_answer_used(tmp_path):
    import threading

    path = tmp_path / "calls.sqlite"
    cache = CallCache(path)
    with StubServer(model="m", latency=0) as server:
        llm = llm_on(server, cache=cache)
        (call,) = [llm.prepare(row) for row in rows(1)]
        other = CallCache(path)  # another holder (its own owner id), as a second process would be
        assert other.claims.take(call.keys) == []

        def answer_later():
            time.sleep(0.5)
            other.put(call.keys[0], "paid for once", {})
            other.claims.release(call.keys)

        threading.Thread(target=answer_later).start()
        df = Pipeline(generator=llm).generate(rows(1), display_progress_bar=False, skip_dry_run=True)
        assert server.request_count == 0
    assert df.loc[0, "generations"] == ["paid for once"]


def test_a_read_only_cache_is_read_and_new_answers_stay_in_memory(tmp_path, monkeypatch):
    path = tmp_path / "calls.sqlite"
    with StubServer(model="m", latency=0) as server:
        Pipeline(generator=llm_on(server, cache=CallCache(path))).generate(rows(2), display_progress_bar=False)
        # The tests run as root, whom no file mode stops: the permission check says what a user would meet.
        monkeypatch.setattr(cache_module.os, "access", lambda p, mode: mode != os.W_OK and os.path.exists(p))
        read_only = CallCache(path)
        assert read_only.read_only
        with pytest.warns(RunWarning, match="read-only"):
            df = Pipeline(generator=llm_on(server, cache=read_only)).generate(rows(3), display_progress_bar=False)
        assert server.request_count == 3  # the two stored answers were read; only the new row was sent
    assert df["generation_error"].isna().all() and len(read_only) == 2
    assert not (tmp_path / "calls.sqlite-journal").exists()
