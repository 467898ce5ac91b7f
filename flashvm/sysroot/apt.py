"""The machine's apt, pointed at a private state directory for Debian mipsel.

No root change is made: the machine's own source entries (wherever its apt
configuration says they are) are copied into `PRIVATE/sources.list.d`, and
apt-get runs with its state, cache, status file and architecture redirected
there, so the host's architecture list is never touched (mipsel does not have
to be enabled with dpkg --add-architecture).  The archive's address comes only
from the machine's configuration, at run time.

apt's own resolver computes the closure: `apt-get -s install` on an empty
status file lists every package a fresh install needs (Depends and
Pre-Depends, first alternative that can be installed, a provider for virtual
packages), without Recommends.  The answer is remembered until the package
lists change, so asking again costs no apt run.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

ARCH = "mipsel"
LISTS_FRESH_SECONDS = 24 * 3600                   # package lists younger than this are reused
UPDATE_TIMEOUT = 180.0

_INST = re.compile(r"^Inst (\S+) \((\S+) .*\[(\S+)\]\)")
_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
_UNREACHABLE = ("Could not resolve", "Temporary failure resolving", "Failed to fetch", "Could not connect",
                "Connection failed", "Network is unreachable", "Connection timed out", "No route to host")


class AptError(RuntimeError):
    """apt could not do what a sysroot needs; the message is one line and says the fix."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    arch: str

    @property
    def deb_name(self) -> str:
        """The file name apt-get download gives the package (':' of an epoch quoted as %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


def _apt_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AptError(f"{name} not found: building a sysroot needs Debian's apt "
                       "(run on a Debian or Ubuntu machine, or `apt-get install apt` there)")
    return path


def machine_sources() -> list[Path]:
    """The machine's apt source files (one-line-style and deb822), as its apt configuration names them."""
    out = subprocess.run([_apt_tool("apt-config"), "shell", "SL", "Dir::Etc::sourcelist/f",
                          "SP", "Dir::Etc::sourceparts/d"], capture_output=True, text=True)
    found = dict(re.findall(r"^(SL|SP)='(.*)'$", out.stdout, re.M))
    files: list[Path] = []
    if found.get("SL") and Path(found["SL"]).is_file():
        files.append(Path(found["SL"]))
    if found.get("SP") and Path(found["SP"]).is_dir():
        files += sorted(p for p in Path(found["SP"]).iterdir() if p.suffix in (".list", ".sources"))
    return files


_DEBIAN_SUITE = re.compile(r"^bookworm(-[a-z]+)?$")


def as_deb_src(text: str, deb822: bool) -> str:
    """A source file's Debian entries (suite bookworm or bookworm-*) repeated as
    source-package ones: `deb ...` lines as `deb-src ...`, deb822 stanzas with
    `Types: deb-src`; other archives' entries are left out (they seldom serve
    sources), and the addresses stay as the machine's file gives them."""
    if deb822:
        keep = []
        for stanza in re.split(r"\n\s*\n", text):
            types = re.search(r"^Types:(.*)$", stanza, re.M)
            suites = re.search(r"^Suites:(.*)$", stanza, re.M)
            if types and suites and "deb" in types.group(1).split() \
                    and any(_DEBIAN_SUITE.match(x) for x in suites.group(1).split()):
                keep.append(re.sub(r"^Types:.*$", "Types: deb-src", stanza.strip(), flags=re.M))
        return "\n\n".join(keep) + "\n"
    lines = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line).split()          # [options] before the address
        if words[:1] == ["deb"]:
            rest = words[1:]
            if len(rest) >= 2 and _DEBIAN_SUITE.match(rest[1]):
                lines.append(re.sub(r"^(\s*)deb(\s)", r"\1deb-src\2", line))
    return "\n".join(lines) + "\n"


