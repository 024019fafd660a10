"""Pipeline logic with a scripted fake backend: columns, order, streaming, errors, bounds."""

import asyncio
import io
import sys
import threading
import time

import pandas as pd
import pytest

from distilabel_nb import DryRunError, Pipeline, TextGenerationTask, UltraFeedbackTask, pipeline
from distilabel_nb.executors.local import LocalExecutor
from distilabel_nb.llms.base import BackendUnavailable

GOOD_RATINGS = "#### Output for Text 1\nRating: 4\nRationale: good\n#### Output for Text 2\nRating: 2\nRationale: weak"

INPUT_COLUMNS = ["input", "id"]
GENERATION = ["generation_model", "generation_prompt", "raw_generation_responses", "generation_finish_reasons", "generations",
              "generation_error"]
LABELLING = ["labelling_model", "labelling_prompt", "raw_labelling_response", "labelling_finish_reason", "rating", "rationale",
             "labelling_order", "labelling_error"]
USAGE = [f"{step}_{name}" for step in ("generation", "labelling")
         for name in ("prompt_tokens", "completion_tokens", "cost", "latency_s", "cached")]


def rows(n):
    return [{"input": f"question {i}", "id": i} for i in range(n)]


def user_text(prompt):
    return prompt[-1]["content"] if isinstance(prompt, list) else prompt


def test_generator_and_labeller_columns_and_values(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: f"{user_text(p)} -> answer {i}", name="gen")
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: GOOD_RATINGS, name="judge")
    df = Pipeline(generator=generator, labeller=labeller).generate(rows(3), num_generations=2, display_progress_bar=False)
    assert list(df.columns) == INPUT_COLUMNS + GENERATION + LABELLING + USAGE
    assert list(df["id"]) == [0, 1, 2]
    row = df.iloc[1]
    assert row["generations"] == ["question 1 -> answer 0", "question 1 -> answer 1"]
    assert row["generation_model"] == ["gen", "gen"] and row["labelling_model"] == "judge"
    assert row["rating"] == [4.0, 2.0] and row["rationale"] == ["good", "weak"]
    assert pd.isna(row["generation_error"]) and pd.isna(row["labelling_error"])
    # the labeller saw the generations of its own row
    judged = [user_text(p) for p in labeller.history]
    assert any("question 1 -> answer 1" in text and "question 1\n" in text for text in judged)


def test_rows_finishing_out_of_order_come_back_in_input_order(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: user_text(p).upper(), delay=lambda p: 0.05 * (5 - int(user_text(p).split()[-1]) % 5), max_concurrency=5)
    df = Pipeline(generator=generator).generate(rows(10), display_progress_bar=False, skip_dry_run=True)
    assert [g[0] for g in df["generations"]] == [f"QUESTION {i}" for i in range(10)]
    assert list(df.index) == list(range(10))


def test_labelling_overlaps_generation(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), delay=0.02, max_concurrency=2)
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: GOOD_RATINGS.split("#### Output for Text 2")[0], delay=0.02, max_concurrency=2)
    Pipeline(generator=generator, labeller=labeller).generate(rows(12), display_progress_bar=False)
    first_label_start = min(t for kind, t in labeller.call_log if kind == "start")
    last_generation_end = max(t for kind, t in generator.call_log if kind == "end")
    assert first_label_start < last_generation_end


def test_pending_work_is_bounded_by_the_concurrency(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), delay=0.01, max_concurrency=3)
    pipe = Pipeline(generator=generator)
    peak_tasks = []
    stop = threading.Event()

    def watch():
        from distilabel_nb import runtime

        loop = runtime.get_loop()
        while not stop.is_set():
            peak_tasks.append(len(asyncio.all_tasks(loop)))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        df = pipe.generate(rows(200), display_progress_bar=False, batch_size=4)
    finally:
        stop.set()
        watcher.join()
    assert len(df) == 200
    assert generator.max_in_flight == 3
    # the run coroutine + at most batch_size row tasks (+ a little slack for to_thread helpers)
    assert max(peak_tasks) <= 4 + 2


