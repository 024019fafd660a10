"""The small plots of the label checks (matplotlib, from the ``experiments`` extra), and SVG for the cards.

Each function returns a closed matplotlib ``Figure`` (a notebook shows it once);
:func:`inline_svg` turns one into an ``<svg>`` element for a card. The plots' words are
this module's own and numbers, plus column names; matplotlib's SVG writer escapes every
text it writes (``&``, ``<``, ``>``), and text stays text (a third of the size of glyphs).
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from distilabel_nb.agreement import require
from distilabel_nb.audit import OUTCOMES, PositionAudit, ordinal
from distilabel_nb.pointwise import ModeComparison
from distilabel_nb.quality import QualityReport

_COLOURS = {"consistent": "#2e7d32", "flipped": "#c62828", "tie": "#9e9e9e", "failed": "#ef6c00"}
_BLUE, _ORANGE = "#4C72B0", "#DD8452"


def _pyplot() -> Any:
    return require("matplotlib.pyplot", "matplotlib", "the plots of the label checks")


def _label(axes: Any, title: str, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Title and axis labels, and no top or right spine."""
    axes.set_title(title, fontsize=10)
    if xlabel:
        axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    axes.spines[["top", "right"]].set_visible(False)


def _done(plt: Any, figure: Any) -> Any:
    """Lay the figure out and close it in pyplot (a notebook then shows it once, where it is returned)."""
    figure.tight_layout()
    plt.close(figure)
    return figure


def inline_svg(figure: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no date)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # The metadata names matplotlib; the <style> block would style the whole page, not just this SVG.
    text = re.sub(r"<metadata>.*?</metadata>|<style[^>]*>.*?</style>", "", text, flags=re.DOTALL)
    return re.sub(r">\s+<", "><", text)


def audit_figure(audit: PositionAudit, figsize: tuple[float, float] = (7.6, 2.4)) -> Any:
    """Left: the audited rows by outcome. Right: the mean rating given to the answer shown at each place."""
    plt = _pyplot()
    figure, (outcomes, places) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.25, 1]})
    counts = [int((audit.rows["outcome"] == name).sum()) for name in OUTCOMES]
    left = 0
    for name, count in zip(OUTCOMES, counts):
        if count:
            outcomes.barh([0], [count], left=left, color=_COLOURS[name], label=f"{name} {count}")
            left += count
    outcomes.set_xlim(0, max(left, 1))
    outcomes.set_yticks([])
    _label(outcomes, "Preferred answer after the swap", "audited rows")
    outcomes.legend(frameon=False, fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.45))
    table = audit.by_position
    labels = [ordinal(int(p)) for p in table.index]  # "shown fourth" and its neighbours overlapped
    values = [0.0 if math.isnan(v) else float(v) for v in table["shown_here_mean"]]
    places.bar(range(len(values)), values, color=_BLUE, width=0.55)
    places.set_xticks(range(len(values)), labels)
    _label(places, "Rating by place shown (both orders)", "place shown", f"mean {audit.score_column}")
    places.set_ylim(0, max(values + [1.0]) * 1.22)  # room for the numbers above the bars, under the title
    for x, value in enumerate(values):
        places.text(x, value, f"{value:.2f}", ha="center", va="bottom", fontsize=8)
    return _done(plt, figure)


def modes_figure(comparison: ModeComparison, figsize: tuple[float, float] = (6.4, 2.2)) -> Any:
    """Position consistency (with its 95% interval) and tie rate of each mode."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=figsize)
    names = ["list-wise", "pointwise"]
    for y, audit in enumerate((comparison.listwise, comparison.pointwise)):
        share, ties = audit.position_consistency, audit.tie_rate
        if share.total:
            axes.barh(y + 0.18, share.value, height=0.34, color=_BLUE, label="position consistency" if y == 0 else None)
            axes.errorbar(share.value, y + 0.18, xerr=[[share.value - share.low], [share.high - share.value]],
                          fmt="none", ecolor="black", capsize=3, lw=1)
        if ties.total:
            axes.barh(y - 0.18, ties.value, height=0.34, color=_ORANGE, label="tie rate" if y == 0 else None)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda x, _pos: f"{100 * x:.0f}%")
    axes.legend(frameon=False, fontsize=8, loc="lower right")
    _label(axes, "Same rows, two ways to label")
    return _done(plt, figure)


def quality_figure(report: QualityReport, figsize: tuple[float, float] = (7.6, 2.4)) -> Any:
    """Left: the ratings of each score column on the scale. Right: answer lengths in characters."""
    plt = _pyplot()
    figure, (ratings, lengths) = plt.subplots(1, 2, figsize=figsize)
    columns = list(report.ratings.columns)
    width = 0.8 / max(len(columns), 1)
    steps = list(report.ratings.index)
    for k, column in enumerate(columns):
        ratings.bar([i + (k - (len(columns) - 1) / 2) * width for i in range(len(steps))],
                    report.ratings[column].tolist(), width, label=str(column))
    ratings.set_xticks(range(len(steps)), [f"{v:g}" for v in steps])
    _label(ratings, "Ratings on the scale", "rating", "answers")
    if len(columns) > 1:
        ratings.legend(frameon=False, fontsize=8)
    chars = report.lengths.loc[report.lengths["text"] == "answer", "chars"].dropna()
    if len(chars):
        lengths.hist(chars, bins=min(20, max(5, len(chars) // 3)), color=_ORANGE)
    _label(lengths, "Answer lengths", "answer length (characters)", "answers")
    return _done(plt, figure)
