"""``flashvm sysroot``: make or describe a root file system of Debian mipsel packages.

    flashvm sysroot ./r sqlite3          ./r holds sqlite3 and what it needs
    flashvm sysroot --list ./r           the packages, their versions and the size

Progress goes to stderr; errors are one line on stderr and exit status 2.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, List, NoReturn, Optional

import typer

if TYPE_CHECKING:      # the package (apt, deb, the build) is imported when the command runs, not by every flashvm
    from .build import Sysroot


def _fail(msg: str) -> NoReturn:
    print(f"flashvm sysroot: error: {msg}", file=sys.stderr)
    raise typer.Exit(2)


def describe(s: Sysroot) -> str:
    """What `--list` prints: a summary line, then one line per package."""
    head = (f"{s.root}: {len(s.packages)} packages, {s.size_bytes / 1e6:.1f} MB, "
            f"loader {s.interp or 'none (static programs only)'}; asked for: {' '.join(s.requested)}")
    return "\n".join([head, *(f"{name} {version}" for name, version in sorted(s.packages.items()))])


def sysroot_command(
    directory: Path = typer.Argument(..., help="the root directory to make (or, with --list, to describe)"),
    packages: Optional[List[str]] = typer.Argument(None, help="Debian package names, e.g. sqlite3 gcc make"),
    list_: bool = typer.Option(False, "--list", help="describe the sysroot DIRECTORY instead of making one"),
    refresh: bool = typer.Option(False, "--refresh", help="fetch the package lists even if less than a day old"),
) -> None:
    """Make DIRECTORY a root file system of Debian 12 mipsel PACKAGES and their dependencies (docs/sysroot.md)."""
    from .build import Sysroot, SysrootError, build_sysroot
    try:
        if list_:
            if packages:
                _fail("--list takes only the directory")
            print(describe(Sysroot.load(directory)))
            return
        t0 = time.monotonic()
        s = build_sysroot(directory, packages or [], refresh=refresh,
                          progress=lambda msg: print(f"sysroot: {msg}", file=sys.stderr))
    except SysrootError as e:
        _fail(str(e))
    print(f"sysroot: {s.root}: {len(s.packages)} packages, {s.size_bytes / 1e6:.1f} MB "
          f"in {time.monotonic() - t0:.1f} s", file=sys.stderr)
