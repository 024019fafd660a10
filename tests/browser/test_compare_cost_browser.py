"""Several generators, the budget and the comparison/cost/audit cards in a real JupyterLab.

Every notebook runs on the stub server (real HTTP, the real SDK) started inside the kernel:
``model-a`` writes careful answers, ``model-b`` nonsense, and the ``judge`` rates by content
(5 for a careful answer, 1 otherwise), so which model wins is known. The tests drive the
panel with the mouse — add a generator, remove it, type a budget, click Run — and wait on
the widgets' own DOM. Screenshots go to ``tests/browser/screenshots/``; with
``DISTILABEL_NB_DOCS_IMAGES=1`` they are also copied to ``docs/img/``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import lab
from playwright.sync_api import expect

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

SETUP = '''\
import json, re, zlib
import pandas as pd
from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.testing import StubServer
from distilabel_nb.testing.replies import last_user_text

def texts_of(prompt):
    return re.findall(r"<text \\d+>\\n(.*?)\\n</text \\d+>", prompt, re.DOTALL)

def reply(body, i):
    prompt = body["messages"][-1]["content"]
    if body["model"] == "judge":  # rates by content: a careful answer 5, anything else 1
        ratings = [5 if "careful" in text else 1 for text in texts_of(prompt)]
        if body.get("response_format"):
            return json.dumps({"ratings": [{"rationale": "read it", "rating": r} for r in ratings]})
        return "\\n".join(f"#### Output for Text {n + 1}\\nRating: {r}\\nRationale: read it." for n, r in enumerate(ratings))
    question = last_user_text(body)
    if body["model"] == "model-a":
        return f"A careful, correct answer to {question} ({i})"
    return f"nonsense {zlib.crc32(question.encode()) % 97} ({i})"

server = StubServer(model=["model-a", "model-b", "judge"], responder=reply, latency=0.02,
                    usage=lambda body, contents: (40, 25 * len(contents))).start()
def llm(name, task, **kwargs):
    return OpenAILLM(name, task, base_url=server.base_url, max_retries=0, **kwargs)
'''

GENERATORS = [
    SETUP,
    "pipe = Pipeline(generator=[llm('model-a', TextGenerationTask(), cache=False), llm('model-b', TextGenerationTask(), cache=False)],\n"
    "                labeller=llm('judge', UltraFeedbackTask(), cache=False))\n"
    "panel = pipe.panel(pd.DataFrame({'input': [f'question {i}?' for i in range(6)]}))\n"
    "panel.generator.num_generations.value = 1  # one answer from each model\n"
    "panel",
]

BUDGET = [
    SETUP,
    "price = {'input': 2.0, 'output': 8.0}  # dollars per million tokens: $0.00028 a call\n"
    "pipe = Pipeline(generator=llm('model-a', TextGenerationTask(), cache=False, price=price, max_concurrency=2, max_new_tokens=64),\n"
    "                labeller=llm('judge', UltraFeedbackTask(), cache=False, price=price, max_concurrency=2, max_new_tokens=64))\n"
    "panel = pipe.panel(pd.DataFrame({'input': [f'question number {i}' for i in range(30)]}))\n"
    "panel.data.rows.value = 30\n"
    "panel",
]

CARDS = [
    SETUP + "from distilabel_nb import audit_labels, compare_models, quality_report",
    "judge = llm('judge', UltraFeedbackTask())\n"
    "pipe = Pipeline(generator=[llm('model-a', TextGenerationTask()), llm('model-b', TextGenerationTask())], labeller=judge)\n"
    "rows = pd.DataFrame({'input': [f'question {i}?' for i in range(8)]})\n"
    "df = pipe.generate(rows, num_generations=2, display_progress_bar=False)\n"
    "compare_models(df)",
    "price = {'input': 2.0, 'output': 8.0}\n"
    "paid = Pipeline(generator=llm('model-a', TextGenerationTask(), price=price), labeller=llm('judge', UltraFeedbackTask(), price=price))\n"
    "paid.estimate(pd.DataFrame({'input': [f'task {i}' for i in range(2000)]}), sample=10, display_progress_bar=False)",
    "audit_labels(df, judge)",
    "quality_report(df, task=judge)",
]


def _shot(locator, name: str) -> Path:
    lab.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = lab.SCREENSHOT_DIR / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path), animations="disabled")
    assert path.stat().st_size > 3000
    if os.environ.get("DISTILABEL_NB_DOCS_IMAGES") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / path.name)
    return path


def _status(panel, run: int, status: str | None = None):
    return panel.locator(f'.dnb-status[data-run="{run}"]' + (f'[data-status="{status}"]' if status else ""))


def _open(page, server, notebook_dir, name: str, cells: list[str], height: int = 1600):
    page.set_viewport_size({"width": 1400, "height": height})  # room for the whole panel in screenshots
    lab.open_notebook(page, server, notebook_dir.write_notebook(name, cells))
    lab.close_left_sidebar(page)
    lab.run_all_cells(page)


def _dark(page, on: bool) -> None:
    theme = "JupyterLab Dark" if on else "JupyterLab Light"
    page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})")
    page.locator(f'body[data-jp-theme-light="{"false" if on else "true"}"]').wait_for(state="attached")
    page.wait_for_function("([dark]) => (getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()"
                           " === '#111') === dark", arg=[on])


def test_panel_adds_and_removes_a_generator_and_shows_the_win_rate_card(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    _open(page, jupyter_server, notebook_dir, "generators.ipynb", GENERATORS)
    panel = page.locator(".jp-OutputArea .dnb-panel").first
    panel.wait_for()
    tabs = panel.locator(".lm-TabBar-tab")
    tabs.filter(has_text="Generator").first.click()
    titles = panel.locator(".dnb-section-title:visible", has_text=re.compile(r"^Generator \d"))
    expect(titles).to_have_count(1)  # the second of the pipeline's generators; the first is the tab itself

    panel.locator("button.widget-button:visible", has_text="Add generator").click()
    expect(titles).to_have_count(2)
    expect(titles.nth(1)).to_have_text("Generator 3")
    _shot(panel, "panel-generators")
    remove = panel.locator("button.widget-button:visible", has_text="Remove")
    expect(remove).to_have_count(2)
    remove.nth(1).click()
    expect(titles).to_have_count(1)
    expect(panel.locator(".dnb-flow")).to_contain_text("model-b")

    tabs.filter(has_text="Data").click()
    panel.locator("button.widget-button", has_text="Run").click()
    _status(panel, 1, "finished").wait_for(timeout=60_000)
    rows = panel.locator("table.dnb-live tbody tr")
    assert rows.count() >= 1
    models = rows.first.locator(".dnb-model").all_inner_texts()
    assert sorted(m.strip() for m in models) == ["model-a", "model-b"], models
    for model, words in (("model-a", "careful"), ("model-b", "nonsense")):
        answer = rows.first.locator("td", has=page.locator(".dnb-model", has_text=model)).first
        assert words in answer.inner_text().lower(), answer.inner_text()

    card = panel.locator(".dnb-card", has=page.locator(".dnb-head", has_text="Model comparison"))
    card.wait_for(timeout=30_000)
    table_rows = card.locator("table tbody tr")
    assert table_rows.count() == 2, card.inner_text()
    assert table_rows.first.inner_text().startswith("model-a"), table_rows.first.inner_text()
    expect(card).to_contain_text("model-a won 6 of 6 decisive comparisons")
    assert card.locator("svg").count() == 1  # the plot
    _shot(card, "panel-win-rates")
    assert lab.notebook_errors(page) == []


def test_the_budget_field_stops_the_run_and_keeps_the_finished_rows(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    _open(page, jupyter_server, notebook_dir, "budget.ipynb", BUDGET, height=2400)
    panel = page.locator(".jp-OutputArea .dnb-panel").first
    budget = panel.locator(".widget-inline-hbox", has=page.locator("label", has_text="Budget $")).locator("input").first
    budget.fill("0.01")
    budget.press("Enter")  # widget messages reach the kernel in order: set before the Run click
    panel.locator("button.widget-button", has_text="Run").click()
    _status(panel, 1, "finished").wait_for(timeout=60_000)

    stats = panel.locator(".dnb-stats")
    expect(stats).to_contain_text(re.compile(r"\$0\.00\d+\s*cost"))
    expect(stats).to_contain_text(re.compile(r"[\d,]+\s*tokens"))
    note = panel.locator(".dnb-note-title").first
    expect(note).to_contain_text("Budget reached")
    done, unsent = map(int, re.search(r"(\d+) of 30 rows done; (\d+) not sent", note.inner_text()).groups())
    assert done >= 1 and unsent >= 1 and done + unsent == 30, note.inner_text()  # stopped partway
    errors = panel.locator("table.dnb-live tbody td.dnb-err")
    assert errors.count() >= 1
    assert "budget (max_cost=$0.01) would be exceeded" in errors.first.inner_text()
    # the rows paid for are kept: the results card's first rows hold their answers
    results = panel.locator(".dnb-results-card .dnb-card")
    expect(results).to_contain_text("A careful, correct answer to question number 0")
    _shot(panel, "panel-budget")
    assert lab.notebook_errors(page) == []


def test_compare_estimate_and_audit_cards_in_notebook_cells(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    _open(page, jupyter_server, notebook_dir, "cards.ipynb", CARDS)
    outputs = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output:has(.dnb-card)")
    expect(outputs).to_have_count(4)
    comparison, estimate, audit, quality = (outputs.nth(i) for i in range(4))

    assert comparison.locator("table tbody tr").count() == 2
    expect(comparison.locator("table tbody tr").first).to_contain_text("model-a")
    assert comparison.locator(".dnb-figure svg").count() == 1
    expect(estimate).to_contain_text("2,000")
    # JupyterLab typesets $…$ in HTML outputs: the dollars must stay dollars, not become maths
    assert page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output mjx-container").count() == 0
    assert re.search(r"generation price\s+\$2(\.00)? ?/ ?\$8", estimate.inner_text()), estimate.inner_text()
    assert re.search(r"\$\d+\.\d+ \(95%", estimate.inner_text()), estimate.inner_text()
    assert audit.locator("table, svg").count() >= 1
    assert quality.locator("svg").count() >= 1

    for theme in ("light", "dark"):
        _dark(page, theme == "dark")
        for locator, name in ((comparison, "card-win-rates"), (estimate, "card-estimate"),
                              (audit, "card-audit"), (quality, "card-quality")):
            inside = locator.evaluate("""el => { const r = el.getBoundingClientRect();
                return [...el.querySelectorAll('.dnb-card *')].filter(c => { const b = c.getBoundingClientRect();
                  return b.width > 0 && b.right > r.right + 1 && !c.closest('.dnb-scroll, pre, details:not([open])'); })
                  .map(c => c.className || c.tagName).slice(0, 5); }""")
            assert inside == [], f"{name} ({theme}): elements stick out: {inside}"
            _shot(locator, f"{name}-{theme}")
    _dark(page, False)
    assert lab.notebook_errors(page) == []
