"""Starting the app on a library whose database was lost: it offers the newest backup."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from gen2res_desktop.library import Library
from gen2res_desktop.ui.app import open_library


def test_the_app_offers_the_newest_backup_of_a_lost_database(
    gen2res_home, tmp_path, astronaut, monkeypatch
):
    photo = tmp_path / "rose.png"
    astronaut.resize((64, 64)).save(photo)
    with Library.open(gen2res_home) as lib:
        lib.import_paths([photo])
        lib.add_subject("Rose", "person")
    with Library.open(gen2res_home):
        pass  # a daily copy
    (gen2res_home / "library.sqlite3").write_bytes(b"")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))

    asked = []
    assert open_library(gen2res_home, lambda problem, backup: asked.append(backup) or False) is None
    assert "library-daily-" in asked[0] and "holds photos" in shown[0]

    lib = open_library(gen2res_home, lambda problem, backup: True)
    try:
        assert [s.name for s in lib.list_subjects()] == ["Rose"] and len(lib.list_photos()) == 1
    finally:
        lib.close()


def test_damaged_values_in_the_database_do_not_stop_the_window(
    library, make_window, tmp_path, astronaut
):
    import sqlite3

    photo = tmp_path / "rose.png"
    astronaut.resize((64, 64)).save(photo)
    (pid,) = library.import_paths([photo]).photo_ids
    conn = sqlite3.connect(library.db_path)
    conn.execute(
        "UPDATE photos SET exif = CAST(X'7B226D616B65223A20FF' AS TEXT) WHERE id = ?", [pid]
    )
    conn.commit()
    conn.close()
    window = make_window()
    window.show()
    assert window.model.rowCount() == 1
    window.details.show_photo(pid)
