"""No text the app can show names a command-line flag.

Every string literal in ``core/``, ``library/`` and ``ui/`` is a candidate message: an
error raised below the UI reaches a window through ``str(error)``. The command line's
own wording travels separately, as the ``cli=`` hint of a ``Gen2ResError`` (printed only
by the CLI) or in a constant whose name starts with ``CLI_``; docstrings and log lines
are not shown to users.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gen2res_desktop.core.errors import Gen2ResError, cli_message

PACKAGE = Path(__file__).resolve().parents[1] / "gen2res_desktop"
SHOWN = [PACKAGE / "core", PACKAGE / "library", PACKAGE / "ui"]
FLAG = re.compile(r"(?<![\w-])--[a-z]")
LOGGERS = {"log", "logger", "logging", "warnings"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _exempt_subtrees(tree: ast.AST) -> set[int]:
    """Nodes whose strings are for the command line or the log only."""
    exempt: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            exempt += [kw.value for kw in node.keywords if kw.arg == "cli"]
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if f.value.id in LOGGERS:
                    exempt.append(node)
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any(n.lstrip("_").startswith("CLI_") for n in names) and node.value is not None:
                exempt.append(node.value)
    return {id(n) for root in exempt for n in ast.walk(root)}


def shown_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _exempt_subtrees(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.append((node.lineno, node.value))
    return found


def test_no_string_the_app_can_show_names_a_flag():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for folder in SHOWN
        for path in sorted(folder.rglob("*.py"))
        for line, text in shown_strings(path)
        if FLAG.search(text)
    ]
    assert offenders == [], "\n".join(offenders)


def test_the_scan_sees_f_strings_and_skips_the_cli_hint(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def f(x):\n    """Use --doc here."""\n'
        '    log.info("--logged")\n'
        '    CLI_HINT = "--kept"\n'
        '    raise Gen2ResError(f"{x} try --bad", cli=f"{x} --ok")\n'
    )
    texts = [t for _, t in shown_strings(sample)]
    assert any("--bad" in t for t in texts)
    assert not any("--ok" in t or "--doc" in t or "--logged" in t or "--kept" in t for t in texts)


@pytest.mark.parametrize("hint", ["", "Use --device cpu."])
def test_an_error_reads_as_the_app_in_windows_and_as_the_cli_on_the_command_line(hint):
    e = Gen2ResError("The GPU ran out of memory.", app="Choose the CPU in Settings.", cli=hint)
    assert str(e) == "The GPU ran out of memory. Choose the CPU in Settings."
    assert cli_message(e) == f"The GPU ran out of memory. {hint}".strip()
    assert cli_message(ValueError("plain")) == "plain"
