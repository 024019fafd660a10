"""Every row of the faults and bad-inputs table in docs/caching.md, checked.

When a behaviour changes on purpose, change the table and the test together.
"""

import socket
import time

import pandas as pd
import pytest

from distilabel_nb import DryRunError, LlamaCppLLM, OpenAILLM, Pipeline, Task, TextGenerationTask, UltraFeedbackTask, pipeline
from distilabel_nb.testing import StubServer, last_user_text
from distilabel_nb.tasks import make_task


def generator(server, **kwargs):
    kwargs = {"max_retries": 2, "timeout": 1, "cache": False, **kwargs}
    return OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, **kwargs)


def dead_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def rows(n):
    return [{"input": f"question {i}"} for i in range(n)]


# -- faults: transient ones are retried and the row succeeds --
@pytest.mark.parametrize("fault", ["429", "500", "503", "hang", "drop"])
def test_transient_fault_is_retried(fault):
    with StubServer(model="m", latency=0, faults={1: fault}, retry_after=0.3, hang_seconds=5) as server:
        started = time.monotonic()
        (output,) = generator(server).generate(rows(1))[0]
        elapsed = time.monotonic() - started
        assert output.ok and server.request_count == 2
    if fault == "429":
        assert elapsed >= 0.3
    if fault == "hang":
        assert elapsed >= 1


def test_malformed_body_is_not_retried_and_becomes_the_row_error():
    with StubServer(model="m", latency=0, faults={1: "malformed"}) as server:
        (output,) = generator(server).generate(rows(1))[0]
        assert server.request_count == 1
    assert output.error.startswith("JSONDecodeError") and output.error_kind == "call"


def test_empty_answer_is_a_parse_error_with_the_raw_answer_kept():
    with StubServer(model="m", latency=0, faults={1: "empty"}) as server:
        df = Pipeline(generator=generator(server)).generate(rows(1), display_progress_bar=False)
    assert df.loc[0, "generation_error"] == "the model returned an empty answer"
    assert df.loc[0, "raw_generation_responses"] == [""]


def test_an_empty_answer_is_not_cached_so_a_rerun_asks_again():
    with StubServer(model="m", latency=0, faults={1: "empty"}) as server:
        pipe = Pipeline(generator=generator(server, cache=True))
        first = pipe.generate(rows(1), display_progress_bar=False, skip_dry_run=True)
        second = pipe.generate(rows(1), display_progress_bar=False, skip_dry_run=True)
        third = pipe.generate(rows(1), display_progress_bar=False, skip_dry_run=True)
        assert server.request_count == 2  # the empty answer is asked again; the good one is cached
    assert first.loc[0, "generation_error"] == "the model returned an empty answer"
    assert pd.isna(second.loc[0, "generation_error"]) and second.loc[0, "generations"] == third.loc[0, "generations"]


@pytest.mark.parametrize("fault, status", [("500", "HTTP 500"), ("429", "HTTP 429")])
def test_a_row_failing_every_attempt_keeps_its_place(fault, status):
    rule = lambda number, body: fault if last_user_text(body) == "question 1" else None
    with StubServer(model="m", latency=0, fault_rule=rule, retry_after=0.1) as server, \
         StubServer(model="judge", latency=0, responder=lambda b, i: "Rating: 4\nRationale: fine") as judge:
        # the judge answers in the free-text layout, so the labeller asks for it (not "auto")
        labeller = OpenAILLM("judge", UltraFeedbackTask(structured=False), base_url=judge.base_url, cache=False)
        df = Pipeline(generator=generator(server, max_retries=2), labeller=labeller).generate(rows(3), display_progress_bar=False)
        assert server.prompt_counts["question 1"] == 3  # first try + 2 retries
    assert df["generation_error"].notna().tolist() == [False, True, False]
    assert status in df.loc[1, "generation_error"]
    assert df.loc[1, "labelling_error"].startswith("not labelled: the generation failed")
    assert df.loc[0, "rating"] == [4.0] and df.loc[2, "rating"] == [4.0]


def test_unreachable_server_stops_at_the_dry_run():
    llm = OpenAILLM("m", TextGenerationTask(), base_url=dead_url(), max_retries=0)
    with pytest.raises(DryRunError, match=r"^cannot reach http://127.0.0.1:\d+/v1: connection refused \(nothing listens on that port\)\. Fix: start the server"):
        Pipeline(generator=llm).generate(rows(3), display_progress_bar=False)


def test_unreachable_server_with_skip_dry_run_fails_every_row_and_finishes():
    llm = OpenAILLM("m", TextGenerationTask(), base_url=dead_url(), max_retries=0)
    df = Pipeline(generator=llm).generate(rows(3), display_progress_bar=False, skip_dry_run=True)
    assert all(error.startswith("cannot reach") for error in df["generation_error"])


