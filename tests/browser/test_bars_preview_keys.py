"""What a person sees in JupyterLab: bars of a step with failures, the panel's preview of a
wide result, and the review's keyboard shortcuts.

A notebook starts the stub server in its kernel (deterministic, instant answers; its free
text holds no rating, so a labeller reading free text fails on every row), runs
``generate()`` with its tqdm bars, opens a panel on the wide result and runs it from
code; then a review is driven with real key presses. Screenshots go to
``tests/browser/screenshots/``: ``bars-failures``, ``panel-wide-preview``,
``panel-failures``, ``review-keys``.
"""

from __future__ import annotations

import json
import re

import lab
from playwright.sync_api import expect

SETUP = '''\
import pandas as pd
from distilabel_nb import OpenAILLM, Pipeline, TextGenerationTask, UltraFeedbackTask
from distilabel_nb.testing import StubServer

server = StubServer(model="stub-model").start()
def on_stub(task):
    return OpenAILLM("stub-model", task, base_url=server.base_url, api_key="none", cache=False)
rows = pd.DataFrame({"input": ["Explain photosynthesis in one sentence, for a child who asks why leaves are green.",
                               "What is the capital of Peru, and why was it founded there?",
                               "Give three synonyms for 'quick' and use one in a sentence."]})
'''

GENERATE = '''\
# free text from the stub holds no rating: the labelling step fails on every row
pipe = Pipeline(generator=on_stub(TextGenerationTask()), labeller=on_stub(UltraFeedbackTask(structured=False)))
wide = pipe.generate(rows, num_generations=2, skip_dry_run=True)
wide.shape
'''

PANEL = '''\
from distilabel_nb.widgets import Panel
panel = Panel(wide)
for section in (panel.generator, panel.labeller):
    section.backend.value = "openai"
    section.model.value = "stub-model"
    section.base_url.value = server.base_url
    section.key_source.value = "none"
panel.labeller.structured.value = False
panel.cache.value = False
panel
'''

REVIEW = '''\
import pandas as pd
from distilabel_nb.widgets.review import Review
labelled = pd.DataFrame({
    "input": ["Explain photosynthesis in one sentence.", "What is the capital of Peru?", "A synonym for 'quick'?"],
    "generations": [["Plants turn light, water and CO2 into sugar and oxygen.", "Plants sleep at night."],
                    ["Lima.", "Cusco."], ["Fast.", "Slowly."]],
    "rating": [[5, 1], [5, 2], [5, 1]],
    "rationale": [["Accurate.", "Wrong."], ["Correct.", "Former capital."], ["Right.", "An antonym."]],
})
review = Review(labelled, save_to=SAVE_TO, reviewer="ana")
review
'''


def _progress_style(bar) -> str:
    """The bar_style class of an ipywidgets progress bar: success, warning, danger, info or ''."""
    return bar.evaluate("""el => {
        const inner = el.querySelector('.progress-bar');
        const found = [...inner.classList].find(c => c.startsWith('progress-bar-'));
        return found ? found.slice('progress-bar-'.length) : '';
    }""")


def _cell_output(page, index: int):
    return page.locator(".jp-NotebookPanel:visible .jp-CodeCell").nth(index).locator(".jp-OutputArea")


def _wait_text(page, root, selector: str, text: str) -> None:
    page.wait_for_function(
        """([root, sel, want]) => {
             const el = root.querySelector(sel);
             return !!el && el.innerText.replace(/\\s+/g, ' ').trim() === want;
           }""",
        arg=[root.element_handle(), selector, text], polling="raf")


