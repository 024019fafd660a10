"""The run panel in a real JupyterLab: run the tutorial notebook, click Run, click Stop.

Opens (a copy of) ``notebooks/04_panel.ipynb``, runs all its cells, then drives the first
panel with the mouse: a short run to 100 % with rows in the live table, then a longer run
on the bundled sample during which another cell executes, stopped with the Stop button.
Screenshots go to ``tests/browser/screenshots/panel-*.png``.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import lab
from playwright.sync_api import expect

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO_ROOT / "notebooks" / "04_panel.ipynb"


def _shot(locator, name: str) -> Path:
    """Screenshot one element (the panel) to ``screenshots/<name>.png``."""
    lab.SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = lab.SCREENSHOT_DIR / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path), animations="disabled")
    return path


def _status(panel, run: int, status: str | None = None):
    selector = f'.dnb-status[data-run="{run}"]' + (f'[data-status="{status}"]' if status else "")
    return panel.locator(selector)


def _number_field(panel, label: str):
    """The visible numeric input whose description is ``label``."""
    return panel.locator(".widget-inline-hbox:visible", has=panel.page.locator("label", has_text=label)).locator("input").first


def test_panel_runs_and_stops_in_jupyterlab(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1800})  # room for the whole panel in screenshots
    notebook = notebook_dir.path / NOTEBOOK.name  # a copy: autosave never touches the repository file
    shutil.copy(NOTEBOOK, notebook)

    lab.open_notebook(page, jupyter_server, notebook)
    lab.close_left_sidebar(page)
    lab.run_all_cells(page, timeout_ms=600_000)

    panel = page.locator(".jp-OutputArea .dnb-panel").first
    # The notebook ran the panel twice from code: a full run, then a stopped one.
    _status(panel, 2, "cancelled").wait_for()
    assert page.locator(".jp-OutputArea .dnb-panel").count() == 3  # the panel, pipe.panel(...) and one set up for a server
    _shot(panel, "panel-after-notebook")

    tabs = panel.locator(".lm-TabBar-tab")
    tabs.filter(has_text="Prompt preview").click()
    preview = panel.locator(".dnb-prompt").first
    preview.wait_for()
    assert preview.locator(".dnb-role").first.inner_text().strip().lower() == "system"
    _shot(panel, "panel-prompt-preview")
    tabs.filter(has_text="Data").click()

    # -- a short run, clicked: bars to 100 %, rows in the live table --
    generation_bar = panel.locator(".widget-hprogress").nth(0)
    labelling_bar = panel.locator(".widget-hprogress").nth(1)
    cache = panel.locator(".widget-dropdown select").filter(has=page.locator("option", has_text="Cache: off"))
    cache.select_option(label="Cache: ask again")  # the model answers again (the notebook ran these rows)
    panel.locator("button.widget-button", has_text="Run").click()
    _status(panel, 3).wait_for()
    lab.wait_progress_percent(page, generation_bar, 100.0, timeout_ms=300_000)
    lab.wait_progress_percent(page, labelling_bar, 100.0, timeout_ms=300_000)
    _status(panel, 3, "finished").wait_for(timeout=30_000)
    rows = panel.locator("table.dnb-live tbody tr")
    assert rows.count() == 2
    assert rows.first.locator(".dnb-rating").count() == 2  # two answers per row (the default), each rated: structured output
    assert rows.first.locator("td").nth(1).inner_text().strip() != ""
    assert panel.locator("button.widget-button", has_text="Run").is_enabled()
    _shot(panel, "panel-finished")

    # -- a longer run on the bundled sample: another cell runs meanwhile, then Stop --
    panel.locator(".widget-toggle-button", has_text="Bundled sample").click()
    expect(panel.locator(".dnb-flow")).to_contain_text("10 rows from the bundled sample")
    tabs.filter(has_text="Generator").click()
    tokens = _number_field(panel, "Max new tokens")
    tokens.fill("128")
    tokens.press("Enter")
    # (widget messages reach the kernel in order: the value is set before the Run click below)
    _shot(panel, "panel-generator")
    tabs.filter(has_text="Labeller").click()
    panel.locator(".widget-checkbox:visible", has_text="Label the answers").locator("input").uncheck()
    expect(panel.locator(".dnb-flow")).not_to_contain_text("ultrafeedback")
    tabs.filter(has_text="Data").click()
    cache.select_option(label="Cache: off")  # fresh answers, so that there is something to stop

    panel.locator("button.widget-button", has_text="Run").click()
    _status(panel, 4, "running").wait_for()
    assert panel.locator("button.widget-button", has_text="Run").is_disabled()
    rows.first.wait_for(timeout=300_000)  # the first row finished (the table was emptied at the start)

    # The kernel is free: a cell executes while the run goes on. That cell also clicks Run
    # from code, and the panel refuses a second run.
    prompts_before = lab.cell_prompts(page)
    probe_index = next(i for i, cell in enumerate(page.locator(".jp-NotebookPanel:visible .jp-CodeCell").all())
                       if "finished so far" in cell.locator(".jp-InputArea").inner_text())
    probe = page.locator(".jp-NotebookPanel:visible .jp-CodeCell").nth(probe_index)
    probe.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "([i, before]) => { const p = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]"
        ".map(e => e.innerText.trim())[i]; return /\\[\\d+\\]/.test(p) && p !== before; }",
        arg=[probe_index, prompts_before[probe_index]])
    probe_output = probe.locator(".jp-OutputArea-output").first.inner_text()
    assert re.search(r"finished so far: \d+ of 10 rows; running=True", probe_output), probe_output
    assert _status(panel, 4, "running").count() == 1
    assert panel.locator(".dnb-note-title").first.inner_text().strip() == "A run is already going"
    _shot(panel, "panel-running")

    started = time.monotonic()
    panel.locator("button.widget-button", has_text="Stop").click()
    _status(panel, 4, "cancelled").wait_for(timeout=10_000)
    stop_seconds = time.monotonic() - started
    print(f"\nStop -> 'Stopped' shown in the browser after {stop_seconds:.2f}s")
    assert stop_seconds < 3.0
    kept = rows.count()
    assert 1 <= kept <= 5
    assert re.search(r"Stopped · \d+ rows? kept", panel.locator(".dnb-status").inner_text())
    assert panel.locator("button.widget-button", has_text="Run").is_enabled()
    assert panel.locator("button.widget-button", has_text="Stop").is_disabled()
    _shot(panel, "panel-stopped")

    # JupyterLab's dark theme: the panel follows its colours.
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.locator('body[data-jp-theme-light="false"]').wait_for(state="attached")
    expect(panel.locator(".dnb-header .dnb-title")).to_have_css("color", re.compile(r"rgba?\((2[0-9][0-9]|1[5-9][0-9]), "))
    _shot(panel, "panel-stopped-dark")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.locator('body[data-jp-theme-light="true"]').wait_for(state="attached")

    # The server settings, for the docs: no key is ever shown.
    tabs.filter(has_text="Labeller").click()
    panel.locator(".widget-checkbox:visible", has_text="Label the answers").locator("input").check()
    panel.locator(".widget-toggle-button:visible", has_text="OpenAI-compatible").click()
    panel.locator(".widget-dropdown:visible select").filter(
        has=page.locator("option", has_text="Typed here")).select_option(label="Typed here (kept in memory only)")
    panel.locator("input[type=password]:visible").wait_for()
    _shot(panel, "panel-labeller-server")

    assert lab.notebook_errors(page) == []
