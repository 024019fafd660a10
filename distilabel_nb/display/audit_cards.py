"""Cards of the label checks: position audit, list-wise vs pointwise, quality report, filters.

Built from the pieces of :mod:`distilabel_nb.display.markup`, with the same rules: every
value from a dataset or a model is escaped once; plots come in as SVG written by
matplotlib, which escapes its text. Each card is registered for its type beside it.
"""

from __future__ import annotations

from typing import Any, Sequence

from distilabel_nb.audit import PositionAudit, ordinal
from distilabel_nb.cells import as_list
from distilabel_nb.display.audit_plots import audit_figure, inline_svg, modes_figure, quality_figure
from distilabel_nb.display.html import render
from distilabel_nb.display.markup import badge, card, cls, details, escape, muted, preview_line, section, span
from distilabel_nb.filters import FilterResult
from distilabel_nb.pointwise import ModeComparison
from distilabel_nb.quality import QualityReport
from distilabel_nb.report import Share, is_number

ROWS_SHOWN = 12


def _figure(draw: Any, obj: Any) -> str:
    """The object's plot as inline SVG, or a note when matplotlib is missing."""
    try:
        return f'<div class="{cls("figure")}">{inline_svg(draw(obj))}</div>'
    except ImportError as exc:
        return muted(f"no plot: {exc}")


def _stats(items: Sequence[tuple[str, str, str]]) -> str:
    """Big numbers with a label and a small note each."""
    return f'<div class="{cls("stats")}">' + "".join(
        f'<span class="{cls("stat")}">{span(value, "stat-value")} {span(label, "stat-label")}'
        f'{span(note, "stat-label") if note else ""}</span>' for label, value, note in items) + "</div>"


def _share(label: str, share: Share | None) -> tuple[str, str, str]:
    if share is None:
        return label, "—", ""
    note = f"{share.count} of {share.total}" + (f" · 95% CI {share.interval_text()}" if share.total else "")
    return label, share.percent(), note


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], total: int | None = None) -> str:
    """A small table; cells are HTML already escaped by the caller."""
    if not rows:
        return muted("none")
    thead = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    more = f'<div class="{cls("note")}">{escape(f"… and {total - len(rows)} more")}</div>' if total and total > len(rows) else ""
    return f'<div class="{cls("scroll")}"><table class="{cls("mini")}"><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table></div>{more}'


def _number(value: Any, signed: bool = False) -> str:
    if not is_number(value):
        return "—"
    return f"{float(value):+.2f}" if signed else f"{float(value):.2f}"


def _ratings(values: Any) -> str:
    return escape(", ".join(f"{float(v):g}" if is_number(v) else "?" for v in as_list(values)))


def _tone(share: Share) -> str:
    if not share.total:
        return "muted"
    return "ok" if share.value >= 0.8 else "warn" if share.value >= 0.5 else "err"


def _verdict(text: str, tone: str) -> str:
    return f'<div class="{cls("verdict", "tone-" + tone)}">{escape(text)}</div>'


def _audit_body(audit: PositionAudit) -> str:
    consistency = audit.position_consistency
    stats = _stats([_share("position consistency", consistency), _share("tie rate", audit.tie_rate),
                    _share("parse failures", audit.failure_rate)]
                   + ([_share(f"self-consistency at T={audit.temperature:g}", audit.self_consistency)]
                      if audit.self_consistency is not None else [])
                   + [("new calls", str(audit.calls), "answered from the cache otherwise")])
    places = _table(["place", "answers", f"mean {audit.score_column}, original", "swapped", "shift", "shown here"],
                    [[escape(ordinal(int(p))), escape(int(r.answers)), _number(r.original_mean), _number(r.swapped_mean),
                      _number(r.shift, signed=True), _number(r.shown_here_mean)] for p, r in audit.by_position.iterrows()])
    flipped = audit.rows[audit.rows["outcome"] == "flipped"]
    first_input = next((c for c in audit.flipped.columns if c not in (audit.score_column, f"{audit.score_column}_swapped")
                        and audit.flipped[c].map(lambda v: isinstance(v, str)).all()), None)
    flips = _table(["row", "instruction", "original", "swapped (answers' order)"],
                   [[escape(r.row), escape(preview_line(str(audit.flipped.at[r.row, first_input]), 80)) if first_input else "—",
                     _ratings(r.original), _ratings(r.swapped)] for r in flipped.head(ROWS_SHOWN).itertuples()],
                   total=len(flipped))
    skipped = ", ".join(f"{count} {why}" for why, count in audit.skipped.items())
    sub = f"{audit.n_audited} of {audit.n_total} rows audited" + (f" · left out: {skipped}" if skipped else "")
    return (_verdict(audit.verdict(), _tone(consistency)) + stats + f'<div class="{cls("note")}">{escape(sub)}</div>'
            + section("Plot", _figure(audit_figure, audit))
            + section("By place", places, note="rating of the answer at each original place, in each order")
            + section("Flipped rows", details(escape(f"{len(flipped)} rows"), flips, open_=0 < len(flipped) <= 4)))


