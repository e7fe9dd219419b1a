"""What the compare window shows about a restoration besides the two images.

Laid over the Before image: the damage map the repair used (in red) and, around it, a faint
outline of the facial features the automatic repair left alone, so a user who sees a speck
that stayed on a face knows why. Written under the images: how alike the restored faces came
out, and what the repair did (which detector found the damage, what filled it, ...).

The damage map and the outline are in the input photo's pixel grid; both are stretched onto
the scene (the result's size) the same way, so they stay on the picture when the repair
enlarged it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsScene, QLabel

from gen2res_desktop.library.models import SAME_PERSON_SIMILARITY, FaceScores
from gen2res_desktop.ui.words import face_model, variation

# a restored face that looks less like its subject (readable on light and dark themes)
WARNING_COLOUR = QColor(200, 90, 0)
# faint enough not to hide the picture, light enough to read over dark hair and skin
OUTLINE_COLOUR = QColor(170, 240, 255, 170)
PROTECTED_LEGEND = "Outlined: eyes, nose and mouth, which the automatic repair leaves alone"
DAMAGE_LEGEND = "Red: the scratches and dust the repair filled in"
PARTLY_LEGEND = "Pale red: marks it was unsure of, filled only part way"

Polygons = Sequence[Sequence[Sequence[int]]]


# -- the damage map and the protected features --------------------------------------------


def stretch(image: QImage, size: QSize) -> QTransform:
    """``image``'s pixels onto a scene of ``size`` (the Before image onto an enlarged
    result, the damage map onto the scene)."""
    return QTransform.fromScale(
        size.width() / max(image.width(), 1), size.height() / max(image.height(), 1)
    )


def protected_polygons(settings: object) -> list[list[tuple[int, int]]]:
    """The facial features the repair protected, from the settings recorded with a
    restoration (``settings["repair"]["protected"]``): polygons of (x, y) points in the
    damage map's pixels. None for an older restoration or a malformed record: a bad entry
    must not stop the compare window from opening."""
    repair = settings.get("repair") if isinstance(settings, dict) else None
    raw = repair.get("protected") if isinstance(repair, dict) else None
    if not isinstance(raw, list):
        return []
    out = []
    for polygon in raw:
        if not isinstance(polygon, list):
            continue
        points = [
            (int(p[0]), int(p[1]))
            for p in polygon
            if isinstance(p, list | tuple)
            and len(p) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        ]
        if len(points) >= 3:  # fewer points outline nothing
            out.append(points)
    return out


def outline_path(polygons: Polygons) -> QPainterPath | None:
    """The polygons as one closed path (in the damage map's pixels); None when empty."""
    path = QPainterPath()
    for polygon in polygons:
        if len(polygon) >= 3:
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in polygon]))
            path.closeSubpath()
    return None if path.isEmpty() else path


def outline_pen() -> QPen:
    # cosmetic: one screen pixel wide at any zoom, so it never covers the feature it marks
    pen = QPen(OUTLINE_COLOUR, 1, Qt.DashLine)
    pen.setCosmetic(True)
    return pen


@dataclass(frozen=True)
class DamageOverlay:
    """The damage map in red (see damage_map.levels_to_overlay) and the outline of the
    protected features, both in the damage map's (the input photo's) pixels."""

    image: QImage
    outline: QPainterPath | None = None

    def to_scene(self, scene_size: QSize) -> QTransform:
        """Damage map pixels to scene pixels: stretched like the Before image."""
        return stretch(self.image, scene_size)


