"""How far two sets of ratings agree: an AI labeller and a person, or two labellers.

``agreement(df, a="rating", b="human_rating")`` pairs the two columns, per generation when
they hold one list per row, drops every pair where either side is missing (and says how
many), and reports exact agreement, mean absolute difference, Cohen's kappa (unweighted,
linear and quadratic weights), Spearman and Kendall correlations and a confusion matrix.
The statistics come from scikit-learn and scipy; the plot from matplotlib. All three are
in the ``experiments`` extra and are imported only when needed.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"rating": [[5, 3], [2, None]], "human_rating": [[5, 4], [2, 1]]})
    >>> result = agreement(df)
    >>> result.n, result.n_dropped, result.exact
    (3, 1, 0.6666666666666666)
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Sequence

import numpy as np
import pandas as pd

from distilabel_nb import schema
from distilabel_nb.cells import is_missing
from distilabel_nb.rich_repr import HTMLRepr

INSTALL_HINT = "pip install 'distilabel_nb[experiments]'"

#: Landis & Koch (1977): the customary words for a kappa value.
KAPPA_WORDS = ((0.8, "almost perfect"), (0.6, "substantial"), (0.4, "moderate"), (0.2, "fair"))
#: Below this many pairs kappa and the rank correlations say little, and the result says so.
FEW_PAIRS = 30


def require(module: str, package: str, purpose: str) -> Any:
    """Import ``module`` or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{purpose} needs {package}, which is not installed. "
                          f"Install the experiments extra: {INSTALL_HINT}") from exc


def kappa_words(kappa: float) -> str:
    """Landis & Koch's description of a kappa value ("substantial", ...), or "undefined"."""
    if kappa is None or math.isnan(kappa):
        return "undefined"
    if kappa < 0:
        return "poor"
    return next((words for bound, words in KAPPA_WORDS if kappa > bound), "slight")


def label_text(value: float) -> str:
    """A rating as people write it: ``4.0`` -> ``"4"``, ``7.5`` -> ``"7.5"``."""
    return f"{value:g}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _whole(value: float) -> int | float:
    """``4.0`` -> ``4`` (a rating on the scale, as an ``int``); ``7.5`` stays."""
    return int(value) if float(value).is_integer() else float(value)


# -- pairing ----------------------------------------------------------------

def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series))


def _number(value: Any, column: str, row: Any) -> float | None:
    if is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.number)):
        raise ValueError(f"{column!r} at row {row!r} holds {value!r}, which is not a number; "
                         "agreement compares numeric ratings.")
    number = float(value)
    return None if math.isnan(number) else number


def _column(df: pd.DataFrame, spec: str | pd.Series | Sequence[Any], role: str) -> tuple[str, pd.Series]:
    """The values and display name of side ``a`` or ``b``: a column name, or a Series/list aligned with ``df``."""
    if isinstance(spec, str):
        if spec not in df.columns:
            raise ValueError(f"{role}={spec!r} is not a column of the DataFrame; "
                             f"available columns: {[str(c) for c in df.columns]}.")
        return spec, df[spec]
    if isinstance(spec, pd.Series):
        if not spec.index.equals(df.index):
            raise ValueError(f"the Series given as {role}= must have the DataFrame's index "
                             "(for another DataFrame's column, align it first: other[col].reindex(df.index)).")
        return str(spec.name) if spec.name is not None else role, spec
    values = list(spec)
    if len(values) != len(df):
        raise ValueError(f"{role}= has {len(values)} values but the DataFrame has {len(df)} rows.")
    return role, pd.Series(values, index=df.index)


