"""The label checks' cards: the facts are there, hostile text stays text, and the plots are inline SVG."""

from __future__ import annotations

import sys
from html.parser import HTMLParser

import pandas as pd

from scripted import ScriptedLLM, blocks, by_position, texts_of
from distilabel_nb import Pipeline
from distilabel_nb.audit import audit_labels
from distilabel_nb.filters import DropNearDuplicates, KeepSurvivedSwap, MinRating, filter_rows
from distilabel_nb.pointwise import compare_modes
from distilabel_nb.quality import quality_report
from distilabel_nb.tasks import UltraFeedbackTask

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)> \"'><svg onload=alert(1)> </table>"
CARD_TAGS = {"div", "span", "strong", "pre", "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "style"}
SVG_TAGS = {"svg", "g", "path", "defs", "clippath", "use", "rect", "text", "tspan", "line", "polyline"}


class Parsed(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.depth_svg = 0
        self.svg_count = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "svg":
            self.depth_svg += 1
            self.svg_count += 1
        self.attrs += [(tag, name, value, self.depth_svg > 0) for name, value in attrs]

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth_svg -= 1

    def handle_data(self, data):
        self.text.append(data)


def checked(html: str) -> Parsed:
    page = Parsed(html)
    assert not set(page.tags) - CARD_TAGS - SVG_TAGS, set(page.tags) - CARD_TAGS - SVG_TAGS
    assert page.tags.count("style") == 1  # the cards' stylesheet, and no <style> from matplotlib
    for tag, name, value, in_svg in page.attrs:
        assert not name.startswith("on"), (tag, name, value)
        if name == "style" and not in_svg:
            assert value.startswith("width:"), value
        if in_svg:
            assert "alert" not in (value or ""), (tag, name, value)
    return page


def hostile_frame() -> tuple[pd.DataFrame, ScriptedLLM]:
    judge = ScriptedLLM(UltraFeedbackTask(), by_position, name=HOSTILE)
    rows = pd.DataFrame({"input": [f"{HOSTILE} {i}?" for i in range(4)],
                         "generations": [[f"{HOSTILE} first", f"{HOSTILE} second"]] * 4},
                        index=[f"{HOSTILE}-{i}" for i in range(4)])
    df = Pipeline(labeller=judge).generate(rows, display_progress_bar=False)
    df.loc[df.index[3], "labelling_error"] = HOSTILE
    return df, judge


def test_audit_and_comparison_cards_keep_hostile_text_as_text():
    df, judge = hostile_frame()
    audit = audit_labels(df, judge)
    page = checked(audit._repr_html_())
    text = " ".join(page.text)
    assert "whichever answer came second in 3 of 3 swapped rows" in text and "Flipped rows" in text
    assert HOSTILE in text and page.svg_count == 1
    comparison = compare_modes(df, judge)
    page = checked(comparison._repr_html_())
    assert page.svg_count == 3 and HOSTILE in " ".join(page.text)
    bundle = audit._repr_mimebundle_()
    assert bundle["text/plain"] == repr(audit) and "position consistency  0 of 3" in bundle["text/plain"]


def test_quality_and_filter_cards_keep_hostile_text_as_text():
    df, judge = hostile_frame()
    df[HOSTILE] = df["rating"]
    report = quality_report(df, columns=["rating", HOSTILE])
    page = checked(report._repr_html_())
    text = " ".join(page.text)
    assert HOSTILE in text and "Failures by kind" in text and page.svg_count == 1
    result = filter_rows(df, [KeepSurvivedSwap(audit_labels(df, judge)), DropNearDuplicates(), MinRating(1)])
    page = checked(result._repr_html_())
    assert "0 of 4 rows kept" in " ".join(page.text) and "preference flipped when the answers were swapped" in " ".join(page.text)


def test_a_card_without_matplotlib_says_so(monkeypatch):
    df, judge = hostile_frame()
    audit = audit_labels(df, judge)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import matplotlib.pyplot now fails
    page = checked(audit._repr_html_())
    assert page.svg_count == 0 and "no plot: the plots of the label checks needs matplotlib" in " ".join(page.text)


def test_plots_are_figures_with_the_numbers():
    df, judge = hostile_frame()
    audit = audit_labels(df, judge)
    figure = audit.plot()
    outcomes, places = figure.axes
    assert [round(p.get_height(), 2) for p in places.patches] == [1.0, 2.0]
    assert sum(p.get_width() for p in outcomes.patches) == audit.n_audited == 4 and audit.failure_rate.count == 1
    quality = quality_report(df, task=UltraFeedbackTask()).plot()
    assert [p.get_height() for p in quality.axes[0].patches] == [4, 4, 0, 0, 0]  # ratings read, failed rows too


def test_pointwise_labeller_card_shows_the_wrapped_model():
    from distilabel_nb.pointwise import pointwise

    judge = pointwise(ScriptedLLM(UltraFeedbackTask(), lambda p, i: blocks([5]), name="judge-7"))
    assert "judge-7" in judge._repr_html_() and repr(judge).startswith("pointwise(ScriptedLLM(")
    assert texts_of(judge.format_prompt(judge.task.generate_prompt("q?", ["only"]))) == ["only"]