class OverlayItems:
    """A damage overlay as items of a graphics scene, above its picture."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.image = QGraphicsPixmapItem()
        self.image.setZValue(1)
        self.image.setVisible(False)
        scene.addItem(self.image)
        self.outline = QGraphicsPathItem()
        self.outline.setZValue(2)
        self.outline.setPen(outline_pen())
        self.outline.setVisible(False)
        scene.addItem(self.outline)

    def set(self, overlay: DamageOverlay | None, scene_size: QSize) -> None:
        """Show ``overlay`` stretched onto the scene, or take it off."""
        if overlay is None or overlay.image.isNull():
            for item in (self.image, self.outline):
                item.setVisible(False)
            self.image.setPixmap(QPixmap())
            self.outline.setPath(QPainterPath())
            return
        image = overlay.image
        if self.image.data(0) != image.cacheKey():  # converting a large map is slow
            self.image.setPixmap(QPixmap.fromImage(image))
            self.image.setData(0, image.cacheKey())
        transform = overlay.to_scene(scene_size)
        self.image.setTransform(transform)
        self.image.setVisible(True)
        self.outline.setPath(overlay.outline or QPainterPath())
        self.outline.setTransform(transform)
        self.outline.setVisible(overlay.outline is not None)


def paint_overlay(p: QPainter, target: QRectF, overlay: DamageOverlay | None) -> None:
    """Paint ``overlay`` onto the picture drawn in ``target`` (widget coordinates)."""
    if overlay is None or overlay.image.isNull():
        return
    p.drawImage(target, overlay.image)
    if overlay.outline is None:
        return
    p.save()
    p.translate(target.topLeft())
    p.scale(
        target.width() / max(overlay.image.width(), 1),
        target.height() / max(overlay.image.height(), 1),
    )
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(outline_pen())
    p.setBrush(Qt.NoBrush)
    p.drawPath(overlay.outline)
    p.restore()


class DamageMapToggle:
    """The "Show damage map" action (key M) and the legend that says what the red and the
    outline mean while the map is shown. ``apply`` lays the overlay on or takes it off."""

    def __init__(
        self,
        parent: QObject,
        image: QImage | None,
        protected: Polygons,
        apply: Callable[[], None],
        *,
        partly: bool = False,
    ) -> None:
        # the damage map in red, the Before image's size (see damage_map.levels_to_overlay)
        self.image = image if image is not None and not image.isNull() else None
        # the facial features the automatic repair left alone, in the damage map's pixels
        # (none for a restoration made before the repair protected them)
        self.outline = outline_path(protected) if self.image is not None else None
        self.overlay = DamageOverlay(self.image, self.outline) if self.image is not None else None
        self.action = QAction("Show damage map", parent, checkable=True)
        self.action.setShortcut(QKeySequence(Qt.Key_M))
        self.action.triggered.connect(lambda *_: apply())
        if self.image is not None:
            tip = "Show in red the scratches and dust the repair filled in, over the Before image"
            if self.outline is not None:
                tip += f". {PROTECTED_LEGEND}"
            self.action.setToolTip(f"{tip} (M)")
        else:
            self.action.setEnabled(False)
            self.action.setToolTip(
                "This restoration has no damage map: scratch repair was off when it was made"
            )
        # partly: some marks were filled only part way, and the map shows them paler
        legend = [DAMAGE_LEGEND] + ([PARTLY_LEGEND] if partly and self.image is not None else [])
        legend += [PROTECTED_LEGEND] if self.outline is not None else []
        self.legend = QLabel(". ".join(legend) + ".")
        self.legend.setObjectName("compareLegend")
        self.legend.setWordWrap(True)
        self.legend.setVisible(False)
        self.action.toggled.connect(
            lambda on: self.legend.setVisible(on and self.action.isEnabled())
        )

    def shown(self) -> DamageOverlay | None:
        """The overlay while the user has it switched on, else None."""
        return self.overlay if self.action.isChecked() else None


# -- what the split view paints over its images --------------------------------------------


def paint_divider(p: QPainter, x: int, height: int) -> None:
    p.setRenderHint(QPainter.Antialiasing)
    p.setPen(QPen(QColor(255, 255, 255, 230), 2))
    p.drawLine(x, 0, x, height)
    # a round grip in the middle shows the divider can be dragged
    p.setBrush(QColor(255, 255, 255, 230))
    p.setPen(QPen(QColor(0, 0, 0, 120), 1))
    p.drawEllipse(QPointF(x, height / 2), 9, 9)


def paint_label(p: QPainter, font: QFont, width: int, text: str, *, left: bool) -> None:
    """``text`` ("Before", "After") in a dark box in the top left or right corner."""
    font = QFont(font)
    font.setBold(True)
    p.setFont(font)
    metrics = p.fontMetrics()
    w, h = metrics.horizontalAdvance(text) + 12, metrics.height() + 6
    x = 8 if left else width - w - 8
    box = QRectF(x, 8, w, h)
    p.setPen(Qt.NoPen)
    p.setBrush(QColor(0, 0, 0, 150))
    p.drawRoundedRect(box, 4, 4)
    p.setPen(QColor(255, 255, 255))
    p.drawText(box, Qt.AlignCenter, text)


# -- the faces' likeness ----------------------------------------------------------------------


def face_scores_parts(scores: Sequence[FaceScores]) -> list[str]:
    """The likeness of the restored faces in words, e.g. ["looks like Grandma 0.78 (damaged
    photo 0.55)", "true to the original 0.91"]; with several faces one part per face,
    starting "face N:". A restoration recorded before identity against the subject existed
    has only its faithfulness (how close the redrawn face stays to the damaged one), which
    the user reads as "true to the original"."""
    parts = []
    for sc in scores:
        words = []
        if sc.identity is not None:
            before = (
                "" if sc.identity_before is None else f" (damaged photo {sc.identity_before:.2f})"
            )
            words.append(f"looks like {sc.subject or 'the person'} {sc.identity:.2f}{before}")
        elif sc.references == 0 and sc.subject:
            words.append(f"no reference faces of {sc.subject} yet")
        if sc.faithfulness is not None:
            words.append(f"true to the original {sc.faithfulness:.2f}")
        if len(scores) == 1:
            parts += words
        elif words:
            parts.append(f"face {sc.number}: " + ", ".join(words))
    return parts


def face_scores_warnings(scores: Sequence[FaceScores]) -> list[str]:
    """A sentence for each restored face that looks less like its subject than the damaged
    one did, or whose likeness lies under the same-person line (0.5), with what to try;
    none when all is well. The details panel's restoration_warnings says the same."""
    out = []
    for sc in scores:
        who = sc.subject or "the person"
        face = f"Face {sc.number}" if len(scores) > 1 else "The restored face"
        advice = f"more reference photos of {who}, training longer, or a lower strength"
        under = sc.under_same_person_line
        if sc.looks_less_alike:
            out.append(
                f"{face} looks less like {who} than the damaged photo did "
                f"({sc.identity:.2f} against {sc.identity_before:.2f})."
                + ("" if under else f" Try {advice}.")  # said once, after the next sentence
            )
        if under:
            out.append(
                f"{face} may not look like {who} (likeness {sc.identity:.2f}, under "
                f"{SAME_PERSON_SIMILARITY:.1f}): try {advice}."
            )
    return out