def pair_ratings(df: pd.DataFrame, a: Any = "rating", b: Any = "human_rating") -> tuple[pd.DataFrame, dict[str, int]]:
    """Pair the ratings of ``a`` and ``b``, one pair per generation for list-valued columns.

    Returns:
        ``(pairs, counts)``: every pair (columns ``row``, ``generation``, ``a``, ``b``; missing
        sides are ``<NA>``; ``a`` and ``b`` are nullable integers (``Int64``) when every rating
        is a whole number, floats otherwise) and the counts ``total``, ``missing_a``,
        ``missing_b``, ``missing_both``.

    Raises:
        ValueError: when a row holds a list on one side and one number on the other, when the
            lists of a row differ in length, or when a value is not a number.
    """
    a_name, a_values = _column(df, a, "a")
    b_name, b_values = _column(df, b, "b")
    rows: list[tuple[Any, Any, float | None, float | None]] = []
    for row, va, vb in zip(df.index, a_values, b_values):
        a_list, b_list = _is_sequence(va), _is_sequence(vb)
        if a_list and b_list:
            if len(va) != len(vb):
                raise ValueError(f"row {row!r}: {a_name!r} has {len(va)} values but {b_name!r} has {len(vb)}; "
                                 "list-valued ratings must be aligned with the generations.")
            rows += [(row, i, _number(x, a_name, row), _number(y, b_name, row)) for i, (x, y) in enumerate(zip(va, vb))]
        elif a_list or b_list:
            values, other, other_name = (va, vb, b_name) if a_list else (vb, va, a_name)
            if not is_missing(other):
                raise ValueError(f"row {row!r}: {a_name!r} and {b_name!r} differ in shape: one holds a list "
                                 f"(one rating per generation), the other the single value {other!r}.")
            for i, x in enumerate(values):
                number = _number(x, a_name if a_list else b_name, row)
                rows.append((row, i, number, None) if a_list else (row, i, None, number))
        else:
            rows.append((row, None, _number(va, a_name, row), _number(vb, b_name, row)))
    pairs = pd.DataFrame(rows, columns=["row", "generation", "a", "b"])
    pairs["generation"] = pairs["generation"].astype("Int64")
    values = pairs[["a", "b"]].astype(float)
    whole = bool(np.all(np.isnan(values.to_numpy()) | (np.mod(values.to_numpy(), 1) == 0)))
    pairs[["a", "b"]] = values.astype("Int64") if whole else values
    miss_a, miss_b = pairs["a"].isna(), pairs["b"].isna()
    counts = {"total": len(pairs), "missing_a": int(miss_a.sum()), "missing_b": int(miss_b.sum()),
              "missing_both": int((miss_a & miss_b).sum())}
    return pairs, counts


def _default_labels(values: np.ndarray, scales: Sequence[schema.Scale | None] = ()) -> list[int | float]:
    """The whole numbers of the rated columns' scale (from the result schema) when every rating is one of them;
    else the observed ratings, for whole numbers the full range between the lowest and highest,
    so that weighted kappa sees the real distances on the scale."""
    observed = sorted(set(values.tolist()))
    whole = all(float(v).is_integer() for v in observed)
    for scale in scales:
        if scale is not None and whole and all(scale.low <= v <= scale.high for v in observed):
            return list(range(math.ceil(scale.low), math.floor(scale.high) + 1))
    if observed and whole:
        return list(range(int(observed[0]), int(observed[-1]) + 1))
    return [_whole(v) for v in observed]


# -- the result -------------------------------------------------------------

