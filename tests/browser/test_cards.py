"""Every preview card in headless Chromium, in JupyterLab's light and dark themes.

Each card goes into a standalone page that loads JupyterLab's own theme stylesheet (its
CSS variables) and the rules JupyterLab applies to rendered HTML that fight a card
(right-aligned cells, zebra rows, pre margins). The test checks what a person would
see — readable contrast, the stylesheet applied, left-aligned cells, no hostile markup
executed — and writes a PNG per card and theme to ``tests/browser/screenshots/``.
With ``DISTILABEL_NB_DOCS_IMAGES=1`` the PNGs are also copied to ``docs/img/``.

The cards show a real run of the bundled model (SmolLM2-135M-Instruct): two
instructions answered twice and rated, plus a row with an empty instruction so that
an error is on screen.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from distilabel_nb import (
    LlamaCppLLM, LLMOutput, OpenAILLM, Pipeline, Prompt, RunState, TextGenerationTask, UltraFeedbackTask,
)
from distilabel_nb.display import show_prompt, show_results

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SHOTS = HERE / "screenshots"
DOCS_IMG = HERE.parents[1] / "docs" / "img"
THEMES = {"light": "theme-light-extension", "dark": "theme-dark-extension"}
CARDS = ["prompt", "task", "llm", "llm_server", "output", "output_error", "pipeline", "run", "results"]

# What JupyterLab 4 applies to every HTML output (.jp-RenderedHTMLCommon); the cards must win.
JUPYTERLAB_RENDERED_HTML = """
body { margin: 0; background: var(--jp-layout-color0); }
.jp-RenderedHTMLCommon { color: var(--jp-content-font-color1); font-family: var(--jp-content-font-family);
  font-size: var(--jp-content-font-size1); line-height: var(--jp-content-line-height); padding-right: 20px; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none; color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size1); table-layout: fixed; margin-left: auto; margin-right: auto; }
.jp-RenderedHTMLCommon thead { border-bottom: 1px solid var(--jp-border-color1); vertical-align: bottom; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr { text-align: right; vertical-align: middle;
  padding: 0.5em; line-height: normal; white-space: normal; max-width: none; border: none; }
.jp-RenderedHTMLCommon th { font-weight: bold; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: var(--jp-layout-color0); }
.jp-RenderedHTMLCommon tbody tr:nth-child(even) { background: var(--jp-rendermime-table-row-background); }
.jp-RenderedHTMLCommon tbody tr:hover { background: var(--jp-rendermime-table-row-hover-background); }
.jp-RenderedHTMLCommon pre { margin: 1em 2em; padding: 0; background: none; border: none; }
.jp-RenderedHTMLCommon ol, .jp-RenderedHTMLCommon ul { padding-left: 2em; margin-bottom: 1em; }
.jp-RenderedHTMLCommon p { text-align: left; margin: 0 0 0.5em; }
.shot { display: inline-block; width: 1040px; padding: 14px 16px; background: var(--jp-layout-color0); }
"""


def theme_css(theme: str) -> str:
    """JupyterLab's own theme stylesheet (its CSS variables) from the installed JupyterLab."""
    candidates = [Path(sys.prefix) / "share" / "jupyter" / "lab" / "themes" / "@jupyterlab" / THEMES[theme] / "index.css"]
    try:
        from jupyter_core.paths import jupyter_path

        candidates += [Path(p) / "themes" / "@jupyterlab" / THEMES[theme] / "index.css" for p in jupyter_path("lab")]
    except ImportError:
        pass
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    pytest.fail(f"JupyterLab's {theme} theme stylesheet not found (looked in {[str(c) for c in candidates]}); "
                "pip install jupyterlab", pytrace=False)


def standalone_page(card_html: str, theme: str) -> str:
    light = "true" if theme == "light" else "false"
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{theme_css(theme)}</style>"
            f"<style>{JUPYTERLAB_RENDERED_HTML}</style></head>"
            f"<body data-jp-theme-light='{light}'><div class='shot'>"
            f"<div class='jp-OutputArea-output jp-RenderedHTMLCommon'>{card_html}</div></div></body></html>")


