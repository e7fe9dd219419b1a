"""Screenshots of the real app for the README (not a test; pytest does not collect it).

Run under Xvfb with Qt's xcb plugin, so the windows are real X11 windows:

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python tests/ui/make_screenshots.py \
        docs/screenshots [--prior DIFFUSERS_FOLDER]

It builds a library in a temporary folder (an "old" degraded print of skimage's astronaut
to restore, five reference photos of her, a cat and two other photos), trains the
subject's adapter and restores the old print through the main window's own actions and
job runner, then saves ``main.png`` and ``compare.png``; it then shows the People view
(``people.png``) and restores Eileen's whole album with Restore all (``restore_all.png``,
the screen with the summary). The README's shots used the prior
made by ``train_demo_prior.py`` (beside this file) and ``--train-steps 10``; without
``--prior`` the tiny random test prior is used, which shows the interface but restores
nothing. ``--library`` retakes the shots of a library an earlier run left behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[2]
OLD_PRINT = "eileen_1962_scan.jpg"
SECOND_PRINT = "eileen_1964_print.jpg"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def old_print(img: Image.Image, seed: int = 0) -> Image.Image:
    """A faded, blurred, grainy, scratched sepia print of ``img``."""
    rng = np.random.default_rng(seed)
    gray = ImageOps.grayscale(img).filter(ImageFilter.GaussianBlur(1.6))
    sepia = ImageOps.colorize(gray, (60, 40, 25), (235, 215, 180))
    arr = np.asarray(sepia, dtype=np.float32)
    arr = arr * 0.75 + 45 + rng.normal(0, 9, arr.shape[:2])[..., None]
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    w, h = out.size
    for _ in range(14):
        x = rng.uniform(0, w)
        draw.line([(x, 0), (x + rng.uniform(-40, 40), h)], fill=(245, 238, 225), width=1)
    for _ in range(40):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(1, 3)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(250, 245, 235))
    return out


def build_photos(folder: Path) -> dict[str, list[Path]]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    astronaut = Image.fromarray(data.astronaut())
    refs = [
        astronaut,
        ImageOps.mirror(astronaut),
        astronaut.crop((60, 0, 460, 400)),
        astronaut.rotate(6),
        ImageOps.autocontrast(astronaut.crop((100, 10, 400, 310))),
    ]
    out: dict[str, list[Path]] = {"reference": [], "restore": [], "cat": [], "other": []}
    for i, img in enumerate(refs):
        path = folder / f"eileen_{1968 + i}.jpg"
        img.save(path, quality=92)
        out["reference"].append(path)
    path = folder / OLD_PRINT
    old_print(astronaut).save(path, quality=90)
    out["restore"].append(path)
    path = folder / SECOND_PRINT
    old_print(ImageOps.mirror(astronaut).rotate(3), seed=1).save(path, quality=90)
    out["album"] = [path]
    path = folder / "nobi.jpg"
    Image.fromarray(data.chelsea()).save(path, quality=92)
    out["cat"].append(path)
    for name, arr in (("kitchen.jpg", data.coffee()), ("launch.jpg", data.rocket())):
        Image.fromarray(arr).save(folder / name, quality=92)
        out["other"].append(folder / name)
    return out


def wait_idle(app, window, timeout: float = 1800) -> None:
    start = time.monotonic()
    end = start + timeout
    while (window.runner.is_busy() or window.io_runner.is_busy()) and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    if time.monotonic() - start > 1:
        print(f"waited {time.monotonic() - start:.0f} s", file=sys.stderr)


def build_library(app, window, library, args, tmp: Path) -> None:
    """Import the shoebox, tag, train and restore, all through the window."""
    from gen2res_desktop.core.training import TrainOptions

    photos = build_photos(tmp / "shoebox")
    window.subjects.create_subject("Eileen", "person", "face")
    window.subjects.create_subject("Nobi", "cat", "face")
    window.imports.import_paths(photos["reference"], subject="Eileen", role="reference")
    wait_idle(app, window)
    window.imports.import_paths(photos["restore"], subject="Eileen", role="restore")
    wait_idle(app, window)
    window.imports.import_paths(photos["album"], subject="Eileen", role="restore")
    wait_idle(app, window)
    window.imports.import_paths(photos["cat"], subject="Nobi", role="restore")
    wait_idle(app, window)
    window.imports.import_paths(photos["other"])
    wait_idle(app, window)
    if window.imports.last_summary is not None:
        window.imports.last_summary.close()
    options = TrainOptions(steps=args.train_steps, batch_size=2, rank=4, alpha=4.0)
    window.subjects.start_training("Eileen", options)
    wait_idle(app, window)
    old = next(p for p in library.list_photos() if p.original_name == OLD_PRINT)
    window.restore.restore_photos([old.id])
    wait_idle(app, window)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--prior", type=Path, help="a diffusers face prior folder")
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--zoom", type=float, default=2.5, help="compare view zoom on the face")
    parser.add_argument(
        "--library", type=Path, help="reuse a library an earlier run built (only the shots)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    tmp = Path(tempfile.mkdtemp(prefix="gen2res-shots-"))
    home = args.library or tmp / "Family photos"
    os.environ["GEN2RES_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    app = QApplication([sys.argv[0]])

    from gen2res_desktop.core.priors import PriorRegistry
    from gen2res_desktop.library.store import Library
    from gen2res_desktop.ui.app import _apply_look
    from gen2res_desktop.ui.compare import CompareWindow
    from gen2res_desktop.ui.main_window import MainWindow
    from gen2res_desktop.ui.settings import AppSettings
    from gen2res_desktop.ui.sidebar import PEOPLE, View

    _apply_look(app)
    if args.library is None:
        prior_dir = args.prior
        if prior_dir is None:
            from tiny_models import save_tiny_prior

            prior_dir = save_tiny_prior(tmp / "tiny-prior")
        PriorRegistry(home).import_folder(prior_dir, "face", "face")

    library = Library.open(home)
    settings = AppSettings(steps=0, find_faces=True, welcome_done=True, measure_speed=True)
    window = MainWindow(library, settings=settings)
    window.ask = lambda title, question: True
    window.resize(1440, 900)
    window.show()
    if args.library is None:
        build_library(app, window, library, args, tmp)
    old = next(p for p in library.list_photos() if p.original_name == OLD_PRINT)
    restorations = library.list_restorations(old.id)
    if not restorations:
        print("restore failed:", window.runner.history()[-1].error, file=sys.stderr)
        return 1

    window.sidebar.select_view(View("subject", "Eileen"))
    window.views.select_rows([window.model.row_of(("photo", old.id))])
    end = time.monotonic() + 30
    while window.loader.pending() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    wait_idle(app, window)
    window.grab().save(str(args.out / "main.png"))

    compare = window.windows.open_compare(restorations[0].id)
    assert isinstance(compare, CompareWindow)
    compare.resize(1200, 820)
    compare.set_mode(CompareWindow.SPLIT)
    wait_idle(app, window)
    # close on the face, where the restoration happened, with the divider across it
    faces = library.list_faces(photo_id=old.id)
    if faces:
        x, y, w, h = faces[0].box
        cx, cy = x + w / 2, y + h / 2
        compare.zoom_to(args.zoom, cx, cy)
        rect = compare.split.image_rect()
        scale = rect.width() / max(compare.before.width(), 1)
        compare.split.set_divider((rect.left() + cx * scale) / compare.split.width())
    wait_idle(app, window)
    compare.grab().save(str(args.out / "compare.png"))
    compare.set_mode(CompareWindow.SIDE_BY_SIDE)
    wait_idle(app, window)
    compare.grab().save(str(tmp / "compare-side-by-side.png"))
    compare.close()

    window.sidebar.select_view(PEOPLE)
    wait_idle(app, window)
    window.grab().save(str(args.out / "people.png"))

    window.sidebar.select_view(View("subject", "Eileen"))
    if window.last_message is not None:
        window.last_message.close()  # "adapter is ready" from the training
    window.restore.restore_all("Eileen")
    wait_idle(app, window)
    box = window.restore.last_summary
    if box is not None:
        box.move(window.geometry().center() - box.rect().center())
    wait_idle(app, window)
    app.primaryScreen().grabWindow(0).copy(window.frameGeometry()).save(
        str(args.out / "restore_all.png")
    )
    print(f"saved main, compare, people and restore_all in {args.out}; scratch in {tmp}")
    window.close()
    library.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
