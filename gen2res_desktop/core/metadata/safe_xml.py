"""A hardened XML parse for metadata found in other people's files.

XMP packets and Picasa's contacts.xml come from outside: a packet may declare entities
(billion laughs), point at external ones (a file on the disk, a URL) or simply be huge.
No DTD is legitimate in either format, so any document type declaration, entity
declaration or external reference is refused outright, before expansion; the same rules
defusedxml applies, with the standard library's expat (defusedxml is not a dependency).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

# A generous XMP packet with hundreds of regions and keywords is a few hundred kB; JPEG
# limits one packet to 64 kB. Anything near this is not metadata worth reading.
MAX_XML_BYTES = 4 * 1024 * 1024


class UnsafeXML(ValueError):
    """The document was refused (DTD, entities, too large) or is not well-formed XML."""


def _refuse(what: str):
    def handler(*_: object) -> None:
        raise UnsafeXML(f"refused: the XML has {what}")

    return handler


def parse_xml(data: bytes | str, *, max_bytes: int = MAX_XML_BYTES) -> ET.Element:
    """The root element of ``data``; raises :class:`UnsafeXML` for anything suspicious.

    Element names come out as ElementTree spells them, ``{namespace}local``, and
    attributes the same way, so callers match on namespace URIs, never on prefixes (each
    application picks its own).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise UnsafeXML(f"refused: {len(raw)} bytes of XML (at most {max_bytes} are read)")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse("a document type declaration")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("an unparsed entity")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.NotationDeclHandler = _refuse("a notation declaration")

    def name(n: str) -> str:
        return "{" + n if "}" in n else n

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise UnsafeXML(f"not well-formed XML ({e})") from e
    except (AssertionError, IndexError) as e:  # TreeBuilder on an empty document
        raise UnsafeXML("no XML element") from e
    if root is None:
        raise UnsafeXML("no XML element")
    return root
