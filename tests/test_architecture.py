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