@dataclass(frozen=True)
class CompareInfo:
    """What the info lines say about the result."""

    title: str = ""
    strength: int | None = None
    seed: int | None = None
    adapter: str | None = None
    scores: tuple[FaceScores, ...] = ()  # each restored face's likeness, see FaceScores
    faces: bool = True  # False: the photo was repaired only (nothing to say about faces)
    repair: str = ""  # what the repair did, see repair_summary

    def line(self) -> str:
        """How the faces were regenerated and how alike they came out; empty when they
        were not regenerated. ``adapter`` is the face model's name as the user reads it
        ("Rose's face model (400 training steps)")."""
        if not self.faces:
            return ""
        who = self.adapter or "this photo alone"
        parts = [f"Faces redrawn with {who}" if self.adapter else f"Faces redrawn from {who}"]
        if self.seed is not None:
            parts.append(variation(self.seed))
        if self.strength is not None:
            parts.append(f"strength {self.strength}")
        parts += face_scores_parts(self.scores)
        return " · ".join(parts)

    def explanation(self) -> str:
        """What the line's words and numbers mean (its tooltip)."""
        if not self.faces:
            return ""
        return (
            "Variation: each variation redraws the faces from another starting point (More "
            "variations in the details panel makes new ones).\n"
            "Strength: how strongly the faces were redrawn; higher repairs more damage, "
            "lower stays closer to the photo.\n"
            "Looks like: how much the redrawn face looks like the person's good photos, "
            "from 0 to 1 (0.5 and above: the same person); the damaged photo's own score "
            "is in brackets.\n"
            "True to the original: how close the redrawn face stays to the damaged one, "
            "from 0 to 1."
        )

    def warnings(self) -> list[str]:
        return face_scores_warnings(self.scores) if self.faces else []


