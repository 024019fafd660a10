"""The architecture rules of ARCHITECTURE.md, checked on the package's source.

The source is read with ``ast``; the package is never imported, so a check sees the
imports as written, whatever has been imported already. What is checked:

* the core (everything outside ``display/`` and ``widgets/``) imports neither front at
  module level;
* ``display/`` and ``widgets/`` import the core at module top, never inside a function;
* no import cycle among the imports that run when a module is imported;
* no module over 450 lines;
* no HTML tag written in a string outside ``display/``;
* ARCHITECTURE.md names every module, and its map names no module that is gone.

"Runs when the module is imported" means: at module level, in a class body, in a
``try`` or an ``if`` there, but not inside a function and not under ``if TYPE_CHECKING:``.
Importing ``a.b.c`` runs the ``__init__`` of ``a.b`` too, so that counts as an edge.
Imports done through ``importlib.import_module`` with a computed name are not seen.

Each rule is first shown to catch its problem on a small package written to ``tmp_path``;
then it runs on the real package.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "distilabel_nb"
FRONTS = ("display", "widgets")
MAX_LINES = 450
HTML_TAGS = (
    "div span table thead tbody tfoot tr td th caption colgroup col style script p br hr b i em strong small "
    "code pre ul ol li dl dt dd a img svg details summary button label input select option textarea form "
    "h1 h2 h3 h4 h5 h6 section sup sub meter progress kbd mark abbr iframe"
).split()
# "<s>" is left out on purpose: it is the llama2 prompt's begin-of-sequence token, not markup.
_TAG = re.compile(r"<\s*/?\s*(?:%s)(?=[\s/>]|$)" % "|".join(HTML_TAGS), re.IGNORECASE)


@dataclass(frozen=True)
class Import:
    """One import of a package module: what it imports, where, and when it runs."""

    target: str
    line: int
    when: str  # "module" (on import), "function" (when called) or "typing" (never)


@dataclass
class Module:
    name: str  # dotted: distilabel_nb.llms.base
    path: Path  # relative to the package folder: llms/base.py
    text: str
    tree: ast.Module
    imports: list[Import] = field(default_factory=list)

    @property
    def is_front(self) -> bool:
        parts = self.name.split(".")
        return len(parts) > 1 and parts[1] in FRONTS

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


# -- reading a package -----------------------------------------------------------------------

def load_package(root: Path, package: str = PACKAGE) -> dict[str, Module]:
    """Every module of ``root/package``, keyed by dotted name, with its imports resolved."""
    folder = root / package
    modules = {}
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        parts = [package, *relative.with_suffix("").parts]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        text = path.read_text(encoding="utf-8")
        modules[name] = Module(name, relative, text, ast.parse(text, filename=str(path)))
    exports = _lazy_exports(modules.get(package))
    for module in modules.values():
        module.imports = [
            Import(target, node.lineno, when)
            for node, when in _imports_in(module.tree.body, "module")
            for target in _targets(node, module, modules, exports)
        ]
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports_in(nodes: Iterable[ast.AST], when: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement under ``nodes``, with when it runs."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, when
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports_in(ast.iter_child_nodes(node), "function")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports_in(node.body, "typing" if when == "module" else when)
            yield from _imports_in(node.orelse, when)
        else:
            yield from _imports_in(ast.iter_child_nodes(node), when)


def _lazy_exports(init: Module | None) -> dict[str, str]:
    """The root ``__init__``'s ``_EXPORTS`` (name -> module): ``from distilabel_nb import Pipeline`` imports one."""
    for node in init.tree.body if init else []:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _targets(node, module: Module, modules: dict[str, Module], exports: dict[str, str]) -> list[str]:
    """The package modules an import statement loads (outside the package: none)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.name.split(".")
            anchor = anchor if module.is_package else anchor[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        names = []
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:
                names.append(f"{base}.{alias.name}")
            elif base == PACKAGE and alias.name in exports:
                names.append(exports[alias.name])
            else:
                names.append(base)
    found = []
    for name in names:
        while name and name not in modules:  # "import a.b.Thing" style: the nearest module
            name = name.rpartition(".")[0]
        if name and name not in found:
            found.append(name)
    return found


# -- the rules -------------------------------------------------------------------------------

def core_imports_front(modules: dict[str, Module]) -> list[str]:
    return [
        f"{m.path}:{i.line}: the core module {m.name} imports {i.target} at module level. The core must "
        "import without display/ or widgets/: take _repr_html_ from the HTMLRepr mixin "
        "(distilabel_nb/rich_repr.py), which imports display only when called, or move the code to display/."
        for m in modules.values() if not m.is_front
        for i in m.imports if i.when == "module" and modules[i.target].is_front
    ]


def front_imports_core_lazily(modules: dict[str, Module]) -> list[str]:
    return [
        f"{m.path}:{i.line}: {m.name} imports the core module {i.target} inside a function. Fronts import "
        "the core at the top of the module; a lazy import here hides a cycle: remove the core's "
        "module-level import of display/ or widgets/ that made it necessary."
        for m in modules.values() if m.is_front
        for i in m.imports if i.when == "function" and not modules[i.target].is_front
    ]


def import_graph(modules: dict[str, Module]) -> dict[str, dict[str, int]]:
    """module -> {module it loads on import: line of the import}, packages' ``__init__`` included."""
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for m in modules.values():
        for i in m.imports:
            if i.when != "module":
                continue
            parts = i.target.split(".")
            for depth in range(2, len(parts) + 1):  # a.b.c also runs a.b's __init__ (a's is the root)
                loaded = ".".join(parts[:depth])
                if loaded in modules and loaded != m.name and not m.name.startswith(loaded + "."):
                    graph[m.name].setdefault(loaded, i.line)
    return graph