def test_wrong_key_and_unknown_model_stop_at_the_server_check_before_any_completion():
    with StubServer(model="m", latency=0, api_key="sk-right") as server:
        wrong = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key="sk-WRONG-1", max_retries=0)
        with pytest.raises(DryRunError, match=r"rejected the API key \(HTTP 401\)\. Fix: set OPENAI_API_KEY") as info:
            Pipeline(generator=wrong).generate(rows(3), display_progress_bar=False)
        assert "sk-WRONG-1" not in str(info.value)
        unknown = OpenAILLM("nope", TextGenerationTask(), base_url=server.base_url, api_key="sk-right", max_retries=0)
        with pytest.raises(DryRunError, match=r"does not serve the model 'nope'; it lists 'm'"):
            Pipeline(generator=unknown).generate(rows(3), display_progress_bar=False)
        assert server.request_count == 1  # a one-token probe for the unlisted model (a 404); no row was sent


def test_server_ignoring_n_gets_one_request_per_answer():
    with StubServer(model="m", latency=0, honour_n=False) as server:
        outputs = generator(server).generate(rows(1), num_generations=3)[0]
        assert len(outputs) == 3 and all(o.ok for o in outputs)
        assert server.request_count == 3


def test_unreadable_and_off_scale_ratings_are_reported_with_the_raw_answer_kept():
    answers = {
        "unreadable": "I liked both.",
        "off scale": "#### Output for Text 1\nRating: 4\nRationale: ok\n#### Output for Text 2\nRating: 9\nRationale: wow",
    }
    for case, answer in answers.items():
        with StubServer(model="judge", latency=0, responder=lambda b, i: answer) as judge:
            labeller = OpenAILLM("judge", UltraFeedbackTask(structured=False), base_url=judge.base_url, cache=False)  # free text
            df = Pipeline(labeller=labeller).generate([{"input": "q", "generations": ["a", "b"]}], display_progress_bar=False)
        row = df.iloc[0]
        assert row["raw_labelling_response"] == answer
        if case == "unreadable":
            assert row["rating"] == [None, None] and row["labelling_error"] == "text 1: no rating found; text 2: no rating found"
        else:
            assert row["rating"] == [4.0, None] and row["labelling_error"] == "text 2: rating 9 is outside 1-5"


def test_a_stopped_run_keeps_finished_rows_and_a_rerun_sends_only_the_rest():
    with StubServer(model="m", latency=0.2) as server:
        pipe = Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_concurrency=2))
        run = pipe.start(rows(10))
        while run.state.done < 4:
            time.sleep(0.02)
        run.cancel()
        partial = run.wait(timeout=30)
        before = server.request_count
        full = pipe.generate(rows(10), display_progress_bar=False)
        assert 4 <= len(partial) < 10 and run.state.status == "cancelled"
        assert full["generation_error"].isna().all()
        assert 1 <= server.request_count - before <= 10 - len(partial)


def test_a_prompt_longer_than_the_context_fails_only_its_row():
    llm = LlamaCppLLM(TextGenerationTask(), n_ctx=64, max_new_tokens=4, cache=False)
    df = Pipeline(generator=llm).generate([{"input": "word " * 200}, {"input": "Say hi"}], display_progress_bar=False, skip_dry_run=True)
    assert isinstance(df.loc[0, "generation_error"], str)
    assert pd.isna(df.loc[1, "generation_error"]) and df.loc[1, "generations"][0]


def test_a_corrupt_cache_file_fails_when_the_llm_is_built(isolated_cache):
    isolated_cache.mkdir(parents=True, exist_ok=True)
    (isolated_cache / "calls.sqlite").write_bytes(b"not a database " * 100)
    with pytest.raises(Exception, match="not a database"):
        LlamaCppLLM(TextGenerationTask())
    LlamaCppLLM(TextGenerationTask(), cache=False)  # the way around it


# -- bad inputs: refused before any model call, saying what is wrong --
def test_bad_dataset_inputs_are_refused_before_any_call():
    with StubServer(model="m", latency=0) as server:
        pipe = Pipeline(generator=generator(server))
        with pytest.raises(ValueError, match=r"missing column\(s\) \['input'\]; available columns: \['question'\].*rename"):
            pipe.generate([{"question": "a"}], display_progress_bar=False)
        instructions_writer = Task.from_template("Write a request about {{ input }}", inputs=["input"], outputs=["instructions"], name="SelfInstructTask")
        both = Pipeline(generator=OpenAILLM("m", instructions_writer, base_url=server.base_url),
                        labeller=OpenAILLM("m", UltraFeedbackTask(), base_url=server.base_url))
        with pytest.raises(ValueError, match=r"The generator \(SelfInstructTask\) produces \['instructions'\]; the labeller"):
            both.generate([{"input": "a"}], display_progress_bar=False)
        with pytest.raises(TypeError, match="Unsupported dataset type str"):
            pipe.generate("hello", display_progress_bar=False)
        with pytest.raises(TypeError, match="row 0 is str"):
            pipe.generate(["hello"], display_progress_bar=False)
        with pytest.raises(ValueError, match="num_generations=0"):
            pipe.generate(rows(1), num_generations=0)
        with pytest.raises(ValueError, match="batch_size=0"):
            pipe.generate(rows(1), batch_size=0)
        assert server.request_count == 0


