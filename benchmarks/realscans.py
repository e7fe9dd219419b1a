"""Real scanned prints through the product's automatic repair, to look at: no true damage
map exists for them, so nothing here is a score to tune on.

For each photo in a folder it writes a sheet (the scan | the automatic damage map in red
with the protected facial features outlined in green | the repair without the tone stage)
and one table row: the share of the photo marked, the pixels of facial features the map
was kept off (dlib finds the faces, as in the app) and how many of them were marked all
the same. A folder of scans with no damage on them says how much of a real, undamaged
print the detector takes for damage; one of scratched prints shows what it finds and what
it leaves. A black-and-white print is toned as it came in (the repair keeps it
monochrome), so its repair can differ from the scan everywhere by a few levels.

    python -m benchmarks.realscans SCANS_DIR --out OUT_DIR

Scans that were used: the test images of *Bringing Old Photos Back to Life*
(github.com/microsoft/Bringing-Old-Photos-Back-to-Life: ``test_images/old``,
``test_images/old_w_scratch`` and ``imgs/HR.png``); they are not in this repository. Results and what was
seen: ``benchmarks/results/oldphoto_notes.md`` (round 10).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.images import list_images, load_rgb
from gen2res_desktop.core.photo.face_safe import protected_region
from gen2res_desktop.core.photo.repair import repair_photo
from gen2res_desktop.core.photo.settings import OFF, RepairSettings

# The repair a user gets, but for the tone stage: the sheet shows what the fill did.
NO_TONE = RepairSettings(colour=False, denoise=OFF, sharpen=0.0)


def sheet(rgb: np.ndarray, mask: np.ndarray, protected: np.ndarray, repaired: np.ndarray):
    """The scan, its map (red) with the protected features' outline (green), the repair."""
    marked = rgb.copy()
    marked[mask] = (255, 0, 0)
    inner = cv2.erode(protected.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    marked[protected & ~inner] = (0, 255, 0)
    return np.concatenate([rgb, marked, repaired], axis=1)


def run(folder: Path, out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in list_images(folder):
        try:  # read as the app reads an import: EXIF orientation, any mode to RGB
            rgb = np.asarray(load_rgb(path))
        except Gen2ResError as e:
            print(f"{e} Skipped.", flush=True)
            continue
        start = time.perf_counter()
        result = repair_photo(rgb, NO_TONE)
        mask = result.damage_map > 0
        protected = protected_region(result.protected, mask.shape)
        picture = sheet(rgb, mask, protected, result.image)
        tmp = out / f".{path.stem}.tmp.png"
        cv2.imwrite(str(tmp), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        tmp.replace(out / f"{path.stem}.png")
        row = {
            "photo": path.name,
            "size": f"{rgb.shape[1]} x {rgb.shape[0]}",
            "marked %": round(100 * float(mask.mean()), 2),
            "protected px": int(protected.sum()),
            # the outline is simplified by up to a pixel and drawn a pixel wide of the
            # features: two pixels in from it, nothing may be marked
            "features marked": int(
                mask[cv2.erode(protected.astype(np.uint8), np.ones((5, 5))) > 0].sum()
            ),
            "seconds": round(time.perf_counter() - start, 1),
        }
        rows.append(row)
        print(" | ".join(str(v) for v in row.values()), flush=True)
    if rows:
        head = list(rows[0])
        lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        lines += ["| " + " | ".join(str(r[k]) for k in head) + " |" for r in rows]
        (out / "realscans.md").write_text("\n".join(lines) + "\n")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder of scanned prints")
    parser.add_argument("--out", type=Path, required=True, help="where the sheets go")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    run(args.folder, args.out)


if __name__ == "__main__":
    main()
