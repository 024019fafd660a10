"""Answers shuffled before labelling: a per-row order, random across rows and fixed for a row.

A judge that sees every row's answers in the same order can rate places instead of
answers (the bundled judge gives ``[1, 2]`` to most rows whatever they say). Before a
row is labelled, its answers are put in an order drawn from a generator seeded with the
row's own content (its instruction and answers) and ``seed``: random across rows, the
same for the same row on every run — so a re-run sends the same prompt and is answered
from the cache. Every per-answer output of the labeller (ratings, rationales, …) is put
back in the answers' order, and the order shown is kept in the ``labelling_order``
column (:data:`distilabel_nb.schema.LABELLING_ORDER`): ``labelling_order[k]`` is the
answer shown at place ``k + 1``.

Example:
    >>> order = row_order({"input": "2+2?", "generations": ["4", "5", "four"]}, "generations", seed=0)
    >>> sorted(order)
    [0, 1, 2]
    >>> shown = in_order(["4", "5", "four"], order)
    >>> restore(shown, order)
    ['4', '5', 'four']
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any, Mapping, Sequence

from distilabel_nb.errors import InvalidArgument


def _fingerprint(inputs: Mapping[str, Any], seed: int) -> int:
    text = json.dumps({"seed": seed, "inputs": {str(k): v for k, v in inputs.items()}}, sort_keys=True, default=str,
                      ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def row_order(inputs: Mapping[str, Any], texts: str, seed: int = 0) -> list[int]:
    """The order to show a row's answers in: a permutation of their positions, seeded by the row and ``seed``.

    Args:
        inputs: The labeller's inputs for the row (the instruction and the list of answers).
        texts: The input holding the answers (the task's ``texts_input``).
        seed: Changes every row's order; the same seed gives the same orders.
    """
    count = len(list(inputs.get(texts) or []))
    return random.Random(_fingerprint(inputs, seed)).sample(range(count), count)


def in_order(values: Sequence[Any], order: Sequence[int]) -> list[Any]:
    """``values`` as shown: the value of answer ``order[k]`` at place ``k``."""
    return [values[i] for i in order]


def restore(shown: Any, order: Sequence[int]) -> Any:
    """A per-answer output read in the shown order, put back in the answers' order.

    Anything that is not a list of one value per answer is returned as it is.
    """
    if not isinstance(shown, (list, tuple)) or len(shown) != len(order):
        return shown
    back: list[Any] = [None] * len(order)
    for place, answer in enumerate(order):
        back[answer] = shown[place]
    return back


def check_options(shuffle_before_labelling: Any, seed: Any) -> None:
    """Raise a ``ValueError`` naming the allowed values (used by ``RunOptions``)."""
    if not isinstance(shuffle_before_labelling, bool):
        raise InvalidArgument(f"Invalid shuffle_before_labelling={shuffle_before_labelling!r}: pass True (each row's "
                              "answers in an order of its own) or False (the order they were generated in)")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidArgument(f"Invalid seed={seed!r}: pass an int (it changes the order of every row's answers)")