def test_missing_columns_fail_before_any_call(scripted_llm):
    generator = scripted_llm(TextGenerationTask())
    with pytest.raises(ValueError) as info:
        Pipeline(generator=generator).generate([{"question": "hi"}], display_progress_bar=False)
    message = str(info.value)
    assert "missing column(s) ['input']" in message and "available columns: ['question']" in message
    assert generator.history == []


def test_labeller_only_pipeline_needs_generations_column(scripted_llm):
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: GOOD_RATINGS)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['generations'\]"):
        Pipeline(labeller=labeller).generate([{"input": "q"}], display_progress_bar=False)
    df = Pipeline(labeller=labeller).generate([{"input": "q", "generations": ["a", "b"]}], display_progress_bar=False)
    assert list(df.columns) == ["input", "generations"] + LABELLING + USAGE[5:]
    assert df.loc[0, "rating"] == [4.0, 2.0]


def test_a_failed_parse_marks_the_row_and_the_run_goes_on(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: "" if "question 1" in user_text(p) else "fine")
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: "no idea" if "question 2" in user_text(p) else "Rating: 5\nRationale: ok")
    df = Pipeline(generator=generator, labeller=labeller).generate(rows(4), display_progress_bar=False)
    assert len(df) == 4
    assert df.loc[1, "generation_error"] == "the model returned an empty answer"
    assert df.loc[1, "labelling_error"].startswith("not labelled")
    assert df.loc[2, "labelling_error"] == "text 1: no rating found"
    assert df.loc[2, "raw_labelling_response"] == "no idea"
    assert df.loc[3, "rating"] == [5.0] and pd.isna(df.loc[3, "labelling_error"])


def test_errors_of_several_generations_are_numbered(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: "" if i == 1 else "ok")
    df = Pipeline(generator=generator).generate(rows(1), num_generations=2, display_progress_bar=False)
    assert df.loc[0, "generation_error"] == "generation 2: the model returned an empty answer"
    assert df.loc[0, "generations"] == ["ok", None]


class Unavailable(Exception):
    pass


def test_dry_run_stops_a_broken_setup_after_one_row(scripted_llm):
    class Down(scripted_llm):
        async def _complete(self, prompt, n, schema=None):
            self.history.append(prompt)
            raise BackendUnavailable("cannot reach http://127.0.0.1:9/v1")

    generator = Down(TextGenerationTask())
    with pytest.raises(DryRunError, match=r"cannot reach http://127.0.0.1:9/v1\. Fix the setup and run again\.$") as info:
        Pipeline(generator=generator).generate(rows(50), display_progress_bar=False)
    assert "skip_dry_run" not in str(info.value)  # every other row would meet the same error
    assert len(generator.history) == 1
    df = Pipeline(generator=generator).generate(rows(3), display_progress_bar=False, skip_dry_run=True)
    assert len(generator.history) == 4 and df["generation_error"].notna().all()


@pytest.mark.parametrize("kind", ["dataframe", "list", "hf"])
def test_dataset_kinds(kind, scripted_llm):
    data = rows(3)
    if kind == "dataframe":
        data = pd.DataFrame(data, index=pd.Index([10, 20, 30], name="key"))
    elif kind == "hf":
        datasets = pytest.importorskip("datasets")
        data = datasets.Dataset.from_list(data)
    df = Pipeline(generator=scripted_llm(TextGenerationTask())).generate(data, display_progress_bar=False)
    assert list(df["input"]) == ["question 0", "question 1", "question 2"]
    if kind == "dataframe":
        assert list(df.index) == [10, 20, 30] and df.index.name == "key"


def test_unsupported_dataset_type(scripted_llm):
    with pytest.raises(TypeError, match="pandas DataFrame, a list of dicts or a datasets.Dataset"):
        Pipeline(generator=scripted_llm(TextGenerationTask())).generate("input,question", display_progress_bar=False)


