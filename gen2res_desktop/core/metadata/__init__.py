"""People named in photo files by other photo managers, read on import and written on export.

``regions`` holds the shared record (:class:`NamedRegion`) and the geometry; ``xmp_read``
and ``picasa`` read what digiKam, Lightroom, Immich, Windows Photo Gallery and Picasa
wrote; ``xmp_write`` writes MWG regions and people keywords into exports; ``reader``
gathers every source for one photo. Everything here is Qt-free and never writes to the
files it reads.
"""

from gen2res_desktop.core.metadata.reader import NamesRead, read_photo_names
from gen2res_desktop.core.metadata.regions import SOURCE_LABELS, NamedRegion

__all__ = ["SOURCE_LABELS", "NamedRegion", "NamesRead", "read_photo_names"]
