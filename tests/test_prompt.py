"""Prompt formats: one golden string per format, unknown names, user formats."""

import pytest

from distilabel_nb import Prompt, TextGenerationTask, known_formats, register_format
from distilabel_nb.prompt import _FORMATS

P = Prompt(system_prompt="You are terse.", formatted_prompt="Name a colour.")
NO_SYSTEM = Prompt(system_prompt="", formatted_prompt="Name a colour.")

GOLDEN = {
    "default": "You are terse.\nName a colour.",
    "openai": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}],
    "chat_template": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}],
    "llama2": "<s>[INST] <<SYS>>\nYou are terse.<</SYS>>\n\nName a colour. [/INST]",
    "chatml": "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
    "zephyr": "<|system|>\nYou are terse.</s>\n<|user|>\nName a colour.</s>\n<|assistant|>\n",
    "notus": "<|system|>\nYou are terse.</s>\n<|user|>\nName a colour.</s>\n<|assistant|>\n",
    "mistral": "<s>[INST] You are terse.\n\nName a colour. [/INST]",
    "gemma": "<bos><start_of_turn>user\nYou are terse.\n\nName a colour.<end_of_turn>\n<start_of_turn>model\n",
}

GOLDEN_NO_SYSTEM = {
    "default": "Name a colour.",
    "openai": [{"role": "user", "content": "Name a colour."}],
    "chatml": "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
    "zephyr": "<|user|>\nName a colour.</s>\n<|assistant|>\n",
    "mistral": "<s>[INST] Name a colour. [/INST]",
    "gemma": "<bos><start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\n",
}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_every_builtin_format_matches_its_golden_string(fmt):
    assert P.format_as(fmt) == GOLDEN[fmt]


@pytest.mark.parametrize("fmt", sorted(GOLDEN_NO_SYSTEM))
def test_empty_system_prompt_leaves_no_system_block(fmt):
    assert NO_SYSTEM.format_as(fmt) == GOLDEN_NO_SYSTEM[fmt]


def test_golden_table_covers_every_builtin_format():
    assert set(GOLDEN) <= set(known_formats())
    assert set(known_formats()) - set(GOLDEN) <= {name for name in _FORMATS if name.startswith("test_")}


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        P.format_as("alpaca")
    message = str(info.value)
    assert "'alpaca'" in message
    for name in ("chatml", "llama2", "openai", "zephyr"):
        assert name in message


def test_registered_format_is_used_by_name():
    register_format("test_upper", lambda p: f"{p.system_prompt.upper()}|{p.formatted_prompt.upper()}")
    assert P.format_as("test_upper") == "YOU ARE TERSE.|NAME A COLOUR."
    assert "test_upper" in known_formats()


def test_register_format_rejects_non_callables():
    with pytest.raises(TypeError, match="callable"):
        register_format("test_bad", "not a function")


def test_prompt_formatting_fn_is_applied_not_skipped(scripted_llm):
    seen = []
    llm = scripted_llm(TextGenerationTask(system_prompt="S"), prompt_formatting_fn=lambda p: seen.append(p) or f"<<{p.formatted_prompt}>>", prompt_format="chatml")
    outputs = llm.generate([{"input": "hello"}])
    assert llm.history == ["<<hello>>"]
    assert outputs[0][0].prompt_used == "<<hello>>"
    assert seen == [Prompt("S", "hello")]


def test_llm_rejects_unknown_format_and_non_callable_fn(scripted_llm):
    with pytest.raises(ValueError, match="Known formats"):
        scripted_llm(TextGenerationTask(), prompt_format="nope")
    with pytest.raises(TypeError, match="callable"):
        scripted_llm(TextGenerationTask(), prompt_formatting_fn="chatml")