def test_empty_dataset_gives_an_empty_frame_with_the_right_columns(scripted_llm):
    df = Pipeline(generator=scripted_llm(TextGenerationTask())).generate(pd.DataFrame({"input": []}), display_progress_bar=False)
    assert len(df) == 0 and list(df.columns) == ["input"] + GENERATION + USAGE[:5]
    generator, labeller = scripted_llm(TextGenerationTask()), scripted_llm(UltraFeedbackTask())
    df = Pipeline(generator=generator, labeller=labeller).generate(pd.DataFrame({"input": []}), display_progress_bar=False)
    assert len(df) == 0 and list(df.columns) == ["input"] + GENERATION + LABELLING + USAGE
    assert generator.history == [] and labeller.history == []


def test_run_events_and_state(scripted_llm, paused_runtime):
    generator = scripted_llm(TextGenerationTask(), lambda p, i: "" if "question 3" in user_text(p) else "ok", delay=0.01)
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: "Rating: 5\nRationale: ok")
    pipe = Pipeline(generator=generator, labeller=labeller)
    seen = []
    with paused_runtime():  # the run cannot begin before the listener is in place
        run = pipe.start(rows(6))
        run.subscribe(seen.append)
    df = run.wait(timeout=10)
    kinds = [e.kind for e in seen]
    assert kinds[-1] == "finished" and kinds.count("row_done") == 6 and "dry_run_passed" in kinds
    assert kinds.count("row_started") == 6
    for row in range(6):  # each row: started, generated, labelled, done, in that order
        steps = [e.kind for e in seen if e.row == row and e.kind.startswith("row_")]
        assert steps == ["row_started", "row_generated", "row_labelled", "row_done"], (row, steps)
    state = run.state
    assert (state.total_rows, state.started, state.generated, state.labelled, state.done) == (6, 6, 6, 6, 6)
    assert state.in_flight == 0
    assert (state.generation_failures, state.labelling_failures) == (1, 1)
    assert state.tokens == 6 * 5 + 5 * 5 and state.status == "finished"
    assert len(df) == 6 and pipe.last_run is run


def test_cancel_keeps_finished_rows(scripted_llm):
    generator = scripted_llm(TextGenerationTask(), delay=0.05, max_concurrency=2)
    run = Pipeline(generator=generator).start(rows(100))
    while run.state.done < 6:
        time.sleep(0.01)
    run.cancel()
    df = run.wait(timeout=5)
    assert run.state.status == "cancelled"
    assert 6 <= len(df) < 100
    assert list(df.index) == sorted(df.index)
    calls_at_stop = len(generator.history)
    time.sleep(0.3)
    assert len(generator.history) == calls_at_stop


def test_keyboard_interrupt_attaches_the_partial_result(scripted_llm, monkeypatch):
    from distilabel_nb.run import Run

    generator = scripted_llm(TextGenerationTask(), delay=0.02)
    original_join = Run.join
    interrupted = []

    def interrupted_join(self, timeout=None):
        if not interrupted and self.state.done >= 3 and not self.state.is_over:
            interrupted.append(True)
            raise KeyboardInterrupt  # what the notebook's stop button raises in the waiting cell
        return original_join(self, timeout)

    monkeypatch.setattr(Run, "join", interrupted_join)
    pipe = Pipeline(generator=generator)
    with pytest.raises(KeyboardInterrupt) as info:
        pipe.generate(rows(200), display_progress_bar=False)
    partial = info.value.partial_result
    assert 3 <= len(partial) < 200 and pipe.last_run.state.status == "cancelled"
    assert list(partial["input"]) == [f"question {i}" for i in partial.index]


def test_generate_from_inside_a_running_loop(scripted_llm):
    pipe = Pipeline(generator=scripted_llm(TextGenerationTask()))

    async def cell():
        return pipe.generate(rows(2), display_progress_bar=False)

    assert len(asyncio.run(cell())) == 2


def test_pipeline_needs_an_llm_and_checks_types(scripted_llm):
    with pytest.raises(ValueError, match="needs a generator, a labeller, or both"):
        Pipeline()
    with pytest.raises(TypeError, match="generator must be an LLM"):
        Pipeline(generator="gpt-4")