# -- what the cards show ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def samples() -> dict[str, Any]:
    # cache=False: the run card shows the time a real run takes
    generator = LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=96, temperature=0.8, seed=7, cache=False)
    labeller = LlamaCppLLM(task=UltraFeedbackTask(), max_new_tokens=200, temperature=0.0, cache=False)
    pipe = Pipeline(generator=generator, labeller=labeller)
    dataset = pd.DataFrame({"input": ["Give me one tip for writing clearer emails.",
                                      "What is the capital of France?", None]})
    df = pipe.generate(dataset, num_generations=2, display_progress_bar=False)
    prompt = TextGenerationTask().generate_prompt("Write a haiku about the sea.")
    output = generator.generate([{"input": "Name a primary colour."}])[0][0]
    parse_failure = LLMOutput(labeller.model_name, prompt.as_messages(), "Text 1 is good. I like text 2 too!",
                              {"rating": [None, None], "rationale": [None, None]},
                              error="text 1: no rating found; text 2: no rating found", error_kind="parse",
                              usage={"prompt_tokens": 412, "completion_tokens": 11})
    running = RunState(total_rows=40, has_generator=True, has_labeller=True, generated=27, labelled=19, done=19,
                       generation_failures=1, labelling_failures=2, tokens=18342, status="running", elapsed=83.4)
    server = OpenAILLM("llama-3.1-8b-instruct", UltraFeedbackTask(), base_url="http://localhost:8080/v1",
                       api_key="sk-never-shown-0000", temperature=0.0, max_new_tokens=512)
    return {
        "prompt": show_prompt(prompt, formats=["chatml", "llama2", "zephyr", "openai"], chosen="chatml"),
        "task": UltraFeedbackTask(),
        "llm": generator,
        "llm_server": server,
        "output": output,
        "output_error": parse_failure,
        "pipeline": pipe,
        "run": running,
        "results": show_results(df),
        "df": df,
    }


def test_the_real_run_has_answers_ratings_and_an_error(samples):
    df = samples["df"]
    assert len(df) == 3
    assert df["generation_error"].iloc[2] is not None  # the empty instruction
    assert all(isinstance(g, list) and len(g) == 2 for g in df["generations"].iloc[:2])


# -- in the browser --------------------------------------------------------------------------

