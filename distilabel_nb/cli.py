"""The ``distilabel-nb`` command.

``distilabel-nb demo`` answers the bundled instructions twice each with the bundled
local model, rates the answers with UltraFeedback (same model, answering in JSON that
llama.cpp constrains to the rating schema, so that even a 135M model's ratings can be
read), prints a summary and writes the DataFrame to a JSONL file.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.resources import files
from pathlib import Path

import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import number


def bundled_instructions() -> pd.DataFrame:
    """The ~10 sample instructions shipped with the package (column ``input``)."""
    return pd.read_json(files("distilabel_nb").joinpath("data/instructions.jsonl"), lines=True)


def summarize(df: pd.DataFrame, rating_column: str | None = None) -> str:
    """A readable text summary of a pipeline result: ratings per row (and their scale) and failures.

    Args:
        df: A pipeline result.
        rating_column: The ratings to show; by default the result schema's score column.

    Example:
        >>> print(summarize(pd.DataFrame({"input": ["Hi"], "rating": [[4, 2]]})))  # doctest: +NORMALIZE_WHITESPACE
        #  input  rating (1–5)
        0  Hi     4, 2
        1 rows, 0 failed generation, 0 failed labelling
    """
    found = schema.of(df)
    rating_column = rating_column or found.score_column or "rating"
    scale = found.scale(rating_column)

    def fmt(ratings) -> str:
        if not isinstance(ratings, list):
            return "-"
        return ", ".join("?" if r is None else number(r) for r in ratings)

    lines = [f"{'#':<2} {'input':<48} {rating_column}" + (f" ({scale})" if scale is not None else "")]
    for position, (_, row) in enumerate(df.iterrows()):
        text = str(row.get("input", ""))
        text = text if len(text) <= 46 else text[:45] + "…"
        lines.append(f"{position:<2} {text:<48} {fmt(row.get(rating_column))}")
    gen_failed = int(df[schema.GENERATION_ERROR].notna().sum()) if schema.GENERATION_ERROR in df else 0
    lab_failed = int(df[schema.LABELLING_ERROR].notna().sum()) if schema.LABELLING_ERROR in df else 0
    lines.append(f"{len(df)} rows, {gen_failed} failed generation, {lab_failed} failed labelling")
    return "\n".join(lines)


def demo(output: Path, rows: int | None, max_new_tokens: int) -> int:
    from distilabel_nb import LlamaCppLLM, Pipeline, TextGenerationTask, UltraFeedbackTask

    dataset = bundled_instructions()
    if rows is not None:
        dataset = dataset.head(rows)
    generator = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=max_new_tokens, temperature=0.8, seed=7)
    labeller = LlamaCppLLM(task=UltraFeedbackTask(), max_new_tokens=256, temperature=0.0)  # structured: llama.cpp can constrain it
    where = "llama.cpp's server" if generator.engine == "server" else "llama.cpp in-process"
    print(f"Generating 2 answers for each of {len(dataset)} instructions with {generator.model_name} ({where}), "
          f"then rating them with UltraFeedback (same model)…", flush=True)
    started = time.monotonic()
    df = Pipeline(generator=generator, labeller=labeller).generate(dataset, num_generations=2)
    print(f"\nDone in {time.monotonic() - started:.1f}s\n")
    print(summarize(df))
    output.parent.mkdir(parents=True, exist_ok=True)
    df.to_json(output, orient="records", lines=True, force_ascii=False)
    print(f"\nWrote {len(df)} rows to {output.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="distilabel-nb", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="generate and label the bundled instructions with the bundled model")
    demo_parser.add_argument("--output", type=Path, default=Path("demo_output/preference.jsonl"), help="where to write the JSONL result")
    demo_parser.add_argument("--rows", type=int, default=None, help="only the first N instructions")
    demo_parser.add_argument("--max-new-tokens", type=int, default=128, help="tokens per generated answer")
    build_parser = commands.add_parser("build-engine", help="build llama.cpp's llama-server, the fast local engine (once)")
    build_parser.add_argument("--jobs", type=int, default=2, help="parallel compile jobs")
    build_parser.add_argument("--force", action="store_true", help="build again even if this version is built")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.output, args.rows, args.max_new_tokens)
    if args.command == "build-engine":
        from distilabel_nb.llms.engine_build import build_engine

        try:
            build_engine(jobs=args.jobs, force=args.force)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
