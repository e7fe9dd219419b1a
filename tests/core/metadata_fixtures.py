"""XMP packets written the way each photo manager writes them, for the names tests."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

NS = (
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" '
    'xmlns:MP="http://ns.microsoft.com/photo/1.2/" '
    'xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#" '
    'xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
)


def packet(body: str, attrs: str = "") -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {NS} {attrs}>{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def digikam_packet(
    regions: list[tuple[str, float, float, float, float]], dims: tuple[int, int] | None = None
) -> bytes:
    """As exiv2 writes for digiKam: regions as rdf:Description attributes (centre x, y,
    w, h), MP regions beside them, People/ tags."""
    applied = (
        f'<mwg-rs:AppliedToDimensions stDim:w="{dims[0]}" stDim:h="{dims[1]}" stDim:unit="pixel"/>'
        if dims
        else ""
    )
    lis = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="{n}" mwg-rs:Type="Face">'
        f'<mwg-rs:Area stArea:x="{x}" stArea:y="{y}" stArea:w="{w}" stArea:h="{h}" '
        'stArea:unit="normalized"/></rdf:Description></rdf:li>'
        for n, x, y, w, h in regions
    )
    mp = "".join(
        f'<rdf:li MPReg:PersonDisplayName="{n}" '
        f'MPReg:Rectangle="{x - w / 2}, {y - h / 2}, {w}, {h}"/>'
        for n, x, y, w, h in regions
    )
    tags = "".join(f"<rdf:li>People/{n}</rdf:li>" for n, *_ in regions)
    body = (
        f"<digiKam:TagsList><rdf:Seq>{tags}<rdf:li>Places/Brighton</rdf:li>"
        "<rdf:li>People/Unknown</rdf:li></rdf:Seq></digiKam:TagsList>"
        f'<mwg-rs:Regions rdf:parseType="Resource">{applied}<mwg-rs:RegionList><rdf:Bag>{lis}'
        "</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        f'<MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag>{mp}</rdf:Bag>'
        "</MPRI:Regions></MP:RegionInfo>"
    )
    return packet(body, 'xmp:CreatorTool="digiKam-8.2.0"')


def lightroom_packet(regions: list[tuple[str, float, float, float, float]]) -> bytes:
    """As Lightroom Classic writes: parseType=Resource structures, element values."""
    lis = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f'<mwg-rs:Area stArea:h="{h}" stArea:w="{w}" stArea:x="{x}" stArea:y="{y}" '
        f'stArea:unit="normalized"/><mwg-rs:Name>{n}</mwg-rs:Name>'
        "<mwg-rs:Type>Face</mwg-rs:Type></rdf:li>"
        for n, x, y, w, h in regions
    )
    subjects = "".join(f"<rdf:li>People|{n}</rdf:li>" for n, *_ in regions)
    body = (
        '<mwg-rs:Regions rdf:parseType="Resource">'
        '<mwg-rs:AppliedToDimensions rdf:parseType="Resource">'
        "<stDim:h>400</stDim:h><stDim:unit>pixel</stDim:unit><stDim:w>600</stDim:w>"
        "</mwg-rs:AppliedToDimensions>"
        f"<mwg-rs:RegionList><rdf:Bag>{lis}</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
        f"<lr:hierarchicalSubject><rdf:Bag>{subjects}<rdf:li>Places|Kent</rdf:li></rdf:Bag>"
        "</lr:hierarchicalSubject>"
    )
    return packet(body, 'xmp:CreatorTool="Adobe Photoshop Lightroom Classic 12.0 (Windows)"')


def windows_packet(name: str, rect: str) -> bytes:
    """As Windows Live Photo Gallery writes: Microsoft regions only."""
    body = (
        '<MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag>'
        '<rdf:li rdf:parseType="Resource">'
        f"<MPReg:Rectangle>{rect}</MPReg:Rectangle>"
        f"<MPReg:PersonDisplayName>{name}</MPReg:PersonDisplayName>"
        "</rdf:li></rdf:Bag></MPRI:Regions></MP:RegionInfo>"
    )
    return packet(body, 'xmp:CreatorTool="Windows Photo Editor 10.0.10011.16384"')


def jpeg_with_xmp(
    img: Image.Image, xmp: bytes | None, orientation: int = 1, taken: str | None = None
) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    buf = io.BytesIO()
    options = {"xmp": xmp} if xmp else {}
    img.save(buf, "JPEG", quality=95, exif=exif, **options)
    return buf.getvalue()


def png_with_xmp(img: Image.Image, xmp: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=info)
    return buf.getvalue()