def _rgba(css: str) -> tuple[float, float, float, float]:
    """'rgb(…)', 'rgba(…)' or 'color(srgb r g b / a)' (what color-mix computes to) as 0-255 + alpha."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css.replace("srgb", ""))]
    if len(numbers) < 3:
        return (0.0, 0.0, 0.0, 0.0)
    scale = 255.0 if css.startswith("color(") else 1.0
    r, g, b, *alpha = numbers
    return (r * scale, g * scale, b * scale, alpha[0] if alpha else 1.0)


def _over(top: tuple[float, ...], bottom: tuple[float, ...]) -> tuple[float, float, float]:
    alpha = top[3]
    return tuple(top[i] * alpha + bottom[i] * (1 - alpha) for i in range(3))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg_css: str, bg_css: str, page_css: str) -> float:
    page = tuple(_rgba(page_css)[:3])
    bg = _over(_rgba(bg_css), page + (1.0,))
    fg = _over(_rgba(fg_css), tuple(bg) + (1.0,))
    light, dark = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


_STYLE_PROBE = """() => {
  const style = (sel, prop) => { const el = document.querySelector(sel); return el ? getComputedStyle(el)[prop] : null; };
  const card = document.querySelector('.dnb-card');
  const rect = card.getBoundingClientRect();
  return {
    width: rect.width, height: rect.height,
    stripe: style('.dnb-card', 'borderLeftWidth'),
    titleColor: style('.dnb-title', 'color'), headBg: style('.dnb-head', 'backgroundColor'),
    bodyColor: style('.dnb-body', 'color'), cardBg: style('.dnb-card', 'backgroundColor'),
    mutedColor: style('.dnb-label, .dnb-muted, .dnb-foot, .dnb-progress-label', 'color'),
    pageBg: getComputedStyle(document.body).backgroundColor,
    cellAlign: style('.dnb-table td', 'textAlign'), zebra: style('.dnb-table tbody tr:nth-child(even)', 'backgroundColor'),
    overflowing: [...card.querySelectorAll('*')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > rect.right + 1 && !el.closest('.dnb-scroll, pre, details:not([open])');
    }).map(el => el.className || el.tagName).slice(0, 5),
  };
}"""


@pytest.fixture
def card_page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    yield page
    context.close()


@pytest.mark.parametrize("theme", list(THEMES))
@pytest.mark.parametrize("name", CARDS)
def test_card_in_the_browser(card_page, samples, name, theme):
    card_page.set_content(standalone_page(samples[name]._repr_html_(), theme))
    probe = card_page.evaluate(_STYLE_PROBE)

    assert probe["stripe"] == "3px", "the card stylesheet was not applied"
    assert probe["width"] > 400 and probe["height"] > 40
    assert contrast(probe["titleColor"], probe["headBg"], probe["pageBg"]) >= 7, probe
    assert contrast(probe["bodyColor"], probe["cardBg"], probe["pageBg"]) >= 7, probe
    assert contrast(probe["mutedColor"], probe["cardBg"], probe["pageBg"]) >= 3, probe
    assert not probe["overflowing"], f"elements stick out of the card: {probe['overflowing']}"
    if name == "results":
        assert probe["cellAlign"] == "left"
        assert _rgba(probe["zebra"])[3] == 0, "JupyterLab's zebra rows leak into the results table"
    assert card_page.dialogs == [] and card_page.errors == []

    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"card-{name}-{theme}.png"
    card_page.locator(".shot").screenshot(path=str(path))
    assert path.stat().st_size > 3000
    if os.environ.get("DISTILABEL_NB_DOCS_IMAGES") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMG / path.name)


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)></table>\"'><svg onload=alert(3)>{{ 7*7 }}{% for x in y %}"


def test_hostile_text_runs_nothing_in_the_browser(card_page):
    from distilabel_nb import Task

    task = UltraFeedbackTask(system_prompt=HOSTILE, aspect=HOSTILE, task_description=HOSTILE)
    df = pd.DataFrame({"input": [HOSTILE], "generations": [[HOSTILE, HOSTILE]], "rating": [[1.0, 5.0]],
                       "rationale": [[HOSTILE, HOSTILE]], HOSTILE: [HOSTILE], "generation_error": [HOSTILE]})
    output = LLMOutput(HOSTILE, [{"role": "user", "content": HOSTILE}], HOSTILE, {"rating": [HOSTILE]}, error=HOSTILE)
    cards = [Prompt(HOSTILE, HOSTILE), task, LlamaCppLLM(task=task), output, show_results(df)]
    assert isinstance(task, Task)
    card_page.set_content(standalone_page("".join(c._repr_html_() for c in cards), "light"))
    assert card_page.evaluate("document.querySelectorAll('.dnb script, .dnb img, .dnb svg').length") == 0
    assert card_page.dialogs == [] and card_page.errors == []
    assert "<script>alert(1)</script>" in card_page.locator(".dnb").first.inner_text()


# -- in real JupyterLab ----------------------------------------------------------------------

LAB_CELLS = [
    "import pandas as pd\n"
    "from distilabel_nb import LlamaCppLLM, RunState, TextGenerationTask, UltraFeedbackTask\n"
    "from distilabel_nb.display import show_prompt, show_results",
    "UltraFeedbackTask()",
    "LlamaCppLLM(task=TextGenerationTask(), max_new_tokens=64, cache=False)",
    "show_prompt(TextGenerationTask().generate_prompt('Write a haiku about the sea.'), chosen='chatml')",
    "df = pd.DataFrame({'input': ['Name a prime number.', 'Say hi.'],\n"
    "                   'generations': [['7 is prime.', 'Nine.'], [None, None]],\n"
    "                   'generation_error': [None, 'request to the server timed out after 120s'],\n"
    "                   'rating': [[5.0, 1.0], None], 'rationale': [['Correct.', 'Nine is not prime.'], None],\n"
    "                   'labelling_error': [None, 'not labelled: the generation failed']})\n"
    "show_results(df)",
    "RunState(total_rows=40, has_generator=True, has_labeller=True, generated=27, labelled=19, done=19,\n"
    "         generation_failures=1, tokens=18342, status='running', elapsed=83.4)",
]

_LAB_PROBE = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .dnb-card')]
  .filter(card => !card.parentElement.closest('.dnb-card'))
  .map(card => {
    const s = el => el ? getComputedStyle(el) : null;
    const head = card.querySelector('.dnb-head'), title = card.querySelector('.dnb-title');
    const td = card.querySelector('.dnb-table td');
    let page = card; while (page && s(page).backgroundColor === 'rgba(0, 0, 0, 0)') page = page.parentElement;
    return {stripe: s(card).borderLeftWidth, titleColor: s(title).color, headBg: s(head).backgroundColor,
            bodyColor: s(card.querySelector('.dnb-body')).color, cardBg: s(card).backgroundColor,
            pageBg: page ? s(page).backgroundColor : 'rgb(255, 255, 255)',
            cellAlign: td ? s(td).textAlign : null, text: card.innerText.slice(0, 80)};
  })"""


