"""Qt-free album store: photos, subjects, tags, faces, adapters, restorations and jobs."""

from gen2res_desktop.library.models import (
    AdapterRecord,
    CheckReport,
    Face,
    FaceData,
    ImportSummary,
    Job,
    Photo,
    PhotoLink,
    Restoration,
    SkippedFile,
    Subject,
)
from gen2res_desktop.library.store import Library

__all__ = [
    "AdapterRecord",
    "CheckReport",
    "Face",
    "FaceData",
    "ImportSummary",
    "Job",
    "Library",
    "Photo",
    "PhotoLink",
    "Restoration",
    "SkippedFile",
    "Subject",
]
