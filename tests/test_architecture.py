"""The engine and the album store never import Qt: checked in the source and at run time."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import gen2res_desktop

QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
ROOT = Path(gen2res_desktop.__file__).parent


def _qt_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] in QT
        ]
    return found


def test_core_library_cli_sources_do_not_import_qt():
    offenders = []
    for package in ("core", "library", "cli"):
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += _qt_imports(path)
    assert offenders == []


def test_importing_every_core_and_library_module_loads_no_qt():
    modules = [
        m.name
        for pkg in ("core", "library")
        for m in pkgutil.walk_packages([str(ROOT / pkg)], prefix=f"gen2res_desktop.{pkg}.")
    ]
    assert modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


# -- import circles inside the album store ---------------------------------------------------

LIBRARY = "gen2res_desktop.library"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _library_imports(path: Path, modules: set[str]) -> set[str]:
    """The library modules ``path`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module not in modules:
                continue
            # ``from gen2res_desktop.library import backups`` imports the module backups;
            # ``from gen2res_desktop.library import Library`` runs the package's __init__
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules
            found |= subs or {node.module}
            if len(subs) < len(node.names):
                found.add(node.module)
    return found


def _circle_from(graph: dict[str, set[str]], start: str, skip: set[str]) -> list[str] | None:
    """Imports leading from ``start`` back to it, through none of the modules in ``skip``."""
    stack, seen = [(start, [start])], {start}
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen and nxt not in skip:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """A circle for every module on one, found from the first of its modules by name."""
    circles, done = [], set()
    for start in sorted(graph):
        if circle := _circle_from(graph, start, done):
            circles.append(circle)
        done.add(start)
    return circles


def test_the_album_store_has_no_import_circles():
    """Every ``gen2res_desktop.library`` import counts: at the top of a module, inside a
    function (a lazy import still runs, and a circle through it fails on whichever side
    is imported first), and under ``if TYPE_CHECKING`` (never run, but a reader follows
    it as a dependency all the same). A module's own parent packages are not counted:
    Python runs a package's ``__init__`` before any of its modules, and every module
    would otherwise be on a circle through ``library/__init__.py``, which imports the
    facade; an explicit ``from gen2res_desktop.library import Library`` is counted."""
    paths = sorted((ROOT / "library").rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _library_imports(p, modules) - {_module_name(p)} for p in paths}
    assert graph[f"{LIBRARY}.importer"], "the walk found no imports at all"
    circles = [" -> ".join(c) for c in _circles(graph)]
    assert circles == []


def test_a_circle_is_found_through_a_function_level_import(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c", "a"]]
    lazy = tmp_path / "lazy.py"
    lazy.write_text(
        "def f():\n    from gen2res_desktop.library.store import Library\n", encoding="utf-8"
    )
    assert _library_imports(lazy, {f"{LIBRARY}.store", LIBRARY}) == {f"{LIBRARY}.store"}


# -- module length ------------------------------------------------------------------------------

MAX_LINES = 600
_NOT_SOURCE = {"benchmarks", "build", "dist", "__pycache__", "node_modules"}


def _sources(folder: Path):
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in _NOT_SOURCE or path.suffix == ".egg-info":
            continue
        if path.is_dir():
            yield from _sources(path)
        elif path.suffix == ".py":
            yield path


def test_no_module_is_over_600_lines():
    """A module a reader cannot hold in mind is split by what its parts do (benchmarks,
    scripts run on their own, are left out)."""
    repo = ROOT.parent
    lengths = {
        p.relative_to(repo).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in _sources(repo)
    }
    assert "gen2res_desktop/library/store.py" in lengths
    too_long = {name for name, n in lengths.items() if n > MAX_LINES}
    assert sorted(too_long) == []
