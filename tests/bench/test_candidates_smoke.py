"""The candidate networks' side-by-side: one row per network, held maps cached per network,
real scans scored when given."""

from __future__ import annotations

import shutil

import numpy as np
from PIL import Image
from skimage import data

from benchmarks.oldphoto import candidates
from gen2res_desktop.core.photo import damage_net


def test_one_row_per_network_and_the_cache_is_reused(tmp_path, capsys):
    other = tmp_path / "other.pt"
    shutil.copy(damage_net.WEIGHTS, other)
    scans = tmp_path / "scans"
    scans.mkdir()
    Image.fromarray(data.coffee()[::2, ::2]).save(scans / "cup.png")
    Image.fromarray(data.camera()[::2, ::2]).save(scans / "man.png")
    cache = tmp_path / "cache"
    argv = [str(damage_net.WEIGHTS), str(other), "--scale", "smoke", "--cache", str(cache)]
    first = candidates.main([*argv, "--scans", str(scans), "--undamaged", "cup"])
    rows = first.splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["damage_net.pt", "other.pt"]
    assert rows[0].split("|")[2:] == rows[1].split("|")[2:]  # the same weights, the same row
    cells = rows[0].split("|")
    assert 0.0 <= float(cells[2]) <= 1.0 and "of" in cells[4]
    # both files are one network: its held maps are kept once, under the weights' digest
    kept = list(cache.rglob("*.npy"))
    assert kept and len({p.parent for p in kept}) == 1
    again = candidates.main(argv[1:])
    assert again.splitlines()[2].split("|")[1:3] == [" other.pt ", cells[2]]
    assert "nan%" in again.splitlines()[2].split("|")[6]  # no scans asked for
    assert capsys.readouterr().out.count("| network |") == 2


def test_the_probe_puts_its_specks_on_plain_skin():
    specked, points = candidates.skin_probe()
    specked = specked.copy()
    before = data.astronaut()
    assert len(points) >= 16
    changed = np.abs(specked.astype(int) - before).max(axis=2) > 10
    for x, y in points:
        assert changed[y - 2 : y + 3, x - 2 : x + 3].any()
