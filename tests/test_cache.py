"""The call cache: zero calls on a re-run, parsing re-applied, refresh, off, threads, processes."""

import subprocess
import sys
import threading

import pandas as pd
import pytest

from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.cache import CACHE_FILE, CallCache, default_cache_path


def rows(n):
    return [{"input": f"question {i}"} for i in range(n)]


def test_cache_lives_under_the_env_folder(isolated_cache):
    assert default_cache_path() == isolated_cache / CACHE_FILE


def test_rerun_makes_zero_calls_and_returns_the_same_frame(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"answer {i} to {p[-1]['content']}")
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: "Rating: 4\nRationale: fine\nRating: 2\nRationale: meh")
    pipe = Pipeline(generator=generator, labeller=labeller)
    first = pipe.generate(rows(5), num_generations=2, display_progress_bar=False)
    calls = (len(generator.history), len(labeller.history))
    assert calls == (5, 5)
    again = pipe.generate(rows(5), num_generations=2, display_progress_bar=False)
    assert (len(generator.history), len(labeller.history)) == calls
    pd.testing.assert_frame_equal(first, again)


def test_more_generations_later_only_asks_for_the_new_ones(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"answer {i}")
    generator.generate(rows(2), num_generations=2)
    results = generator.generate(rows(2), num_generations=3)
    assert len(generator.history) == 4  # two first calls, then one call per row for the third answer
    assert [o.cached for o in results[0]] == [True, True, False]


def test_parsing_is_reapplied_to_cached_answers(scripted_llm, monkeypatch):
    llm = scripted_llm(UltraFeedbackTask(), lambda p, i: "#### Output for Text 1\nRating: 9\nRationale: great")
    row = [{"input": "q", "generations": ["a"]}]
    (out,) = llm.generate(row)[0]
    assert out.error == "text 1: rating 9 is outside 1-5" and not out.cached
    # a later parser accepts 1-10: the stored answer is read again, no new call
    monkeypatch.setattr(UltraFeedbackTask, "rating_range", property(lambda self: (1, 10)))
    (out,) = llm.generate(row)[0]
    assert out.cached and out.ok and out.parsed_output == {"rating": [9.0], "rationale": ["great"]}
    assert len(llm.history) == 1


def test_refresh_calls_again_and_overwrites(scripted_llm):
    answers = iter(["first", "second", "third"])
    make = lambda cache: scripted_llm(TextGenerationTask(), lambda p, i: next(answers), name="m", cache=cache)
    responder_owner = make(True)
    assert responder_owner.generate(rows(1))[0][0].raw_output == "first"
    refreshing = make("refresh")
    refreshing.respond = responder_owner.respond
    assert refreshing.generate(rows(1))[0][0].raw_output == "second"
    reader = make(True)
    reader.respond = responder_owner.respond
    assert reader.generate(rows(1))[0][0].raw_output == "second" and reader.history == []


def test_cache_false_always_calls(scripted_llm):
    llm = scripted_llm(TextGenerationTask(), cache=False)
    llm.generate(rows(2))
    llm.generate(rows(2))
    assert len(llm.history) == 4 and llm.cache is None


def test_bad_cache_value(scripted_llm):
    with pytest.raises(ValueError, match="Invalid cache='yes'"):
        scripted_llm(TextGenerationTask(), cache="yes")


def test_key_depends_on_every_part_and_never_on_credentials():
    base = dict(backend="openai", model={"model": "m", "base_url": "u"}, prompt=[{"role": "user", "content": "hi"}], params={"temperature": 0.1}, index=0)
    keys = {CallCache.key(**base)}
    for change in ({"backend": "llama.cpp"}, {"model": {"model": "m2", "base_url": "u"}}, {"prompt": "hi"}, {"params": {"temperature": 0.2}}, {"index": 1}, {"schema": {"type": "object"}}):
        keys.add(CallCache.key(**{**base, **change}))
    assert len(keys) == 7


def test_many_threads_share_one_cache(tmp_path):
    cache = CallCache(tmp_path / "c.sqlite")

    def writer(t):
        for i in range(200):
            cache.put(f"{t}-{i}", f"answer {t} {i}", {"completion_tokens": i})

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 1600
    assert cache.get_many(["7-199"]) == {"7-199": ("answer 7 199", {"completion_tokens": 199})}


WRITER = """
import sys
from distilabel_nb.cache import CallCache
cache = CallCache(sys.argv[1])
for i in range(300):
    cache.put(f"{sys.argv[2]}-{i}", "x" * 100, {"completion_tokens": i})
"""


def test_two_processes_write_one_cache(tmp_path):
    path = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name]) for name in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(CallCache(path)) == 600


def test_real_model_rerun_is_served_from_the_cache(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=12, temperature=1.0)
    first = llm.generate(rows(2))
    again = llm.generate(rows(2))
    assert [o[0].raw_output for o in again] == [o[0].raw_output for o in first]
    assert all(o[0].cached for o in again) and not any(o[0].cached for o in first)
