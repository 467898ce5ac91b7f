"""Several command lines in one boot: the guest's multi-command init
(flashvm/guest/os/init/multi.c), placed at MULTI_PROGRAM, runs them at once and
exits with the first nonzero status in command order (128 + signal for a killed
command; 127 for one that cannot be executed)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from flashvm.guestos.build import OS_DIR
from flashvm.guestos.image import GuestFile
from flashvm.toolchain import GUEST_INCLUDE_DIR, build_user

MULTI_PROGRAM = "/sbin/multi"     # the init that runs several command lines
ROI_PROGRAM = "/sbin/roi"         # marks regions of interest from a command line
MAX_INIT_ARGS = 63                # the kernel takes at most 63 boot-info argv strings


def multi_program() -> Path:
    """The ELF of the multi-command init (built with build_user and cached)."""
    return build_user([OS_DIR / "init" / "multi.c"], opt="-Os", extra_flags=["-Wall"], name="multi")


def roi_program() -> Path:
    """The ELF of /sbin/roi begin|end|mark [NAME] (built with build_user and cached)."""
    return build_user([OS_DIR / "init" / "roi.c"], opt="-Os", extra_flags=["-Wall", f"-I{GUEST_INCLUDE_DIR}"],
                      name="roi")


def with_roi(files: Mapping[str, GuestFile], argv: Sequence[str]) -> dict:
    """`files` with /sbin/roi added when init's argv runs it (and the files lack it)."""
    if ROI_PROGRAM in argv and ROI_PROGRAM not in files:
        return {**files, ROI_PROGRAM: roi_program()}
    return dict(files)


def _check_commands(commands: Sequence[Sequence[str]]) -> list[list[str]]:
    cmds = [list(c) for c in commands]
    if not cmds:
        raise ValueError("no command line given")
    for i, c in enumerate(cmds, 1):
        if not c or not all(isinstance(a, str) for a in c):
            raise ValueError(f"command {i}: {c!r} is not a non-empty list of strings")
    return cmds


def multi_argv(commands: Sequence[Sequence[str]]) -> list[str]:
    """init's argv running `commands` (guest argv lists) at once under the multi
    program: [MULTI_PROGRAM, "--", *cmd1, "--", *cmd2, ...], an argument "--"
    (or backslashes then "--") escaped with one more leading backslash."""
    argv = [MULTI_PROGRAM]
    for c in _check_commands(commands):
        argv.append("--")
        argv += ["\\" + a if a.lstrip("\\") == "--" else a for a in c]
    if len(argv) > MAX_INIT_ARGS:
        raise ValueError(f"{len(commands)} command lines make {len(argv)} arguments for init "
                         f"(the multi program and its separators included); the kernel takes "
                         f"at most {MAX_INIT_ARGS}")
    return argv


def os_init(files: Mapping[str, GuestFile],
            commands: Sequence[Sequence[str]]) -> tuple[dict, list[str]]:
    """The root files and init argv that run `commands` (guest argv lists):
    one command line runs as init itself (files unchanged); several run at once
    under the multi program (added to the files at MULTI_PROGRAM)."""
    cmds = _check_commands(commands)
    if len(cmds) == 1:
        return dict(files), cmds[0]
    if MULTI_PROGRAM in files:
        raise ValueError(f"{MULTI_PROGRAM} is among the files, but several command lines need it "
                         "for the multi program")
    return {**files, MULTI_PROGRAM: multi_program()}, multi_argv(cmds)
