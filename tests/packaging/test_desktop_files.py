"""The freedesktop entry and the AppStream metainfo: valid, and consistent with the app."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gen2res_desktop.resources import APP_ID, ICON_SIZES, data_dir

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "resources" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / f"{APP_ID}.metainfo.xml"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {package})")
    return path


def _desktop_entry(path: Path = DESKTOP) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_validates():
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, timeout=60)
    # it exits 0 on warnings and hints too; none are expected
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_metainfo_validates():
    tool = _tool("appstreamcli", "appstream")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # errors (E:) and warnings (W:) fail; infos and pedantic notes depend on the tool's version
    problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert not problems, result.stdout


def test_desktop_entry_matches_the_app():
    entry = _desktop_entry()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert entry["Exec"].split()[0] in scripts["gui-scripts"]
    assert entry["TryExec"] == entry["Exec"].split()[0]
    assert entry["Icon"] == APP_ID
    # the icon the entry names is shipped in every size the desktop may ask for
    hicolor = data_dir() / "icons" / "hicolor"
    for size in ICON_SIZES:
        assert (hicolor / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert {"Graphics", "Photography"} <= set(entry["Categories"].strip(";").split(";"))
    assert "image/jpeg" in entry["MimeType"].split(";")


def test_metainfo_matches_the_desktop_entry():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == DESKTOP.name
    binaries = {b.text for b in root.iter("binary")}
    assert _desktop_entry()["Exec"].split()[0] in binaries
    shots = [img.text for img in root.iter("image")]
    assert shots and all(s.startswith("https://") and s.endswith(".png") for s in shots)
    versions = [r.get("version") for r in root.iter("release")]
    from gen2res_desktop import __version__

    assert __version__ in versions