def _check_lab_cards(page, theme: str) -> None:
    cards = page.evaluate(_LAB_PROBE)
    assert len(cards) == 5, cards
    for card in cards:
        assert card["stripe"] == "3px", f"card stylesheet not applied in JupyterLab: {card}"
        assert contrast(card["titleColor"], card["headBg"], card["pageBg"]) >= 7, (theme, card)
        assert contrast(card["bodyColor"], card["cardBg"], card["pageBg"]) >= 7, (theme, card)
    assert [c["cellAlign"] for c in cards if c["cellAlign"]] == ["left"], "JupyterLab's right-aligned cells won"
    outputs = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output:has(.dnb-card)")
    for index in range(outputs.count()):
        path = SHOTS / f"lab-card-{index + 1}-{theme}.png"
        outputs.nth(index).screenshot(path=str(path))
        assert path.stat().st_size > 3000


def test_cards_in_jupyterlab_light_and_dark(jupyter_server, browser_page, notebook_dir):
    import lab

    page = browser_page
    lab.open_notebook(page, jupyter_server, notebook_dir.write_notebook("cards.ipynb", LAB_CELLS))
    lab.close_left_sidebar(page)
    lab.run_all_cells(page)
    page.wait_for_function("document.querySelectorAll('.jp-OutputArea-output .dnb-card').length >= 5")
    SHOTS.mkdir(exist_ok=True)
    _check_lab_cards(page, "light")
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached")
    page.wait_for_function("getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim() === '#111'")
    _check_lab_cards(page, "dark")
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    assert page.console_errors == [] or all("dnb" not in e for e in page.console_errors)


def test_a_saved_notebook_reopened_shows_readable_cards(jupyter_server, browser_page, notebook_dir, samples):
    """Outputs saved in a file are untrusted when reopened: JupyterLab sanitizes them. The
    cards must still show their facts, and nothing from the data may run."""
    import lab
    import nbformat

    cell = nbformat.v4.new_code_cell("show_results(df)")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={
        "text/html": samples["results"]._repr_html_(), "text/plain": repr(samples["results"])}, execution_count=1)]
    cell.execution_count = 1
    page = browser_page
    lab.open_notebook(page, jupyter_server, notebook_dir.write_notebook("saved.ipynb", [cell]))
    output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output").first
    output.wait_for()
    text = output.inner_text()
    assert "Give me one tip for writing clearer emails." in text
    assert "generation_error" in text or "GENERATION_ERROR" in text
    assert page.evaluate("document.querySelectorAll('.jp-OutputArea-output script').length") == 0
    SHOTS.mkdir(exist_ok=True)
    output.screenshot(path=str(SHOTS / "lab-untrusted-results.png"))
