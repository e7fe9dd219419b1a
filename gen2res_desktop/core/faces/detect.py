"""Face detection and 68-point landmarks with dlib, on any photo size and at any tilt.

Detection runs on a copy scaled so its longest side is at most ``max_side`` (the cost stays
bounded on 50 MP scans); landmarks and descriptors are then computed at full resolution on
an upright patch around each face, so they keep the photo's precision.

Tilted faces: dlib's HOG detector has filters for faces rolled up to about 40 degrees on
either side (measured on the astronaut photo: found at every tilt from -40 to +40, lost at
45). When a photo yields no face at all, it is searched again turned by 45 and 90 degrees
either way, which covers steeper tilts and scans placed sideways. The CNN detector is not
retried that way: one pass of it already costs seconds on a CPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.faces import enhance, geometry, models

Detector = Literal["hog", "cnn"]
DETECTORS: tuple[str, ...] = ("hog", "cnn")

# Longest side of the copy the detector sees. With one upsampling inside dlib, HOG finds
# faces down to about 40 px in that copy: 40 px on photos up to this size, 100 px on a
# 4000 px scan. Raise it for group photos with small faces (cost grows with its square).
DEFAULT_MAX_SIDE = 1600
# Pictures up to this long side get one more upsampling inside the detector.
_SMALL_PICTURE = 640
# Tilts (degrees) tried when the upright pass finds nothing; see the module docstring.
FALLBACK_ANGLES: tuple[float, ...] = (45.0, -45.0, 90.0, -90.0)
# The landmark predictor and descriptor run on a patch where the face box is this wide:
# small faces gain sub-pixel landmark precision, huge ones cost no more than normal ones.
_PATCH_FACE = 200
# Landmark fits per face at most, and the tilt change that counts as settled.
_MAX_FITS = 4
_FIT_TOLERANCE_DEGREES = 2.0
# HOG detections scoring under this are confirmed by the CNN detector (see _confirmed);
# clean frontal faces score above 1, the false detections seen in tests under 0.5.
CONFIRM_BELOW = 0.8
# Face width on the confirmation patch: above the CNN's ~80 px minimum, small for speed.
_CONFIRM_FACE = 112

# 68-point landmark indices (iBUG 300-W layout)
RIGHT_EYE = slice(36, 42)  # the subject's right eye: on the image's left side
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
MOUTH_LEFT, MOUTH_RIGHT = 48, 54


@dataclass
class DetectedFace:
    """A face in a photo, in that photo's full-resolution pixel coordinates.

    ``box`` is (x, y, width, height); ``landmarks`` the 68 dlib points (x, y);
    ``score`` the detector's confidence (HOG margin or CNN confidence: above 0 is a
    detection, higher is surer); ``descriptor`` dlib's 128-d identity embedding.
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float
    descriptor: np.ndarray | None = None
    # which pass found it: "hog", "cnn", or "..., enhanced" on a faded print's working copy
    found_by: str = "hog"

    @property
    def eye_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(image-left eye, image-right eye) centres."""
        return self.landmarks[RIGHT_EYE].mean(axis=0), self.landmarks[LEFT_EYE].mean(axis=0)

    @property
    def eye_distance(self) -> float:
        a, b = self.eye_centres
        return float(np.hypot(*(b - a)))

    @property
    def roll_degrees(self) -> float:
        """Tilt of the eye line; positive when the face leans clockwise on screen."""
        a, b = self.eye_centres
        return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))

    def five_points(self) -> dict[str, tuple[float, float]]:
        """Eye centres, nose tip and mouth corners: a short summary of the landmarks."""
        a, b = self.eye_centres
        lm = self.landmarks
        return {
            "eye_left": (float(a[0]), float(a[1])),
            "eye_right": (float(b[0]), float(b[1])),
            "nose": (float(lm[NOSE_TIP, 0]), float(lm[NOSE_TIP, 1])),
            "mouth_left": (float(lm[MOUTH_LEFT, 0]), float(lm[MOUTH_LEFT, 1])),
            "mouth_right": (float(lm[MOUTH_RIGHT, 0]), float(lm[MOUTH_RIGHT, 1])),
        }


@dataclass
class _Candidate:
    centre: np.ndarray  # full-resolution coordinates
    side: float
    roll: float  # radians, the tilt the face had in the photo when detected upright
    score: float


def detect_faces(
    image: Image.Image | np.ndarray,
    *,
    detector: Detector = "hog",
    with_descriptors: bool = True,
    max_side: int = DEFAULT_MAX_SIDE,
    confirm: bool = True,
    second_pass: bool = True,
) -> list[DetectedFace]:
    """Find the faces of ``image`` (PIL or uint8 RGB array), ordered left to right.

    ``detector``: "hog" (fast) or "cnn" (slower, finds more small, tilted or side faces).
    ``confirm``: have the CNN check weak HOG detections (see ``CONFIRM_BELOW``).
    ``second_pass``: when none is found, look again on an enhanced copy (faded prints),
    then with the CNN detector; each face's ``found_by`` says which pass found it.
    """
    if detector not in DETECTORS:
        raise Gen2ResError(
            f"Unknown face detector {detector!r}; choose one of {', '.join(DETECTORS)}."
        )
    rgb = geometry.as_rgb_array(image)
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    work = rgb
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        work = np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    to_full = np.array([[1 / scale, 0, 0.5 / scale - 0.5], [0, 1 / scale, 0.5 / scale - 0.5]])

    def faces_at(
        angles: Sequence[float], small: np.ndarray, full: np.ndarray, det: str, how: str
    ) -> list[DetectedFace]:
        found: list[DetectedFace] = []
        for angle in angles:
            for c in _detect_turned(small, det, angle):
                c.centre = geometry.apply(to_full, c.centre)[0]
                c.side /= scale
                if not (0 <= c.centre[0] < w and 0 <= c.centre[1] < h):
                    continue  # a face in the fill around a turned copy
                face = _fit(full, c)
                face.found_by = how
                if det == "cnn" or not confirm or face.score >= CONFIRM_BELOW:
                    found.append(face)
                elif _confirmed(full, face):
                    found.append(face)
        return found

    faces = faces_at([0.0], work, rgb, detector, detector)
    if not faces and detector == "hog":
        faces = faces_at(FALLBACK_ANGLES, work, rgb, "hog", "hog")
    if not faces and second_pass:
        # a faded or grainy print: look again on a stretched, smoothed gray copy, then
        # with the CNN detector on a denoised one (seconds more, only where none was found)
        full = enhance.for_detection(rgb)
        faces = faces_at([0.0], _shrunk(full, scale), full, detector, f"{detector}, enhanced")
        if not faces:
            # denoised at the detector's size only: non-local means on a 24 MP scan is slow
            small = enhance.for_detection(work, denoise=True)
            faces = faces_at([0.0], small, full, "cnn", "cnn, enhanced")
    faces = sorted(_deduplicate(faces), key=lambda f: (f.box[0], f.box[1]))
    if with_descriptors:
        for f in faces:
            f.descriptor = descriptor_at(rgb, f)
    return faces


def _shrunk(img: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.ascontiguousarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))


def describe_face(
    image: Image.Image | np.ndarray,
    box: tuple[float, float, float, float],
    *,
    roll_degrees: float = 0.0,
    score: float = 0.0,
    with_descriptor: bool = True,
) -> DetectedFace:
    """Landmarks (and descriptor) of a face whose box is already known.

    For a face a person marked by hand, or one whose place is known from an alignment
    (an aligned crop has its face in a known box, upright).
    """
    rgb = geometry.as_rgb_array(image)
    x, y, bw, bh = box
    side = float(max(bw, bh))
    if side <= 0:
        raise Gen2ResError("A face box must have a positive size.")
    centre = np.array([x + bw / 2 - 0.5, y + bh / 2 - 0.5])
    face = _fit(rgb, _Candidate(centre, side, math.radians(roll_degrees), score))
    if with_descriptor:
        face.descriptor = descriptor_at(rgb, face)
    return face


def _detect_turned(work: np.ndarray, detector: str, angle: float) -> list[_Candidate]:
    """Detect on ``work`` turned so faces tilted by ``angle`` degrees stand upright."""
    h, w = work.shape[:2]
    roll = math.radians(angle)
    if angle:
        c, s = abs(math.cos(roll)), abs(math.sin(roll))
        out_w, out_h = math.ceil(w * c + h * s), math.ceil(w * s + h * c)
        m = geometry.similarity(
            np.array([(w - 1) / 2, (h - 1) / 2]),
            roll,
            1.0,
            np.array([(out_w - 1) / 2, (out_h - 1) / 2]),
        )
        # fill with the mean colour: a black frame would put strong edges where none are
        fill = tuple(float(v) for v in work.reshape(-1, 3).mean(axis=0))
        turned = cv2.warpAffine(
            work,
            m,
            (out_w, out_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=fill,
        )
        back = geometry.invert(m)
    else:
        turned, back = work, None
    found: list[_Candidate] = []
    for rect, score in _run_detector(np.ascontiguousarray(turned), detector):
        centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
        if back is not None:
            centre = geometry.apply(back, centre)[0]
        side = float(max(rect.width(), rect.height()))
        found.append(_Candidate(centre, side, roll, float(score)))
    return found


def _run_detector(image: np.ndarray, detector: str) -> list[tuple[object, float]]:
    # Small pictures are upsampled once more inside dlib (cheap at that size) so that faces
    # under the detectors' minimum (HOG about 40 px after its usual upsampling, the CNN
    # about 80 px) are found, and reported as too small rather than missed.
    extra = 1 if max(image.shape[:2]) <= _SMALL_PICTURE else 0
    with models.DLIB_LOCK:
        if detector == "cnn":
            return [(d.rect, d.confidence) for d in models.cnn_detector()(image, extra)]
        rects, scores, _ = models.hog_detector().run(image, 1 + extra, 0.0)
        return list(zip(rects, scores, strict=True))


def _fit(rgb: np.ndarray, cand: _Candidate) -> DetectedFace:
    # The predictor starts from an upright mean face and may stop short on a tilted one
    # (a face tilted 35 degrees first reads as 6): refit on a patch turned by the measured
    # tilt until the tilt read on the patch stays put (two or three fits at most in practice).
    roll = cand.roll
    for _ in range(_MAX_FITS):
        landmarks = _landmarks_upright(rgb, cand.centre, cand.side, roll)
        a, b = landmarks[RIGHT_EYE].mean(axis=0), landmarks[LEFT_EYE].mean(axis=0)
        measured = math.atan2(b[1] - a[1], b[0] - a[0])
        if abs(math.degrees(measured - roll)) < _FIT_TOLERANCE_DEGREES:
            break
        roll = measured
    half = cand.side / 2
    box = (
        round(cand.centre[0] - half + 0.5),
        round(cand.centre[1] - half + 0.5),
        round(cand.side),
        round(cand.side),
    )
    return DetectedFace(box=box, landmarks=landmarks, score=cand.score)


def _confirmed(rgb: np.ndarray, face: DetectedFace) -> bool:
    """Whether the CNN detector also sees a face on an upright patch around ``face``.

    HOG's weak detections include hands, folds of clothing and patterned backgrounds; the
    CNN rejects those (and confirms real faces, tilted or not) at ~0.2 s a patch on a CPU.
    """
    x, y, w, h = face.box
    centre = np.array([x + w / 2 - 0.5, y + h / 2 - 0.5])
    size = 2 * _CONFIRM_FACE
    m = geometry.similarity(
        centre,
        math.radians(face.roll_degrees),
        _CONFIRM_FACE / max(w, h),
        np.array([(size - 1) / 2] * 2),
    )
    patch = np.ascontiguousarray(
        geometry.warp(rgb, m, (size, size), interpolation=cv2.INTER_LINEAR)
    )
    with models.DLIB_LOCK:
        return len(models.cnn_detector()(patch, 0)) > 0


def _upright_patch(
    rgb: np.ndarray, centre: np.ndarray, side: float, roll: float
) -> tuple[np.ndarray, np.ndarray]:
    """(matrix photo -> patch, patch): the face upright, its box _PATCH_FACE px wide."""
    size = 2 * _PATCH_FACE
    m = geometry.similarity(
        centre, roll, _PATCH_FACE / side, np.array([(size - 1) / 2, (size - 1) / 2])
    )
    patch = geometry.warp(rgb, m, (size, size), interpolation=cv2.INTER_LINEAR)
    return m, np.ascontiguousarray(patch)


def _patch_box():
    import dlib

    lo = _PATCH_FACE // 2
    return dlib.rectangle(lo, lo, lo + _PATCH_FACE - 1, lo + _PATCH_FACE - 1)


def _landmarks_upright(rgb: np.ndarray, centre: np.ndarray, side: float, roll: float) -> np.ndarray:
    """68 landmarks (full-resolution coordinates) fitted on an upright, normalised patch."""
    m, patch = _upright_patch(rgb, centre, side, roll)
    with models.DLIB_LOCK:
        shape = models.shape_predictor()(patch, _patch_box())
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return geometry.apply(geometry.invert(m), pts)


def descriptor_at(rgb: np.ndarray, face: DetectedFace) -> np.ndarray:
    """Descriptor of ``face`` at its own landmarks, computed on the same normalised patch
    as during detection so that descriptors compare like for like."""
    import dlib

    a, b = face.eye_centres
    roll = math.atan2(b[1] - a[1], b[0] - a[0])
    x, y, w, h = face.box
    centre = np.array([x + w / 2 - 0.5, y + h / 2 - 0.5])
    m, patch = _upright_patch(rgb, centre, float(max(w, h)), roll)
    pts = geometry.apply(m, face.landmarks)
    shape = dlib.full_object_detection(
        _patch_box(), [dlib.point(round(px), round(py)) for px, py in pts]
    )
    with models.DLIB_LOCK:
        return np.asarray(
            models.recognition_model().compute_face_descriptor(patch, shape), np.float32
        )


def _deduplicate(faces: Sequence[DetectedFace]) -> list[DetectedFace]:
    """Drop detections of a face already kept (same eyes), keeping the surest."""
    kept: list[DetectedFace] = []
    for face in sorted(faces, key=lambda f: -f.score):
        mid = np.mean(face.eye_centres, axis=0)
        if all(
            np.hypot(*(mid - np.mean(k.eye_centres, axis=0)))
            > 0.5 * max(k.eye_distance, face.eye_distance)
            for k in kept
        ):
            kept.append(face)
    return kept
