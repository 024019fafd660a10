"""Odd inputs and secrets (issue 15, points 7, 9 and 12): each works, or fails with a clear error.

Against the stub server: nothing here needs a model.
"""

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from distilabel_nb import OpenAILLM, Pipeline, Task, TextGenerationTask
from distilabel_nb.errors import DryRunError, InvalidArgument
from distilabel_nb.testing import StubServer


def llm_on(server, **kwargs):
    return OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=0, cache=False, **kwargs)


# -- 7. columns with non-string names --
def test_columns_named_by_numbers_are_read_and_come_back_under_their_names():
    task = Task.from_template("Say {{ input }} in {{ lang }}", inputs=["input", "lang"])
    data = pd.DataFrame({"input": ["hi", "bye"], "lang": ["fr", "de"], 0: ["a", "b"], 1.5: [1, 2]})
    data = data.rename(columns={"lang": 7})
    with StubServer(model="m", latency=0) as server:
        llm = OpenAILLM("m", Task.from_template("Say {{ input }} to {{ x }}", inputs=["input", "x"]), base_url=server.base_url)
        frame = data.rename(columns={7: "x"})
        df = Pipeline(generator=llm).generate(frame, display_progress_bar=False)
        assert [r["messages"][-1]["content"] for r in server.requests] == ["Say hi to fr", "Say bye to de"]
    assert list(df.columns[:4]) == ["input", "x", 0, 1.5]
    assert df[0].tolist() == ["a", "b"] and df[1.5].tolist() == [1, 2]
    assert task.input_args_names == ["input", "lang"]


def test_a_task_input_in_a_column_named_by_a_number_is_found():
    task = Task.from_template("Translate {{ input }}", inputs=["input"])
    data = pd.DataFrame({"input": ["hi"], 3: ["x"]})
    with StubServer(model="m", latency=0) as server:
        df = Pipeline(generator=OpenAILLM("m", task, base_url=server.base_url)).generate(data, display_progress_bar=False)
    assert df["generation_error"].isna().all() and df[3].tolist() == ["x"]


# -- 9. credentials --
def test_credentials_in_base_url_are_hidden_everywhere():
    from distilabel_nb.display import describe, to_html

    llm = OpenAILLM("m", TextGenerationTask(), base_url="http://alice:hunter2@127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(DryRunError) as info:
        Pipeline(generator=llm).generate([{"input": "a"}], display_progress_bar=False)
    shown = repr(llm) + to_html(llm) + describe(llm) + str(info.value) + str(llm.model_identity)
    assert "hunter2" not in shown and "alice" not in shown
    assert "http://***@127.0.0.1:9/v1" in repr(llm)


def test_a_short_key_does_not_garble_messages():
    with StubServer(model="m", latency=0, api_key="right") as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key="1", max_retries=0)
        with pytest.raises(DryRunError) as info:
            Pipeline(generator=llm).generate([{"input": "a"}], display_progress_bar=False)
    assert server.base_url in str(info.value)  # "http://127.0.0.1:…" is not cut into "http://***27.0.0.***"
    assert llm.scrub("key 1 sent, maximum 10") == "key *** sent, maximum 10"


def test_the_key_is_not_in_the_pickle_in_plain_text_and_still_works_there():
    key = "sk-planted-0123456789"
    with StubServer(model="m", latency=0, api_key=key) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, api_key=key, cache=False)
        data = pickle.dumps(llm)
        assert key.encode() not in data
        (output,) = pickle.loads(data).generate([{"input": "a"}])[0]
    assert output.ok, output.error


# -- 12. silent oddities --
def test_duplicate_column_names_are_refused_naming_them():
    data = pd.DataFrame([["a", "b"]], columns=["input", "input"])
    with pytest.raises(InvalidArgument, match=r"duplicate column names \['input'\].*df.columns.duplicated"):
        Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")).generate(data)


def test_multiindex_names_are_kept():
    data = pd.DataFrame({"input": ["a", "b"]}, index=pd.MultiIndex.from_tuples([("x", 1), ("y", 2)], names=["src", "n"]))
    with StubServer(model="m", latency=0) as server:
        df = Pipeline(generator=llm_on(server)).generate(data, display_progress_bar=False)
    assert list(df.index.names) == ["src", "n"] and df.index.tolist() == [("x", 1), ("y", 2)]


def test_a_formatting_function_returning_none_fails_its_rows_and_sends_nothing():
    with StubServer(model="m", latency=0) as server:
        llm = llm_on(server, prompt_formatting_fn=lambda prompt: None)
        df = Pipeline(generator=llm).generate([{"input": "a"}], display_progress_bar=False)
        assert server.request_count == 0
    assert df.loc[0, "generation_error"].startswith("prompt_formatting_fn returned NoneType None; it must return a text")


def test_numpy_nat_is_an_empty_input_not_the_text_nat():
    task = Task.from_template("When: {{ when }}", inputs=["when"])
    with StubServer(model="m", latency=0) as server:
        llm = OpenAILLM("m", task, base_url=server.base_url, cache=False)
        df = Pipeline(generator=llm).generate([{"when": np.datetime64("NaT")}, {"when": "today"}], display_progress_bar=False)
        assert server.request_count == 1
    assert df["generation_error"].notna().tolist() == [True, False]


@pytest.mark.parametrize("value", [True, 2.0, "2"])
def test_num_generations_that_is_not_a_count_is_refused(value):
    llm = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ValueError, match="num_generations"):
        llm.generate([{"input": "a"}], num_generations=value)
    with pytest.raises(ValueError, match="num_generations"):
        Pipeline(generator=llm).generate([{"input": "a"}], num_generations=value)


def test_numpy_integers_are_counts():
    with StubServer(model="m", latency=0) as server:
        llm = llm_on(server)
        assert len(llm.generate([{"input": "a"}], num_generations=np.int64(2))[0]) == 2
        df = Pipeline(generator=llm).generate([{"input": "a"}], num_generations=np.int64(2), batch_size=np.int32(1),
                                              display_progress_bar=False)
    assert len(df.loc[0, "generations"]) == 2


@pytest.mark.parametrize("timeout", [math.nan, math.inf, "5", True])
def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(timeout):
    with pytest.raises(ValueError, match=r"Invalid timeout=.*seconds > 0, a finite number"):
        OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1", timeout=timeout)


def test_a_raw_prompt_format_against_a_chat_only_server_says_so():
    with StubServer(model="m", latency=0) as server:
        df = Pipeline(generator=llm_on(server, prompt_format="chatml")).generate([{"input": "a"}], display_progress_bar=False,
                                                                               skip_dry_run=True)
    error = df.loc[0, "generation_error"]
    assert "answered 404 to /completions: it has no text-completion endpoint (a chat-only server)" in error
    assert "prompt_format='openai'" in error
