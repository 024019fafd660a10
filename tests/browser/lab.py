"""Helpers that drive a real JupyterLab 4 page with Playwright (sync API).

Plain functions, no pytest dependency, so they can also be used from a
debugging script.  Typical use inside a browser test (fixtures come from
``tests/browser/conftest.py``)::

    import lab

    def test_something(jupyter_server, browser_page, notebook_dir):
        nb_path = notebook_dir.write_notebook("demo.ipynb", ["import ipywidgets as w", "w.IntSlider()"])
        lab.open_notebook(browser_page, jupyter_server, nb_path)  # waits for kernel Idle
        lab.run_all_cells(browser_page)                  # raises KernelError if a cell errored
        slider = browser_page.locator(".jp-OutputArea .widget-slider").first
        slider.wait_for()                                # the widget view rendered
        lab.screenshot(browser_page, "demo")             # tests/browser/screenshots/demo.png

Everything waits on the DOM (or on JupyterLab's own models, read-only) and
never sleeps for a fixed time.  Selectors verified against JupyterLab 4.6
and ipywidgets 8.1 (see ``WIDGET_SELECTORS``).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
#: Stable location of every PNG written by :func:`screenshot`.
SCREENSHOT_DIR = HERE / "screenshots"

#: Kernel start on a loaded 2-core machine can take 10-20 s; be generous.
KERNEL_TIMEOUT_MS = 120_000
#: Opening JupyterLab itself (JS bundle load + first render).
LAB_LOAD_TIMEOUT_MS = 90_000

#: DOM selectors that proved reliable for ipywidgets 8 inside JupyterLab 4.
#: Always scope them to ``.jp-OutputArea`` so that nothing can match the
#: cell's *source* text.
WIDGET_SELECTORS = {
    # IntProgress/FloatProgress: value is the inline style width (percent of
    # max) of the inner bar; there is no aria-valuenow on ipywidgets 8 bars.
    "progress": ".jp-OutputArea .widget-hprogress",
    "progress_bar": ".jp-OutputArea .widget-hprogress .progress .progress-bar",
    # Button: a real <button>; its `title` is the tooltip or the description.
    "button": ".jp-OutputArea button.widget-button",
    # HTML widget: rendered markup lives in .widget-html-content.
    "html": ".jp-OutputArea .widget-html",
    "html_content": ".jp-OutputArea .widget-html .widget-html-content",
    # Label widget: a div.widget-label (the <label class="widget-label"> in
    # other widgets is their description, hence the element qualifier).
    "label": ".jp-OutputArea div.jupyter-widgets.widget-label",
    "text_input": ".jp-OutputArea .widget-text input",
    "dropdown": ".jp-OutputArea .widget-dropdown select",
    # Output widget: a nested OutputArea; display(HTML/DataFrame) renders
    # tables inside .jp-RenderedHTML (pandas adds table.dataframe).
    "output_widget": ".jp-OutputArea .widget-output",
    "output_widget_table": ".jp-OutputArea .widget-output .jp-RenderedHTML table",
    "output_widget_dataframe": ".jp-OutputArea .widget-output table.dataframe",
}

# --------------------------------------------------------------------------
# JavaScript snippets (evaluated in the page)
# --------------------------------------------------------------------------

# Shared helper functions, injected into every snippet by _js().
_JS_HELPERS = r"""
// The notebook panel that is currently shown in the main dock area.
function __dnbActivePanel() {
  const panels = [...document.querySelectorAll('.jp-NotebookPanel')];
  const visible = panels.filter(p => p.getClientRects().length > 0 &&
                                     !p.classList.contains('lm-mod-hidden'));
  return visible[0] || null;
}
// Kernel state of the active notebook as a user would read it: the
// status-bar item "Python 3 (ipykernel) | Idle", the toolbar execution
// indicator and "[*]" prompts.  All must agree before we call it idle: each
// lags the others for a few frames, and while no kernel is attached yet the
// indicator already says "idle" (status bar: "No Kernel | Initializing").
function __dnbKernelState() {
  const panel = __dnbActivePanel();
  if (!panel) return {state: 'no-panel'};
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog) return {state: 'dialog', text: dialog.innerText};
  const item = document.querySelector(
      '#jp-main-statusbar .jp-StatusBar-TextItem[title^="Change kernel"]');
  const sb = item ? item.innerText.trim() : '';
  const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const indStatus = ind ? ind.getAttribute('data-status') : null;
  const kname = panel.querySelector('.jp-Toolbar-kernelName');
  const kernelName = kname ? kname.innerText.trim() : '';
  const running = [...panel.querySelectorAll('.jp-InputPrompt')]
      .some(p => p.innerText.includes('*'));
  const status = (sb.split('|').pop() || '').trim().toLowerCase();
  if (status === 'dead') return {state: 'dead', sb, kernelName};
  const idle = status === 'idle' && !/^no kernel/i.test(sb) &&
               (indStatus === null || indStatus === 'idle') && !running &&
               kernelName !== '' && !/^no kernel$/i.test(kernelName);
  return {state: idle ? 'idle' : 'busy', sb, indStatus, kernelName, running};
}
function __dnbPrompts() {
  const panel = __dnbActivePanel();
  if (!panel) return null;
  return [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
      .map(p => p.innerText.trim());
}
"""


def _js(body: str) -> str:
    """Wrap ``body`` (a JS function expression taking one argument) so the
    helpers above are in scope; result is a single arrow function."""
    return "(arg) => {\n" + _JS_HELPERS + "\nreturn (" + body.strip() + ")(arg);\n}"


_JS_KERNEL_STATE = _js("() => __dnbKernelState()")

# Resolves once the kernel has been idle for `stableMs` consecutive
# milliseconds, or as soon as a dialog / dead kernel shows up.
_JS_WAIT_IDLE = _js(r"""
(stableMs) => {
  const s = __dnbKernelState();
  if (s.state === 'dialog' || s.state === 'dead') return s;
  if (s.state !== 'idle') { window.__dnbIdleSince = null; return false; }
  const now = performance.now();
  if (!window.__dnbIdleSince) { window.__dnbIdleSince = now; return false; }
  return (now - window.__dnbIdleSince >= stableMs) ? s : false;
}
""")

_JS_PROMPTS = _js("() => __dnbPrompts()")
_JS_PROMPTS_CHANGED = _js(
    "(before) => JSON.stringify(__dnbPrompts()) !== JSON.stringify(before)")

# Outputs of the current notebook read from JupyterLab's model (read only).
# Needs the server flag --LabApp.expose_app_in_browser=True (set by the
# jupyter_server fixture).
_JS_MODEL_OUTPUTS = r"""
() => {
  const app = window.jupyterapp;
  if (!app) return null;
  const w = app.shell.currentWidget;
  if (!w || !w.content || !w.content.widgets) return null;
  return w.content.widgets.map((cell, i) => ({
    index: i,
    type: cell.model.type,
    source: cell.model.sharedModel.getSource(),
    outputs: cell.model.type === 'code' ? cell.model.outputs.toJSON() : [],
  }));
}
"""


# --------------------------------------------------------------------------
# Navigation
# --------------------------------------------------------------------------

def lab_url(server: Any, relpath: str, workspace: str | None = None) -> str:
    """URL that opens ``relpath`` (relative to the server root) in a fresh,
    unique JupyterLab workspace, so no state leaks between tests."""
    ws = workspace or f"t{uuid.uuid4().hex[:12]}"
    rel = quote(str(relpath).replace("\\", "/").lstrip("/"))
    return f"{server.base_url}lab/workspaces/{ws}/tree/{rel}?token={server.token}"


def open_notebook(page: Any, server: Any, relpath: str | Path, *,
                  timeout_ms: int = KERNEL_TIMEOUT_MS) -> Any:
    """Open a notebook and wait until its kernel is started and idle.

    ``relpath`` is relative to ``server.root_dir`` (an absolute path inside the
    root is accepted too).  A kernel-selection dialog (notebooks without
    kernelspec metadata) is answered with the default Python 3 kernel.
    Returns a Playwright locator for the notebook panel.
    """
    relpath = server.relpath(relpath) if hasattr(server, "relpath") else str(relpath)
    page.goto(lab_url(server, relpath), wait_until="domcontentloaded",
              timeout=LAB_LOAD_TIMEOUT_MS)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell",
                           timeout=LAB_LOAD_TIMEOUT_MS)
    wait_kernel_idle(page, timeout_ms=timeout_ms)
    return active_notebook(page)


def close_left_sidebar(page: Any) -> None:
    """Collapse the left sidebar (file browser) to give outputs full width,
    the way a user does: click the highlighted sidebar tab."""
    stack = page.locator("#jp-left-stack")
    if stack.is_visible():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()
        stack.wait_for(state="hidden", timeout=15_000)


def active_notebook(page: Any) -> Any:
    """Locator of the currently visible notebook panel."""
    return page.locator(".jp-NotebookPanel:visible").first


# --------------------------------------------------------------------------
# Dialogs
# --------------------------------------------------------------------------

def dismiss_dialogs(page: Any, *, kernel: str = "python3", max_dialogs: int = 5) -> list[str]:
    """Answer any open JupyterLab dialog(s); returns their texts.

    * "Select Kernel": picks ``kernel`` (default ``python3``, i.e. the
      default "Python 3 (ipykernel)") and presses *Select*.
    * anything else (e.g. "Build Recommended", "Kernel Restarting" notices):
      pressed away with the reject/cancel button, or accept if it has none.
    """
    handled: list[str] = []
    for _ in range(max_dialogs):
        dialog = page.locator(".jp-Dialog").first
        if dialog.count() == 0:
            break
        text = dialog.inner_text()
        handled.append(text)
        header_loc = dialog.locator(".jp-Dialog-header")
        header = header_loc.first.inner_text().strip().lower() if header_loc.count() else ""
        select = dialog.locator("select")
        if "kernel" in header and select.count() > 0:
            wanted = json.dumps({"name": kernel}, separators=(",", ":"))
            values = select.first.locator("option").evaluate_all(
                "opts => opts.map(o => o.value)")
            if wanted in values:
                select.first.select_option(value=wanted)
            dialog.locator("button.jp-mod-accept").click()
        else:
            reject = dialog.locator("button.jp-mod-reject")
            (reject if reject.count() else dialog.locator("button.jp-mod-accept")).first.click()
        dialog.wait_for(state="detached", timeout=15_000)
    return handled


# --------------------------------------------------------------------------
# Kernel / execution
# --------------------------------------------------------------------------

class KernelError(AssertionError):
    """Kernel died or a cell raised while running."""


def kernel_state(page: Any) -> dict:
    """Snapshot of the active notebook's kernel state (for debugging)."""
    return page.evaluate(_JS_KERNEL_STATE)


def wait_kernel_idle(page: Any, timeout_ms: int = KERNEL_TIMEOUT_MS, *,
                     stable_ms: int = 300, handle_dialogs: bool = True) -> None:
    """Wait until the active notebook's kernel is Idle, no cell shows ``[*]``,
    and this has held for ``stable_ms``.  Kernel-selection and other dialogs
    that pop up meanwhile are answered via :func:`dismiss_dialogs`.
    Timeout is in milliseconds (Playwright convention)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        remaining = int((deadline - time.monotonic()) * 1000)
        if remaining <= 0:
            raise TimeoutError(f"kernel not idle after {timeout_ms} ms: {kernel_state(page)}")
        page.evaluate("() => { window.__dnbIdleSince = null; }")
        try:
            handle = page.wait_for_function(_JS_WAIT_IDLE, arg=stable_ms,
                                            timeout=remaining, polling=100)
        except Exception as exc:  # playwright TimeoutError
            if "Timeout" in type(exc).__name__ or "Timeout" in str(exc):
                raise TimeoutError(
                    f"kernel not idle after {timeout_ms} ms: {kernel_state(page)}") from exc
            raise
        state = handle.json_value()
        if state["state"] == "idle":
            return
        if state["state"] == "dead":
            raise KernelError(f"kernel died: {state}")
        if state["state"] == "dialog":
            if not handle_dialogs:
                raise KernelError(f"unexpected dialog: {state.get('text')}")
            dismiss_dialogs(page)


def cell_prompts(page: Any) -> list[str]:
    """Input prompts (``[1]:``, ``[*]:``, ``[ ]:``) of the active notebook's code cells."""
    return page.evaluate(_JS_PROMPTS) or []


def _open_menu_command(page: Any, menu: str, command: str) -> None:
    page.locator(".lm-MenuBar-item").filter(
        has=page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(menu)}$"))
    ).first.click()
    item = page.locator(f".lm-Menu .lm-Menu-item[data-command='{command}']").first
    item.wait_for(state="visible", timeout=15_000)
    if "lm-mod-disabled" in (item.get_attribute("class") or ""):
        page.keyboard.press("Escape")
        raise RuntimeError(f"menu command {command!r} is disabled")
    item.click()