def test_an_empty_input_fails_only_its_row():
    with StubServer(model="m", latency=0) as server:
        inputs = pd.DataFrame({"input": ["a", None, float("nan"), "  \n", "d"]})
        df = Pipeline(generator=generator(server)).generate(inputs, display_progress_bar=False)
        assert server.request_count == 2
    assert df["generation_error"].notna().tolist() == [False, True, True, True, False]
    for row in (1, 2, 3):
        assert "input 'input' is empty (None/NaN or blank); fill or drop those rows" in df.loc[row, "generation_error"]


def test_a_non_text_input_fails_only_its_row_and_names_the_fix():
    with StubServer(model="m", latency=0) as server:
        inputs = pd.DataFrame({"input": ["a", 42, {"text": "b"}, "d"]})
        df = Pipeline(generator=generator(server)).generate(inputs, display_progress_bar=False)
        assert server.request_count == 2
    assert df["generation_error"].notna().tolist() == [False, True, True, False]
    assert "input 'input' must be a text, got int 42; map a text column to it, or convert this one with df['input'].astype(str)" in df.loc[1, "generation_error"]
    assert "got dict {'text': 'b'}" in df.loc[2, "generation_error"]
    # A template task of your own decides what its inputs are: a number is fine there.
    count = Task.from_template("Write {{ n }} haiku.", inputs=["n"])
    assert count.generate_prompt(n=3).formatted_prompt == "Write 3 haiku."


def test_a_labeller_given_a_non_text_answer_fails_only_that_row():
    with StubServer(model="m", latency=0) as server:
        labeller = OpenAILLM("m", UltraFeedbackTask(), base_url=server.base_url, max_retries=0, cache=False)
        rows = pd.DataFrame({"input": ["q1", "q2"], "generations": [["a", "b"], ["a", 7]]})
        df = Pipeline(labeller=labeller).generate(rows, display_progress_bar=False)
        assert server.request_count == 1
    assert pd.isna(df.loc[0, "labelling_error"]) or "input" not in df.loc[0, "labelling_error"]
    assert "input 'generations': item 2 is a int, not a text" in df.loc[1, "labelling_error"]


@pytest.mark.parametrize("build, error, match", [
    (lambda: Pipeline(), ValueError, "needs a generator, a labeller, or both"),
    (lambda: LlamaCppLLM(TextGenerationTask(), prompt_format="alpaca"), ValueError, "Unknown prompt format 'alpaca'. Known formats: chat_template"),
    (lambda: LlamaCppLLM(TextGenerationTask(), temperature=3), ValueError, r"temperature=3 \(allowed: float >= 0.0 and <= 2.0\)"),
    (lambda: LlamaCppLLM(TextGenerationTask(), max_tokens=3), ValueError, "unknown parameter 'max_tokens' \\(known: max_new_tokens"),
    (lambda: LlamaCppLLM(TextGenerationTask(), max_concurrency=0), ValueError, "max_concurrency=0"),
    (lambda: LlamaCppLLM(TextGenerationTask(), cache="yes"), ValueError, "Invalid cache='yes'"),
    (lambda: LlamaCppLLM("TextGenerationTask"), TypeError, "task must be a distilabel_nb Task"),
    (lambda: LlamaCppLLM(TextGenerationTask(), model="/nope/model.gguf"), FileNotFoundError, "No GGUF model file at '/nope/model.gguf'"),
    (lambda: OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:1/v1", requests_per_minute=0), ValueError, "requests_per_minute=0"),
    (lambda: OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:1/v1", timeout=0), ValueError, "timeout=0"),
    (lambda: Task.from_template("{{ a }} {{ b }}", inputs=["a"]), ValueError, r"uses \['b'\], which is neither an input"),
    (lambda: Task.from_template("{{ a.__class__ }}", inputs=["a"]), ValueError, "may not reach Python internals"),
    (lambda: pipeline("preference", subtask="fun"), ValueError, "unknown preference subtask 'fun'; known: 'helpfulness'"),
    (lambda: pipeline("preference", subtask="helpfullness"), ValueError, "subtask 'helpfullness'; did you mean 'helpfulness'\\? known:"),
    (lambda: UltraFeedbackTask(aspect="helpfullness"), ValueError, "unknown aspect 'helpfullness'; did you mean 'helpfulness'\\? known: 'overall quality', 'helpfulness'"),
    (lambda: UltraFeedbackTask(aspects="honesty"), TypeError, "UltraFeedbackTask got an unknown parameter 'aspects' \\(did you mean 'aspect'\\?\\); its parameters: system_prompt, aspect,"),
    (lambda: make_task("ultrafedback"), ValueError, "Unknown task 'ultrafedback'; did you mean 'ultrafeedback_"),
])
def test_bad_arguments_are_refused_on_construction(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_no_key_for_openai_itself(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="No API key: set the OPENAI_API_KEY"):
        OpenAILLM("gpt-4o-mini", TextGenerationTask())
