"""The Review widget in real JupyterLab: rate by clicking, the answers reach the file, and
after a kernel restart a fresh Review on the same file continues where the person stopped."""

from __future__ import annotations

import json
import re

import lab

SETUP_CELL = '''\
import pandas as pd
from distilabel_nb.widgets.review import Review

df = pd.DataFrame({{
    "input": ["Explain <b>photosynthesis</b> in one sentence.", "What is the capital of Peru?",
              "Give a synonym for 'quick'."],
    "generations": [
        ["Plants turn light, water and CO2 into sugar and oxygen.", "It is when plants <script>sleep</script>."],
        ["Lima.", "Cusco was, but today it is Lima."],
        ["Fast.", "Slowly."],
    ],
    "rating": [[5.0, 1.0], [5.0, 4.0], [5.0, 1.0]],
    "rationale": [["Accurate and concise.", "Wrong."], ["Correct.", "Correct, with history."], ["Right.", "An antonym."]],
    "labelling_model": ["SmolLM2-135M-Instruct"] * 3,
}})
review = Review(df, save_to={save_to!r}, reviewer="ana")
review
'''

PID_CELL = "import os\nos.getpid()"  # shows that the restart gave a new kernel process

AGREEMENT_CELL = '''\
from distilabel_nb.agreement import agreement
agreement(review.to_dataframe(), "rating", "human_rating")
'''


def _review(page):
    root = page.locator(".jp-OutputArea .dnb-review").first
    root.wait_for(state="visible")
    return root


def _wait_text(page, root, selector, text):
    """Wait until ``selector`` inside the widget reads exactly ``text`` (whitespace collapsed).

    The query runs on every frame: an HTML widget replaces its inner elements on each update."""
    page.wait_for_function(
        """([root, sel, want]) => {
             const el = root.querySelector(sel);
             return !!el && el.innerText.replace(/\\s+/g, ' ').trim() === want;
           }""",
        arg=[root.element_handle(), selector, text], polling="raf")


def _click_rating(page, root, generation, value):
    button = root.locator(".dnb-review-rating").nth(generation).locator(".widget-toggle-button").nth(value - 1)
    button.click()
    page.wait_for_function("el => el.classList.contains('mod-active')", arg=button.element_handle(), polling="raf")


def _kernel_pid(page):
    return lab.notebook_outputs(page)[0]["outputs"][0]["data"]["text/plain"]


def _restart_kernel(page):
    """Kernel → Restart Kernel…, and confirm, as a person does."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Kernel$")).first.click()
    page.locator(".lm-Menu .lm-Menu-item[data-command='kernelmenu:restart']").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    lab.wait_kernel_idle(page)


def test_review_in_jupyterlab_survives_a_kernel_restart(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    save_to = notebook_dir.path / "review.jsonl"
    nb = notebook_dir.write_notebook("review.ipynb", [PID_CELL, SETUP_CELL.format(save_to=str(save_to)),
                                                       AGREEMENT_CELL])
    lab.open_notebook(page, jupyter_server, nb)
    lab.close_left_sidebar(page)
    lab.run_all_cells(page)

    root = _review(page)
    _wait_text(page, root, ".dnb-review-title", "Review · row 1 of 3 · index 0")
    _wait_text(page, root, ".dnb-review-progress", "0 / 3 reviewed")
    # model and user text are shown as text, never as markup
    instruction = root.locator(".dnb-review-instruction")
    assert "Explain <b>photosynthesis</b> in one sentence." in instruction.inner_text()
    assert instruction.locator("b").count() == 0
    assert "<script>sleep</script>" in root.locator(".dnb-review-generation").nth(1).inner_text()
    assert str(save_to) in root.locator(".dnb-review-path").inner_text()
    next_button = root.locator("button.dnb-review-next")
    assert next_button.is_disabled()
    root.scroll_into_view_if_needed()
    lab.screenshot(page, "review-first-row")

    _click_rating(page, root, 0, 5)
    _click_rating(page, root, 1, 2)
    _wait_text(page, root, ".dnb-review-progress", "1 / 3 reviewed")
    note = root.locator(".dnb-review-note textarea")
    note.fill("second answer is nonsense")
    note.press("Tab")  # the note is sent when the field loses focus
    _wait_text(page, root, ".dnb-review-message", "Note saved.")
    assert next_button.is_enabled()
    root.screenshot(path=str(lab.SCREENSHOT_DIR / "review-widget-rated.png"))
    next_button.click()
    _wait_text(page, root, ".dnb-review-title", "Review · row 2 of 3 · index 1")

    records = [json.loads(line) for line in save_to.read_text().splitlines()]
    assert records[-1]["row"] == "0" and records[-1]["status"] == "reviewed"
    assert records[-1]["human_rating"] == [5, 2]
    assert records[-1]["human_note"] == "second answer is nonsense"
    assert records[-1]["reviewer"] == "ana"

    _click_rating(page, root, 0, 4)  # half of row 2, then the kernel goes away
    _wait_text(page, root, ".dnb-review-message", "Saved; rate the other answers too.")
    assert json.loads(save_to.read_text().splitlines()[-1])["human_rating"] == [4, None]
    lab.screenshot(page, "review-second-row-half-rated")

    old_view = root.element_handle()
    old_pid = _kernel_pid(page)
    _restart_kernel(page)
    lab.run_all_cells(page)
    page.wait_for_function("el => !el.isConnected", arg=old_view, polling="raf")
    assert _kernel_pid(page) != old_pid

    root = _review(page)
    _wait_text(page, root, ".dnb-review-title", "Review · row 2 of 3 · index 1")
    _wait_text(page, root, ".dnb-review-progress", "1 / 3 reviewed")
    first_toggle = root.locator(".dnb-review-rating").nth(0)
    assert first_toggle.locator(".widget-toggle-button.mod-active").inner_text().strip() == "4"
    assert root.locator(".dnb-review-rating").nth(1).locator(".mod-active").count() == 0
    assert "began this row earlier" in root.locator(".dnb-review-message").inner_text()

    card = page.locator(".jp-OutputArea .dnb-agreement").first
    card.wait_for(state="visible")
    assert "3 pairs from 2 rows" in card.inner_text()  # row 0 in full, the rated half of row 1
    assert lab.notebook_errors(page) == []
    root.scroll_into_view_if_needed()
    lab.screenshot(page, "review-after-restart")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(lab.SCREENSHOT_DIR / "agreement-card.png"))
