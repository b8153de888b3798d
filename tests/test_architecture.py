"""The import contract of docs/architecture.md, checked on the source (AST, nothing imported).

Layers, lowest first: the basics at the top of the package (errors, paths, i18n, metrics, records,
runfolder, texttable) < predict < measure < report < orchestrate < commands (and the CLI). A module
imports only from its own layer or below, there are no import cycles between modules, and an rklab
import inside a function body is rare (under 20) and says why in a comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rklab"
LAYERS = ("basics", "predict", "measure", "report", "orchestrate", "commands")
MAX_FUNCTION_IMPORTS = 20


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module in ("rklab.cli", "rklab.__main__") or parts[1:2] == ["commands"]:
        return "commands"
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS):
        return parts[1]
    return "basics"


def _resolve(name: str) -> str | None:
    """The rklab module an imported name lives in (``rklab.report.summary.vlm_stages`` -> ``rklab.report.summary``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


class Import:
    def __init__(self, module: str, node: ast.stmt, targets: set[str], in_function: bool, source: list[str]):
        self.module, self.node, self.targets, self.in_function = module, node, targets, in_function
        self.line = node.lineno
        self.source = source

    def where(self) -> str:
        return f"{MODULES[self.module].relative_to(ROOT)}:{self.line}"

    def has_reason(self) -> bool:
        """A comment on the import line or on the line just above it."""
        this = self.source[self.line - 1]
        above = self.source[self.line - 2].strip() if self.line >= 2 else ""
        return "#" in this or above.startswith("#")


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        source = text.splitlines()
        in_function = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_function.update(id(sub) for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            targets = {_resolve(n) for n in names if n.split(".")[0] == "rklab"} - {None, module}
            # "from rklab.x import name": the package rklab.x itself only when no name is a submodule of it
            if isinstance(node, ast.ImportFrom):
                subs = {_resolve(f"{node.module}.{a.name}") for a in node.names}
                if subs != {_resolve(node.module)}:
                    targets.discard(_resolve(node.module))
            if targets:
                found.append(Import(module, node, targets, id(node) in in_function, source))
    return found


IMPORTS = _imports()


def test_the_package_is_where_the_test_looks():
    assert {"rklab.runfolder", "rklab.report.build", "rklab.orchestrate.notebooks", "rklab.measure.session"} <= set(MODULES)
    assert len(IMPORTS) > 100  # the walk found the imports (a test that checks nothing must fail)


@pytest.mark.parametrize("module", ["rklab.predict.feasibility", "rklab.measure.session", "rklab.report.load",
                                    "rklab.orchestrate.sweep", "rklab.commands.bench", "rklab.runfolder"])
def test_layer_of(module):
    expected = {"rklab.predict.feasibility": "predict", "rklab.measure.session": "measure",
                "rklab.report.load": "report", "rklab.orchestrate.sweep": "orchestrate",
                "rklab.commands.bench": "commands", "rklab.runfolder": "basics"}[module]
    assert layer_of(module) == expected


def test_no_module_imports_from_a_layer_above_it():
    bad = []
    for imp in IMPORTS:
        mine = LAYERS.index(layer_of(imp.module))
        for target in imp.targets:
            if LAYERS.index(layer_of(target)) > mine:
                bad.append(f"{imp.where()}: {layer_of(imp.module)} {imp.module} imports {layer_of(target)} {target}")
    assert not bad, "imports from a higher layer:\n" + "\n".join(bad)


def test_no_import_cycles():
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        edges[imp.module] |= imp.targets
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles (top-level and function-level imports): {cycles}"


def test_imports_inside_functions_are_few_and_say_why():
    inner = [imp for imp in IMPORTS if imp.in_function]
    assert len(inner) < MAX_FUNCTION_IMPORTS, "\n".join(imp.where() for imp in inner)
    silent = [imp.where() for imp in inner if not imp.has_reason()]
    assert not silent, "rklab imports inside a function without a comment saying why:\n" + "\n".join(silent)


def test_no_importorskip_on_rklab_modules():
    """An import error in rklab must fail the suite, not skip tests."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "importorskip" and node.args
                    and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("rklab")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