def test_bars_of_a_step_with_failures_end_amber_and_a_wide_result_previews_few_columns(
        jupyter_server, browser_page, notebook_dir):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1700})
    nb = notebook_dir.write_notebook("bars.ipynb", [SETUP, GENERATE, PANEL])
    lab.open_notebook(page, jupyter_server, nb)
    lab.close_left_sidebar(page)
    lab.run_all_cells(page, timeout_ms=300_000)

    # generate()'s tqdm bars in the notebook: generating green, labelling amber with its count
    bars = _cell_output(page, 1).locator(".widget-hprogress")
    expect(bars).to_have_count(2)
    generating, labelling = (_cell_output(page, 1).locator(".widget-hbox").nth(i) for i in (0, 1))
    expect(generating).to_contain_text("Generating")
    expect(labelling).to_contain_text("failed=3")
    assert _progress_style(bars.nth(0)) == "success"
    assert _progress_style(bars.nth(1)) == "warning"
    colour = bars.nth(1).locator(".progress-bar").evaluate("el => getComputedStyle(el).backgroundColor")
    red, green, blue = map(int, re.findall(r"\d+", colour)[:3])
    assert red > 180 and 60 < green < 200 and blue < 90, colour  # amber, not green
    lab.screenshot(page, "bars-failures")  # the viewport: the cells and their bars
    _cell_output(page, 1).screenshot(path=str(lab.SCREENSHOT_DIR / "bars-failures.png"))

    # Panel(df) on the wide result: the task's columns and a few others, cut; not every column
    panel = _cell_output(page, 2).locator(".dnb-panel")
    head = panel.locator("table.dnb-data-head")
    headers = [h.strip() for h in head.locator("th").all_inner_texts()]
    assert headers[0] == "#" and headers[1] == "input" and len(headers) <= 5, headers
    assert "generation_prompt" not in headers and "raw_labelling_response" not in headers
    expect(panel.locator(".dnb-hint", has_text="more columns not shown")).to_be_visible()
    assert [n.strip() for n in head.locator("td.dnb-num").all_inner_texts()] == ["0", "1", "2"]
    width = head.locator("th").nth(1).evaluate("el => el.getBoundingClientRect().width")
    assert width > 150, width  # readable columns, not 40 px slivers
    height = head.evaluate("el => el.getBoundingClientRect().height")
    assert height < 400, height
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(lab.SCREENSHOT_DIR / "panel-wide-preview.png"), animations="disabled")

    # Run, clicked: generation green, labelling amber with "3 failed"
    panel.locator("button.widget-button", has_text="Run").click()
    panel.locator('.dnb-status[data-run="1"][data-status="finished"]').wait_for(timeout=60_000)
    pill = panel.locator('.dnb-status[data-failed="3"]')
    expect(pill).to_contain_text("Finished with failures")
    expect(pill).to_have_css("color", re.compile(r"rgb\((2[0-9][0-9]|1[5-9][0-9]), "))  # amber, like the bar
    progress = panel.locator(".widget-hprogress")
    assert _progress_style(progress.nth(0)) == "success"
    assert _progress_style(progress.nth(1)) == "warning"
    counts = panel.locator(".dnb-count").all_inner_texts()
    assert "3 failed" in counts[1] and "failed" not in counts[0], counts
    expect(panel.locator(".dnb-count-failed")).to_have_css("color", re.compile(r"rgb\((2[0-9][0-9]|1[5-9][0-9]), "))
    # rows numbered by the DataFrame's index, here 0, 1, 2 as in panel.result
    live = sorted(n.strip() for n in panel.locator("table.dnb-live td.dnb-num").all_inner_texts())
    assert live == ["0", "1", "2"]
    card = panel.locator(".dnb-results-box .dnb-card-results")
    expect(card).to_be_visible()  # the results card of panel.result, opened when the run is over
    assert card.locator("tbody th.dnb-idx").all_inner_texts()[:3] == ["0", "1", "2"]
    card.screenshot(path=str(lab.SCREENSHOT_DIR / "panel-results-card.png"), animations="disabled")
    panel.locator(".dnb-results-box").get_by_text("Results card (first rows)").click()  # fold it: the panel fits
    expect(card).to_be_hidden()
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(lab.SCREENSHOT_DIR / "panel-failures.png"), animations="disabled")
    assert lab.notebook_errors(page) == []


def test_review_keyboard_shortcuts_in_jupyterlab(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    save_to = notebook_dir.path / "review.jsonl"
    nb = notebook_dir.write_notebook("keys.ipynb", [REVIEW.replace("SAVE_TO", repr(str(save_to))), "1 + 1"])
    lab.open_notebook(page, jupyter_server, nb)
    lab.close_left_sidebar(page)
    lab.run_all_cells(page)
    root = page.locator(".jp-OutputArea .dnb-review").first
    root.wait_for(state="visible")
    page.locator('.dnb-review[data-dnb-keys="on"]').wait_for(state="attached")  # the anywidget found its review
    expect(root.locator(".dnb-review-keys-hint")).to_contain_text("1–5 rate the marked answer")

    root.locator(".dnb-review-instruction").click()  # focus inside the review, as a person does
    page.keyboard.press("4")
    page.keyboard.press("2")
    _wait_text(page, root, ".dnb-review-progress", "1 / 3 reviewed")
    ratings = root.locator(".dnb-review-rating")
    assert ratings.nth(0).locator(".mod-active").inner_text().strip() == "4"
    assert ratings.nth(1).locator(".mod-active").inner_text().strip() == "2"
    root.screenshot(path=str(lab.SCREENSHOT_DIR / "review-keys.png"))
    page.keyboard.press("Enter")
    _wait_text(page, root, ".dnb-review-title", "Review · row 2 of 3 · index 1")
    page.keyboard.press("5")  # the first answer; the second stays open
    expect(root.locator(".dnb-review-active")).to_have_count(1)
    expect(root.locator(".dnb-review-rating").nth(1).locator("..")).to_have_class(re.compile("dnb-review-active"))
    page.keyboard.press("ArrowRight")
    _wait_text(page, root, ".dnb-review-title", "Review · row 3 of 3 · index 2")
    page.keyboard.press("ArrowLeft")
    _wait_text(page, root, ".dnb-review-title", "Review · row 2 of 3 · index 1")

    records = [json.loads(line) for line in save_to.read_text().splitlines()]
    assert records[0]["human_rating"] == [4, None] and records[1]["human_rating"] == [4, 2]
    assert records[-1]["row"] == "1" and records[-1]["human_rating"] == [5, None]
    # the keys did not reach JupyterLab: no cell became a heading, no cell ran or was added
    cells = lab.notebook_outputs(page)
    assert len(cells) == 2 and lab.cell_prompts(page) == ["[1]:", "[2]:"]
    assert page.locator(".jp-NotebookPanel:visible .jp-MarkdownCell").count() == 0
    assert lab.notebook_errors(page) == []
