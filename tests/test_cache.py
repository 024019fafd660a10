"""The call cache: zero calls on a re-run, parsing re-applied, refresh, off, threads, processes."""

import subprocess
import sys
import threading

import pandas as pd
import pytest

from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.cache import CACHE_FILE, CallCache, default_cache_path
from distilabel_nb.executors import local as local_executor
from distilabel_nb.schema import USAGE_COLUMNS



def assert_same_results(first, again):
    """The same frame but for the usage columns (a rerun's answers come from the cache: no cost, no latency)."""
    pd.testing.assert_frame_equal(first.drop(columns=list(USAGE_COLUMNS), errors="ignore"),
                                  again.drop(columns=list(USAGE_COLUMNS), errors="ignore"))

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
    assert_same_results(first, again)


def rating(prompt, i):
    return "Rating: 4\nRationale: fine\nRating: 2\nRationale: meh"


def row_steps(events):
    """Each row's step events, in the order they were sent."""
    steps = {}
    for event in events:
        if event.kind.startswith("row_"):
            steps.setdefault(event.row, []).append(event.kind)
    return steps


def test_partly_cached_run_asks_only_for_what_is_missing(scripted_llm):
    """Rows answered in part (answers cached, a new labeller) and rows not at all, in one run."""
    answer = lambda p, i: f"answer {i} to {p[-1]['content']}"
    first = Pipeline(generator=scripted_llm(TextGenerationTask(), answer, name="g"), labeller=scripted_llm(UltraFeedbackTask(), rating, name="l"))
    first.generate(rows(4), num_generations=2, display_progress_bar=False)

    generator = scripted_llm(TextGenerationTask(), answer, name="g")
    generator.respond = first.generator.respond  # the same model: rows 0-3 are in the cache
    labeller = scripted_llm(UltraFeedbackTask(), rating, name="another labeller")
    pipe = Pipeline(generator=generator, labeller=labeller)
    frame = pipe.generate(rows(10), num_generations=2, display_progress_bar=False)

    assert sorted(p[-1]["content"] for p in generator.history) == [f"question {i}" for i in range(4, 10)]
    assert len(labeller.history) == 10
    fresh = Pipeline(generator=scripted_llm(TextGenerationTask(), answer, name="g", cache=False),
                     labeller=scripted_llm(UltraFeedbackTask(), rating, name="another labeller", cache=False))
    assert_same_results(frame, fresh.generate(rows(10), num_generations=2, display_progress_bar=False))
    assert frame["generation_error"].isna().all() and frame["labelling_error"].isna().all()
    assert pipe.last_run.state.done == 10


def test_cached_rerun_reads_the_cache_once_per_chunk_and_keeps_the_event_order(scripted_llm, monkeypatch, paused_runtime):
    monkeypatch.setattr(local_executor, "CACHE_CHUNK_ROWS", 4)
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"answer {i}")
    labeller = scripted_llm(UltraFeedbackTask(), rating)
    pipe = Pipeline(generator=generator, labeller=labeller)
    first = pipe.generate(rows(10), num_generations=2, display_progress_bar=False)

    queries = []
    real_get_many = CallCache.get_many
    monkeypatch.setattr(CallCache, "get_many", lambda self, keys: queries.append(len(keys)) or real_get_many(self, keys))
    events = []
    with paused_runtime():  # the run cannot begin before the listener is in place
        run = pipe.start(rows(10), num_generations=2)
        run.subscribe(events.append)
    again = run.wait(timeout=30)

    assert_same_results(first, again)
    assert (len(generator.history), len(labeller.history)) == (10, 10)  # the first run's calls only
    # the dry-run row alone (2 keys, then 1), then chunks of 4, 4 and 1 rows: one query per LLM each
    assert queries == [2, 1, 8, 4, 8, 4, 2, 1]
    steps = row_steps(events)
    assert set(steps) == set(range(10))
    assert all(s == ["row_started", "row_generated", "row_labelled", "row_done"] for s in steps.values()), steps
    assert run.state.done == run.state.generated == run.state.labelled == 10