@render.register(PositionAudit)
def audit_card(audit: PositionAudit) -> str:
    """The card of a :class:`~distilabel_nb.audit.PositionAudit`."""
    consistency = audit.position_consistency
    badges = [badge(f"{consistency.percent()} consistent", _tone(consistency)), badge(audit.mode),
              badge(f"{audit.calls} new calls")]
    return card("Position audit", audit.labeller, badges=badges, body=_audit_body(audit), variant="audit")


@render.register(ModeComparison)
def modes_card(comparison: ModeComparison) -> str:
    """The card of a :class:`~distilabel_nb.pointwise.ModeComparison`."""
    table = comparison.table()
    rows = [[escape(mode), escape(int(r.rows)), escape(int(r.decisive)),
             escape("—" if not is_number(r.position_consistency) else f"{100 * r.position_consistency:.0f}%"),
             escape("" if not is_number(r.low) else f"{100 * r.low:.0f}–{100 * r.high:.0f}%"),
             escape(f"{100 * r.tie_rate:.0f}%" if is_number(r.tie_rate) else "—"),
             escape(f"{100 * r.failure_rate:.0f}%" if is_number(r.failure_rate) else "—"), escape(int(r.calls))]
            for mode, r in table.iterrows()]
    body = (_verdict(comparison.verdict(), _tone(comparison.listwise.position_consistency))
            + _table(["mode", "rows", "decisive", "consistent", "95% CI", "ties", "failures", "new calls"], rows)
            + section("Plot", _figure(modes_figure, comparison))
            + section("List-wise audit", details(muted("details"), _audit_body(comparison.listwise)))
            + section("Pointwise audit", details(muted("details"), _audit_body(comparison.pointwise))))
    return card("Labelling modes", comparison.listwise.labeller, badges=[badge(f"{comparison.calls} new calls")],
                 body=body, variant="audit")


def _place(key: Any) -> str:
    """A duplicate's place: a row, or (row, answer) as whole numbers — "(0, 2)", not "(0, 2.0)"."""
    if isinstance(key, tuple):
        return "(" + ", ".join(_place(k) for k in key) + ")"
    return str(int(key)) if isinstance(key, float) and key.is_integer() else str(key)


@render.register(QualityReport)
def quality_card(report: QualityReport) -> str:
    """The card of a :class:`~distilabel_nb.quality.QualityReport`."""
    facts = _table(["", ""], [[escape(name), escape(value)] for name, value in report.summary()])
    duplicates = report.duplicates
    dupes = _table(["kind", "row", "repeats", "match", "similarity", "text"],
                   [[escape(r.kind), escape(_place(r.key)), escape(_place(r.duplicate_of)), escape(r.match), escape(f"{r.similarity:.2f}"),
                     escape(preview_line(str(r.text), 80))] for r in duplicates.head(ROWS_SHOWN).itertuples()],
                   total=len(duplicates))
    failures = _table(["column", "kind", "rows", "example"],
                      [[escape(r.column), escape(r.kind), escape(r.rows), escape(preview_line(r.example, 90))]
                       for r in report.failures.head(ROWS_SHOWN).itertuples()], total=len(report.failures))
    lengths = _table(["text", "count", "missing", "empty", "mean", "median", "min", "max"],
                     [[escape(kind)] + [escape(f"{float(v):g}" if is_number(v) else "—") for v in row]
                      for kind, row in report.length_summary.iterrows()])
    badges = [badge(f"{report.n_rows} rows"),
              badge(f"{len(duplicates)} duplicates", "warn" if len(duplicates) else "ok"),
              badge(f"{int(report.failures['rows'].sum()) if len(report.failures) else 0} failures",
                     "err" if len(report.failures) else "ok")]
    body = (facts + section("Plot", _figure(quality_figure, report)) + section("Lengths (characters)", lengths)
            + section("Duplicates", dupes, note=f"similarity of character shingles ≥ {report.threshold:g}")
            + section("Failures by kind", failures))
    return card("Quality report", f"{report.n_rows} rows", badges=badges, body=body, variant="audit")


@render.register(FilterResult)
def filters_card(result: FilterResult) -> str:
    """The card of a :class:`~distilabel_nb.filters.FilterResult`."""
    steps = _table(["filter", "keeps", "rows in", "removed", "rows out"],
                   [[escape(s.filter), escape(s.keeps), escape(s.rows_in), escape(s.removed), escape(s.rows_out)]
                    for s in result.steps.itertuples()])
    removed = _table(["row", "filter", "why"], [[escape(r.row), escape(r.filter), escape(r.reason)]
                                                 for r in result.removed.head(ROWS_SHOWN * 2).itertuples()],
                     total=len(result.removed))
    kept = len(result.kept)
    body = steps + section("Removed rows", details(escape(f"{len(result.removed)} rows"), removed))
    return card("Filters", f"{kept} of {result.n_rows} rows kept",
                 badges=[badge(f"{result.n_rows - kept} removed", "warn" if kept < result.n_rows else "ok")],
                 body=body, variant="audit")