def _strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _shortest_cycle(graph: dict[str, dict[str, int]], start: str, within: set[str]) -> list[str]:
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph[path[-1]]):
            if w == start:
                return path + [start]
            if w in within and w not in seen:
                seen.add(w)
                paths.append(path + [w])
    return [start]


def import_cycles(modules: dict[str, Module]) -> list[str]:
    graph = import_graph(modules)
    problems = []
    for group in _strongly_connected(graph):
        cycle = _shortest_cycle(graph, group[0], set(group))
        steps = "; ".join(f"{modules[a].path}:{graph[a][b]} {a} loads {b}" for a, b in zip(cycle, cycle[1:]))
        problems.append(
            f"import cycle among {len(group)} modules ({', '.join(group)}), for example: {steps}. "
            "Break it where the core imports a front, or move the shared piece to a module both can import."
        )
    return problems


def long_modules(modules: dict[str, Module]) -> list[str]:
    return [
        f"{m.path}: {len(m.text.splitlines())} lines (most allowed: {MAX_LINES}; aim for under 400). "
        "Split it along its concerns and add the new modules to ARCHITECTURE.md."
        for m in modules.values() if len(m.text.splitlines()) > MAX_LINES
    ]


def _docstrings(tree: ast.Module) -> set[int]:
    return {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }


