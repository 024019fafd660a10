"""The `distilabel-nb demo` command end to end on the bundled model."""

import json
import subprocess
import sys

import pandas as pd

from distilabel_nb.cli import bundled_instructions, summarize


def test_bundled_instructions():
    df = bundled_instructions()
    assert list(df.columns) == ["input"] and 8 <= len(df) <= 12 and df["input"].str.len().min() > 10


def test_summary_counts_failures_and_shows_ratings():
    df = pd.DataFrame({
        "input": ["short", "x" * 80],
        "rating": [[4.0, None], None],
        "generation_error": [None, "boom"],
        "labelling_error": ["text 2: no rating found", "not labelled"],
    })
    text = summarize(df)
    assert "4, ?" in text and "x" * 45 + "…" in text
    assert text.splitlines()[-1] == "2 rows, 1 failed generation, 2 failed labelling"


def test_demo_command_writes_the_result_and_prints_its_path(tmp_path):
    output = tmp_path / "out" / "demo.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "distilabel_nb.cli", "demo", "--rows", "2", "--max-new-tokens", "24", "--output", str(output)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Wrote 2 rows to {output}" in result.stdout
    assert "2 rows, 0 failed generation, 0 failed labelling" in result.stdout
    # (stdout and stderr in the message: once, in a long suite, stderr came back empty)
    assert "Generating: 100%" in result.stderr and "Labelling: 100%" in result.stderr, (result.stdout[-800:], result.stderr[-800:])
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert len(row["generations"]) == 2 and row["labelling_model"] == "SmolLM2-135M-Instruct"
        # the demo's labeller answers in schema-constrained JSON: its ratings are read
        assert len(row["rating"]) == 2 and row["labelling_error"] is None, row
