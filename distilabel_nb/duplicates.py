"""Exact and near-duplicate texts, found with MinHash LSH (``datasketch``).

Generated data repeats itself: the same instruction asked twice in other words, two
answers of a row that say the same thing. :func:`find_duplicates` compares texts by the
Jaccard similarity of their character shingles (case and spacing ignored): LSH finds the
candidate pairs without comparing every pair (searching a little below the threshold, so
that pairs just above it are not missed), and each candidate is then checked on its real
shingles, so a reported similarity is exact, not an estimate.

Example:
    >>> found = find_duplicates(["Name a colour.", "name a  Colour.", "What is 2+2?"], ["a", "b", "c"])
    >>> found[["key", "duplicate_of", "match", "similarity"]].to_dict("records")
    [{'key': 'b', 'duplicate_of': 'a', 'match': 'near', 'similarity': 1.0}]
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from distilabel_nb.agreement import require

#: How far below the threshold LSH searches for candidates (each one is then checked exactly).
LSH_MARGIN = 0.15

DUPLICATE_COLUMNS = ["group", "key", "duplicate_of", "match", "similarity", "text"]


def normalize(text: str) -> str:
    """Lower case, one space between words, no space around."""
    return " ".join(text.casefold().split())


def shingles(text: str, size: int = 3) -> set[str]:
    """The character ``size``-grams of the normalized text (the whole text when shorter)."""
    flat = normalize(text)
    if len(flat) <= size:
        return {flat}
    return {flat[i:i + size] for i in range(len(flat) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """``|a ∩ b| / |a ∪ b|`` (1.0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


class _Groups:
    """Union-find over positions; each group is named by its earliest position."""

    def __init__(self, size: int):
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def find_duplicates(texts: Sequence[Any], keys: Sequence[Any], *, threshold: float = 0.8, shingle: int = 3,
                    num_perm: int = 128) -> pd.DataFrame:
    """Every text that repeats an earlier one, exactly or nearly.

    Args:
        texts: The texts, in order; anything that is not a non-empty string is skipped.
        keys: A key per text (a row label, or a ``(row, answer)`` pair) to report.
        threshold: The smallest Jaccard similarity of shingles that counts as a near-duplicate.
        shingle: The length of the character shingles.
        num_perm: MinHash permutations (more: fewer missed pairs, slower).

    Returns:
        One row per duplicate (the first text of each group is kept, not listed):
        ``group`` (the key of the group's first text), ``key``, ``duplicate_of`` (the text it
        is most similar to among the group's earlier ones), ``match`` (``"exact"``: the same
        text after stripping, ``"near"``: otherwise), ``similarity`` and ``text``.

    Raises:
        ValueError: for a threshold outside (0, 1] or keys that do not match the texts.
        ImportError: when ``datasketch`` is not installed.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    if len(keys) != len(texts):
        raise ValueError(f"{len(keys)} keys for {len(texts)} texts; give one key per text")
    items = [(key, text.strip()) for key, text in zip(keys, texts) if isinstance(text, str) and text.strip()]
    if len(items) < 2:
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    groups = _Groups(len(items))
    first_of: dict[str, int] = {}
    for i, (_, text) in enumerate(items):
        groups.join(first_of.setdefault(text, i), i)
    sets = [shingles(text, shingle) for _, text in items]
    singles = sorted(set(first_of.values()))
    datasketch = require("datasketch", "datasketch", "near-duplicate search")
    # LSH finds a pair at the threshold only about half the time: search below it, then check each pair exactly.
    lsh = datasketch.MinHashLSH(threshold=max(0.05, threshold - LSH_MARGIN), num_perm=num_perm)
    hashes = datasketch.MinHash.bulk([[s.encode("utf-8") for s in sets[i]] for i in singles], num_perm=num_perm)
    for i, minhash in zip(singles, hashes):
        for j in lsh.query(minhash):
            if jaccard(sets[i], sets[j]) >= threshold:
                groups.join(i, j)
        lsh.insert(i, minhash)
    rows = []
    for i, (key, text) in enumerate(items):
        root = groups.find(i)
        if root == i:
            continue
        earlier = [j for j in range(i) if groups.find(j) == root]
        best = max(earlier, key=lambda j: (items[j][1] == text, jaccard(sets[i], sets[j])))
        rows.append({"group": items[root][0], "key": key, "duplicate_of": items[best][0],
                     "match": "exact" if items[best][1] == text else "near",
                     "similarity": round(jaccard(sets[i], sets[best]), 4), "text": text})
    return pd.DataFrame(rows, columns=DUPLICATE_COLUMNS)