def html_outside_display(modules: dict[str, Module]) -> list[str]:
    problems = []
    for m in modules.values():
        if m.name.split(".")[1:2] == ["display"]:
            continue
        docstrings = _docstrings(m.tree)
        hits = {
            node.lineno: _TAG.search(node.value).group(0) for node in ast.walk(m.tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and _TAG.search(node.value)
        }
        if hits:
            lines = sorted(hits)
            shown = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
            problems.append(
                f"{m.path}: builds HTML outside display/ (tags such as {hits[lines[0]]!r} on {len(lines)} "
                f"line(s): {shown}). Move the markup into display/, where every value is escaped in one "
                "place, and call it from here."
            )
    return problems


def map_section(architecture: str) -> str:
    match = re.search(r"^## Module map\s*$(.*?)(?=^## |\Z)", architecture, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def map_entries(architecture: str) -> list[str]:
    """The first cell of each row of the module map's table: ``llms/base.py``, ``llms/`` for a package."""
    return re.findall(r"^\|\s*`(?:%s/)?([^`]+)`\s*\|" % PACKAGE, map_section(architecture), re.MULTILINE)


def _spellings(module: Module) -> set[str]:
    spellings = {module.path.as_posix()}
    if module.is_package and module.path.parent.parts:
        spellings.add(module.path.parent.as_posix() + "/")
    return spellings


def unmapped_modules(modules: dict[str, Module], architecture: str) -> list[str]:
    entries = set(map_entries(architecture))
    return [
        f"ARCHITECTURE.md does not name {m.path} ({m.name}). Add one row for it to the module map: "
        f"| `{m.path.as_posix()}` | what it is for |"
        for m in modules.values() if not _spellings(m) & entries
    ]


def stale_map_entries(modules: dict[str, Module], architecture: str) -> list[str]:
    known = set().union(*(_spellings(m) for m in modules.values()))
    return [
        f"ARCHITECTURE.md's module map names `{entry}`, which is not in {PACKAGE}/: update or remove that row."
        for entry in dict.fromkeys(map_entries(architecture)) if entry not in known
    ]


# -- each rule catches its problem -----------------------------------------------------------

def write_package(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for relative, text in files.items():
        path = root / PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_package(root)


CLEAN = {
    "__init__.py": '_EXPORTS = {"Prompt": "distilabel_nb.prompt"}\n',
    "rich_repr.py": (
        "class HTMLRepr:\n    def _repr_html_(self):\n"
        "        from distilabel_nb.display.cards import card  # when called: allowed\n        return card(self)\n"
    ),
    "prompt.py": (
        '"""A prompt; its card looks like <div class="card">…</div> (a docstring: not markup)."""\n'
        "from typing import TYPE_CHECKING\n"
        "from distilabel_nb.rich_repr import HTMLRepr\n"
        "if TYPE_CHECKING:\n    from distilabel_nb.display.cards import card  # never runs\n"
        'LLAMA2 = "<s>[INST] <<SYS>>\\n{system}<</SYS>>"  # a model token, not a tag\n'
        "class Prompt(HTMLRepr):\n    pass\n"
    ),
    "display/__init__.py": "from distilabel_nb.display.cards import card\n",
    "display/cards.py": (
        "from distilabel_nb.prompt import Prompt\n"
        "def card(obj):\n    return f'<div class=\"card\">{obj}</div>'\n"
    ),
    "widgets/__init__.py": "",
    "widgets/panel.py": "from distilabel_nb import Prompt\nfrom distilabel_nb.display import card\n",
}
CLEAN_MAP = """# Architecture

## Module map

| module | what |
|---|---|
| `__init__.py` | exports |
| `rich_repr.py` | the mixin |
| `prompt.py` | prompts |
| `display/` | cards |
| `display/cards.py` | cards |
| `widgets/` | widgets |
| `widgets/panel.py` | the panel |

## Rules
The mixin lives in `rich_repr.py`; `schema.py` is planned.
"""


def test_a_clean_package_passes_every_rule(tmp_path):
    modules = write_package(tmp_path, CLEAN)
    assert {i.target for i in modules["distilabel_nb.widgets.panel"].imports} == {
        "distilabel_nb.prompt", "distilabel_nb.display"}  # the lazy export is followed
    for rule in (core_imports_front, front_imports_core_lazily, import_cycles, long_modules, html_outside_display):
        assert rule(modules) == [], rule.__name__
    assert unmapped_modules(modules, CLEAN_MAP) == [] and stale_map_entries(modules, CLEAN_MAP) == []


@pytest.mark.parametrize("source", [
    "from distilabel_nb.display.cards import card\n",
    "from .display import cards\n",
    "import distilabel_nb.widgets.panel\n",
    "try:\n    from distilabel_nb.display import card\nexcept ImportError:\n    card = None\n",
    "class A:\n    from distilabel_nb.widgets import panel\n",
])
def test_core_importing_a_front_at_module_level_is_caught(tmp_path, source):
    modules = write_package(tmp_path, {**CLEAN, "prompt.py": "x = 1\n" + source})
    line = 1 + next(n for n, text in enumerate(source.splitlines(), 1) if "import" in text)
    problems = core_imports_front(modules)
    assert len(problems) == 1 and problems[0].startswith(f"prompt.py:{line}: the core module distilabel_nb.prompt imports")


@pytest.mark.parametrize("source", [
    "def card(obj):\n    from distilabel_nb.prompt import Prompt\n",
    "class Card:\n    def render(self):\n        from ..prompt import Prompt\n",
    "def card(obj):\n    import distilabel_nb.prompt\n",
])
def test_a_front_importing_the_core_inside_a_function_is_caught(tmp_path, source):
    modules = write_package(tmp_path, {**CLEAN, "display/cards.py": source})
    problems = front_imports_core_lazily(modules)
    assert len(problems) == 1 and "display/cards.py:" in problems[0]
    assert "imports the core module distilabel_nb.prompt inside a function" in problems[0]


def test_an_import_cycle_is_caught_with_its_path(tmp_path):
    modules = write_package(tmp_path, {**CLEAN, "prompt.py": "from distilabel_nb.display.cards import card\n"})
    (problem,) = import_cycles(modules)
    assert "import cycle among 3 modules (distilabel_nb.display, distilabel_nb.display.cards, distilabel_nb.prompt)" in problem
    assert ("display/__init__.py:1 distilabel_nb.display loads distilabel_nb.display.cards; "
            "display/cards.py:1 distilabel_nb.display.cards loads distilabel_nb.prompt; "
            "prompt.py:1 distilabel_nb.prompt loads distilabel_nb.display.") in problem


def test_a_cycle_through_a_package_init_is_caught(tmp_path):
    modules = write_package(tmp_path, {
        "__init__.py": "",
        "tasks/__init__.py": "from distilabel_nb.tasks.judge import Judge\n",
        "tasks/base.py": "",
        "tasks/judge.py": "from distilabel_nb.llms.base import LLM\n",
        "llms/__init__.py": "",
        "llms/base.py": "from distilabel_nb.tasks.base import Task\n",  # runs tasks/__init__ first
    })
    (problem,) = import_cycles(modules)
    assert "(distilabel_nb.llms.base, distilabel_nb.tasks, distilabel_nb.tasks.judge)" in problem


def test_imports_that_do_not_run_on_import_make_no_cycle(tmp_path):
    modules = write_package(tmp_path, {
        "__init__.py": "",
        "a.py": "from distilabel_nb.b import B\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from distilabel_nb.a import A\n"
                "def f():\n    from distilabel_nb.a import A\n",
    })
    assert import_cycles(modules) == []
    modules = write_package(tmp_path, {"b.py": "from distilabel_nb import a\n"})
    assert len(import_cycles(modules)) == 1


def test_a_long_module_is_caught(tmp_path):
    modules = write_package(tmp_path, {**CLEAN, "ok.py": "x = 1\n" * MAX_LINES, "big.py": "x = 1\n" * (MAX_LINES + 1)})
    (problem,) = long_modules(modules)
    assert problem.startswith(f"big.py: {MAX_LINES + 1} lines")


@pytest.mark.parametrize("source", [
    "def row(x):\n    return f'<td class=\"n\">{x}</td>'\n",
    "STYLE = '''\n<style>.a { color: red }</style>'''\n",
    "def end():\n    return '</DIV>'\n",
])
def test_html_outside_display_is_caught(tmp_path, source):
    modules = write_package(tmp_path, {**CLEAN, "widgets/views.py": source})
    (problem,) = html_outside_display(modules)
    assert problem.startswith("widgets/views.py: builds HTML outside display/ (tags such as ") and " on 1 line(s): " in problem


def test_a_module_missing_from_the_map_is_caught(tmp_path):
    extra = {"llms/__init__.py": "", "llms/base.py": "", "tasks/__init__.py": "", "tasks/base.py": ""}
    modules = write_package(tmp_path, {**CLEAN, **extra})
    rows = "| `llms/` | backends |\n| `llms/base.py` | the base |\n"
    text = CLEAN_MAP.replace("| `prompt.py` | prompts |\n", "| `prompt.py` | prompts |\n" + rows)
    assert sorted(unmapped_modules(modules, text)) == [
        "ARCHITECTURE.md does not name tasks/__init__.py (distilabel_nb.tasks). Add one row for it to the "
        "module map: | `tasks/__init__.py` | what it is for |",
        "ARCHITECTURE.md does not name tasks/base.py (distilabel_nb.tasks.base). Add one row for it to the "
        "module map: | `tasks/base.py` | what it is for |",
    ]
    assert len(unmapped_modules(modules, text.replace("`llms/base.py`", "`base.py`"))) == 3  # a bare name is not enough


def test_a_module_named_only_outside_the_map_is_caught(tmp_path):
    modules = write_package(tmp_path, {**CLEAN, "schema.py": ""})  # CLEAN_MAP names it in its rules only
    (problem,) = unmapped_modules(modules, CLEAN_MAP)
    assert problem.startswith("ARCHITECTURE.md does not name schema.py (distilabel_nb.schema).")


def test_a_map_line_for_a_module_that_is_gone_is_caught(tmp_path):
    modules = write_package(tmp_path, CLEAN)
    text = CLEAN_MAP.replace("| `prompt.py` | prompts |", "| `prompt.py` | prompts |\n| `stub_server.py` | moved |")
    assert stale_map_entries(modules, text) == [
        "ARCHITECTURE.md's module map names `stub_server.py`, which is not in distilabel_nb/: update or remove that row."]
    assert map_entries("no map here") == [] and len(unmapped_modules(modules, "no map here")) == len(modules)


# -- the real package ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def package() -> dict[str, Module]:
    modules = load_package(ROOT)
    assert {"distilabel_nb.pipeline", "distilabel_nb.display.html", "distilabel_nb.llms.base"} <= set(modules)
    return modules


def _architecture() -> str:
    return (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


RULES = {
    "the core does not import display or widgets at module level": core_imports_front,
    "display and widgets import the core at module top": front_imports_core_lazily,
    "no import cycles": import_cycles,
    "no module over 450 lines": long_modules,
    "no HTML built outside display": html_outside_display,
    "ARCHITECTURE.md names every module": lambda modules: unmapped_modules(modules, _architecture()),
    "ARCHITECTURE.md's map names no missing module": lambda modules: stale_map_entries(modules, _architecture()),
}


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_the_package_keeps_the_rule(package, rule):
    problems = rule(package)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_architecture_md_has_a_module_map():
    assert len(map_entries(_architecture())) > 30, "ARCHITECTURE.md has no '## Module map' table"
