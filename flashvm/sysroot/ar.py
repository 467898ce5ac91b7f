"""Reading Unix `ar` archives, the container of a Debian package.

A .deb is an ar archive of three members: `debian-binary`, `control.tar.*`
and `data.tar.*`.  The format is an 8-byte magic followed by members, each a
60-byte ASCII header (name, mtime, uid, gid, octal mode, decimal size, the
two bytes "`\\n") and its data, padded to an even offset.  GNU ar ends short
names with "/" and BSD ar stores long names as "#1/LEN" before the data;
both are accepted so a hand-made archive reads as well as Debian's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

MAGIC = b"!<arch>\n"
HEADER_SIZE = 60


class ArError(ValueError):
    """The bytes are not a well-formed ar archive."""


@dataclass(frozen=True)
class ArMember:
    name: str
    mode: int
    data: bytes


def read_ar(blob: bytes, what: str = "archive") -> Iterator[ArMember]:
    """The members of the ar archive `blob`, in order (`what` names it in errors)."""
    if not blob.startswith(MAGIC):
        raise ArError(f"{what}: not an ar archive (bad magic)")
    pos = len(MAGIC)
    while pos < len(blob):
        if blob[pos:pos + 1] == b"\n":          # the padding byte of an odd-sized member
            pos += 1
            continue
        header = blob[pos:pos + HEADER_SIZE]
        if len(header) < HEADER_SIZE or header[58:60] != b"`\n":
            raise ArError(f"{what}: truncated or corrupt member header at byte {pos}")
        name = header[0:16].decode("ascii", "replace").rstrip(" ")
        try:
            size = int(header[48:58].decode("ascii").strip() or "0", 10)
            mode = int(header[40:48].decode("ascii").strip() or "0", 8)
        except ValueError:
            raise ArError(f"{what}: bad size or mode in the member header at byte {pos}") from None
        start = pos + HEADER_SIZE
        end = start + size
        if end > len(blob):
            raise ArError(f"{what}: member {name!r} runs past the end of the archive")
        data = blob[start:end]
        if name.startswith("#1/"):               # BSD: the name is the first LEN bytes of the data
            n = int(name[3:], 10)
            name, data = data[:n].rstrip(b"\0").decode("utf-8", "replace"), data[n:]
        elif name.endswith("/") and name not in ("/", "//"):
            name = name[:-1]
        if name not in ("/", "//"):              # skip GNU symbol and long-name tables
            yield ArMember(name, mode, data)
        pos = end + (size & 1)


def write_ar(members: list[tuple[str, bytes]]) -> bytes:
    """An ar archive of `members` (name, data): what the tests build .debs with."""
    out = [MAGIC]
    for name, data in members:
        if len(name) > 16:
            raise ArError(f"member name {name!r} is longer than 16 bytes")
        out.append(f"{name:<16}{0:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n".encode("ascii"))
        out.append(data)
        if len(data) & 1:
            out.append(b"\n")
    return b"".join(out)