def run_all_cells(page: Any, timeout_ms: int = KERNEL_TIMEOUT_MS, *,
                  raise_on_error: bool = True) -> list[dict]:
    """Run → Run All Cells through the menu bar, then wait until execution
    finished (prompts changed, kernel idle).  Returns the error outputs (see
    :func:`notebook_errors`); raises :class:`KernelError` listing them unless
    ``raise_on_error=False``."""
    __tracebackhide__ = True
    before = cell_prompts(page)
    _open_menu_command(page, "Run", "runmenu:run-all")
    # Execution has really started once some prompt changed ([*] or a new
    # number).  Cells aborted after an error go back to "[ ]", so we do not
    # require every prompt to be numbered.
    page.wait_for_function(_JS_PROMPTS_CHANGED, arg=before,
                           timeout=timeout_ms, polling=100)
    wait_kernel_idle(page, timeout_ms=timeout_ms)
    errors = notebook_errors(page)
    if errors and raise_on_error:
        raise KernelError("cell(s) raised:\n" + "\n\n".join(
            f"cell {e['index']}: {e['ename']}: {e['evalue']}\n{e['traceback']}" for e in errors))
    return errors


def notebook_outputs(page: Any) -> list[dict] | None:
    """Cells of the active notebook with their nbformat outputs, read from the
    JupyterLab model (needs ``expose_app_in_browser``, enabled by the fixture).
    Returns None if the app object is not available."""
    return page.evaluate(_JS_MODEL_OUTPUTS)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def notebook_errors(page: Any) -> list[dict]:
    """``error`` outputs of the active notebook: dicts with index, ename,
    evalue and an ANSI-stripped traceback.  Falls back to scraping the DOM for
    tracebacks if the app object is not exposed."""
    cells = notebook_outputs(page)
    errors = []
    if cells is None:
        for i, txt in enumerate(page.locator(
                ".jp-NotebookPanel:visible .jp-OutputArea-output"
                "[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()):
            if "Traceback (most recent call last)" in txt:
                errors.append({"index": i, "ename": "?", "evalue": "?", "traceback": txt})
        return errors
    for cell in cells:
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                errors.append({
                    "index": cell["index"],
                    "ename": out.get("ename"),
                    "evalue": out.get("evalue"),
                    "traceback": _ANSI.sub("", "\n".join(out.get("traceback", []))),
                })
    return errors


# --------------------------------------------------------------------------
# Widgets
# --------------------------------------------------------------------------

def progress_percent(locator: Any) -> float:
    """Percent (0-100) shown by an ipywidgets 8 progress bar.

    ``locator`` may point at the ``.widget-hprogress``/``.widget-vprogress``
    container or at the inner ``.progress-bar``.  IntProgress(value=v, max=m)
    renders ``width: {100*v/m}%`` (height for vertical bars)."""
    return locator.evaluate(
        """el => {
             const bar = el.classList.contains('progress-bar') ? el : el.querySelector('.progress-bar');
             const vertical = !!el.closest('.widget-vprogress');
             const v = vertical ? bar.style.height : bar.style.width;
             return parseFloat(v);
           }""")


def wait_progress_percent(page: Any, locator: Any, percent: float,
                          timeout_ms: int = 30_000) -> None:
    """Wait until the progress bar at ``locator`` shows ``percent``."""
    handle = locator.element_handle(timeout=timeout_ms)
    page.wait_for_function(
        """([el, pct]) => {
             const bar = el.classList.contains('progress-bar') ? el : el.querySelector('.progress-bar');
             const vertical = !!el.closest('.widget-vprogress');
             const v = parseFloat(vertical ? bar.style.height : bar.style.width);
             return Math.abs(v - pct) < 0.01;
           }""",
        arg=[handle, percent], timeout=timeout_ms, polling="raf")


# --------------------------------------------------------------------------
# Screenshots
# --------------------------------------------------------------------------

def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save ``tests/browser/screenshots/<name>.png`` and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
