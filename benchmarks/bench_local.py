"""Local model: tokens/s of ``Pipeline.generate`` with the bundled SmolLM2 against raw llama-cpp-python.

20 instructions × 64 new tokens, greedy (temperature 0), cache off. The reference, in
the same run: a plain loop of ``Llama.create_chat_completion`` on the same messages with
the same sampling arguments, on its own ``Llama`` loaded with the same settings. Both
decode the same tokens (greedy), so tokens/s compare like for like.

Goal: ours ≥ 0.95× the raw loop's tokens/s.

Run: ``python benchmarks/bench_local.py [--rows 20] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import header, instructions, median, rounds, table, verdict  # noqa: E402

MAX_NEW_TOKENS = 64


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import llama_cpp

    from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask
    from distilabel_nb.llms.llama_cpp import DEFAULT_CONTEXT_SIZE

    header(f"Local model: {args.rows} instructions × {MAX_NEW_TOKENS} new tokens, bundled SmolLM2-135M-Instruct, greedy")
    rows = instructions(args.rows)
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=MAX_NEW_TOKENS, temperature=0, cache=False)
    raw = llama_cpp.Llama(model_path=str(llm.model_path), n_ctx=DEFAULT_CONTEXT_SIZE, n_threads=llm.n_threads, verbose=False)
    messages = [llm.format_prompt(llm.task.generate_prompt(**row)) for row in rows]
    sampling = llm._sampling_kwargs(0)
    tokens: dict[str, int] = {}
    texts: dict[str, list[str]] = {}

    def raw_loop() -> None:
        total, answers = 0, []
        for prompt in messages:
            response = raw.create_chat_completion(messages=prompt, **sampling)
            total += response["usage"]["completion_tokens"]
            answers.append(response["choices"][0]["message"]["content"] or "")
        tokens["raw llama-cpp-python loop"], texts["raw"] = total, answers

    def ours() -> None:
        frame = Pipeline(generator=llm).generate(rows, display_progress_bar=False)
        assert frame["generation_error"].isna().all(), frame["generation_error"].dropna().head()
        texts["ours"] = [answers[0] for answers in frame["raw_generation_responses"]]

    variants = {"raw llama-cpp-python loop": raw_loop, "Pipeline.generate (LlamaCppLLM)": ours}
    times, _ = rounds(variants, args.repeats)
    # Greedy decoding: the same prompts give the same answers, so the same new tokens.
    same = texts["ours"] == texts["raw"]
    tokens["Pipeline.generate (LlamaCppLLM)"] = tokens["raw llama-cpp-python loop"]
    medians = {name: median(t) for name, t in times.items()}
    reference = medians["raw llama-cpp-python loop"]
    result_rows = [
        [name, seconds, tokens[name], tokens[name] / seconds, (tokens[name] / seconds) / (tokens["raw llama-cpp-python loop"] / reference),
         f"{min(times[name]):.2f}–{max(times[name]):.2f}"]
        for name, seconds in medians.items()
    ]
    print(table(["variant", "median s", "new tokens", "tokens/s", "× raw", "range s"], result_rows))
    ours_name = "Pipeline.generate (LlamaCppLLM)"
    ratio = (tokens[ours_name] / medians[ours_name]) / (tokens["raw llama-cpp-python loop"] / reference)
    per_round = median([r / o for r, o in zip(times["raw llama-cpp-python loop"], times[ours_name])])
    print(f"\nours ÷ raw (tokens/s): {ratio:.3f} (median of per-round time ratios {per_round:.3f}) — {verdict(ratio, 0.95, True)}")
    if not same:
        print("note: the answers differ from the raw loop's, so the token counts are estimates")
    return {"local_vs_raw": ratio, "local_tokens_per_s": tokens[ours_name] / medians[ours_name],
            "raw_tokens_per_s": tokens["raw llama-cpp-python loop"] / reference}



if __name__ == "__main__":
    main()
