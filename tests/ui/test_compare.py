"""The compare window: split divider painting, synchronised side-by-side views, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication

from gen2res_desktop.library.models import FaceScores, Restoration
from gen2res_desktop.ui.compare import (
    CompareInfo,
    CompareWindow,
    SplitView,
    face_scores_warnings,
)
from gen2res_desktop.ui.details import (
    DetailsPanel,
    restoration_label,
    restoration_numbers,
    restoration_warnings,
)

RED, BLUE = QColor(220, 20, 20), QColor(20, 20, 220)


def solid(color: QColor, w: int = 200, h: int = 100) -> QImage:
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(color)
    return image


def is_close(c: QColor, ref: QColor) -> bool:
    return abs(c.red() - ref.red()) < 30 and abs(c.blue() - ref.blue()) < 30


def test_split_view_paints_before_left_and_after_right_of_the_divider(qtbot):
    view = SplitView()
    qtbot.addWidget(view)
    view.resize(400, 200)  # a 200x100 image fits exactly, filling the widget
    view.set_images(solid(RED), solid(BLUE), QSize(200, 100))
    view.show()
    qtbot.waitExposed(view)

    def colour_at(x: int) -> QColor:
        return view.grab().toImage().pixelColor(x, 150)

    x = view.divider_x()
    assert x == 200
    assert is_close(colour_at(x - 20), RED) and is_close(colour_at(x + 20), BLUE)

    # drag the divider with the mouse from the middle to a quarter of the width
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(view, QPoint(150, 150))
    qtbot.mouseMove(view, QPoint(100, 150))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(100, 150))
    assert view.divider_x() == 100
    assert is_close(colour_at(80), RED)
    assert is_close(colour_at(120), BLUE)  # was before-coloured until the divider moved
    assert is_close(colour_at(300), BLUE)


def test_compare_window_flip_fit_and_actual_size(qtbot):
    scores = (FaceScores(1, "Rose", identity=0.781, identity_before=0.55, faithfulness=0.912),)
    info = CompareInfo("astronaut.png", strength=200, seed=3, adapter="Rose", scores=scores)
    win = CompareWindow(solid(RED), solid(BLUE), info)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.info_label.text() == (
        "Faces redrawn with Rose · variation 4 · strength 200 · looks like Rose 0.78 (damaged "
        "photo 0.55) · true to the original 0.91"
    )
    assert "Strength: how strongly the faces were redrawn" in win.info_label.toolTip()
    assert not win.warning_label.isVisible()  # more like Rose than the damaged photo
    win.action_split.trigger()
    assert win.mode() == CompareWindow.SPLIT
    left = (
        win.split.grab().toImage().pixelColor(win.split.divider_x() - 30, win.split.height() // 2)
    )
    assert is_close(left, RED)
    win.activateWindow()  # shortcuts only fire in the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
    qtbot.keyClick(win.split, Qt.Key_Space)  # Space flips before and after
    assert win.flipped
    left = (
        win.split.grab().toImage().pixelColor(win.split.divider_x() - 30, win.split.height() // 2)
    )
    assert is_close(left, BLUE)
    win.action_actual.trigger()
    assert win.split.zoom_factor() == 1.0 and win.side_by_side.zoom_factor() == 1.0
    win.action_fit.trigger()
    assert win.split.zoom_factor() != 1.0


def _wheel(widget, steps: int) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.NoButton,
        Qt.NoModifier,
        Qt.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_side_by_side_zoom_and_pan_stay_in_sync(qtbot):
    win = CompareWindow(solid(RED, 800, 600), solid(BLUE, 400, 300), CompareInfo())
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    sbs = win.side_by_side
    _wheel(sbs.left.viewport(), 3)
    assert sbs.left.zoom_factor() > 0.9
    assert sbs.right.transform() == sbs.left.transform()
    bar = sbs.left.horizontalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    assert sbs.right.horizontalScrollBar().value() == bar.value()
    sbs.right.verticalScrollBar().setValue(7)
    assert sbs.left.verticalScrollBar().value() == 7
    # the smaller result is stretched over the original, so both scenes match
    assert sbs.right.scene().sceneRect() == sbs.left.scene().sceneRect()


def test_export_goes_through_the_callback(qtbot, tmp_path):
    calls = []

    def export(path: Path, side_by_side: bool) -> Path:
        calls.append((path, side_by_side))
        path.write_bytes(b"x")
        return path

    win = CompareWindow(solid(RED), solid(BLUE), CompareInfo(), export=export)
    qtbot.addWidget(win)
    win.choose_export_path = lambda sbs: tmp_path / ("sbs.png" if sbs else "full.png")
    win.action_export.trigger()
    win.action_export_sbs.trigger()
    assert calls == [(tmp_path / "full.png", False), (tmp_path / "sbs.png", True)]

    def broken(path: Path, side_by_side: bool) -> Path:
        raise PermissionError("read-only folder")

    win._export = broken
    assert win.export(side_by_side=False) is None
    assert "read-only folder" in win.last_message.text()


def test_zoom_to_a_point_pans_within_the_image(qtbot):
    win = CompareWindow(solid(RED, 800, 600), solid(BLUE, 800, 600), CompareInfo())
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    win.set_mode(CompareWindow.SPLIT)
    split = win.split
    win.zoom_to(2.0, 0, 0)  # the top-left corner: clamped, no empty margin shows
    rect = split.image_rect()
    assert split.zoom_factor() == 2.0 and rect.left() == 0 and rect.top() == 0
    assert win.side_by_side.left.transform().m11() == 2.0
    assert win.side_by_side.right.transform() == win.side_by_side.left.transform()
    # dragging away from the divider pans the zoomed image
    start = QPoint(split.width() // 4, split.height() // 2)
    qtbot.mousePress(split, Qt.LeftButton, pos=start)
    qtbot.mouseMove(split, start + QPoint(-40, -30))
    qtbot.mouseRelease(split, Qt.LeftButton, pos=start + QPoint(-40, -30))
    moved = split.image_rect()
    assert (round(moved.left()), round(moved.top())) == (-40, -30)
    assert split.divider() == 0.5


def _restoration(settings: dict, identity_scores=None, **kw) -> Restoration:
    fields = dict(
        id=1,
        photo_id=1,
        subject_id=1,
        subject="Rose",
        adapter_id=1,
        settings={"strength": 200, **settings},
        seed=0,
        path=Path("r.png"),
        identity_scores=identity_scores,
        kept=None,
        created="",
    )
    return Restoration(**{**fields, **kw})


def _face(**scores) -> dict:
    return {"box": [1, 2, 30, 30], "subject": "Rose", "mode": "adapter", "index": 1, **scores}


LOST = {"identity": 0.42, "identity_before": 0.61, "faithfulness": 0.4, "references": 4}


def test_a_restore_that_looks_less_like_the_subject_is_flagged(qtbot):
    r = _restoration({"faces": [_face(**LOST)]}, [0.42])
    assert restoration_label(r) == "Variation 1 · Rose's face model · not decided yet"
    assert restoration_numbers(r).endswith(
        "\nLooks like Rose 0.42 (damaged photo 0.61)\nTrue to the original 0.40"
    )
    warnings = restoration_warnings(r)
    assert warnings == [
        "The restored face looks less like Rose than the damaged photo did (0.42 against 0.61).",
        "The restored face may not look like Rose (likeness 0.42, under 0.5): try more "
        "reference photos of Rose, training longer, or a lower strength.",
    ]  # what to try is said once
    assert not any("--" in w for w in warnings)  # no command-line flags in the app

    info = CompareInfo(
        "scan.jpg", strength=200, seed=0, adapter="Rose", scores=tuple(r.face_scores)
    )
    win = CompareWindow(solid(RED), solid(BLUE), info)
    qtbot.addWidget(win)
    win.show()
    assert win.warning_label.isVisible()
    assert win.warning_label.text() == " ".join(warnings)

    # better than the damaged photo but still under the line: only that is flagged
    r = _restoration({"faces": [_face(**{**LOST, "identity_before": 0.3})]}, [0.42])
    (warning,) = restoration_warnings(r)
    assert "may not look like Rose (likeness 0.42, under 0.5)" in warning

    # less alike than the damaged photo but above the line: what to try comes with it
    r = _restoration({"faces": [_face(**{**LOST, "identity": 0.55})]}, [0.55])
    (warning,) = restoration_warnings(r)
    assert "(0.55 against 0.61). Try more reference photos of Rose" in warning


def test_a_face_under_the_same_person_line_is_flagged_in_plain_words(qtbot):
    # no damaged-face score to compare with: only the line can flag it
    scores = (
        FaceScores(1, "Grandma", identity=0.42, faithfulness=0.8, references=5),
        FaceScores(2, "Grandpa", identity=0.72, faithfulness=0.8, references=5),
    )
    assert face_scores_warnings(scores) == [
        "Face 1 may not look like Grandma (likeness 0.42, under 0.5): try more reference "
        "photos of Grandma, training longer, or a lower strength."
    ]
    # 0.496 shows as 0.50: at the line, not under it, as the label says
    assert face_scores_warnings((FaceScores(1, "Grandma", identity=0.496),)) == []
    assert face_scores_warnings((FaceScores(1, None, identity=0.3),)) == [
        "The restored face may not look like the person (likeness 0.30, under 0.5): try more "
        "reference photos of the person, training longer, or a lower strength."
    ]
    # the details panel and the compare window say the same
    face = _face(subject="Grandma", identity=0.42, faithfulness=0.8, references=5)
    r = _restoration({"faces": [face]}, [0.42], subject="Grandma")
    (warning,) = restoration_warnings(r)
    assert warning.startswith("The restored face may not look like Grandma (likeness 0.42")
    win = CompareWindow(
        solid(RED), solid(BLUE), CompareInfo(adapter="Grandma", scores=tuple(r.face_scores))
    )
    qtbot.addWidget(win)
    win.show()
    assert win.warning_label.isVisible() and win.warning_label.text() == warning
    for text in (warning, win.warning_label.text()):
        assert "--" not in text and "same-person" not in text and "recogniser" not in text


def test_close_button_escape_and_ctrl_w_close_the_compare_window(qtbot):
    def open_window() -> CompareWindow:
        win = CompareWindow(solid(RED), solid(BLUE), CompareInfo())
        win.setAttribute(Qt.WA_DeleteOnClose, False)  # qtbot closes and deletes it
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()  # shortcuts only fire in the active window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is win)
        return win

    win = open_window()
    assert win.close_button is not None and win.close_button.isVisible()
    assert win.close_button.text() == "Close"
    qtbot.mouseClick(win.close_button, Qt.LeftButton)
    assert not win.isVisible()

    win = open_window()
    qtbot.keyClick(win.split, Qt.Key_Escape)
    assert not win.isVisible()

    win = open_window()
    win.set_mode(CompareWindow.SPLIT)
    win.split.setFocus()
    qtbot.keyClick(win.split, Qt.Key_W, Qt.ControlModifier)
    assert not win.isVisible()
    assert QKeySequence(Qt.CTRL | Qt.Key_W) in win.action_close.shortcuts()


def test_several_faces_no_references_and_pets_read_sensibly():
    faces = [
        _face(identity=0.81, identity_before=0.62, faithfulness=0.7, references=3),
        _face(
            subject="Max",
            index=3,
            identity=None,
            identity_before=None,
            faithfulness=0.9,
            references=0,
        ),
        _face(
            subject=None,
            index=4,
            identity=None,
            identity_before=None,
            faithfulness=0.88,
            references=None,
        ),
    ]
    r = _restoration({"faces": faces}, [0.81])
    assert restoration_numbers(r).endswith(
        "\nFace 1: looks like Rose 0.81 (damaged photo 0.62), true to the original 0.70\n"
        "Face 3: no reference faces of Max yet, true to the original 0.90\n"
        "Face 4: true to the original 0.88"
    )
    assert restoration_warnings(r) == []
    pet = _face(subject="Nobi", identity=None, identity_before=None, faithfulness=None)
    r = _restoration({"faces": [pet]}, None, subject="Nobi")
    assert restoration_label(r) == "Variation 1 · Nobi's face model · not decided yet"


def test_legacy_restorations_show_their_number_as_faithfulness_not_identity():
    # made before identity against the subject: identity_scores held before/after similarity
    old = {"faces": [{"box": [1, 2, 30, 30], "subject": "Rose", "adapter": 1, "mode": "adapter"}]}
    r = _restoration(old, [0.93])
    (scores,) = r.face_scores
    assert scores.legacy and scores.identity is None and scores.faithfulness == 0.93
    assert restoration_numbers(r).endswith("\nTrue to the original 0.93")
    assert restoration_warnings(r) == []
    info = CompareInfo(adapter="Rose's face model", scores=tuple(r.face_scores))
    assert info.line() == "Faces redrawn with Rose's face model · true to the original 0.93"
    # older still: no faces list at all, two faces
    r = _restoration({}, [0.4, 0.9])
    numbers = restoration_numbers(r)
    assert "Face 1: true to the original 0.40\nFace 2: true to the original 0.90" in numbers
    assert "looks like" not in numbers.lower() and restoration_warnings(r) == []
    # a repaired-only photo says nothing about faces
    r = _restoration({"restore_faces": False, "faces": []}, None)
    assert restoration_label(r) == "Repaired only · not decided yet"
    assert restoration_numbers(r) == ""


def test_the_details_list_marks_a_restore_that_lost_the_likeness(qtbot, tmp_path, chelsea):
    from gen2res_desktop.library.store import Library

    src = tmp_path / "scan.png"
    chelsea.save(src)
    with Library.open(tmp_path / "lib") as lib:
        lib.add_subject("Rose", "person")
        (photo,) = lib.import_paths([src]).photo_ids
        for seed, faces, scores in (
            (0, [_face(**LOST)], [0.42]),
            (1, [_face(identity=0.8, identity_before=0.6, faithfulness=0.7)], [0.8]),
        ):
            out = lib.restoration_path_for(photo, seed)
            chelsea.save(out)
            lib.add_restoration(photo, "Rose", None, {"faces": faces}, seed, out, scores)
        panel = DetailsPanel(lib)
        qtbot.addWidget(panel)
        panel.show_photo(photo)
        items = {
            panel.restorations.item(i).text(): panel.restorations.item(i)
            for i in range(panel.restorations.count())
        }
        # the numbers are in each line's tooltip, with the warning first where there is one
        tips = {item.toolTip(): item for item in items.values()}
        (lost,) = [item for tip, item in tips.items() if "Rose 0.42" in tip]
        (fine,) = [item for tip, item in tips.items() if "Rose 0.80" in tip]
        assert not lost.icon().isNull() and lost.toolTip().startswith(
            "The restored face looks less"
        )
        assert fine.icon().isNull() and "looks less like" not in fine.toolTip()
