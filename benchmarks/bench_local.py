"""Local model: the bundled SmolLM2 on the local engine against llama.cpp's own server driven by OpenAILLM.

The job: 20 instructions × 64 new tokens, greedy (temperature 0), cache off, the bundled
SmolLM2-135M-Instruct, through ``Pipeline.generate``; once for generation alone and once
with a structured labeller (``UltraFeedbackTask(structured=True)``, schema-constrained
JSON, 128 new tokens) on each answer. Variants, in interleaved rounds:

- **ours**: ``LlamaCppLLM()`` as a user writes it (the engine the toolkit runs, default
  concurrency 8 per LLM);
- **reference**: a plain ``llama-server --parallel 8 --threads <same>`` started here on
  the same file, its other settings llama.cpp's defaults, driven by ``OpenAILLM`` at
  concurrency 8 (the same for the labeller). It runs with ``OMP_WAIT_POLICY=PASSIVE``
  as the engine does, so that the two differ only in how the toolkit runs and feeds it;
- with ``--spinning-reference``: the same server with OpenMP's default wait policy
  (idle threads spin), to show what that setting is worth on a busy machine;
- with ``--in-process``: ``LlamaCppLLM(engine="in-process")``, the path before the engine.

The ceiling beside them: llama.cpp's ``llama-batched-bench`` (generation tokens/s at 1, 8
and 16 parallel sequences, same threads). Goal: ours ≥ 0.9× the reference's throughput.

Run: ``python benchmarks/bench_local.py [--rows 20] [--repeats 3] [--in-process]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import header, instructions, median, rounds, table, verdict  # noqa: E402

from distilabel_nb.llms.engine import die_with_parent  # noqa: E402  (the server dies with this process)

MAX_NEW_TOKENS = 64
LABEL_TOKENS = 128
SLOTS = 8


@contextlib.contextmanager
def reference_server(binary: Path, model: Path, threads: int, passive: bool = True) -> Iterator[str]:
    """A plain ``llama-server --parallel 8`` on ``model``, its other settings llama.cpp's defaults; yields its ``/v1`` URL."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", "0",
                                    "--parallel", str(SLOTS), "--threads", str(threads)], stdout=log,
                                   stderr=subprocess.STDOUT, env=env, preexec_fn=die_with_parent(),
                                   start_new_session=True)  # its own session, as in a terminal of its own (and as the engine)
        try:
            while True:
                log.seek(0)
                found = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", log.read())
                if found:
                    break
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(log.read()[-2000:].decode(errors="replace"))
                time.sleep(0.05)
            yield found.group(1).decode() + "/v1"
        finally:
            process.terminate()
            process.wait(timeout=10)