# -- what the repair did ----------------------------------------------------------------------


def _method(stage: dict) -> str:
    method = stage.get("method") or ""
    return "built-in" if method == "opencv" else method


def damage_summary(damage: dict, inpaint: dict | None, inpaint_setting: object = None) -> str:
    """The damage stage in words: which detector found the damage (or the user's map),
    whether it was filled (and whether doubtful marks only part way), whether it took in a
    torn corner and whether facial features were left out of the map, e.g. "Damage found
    by the built-in detector, filled (lama), doubtful dark marks part way, with a torn
    corner, facial features left alone"."""
    method = damage.get("method") or ""
    own = method == "your map"
    if own:
        who = "from your painted map"
    elif method == "opencv":
        who = "found by the built-in detector"
    else:
        who = f"found by {method}" if method else "found"
    if inpaint is not None:
        text = f"Damage {who}, filled ({_method(inpaint)})"
        filled = inpaint.get("detail")
        if isinstance(filled, dict) and _positive(filled.get("partly_filled_fraction")):
            text += ", doubtful dark marks part way"
    elif inpaint_setting == "off":
        text = f"Damage {who}, not filled"
    elif own:
        text = "Nothing marked on your painted map"
    else:
        text = f"No damage {who}"
    detail = damage.get("detail")
    if not isinstance(detail, dict):
        detail = {}
    if _positive(detail.get("torn_fraction")):
        text += ", with a torn corner"
    if _positive(detail.get("protected_pixels")):
        text += ", facial features left alone"
    return text


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _face_words(face: dict) -> str:
    """Whose face model redrew a face, or that it was redrawn from the photo alone."""
    subject = face.get("subject")
    if face.get("mode") == "single-photo":
        return f"{subject or 'a face'} from this photo alone"
    return face_model(subject) if subject else "unknown"


def repair_summary(settings: dict) -> str:
    """One line of what a restoration's repair did, from the settings the library recorded
    with it, e.g. "Damage found by the built-in detector, filled (built-in) · Grain reduced ·
    Colour corrected · Faces: Grandma's face model". Empty for a restoration made before the
    repair existed."""
    repair = settings.get("repair") if isinstance(settings, dict) else None
    if not isinstance(repair, dict):
        return ""
    stages = {s.get("stage"): s for s in repair.get("stages", []) if isinstance(s, dict)}
    parts = []
    damage = stages.get("damage")
    if damage is not None:
        parts.append(damage_summary(damage, stages.get("inpaint"), repair.get("inpaint")))
    denoise = stages.get("denoise")
    if denoise is not None:
        method = denoise.get("method")
        if method == "off":
            parts.append("Sharpened")
        elif method == "opencv":
            parts.append("Grain reduced")
        else:
            parts.append(f"Grain reduced ({method})")
    upscale = stages.get("upscale")
    if upscale is not None:
        factor = (upscale.get("detail") or {}).get("factor") or repair.get("scale")
        text = f"Enlarged {factor}×"
        parts.append(text if upscale.get("method") == "opencv" else f"{text} ({_method(upscale)})")
    if "colour" in stages:
        parts.append("Colour corrected")
    if settings.get("restore_faces") is False:
        parts.append("Faces: not regenerated")
    elif settings.get("faces_note"):
        parts.append("Faces: none found to regenerate")
    else:
        faces = [f for f in settings.get("faces", []) if isinstance(f, dict)]
        if faces:
            parts.append("Faces: " + ", ".join(_face_words(f) for f in faces))
    return " · ".join(parts)
