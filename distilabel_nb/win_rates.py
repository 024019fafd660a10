"""Which generator wins under the judge: mean ratings, and wins, ties and losses within each row.

A run with several generators (``Pipeline(generator=[llm_a, llm_b])``) names each
answer's model in ``generation_model``. Within a row, every two answers of different
models make one comparison: the higher rated one wins, equal ratings tie. The win
rate of a model is its wins out of its decisive comparisons (wins and losses; ties are
counted apart), with a 95% Wilson interval (:class:`~distilabel_nb.report.Share`,
from scipy). Answers that could not be compared are counted, not dropped: ``failed``
(the row's labelling failed, as ``labelling_error`` says) and ``missing`` (no rating
read for the answer).

With one answer per model and row, each comparison is one row, and the interval is the
usual one. With ``num_generations >= 2`` a row gives several comparisons of the same
models, which are not independent: the interval is then narrower than it should be.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"generation_model": [["a", "b"], ["a", "b"], ["a", "b"]],
    ...                    "generations": [["x", "y"]] * 3, "rating": [[5, 2], [4, 4], [1, 3]]})
    >>> win_rates(df)[["model", "wins", "ties", "losses", "mean_rating"]].to_dict("records")
    [{'model': 'a', 'wins': 1, 'ties': 1, 'losses': 1, 'mean_rating': 3.3333333333333335}, {'model': 'b', 'wins': 1, 'ties': 1, 'losses': 1, 'mean_rating': 3.0}]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import as_list
from distilabel_nb.report import Share, is_number
from distilabel_nb.rich_repr import HTMLRepr

COLUMNS = ["model", "answers", "rated", "failed", "missing", "mean_rating", "mean_low", "mean_high",
           "comparisons", "wins", "ties", "losses", "win_rate", "win_rate_low", "win_rate_high"]
PAIR_COLUMNS = ["model", "opponent", "wins", "ties", "losses", "win_rate", "win_rate_low", "win_rate_high"]


def _mean_interval(values: list[float]) -> tuple[float, float, float]:
    """The mean and its 95% t interval (NaN where there are too few values)."""
    if not values:
        return float("nan"), float("nan"), float("nan")
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    if float(np.std(values)) == 0.0:
        return mean, mean, mean
    from scipy import stats

    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    return mean, float(low), float(high)


@dataclass(frozen=True, repr=False)
class ModelComparison(HTMLRepr):
    """The generators compared (see :func:`compare_models`).

    Attributes:
        table: One row per model (:func:`win_rates`' DataFrame), best win rate first.
        pairs: One row per model and opponent: wins, ties, losses and the win rate against it.
        score_column: The rating column compared.
        scale: The ratings' scale, as text (e.g. ``"1–5"``), or ``""``.
        rows: Rows of the frame; ``compared_rows`` those with at least one comparison.
        judge: The labelling model, when the frame names it.
    """

    table: pd.DataFrame
    pairs: pd.DataFrame
    score_column: str
    scale: str
    rows: int
    compared_rows: int
    judge: str | None = None

    def share(self, model: str) -> Share:
        """A model's wins out of its decisive comparisons."""
        row = self.table.set_index("model").loc[model]
        return Share(int(row["wins"]), int(row["wins"] + row["losses"]))

    def verdict(self) -> str:
        """Which model won, in one or two plain sentences, with the interval."""
        if self.table.empty:
            return "no answer names its model: run a pipeline with several generators (Pipeline(generator=[a, b]))."
        if len(self.table) < 2:
            return f"only one model ({self.table['model'].iloc[0]}) answered: there is nothing to compare it with."
        decisive = int((self.table["wins"] + self.table["losses"]).sum() // 2)
        ties = int(self.table["ties"].sum() // 2)
        if not decisive:
            return (f"no comparison was decisive ({ties} tied, of {self.compared_rows} rows compared): "
                    "the judge did not tell the models apart.")
        best = self.table.iloc[0]
        share = self.share(best["model"])
        against = "the other" if len(self.table) == 2 else "the others"
        text = (f"{best['model']} won {share.count} of {share.total} decisive comparisons against {against} "
                f"({share.percent()}, 95% CI {share.interval_text()})")
        text += f", with {ties} tie{'s' if ties != 1 else ''}" if ties else ""
        means = ", ".join(f"{r.model} {r.mean_rating:.2f}" for r in self.table.itertuples() if is_number(r.mean_rating))
        text += f"; mean {self.score_column}{f' on {self.scale}' if self.scale else ''}: {means}."
        if share.low <= 0.5:
            text += " The interval includes 50%: at this size the judge does not clearly prefer either; rate more rows."
        lost = int(self.table["failed"].sum() + self.table["missing"].sum())
        if lost:
            text += (f" ({lost} answer{'s' if lost != 1 else ''} could not be compared: "
                     f"{'their' if lost != 1 else 'its'} rating failed or is missing.)")
        return text

    def plot(self) -> Any:
        """Each model's win rate with its 95% interval, as a matplotlib Figure."""
        from distilabel_nb.display.win_rate_cards import win_rate_figure

        return win_rate_figure(self)

    def __repr__(self) -> str:
        lines = [f"ModelComparison({len(self.table)} models, {self.compared_rows} of {self.rows} rows compared"
                 f"{f', judged by {self.judge}' if self.judge else ''})", f"  {self.verdict()}"]
        for r in self.table.itertuples():
            share = Share(int(r.wins), int(r.wins + r.losses))
            mean = f"{r.mean_rating:.2f}" if is_number(r.mean_rating) else "—"
            lines.append(f"  {r.model}: win rate {share}; {r.wins} won, {r.ties} tied, {r.losses} lost; mean {mean}; "
                         f"{r.rated} of {r.answers} answers rated ({r.failed} failed, {r.missing} missing)")
        return "\n".join(lines)


def compare_models(df: pd.DataFrame, rating_column: str | None = None, *, model_column: str = schema.GENERATION_MODEL,
                   include_failed: bool = False) -> ModelComparison:
    """Compare the generators of a labelled run: mean ratings, and wins, ties and losses within each row.

    Args:
        df: A labelled result of a pipeline with several generators (or any frame with a
            list of models and a list of ratings per row, aligned with the answers).
        rating_column: The ratings (default: the result schema's score column, else ``rating``).
        model_column: The models of the answers (``generation_model``).
        include_failed: Also compare the ratings read from rows whose ``labelling_error``
            is set (counted as failed by default, as :func:`~distilabel_nb.export.to_preference_pairs` leaves them out).

    Returns:
        A :class:`ModelComparison`: its card and text say which model won, with intervals.

    Raises:
        ValueError: when a column is missing, naming the columns there are.
    """
    found = schema.of(df) if isinstance(df, pd.DataFrame) else None
    if found is None:
        raise TypeError(f"compare_models takes a pandas DataFrame (a pipeline's result), not {type(df).__name__}")
    rating_column = rating_column or found.score_column or "rating"
    missing = [c for c in (model_column, rating_column) if c not in df.columns]
    if missing:
        raise ValueError(f"compare_models needs the column(s) {missing}; available: {[str(c) for c in df.columns]}. "
                         "Run a labelled pipeline with several generators (Pipeline(generator=[a, b], labeller=...)), "
                         "or pass rating_column= / model_column=.")
    scale = found.scale(rating_column)
    skip_failed = not include_failed and schema.LABELLING_ERROR in df.columns
    counts: dict[str, dict[str, Any]] = {}
    pairs: dict[tuple[str, str], list[int]] = {}
    compared_rows = 0

    def model(name: str) -> dict[str, Any]:
        return counts.setdefault(name, {"answers": 0, "failed": 0, "missing": 0, "ratings": [], "wins": 0, "ties": 0,
                                        "losses": 0})

    for _, row in df.iterrows():
        models = [str(m) for m in as_list(row[model_column])]
        ratings = as_list(row[rating_column])
        failed = skip_failed and isinstance(row[schema.LABELLING_ERROR], str)
        usable: list[tuple[str, float]] = []
        for position, name in enumerate(models):
            own = model(name)
            own["answers"] += 1
            value = ratings[position] if position < len(ratings) else None
            if failed:
                own["failed"] += 1
            elif not is_number(value):
                own["missing"] += 1
            else:
                own["ratings"].append(float(value))
                usable.append((name, float(value)))
        compared = False
        for (a, ra), (b, rb) in itertools.combinations(usable, 2):
            if a == b:
                continue
            compared = True
            for me, mine, other, theirs in ((a, ra, b, rb), (b, rb, a, ra)):
                outcome = "wins" if mine > theirs else "losses" if mine < theirs else "ties"
                model(me)[outcome] += 1
                tally = pairs.setdefault((me, other), [0, 0, 0])
                tally[("wins", "ties", "losses").index(outcome)] += 1
        compared_rows += compared
    records = []
    for name, own in counts.items():
        mean, low, high = _mean_interval(own["ratings"])
        if scale is not None:  # the interval of a mean stays on the scale
            low, high = max(low, scale.low), min(high, scale.high)
        share = Share(own["wins"], own["wins"] + own["losses"])
        records.append({"model": name, "answers": own["answers"], "rated": len(own["ratings"]), "failed": own["failed"],
                        "missing": own["missing"], "mean_rating": mean, "mean_low": low, "mean_high": high,
                        "comparisons": own["wins"] + own["ties"] + own["losses"], "wins": own["wins"], "ties": own["ties"],
                        "losses": own["losses"], "win_rate": share.value, "win_rate_low": share.low,
                        "win_rate_high": share.high})
    table = pd.DataFrame(records, columns=COLUMNS)
    if not table.empty:
        table = table.sort_values(["win_rate", "mean_rating"], ascending=False, na_position="last", kind="stable")
        table = table.reset_index(drop=True)
    pair_records = []
    for (me, other), (wins, ties, losses) in pairs.items():
        share = Share(wins, wins + losses)
        pair_records.append({"model": me, "opponent": other, "wins": wins, "ties": ties, "losses": losses,
                             "win_rate": share.value, "win_rate_low": share.low, "win_rate_high": share.high})
    judge = None
    if schema.LABELLING_MODEL in df.columns:
        judges = {str(v) for v in df[schema.LABELLING_MODEL] if isinstance(v, str)}
        judge = judges.pop() if len(judges) == 1 else None
    return ModelComparison(table, pd.DataFrame(pair_records, columns=PAIR_COLUMNS), rating_column,
                           str(scale) if scale is not None else "", len(df), compared_rows, judge)


def win_rates(df: pd.DataFrame, rating_column: str | None = None, *, model_column: str = schema.GENERATION_MODEL,
              include_failed: bool = False) -> pd.DataFrame:
    """One row per generator model: mean rating, wins, ties, losses and win rate with its 95% interval.

    Columns: ``model``, ``answers``, ``rated``, ``failed``, ``missing``, ``mean_rating``
    (``mean_low``/``mean_high``: its 95% t interval), ``comparisons``, ``wins``, ``ties``,
    ``losses``, ``win_rate`` (wins of wins + losses) and ``win_rate_low``/``win_rate_high``
    (95% Wilson interval); best win rate first. The card and the text of the same facts:
    :func:`compare_models`. See there for the arguments.
    """
    return compare_models(df, rating_column, model_column=model_column, include_failed=include_failed).table
