"""The shape of the frostserver package, read from its source: no import cycle, no private name used
across modules, no Settings built at import time.

Everything here reads the modules' ASTs; nothing is imported but in the subprocesses at the end.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "services" / "app"
PACKAGE = APP / "frostserver"
ROOT = "frostserver"
# Calls that build the configuration: none may run when a module is imported.
SETTINGS_BUILDERS = {"Settings", "load_settings", "resolve"}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. frostserver.history.packed
    path: Path
    is_package: bool
    tree: ast.Module


def modules() -> dict[str, Module]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(APP).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        found[name] = Module(name, path, is_package, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


MODULES = modules()


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """Return the ids of the nodes under `if TYPE_CHECKING:`, which never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def imported_from(module: Module, node: ast.ImportFrom) -> str:
    """Resolve the module an ImportFrom names, relative ones included."""
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base.pop()
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: Module) -> set[str]:
    """Return the package's modules this module imports when it runs, at module or function level.

    `if TYPE_CHECKING:` imports are left out: they never run. Importing a.b.c runs a and a.b first,
    so those count too, except the module's own parent packages, which are already being imported
    when it runs (a package's __init__ importing its own submodules is no cycle).
    """
    skipped = type_checking_nodes(module.tree)
    named: set[str] = set()
    for node in ast.walk(module.tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names if alias.name.split(".")[0] == ROOT)
        elif isinstance(node, ast.ImportFrom):
            target = imported_from(module, node)
            if target.split(".")[0] != ROOT:
                continue
            submodules = {f"{target}.{alias.name}" for alias in node.names} & MODULES.keys()
            named.update(submodules)
            if len(submodules) < len(node.names):
                named.add(target)  # a name defined in the target module itself
    edges = set()
    for name in named:
        parts = name.split(".")
        for size in range(1, len(parts) + 1):
            prefix = ".".join(parts[:size])
            is_own_parent = module.name.startswith(prefix + ".") and prefix != name
            if prefix in MODULES and prefix != module.name and not is_own_parent:
                edges.add(prefix)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_has_no_import_cycle():
    graph = {name: imports_of(module) for name, module in MODULES.items()}

    cycle = find_cycle(graph)

    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_what_it_looks_for():
    # The check above must be able to fail: a graph with a cycle through a package's __init__.
    graph = {"a": {"a.b"}, "a.b": {"c"}, "c": {"a"}, "d": set()}

    assert find_cycle(graph) == ["a", "a.b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(module: Module) -> list[str]:
    """Return each use of another module's private name: imported by name, or reached as an attribute."""
    uses = []
    foreign: set[str] = set()  # local names bound to another module of the package, or to one of its names
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    foreign.add(alias.asname or alias.name.split(".")[0])
                    uses += [f"import {alias.name}" for part in alias.name.split(".") if private(part)]
        elif isinstance(node, ast.ImportFrom) and imported_from(module, node).split(".")[0] == ROOT:
            for alias in node.names:
                foreign.add(alias.asname or alias.name)
                if private(alias.name):
                    uses.append(f"from {imported_from(module, node)} import {alias.name} (line {node.lineno})")
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in foreign:
                uses.append(f"{ast.unparse(node)} (line {node.lineno})")
    return uses


def test_no_module_uses_a_private_name_of_another():
    # A private name is one module's own business; what another module needs is public API.
    # (Statically, a name bound by an import is all that can be followed: `obj._x` on an object
    # built elsewhere is not seen here.)
    found = {name: uses for name, module in MODULES.items() if (uses := private_uses(module))}

    assert not found, f"private names used across modules: {found}"


def test_the_private_name_check_sees_both_ways_in():
    source = "from ..config.validate import _show\nfrom . import attributes as attrs\nattrs._units\nself._mine\n"
    module = Module("frostserver.hwmon.x", Path("x.py"), False, ast.parse(source))

    assert private_uses(module) == [
        "from frostserver.config.validate import _show (line 1)",
        "attrs._units (line 3)",
    ]


def calls_at_import(tree: ast.Module) -> list[str]:
    """Return the calls to SETTINGS_BUILDERS that run when the module is imported."""
    found: list[str] = []

    class AtImport(ast.NodeVisitor):
        def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
            # A function's body runs when called; its decorators and defaults run at import.
            for part in (*node.decorator_list, *node.args.defaults, *node.args.kw_defaults):
                if part is not None:
                    self.visit(part)

        visit_AsyncFunctionDef = visit_FunctionDef

        def visit_Lambda(self, node: ast.Lambda) -> None:
            for part in (*node.args.defaults, *node.args.kw_defaults):
                if part is not None:
                    self.visit(part)

        def visit_Call(self, node: ast.Call) -> None:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in SETTINGS_BUILDERS:
                found.append(f"{ast.unparse(node)} (line {node.lineno})")
            self.generic_visit(node)

    AtImport().visit(tree)
    return found


def test_nothing_builds_settings_at_import_time():
    found = {name: calls for name, module in MODULES.items() if (calls := calls_at_import(module.tree))}

    assert not found, f"the configuration is built at import: {found}"
    assert calls_at_import(ast.parse("TIERS = tiers(Settings())\ndef f(x=load_settings()): return resolve()\n")) == [
        "Settings() (line 1)", "load_settings() (line 2)"]


@pytest.mark.parametrize("module", ["frostserver.lmsensors", "frostserver.hwmon", "frostserver.config",
                                    "frostserver.alerts.sampling_stopped", "frostserver.history.packed",
                                    "frostserver.overrides"])
def test_each_package_imports_on_its_own(module):
    # `import frostserver.lmsensors` alone once failed with a circular import through hwmon/__init__.
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=APP, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 0, result.stderr


def test_the_history_codec_loads_no_configuration():
    script = "import sys, frostserver.history.packed; print(sorted(m for m in sys.modules if m.startswith('frostserver.config')))"

    result = subprocess.run([sys.executable, "-c", script], cwd=APP, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_supervisor_loads_nothing_of_the_app_but_its_own_few_modules():
    # PID 1 stays small and cannot be taken down by the app's bugs: the heartbeat's line and what its
    # decoder raises, the log format (not the codec's JSON and typing, 0.7 MB of RSS).
    script = "import sys, frostserver.supervisor; print(sorted(m for m in sys.modules if m.startswith('frostserver')))"

    result = subprocess.run([sys.executable, "-c", script], cwd=APP, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["frostserver", "frostserver.heartbeat", "frostserver.logs",
                                         "frostserver.refused", "frostserver.supervisor"])
