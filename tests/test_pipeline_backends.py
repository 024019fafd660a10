"""Pipelines on real backends: local llama.cpp generator, labeller over HTTP, dry-run checks."""

import pandas as pd
import pytest

from distilabel_nb import DryRunError, LlamaCppLLM, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.testing import StubServer


def test_local_generator_and_http_labeller(shared_llama, llama_server):
    base_url, model = llama_server
    generator = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=24, temperature=0.7, seed=1)
    labeller = OpenAILLM(model, UltraFeedbackTask(), base_url=base_url, max_new_tokens=96, temperature=0)
    data = pd.DataFrame({"input": ["What is the capital of Italy?", "Name two even numbers.", "Say thanks in French."]})
    df = Pipeline(generator=generator, labeller=labeller).generate(data, num_generations=2, display_progress_bar=False)
    assert len(df) == 3 and list(df["input"]) == list(data["input"])
    assert df["generation_error"].isna().all(), df["generation_error"].tolist()
    for _, row in df.iterrows():
        assert len(row["generations"]) == 2 and all(g for g in row["generations"])
        assert row["generation_model"] == ["SmolLM2-135M-Instruct.Q4_1"] * 2
        assert row["labelling_model"] == model and row["raw_labelling_response"]
        # the labeller was shown this row's own answers
        assert all(g in row["labelling_prompt"][-1]["content"] for g in row["generations"])
        assert len(row["rating"]) == 2
        if pd.isna(row["labelling_error"]):
            assert all(1 <= r <= 5 for r in row["rating"])
        else:
            assert "text" in row["labelling_error"]


def test_dry_run_catches_an_unreachable_server_before_the_dataset_is_sent():
    llm = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5)
    with pytest.raises(DryRunError) as info:
        Pipeline(generator=llm).generate([{"input": f"q{i}"} for i in range(20)], display_progress_bar=False)
    assert "cannot reach http://127.0.0.1:9/v1" in str(info.value)


def test_dry_run_catches_a_wrong_model_name_and_a_wrong_key():
    with StubServer(model="stub-model", api_key="sk-right-key", latency=0) as server:
        wrong_model = OpenAILLM("gpt-nope", TextGenerationTask(), base_url=server.base_url, api_key="sk-right-key", max_retries=0)
        with pytest.raises(DryRunError, match="does not serve the model 'gpt-nope'"):
            Pipeline(generator=wrong_model).generate([{"input": "a"}, {"input": "b"}], display_progress_bar=False)
        assert server.request_count == 1  # the models list, and one probe of the unlisted name
        wrong_key = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key="sk-wrong-key-77", max_retries=0)
        with pytest.raises(DryRunError) as info:
            Pipeline(generator=wrong_key).generate([{"input": "a"}, {"input": "b"}], display_progress_bar=False)
        assert "rejected the API key" in str(info.value) and "sk-wrong-key-77" not in str(info.value)
        assert server.request_count == 1
        good = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key="sk-right-key")
        df = Pipeline(generator=good).generate([{"input": "a"}, {"input": "b"}], num_generations=3, display_progress_bar=False)
        assert df["generation_error"].isna().all() and [len(g) for g in df["generations"]] == [3, 3]
        assert server.request_count == 3  # n honoured: one request per row


def test_malformed_and_empty_answers_become_row_errors():
    with StubServer(model="stub-model", latency=0, faults={2: "malformed", 3: "empty"}) as server:
        llm = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, max_retries=0)
        df = Pipeline(generator=llm).generate([{"input": f"q{i}"} for i in range(4)], display_progress_bar=False, batch_size=1)
    errors = df["generation_error"].tolist()
    assert pd.isna(errors[0]) and pd.isna(errors[3])
    assert "JSONDecodeError" in errors[1]
    assert errors[2] == "the model returned an empty answer"