def test_stop_lands_while_every_row_comes_from_the_cache(scripted_llm, monkeypatch, paused_runtime):
    """Rows answered from the cache never wait; the run still lets a Stop in between chunks."""
    monkeypatch.setattr(local_executor, "CACHE_CHUNK_ROWS", 2)
    pipe = Pipeline(generator=scripted_llm(TextGenerationTask()))
    pipe.generate(rows(300), display_progress_bar=False)
    run = None

    def stop_after_twenty(event):
        if event.kind == "row_done" and run.state.done == 20:
            run.cancel()

    with paused_runtime():
        run = pipe.start(rows(300), batch_size=16)  # 16 workers, each taking chunks
        run.subscribe(stop_after_twenty)
    frame = run.wait(timeout=30)
    assert run.state.status == "cancelled"
    # the chunk being finished when Stop came, and no other
    assert 20 <= len(frame) <= 22 and list(frame["input"][:20]) == [f"question {i}" for i in range(20)]


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
    assert out.cached and out.ok and out.parsed_output == {"rating": [9], "rationale": ["great"]}
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
    assert cache.get_many(["7-199"]) == {"7-199": ("answer 7 199", {"completion_tokens": 199}, None)}


WRITER = """
import sys
from distilabel_nb.cache import CallCache
cache = CallCache(sys.argv[1])
for i in range(300):
    cache.put(f"{sys.argv[2]}-{i}", "x" * 100, {"completion_tokens": i})
"""


def test_processes_open_and_write_one_new_cache_at_once(tmp_path):
    """Several processes create the same file together: none fails on the switch to WAL mode."""
    path = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name]) for name in ("a", "b", "c")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert len(CallCache(path)) == 900


def test_real_model_rerun_is_served_from_the_cache(shared_llama):
    llm = LlamaCppLLM(task=TextGenerationTask(), model=shared_llama, max_new_tokens=12, temperature=1.0)
    first = llm.generate(rows(2))
    again = llm.generate(rows(2))
    assert [o[0].raw_output for o in again] == [o[0].raw_output for o in first]
    assert all(o[0].cached for o in again) and not any(o[0].cached for o in first)


def test_bad_rows_among_cached_rows_keep_their_error_on_a_rerun(scripted_llm):
    """A re-run reads the good rows from the cache; a bad row still says what is wrong with it."""
    data = rows(4)
    data[2] = {"input": None}
    pipe = Pipeline(generator=scripted_llm(TextGenerationTask()), labeller=scripted_llm(UltraFeedbackTask(), rating))
    first = pipe.generate(data, num_generations=2, display_progress_bar=False)
    again = pipe.generate(data, num_generations=2, display_progress_bar=False)
    assert_same_results(first, again)
    assert again.loc[2, "generation_error"] == "TextGenerationTask: input 'input' is empty (None/NaN or blank); fill or drop those rows"
    assert again.loc[2, "generations"] == [None, None] and again.loc[2, "labelling_error"].startswith("not labelled")
    assert again.drop(index=2)["generation_error"].isna().all() and again.drop(index=2)["labelling_error"].isna().all()


def test_the_same_prompt_twice_in_a_chunk_is_asked_once(scripted_llm):
    """A row looks the cache up again just before its call: an earlier row may have stored the answer."""
    counter = iter(range(100))
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"sample {next(counter)}")
    same = [{"input": "the same question"}] * 4
    first = Pipeline(generator=generator).generate(same, batch_size=1, skip_dry_run=True, display_progress_bar=False)
    assert len(generator.history) == 1 and first["generations"].tolist() == [["sample 0"]] * 4
    again = Pipeline(generator=generator).generate(same, display_progress_bar=False)
    assert_same_results(first, again)
