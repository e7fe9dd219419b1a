"""Downloading one file out of a large remote zip archive without the rest of it.

HTTP Range requests read the archive's size, its end-of-central-directory record (ZIP64
where the archive needs it) and its central directory, which says where the member's
compressed bytes lie; only those are then fetched (resuming a cut-short try), inflated,
and checked against the CRC32 and size the central directory gives. Stdlib only, so the
command line stays light.
"""

from __future__ import annotations

import http.client
import re
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gen2res_desktop.core.errors import Gen2ResError
from gen2res_desktop.core.progress import CancelToken, Progress, ProgressCallback

_EOCD, _EOCD64, _LOC64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_CENTRAL, _LOCAL = b"PK\x01\x02", b"PK\x03\x04"
_TAIL = 22 + 0xFFFF + 20  # the EOCD record, the longest comment, the ZIP64 locator
_CHUNK = 1 << 16
STORED, DEFLATED = 0, 8


@dataclass(frozen=True)
class ZipMember:
    """A member as the central directory describes it."""

    name: str
    method: int
    flags: int
    crc32: int
    compressed_size: int
    size: int
    header_offset: int


# how errors are worded is the caller's: a download names its model
Fail = Callable[[str], Gen2ResError]


@dataclass
class RemoteZip:
    url: str
    headers: dict[str, str]
    fail: Fail
    offline: Callable[[BaseException], Gen2ResError]
    timeout: float = 30.0
    size: int = 0

    def _open(self, start: int, end: int | None):
        """The response to ``Range: bytes=start-end``, checked to be that part."""
        rng = f"bytes={start}-{'' if end is None else end}"
        request = urllib.request.Request(self.url, headers={**self.headers, "Range": rng})
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise self.fail(f"the archive is no longer at {self.url} (HTTP 404)") from e
            raise self.fail(f"the server answered HTTP {e.code}; try again later") from e
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
            raise self.offline(e) from e
        sent = re.match(r"bytes (\d+)-(\d+)/(\d+)", response.headers.get("Content-Range", ""))
        if response.status != 206 or not sent or int(sent.group(1)) != start:
            response.close()
            raise self.fail(
                "the server does not send parts of files (HTTP range requests), which "
                "downloading one file out of the archive needs"
            )
        self.size = int(sent.group(3))
        return response

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive) of the archive."""
        with self._open(start, end) as response:
            try:
                data = response.read()
            except (OSError, http.client.HTTPException, ValueError) as e:
                raise self.offline(e) from e
        if len(data) != end - start + 1:
            raise self.fail("the connection dropped while reading the archive's index")
        return data

    # -- the index ------------------------------------------------------------------------

    def find(self, name: str) -> ZipMember:
        """``name``'s entry in the central directory."""
        self.read(0, 0)  # learns the archive's size from Content-Range
        tail_start = max(0, self.size - _TAIL)
        tail = self.read(tail_start, self.size - 1)
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) - at < 22:
            raise self.fail("not a zip archive (no end-of-central-directory record)")
        entries, cd_size, cd_offset = struct.unpack("<10xHII", tail[at : at + 20])
        if 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
            loc = at - 20
            if loc < 0 or tail[loc : loc + 4] != _LOC64:
                raise self.fail("a ZIP64 archive without its ZIP64 locator")
            (eocd64,) = struct.unpack("<8xQ", tail[loc : loc + 16])
            rec = self._slice(tail, tail_start, eocd64, 56)
            if rec[:4] != _EOCD64:
                raise self.fail("the archive's ZIP64 end record is damaged")
            cd_size, cd_offset = struct.unpack("<40xQQ", rec[:56])
        if cd_offset + cd_size > self.size:
            raise self.fail("the archive's central directory lies outside the file")
        cd = self._slice(tail, tail_start, cd_offset, cd_size)
        return self._entry(cd, name)

    def _slice(self, tail: bytes, tail_start: int, offset: int, length: int) -> bytes:
        """Bytes at ``offset``: from the tail already read where they lie in it."""
        if offset >= tail_start and offset + length <= tail_start + len(tail):
            return tail[offset - tail_start : offset - tail_start + length]
        return self.read(offset, offset + length - 1)

    def _entry(self, cd: bytes, name: str) -> ZipMember:
        """The entry named ``name``; else the one entry whose path ends with it (an
        archive packed from one folder up)."""
        found: list[ZipMember] = []
        p = 0
        while cd[p : p + 4] == _CENTRAL and p + 46 <= len(cd):
            flags, method, _t, _d, crc, csize, usize, nlen, xlen, clen = struct.unpack(
                "<8xHHHHIIIHHH", cd[p : p + 34]
            )
            (offset,) = struct.unpack("<I", cd[p + 42 : p + 46])
            raw = cd[p + 46 : p + 46 + nlen]
            path = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
            if path == name or path.endswith("/" + name):
                extra = cd[p + 46 + nlen : p + 46 + nlen + xlen]
                usize, csize, offset = _zip64(extra, usize, csize, offset)
                entry = ZipMember(path, method, flags, crc, csize, usize, offset)
                if path == name:
                    return entry
                found.append(entry)
            p += 46 + nlen + xlen + clen
        if len(found) == 1:
            return found[0]
        raise self.fail(f"the archive holds no {name}")

    # -- the member -----------------------------------------------------------------------

    def data_offset(self, member: ZipMember) -> int:
        """Where the member's compressed bytes start (after its local header)."""
        head = self.read(member.header_offset, member.header_offset + 29)
        if head[:4] != _LOCAL:
            raise self.fail(f"the archive's entry for {member.name} is damaged")
        nlen, xlen = struct.unpack("<HH", head[26:30])
        return member.header_offset + 30 + nlen + xlen

    def fetch(
        self,
        member: ZipMember,
        part: Path,
        progress: ProgressCallback,
        cancel: CancelToken,
        label: str,
    ) -> None:
        """Append the member's compressed bytes to ``part`` from where it ends."""
        if member.flags & 1:
            raise self.fail(f"{member.name} is encrypted in the archive")
        if member.method not in (STORED, DEFLATED):
            raise self.fail(f"{member.name} is compressed with method {member.method}")
        have = part.stat().st_size if part.is_file() else 0
        if have > member.compressed_size:
            part.unlink()
            have = 0
        if have == member.compressed_size:
            return
        start = self.data_offset(member)
        end = start + member.compressed_size - 1
        with self._open(start + have, end) as response, open(part, "ab") as f:
            while have < member.compressed_size:
                cancel.check()
                try:
                    chunk = response.read(min(_CHUNK, member.compressed_size - have))
                except (OSError, http.client.HTTPException, ValueError) as e:
                    raise self.fail(_cut(have, member)) from e
                if not chunk:
                    break
                f.write(chunk)
                have += len(chunk)
                progress(Progress("download", have, member.compressed_size, label))
        if have < member.compressed_size:
            raise self.fail(_cut(have, member))