@pytest.mark.parametrize("kwargs, message", [({"num_generations": 0}, "num_generations"), ({"batch_size": 0}, "batch_size")])
def test_bad_run_arguments(kwargs, message, scripted_llm):
    generator = scripted_llm(TextGenerationTask())
    with pytest.raises(ValueError, match=message):
        Pipeline(generator=generator).generate(rows(1), display_progress_bar=False, **kwargs)
    assert generator.history == []


def test_preference_preset_builds_an_ultrafeedback_labeller(scripted_llm):
    pipe = pipeline("preference", generator=scripted_llm(TextGenerationTask()), max_new_tokens=32)
    assert isinstance(pipe.labeller.task, UltraFeedbackTask) and pipe.labeller.params.max_new_tokens == 32
    with pytest.raises(ValueError, match="unknown preference subtask 'tone'; known: 'helpfulness', 'honesty'"):
        pipeline("preference", subtask="tone", generator=scripted_llm(TextGenerationTask()))
    with pytest.raises(ValueError, match="Unknown pipeline kind"):
        pipeline("ranking")


def test_preference_preset_subtask_picks_the_ultrafeedback_preset(scripted_llm):
    generator = scripted_llm(TextGenerationTask())
    assert pipeline("preference", generator=generator).labeller.task.aspect == "overall quality"
    aspects = set()
    for subtask in ["helpfulness", "honesty", "instruction_following", "truthfulness"]:
        labeller_task = pipeline("preference", subtask, generator=generator).labeller.task
        assert labeller_task.aspect == getattr(UltraFeedbackTask, f"for_{subtask}")().aspect
        aspects.add(labeller_task.aspect)
    assert len(aspects) == 4 and "honesty and uncertainty" in aspects


def test_preference_preset_refuses_settings_it_would_ignore(scripted_llm):
    own = scripted_llm(UltraFeedbackTask.for_helpfulness())
    assert pipeline("preference", labeller=own).labeller is own
    with pytest.raises(ValueError, match=r"got labeller= and also subtask, which only set up the bundled labeller"):
        pipeline("preference", subtask="honesty", labeller=own)
    with pytest.raises(ValueError, match=r"also max_new_tokens.*UltraFeedbackTask.for_honesty\(\)"):
        pipeline("preference", labeller=own, max_new_tokens=32)


def test_progress_bars_count_rows(scripted_llm, capsys):
    labeller = scripted_llm(UltraFeedbackTask(), lambda p, i: "Rating: 5\nRationale: ok")
    Pipeline(generator=scripted_llm(TextGenerationTask()), labeller=labeller).generate(rows(5))
    err = capsys.readouterr().err
    assert "Generating: 100%" in err and "5/5" in err and "Labelling: 100%" in err


def test_progress_bars_keep_the_stderr_of_the_moment_the_run_began(scripted_llm, capsys, monkeypatch):
    """llama-cpp-python swaps sys.stderr for /dev/null while a worker thread loads a model;
    bars made during that moment must still write to the real stream."""
    real_stderr, swallowed = sys.stderr, io.StringIO()
    original_start = LocalExecutor.start

    def start_then_swap(self, *args, **kwargs):
        run = original_start(self, *args, **kwargs)
        sys.stderr = swallowed  # what a model load on a worker thread does meanwhile
        return run

    monkeypatch.setattr(LocalExecutor, "start", start_then_swap)
    try:
        Pipeline(generator=scripted_llm(TextGenerationTask())).generate(rows(5))
    finally:
        sys.stderr = real_stderr
    assert "Generating: 100%" in capsys.readouterr().err and swallowed.getvalue() == ""


def test_the_same_error_on_every_generation_is_said_once(scripted_llm):
    df = Pipeline(generator=scripted_llm(TextGenerationTask())).generate([{"input": None}], num_generations=3, display_progress_bar=False)
    assert df.loc[0, "generation_error"] == "TextGenerationTask: input 'input' is empty (None/NaN or blank); fill or drop those rows"