def ceiling(binary: Path | None, model: Path, threads: int, prompt_tokens: int) -> dict[int, float]:
    """llama-batched-bench's generation tokens/s at 1, 8 and 16 parallel sequences (idle threads asleep, as on the engine)."""
    if binary is None:
        return {}
    result = subprocess.run([str(binary), "-m", str(model), "-c", "16384", "-npp", str(prompt_tokens),
                             "-ntg", str(MAX_NEW_TOKENS), "-npl", "1,8,16", "-t", str(threads)],
                            capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    speeds = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[2].isdigit():
            speeds[int(cells[2])] = float(cells[7])  # the B column, and S_TG t/s
    return speeds


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="also time the in-process path (slow)")
    parser.add_argument("--spinning-reference", action="store_true",
                        help="also time the reference with OpenMP's default (spinning) wait policy")
    args = parser.parse_args(argv)

    from distilabel_nb import LlamaCppLLM, OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
    from distilabel_nb.llms.engine import default_threads
    from distilabel_nb.llms.engine_build import find_binary, find_server_binary

    binary = find_server_binary()
    if binary is None:
        print("llama-server is not built: run `distilabel-nb build-engine` (or make install) first")
        return {}
    threads = default_threads()
    header(f"Local model: {args.rows} instructions × {MAX_NEW_TOKENS} new tokens, bundled SmolLM2-135M-Instruct, "
           f"greedy, {threads} threads")
    rows = instructions(args.rows)
    gen = dict(task=TextGenerationTask(), max_new_tokens=MAX_NEW_TOKENS, temperature=0, cache=False)
    lab = dict(task=UltraFeedbackTask(structured=True), max_new_tokens=LABEL_TOKENS, temperature=0, cache=False)
    ours_gen, ours_lab = LlamaCppLLM(**gen), LlamaCppLLM(**lab)
    model = ours_gen.model_path
    outputs = ours_gen.generate(rows)  # also starts the engine (not timed)
    new_tokens = sum(o.usage.get("completion_tokens", 0) for (o,) in outputs)
    prompt_tokens = round(sum(o.usage.get("prompt_tokens", 0) for (o,) in outputs) / len(outputs))
    results: dict[str, float] = {}
    with contextlib.ExitStack() as servers:
        base_url = servers.enter_context(reference_server(binary, model, threads))
        ref_gen = OpenAILLM(model.stem, base_url=base_url, max_concurrency=SLOTS, **gen)
        ref_lab = OpenAILLM(model.stem, base_url=base_url, max_concurrency=SLOTS, **lab)
        if args.spinning_reference:
            spinning_url = servers.enter_context(reference_server(binary, model, threads, passive=False))
            spin_gen = OpenAILLM(model.stem, base_url=spinning_url, max_concurrency=SLOTS, **gen)
            spin_lab = OpenAILLM(model.stem, base_url=spinning_url, max_concurrency=SLOTS, **lab)

        def run(generator, labeller=None):
            def once() -> None:
                df = Pipeline(generator=generator, labeller=labeller).generate(rows, display_progress_bar=False)
                failed = df["generation_error"].notna().sum() + (df["labelling_error"].notna().sum() if labeller else 0)
                assert failed == 0, df.filter(like="error").dropna(how="all").head()
            return once

        for title, with_labeller in (("generation alone", False), ("generator + structured labeller", True)):
            variants = {
                "ours: LlamaCppLLM (local engine)": run(ours_gen, ours_lab if with_labeller else None),
                f"reference: llama-server --parallel {SLOTS} + OpenAILLM": run(ref_gen, ref_lab if with_labeller else None),
            }
            if args.spinning_reference:
                variants["reference, OpenMP threads spinning (llama.cpp's default)"] = run(
                    spin_gen, spin_lab if with_labeller else None)
            if args.in_process and not with_labeller:
                variants["before: LlamaCppLLM(engine='in-process')"] = run(LlamaCppLLM(engine="in-process", **gen))
            times, _ = rounds(variants, args.repeats)
            medians = {name: median(t) for name, t in times.items()}
            reference = medians[f"reference: llama-server --parallel {SLOTS} + OpenAILLM"]
            print(f"\n### {title}\n")
            print(table(["variant", "median s", "× reference throughput", "range s"],
                        [[name, s, reference / s, f"{min(times[name]):.2f}–{max(times[name]):.2f}"] for name, s in medians.items()]))
            ratio = reference / medians["ours: LlamaCppLLM (local engine)"]
            print(f"\nours ÷ reference (throughput): {ratio:.3f} — {verdict(ratio, 0.9, True)}")
            key = "labelled" if with_labeller else "generation"
            results[f"local_{key}_vs_server"] = ratio
            if not with_labeller:
                results["local_tokens_per_s"] = new_tokens / medians["ours: LlamaCppLLM (local engine)"]
    ours_gen.close()
    ours_lab.close()
    speeds = ceiling(find_binary("llama-batched-bench"), model, threads, prompt_tokens)
    print(f"\n### Ceiling: llama-batched-bench, {prompt_tokens}-token prompts, {MAX_NEW_TOKENS} new tokens, {threads} threads\n")
    ours = results.get("local_tokens_per_s", 0.0)
    print(table(["", "new tokens/s"],
                [[f"llama-batched-bench, {b} parallel", s] for b, s in sorted(speeds.items())]
                + [[f"ours, generation alone ({new_tokens} new tokens, prompts and scheduling included)", ours]]))
    if SLOTS in speeds:
        print(f"\nours ÷ llama.cpp's ceiling at {SLOTS} parallel: {ours / speeds[SLOTS]:.2f}")
    return results


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - started:.0f} s)")
