"""Running a sysroot's programs on the guest OS: the sysroot is `/` (its cached
root image behind a copy-on-write overlay, flashvm.guestos.rootimage), and the
command lines run as children of init (the multi-command init, which also
reaps orphans, as a Linux init would), never as init itself.

    files, argv, env, image = sysroot_boot(Path("r"), [["/usr/bin/sqlite3", ":memory:", "select 6*7"]])
    boot_os(files, argv, env=env, root_image=image)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from flashvm.guestos.multi import multi_argv, multi_program
from flashvm.guestos.rootimage import sysroot_image
from flashvm.spec import GuestFile
from flashvm.sysroot import Sysroot
from flashvm.sysroot.deb import resolve_inside

# init lives outside the sysroot's directories (not under /sbin, a link in a
# merged-/usr root); it comes in the initrd with the run's other files
SYSROOT_INIT = "/.flashvm/init"
# what a login shell on Debian would have; HOME exists in every sysroot
SYSROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
               "TERM": "dumb"}


def sysroot_boot(sysroot: Sysroot | Path, commands: Sequence[Sequence[str]],
                 files: Optional[Mapping[str, GuestFile]] = None, *,
                 progress: Optional[Callable[[str], None]] = None,
                 image_files: Optional[Mapping[str, GuestFile]] = None
                 ) -> tuple[dict[str, GuestFile], list[str], dict[str, str], Path]:
    """(initrd files, init argv, environment, root image) that run `commands`
    (guest argv lists, paths inside the sysroot) at once on the sysroot, with
    `files` ({guest path: bytes or host path}) added to it for this run, and
    `image_files` baked into the root image (large inputs: an image is cached
    and read from the disk, while an initrd is copied at every boot)."""
    image = sysroot_image(sysroot, progress=progress, extra=image_files)
    argv = [SYSROOT_INIT, *multi_argv(commands)[1:]]
    root = sysroot.root if isinstance(sysroot, Sysroot) else Path(sysroot)
    placed = {in_root(root, g): f for g, f in (files or {}).items()}
    return {**placed, SYSROOT_INIT: multi_program()}, argv, dict(SYSROOT_ENV), image


def in_root(root: Path, guest: str) -> str:
    """`guest` with the links among its directories followed inside the sysroot
    `root` (/bin/prog -> /usr/bin/prog in a merged-/usr root): the kernel writes
    the initrd's files without following links."""
    return "/" + resolve_inside(root, guest, follow_last=False).relative_to(root).as_posix()
