"""Servers are checked first (issue 19, point 4): before any row, each OpenAI-compatible server is reached.

A dead URL, a wrong key or an unknown model fails in seconds with the URL, the cause in
plain words and the fix; ``skip_dry_run`` is offered only where it can help.
"""

import socket
import time

import pytest

from distilabel_nb import DryRunError, LlamaCppLLM, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.testing import StubServer


def rows(n):
    return [{"input": f"question {i}"} for i in range(n)]


def dead_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_nothing_listening_fails_in_seconds_in_plain_words_without_skip_dry_run():
    url = dead_url()
    llm = OpenAILLM("m", TextGenerationTask(), base_url=url)  # the default 4 retries would take ~8 s a row
    started = time.monotonic()
    with pytest.raises(DryRunError) as info:
        Pipeline(generator=llm).generate(rows(3), display_progress_bar=False)
    message = str(info.value)
    assert time.monotonic() - started < 5
    assert message.startswith(f"cannot reach {url}: connection refused (nothing listens on that port). Fix: start the server")
    assert "ssl:default" not in message and "skip_dry_run" not in message


def test_an_unknown_host_is_said_so():
    llm = OpenAILLM("m", TextGenerationTask(), base_url="http://no-such-host.invalid:8000/v1")
    with pytest.raises(DryRunError, match=r"the host name is not known \(check the spelling of base_url\)"):
        Pipeline(generator=llm).generate(rows(1), display_progress_bar=False)


def test_a_wrong_key_and_an_unknown_model_fail_before_any_completion_request():
    with StubServer(model=["stub-model", "other-model"], api_key="sk-right", latency=0) as server:
        wrong_key = OpenAILLM("stub-model", TextGenerationTask(), base_url=server.base_url, api_key="sk-WRONG")
        with pytest.raises(DryRunError, match=r"rejected the API key \(HTTP 401\)\. Fix: set OPENAI_API_KEY") as info:
            Pipeline(generator=wrong_key).generate(rows(3), display_progress_bar=False)
        assert "sk-WRONG" not in str(info.value) and "skip_dry_run" not in str(info.value)
        typo = OpenAILLM("stub-modle", TextGenerationTask(), base_url=server.base_url, api_key="sk-right")
        with pytest.raises(DryRunError) as info:
            Pipeline(generator=typo).generate(rows(3), display_progress_bar=False)
        assert str(info.value) == (
            f"{server.base_url} does not serve the model 'stub-modle'; it lists 'stub-model', 'other-model'. "
            "Did you mean 'stub-model'? Fix: pass one of those as the model name.")
        assert server.request_count == 1  # one probe of one token, asking for the unlisted model: 404


def test_a_server_that_serves_models_it_does_not_list_runs():
    with StubServer(model=["alias", "any-name"], listed=["alias"], latency=0) as server:
        llm = OpenAILLM("any-name", TextGenerationTask(), base_url=server.base_url, cache=False)
        df = Pipeline(generator=llm).generate(rows(2), display_progress_bar=False)
        assert server.request_count == 3  # the one-token probe, then the rows
    assert df["generation_error"].isna().all()


def test_a_url_without_v1_and_a_login_page_are_named():
    with StubServer(model="m", latency=0) as server:
        root = server.base_url.removesuffix("/v1")
        with pytest.raises(DryRunError, match=rf"has no /models \(HTTP 404\).*base_url='{root}/v1'"):
            Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url=root)).generate(rows(1), display_progress_bar=False)
    with StubServer(model="m", latency=0, faults={1: "html"}) as server:
        llm = OpenAILLM("m", TextGenerationTask(), base_url=server.base_url, max_retries=0, cache=False)
        df = Pipeline(generator=llm).generate(rows(2), display_progress_bar=False, skip_dry_run=True)
    assert "answered HTTP 200 with an HTML page" in df.loc[0, "generation_error"]
    assert "base_url must be the /v1 URL of an OpenAI-compatible server" in df.loc[0, "generation_error"]


def test_a_dead_labeller_fails_before_the_local_generator_writes_row_one():
    generator = LlamaCppLLM(TextGenerationTask(), max_new_tokens=64, cache=False)
    labeller = OpenAILLM("judge", UltraFeedbackTask(), base_url=dead_url())
    pipe = Pipeline(generator=generator, labeller=labeller)
    with pytest.raises(DryRunError, match="cannot reach"):
        pipe.generate(rows(2), display_progress_bar=False)
    assert pipe.last_run.state.generated == 0  # the server was checked before any row


def test_the_check_is_skipped_with_skip_dry_run():
    url = dead_url()
    df = Pipeline(generator=OpenAILLM("m", TextGenerationTask(), base_url=url, max_retries=0)).generate(
        rows(2), display_progress_bar=False, skip_dry_run=True)
    assert df["generation_error"].str.startswith(f"cannot reach {url} (model 'm'): connection refused").all()


def test_the_panel_says_the_same():
    import re
    from html import unescape

    from distilabel_nb.widgets import Panel

    url = dead_url()
    panel = Panel()
    panel.data.rows.value = 2
    panel.generator.backend.value = "openai"
    panel.generator.model.value = "m"
    panel.generator.base_url.value = url
    panel.generator.key_source.value = "none"
    panel.labeller.enabled.value = False
    panel.run()
    panel.wait(timeout=30)
    text = unescape(" ".join(re.sub(r"<style>.*?</style>|<[^>]+>", " ", panel.message.value, flags=re.S).split()))
    assert f"cannot reach {url}: connection refused (nothing listens on that port). Fix: start the server" in text
    assert "skip_dry_run" not in text and "ssl:default" not in text