def _cut(have: int, member: ZipMember) -> str:
    return (
        f"the download is incomplete ({have} of {member.compressed_size} bytes, the "
        "connection dropped); start the download again to resume"
    )


def _zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from the ZIP64 extra field, for those the entry marks 0xFFFFFFFF."""
    q = 0
    while q + 4 <= len(extra):
        tag, length = struct.unpack("<HH", extra[q : q + 4])
        body = extra[q + 4 : q + 4 + length]
        if tag == 1:
            values, k = [], 0
            for v in (usize, csize, offset):
                if v == 0xFFFFFFFF:
                    (v,) = struct.unpack("<Q", body[k : k + 8])
                    k += 8
                values.append(v)
            return values[0], values[1], values[2]
        q += 4 + length
    return usize, csize, offset


def inflate(member: ZipMember, part: Path, dest: Path, fail: Fail) -> None:
    """Write the member's bytes from its compressed ``part`` to ``dest``; check its CRC32
    and size against the central directory. ``part`` is removed on a mismatch."""
    crc, size = 0, 0
    d = zlib.decompressobj(-15) if member.method == DEFLATED else None
    bad = None
    try:
        with open(part, "rb") as src, open(dest, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                # inflated a bounded piece at a time, and never past the size the central
                # directory gives: a few compressed bytes must not fill memory or the disk
                while chunk and size <= member.size:
                    data = d.decompress(chunk, 1 << 20) if d else chunk
                    chunk = d.unconsumed_tail if d else b""
                    crc, size = zlib.crc32(data, crc), size + len(data)
                    out.write(data)
                if size > member.size:
                    break
            if d and size <= member.size:
                tail = d.flush()
                crc, size = zlib.crc32(tail, crc), size + len(tail)
                out.write(tail)
    except zlib.error as e:
        bad = f"{member.name} is damaged in the archive ({e})"
    if bad is None and (crc != member.crc32 or size != member.size):
        bad = f"{member.name} failed the archive's own CRC32 check"
    if bad:
        dest.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
        raise fail(f"{bad}; it was removed, run the command again to fetch it anew")
