"""Guest paths under a sysroot (what `qemu-mipsel -L DIR` does): an absolute
guest path is looked up inside the sysroot first.

The rule, per path a system call names:

* A relative path is left alone (it is relative to the process's working
  directory, a host path, or to a directory fd).
* An absolute path is resolved inside the sysroot as if the sysroot were `/`
  (a chroot): component by component, following the symbolic links met on
  the way with absolute targets taken from the sysroot's top and `..` never
  climbing above it, so Debian's merged-/usr links (`/lib -> usr/lib`) and
  absolute links (`/lib/ld.so.1 -> /usr/lib/...`) stay inside.  The last
  component is followed too unless the call does not follow links (lstat,
  readlink, unlink, O_NOFOLLOW, AT_SYMLINK_NOFOLLOW, ...).
* If the resolved path exists in the sysroot, that host path is used;
  otherwise the guest path itself, on the host (qemu's fallback: /dev/null,
  /proc, /tmp and files a program creates outside the sysroot's directories
  are the host's).

qemu differs in one respect: it tests existence with the host's own lookup,
so an absolute symbolic link inside the sysroot points out of it there; here
it points inside.
"""
from __future__ import annotations

import os

MAX_LINKS = 40            # Linux's limit on links followed in one lookup (ELOOP past it)


def resolve_in(root: bytes, path: bytes, follow: bool = True) -> bytes | None:
    """The host path of absolute guest path `path` inside sysroot `root`, its
    links resolved there (the last one only when `follow`); None when some
    component does not exist (or the links loop)."""
    todo = [c for c in path.split(b"/") if c and c != b"."]
    todo.reverse()                      # a stack: the next component last
    done: list[bytes] = []              # resolved components below root
    links = 0
    while todo:
        name = todo.pop()
        if name == b"..":
            if done:
                done.pop()
            continue
        here = os.path.join(root, *done, name)
        if not os.path.lexists(here):
            return None
        if (todo or follow) and os.path.islink(here):
            links += 1
            if links > MAX_LINKS:
                return None
            target = os.readlink(here)
            if target.startswith(b"/"):
                done = []
            more = [c for c in target.split(b"/") if c and c != b"."]
            todo.extend(reversed(more))
            continue
        if todo and not os.path.isdir(here):
            return None
        done.append(name)
    return os.path.join(root, *done) if done else root


def guest_to_host(root: bytes | None, path: bytes, follow: bool = True) -> bytes:
    """The host path a system call uses for guest path `path` (the rule above;
    without a sysroot, the path itself)."""
    if root is None or not path.startswith(b"/"):
        return path
    found = resolve_in(root, path, follow)
    return path if found is None else found


def host_file(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """Where the program named `path` on a command line is: an absolute name
    inside sysroot `root` if it is there (the rule above), else on the host."""
    found = guest_to_host(os.fsencode(os.path.abspath(root)), os.fsencode(path))
    return os.fsdecode(found)