@dataclass(frozen=True)
class Agreement(HTMLRepr):
    """Agreement statistics between two rating columns (see :func:`agreement`).

    Fractions are in [0, 1]; a statistic that is undefined for the data (no pairs, or a
    side that never varies) is NaN. ``exact_interval`` is the 95% Wilson interval of
    ``exact``; :attr:`sample_note` warns when there are fewer than :data:`FEW_PAIRS` pairs.
    ``pairs`` holds every compared pair, ``confusion`` the counts with ``a``'s ratings as
    rows and ``b``'s as columns, ``counts`` how often each side gave each rating.
    """

    a: str
    b: str
    labels: list[int | float]
    n: int
    n_rows: int
    n_total: int
    n_missing_a: int
    n_missing_b: int
    n_missing_both: int
    exact: float
    within_one: float
    mean_abs_diff: float
    mean_diff: float
    kappa: float
    kappa_linear: float
    kappa_quadratic: float
    spearman: float
    spearman_p: float
    kendall: float
    kendall_p: float
    exact_interval: tuple[float, float]
    confusion: pd.DataFrame = field(repr=False)
    counts: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)

    @property
    def n_dropped(self) -> int:
        """Pairs left out because either side was missing."""
        return self.n_total - self.n

    def dropped_text(self) -> str:
        """One sentence on the pairs left out, e.g. "2 of 10 pairs dropped: rating missing in 1, ..."."""
        if not self.n_dropped:
            return f"no pairs dropped ({self.n_total} compared)"
        parts = [f"{self.a} missing in {self.n_missing_a}", f"{self.b} missing in {self.n_missing_b}"]
        if self.n_missing_both:
            parts.append(f"both in {self.n_missing_both}")
        return f"{self.n_dropped} of {self.n_total} pairs dropped: " + ", ".join(parts)

    @property
    def sample_note(self) -> str:
        """A warning when too few pairs were compared to trust κ and the correlations, else ``""``.

        Example:
            >>> agreement(pd.DataFrame({"rating": [[4, 2]], "human_rating": [[5, 2]]})).sample_note[:50]
            'only 2 pairs: too few for κ or the rank correlatio'
        """
        if self.n >= FEW_PAIRS:
            return ""
        if self.n == 0:
            return "no pairs to compare"
        low, high = self.exact_interval
        return (f"only {_count(self.n, 'pair')}: too few for κ or the rank correlations to mean much (aim for "
                f"{FEW_PAIRS} or more); exact agreement {100 * self.exact:.0f}% could be anywhere from "
                f"{100 * low:.0f}% to {100 * high:.0f}% (95% interval)")

    def as_dict(self) -> dict[str, float | int]:
        """The numbers, e.g. for a table comparing several labellers."""
        names = ("n", "n_dropped", "exact", "within_one", "mean_abs_diff", "mean_diff", "kappa", "kappa_linear",
                 "kappa_quadratic", "spearman", "spearman_p", "kendall", "kendall_p")
        low, high = self.exact_interval
        return {**{name: getattr(self, name) for name in names}, "exact_low": low, "exact_high": high}

    def metric_groups(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """``(group, [(name, value, note)])``: the numbers as the text and the HTML card show them."""
        def pct(x: float) -> str:
            return "—" if math.isnan(x) else f"{100 * x:.1f}%"

        def num(x: float, signed: bool = False) -> str:
            return "—" if math.isnan(x) else (f"{x:+.2f}" if signed else f"{x:.2f}")

        def p(x: float) -> str:
            return "" if math.isnan(x) else f"p = {x:.2g}"

        def words(kappa: float) -> str:  # Landis & Koch's words do not apply to a handful of pairs
            return f"too few pairs to say (n = {self.n})" if 0 < self.n < FEW_PAIRS else kappa_words(kappa)

        low, high = self.exact_interval
        interval = "" if math.isnan(low) else f"; 95%: {100 * low:.0f}–{100 * high:.0f}%"

        return [
            ("Agreement", [
                ("Exact agreement", pct(self.exact), "same rating" + interval),
                ("Within ±1", pct(self.within_one), "differ by at most 1"),
                ("Mean |a − b|", num(self.mean_abs_diff), "mean absolute difference"),
                ("Mean a − b", num(self.mean_diff, signed=True), f"> 0: {self.a} rates higher"),
            ]),
            ("Cohen's κ", [
                ("quadratic weights", num(self.kappa_quadratic), words(self.kappa_quadratic)),
                ("linear weights", num(self.kappa_linear), words(self.kappa_linear)),
                ("unweighted", num(self.kappa), words(self.kappa)),
            ]),
            ("Rank correlation", [
                ("Spearman ρ", num(self.spearman), p(self.spearman_p)),
                ("Kendall τ-b", num(self.kendall), p(self.kendall_p)),
            ]),
        ]

    def __repr__(self) -> str:
        lines = [f"Agreement({self.a} vs {self.b}: {_count(self.n, 'pair')} from {_count(self.n_rows, 'row')}; "
                 f"{self.dropped_text()})"]
        if self.sample_note:
            lines.append(f"  Note: {self.sample_note}")
        rows = [(f"Cohen's κ, {name}" if group == "Cohen's κ" else name, value, note)
                for group, metrics in self.metric_groups() for name, value, note in metrics]
        width = max(len(name) for name, _, _ in rows)
        lines += [f"  {name:<{width}}  {value:>7}  {note}".rstrip() for name, value, note in rows]
        return "\n".join(lines)

    def plot(self, *, figsize: tuple[float, float] = (11.0, 4.2)) -> Any:
        """Rating distributions of both sides (left) and the confusion heatmap (right).

        Returns:
            The matplotlib ``Figure`` (closed in pyplot, so a notebook shows it once).
        """
        require("matplotlib", "matplotlib", "Agreement.plot()")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, (dist, heat) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.1, 1]})
        ticks = [label_text(v) for v in self.labels]
        x = np.arange(len(self.labels))
        width = 0.4
        dist.bar(x - width / 2, self.counts[self.a].to_numpy(), width, label=self.a, color="#4C72B0")
        dist.bar(x + width / 2, self.counts[self.b].to_numpy(), width, label=self.b, color="#DD8452")
        dist.set_xticks(x, ticks)
        dist.set_xlabel("rating")
        dist.set_ylabel("pairs")
        dist.set_title("Rating distributions")
        dist.legend(frameon=False)
        dist.spines[["top", "right"]].set_visible(False)
        dist.yaxis.set_major_locator(MaxNLocator(integer=True))

        matrix = self.confusion.to_numpy()
        image = heat.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max(initial=0)), 1))
        heat.set_xticks(x, ticks)
        heat.set_yticks(x, ticks)
        heat.set_xlabel(self.b)
        heat.set_ylabel(self.a)
        kappa = "—" if math.isnan(self.kappa_quadratic) else f"{self.kappa_quadratic:.2f}"
        heat.set_title(f"Confusion (quadratic κ = {kappa}, n = {self.n})")
        threshold = matrix.max(initial=0) / 2
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                heat.text(j, i, str(count), ha="center", va="center",
                          color="white" if count > threshold else "black", fontsize=9)
        colorbar = fig.colorbar(image, ax=heat, fraction=0.046, pad=0.04)
        colorbar.locator = MaxNLocator(integer=True)
        colorbar.update_ticks()
        fig.tight_layout()
        plt.close(fig)
        return fig


