"""Can these labels be trusted? Ask the labeller again with each row's answers in reverse order.

A judge that rates the answers, and not their places, prefers the same answer whichever
order it sees them in. :func:`audit_labels` re-rates the rows (or a seeded random
sample) with each row's answers reversed (the reverse of the order the labeller saw,
``labelling_order``, when the pipeline shuffled them), through the labeller's normal path and cache
(only the new calls are paid; a second audit costs none), maps the ratings back to the
answers' order, and counts the verdicts that survive. The result says it in one plain
sentence (:meth:`PositionAudit.verdict`), as numbers with 95% intervals, and as an HTML
card with a plot.

Example:
    >>> audit = audit_labels(df, labeller, sample=50)  # doctest: +SKIP
    >>> audit.position_consistency  # doctest: +SKIP
    Share(count=12, total=47)
    >>> print(audit.verdict())  # doctest: +SKIP
    the labeller preferred whichever answer came second in 33 of 47 swapped rows: ...
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from distilabel_nb.cells import as_list
from distilabel_nb.llms.base import LLM, LLMOutput, make_generation_params
from distilabel_nb.report import Share, is_number, shares_table
from distilabel_nb.rich_repr import HTMLRepr
from distilabel_nb.schema import LABELLING_ORDER
from distilabel_nb.shuffle import in_order, restore

OUTCOMES = ("consistent", "flipped", "tie", "failed")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")

#: Consistency at or above this reads as "the ratings follow the answers".
TRUSTED = 0.8
#: Below this many decisive rows the verdict asks for a larger audit.
FEW_ROWS = 20


def ordinal(position: int) -> str:
    """``1`` -> ``"first"`` (1-based)."""
    return _ORDINALS[position - 1] if 1 <= position <= len(_ORDINALS) else f"{position}th"


def preference(ratings: Sequence[Any]) -> tuple[int | None, bool, float | None]:
    """``(winner, tie, margin)`` of one row's ratings: the 0-based best answer, or a tie at the top.

    A row with a missing rating, or fewer than two, has no preference: ``(None, False, None)``.

    Example:
        >>> preference([2, 5, 3]), preference([4, 4]), preference([3, None])
        ((1, False, 2.0), (None, True, 0.0), (None, False, None))
    """
    values = list(ratings)
    if len(values) < 2 or not all(is_number(v) for v in values):
        return None, False, None
    numbers = [float(v) for v in values]
    top = max(numbers)
    margin = top - max(v for i, v in enumerate(numbers) if i != numbers.index(top))
    if numbers.count(top) > 1:
        return None, True, 0.0
    return numbers.index(top), False, margin


def labeller_parts(labeller: Any) -> tuple[str, str, list[str]]:
    """The labeller's ``(score column, texts column, input columns)``.

    Raises:
        TypeError: when ``labeller`` is not an LLM whose task rates a row's answers.
    """
    task = getattr(labeller, "task", None)
    if not isinstance(labeller, LLM) or getattr(task, "kind", None) != "labeller":
        raise TypeError(f"the labeller must be an LLM with a labelling task (e.g. LlamaCppLLM(task=UltraFeedbackTask())), "
                        f"got {type(labeller).__name__}")
    texts, score = getattr(task, "texts_input", None), getattr(task, "score_column", None)
    if texts is None or score is None:
        raise TypeError(f"{task.name} does not rate a list of answers with one score each, so it has no order to "
                        "swap; audit a labeller such as UltraFeedbackTask or JudgeLMTask")
    return score, texts, list(task.input_args_names)


def check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the missing columns and the ones there are."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} takes a pandas DataFrame (a pipeline's result), not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs the column(s) {missing}; available: {[str(c) for c in df.columns]}. "
                         "Pass a labelled pipeline result (or rename your columns).")


def choose_rows(df: pd.DataFrame, texts: str, sample: int | float | None, seed: int) -> tuple[list[Any], Counter]:
    """The index labels to audit (in the frame's order) and the reasons other rows were left out."""
    skipped: Counter = Counter()
    eligible = []
    for label, value in zip(df.index, df[texts]):
        answers = as_list(value)
        if len(answers) < 2:
            skipped["fewer than two answers"] += 1
        elif not all(isinstance(a, str) and a.strip() for a in answers):
            skipped["an answer is missing or empty"] += 1
        else:
            eligible.append(label)
    if sample is None:
        return eligible, skipped
    if isinstance(sample, bool) or not isinstance(sample, (int, float)) or sample <= 0 or (isinstance(sample, float) and sample > 1):
        raise ValueError(f"sample must be a number of rows (int >= 1), a fraction in (0, 1], or None; got {sample!r}")
    size = min(len(eligible), sample if isinstance(sample, int) else max(1, round(sample * len(eligible))))
    picked = np.sort(np.random.default_rng(seed).choice(len(eligible), size=size, replace=False))
    if size < len(eligible):
        skipped["not in the sample"] = len(eligible) - size
    return [eligible[i] for i in picked], skipped


def ask(labeller: LLM, inputs: list[dict[str, Any]]) -> tuple[list[LLMOutput], int]:
    """One labelling output per row through the labeller's normal path (and cache); and the calls paid.

    A labeller that splits a row into several calls (:class:`~distilabel_nb.pointwise.PointwiseLLM`)
    counts them itself through its ``rate_rows`` method.
    """
    if hasattr(labeller, "rate_rows"):
        return labeller.rate_rows(inputs)
    outputs = [row[0] for row in labeller.generate(inputs)] if inputs else []
    return outputs, paid_calls(outputs)


def paid_calls(outputs: Sequence[LLMOutput]) -> int:
    """Outputs that needed a model call: not read from the cache, and not a bad input."""
    return sum(1 for o in outputs if not o.cached and o.error_kind != "input")


def with_temperature(labeller: LLM, temperature: float) -> LLM:
    """A twin of ``labeller`` that samples at ``temperature`` (and so has its own cache entries).

    The twin shares everything else, the loaded model and its locks included: a local
    model is not loaded twice.
    """
    clone = object.__new__(type(labeller))
    clone.__dict__.update(labeller.__dict__)
    inner = labeller.__dict__.get("inner")
    if inner is not None:  # a pointwise wrapper: change the model it wraps
        clone.__dict__["inner"] = with_temperature(inner, temperature)
    else:
        clone.__dict__["params"] = make_generation_params(**{**labeller.params.model_dump(), "temperature": temperature})
    return clone


@dataclass(frozen=True, repr=False)
class PositionAudit(HTMLRepr):
    """What the swap showed (see :func:`audit_labels`).

    ``rows`` holds one row per audited row: ``row`` (the index label), ``answers``,
    ``original`` and ``swapped`` ratings (both in the answers' order), ``order`` (the order
first shown: ``labelling_order``, else the answers' own; the swap showed its reverse), ``winner_original``
    and ``winner_swapped`` (0-based), ``outcome`` (consistent, flipped, tie, failed) and
    ``error``. ``flipped`` holds the flipped rows of the frame with their swapped ratings.
    """

    labeller: str
    mode: str
    score_column: str
    rows: pd.DataFrame
    flipped: pd.DataFrame
    by_position: pd.DataFrame
    n_total: int
    skipped: dict[str, int]
    calls: int
    self_consistency: Share | None = None
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def _count(self, *outcomes: str) -> int:
        return int(self.rows["outcome"].isin(outcomes).sum())

    @property
    def n_audited(self) -> int:
        return len(self.rows)

    @property
    def position_consistency(self) -> Share:
        """Rows whose preferred answer is the same in both orders, of those with a clear preference in both."""
        return Share(self._count("consistent"), self._count("consistent", "flipped"))

    @property
    def flip_rate(self) -> Share:
        return Share(self._count("flipped"), self._count("consistent", "flipped"))

    @property
    def tie_rate(self) -> Share:
        """Rows with a tie at the top in either order, of the rows read in both orders."""
        return Share(self._count("tie"), self._count("consistent", "flipped", "tie"))

    @property
    def failure_rate(self) -> Share:
        """Rows whose ratings could not be read in one order or both, of the rows audited."""
        return Share(self._count("failed"), self.n_audited)

    def position_preference(self) -> tuple[int | None, Share]:
        """The shown place (1-based) the decisive verdicts most often chose in both orders, and how often."""
        decisive = self.rows[self.rows["outcome"].isin(("consistent", "flipped"))]
        same = decisive[decisive["shown_original"] == decisive["shown_swapped"]]
        if same.empty:
            return None, Share(0, len(decisive))
        place, count = Counter(same["shown_original"]).most_common(1)[0]
        return int(place), Share(int(count), len(decisive))

    def shares(self) -> pd.DataFrame:
        """Every share with its count, total and 95% interval, as a DataFrame."""
        named = {"position_consistency": self.position_consistency, "flip_rate": self.flip_rate,
                 "tie_rate": self.tie_rate, "failure_rate": self.failure_rate}
        if self.self_consistency is not None:
            named["self_consistency"] = self.self_consistency
        return shares_table(named)

    def verdict(self) -> str:
        """The audit in one or two plain sentences."""
        decisive = self.position_consistency
        if not self.n_audited:
            return "nothing was audited: no row had two or more answers to swap."
        rest = _also(self._count("tie"), self._count("failed"))
        if not decisive.total:
            return (f"no row had a clear preference in both orders ({rest or 'none read'}, of "
                    f"{self.n_audited} audited): the audit cannot tell position from quality.")
        place, echo = self.position_preference()
        if self.mode == "pointwise":
            text = (f"each answer was rated in its own call, so its place could not sway it: the preferred answer was "
                    f"the same in both orders in {decisive.count} of {decisive.total} rows.")
        elif decisive.value >= TRUSTED:
            text = (f"the labeller's preferred answer survived the swap in {decisive.count} of {decisive.total} rows: "
                    "these ratings follow the answers, not their places.")
        elif place is not None and echo.count > decisive.count:
            text = (f"the labeller preferred whichever answer came {ordinal(place)} in {echo.count} of "
                    f"{decisive.total} swapped rows: these ratings mostly reflect position, not quality.")
        else:
            text = (f"the labeller's preferred answer survived the swap in only {decisive.count} of {decisive.total} "
                    "rows: these ratings follow the answers only in part; check them before training on them.")
        if rest:
            text += f" ({rest.capitalize()}.)"
        if decisive.total < FEW_ROWS:
            text += (f" With {decisive.total} decisive row{'s' if decisive.total != 1 else ''} the 95% interval "
                     f"of the consistency is {decisive.interval_text()}: audit more rows for a firm figure.")
        return text

    def plot(self) -> Any:
        """The outcomes and the mean rating by shown place, as a matplotlib Figure."""
        from distilabel_nb.display.audit_plots import audit_figure

        return audit_figure(self)

    def __repr__(self) -> str:
        lines = [f"PositionAudit({self.labeller}, {self.mode}: {self.n_audited} of {self.n_total} rows audited, "
                 f"{self.calls} new calls)", f"  {self.verdict()}"]
        for name, share in (("position consistency", self.position_consistency), ("tie rate", self.tie_rate),
                            ("parse failures", self.failure_rate), ("self-consistency", self.self_consistency)):
            if share is not None:
                lines.append(f"  {name:<21} {share}")
        shifts = ", ".join(f"{ordinal(int(p))} {s:+.2f}" for p, s in self.by_position["shift"].items() if is_number(s))
        if shifts:
            lines.append(f"  mean rating shift when swapped, by original place: {shifts}")
        return "\n".join(lines)


def _also(ties: int, failed: int) -> str:
    parts = ([f"{ties} tied" if ties != 1 else "1 tied"] if ties else []) + (
        [f"{failed} could not be read"] if failed else [])
    return " and ".join(parts)


def _by_position(rows: pd.DataFrame) -> pd.DataFrame:
    """Per original place (1-based): the mean rating of the answer shown there in each order, the
    shift, and the mean rating given to whichever answer was shown at that place (both orders)."""
    slots: dict[int, dict[str, list[float]]] = {}
    read = rows["outcome"] != "failed"
    for original, swapped, order in zip(*(rows.loc[read, c] for c in ("original", "swapped", "order"))):
        count = len(original)
        for place in range(count):
            answer, swapped_answer = order[place], order[count - 1 - place]
            slot = slots.setdefault(place + 1, {"original": [], "swapped": [], "shown": []})
            slot["original"].append(float(original[answer]))
            slot["swapped"].append(float(swapped[answer]))
            # Shown at this place: answer order[place] in the original order, order[-1 - place] in the swapped one.
            slot["shown"] += [float(original[answer]), float(swapped[swapped_answer])]
    table = pd.DataFrame(
        [{"place": place, "answers": len(slot["original"]), "original_mean": np.mean(slot["original"]),
          "swapped_mean": np.mean(slot["swapped"]), "shown_here_mean": np.mean(slot["shown"])}
         for place, slot in sorted(slots.items())],
        columns=["place", "answers", "original_mean", "swapped_mean", "shown_here_mean"])
    table["shift"] = table["swapped_mean"] - table["original_mean"]
    return table.set_index("place")


def _row_outcome(original: list[Any], failed_original: bool, swapped: list[Any], failed_swapped: bool,
                 order: list[int]) -> dict[str, Any]:
    won_o, tie_o, _ = preference(original)
    won_s, tie_s, _ = preference(swapped)
    count = len(original)
    if failed_original or failed_swapped or (won_o is None and not tie_o) or (won_s is None and not tie_s):
        outcome = "failed"
    elif tie_o or tie_s:
        outcome = "tie"
    else:
        outcome = "consistent" if won_o == won_s else "flipped"
    return {"winner_original": won_o, "winner_swapped": won_s, "outcome": outcome,
            "shown_original": None if won_o is None else order.index(won_o) + 1,
            "shown_swapped": None if won_s is None else count - order.index(won_s)}


def shown_order(cell: Any, count: int) -> list[int]:
    """The order a row's answers were shown in (``labelling_order``), or the answers' own order."""
    order = as_list(cell) if isinstance(cell, (list, tuple)) or hasattr(cell, "tolist") else []
    order = [int(i) for i in order if is_number(i)]
    return order if sorted(order) == list(range(count)) else list(range(count))


def audit_labels(df: pd.DataFrame, labeller: LLM, sample: int | float | None = None, seed: int = 0, *,
                 temperature: float | None = None) -> PositionAudit:
    """Re-rate rows with their answers in reverse order and count the verdicts that survive.

    Args:
        df: A labelled pipeline result: the labeller's inputs (``input``, ``generations``)
            and its score column (``rating``) as the original order's ratings.
        labeller: The LLM that labelled ``df`` (same model, task and parameters, so the
            original order would be answered from the cache).
        sample: Audit every row (``None``), this many rows, or this fraction of them, drawn
            at random with ``seed``.
        seed: The seed of the sample.
        temperature: Also ask each row once more in its original order at this
            temperature, and report how often the preferred answer repeats (self-consistency).

    A row whose ratings cannot be read in either order (a parse failure, a failed call,
    or ``labelling_error`` set in ``df``) counts as failed; a tie at the top in either
    order counts as a tie; neither enters the consistency.

    Returns:
        A :class:`PositionAudit`.

    Raises:
        TypeError: when ``labeller`` does not rate a list of answers.
        ValueError: for missing columns or a bad ``sample``.
    """
    score, texts, inputs = labeller_parts(labeller)
    check_columns(df, list(dict.fromkeys([*inputs, score])), "audit_labels")
    if not df.index.is_unique:
        raise ValueError("the DataFrame's index has repeated labels, so audited rows cannot be told apart; "
                         "use df.reset_index(drop=True) first")
    labels, skipped = choose_rows(df, texts, sample, seed)
    subset = df.loc[labels]
    orders = [shown_order(row.get(LABELLING_ORDER), len(as_list(row[texts]))) for _, row in subset.iterrows()]
    requests = [{name: (in_order(as_list(row[name]), order[::-1]) if name == texts else row[name]) for name in inputs}
                for (_, row), order in zip(subset.iterrows(), orders)]
    outputs, calls = ask(labeller, requests)
    errors = subset["labelling_error"] if "labelling_error" in subset.columns else pd.Series(None, index=subset.index)
    records = []
    for (label, row), output, error, order in zip(subset.iterrows(), outputs, errors, orders):
        original = as_list(row[score])
        swapped = restore(as_list((output.parsed_output or {}).get(score)), order[::-1])
        if len(swapped) != len(original):
            swapped = [None] * len(original)
        failed_original = isinstance(error, str) or len(original) != len(as_list(row[texts]))
        if failed_original:
            order = list(range(len(original)))
        records.append({"row": label, "answers": len(original), "original": original, "swapped": swapped, "order": order,
                        **_row_outcome(original, failed_original, swapped, output.error is not None, order),
                        "error": output.error if output.error else (error if isinstance(error, str) else None)})
    rows = pd.DataFrame(records, columns=["row", "answers", "original", "swapped", "order", "winner_original",
                                          "winner_swapped", "outcome", "shown_original", "shown_swapped", "error"])
    flipped_labels = rows.loc[rows["outcome"] == "flipped", "row"].tolist()
    flipped = df.loc[flipped_labels, [c for c in dict.fromkeys([*inputs, score]) if c in df.columns]].copy()
    flipped[f"{score}_swapped"] = rows.set_index("row").loc[flipped_labels, "swapped"].tolist() if flipped_labels else []
    self_consistency = None
    if temperature is not None:
        again, more = ask(with_temperature(labeller, temperature), [{n: row[n] for n in inputs} for _, row in subset.iterrows()])
        calls += more
        same = total = 0
        for original, output in zip(rows["original"], again):
            first, _, _ = preference(original)
            second, _, _ = preference(as_list((output.parsed_output or {}).get(score)) if output.error is None else [])
            if first is not None and second is not None:
                total, same = total + 1, same + (first == second)
        self_consistency = Share(same, total)
    return PositionAudit(
        labeller=labeller.model_name, mode=getattr(labeller, "mode", "list-wise"), score_column=score, rows=rows,
        flipped=flipped, by_position=_by_position(rows), n_total=len(df), skipped=dict(skipped), calls=calls,
        self_consistency=self_consistency, temperature=temperature)
