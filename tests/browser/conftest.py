"""Browser test harness: real JupyterLab in headless Chromium via Playwright.

Fixtures
--------
``jupyter_server`` (session)
    A JupyterLab server (``sys.executable -m jupyter lab``) on 127.0.0.1 and
    a free port, rooted at the repository root, with isolated config,
    settings, workspaces, runtime and IPython dirs, no news/update checks and
    ``window.jupyterapp`` exposed.  Yields a :class:`JupyterServer` with
    ``base_url`` (ends with ``/``), ``token``, ``root_dir``, ``log_path``,
    ``url(path)``, ``relpath(path)``, ``api(method, path, body=None)``,
    ``shutdown_all_kernels()`` and ``log_tail()``.
``chromium_browser`` (session)
    Playwright ``Browser`` on the Debian ``/usr/bin/chromium`` (override with
    ``DISTILABEL_NB_CHROMIUM``), headless, flags in ``CHROMIUM_ARGS``.
``browser_context`` / ``browser_page`` (function)
    A fresh incognito-like context (1400x900 viewport) and a page in it,
    default timeout 60 s, JS dialogs accepted, console errors collected in
    ``page.console_errors``.  Teardown closes the context and shuts down every
    kernel on the server so tests do not leak kernels.
``notebook_dir`` (function)
    A :class:`NotebookDir` under ``<root>/tests/browser/_work/`` (removed
    afterwards) with ``path``, ``relpath`` and
    ``write_notebook(name, cells, kernelspec=True) -> Path``.

Helpers to drive the page live in ``lab.py`` (this directory is put on
``sys.path``, so tests simply ``import lab``)::

    import lab

    def test_panel(jupyter_server, browser_page, notebook_dir):
        nb = notebook_dir.write_notebook("p.ipynb", ["from distilabel_nb import ...", "panel"])
        lab.open_notebook(browser_page, jupyter_server, nb)
        lab.run_all_cells(browser_page)          # raises KernelError on tracebacks
        browser_page.locator(".jp-OutputArea .widget-button").first.click()
        lab.screenshot(browser_page, "panel-after-click")

On a failing test the page is screenshotted to
``tests/browser/screenshots/FAILED-<test>.png`` and the browser console errors
and the tail of the server log are attached to the report.

Skipping: the whole directory is skipped only when
``DISTILABEL_NB_SKIP_BROWSER=1``.  Otherwise a missing Playwright, Chromium or
JupyterLab is a hard failure (never a silent skip), so CI cannot go green
without really running the browser.  ``tests/browser/install_chromium.sh``
installs Chromium.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import lab  # noqa: E402  (needs HERE on sys.path)

SKIP_ENV = "DISTILABEL_NB_SKIP_BROWSER"
CHROMIUM_ENV = "DISTILABEL_NB_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_TIMEOUT_S = 120
WORK_DIR = HERE / "_work"

_HOW_TO_SKIP = f"(set {SKIP_ENV}=1 to skip the browser suite on purpose)"


def _skip_requested() -> bool:
    return os.environ.get(SKIP_ENV, "").strip() == "1"


# --------------------------------------------------------------------------
# pytest hooks
# --------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives real JupyterLab in headless Chromium (tests/browser)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=f"browser tests disabled by {SKIP_ENV}=1")
    for item in items:
        try:
            Path(str(item.path)).resolve().relative_to(HERE)
        except ValueError:
            continue
        item.add_marker(pytest.mark.browser)
        if _skip_requested():
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.passed or report.skipped or call.when == "teardown":
        return
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("browser_page")
    if page is not None:
        try:
            path = lab.screenshot(page, f"FAILED-{item.name}")
            report.sections.append(("browser screenshot", str(path)))
        except Exception as exc:  # page may be gone
            report.sections.append(("browser screenshot", f"could not take screenshot: {exc}"))
        errors = getattr(page, "console_errors", None)
        if errors:
            report.sections.append(("browser console errors", "\n".join(errors[-50:])))
    server = funcargs.get("jupyter_server")
    if server is not None:
        report.sections.append((f"jupyter server log ({server.log_path})", server.log_tail()))


# --------------------------------------------------------------------------
# Jupyter server
# --------------------------------------------------------------------------

def _require_module(name: str, pip_name: str | None = None) -> None:
    import importlib.util

    if importlib.util.find_spec(name) is None:
        pytest.fail(
            f"browser tests need the Python package {pip_name or name!r} in {sys.executable} "
            f"(pip install {pip_name or name}) {_HOW_TO_SKIP}", pytrace=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class JupyterServer:
    base_url: str
    token: str
    root_dir: Path
    log_path: Path
    home: Path
    proc: subprocess.Popen = field(repr=False)

    def url(self, path: str = "") -> str:
        """Absolute URL for ``path`` (relative to the server base), with token."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}token={self.token}"

    def relpath(self, path: str | Path) -> str:
        """Path relative to the server root in URL (posix) form."""
        p = Path(path)
        if p.is_absolute():
            p = p.resolve().relative_to(self.root_dir)
        return p.as_posix()

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}{path.lstrip('/')}", data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def shutdown_all_kernels(self) -> None:
        """Delete every session and kernel (used between tests)."""
        if self.proc.poll() is not None:
            return
        for sess in self.api("GET", "api/sessions") or []:
            try:
                self.api("DELETE", f"api/sessions/{sess['id']}")
            except urllib.error.HTTPError:
                pass
        for kernel in self.api("GET", "api/kernels") or []:
            try:
                self.api("DELETE", f"api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass

    def log_tail(self, max_chars: int = 8000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return text[-max_chars:]


def _write_isolated_config(home: Path) -> dict[str, str]:
    """Create config/settings dirs so no user state leaks in; return env."""
    dirs = {name: home / name for name in
            ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {
            "allow_root": True,
            "open_browser": False,
            "port_retries": 0,
            "terminals_enabled": False,
        },
        "LabApp": {
            # no announcements / news popup, no update check
            "news_url": None,
            "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
            # no PyPI queries from the extension manager
            "extension_manager": "readonly",
            # read-only access to notebook models for lab.notebook_errors()
            "expose_app_in_browser": True,
        },
    }, indent=1))
    # no "Build recommended" dialog
    (dirs["config"] / "labconfig").mkdir(exist_ok=True)
    (dirs["config"] / "labconfig" / "page_config.json").write_text(
        json.dumps({"buildCheck": False, "buildAvailable": False}))

    def setting(plugin: str, values: dict) -> None:
        pkg, name = plugin.rsplit(":", 1)
        target = dirs["settings"] / pkg / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))

    setting("@jupyterlab/apputils-extension:notification",
            {"checkForUpdates": False, "fetchNews": "false"})
    # hidden dock tabs get display:none (lab.py relies on it to find the
    # active notebook); this is the default, pinned against future changes
    setting("@jupyterlab/application-extension:shell", {"hiddenMode": "display"})
    # keep every cell in the DOM (no virtual scrolling of off-screen cells)
    setting("@jupyterlab/notebook-extension:tracker", {"windowingMode": "none"})

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER_", "JUPYTERLAB_", "JPY_"))}
    env.update({
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(dirs["ipython"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONUNBUFFERED": "1",
        # the kernel (spawned with sys.executable) can import the project
        # even when it is not installed
        "PYTHONPATH": os.pathsep.join(
            [str(REPO_ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    })
    return env


def _stop_process_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    for mod, pip_name in (("jupyterlab", None), ("ipykernel", None),
                          ("ipywidgets", None), ("nbformat", None)):
        _require_module(mod, pip_name)

    home = tmp_path_factory.mktemp("jupyter")
    env = _write_isolated_config(home)
    port = _free_port()
    token = secrets.token_hex(24)
    log_path = home / "server.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO_ROOT}",
    ]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    server = JupyterServer(base_url=f"http://127.0.0.1:{port}/", token=token,
                           root_dir=REPO_ROOT.resolve(), log_path=log_path, home=home,
                           proc=proc)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        status_url = f"{server.base_url}api/status?token={token}"
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with code {proc.returncode} during start-up.\n"
                            f"command: {' '.join(cmd)}\nlog ({log_path}):\n{server.log_tail()}",
                            pytrace=False)
            try:
                with urllib.request.urlopen(status_url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer {status_url} within "
                            f"{SERVER_START_TIMEOUT_S}s.\nlog:\n{server.log_tail()}",
                            pytrace=False)
            time.sleep(0.2)  # polling an HTTP endpoint; no DOM to wait on yet
        yield server
        if proc.poll() is not None:
            print(f"\njupyter lab died during the tests (code {proc.returncode}); log:\n"
                  f"{server.log_tail()}", file=sys.stderr)
    finally:
        try:
            server.shutdown_all_kernels()
        except Exception:
            pass
        _stop_process_group(proc)
        log.close()


# --------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def _playwright() -> Iterator[Any]:
    """Playwright for one test module.

    Its sync API runs an asyncio loop that stays registered as the main thread's running
    loop until ``stop()``; a session-wide instance would make every later test that calls
    ``asyncio.run()`` (as a notebook cell's loop would) fail.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright is not importable in {sys.executable} ({exc}); "
                    f"pip install playwright {_HOW_TO_SKIP}", pytrace=False)
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def chromium_browser(_playwright: Any) -> Iterator[Any]:
    exe = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        pytest.fail(f"Chromium not found at {exe}: run `bash tests/browser/install_chromium.sh` "
                    f"(Debian packages chromium + chromium-driver) or point {CHROMIUM_ENV} at a "
                    f"Chromium binary {_HOW_TO_SKIP}", pytrace=False)
    browser = _playwright.chromium.launch(executable_path=exe, headless=True,
                                          args=CHROMIUM_ARGS, timeout=60_000)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def browser_context(chromium_browser: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(60_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def browser_page(browser_context: Any, jupyter_server: JupyterServer) -> Iterator[Any]:
    page = browser_context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            page.console_errors.append(msg.text)  # type: ignore[attr-defined]

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
    # "Leave site?" on navigation away from a dirty notebook: just leave.
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield page
    finally:
        try:
            page.close()
        finally:
            jupyter_server.shutdown_all_kernels()


# --------------------------------------------------------------------------
# Notebooks on disk
# --------------------------------------------------------------------------

@dataclass
class NotebookDir:
    path: Path
    server_root: Path

    @property
    def relpath(self) -> str:
        return self.path.relative_to(self.server_root).as_posix()

    def write_notebook(self, name: str, cells: list[Any], *, kernelspec: bool = True) -> Path:
        """Write ``name`` with ``cells`` (str = code cell, or nbformat cell
        objects); ``kernelspec=False`` leaves out the kernelspec metadata so
        JupyterLab asks which kernel to use."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) if isinstance(c, str) else c for c in cells]
        if kernelspec:
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                         "language": "python"}
            nb.metadata["language_info"] = {"name": "python"}
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
        return target


@pytest.fixture
def notebook_dir(request: pytest.FixtureRequest, jupyter_server: JupyterServer) -> Iterator[NotebookDir]:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in request.node.name)[:60]
    path = WORK_DIR / f"{safe}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    try:
        yield NotebookDir(path=path, server_root=jupyter_server.root_dir)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        try:
            WORK_DIR.rmdir()  # only if empty
        except OSError:
            pass
