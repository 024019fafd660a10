"""The card of a model comparison (which generator wins under the judge), and its small plot.

Built from the pieces of :mod:`distilabel_nb.display.markup` and the label checks' cards,
with the same rules: every model name and number is escaped once; the plot comes in as
SVG written by matplotlib, which escapes its text.
"""

from __future__ import annotations

from typing import Any

from distilabel_nb.agreement import require
from distilabel_nb.display.audit_cards import _figure, _stats, _table, _verdict
from distilabel_nb.display.audit_plots import _BLUE, _done, _label
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import badge, card, cls, escape, section
from distilabel_nb.report import Share, is_number
from distilabel_nb.win_rates import ModelComparison


def _short(name: str, most: int = 34) -> str:
    """A model's name for an axis: its start and its end (where the settings that tell two apart are)."""
    return name if len(name) <= most else name[:12] + "…" + name[-(most - 13):]


def win_rate_figure(comparison: ModelComparison, width: float = 6.4) -> Any:
    """Each model's win rate (dot) with its 95% interval (line), 50% marked; best at the top."""
    plt = require("matplotlib.pyplot", "matplotlib", "the plot of a model comparison")
    table = comparison.table
    figure, axes = plt.subplots(figsize=(width, 0.5 + 0.42 * max(1, len(table))))
    names = [_short(str(m)) for m in table["model"]][::-1]
    for y, r in enumerate(table.iloc[::-1].itertuples()):
        if is_number(r.win_rate):
            axes.plot([100 * r.win_rate_low, 100 * r.win_rate_high], [y, y], color=_BLUE, linewidth=2.5, alpha=0.45)
            axes.plot([100 * r.win_rate], [y], "o", color=_BLUE)
            axes.annotate(f"{int(r.wins)}/{int(r.wins + r.losses)}", (100 * r.win_rate_high, y), xytext=(4, -3),
                          textcoords="offset points", fontsize=8)
    axes.axvline(50, color="#9e9e9e", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.set_xlim(0, 108)
    axes.set_ylim(-0.6, len(names) - 0.4)
    _label(axes, "win rate, decisive comparisons (95% CI)", xlabel="%")
    return _done(plt, figure)


def _tone(comparison: ModelComparison) -> str:
    if len(comparison.table) < 2:
        return "muted"
    share = comparison.share(comparison.table["model"].iloc[0])
    return "muted" if not share.total else "ok" if share.low > 0.5 else "warn"


def _percent(value: Any) -> str:
    return "—" if not is_number(value) else f"{100 * float(value):.0f}%"


def _interval(low: Any, high: Any, percent: bool = True) -> str:
    if not (is_number(low) and is_number(high)):
        return "—"
    return f"{100 * low:.0f}–{100 * high:.0f}%" if percent else f"{low:.2f}–{high:.2f}"


@render.register(ModelComparison)
def model_comparison_card(comparison: ModelComparison) -> str:
    """The card of a :class:`~distilabel_nb.win_rates.ModelComparison`."""
    table = comparison.table
    rows = [[escape(r.model), escape(_percent(r.win_rate)), escape(_interval(r.win_rate_low, r.win_rate_high)),
             escape(int(r.wins)), escape(int(r.ties)), escape(int(r.losses)),
             escape("—" if not is_number(r.mean_rating) else f"{r.mean_rating:.2f}"),
             escape(_interval(r.mean_low, r.mean_high, percent=False)),
             escape(f"{int(r.rated)} of {int(r.answers)}"), escape(int(r.failed)), escape(int(r.missing))]
            for r in table.itertuples()]
    scale = f" ({comparison.scale})" if comparison.scale else ""
    head = ["model", "win rate", "95% CI", "wins", "ties", "losses", f"mean {comparison.score_column}{scale}", "95% CI",
            "rated", "failed", "missing"]
    stats = []
    if len(table):
        best = table["model"].iloc[0]
        share: Share = comparison.share(best)
        note = f"{share.count} of {share.total}" + (f" · 95% CI {share.interval_text()}" if share.total else "")
        stats = [("best win rate", share.percent(), note), ("rows compared", str(comparison.compared_rows),
                                                             f"of {comparison.rows}")]
    pairs = ""
    if len(table) > 2:
        pairs = section("Head to head", _table(["model", "against", "wins", "ties", "losses", "win rate", "95% CI"],
                        [[escape(p.model), escape(p.opponent), escape(int(p.wins)), escape(int(p.ties)),
                          escape(int(p.losses)), escape(_percent(p.win_rate)),
                          escape(_interval(p.win_rate_low, p.win_rate_high))] for p in comparison.pairs.itertuples()]))
    body = (_verdict(comparison.verdict(), _tone(comparison)) + (_stats(stats) if stats else "")
            + _table(head, rows) + pairs + section("Plot", _figure(win_rate_figure, comparison) if len(table) else "")
            + f'<div class="{cls("note")}">{escape("win rate: wins of wins + losses within each row; ties apart")}</div>')
    badges = [badge(f"{len(table)} models"), badge(f"{comparison.compared_rows} rows compared")]
    if comparison.judge:
        badges.append(badge(f"judge: {comparison.judge}"))
    return card("Model comparison", comparison.score_column, badges=badges, body=body, variant="audit")
