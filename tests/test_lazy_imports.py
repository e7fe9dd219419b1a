"""What is never loaded unless a job needs it: a repair-only restore loads no diffusion stack
(peft pulls in transformers: seconds and about a gigabyte), only torch for the built-in
damage detector, and none of it when no damage is sought; the app's start on an empty
library loads neither. Each runs in a fresh interpreter, whose sys.modules tells."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

ENGINE = ("torch", "peft", "transformers", "diffusers")
DIFFUSION = ENGINE[1:]


def run_python(code: str, tmp_path: Path, **env: str) -> dict:
    environment = {**os.environ, "GEN2RES_HOME": str(tmp_path / "home"), **env}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _restore(photo: Path, out: Path, tmp_path: Path, *flags: str) -> dict:
    return run_python(
        f"""
        import json, sys
        from gen2res_desktop.cli.main import main
        args = ["restore", {str(photo)!r}, "--faces", "off", "--out", {str(out)!r}, *{flags!r}]
        code = main(args)
        print(json.dumps({{"code": code, "loaded": [m for m in {ENGINE!r} if m in sys.modules]}}))
        """,
        tmp_path,
    )


def test_a_repair_only_restore_loads_no_diffusion_stack(tmp_path, astronaut):
    photo, out = tmp_path / "scan.png", tmp_path / "repaired.png"
    astronaut.resize((64, 64)).save(photo)
    seen = _restore(photo, out, tmp_path)
    assert seen["code"] == 0 and not set(seen["loaded"]) & set(DIFFUSION)
    assert Image.open(out).size == (64, 64)
    # without the damage map nothing of the engine is loaded at all
    seen = _restore(photo, tmp_path / "no_damage_map.png", tmp_path, "--scratches", "off")
    assert seen == {"code": 0, "loaded": []}


def test_the_app_starts_on_an_empty_library_without_the_engine(tmp_path):
    seen = run_python(
        f"""
        import json, sys
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication

        QSettings.setDefaultFormat(QSettings.IniFormat)
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, {str(tmp_path)!r})
        app = QApplication([])
        from gen2res_desktop.ui import app as gui
        from gen2res_desktop.ui.settings import AppSettings

        AppSettings(welcome_done=True).save()
        windows = []

        def look_then_quit():
            windows.extend(w for w in app.topLevelWidgets() if w.isVisible())
            for w in windows:
                w.close()

        QTimer.singleShot(300, look_then_quit)  # after the start's own queued calls
        code = gui.main([])
        loaded = [m for m in {ENGINE!r} if m in sys.modules]
        print(json.dumps({{"code": code, "windows": len(windows), "loaded": loaded}}))
        """,
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
    )
    assert seen == {"code": 0, "windows": 1, "loaded": []}


def test_a_real_sigterm_closes_the_app_as_quit_does(tmp_path):
    """Logout and shutdown send SIGTERM: the app quits cleanly (exit code 0, its window state
    saved), woken from Qt's event loop by the signal's wakeup socket."""
    seen = run_python(
        f"""
        import json, os, signal
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication

        QSettings.setDefaultFormat(QSettings.IniFormat)
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, {str(tmp_path)!r})
        app = QApplication([])
        from gen2res_desktop.ui import app as gui
        from gen2res_desktop.ui.settings import AppSettings

        AppSettings(welcome_done=True).save()
        QTimer.singleShot(500, lambda: os.kill(os.getpid(), signal.SIGTERM))
        code = gui.main([])
        print(json.dumps({{"code": code, "saved": QSettings().contains("window/geometry")}}))
        """,
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
    )
    assert seen == {"code": 0, "saved": True}
