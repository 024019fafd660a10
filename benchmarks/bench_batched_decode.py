"""Does decoding several sequences in one llama.cpp batch pay on this machine?

Greedy decoding of the bench_local prompts (chat template from the GGUF, 64 new tokens)
with llama.cpp's own batch API: all prompts of a group are read in one batch, then
each step decodes one token of every unfinished sequence together. Groups of 1 (one
sequence at a time, through the same code) are the reference; the high-level
``create_chat_completion`` loop is shown for scale. Each setting is run with 1 and 2
threads, in interleaved rounds.

What decides is the comparison with the ``create_chat_completion`` loop, which
``LlamaCppLLM`` uses: batching is worth a second decoder only if it clearly beats that loop
with the few sequences a run has in flight.

Run: ``python benchmarks/bench_batched_decode.py [--rows 20] [--repeats 3] [--groups 1 2 4 8]``
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import header, instructions, median, rounds, table  # noqa: E402

MAX_NEW_TOKENS = 64


class BatchedGreedy:
    """Greedy decoding of several sequences per llama.cpp batch (one context, one seq id each)."""

    def __init__(self, model_path: str, n_seq_max: int, n_threads: int, n_ctx_per_seq: int = 1024):
        import llama_cpp
        import numpy as np

        self.lib, self.np = llama_cpp, np
        self.llama = llama_cpp.Llama(model_path=model_path, n_ctx=512, n_threads=n_threads, verbose=False)
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx_per_seq * n_seq_max
        params.n_batch = params.n_ubatch = max(512, n_ctx_per_seq * n_seq_max)
        params.n_seq_max = n_seq_max
        params.n_threads = params.n_threads_batch = n_threads
        self.ctx = llama_cpp.llama_init_from_model(self.llama._model.model, params)
        if not self.ctx:
            raise RuntimeError("could not create a llama.cpp context")
        self.vocab = llama_cpp.llama_model_get_vocab(self.llama._model.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.batch = llama_cpp.llama_batch_init(params.n_batch, 0, n_seq_max)
        self.n_seq_max = n_seq_max

    def _decode(self, entries: list[tuple[int, int, int, bool]]) -> None:
        """entries: (token, position, sequence, wants logits)."""
        batch = self.batch
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, pos, 1
            batch.seq_id[i][0], batch.logits[i] = seq, logits
        batch.n_tokens = len(entries)
        if self.lib.llama_decode(self.ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    def _argmax(self, index: int) -> int:
        pointer = self.lib.llama_get_logits_ith(self.ctx, index)
        logits = self.np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))
        return int(logits.argmax())

    def generate(self, prompts: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        """Greedy answers (token ids) to the tokenized prompts, ``n_seq_max`` at a time."""
        answers: list[list[int]] = []
        for start in range(0, len(prompts), self.n_seq_max):
            group = prompts[start:start + self.n_seq_max]
            self.lib.llama_memory_clear(self.lib.llama_get_memory(self.ctx), True)
            entries, out_index = [], {}
            for seq, tokens in enumerate(group):
                for pos, token in enumerate(tokens):
                    last = pos == len(tokens) - 1
                    if last:
                        out_index[seq] = len(entries)
                    entries.append((token, pos, seq, last))
            self._decode(entries)
            generated = [[] for _ in group]
            positions = [len(tokens) for tokens in group]
            active = set(range(len(group)))
            for _ in range(max_new_tokens):
                step = []
                for seq in sorted(active):
                    token = self._argmax(out_index[seq])
                    if self.lib.llama_vocab_is_eog(self.vocab, token):
                        active.discard(seq)
                        continue
                    generated[seq].append(token)
                    step.append((token, positions[seq], seq))
                    positions[seq] += 1
                if not step or all(len(g) >= max_new_tokens for g in generated):
                    break
                out_index = {seq: i for i, (_, _, seq) in enumerate(step)}
                active = set(out_index)
                self._decode([(token, pos, seq, True) for token, pos, seq in step])
            answers.extend(generated)
        return answers


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--groups", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)

    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from distilabel_nb import LlamaCppLLM, TextGenerationTask

    header(f"Batched decoding: {args.rows} instructions × {MAX_NEW_TOKENS} new tokens, bundled SmolLM2, greedy")
    llm = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=MAX_NEW_TOKENS, temperature=0, cache=False)
    messages = [llm.format_prompt(llm.task.generate_prompt(**row)) for row in instructions(args.rows)]

    decoders = {(g, t): BatchedGreedy(str(llm.model_path), g, t) for t in args.threads for g in args.groups}
    first = next(iter(decoders.values())).llama
    model = first._model
    formatter = Jinja2ChatFormatter(
        template=first.metadata["tokenizer.chat_template"],
        eos_token=model.token_get_text(model.token_eos()), bos_token=model.token_get_text(model.token_bos()),
    )
    prompts = [first.tokenize(formatter(messages=m).prompt.encode(), add_bos=False, special=True) for m in messages]
    new_tokens: dict[str, int] = {}
    variants = {}
    for threads in args.threads:
        raw = decoders[(args.groups[0], threads)].llama

        def chat_loop(raw=raw, name=f"create_chat_completion loop, {threads} thread(s)") -> None:
            total = 0
            for m in messages:
                response = raw.create_chat_completion(messages=m, max_tokens=MAX_NEW_TOKENS, temperature=0)
                total += response["usage"]["completion_tokens"]
            new_tokens[name] = total

        variants[f"create_chat_completion loop, {threads} thread(s)"] = chat_loop
        for group in args.groups:
            name = f"batch of {group} sequence(s), {threads} thread(s)"

            def batched(decoder=decoders[(group, threads)], name=name) -> None:
                new_tokens[name] = sum(len(a) for a in decoder.generate(prompts, MAX_NEW_TOKENS))

            variants[name] = batched
    times, _ = rounds(variants, args.repeats)
    speed = {name: new_tokens[name] / median(t) for name, t in times.items()}
    result_rows = []
    for name in variants:
        threads = name.rsplit(", ", 1)[1]
        reference = speed[f"batch of {args.groups[0]} sequence(s), {threads}"]
        result_rows.append([name, median(times[name]), new_tokens[name], speed[name], speed[name] / reference])
    print(table(["decoding", "median s", "new tokens", "tokens/s", f"× batch of {args.groups[0]}, same threads"], result_rows))
    best = max((n for n in speed if n.startswith("batch")), key=speed.get)
    single = f"batch of {args.groups[0]} sequence(s), {best.rsplit(', ', 1)[1]}"
    print(f"\nbest: {best} — {speed[best] / speed[single]:.2f}× one sequence at a time with the same threads")
    return {"best_batched_speedup": speed[best] / speed[single]}


if __name__ == "__main__":
    main()
