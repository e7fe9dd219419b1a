"""Who is this face: dlib's 128-d descriptors, a similarity score and subject suggestions.

dlib's face recognition model maps a face to a 128-d vector; two faces are the same person
when the Euclidean distance between their vectors is under 0.6 (99.38% on LFW with that
threshold). Distances between different people are mostly 0.7 to 1.0 and rarely above 1.2.

The similarity score shown to users is ``1 - distance / 1.2`` clipped to [0, 1]: 1 for the
same vector, 0.5 exactly at dlib's same-person threshold (0.6), 0 from 1.2 on. So "at
least 0.5" reads as "dlib would call this the same person".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from gen2res_desktop.core.faces import geometry
from gen2res_desktop.core.faces.detect import DetectedFace, descriptor_at

SAME_PERSON_DISTANCE = 0.6
_ZERO_SIMILARITY_DISTANCE = 2 * SAME_PERSON_DISTANCE


def descriptor_distance(desc_a: np.ndarray, desc_b: np.ndarray) -> float:
    if desc_a is None or desc_b is None:
        raise ValueError("face descriptor missing (detect with with_descriptors=True)")
    return float(np.linalg.norm(np.asarray(desc_a, np.float64) - np.asarray(desc_b, np.float64)))


def identity_similarity(desc_a: np.ndarray, desc_b: np.ndarray) -> float:
    """Similarity in [0, 1] of two descriptors: ``1 - distance / 1.2``, clipped.

    0.5 is dlib's same-person threshold (distance 0.6); see the module docstring.
    """
    d = descriptor_distance(desc_a, desc_b)
    return float(np.clip(1.0 - d / _ZERO_SIMILARITY_DISTANCE, 0.0, 1.0))


def face_descriptor(image: Image.Image | np.ndarray, face: DetectedFace) -> np.ndarray:
    """The 128-d descriptor (float32) of ``face`` in ``image``, at the face's landmarks."""
    return descriptor_at(geometry.as_rgb_array(image), face)


def suggest_subject(
    descriptor: np.ndarray,
    references: Mapping[str, Sequence[np.ndarray]],
    threshold: float = SAME_PERSON_DISTANCE,
) -> tuple[str, float] | None:
    """The subject whose reference faces are nearest to ``descriptor``, with that distance.

    A subject's distance is the smallest distance to any of its reference descriptors (one
    good match is enough: reference photos span ages and angles). The nearest subject is
    suggested when its distance is under ``threshold``, dlib's same-person threshold 0.6
    by default (similarity 0.5); otherwise None (a stranger, or a subject without
    references yet). Returns (subject name, Euclidean distance).
    """
    best: tuple[str, float] | None = None
    for name, refs in references.items():
        if len(refs) == 0:
            continue
        d = min(descriptor_distance(descriptor, r) for r in refs)
        if best is None or d < best[1]:
            best = (name, d)
    if best is None or best[1] >= threshold:
        return None
    return best
