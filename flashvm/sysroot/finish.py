"""What a real install does after unpacking, done without running the packages' scripts.

dpkg would run each package's maintainer scripts; these are shell scripts for
the target machine, so the steps that matter for running programs are done
here in Python instead:

* merged /usr: /bin, /sbin, /lib (and /lib32, /lib64, /libo32 when used) are
  links into /usr, as Debian 12 installs them;
* the loader: libc6 ships /lib/ld.so.1, the PT_INTERP of mipsel programs;
* library search: Debian's glibc looks in /lib/mipsel-linux-gnu and
  /usr/lib/mipsel-linux-gnu (its trusted directories) even without an
  /etc/ld.so.cache, which ldconfig would write.  No cache is written; instead
  the libraries of any other directory named in /etc/ld.so.conf(.d) are linked
  into /usr/lib/mipsel-linux-gnu, so every library is found without one;
* alternatives: `update-alternatives --install LINK NAME PATH PRIORITY` in a
  postinst (gcc's /usr/bin/cc, for instance) becomes the links it would make;
* /etc/passwd, /etc/group, /tmp, an empty /dev (the guest OS provides devices);
* busybox's applet links, when busybox is installed.

Every link made here is relative (deb.make_link), like the packages' own.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from .deb import ALIASED, make_link, resolve_inside

TRIPLET = "mipsel-linux-gnu"
LOADER = "/lib/ld.so.1"
TRUSTED_DIRS = (f"/lib/{TRIPLET}", f"/usr/lib/{TRIPLET}", "/lib", "/usr/lib")

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
GROUP = "root:x:0:\ndaemon:x:1:\nbin:x:2:\ntty:x:5:\nstaff:x:50:\nusers:x:100:\nnogroup:x:65534:\n"

_ALTERNATIVE = re.compile(r"--install\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)")


def merged_usr(root: Path) -> None:
    """The top-level links into /usr (before any package unpacks: files follow them)."""
    for name in ALIASED:
        if name in ("bin", "sbin", "lib"):
            (root / "usr" / name).mkdir(parents=True, exist_ok=True)
        if (root / "usr" / name).is_dir() and not (root / name).is_symlink():
            os.symlink(f"usr/{name}", root / name)


def base_files(root: Path) -> None:
    """/etc/passwd and /etc/group (unless a package shipped them), /tmp, /dev, /root, /proc."""
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    for name, text in (("passwd", PASSWD), ("group", GROUP)):
        if not (etc / name).exists():
            (etc / name).write_text(text)
    for d, mode in (("tmp", 0o1777), ("dev", 0o755), ("root", 0o700), ("proc", 0o555), ("var/tmp", 0o1777)):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(root / d, mode)


def loader_link(root: Path) -> str | None:
    """The path of the program loader inside `root` (None when no package ships one)."""
    if resolve_inside(root, LOADER).is_file():
        return LOADER
    real = resolve_inside(root, f"/lib/{TRIPLET}/ld.so.1")
    if real.is_file():                            # the loader without its link: make the link libc6 ships
        os.symlink(f"{TRIPLET}/ld.so.1", resolve_inside(root, LOADER, follow_last=False))
        return LOADER
    return None


def _conf_dirs(root: Path, conf: str, seen: set[str]) -> list[str]:
    """The directories an ld.so.conf file names, following its `include` lines."""
    path = resolve_inside(root, conf)
    if conf in seen or not path.is_file():
        return []
    seen.add(conf)
    dirs: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("include "):
            pattern = line.split(None, 1)[1]
            base = resolve_inside(root, PurePosixPath(pattern).parent)
            for f in sorted(base.glob(PurePosixPath(pattern).name)) if base.is_dir() else []:
                dirs += _conf_dirs(root, str(PurePosixPath(pattern).parent / f.name), seen)
        elif line.startswith("/"):
            dirs.append(line)
    return dirs


def library_search(root: Path) -> list[str]:
    """Make every library of the ld.so.conf directories findable in a trusted directory.

    Writes /etc/ld.so.conf (the include line Debian's ships) when missing and
    returns the paths linked into /usr/lib/mipsel-linux-gnu.
    """
    conf = resolve_inside(root, "/etc/ld.so.conf")
    if not conf.exists():
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("include /etc/ld.so.conf.d/*.conf\n")
    trusted = {str(resolve_inside(root, d)) for d in TRUSTED_DIRS}
    target = resolve_inside(root, f"/usr/lib/{TRIPLET}")
    linked: list[str] = []
    for d in _conf_dirs(root, "/etc/ld.so.conf", set()):
        host = resolve_inside(root, d)
        if str(host) in trusted or not host.is_dir():
            continue
        for lib in sorted(host.iterdir()):
            if ".so" in lib.name and not (target / lib.name).exists() and not (target / lib.name).is_symlink():
                target.mkdir(parents=True, exist_ok=True)
                make_link(root, str(PurePosixPath(d) / lib.name), target / lib.name)
                linked.append(f"/usr/lib/{TRIPLET}/{lib.name}")
    return linked


def alternatives(root: Path, postinsts: Iterable[str]) -> dict[str, str]:
    """The links `update-alternatives --install` would make (highest priority wins); {link: path}."""
    best: dict[str, tuple[int, str, str]] = {}
    for script in postinsts:
        for link, name, path, prio in _ALTERNATIVE.findall(script.replace("\\\n", " ")):
            if resolve_inside(root, path).exists() and (name not in best or int(prio) > best[name][0]):
                best[name] = (int(prio), link, path)
    made: dict[str, str] = {}
    altdir = root / "etc" / "alternatives"
    for name, (_, link, path) in sorted(best.items()):
        dest = resolve_inside(root, link, follow_last=False)
        if dest.exists() or dest.is_symlink():
            continue                              # a package ships this path: leave it
        altdir.mkdir(parents=True, exist_ok=True)
        if (altdir / name).is_symlink():
            (altdir / name).unlink()
        make_link(root, path, altdir / name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        make_link(root, f"/etc/alternatives/{name}", dest)
        made[link] = path
    return made


def busybox_applets(binary: Path, root: Path) -> list[str]:
    """busybox's applets as paths relative to / (e.g. "usr/bin/awk").

    The binary's own `--list-full` under qemu-mipsel says where each goes;
    without qemu the names are read from the binary (a NUL-separated, sorted
    table that starts with "[" and "[[") and all go to /usr/bin.
    """
    qemu = shutil.which("qemu-mipsel")
    if qemu is not None:
        try:
            r = subprocess.run([qemu, "-L", str(root), str(binary), "--list-full"], capture_output=True, text=True, timeout=30)
            listed = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
            if r.returncode == 0 and listed:
                return listed
        except (OSError, subprocess.TimeoutExpired):
            pass                                   # qemu cannot run it: read the table
    return [f"usr/bin/{name}" for name in applet_names(binary.read_bytes())]


def applet_names(blob: bytes) -> list[str]:
    """The applet name table of a busybox binary (empty when it has none)."""
    start = blob.find(b"[\0[[\0")
    if start < 0:
        return []
    names: list[str] = []
    for raw in blob[start:].split(b"\0"):
        if not raw or not re.fullmatch(rb"[a-z0-9_.\[\-]+", raw) or (names and raw.decode() <= names[-1]):
            break                                 # the table is sorted: anything out of order ends it
        names.append(raw.decode())
    return names


def busybox_links(root: Path) -> list[str]:
    """Links to /usr/bin/busybox for its applets that no package provides; the links made."""
    binary = resolve_inside(root, "/usr/bin/busybox")
    if not binary.is_file():
        return []
    made: list[str] = []
    for applet in busybox_applets(binary, root):
        rel = PurePosixPath("/", applet)
        if rel.name == "busybox":
            continue
        dest = resolve_inside(root, rel, follow_last=False)
        if dest.exists() or dest.is_symlink():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        make_link(root, "/usr/bin/busybox", dest)
        made.append(str(rel))
    return made


def dpkg_status(root: Path, controls: Mapping[str, Mapping[str, str]]) -> None:
    """/var/lib/dpkg/status listing the packages as installed (dpkg-query reads it)."""
    paras = []
    for name in sorted(controls):
        fields = {k: v for k, v in controls[name].items() if not k.startswith("script:")}
        fields = {"Package": fields.pop("Package", name), "Status": "install ok installed", **fields}
        paras.append("".join(f"{k}: {v}\n".replace("\n", "\n ").rstrip(" ") for k, v in fields.items()))
    status = root / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n".join(paras))
