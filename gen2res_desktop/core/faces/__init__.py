"""Faces in whole photos: detection, landmarks, alignment, paste-back and identity (dlib)."""

from gen2res_desktop.core.faces.align import (
    AlignedFace,
    align_face,
    alignment_matrix,
    ffhq_quad,
    square_crop_region,
)
from gen2res_desktop.core.faces.blend import crop_mask, match_colour, paste_back, photo_mask
from gen2res_desktop.core.faces.detect import (
    DEFAULT_MAX_SIDE,
    DETECTORS,
    DetectedFace,
    describe_face,
    detect_faces,
)
from gen2res_desktop.core.faces.identity import (
    SAME_PERSON_DISTANCE,
    descriptor_distance,
    face_descriptor,
    identity_similarity,
    suggest_subject,
)

__all__ = [
    "DEFAULT_MAX_SIDE",
    "DETECTORS",
    "SAME_PERSON_DISTANCE",
    "AlignedFace",
    "DetectedFace",
    "align_face",
    "alignment_matrix",
    "crop_mask",
    "describe_face",
    "descriptor_distance",
    "detect_faces",
    "face_descriptor",
    "ffhq_quad",
    "identity_similarity",
    "match_colour",
    "paste_back",
    "photo_mask",
    "square_crop_region",
    "suggest_subject",
]