class PrivateApt:
    """apt-get and apt-cache for Debian mipsel with all their state under `base`;
    with `sources=True` its lists are the source packages' (deb-src), for apt-get source."""

    def __init__(self, base: Path, log: Optional[Callable[[str], None]] = None, *, sources: bool = False) -> None:
        self.base = base
        self.log = log or (lambda msg: None)
        self.sources = sources

    def _options(self) -> list[str]:
        b = self.base
        opts = {
            "Dir::State": b / "state", "Dir::State::status": b / "status", "Dir::Cache": b / "cache",
            "Dir::Etc::sourcelist": "/dev/null", "Dir::Etc::sourceparts": b / "sources.list.d",
            "Dir::Etc::preferencesparts": b / "preferences.d", "APT::Architecture": ARCH,
            "APT::Architectures::": ARCH,
        }
        if os.geteuid() == 0:
            opts["APT::Sandbox::User"] = "root"   # _apt could not write into the private directories
        return [arg for k, v in opts.items() for arg in ("-o", f"{k}={v}")]

    def _setup(self) -> None:
        for d in ("state/lists/partial", "cache/archives/partial", "preferences.d", "sources.list.d"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        (self.base / "status").touch()
        sources = machine_sources()
        if not sources:
            raise AptError("the machine's apt configuration has no package sources "
                           "(add a Debian bookworm entry to /etc/apt/sources.list.d/)")
        parts = self.base / "sources.list.d"
        for old in parts.iterdir():
            old.unlink()
        for i, src in enumerate(sources):
            if self.sources:
                text = as_deb_src(src.read_text(), src.suffix == ".sources")
                if text.strip():
                    (parts / f"{i:02d}-{src.name}").write_text(text)
            else:
                shutil.copyfile(src, parts / f"{i:02d}-{src.name}")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.base / "flashvm.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)      # one flashvm at a time uses these apt directories
            yield

    def _run(self, args: Sequence[str], *, timeout: float = 600.0, cwd: Optional[Path] = None
             ) -> subprocess.CompletedProcess:
        cmd = [_apt_tool("apt-get"), "-q", *self._options(), *args]
        env = dict(os.environ, LC_ALL="C", LANG="C", DEBIAN_FRONTEND="noninteractive")
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
        except subprocess.TimeoutExpired:
            raise AptError(f"apt-get {args[0]} took more than {timeout:.0f} s: the package registry "
                           "cannot be reached (check the network or the machine's apt sources)") from None

    def _lists(self) -> list[Path]:
        pattern = "*_source_Sources*" if self.sources else f"*binary-{ARCH}_Packages*"
        return list((self.base / "state" / "lists").glob(pattern))

    def update(self, *, force: bool = False, timeout: float = UPDATE_TIMEOUT) -> None:
        """Fetch the mipsel package lists (reused for a day unless `force`)."""
        with self._locked():
            stamp = self.base / "updated"         # our own clock: apt dates the lists as the server does
            if self._lists() and stamp.is_file() and not force \
                    and time.time() - stamp.stat().st_mtime < LISTS_FRESH_SECONDS:
                return
            self._setup()
            self.log("apt-get update (Debian mipsel package lists)")
            r = self._run(["update"], timeout=timeout)
            text = r.stdout + r.stderr
            bad = next((ln for ln in text.splitlines() if any(s in ln for s in _UNREACHABLE)), None)
            if not self._lists():
                detail = (bad or _first_error(text) or "no mipsel package lists were fetched").strip()
                raise AptError(f"cannot reach the package registry ({detail}); check the network and "
                               "that the machine's apt sources serve Debian bookworm for mipsel")
            if r.returncode != 0 and bad is None:
                raise AptError(f"apt-get update failed: {_first_error(text)}")
            if bad is not None:                   # apt keeps the lists it had: go on with them
                self.log(f"could not refresh the package lists ({bad.strip()}); using the ones from before")
            else:
                stamp.touch()

    def resolve(self, packages: Sequence[str]) -> list[Package]:
        """The packages and everything they need, as a fresh install would unpack them."""
        names = []
        for p in packages:
            name = p[:-len(":" + ARCH)] if p.endswith(":" + ARCH) else p
            if not _NAME.match(name):
                raise AptError(f"{p!r} is not a Debian package name (give names like sqlite3 or gcc)")
            names.append(name)
        memo = self._memo(names)
        if memo.is_file():                        # same request, same package lists: same answer
            return [Package(*p) for p in json.loads(memo.read_text())]
        with self._locked():
            r = self._run(["-s", "--no-install-recommends", "install", *names])
        text = r.stdout + r.stderr
        missing = re.search(r"Unable to locate package (\S+)", text)
        if missing:
            raise AptError(f"no package {missing.group(1)!r} in Debian bookworm for mipsel "
                           f"(check the name, e.g. `apt-cache search {missing.group(1)}`)")
        nocand = re.search(r"Package '?(\S+?)'? has no installation candidate", text)
        if nocand:
            raise AptError(f"package {nocand.group(1)!r} has no mipsel version to install "
                           "(it is virtual or not built for mipsel; name a package that provides it)")
        if r.returncode != 0:
            raise AptError(f"apt cannot resolve {' '.join(names)}: {_first_error(text)}")
        found = [Package(*m.groups()) for m in map(_INST.match, r.stdout.splitlines()) if m]
        if not found:
            raise AptError(f"apt resolved {' '.join(names)} to no packages; its output began: "
                           f"{r.stdout.strip().splitlines()[:1]}")
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps([[p.name, p.version, p.arch] for p in found]))
        return found                              # in apt's order: what a package needs comes first

    def _memo(self, names: Sequence[str]) -> Path:
        """Where the closure of `names` over the current package lists is remembered."""
        h = hashlib.sha256(json.dumps(sorted(set(names))).encode())
        for p in sorted(self._lists()):
            st = p.stat()
            h.update(f"{p.name} {st.st_mtime_ns} {st.st_size}".encode())
        return self.base / "resolved" / f"{h.hexdigest()[:20]}.json"

    def download(self, packages: Sequence[Package], into: Path) -> list[Path]:
        """The .deb files of `packages` in `into`, downloading those not there yet."""
        into.mkdir(parents=True, exist_ok=True)
        todo = [p for p in packages if not (into / p.deb_name).is_file()]
        if todo:
            self.log(f"downloading {len(todo)} package(s)")
            part = into / f".part-{os.getpid()}"
            part.mkdir(exist_ok=True)
            try:
                with self._locked():
                    r = self._run(["download", *(f"{p.name}={p.version}" for p in todo)], cwd=part)
                text = r.stdout + r.stderr
                if "No space left on device" in text:
                    raise OSError(28, "No space left on device", str(into))
                if r.returncode != 0:
                    bad = next((ln for ln in text.splitlines() if any(s in ln for s in _UNREACHABLE)), None)
                    if bad:
                        raise AptError(f"cannot reach the package registry ({bad.strip()}); check the network")
                    raise AptError(f"apt-get download failed: {_first_error(text)}")
                for p in todo:
                    os.replace(part / p.deb_name, into / p.deb_name)
            finally:
                shutil.rmtree(part, ignore_errors=True)
        return [into / p.deb_name for p in packages]


    def source(self, name: str, into: Path) -> list[Path]:
        """Download the newest source package `name` (its .dsc and the files it
        lists) into `into` with apt-get source --download-only; returns the files."""
        if not _NAME.match(name):
            raise AptError(f"{name!r} is not a Debian source package name (e.g. figlet)")
        into.mkdir(parents=True, exist_ok=True)
        with self._locked():
            r = self._run(["source", "--download-only", name], cwd=into)
        text = r.stdout + r.stderr
        if "Unable to find a source package" in text:
            raise AptError(f"no source package {name!r} in Debian bookworm (check the name)")
        if r.returncode != 0:
            bad = next((ln for ln in text.splitlines() if any(s in ln for s in _UNREACHABLE)), None)
            if bad:
                raise AptError(f"cannot reach the package registry ({bad.strip()}); check the network")
            raise AptError(f"apt-get source {name} failed: {_first_error(text)}")
        return sorted(p for p in into.iterdir() if p.is_file())


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if line.startswith(("E:", "Err:")):
            return line.strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"
