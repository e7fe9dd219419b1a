"""Who is this face: dlib's 128-d descriptors, a similarity score and subject suggestions.

dlib's face recognition model maps a face to a 128-d vector; two faces are the same person
when the Euclidean distance between their vectors is under 0.6 (99.38% on LFW with that
threshold). Distances between different people are mostly 0.7 to 1.0 and rarely above 1.2.

The similarity score shown to users is ``1 - distance / 1.2`` clipped to [0, 1]: 1 for the
same vector, 0.5 exactly at dlib's same-person threshold (0.6), 0 from 1.2 on. So "at
least 0.5" reads as "dlib would call this the same person".

Two scores of a restored face are built on it, never to be confused:

- *identity* (:func:`subject_identity`): how much the face looks like its subject, against
  that subject's reference faces. Did the restore turn the face into Grandma, or into a
  stranger?
- *faithfulness*: the similarity of the restored face to the damaged face it came from
  (``core.photo_restore``). Doing nothing scores best here, so it says how much the face
  was changed, not whether it became more like the person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from gen2res_desktop.core.faces import geometry
from gen2res_desktop.core.faces.detect import DetectedFace, descriptor_at

SAME_PERSON_DISTANCE = 0.6
_ZERO_SIMILARITY_DISTANCE = 2 * SAME_PERSON_DISTANCE
# identity_similarity at SAME_PERSON_DISTANCE: under it, dlib would not call it the same person
SAME_PERSON_SIMILARITY = 1.0 - SAME_PERSON_DISTANCE / _ZERO_SIMILARITY_DISTANCE
# how many of the nearest reference faces an identity score averages
IDENTITY_NEAREST = 3


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


def subject_identity(
    descriptor: np.ndarray, references: Sequence[np.ndarray], k: int = IDENTITY_NEAREST
) -> float | None:
    """How much a face looks like a subject: the mean :func:`identity_similarity` of
    ``descriptor`` to the ``k`` nearest of the subject's reference descriptors (all of them
    when there are fewer than ``k``). None when the subject has no reference faces yet.

    The nearest few rather than all: reference photos span decades and angles, and a face
    need only look like the person at one age. More than one: a single lucky match to one
    reference says less than three. 0.5 is dlib's same-person line, as for the similarity.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    refs = [r for r in references if r is not None]
    if not refs:
        return None
    sims = sorted((identity_similarity(descriptor, r) for r in refs), reverse=True)
    return float(np.mean(sims[:k]))


def looks_less_alike(identity: float | None, identity_before: float | None) -> bool:
    """Whether a restore lowered the identity score: the restored face looks less like the
    subject than the damaged one did. Compared at the two decimals shown, so the flag never
    contradicts the numbers beside it."""
    if identity is None or identity_before is None:
        return False
    return round(identity, 2) < round(identity_before, 2)


def under_same_person_line(identity: float | None) -> bool:
    """Whether an identity score lies under dlib's same-person line (0.5, as shown)."""
    return identity is not None and round(identity, 2) < SAME_PERSON_SIMILARITY


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
