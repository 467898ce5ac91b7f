"""Tiny synthetic Debian packages for the tests (no network): an ar archive of
debian-binary, control.tar.gz and data.tar.{xz,gz}, built in memory."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

from flashvm.sysroot.ar import write_ar


def tar_bytes(entries: list[tuple], compression: str = "xz") -> bytes:
    """A tar archive of entries: ("dir", name) | ("file", name, data, mode) | ("sym", name, target)
    | ("hard", name, target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}" if compression else "w") as tar:
        for kind, name, *rest in entries:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "file":
                data, mode = rest
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname, info.mode = rest[0], 0o777
                tar.addfile(info)
    return buf.getvalue()


def make_deb(path: Path, name: str, data: list[tuple], *, postinst: str = "", compression: str = "xz",
             data_tar: bytes | None = None, data_member: str | None = None) -> Path:
    control = [("dir", "./"),
               ("file", "./control", f"Package: {name}\nVersion: 1.0\nArchitecture: mipsel\n"
                                     f"Description: test package\n more text\n".encode(), 0o644)]
    if postinst:
        control.append(("file", "./postinst", postinst.encode(), 0o755))
    if data_tar is None:
        data_tar = tar_bytes([("dir", "./"), *data], compression)
    member = data_member or f"data.tar.{compression}"
    path.write_bytes(write_ar([("debian-binary", b"2.0\n"), ("control.tar.gz", tar_bytes(control, "gz")),
                               (member, data_tar)]))
    return path