def agreement(df: pd.DataFrame, a: Any = "rating", b: Any = "human_rating", *,
              labels: Sequence[float] | None = None) -> Agreement:
    """Compare two sets of ratings of the same rows.

    Args:
        df: The labelled DataFrame, e.g. a pipeline's result joined with a review's.
        a: A column name, or a Series with ``df``'s index (a second labeller's column).
        b: The other side, the same way.
        labels: The rating scale, lowest first (e.g. ``[1, 2, 3, 4, 5]``). Weighted kappa
            weighs a disagreement by the distance between positions on this scale. By default
            the whole numbers of ``a``'s (or ``b``'s) scale in the result schema (the labeller's:
            1 to 5 for UltraFeedback, 1 to 10 for JudgeLM) when every rating is one, else the
            observed ratings, filled in to the whole range when they are whole numbers.

    Columns holding one list per row (``rating``, ``human_rating``) are compared per
    generation; columns holding one number per row are compared per row. A pair where
    either side is missing (None/NaN, or a whole row not labelled) is dropped and counted.

    Returns:
        An :class:`Agreement`: its numbers, ``confusion``, ``counts``, ``pairs``, ``.plot()``
        and an HTML card in a notebook.

    Raises:
        ValueError: for an unknown column, values that are not numbers, lists of different
            lengths on the two sides, or a rating outside ``labels``.
        ImportError: when scikit-learn or scipy is missing (``pip install 'distilabel_nb[experiments]'``).

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"ai": [1, 2, 3, 4], "person": [1, 2, 4, 4]})
        >>> result = agreement(df, "ai", "person", labels=[1, 2, 3, 4, 5])
        >>> result.exact, result.mean_abs_diff
        (0.75, 0.25)
    """
    metrics = require("sklearn.metrics", "scikit-learn", "agreement()")
    stats = require("scipy.stats", "scipy", "agreement()")
    all_pairs, counts = pair_ratings(df, a, b)
    a_name, _ = _column(df, a, "a")
    b_name, _ = _column(df, b, "b")
    if a_name == b_name:
        a_name, b_name = f"{a_name} (a)", f"{b_name} (b)"
    pairs = all_pairs.dropna(subset=["a", "b"]).reset_index(drop=True)
    x, y = pairs["a"].to_numpy(dtype=float), pairs["b"].to_numpy(dtype=float)
    observed = np.concatenate([x, y])
    if labels is None:
        found = schema.attached(df)  # the labeller's scale; a guess from the values would add nothing
        sides = [found.scale(side) if found is not None and isinstance(side, str) else None for side in (a, b)]
        scale = _default_labels(observed, sides)
    else:
        scale = sorted(_whole(v) for v in labels)
        outside = sorted(set(observed.tolist()) - set(scale))
        if outside:
            raise ValueError(f"ratings {[label_text(v) for v in outside]} are not on the scale "
                             f"labels={[label_text(v) for v in scale]}.")
    n = len(pairs)
    nan = float("nan")
    # scikit-learn reads floats such as 7.5 as continuous targets: give it positions on the scale
    # (which is also what the kappa weights are computed from).
    position = {value: i for i, value in enumerate(scale)}
    xi, yi = [position[v] for v in x], [position[v] for v in y]
    steps = list(range(len(scale)))

    def kappa(weights: str | None) -> float:
        if n == 0:
            return nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(metrics.cohen_kappa_score(xi, yi, labels=steps, weights=weights))

    def correlation(fn: Any) -> tuple[float, float]:
        if n < 2:
            return nan, nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(x, y)
        return float(result.statistic), float(result.pvalue)

    exact_interval = (nan, nan)
    if n:  # Wilson's interval for a proportion: sound for a handful of pairs too
        ci = stats.binomtest(int(np.sum(x == y)), n).proportion_ci(confidence_level=0.95, method="wilson")
        exact_interval = (float(ci.low), float(ci.high))
    spearman, spearman_p = correlation(stats.spearmanr)
    kendall, kendall_p = correlation(stats.kendalltau)
    diff = x - y
    ticks = pd.Index(scale, name="rating")
    confusion = pd.DataFrame(metrics.confusion_matrix(xi, yi, labels=steps) if n else np.zeros((len(scale),) * 2, int),
                             index=pd.Index(scale, name=a_name), columns=pd.Index(scale, name=b_name))
    dist = pd.DataFrame({a_name: pd.Series(x).value_counts().reindex(ticks, fill_value=0).to_numpy(),
                         b_name: pd.Series(y).value_counts().reindex(ticks, fill_value=0).to_numpy()}, index=ticks)
    return Agreement(
        a=a_name, b=b_name, labels=list(scale), n=n, n_rows=int(pairs["row"].nunique()),
        n_total=counts["total"], n_missing_a=counts["missing_a"], n_missing_b=counts["missing_b"],
        n_missing_both=counts["missing_both"],
        exact=float(np.mean(diff == 0)) if n else nan,
        within_one=float(np.mean(np.abs(diff) <= 1)) if n else nan,
        mean_abs_diff=float(np.mean(np.abs(diff))) if n else nan,
        mean_diff=float(np.mean(diff)) if n else nan,
        kappa=kappa(None), kappa_linear=kappa("linear"), kappa_quadratic=kappa("quadratic"),
        spearman=spearman, spearman_p=spearman_p, kendall=kendall, kendall_p=kendall_p, exact_interval=exact_interval,
        confusion=confusion, counts=dist, pairs=pairs,
    )
