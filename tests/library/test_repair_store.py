"""What the library keeps for the whole-photo repair: painted damage maps, the restore
options, the map each restoration used; the v4 migration; checks and deletes."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from library_helpers import write_photos

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.photo.settings import RepairSettings
from gen2res_desktop.library import Library
from gen2res_desktop.library.tables.photos import read_damage_map, write_damage_map


@pytest.fixture
def photo_id(lib, tmp_path) -> int:
    (path,) = write_photos(tmp_path / "in", 1, size=40)
    return lib.import_paths([path]).imported[0].photo_id


def test_a_painted_damage_map_is_kept_with_its_photo(lib, photo_id):
    assert lib.photo_damage_map(photo_id) is None
    mask = np.zeros((40, 40), np.uint8)
    mask[10, 5:30] = 1
    lib.set_photo_damage_map(photo_id, mask)
    stored = lib.photo_damage_map(photo_id)
    assert stored.dtype == np.uint8 and set(np.unique(stored)) == {0, 255}
    assert np.array_equal(stored > 0, mask > 0)
    assert lib.check().ok
    lib.set_photo_damage_map(photo_id, None)
    assert lib.photo_damage_map(photo_id) is None
    assert not any(lib.masks_dir.iterdir())


def test_a_damage_map_of_another_size_is_refused(lib, photo_id):
    with pytest.raises(Gen2ResError, match=r"damage map is 30 x 20 pixels but .* is 40 x 40"):
        lib.set_photo_damage_map(photo_id, np.zeros((20, 30), np.uint8))
    assert lib.photo_damage_map(photo_id) is None


def test_restore_options_are_remembered_per_library(gen2res_home, tmp_path):
    with Library.open(gen2res_home) as lib:
        assert lib.repair_settings() == RepairSettings()
        lib.set_repair_settings(RepairSettings(denoise="off", upscale=2))
    with Library.open(gen2res_home) as lib:
        assert lib.repair_settings() == RepairSettings(denoise="off", upscale=2)
        lib.set_setting("restore.repair", {"upscale": 3})  # a value no version writes
        assert lib.repair_settings() == RepairSettings()
    with Library.open(tmp_path / "other") as other:
        assert other.repair_settings() == RepairSettings()


def test_a_restoration_keeps_its_damage_map_and_both_go_together(lib, photo_id):
    out = lib.restoration_path_for(photo_id, 0)
    lib.load_photo_rgb(photo_id).save(out)
    used = write_damage_map(np.eye(40, dtype=np.uint8), out.with_name(out.stem + ".damage.png"))
    r = lib.add_restoration(photo_id, None, None, {"repair": {}}, 0, out, damage_map=used)
    assert r.damage_map == used and np.array_equal(read_damage_map(used) > 0, np.eye(40) > 0)
    assert lib.check().ok
    used.unlink()
    report = lib.check()
    assert report.missing_files == [f"damage map of restoration {r.id}: {lib.relative(used)}"]
    write_damage_map(np.eye(40, dtype=np.uint8), used)
    lib.delete_restoration(r.id)
    assert not used.exists() and not out.exists()


def test_deleting_a_photo_removes_its_painted_map_and_an_orphan_map_is_reported(lib, photo_id):
    lib.set_photo_damage_map(photo_id, np.ones((40, 40), np.uint8))
    (stray := lib.masks_dir / ("0" * 64 + ".png")).write_bytes(b"x")
    assert lib.check().orphan_files == [lib.relative(stray)]
    stray.unlink()
    lib.delete_photo(photo_id)
    assert not any(lib.masks_dir.iterdir())


def test_version_3_libraries_gain_the_repair_columns(gen2res_home, tmp_path):
    with Library.open(gen2res_home) as lib:
        (path,) = write_photos(tmp_path / "in", 1)
        lib.import_paths([path])
    conn = sqlite3.connect(gen2res_home / "library.sqlite3")
    conn.executescript(
        "ALTER TABLE photos DROP COLUMN damage_map; ALTER TABLE restorations DROP COLUMN "
        "damage_map; DROP TABLE settings; DROP TABLE named_regions; ALTER TABLE faces DROP "
        "COLUMN found_by; ALTER TABLE photos DROP COLUMN faces_searched; PRAGMA user_version = 3;"
    )
    conn.close()
    with Library.open(gen2res_home) as lib:
        assert lib.photo_damage_map(1) is None and lib.repair_settings() == RepairSettings()
    assert any(p.name.startswith("library-v3-") for p in (gen2res_home / "backups").iterdir())
