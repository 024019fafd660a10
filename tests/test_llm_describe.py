"""LLMs describe themselves (``facts``), make copies with other settings (``replace``) and close their client."""

import pytest

from distilabel_nb import LlamaCppLLM, OpenAILLM, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.cache import CallCache, shared_cache
from distilabel_nb.llms.base import BackendFacts


def test_each_backend_says_where_and_how_it_runs(scripted_llm, model_path):
    assert scripted_llm(TextGenerationTask()).facts() == BackendFacts("scripted")
    local = LlamaCppLLM(TextGenerationTask(), n_ctx=2048, engine="in-process").facts()
    assert (local.backend, local.where, local.location) == ("llama.cpp", "local file", str(model_path))
    assert local.settings == (("n_ctx", "2,048"), ("n_threads", "auto"), ("engine", "llama.cpp in-process"))
    server = OpenAILLM("m", TextGenerationTask(), base_url="http://user:pw@127.0.0.1:9/v1", api_key="sk-secret",
                       timeout=30, max_retries=2).facts()
    assert (server.backend, server.where, server.settings) == ("openai", "server", (("timeout", "30 s"), ("max_retries", "2")))
    assert "sk-secret" not in repr(server)


def test_replace_keeps_what_is_not_given_and_leaves_the_original_alone(scripted_llm):
    own = CallCache(":memory:")
    llm = scripted_llm(TextGenerationTask(), max_new_tokens=32, temperature=0.3, max_concurrency=4, cache=own)
    task = UltraFeedbackTask(structured=False)  # a setting the backend need not settle: kept as given
    copy = llm.replace(task=task, temperature=0.0, max_concurrency=2)
    assert llm.replace(task=UltraFeedbackTask()).task.structured is False  # "auto", settled for this backend
    assert copy.task is task and copy.params.temperature == 0.0 and copy.params.max_new_tokens == 32
    assert copy.max_concurrency == 2 and copy.cache is own and not copy.cache_refresh
    assert (llm.task.name, llm.params.temperature, llm.max_concurrency) == ("TextGenerationTask", 0.3, 4)
    assert copy.respond is llm.respond  # the backend's own state is shared
    assert llm.replace(cache="refresh").cache is own and llm.replace(cache="refresh").cache_refresh
    assert llm.replace(cache=False).cache is None
    plain = scripted_llm(TextGenerationTask(), cache=False)
    assert plain.replace(cache=True).cache is shared_cache()
    server = OpenAILLM("m", TextGenerationTask(), base_url="http://127.0.0.1:9/v1")
    assert server.replace(temperature=0.0).client is server.client  # one client, one connection pool


def test_a_copy_answers_with_its_own_settings_and_the_same_model():
    llm = LlamaCppLLM(TextGenerationTask(), max_new_tokens=24, temperature=0.0, cache=False)
    loaded = llm.llama
    short = llm.replace(max_new_tokens=2)
    assert short.llama is loaded  # the model loaded once, shared
    (long_answer,), (short_answer,) = llm.generate([{"input": "Count from one to ten."}]), short.generate(
        [{"input": "Count from one to ten."}])
    assert long_answer[0].ok and short_answer[0].ok
    assert short_answer[0].usage["completion_tokens"] <= 2 < long_answer[0].usage["completion_tokens"]


@pytest.mark.parametrize("settings, message", [
    ({"model": "other"}, r"unknown setting\(s\) \['model'\]; it takes task, prompt_format"),
    ({"temperature": 9}, r"temperature=9 \(allowed: float >= 0.0 and <= 2.0\)"),
    ({"max_concurrency": 0}, "max_concurrency=0"),
    ({"prompt_format": "nope"}, "Unknown prompt format 'nope'"),
    ({"cache": "sometimes"}, "Invalid cache='sometimes'"),
])
def test_replace_refuses_what_a_new_llm_refuses(scripted_llm, settings, message):
    llm = scripted_llm(TextGenerationTask())
    with pytest.raises(ValueError, match=message):
        llm.replace(**settings)
    with pytest.raises(TypeError, match="must be a distilabel_nb Task"):
        llm.replace(task="text_generation")


def test_close_closes_the_client_and_the_next_call_opens_another(llama_server):
    base_url, model = llama_server
    llm = OpenAILLM(model, TextGenerationTask(), base_url=base_url, max_new_tokens=4, cache=False)
    first = llm.client
    assert llm.generate([{"input": "Say hi."}])[0][0].ok
    llm.close()
    assert first.is_closed()
    llm.close()  # twice is fine
    assert llm.generate([{"input": "Say hi."}])[0][0].ok
    assert llm.client is not first and not llm.client.is_closed()
    scripted = LlamaCppLLM(TextGenerationTask())
    scripted.close()  # no client: nothing to do
