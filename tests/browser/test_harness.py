"""Smoke tests of the browser harness itself: a real JupyterLab, a real
kernel, real ipywidgets rendered and clicked in headless Chromium."""

from __future__ import annotations

import lab

WIDGET_CELL = '''\
import ipywidgets as widgets
from IPython.display import display, HTML

progress = widgets.IntProgress(value=0, max=10, description="work")
status = widgets.HTML(value="<b>waiting</b>")
button = widgets.Button(description="Finish", tooltip="finish-button")
out = widgets.Output()

def on_click(_):
    progress.value = 10
    # built at run time so the final text never appears in the cell source
    status.value = "<i>" + "-".join(["all", "done"]) + "</i>"

button.on_click(on_click)
with out:
    display(HTML("<table class='harness-table'><tr><th>k</th></tr><tr><td>" + str(6 * 7) + "</td></tr></table>"))
widgets.VBox([progress, button, status, out])
'''


def test_widgets_render_and_react_to_clicks(jupyter_server, browser_page, notebook_dir):
    page = browser_page
    nb_path = notebook_dir.write_notebook("widgets.ipynb", [WIDGET_CELL])

    lab.open_notebook(page, jupyter_server, nb_path)
    lab.close_left_sidebar(page)
    lab.run_all_cells(page)

    sel = lab.WIDGET_SELECTORS
    # wait on the widgets' own DOM (only exists once the views rendered)
    progress = page.locator(sel["progress"]).first
    progress.wait_for(state="visible")
    button = page.locator(sel["button"], has_text="Finish").first
    button.wait_for(state="visible")
    html = page.locator(sel["html_content"]).first
    assert html.inner_text().strip() == "waiting"
    assert lab.progress_percent(progress) == 0.0
    assert button.get_attribute("title") == "finish-button"
    table = page.locator(sel["output_widget_table"]).first
    table.wait_for(state="visible")
    assert table.locator("td").inner_text().strip() == "42"
    lab.screenshot(page, "harness-before-click")

    button.click()
    lab.wait_progress_percent(page, progress, 100.0)
    page.wait_for_function(
        "el => el.innerText.trim() === 'all-done'", arg=html.element_handle(), polling="raf")

    assert lab.progress_percent(progress) == 100.0
    assert html.locator("i").inner_text() == "all-done"
    assert lab.notebook_errors(page) == []
    # no news / update / build popups got in the way
    assert page.locator(".jp-Dialog, .Toastify__toast").count() == 0
    lab.screenshot(page, "harness-after-click")


def test_kernel_selection_dialog_and_errors(jupyter_server, browser_page, notebook_dir):
    """A notebook without kernelspec metadata makes JupyterLab ask for a
    kernel; the harness answers with Python 3.  Errors raised by cells are
    reported by run_all_cells."""
    page = browser_page
    nb_path = notebook_dir.write_notebook(
        "nometa.ipynb", ["print(6 * 7)", "raise ValueError('boom' + str(1 + 1))", "print('never')"],
        kernelspec=False)

    lab.open_notebook(page, jupyter_server, nb_path)
    assert "Python 3" in lab.kernel_state(page)["kernelName"]

    errors = lab.run_all_cells(page, raise_on_error=False)
    assert [(e["index"], e["ename"], e["evalue"]) for e in errors] == [(1, "ValueError", "boom2")]
    first_output = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(0).locator(".jp-OutputArea-output")
    assert first_output.inner_text().strip() == "42"
    # the cell after the failing one was aborted, as in a user's Run All
    assert lab.cell_prompts(page)[2] in ("[ ]:", "")
