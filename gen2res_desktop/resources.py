"""Files the running app reads (icons, style sheet), found the same way in every install.

They live inside the package, in ``gen2res_desktop/data/``, so a wheel carries them as
package data, an editable install reads them from the checkout, and the PyInstaller spec
copies the folder to the same relative place in the frozen app. Files the app never
reads (the ``.desktop`` entry, the AppStream metainfo) stay in the top-level
``resources/`` folder for packagers. Qt-free, so the CLI may use it too.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_ID = "io.github.gen2res.Gen2Res"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
STYLE_SHEET = "style.qss"


def data_dir() -> Path:
    """The folder holding the app's resource files."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root is not None:
        # PyInstaller unpacks beside the executable; packaging/gen2res.spec puts the data
        # folder at the path it has inside the package.
        return Path(frozen_root) / "gen2res_desktop" / "data"
    return Path(__file__).resolve().parent / "data"


def resource_path(relative: str) -> Path:
    """Path of ``relative`` (``/``-separated) under :func:`data_dir`; it must exist.

    A missing file means a broken installation, so the error names the folder searched.
    """
    base = data_dir()
    path = base.joinpath(*relative.split("/"))
    if not path.is_file():
        raise FileNotFoundError(
            f"Resource {relative!r} is missing from {base}: the installation is incomplete."
        )
    return path


def icon_files() -> list[Path]:
    """The app icon at every PNG size, smallest first, then the SVG (for QIcon.addFile)."""
    pngs = [resource_path(f"icons/hicolor/{n}x{n}/apps/{APP_ID}.png") for n in ICON_SIZES]
    return [*pngs, resource_path(f"icons/hicolor/scalable/apps/{APP_ID}.svg")]


def style_sheet() -> str:
    """The app's Qt style sheet text."""
    return resource_path(STYLE_SHEET).read_text(encoding="utf-8")
