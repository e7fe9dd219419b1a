"""Render the app icon's SVG to the PNG sizes desktops and installers ask for.

Run after editing the SVG: ``.venv/bin/python packaging/render_icons.py``. The PNGs land in
the freedesktop hicolor layout (``<size>x<size>/apps/<app id>.png``) beside the SVG, so a
Linux install copies the whole ``hicolor`` folder and the frozen app and the wheel find
every size through ``gen2res_desktop.resources``. ``tests/packaging`` re-renders and
compares, so a forgotten re-render fails a test.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gen2res_desktop.resources import APP_ID, ICON_SIZES, resource_path  # noqa: E402


def render(svg: Path, out: Path, sizes: tuple[int, ...] = ICON_SIZES) -> list[Path]:
    """Write ``out/<n>x<n>/apps/<APP_ID>.png`` for each size; returns the files written."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG for Qt's renderer")
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format_ARGB32)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        target = out / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target), "PNG"):
            raise SystemExit(f"cannot write {target}")
        written.append(target)
    return written


def main() -> int:
    svg = resource_path(f"icons/hicolor/scalable/apps/{APP_ID}.svg")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=svg.parents[2], help="hicolor folder")
    args = parser.parse_args()
    for path in render(svg, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
