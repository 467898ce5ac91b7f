"""``flashvm fs ...``: build and inspect flashfs images.

    flashvm fs mkfs disk.img --size 64M --from rootfs/ --add build/init:/sbin/init
    flashvm fs ls disk.img /bin
    flashvm fs cat disk.img /etc/passwd
    flashvm fs get disk.img /var/log/messages messages.txt
    flashvm fs fsck disk.img

Errors are one line on stderr and exit status 2.
"""
from __future__ import annotations

import stat as stat_mod
import sys
import time
from pathlib import Path
from typing import List, NoReturn, Optional

import typer

from .flashfs import FlashFS
from .layout import FsError
from .mkfs import mkfs as _mkfs, parse_size

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Build and inspect flashfs disk images (the guest OS's file system).")


def _fail(msg: str) -> NoReturn:
    print(f"flashvm fs: error: {msg}", file=sys.stderr)
    raise typer.Exit(2)


def _open(image: Path) -> FlashFS:
    try:
        return FlashFS(image, writable=False)
    except FsError as e:
        _fail(str(e))


@app.command("mkfs")
def mkfs_cmd(
    image: Path = typer.Argument(..., help="image file to create (replaced atomically)"),
    size: str = typer.Option(..., "--size", "-s", help="image size, e.g. 64M, 1G"),
    source: Optional[Path] = typer.Option(None, "--from", help="host directory to copy in as /"),
    add: Optional[List[str]] = typer.Option(None, "--add", help="HOSTFILE:GUESTPATH (repeatable)"),
    inodes: Optional[int] = typer.Option(None, "--inodes", help="number of inodes (default: one per 16 KiB)"),
    label: str = typer.Option("", "--label", help="volume label (up to 32 bytes)"),
) -> None:
    """Create a flashfs image."""
    files: dict[str, Path] = {}
    for spec in add or []:
        host, sep, guest = spec.rpartition(":")
        if not sep or not host or not guest:
            _fail(f"--add wants HOSTFILE:GUESTPATH, got {spec!r}")
        if not Path(host).exists():
            _fail(f"--add: no such host file: {host}")
        files[guest] = Path(host)
    try:
        _mkfs(image, parse_size(size), source, files, inodes=inodes, label=label)
    except FsError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{e.filename or image}: {e.strerror}")


def _mode_string(mode: int) -> str:
    return stat_mod.filemode(mode)


@app.command("ls")
def ls_cmd(image: Path, path: str = typer.Argument("/"),
           long: bool = typer.Option(False, "-l", help="long listing")) -> None:
    """List a directory (or show one file)."""
    with _open(image) as fs:
        try:
            st = fs.stat(path)
            names = fs.listdir(path) if st.is_dir else [None]
            for name in names:
                p = path if name is None else path.rstrip("/") + "/" + name
                if not long:
                    print(name if name is not None else p)
                    continue
                s = fs.stat(p)
                when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.mtime))
                tail = f" -> {fs.readlink(p)}" if s.is_symlink else ""
                print(f"{_mode_string(s.mode)} {s.nlink:3d} {s.uid:5d} {s.gid:5d} {s.size:10d} "
                      f"{when} {name if name is not None else p}{tail}")
        except FsError as e:
            _fail(str(e))


@app.command("cat")
def cat_cmd(image: Path, path: str) -> None:
    """Write a file's contents to stdout."""
    with _open(image) as fs:
        try:
            data = fs.read(path)
        except FsError as e:
            _fail(str(e))
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command("get")
def get_cmd(image: Path, guestpath: str, hostpath: Path) -> None:
    """Copy a file (or a directory tree) out of the image."""
    with _open(image) as fs:
        try:
            st = fs.stat(guestpath)
            if st.is_dir:
                fs.extract(guestpath, hostpath)
            else:
                hostpath.write_bytes(fs.read(guestpath))
                hostpath.chmod(st.mode & 0o7777)
        except FsError as e:
            _fail(str(e))
        except OSError as e:
            _fail(f"{e.filename or hostpath}: {e.strerror}")


@app.command("fsck")
def fsck_cmd(image: Path) -> None:
    """Check an image; lists the problems and exits 1 if there are any."""
    with _open(image) as fs:
        problems = fs.fsck()
        free_blocks, total = fs.sb["free_blocks"], fs.total_blocks
        free_inodes, ninodes = fs.sb["free_inodes"], fs.ninodes - 1
    for p in problems:
        print(p)
    if problems:
        print(f"{image}: {len(problems)} problem(s)", file=sys.stderr)
        raise typer.Exit(1)
    print(f"{image}: clean, {total - free_blocks}/{total} blocks, "
          f"{ninodes - free_inodes}/{ninodes} inodes used")


if __name__ == "__main__":  # pragma: no cover
    app()
