"""The Flask app's one typed context: one key of app.extensions, one accessor, nothing shared between apps."""
from __future__ import annotations

import ast
import dataclasses
import time
from pathlib import Path

import pytest

from frostserver.http import create_app
from frostserver.http.context import KEY, AppContext, context

from clocks import WallClock

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "services" / "app" / "frostserver"
ACCESSOR = PACKAGE / "http" / "context.py"
THIS_TEST = Path(__file__).resolve()  # reads app.extensions once, to see that it holds one key

# What a module of the HTTP side may build at import: things that hold no per-app state. A logger's
# RepeatLimiter (json_text.py) is the log's own rate limit, process-wide as the logger it writes to
# is (logging.getLogger), as everywhere in the project (sampler.py, hwmon/); it holds no answer.
IMPORT_TIME_CALLS = {"Blueprint", "getLogger", "compile", "frozenset", "tuple", "MappingProxyType", "RepeatLimiter"}
CACHES = {"cache", "lru_cache"}


def python_files():
    for root in (PACKAGE, REPO / "tests", REPO / "scripts"):
        yield from sorted(root.rglob("*.py"))


def test_no_module_reads_or_writes_app_extensions_but_the_accessor():
    found = []
    for path in python_files():
        if path in (ACCESSOR, THIS_TEST):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "extensions":
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == [], f"use frostserver.http.context.context(app) instead of app.extensions: {found}"


def test_the_accessor_uses_one_key():
    uses = [node for node in ast.walk(ast.parse(ACCESSOR.read_text()))
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "extensions"]
    assert len(uses) == 2 and all(isinstance(use.slice, ast.Name) and use.slice.id == "KEY" for use in uses)
    app = create_app({"run_dir": Path("/nonexistent/run"), "sysfs_root": Path("/nonexistent/sys")})
    assert list(app.extensions) == [KEY] and isinstance(context(app), AppContext)


def _allowed_at_import(node: ast.expr) -> bool:
    """Tell whether a module-level value is immutable or in IMPORT_TIME_CALLS (never a dict, list, set, lock...)."""
    if isinstance(node, ast.Constant | ast.Name | ast.Attribute | ast.Subscript | ast.JoinedStr):
        return True
    if isinstance(node, ast.Tuple):
        return all(_allowed_at_import(item) for item in node.elts)
    if isinstance(node, ast.BinOp):
        return _allowed_at_import(node.left) and _allowed_at_import(node.right)
    if isinstance(node, ast.UnaryOp):
        return _allowed_at_import(node.operand)
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        return name in IMPORT_TIME_CALLS
    return False


def _module_level_state(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), str(path))
    for statement in tree.body:
        value = statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
        if value is not None and not _allowed_at_import(value):
            found.append(f"{path.name}:{statement.lineno} {ast.unparse(statement)[:60]}")
        if isinstance(statement, ast.FunctionDef):
            for decorator in statement.decorator_list:
                name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", None)
                # A cache of a function without arguments holds one value (the OpenAPI bytes); one with
                # arguments is a registry that grows with what every app in the process asks.
                if name in CACHES and statement.args.args:
                    found.append(f"{path.name}:{statement.lineno} {name} of {statement.name}()")
    found += [f"{path.name}:{node.lineno} global" for node in ast.walk(tree) if isinstance(node, ast.Global)]
    return found


def test_no_module_of_the_http_side_keeps_state_of_its_own():
    found = [entry for path in sorted((PACKAGE / "http").glob("*.py")) for entry in _module_level_state(path)]
    assert found == [], f"per-app state belongs in AppContext (http/context.py): {found}"


@pytest.mark.parametrize("source", [
    "LOCKS = {}",
    "_TURNS = threading.Semaphore(2)",
    "SEEN: list[str] = []",
    "@functools.lru_cache\ndef answer(query):\n    pass",
    "def remember():\n    global SEEN",
])
def test_the_state_check_finds_module_level_state(tmp_path, source):
    path = tmp_path / "module.py"
    path.write_text(f"import functools\nimport threading\nA = (1, 2)\nbp = Blueprint('x', __name__)\n{source}\n")
    assert len(_module_level_state(path)) == 1


def test_two_apps_share_nothing(tmp_path):
    first = context(create_app({"run_dir": tmp_path / "one", "sysfs_root": tmp_path / "sys"}))
    second = context(create_app({"run_dir": tmp_path / "two", "sysfs_root": tmp_path / "sys"}))
    clocks = {"clock": time.time, "monotonic": time.monotonic}
    for field in dataclasses.fields(AppContext):
        mine, theirs = getattr(first, field.name), getattr(second, field.name)
        if field.name in clocks:
            assert mine is clocks[field.name] and theirs is mine  # functions, not state
        elif field.name == "tiers":
            assert mine is None and theirs is None  # no history_dir: no history on disk
        else:
            assert mine is not theirs, field.name


def test_the_context_is_frozen_and_the_clock_given_is_the_one_every_part_reads(tmp_path):
    clock = WallClock(1_000_000.0)
    shared = context(create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys"}, clock=clock))
    with pytest.raises(dataclasses.FrozenInstanceError):
        shared.clock = time.time
    assert shared.clock is clock and shared.alerts.sampling.clock is clock and shared.sample_events.clock is clock
