"""The real-scan sheet tool runs the app's repair on a folder: a row and a sheet per photo,
an unreadable file skipped with its reason, the table written."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image
from skimage import data

from benchmarks.realscans import run


def test_a_folder_of_scans_gives_a_sheet_and_a_row_each(tmp_path, capsys):
    scans = tmp_path / "scans"
    scans.mkdir()
    photo = cv2.resize(data.coffee(), (160, 120), interpolation=cv2.INTER_AREA)
    cv2.line(photo, (10, 10), (150, 110), (250, 250, 250), 2)
    Image.fromarray(photo).save(scans / "print.png")
    (scans / "broken.jpg").write_bytes(b"not an image")
    rows = run(scans, tmp_path / "out")
    assert [r["photo"] for r in rows] == ["print.png"]
    assert rows[0]["size"] == "160 x 120" and rows[0]["marked %"] > 0
    sheet = np.asarray(Image.open(tmp_path / "out" / "print.png"))
    assert sheet.shape == (120, 480, 3)  # scan | map | repair
    assert "broken.jpg" in capsys.readouterr().out
    assert "print.png" in (tmp_path / "out" / "realscans.md").read_text()
