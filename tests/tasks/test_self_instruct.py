"""Self-Instruct: the golden prompt and reading lists of requests."""

from __future__ import annotations

import pytest

from distilabel_nb.tasks import OutputParseError, SelfInstructTask

from task_cases import GoldenChecks

GOLDEN_CASES = {
    "self_instruct": (
        SelfInstructTask(application_description="A cooking assistant for busy parents.", num_instructions=3),
        {"input": "Quick weeknight dinners with few ingredients."},
    ),
}


class TestGoldenPrompts(GoldenChecks):
    golden = GOLDEN_CASES


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("1. Explain tides.\n2. Why is the sky blue?\n3. List three rivers.", ["Explain tides.", "Why is the sky blue?", "List three rivers."]),
        ("Sure! Here are 3 requests:\n\n1) Explain tides.\n2) Why is the sky blue?\n3) List three rivers.\n\nHope this helps!",
         ["Explain tides.", "Why is the sky blue?", "List three rivers."]),
        ("- Explain tides.\r\n- Why is the sky blue?\r\n", ["Explain tides.", "Why is the sky blue?"]),
        ("Explain tides.\nWhy is the sky blue?", ["Explain tides.", "Why is the sky blue?"]),
        ("Here are some queries:\nExplain tides.\n\nWhy is the sky blue?", ["Explain tides.", "Why is the sky blue?"]),
        ('1. "Explain tides."\n2. **Why is the sky blue?**', ["Explain tides.", "Why is the sky blue?"]),
        ("Query 1: Explain tides.\nQuery 2: Explain tides.\nQuery 3: Name a river.", ["Explain tides.", "Name a river."]),
        ("1. A\n2. B\n3. C\n4. D\n5. E\n6. F", ["A", "B", "C"]),
        ("## Requests\n1. <request>\n2. Explain tides.", ["Explain tides."]),
    ],
)
def test_self_instruct_reads_lists_as_models_write_them(answer, expected):
    assert SelfInstructTask(num_instructions=3).parse_output(answer) == {"instructions": expected}


@pytest.mark.parametrize("answer", ["", "   \n  ", "Here are the requests:", "1. <request>"])
def test_self_instruct_with_nothing_to_read_is_an_error(answer):
    with pytest.raises(OutputParseError, match="no instructions found") as info:
        SelfInstructTask().parse_output(answer)
    assert info.value.partial == {"instructions": None}


def test_self_instruct_rejects_a_bad_count():
    with pytest.raises(ValueError, match="num_instructions"):
        SelfInstructTask(num_instructions=0)
