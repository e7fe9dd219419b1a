"""Build the wheel, install it into a fresh virtual environment, and start what it installed.

The fresh environment borrows the heavy dependencies (torch, Qt, dlib) from the one running
the tests instead of downloading them, but imports gen2res_desktop from the wheel only: it
runs from a temporary folder, and the borrowed folder is added without its .pth files, so
an editable install of the project there stays invisible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from gen2res_desktop import __version__
from gen2res_desktop.resources import APP_ID, ICON_SIZES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Top-level folders that are not part of the package source (and some are large).
NOT_SOURCE = {".git", ".venv", "build", "dist", "tests", "benchmarks", "paper", "docs"}

CHECK_SCRIPT = r"""
import importlib.metadata as md, json, sys
from packaging.requirements import Requirement
import gen2res_desktop, torch
from gen2res_desktop import resources
missing = []
for line in md.requires("gen2res-desktop") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue  # an optional extra (heic, test)
    try:
        if md.version(req.name) not in req.specifier:
            missing.append(f"{req} (found {md.version(req.name)})")
    except md.PackageNotFoundError:
        missing.append(str(req))
print(json.dumps({
    "package": gen2res_desktop.__file__,
    "torch": torch.__file__,
    "icons": [str(p) for p in resources.icon_files()],
    "style_sheet": len(resources.style_sheet()),
    "missing": missing,
}))
"""


@dataclass
class Installed:
    wheel: Path
    venv: Path
    python: Path
    bin: Path
    work: Path  # an empty folder to run from, outside the source tree

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(QT_QPA_PLATFORM="offscreen", GEN2RES_HOME=str(self.work / "library"))
        env.update(extra)
        return env

    def run(self, *args: str | Path, timeout: float = 180, **env: str):
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.work,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _copy_source(dest: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in ("__pycache__", ".pytest_cache", ".ruff_cache")}
        if Path(folder) == ROOT:
            skip |= {n for n in names if n in NOT_SOURCE or n.endswith(".egg-info")}
        return skip

    shutil.copytree(ROOT, dest, ignore=ignore)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    # A copy, so the build leaves no build/ or egg-info behind in the checkout.
    _copy_source(tmp / "src")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["--no-index", str(tmp / "src"), "-w", str(tmp / "wheels")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "wheels").glob("gen2res_desktop-*.whl")

    venv = tmp / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if sys.prefix != sys.base_prefix:
        # --system-site-packages reaches the base interpreter's packages, not this venv's
        Path(site, "_borrowed_dependencies.pth").write_text(
            sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
        )
    # --ignore-installed: never touch the borrowed environment, even if it has the project
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index"]
        + ["--no-deps", "--ignore-installed", "--no-warn-script-location", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    work = tmp / "work"
    work.mkdir()
    return Installed(wheel=wheel, venv=venv, python=python, bin=bindir, work=work)


def test_wheel_carries_the_resources(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert "gen2res_desktop/data/style.qss" in names
    for size in ICON_SIZES:
        assert f"gen2res_desktop/data/icons/hicolor/{size}x{size}/apps/{APP_ID}.png" in names
    assert f"gen2res_desktop/data/icons/hicolor/scalable/apps/{APP_ID}.svg" in names


def test_installed_package_comes_from_the_wheel_and_finds_its_resources(installed):
    import json

    result = installed.run(installed.python, "-c", CHECK_SCRIPT)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    venv = installed.venv.resolve()
    assert Path(found["package"]).resolve().is_relative_to(venv)
    assert not Path(found["torch"]).resolve().is_relative_to(venv)  # borrowed, not installed
    assert len(found["icons"]) == len(ICON_SIZES) + 1
    assert all(Path(p).resolve().is_relative_to(venv) for p in found["icons"])
    assert found["style_sheet"] > 1000
    assert found["missing"] == []  # every declared dependency is present at a valid version


def test_cli_reports_its_version(installed):
    result = installed.run(installed.bin / "gen2res", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"gen2res {__version__}"


def test_gui_opens_and_closes_its_main_window_offscreen(installed):
    assert (installed.bin / "gen2res-desktop").exists() or (
        installed.bin / "gen2res-desktop.exe"
    ).exists()
    # -I: nothing from the environment or the script's folder on sys.path, only the venv
    result = installed.run(
        installed.python, "-I", ROOT / "packaging" / "gen2res_gui.py", "--smoke-test"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "main window shown after" in result.stdout
    # the smoke test ran on its own temporary library, not on GEN2RES_HOME
    assert not (installed.work / "library").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="freedesktop menus are a Linux matter")
def test_desktop_entry_installs_for_the_user(installed):
    share = installed.work / "share"
    result = installed.run(
        "bash",
        ROOT / "packaging" / "install-desktop-entry.sh",
        XDG_DATA_HOME=str(share),
        PATH=f"{installed.bin}{os.pathsep}{os.environ['PATH']}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    entry = (share / "applications" / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    program = installed.bin.resolve() / "gen2res-desktop"
    assert f"Exec={program} %F" in entry.splitlines()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    for size in ICON_SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator:
        checked = subprocess.run(
            [validator, str(share / "applications" / f"{APP_ID}.desktop")],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout
