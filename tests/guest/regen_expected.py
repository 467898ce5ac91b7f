"""Regenerate tests/guest/expected/*.stdout by running the guest programs under qemu-mipsel.

usage: python tests/guest/regen_expected.py [NAME ...]

Reads programs.toml, builds each program with flashvm.toolchain.build_user and
runs it under /usr/bin/qemu-mipsel with the listed args, env and cwd; writes
its stdout to the `stdout` file and complains if the exit status differs from
`exit_status`.  Review the diff before committing.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from flashvm.toolchain import build_user  # noqa: E402

QEMU = "/usr/bin/qemu-mipsel"


def load_programs() -> list[dict]:
    with open(HERE / "programs.toml", "rb") as f:
        return tomllib.load(f)["program"]


def run_program(prog: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    sources = [HERE / s for s in prog.get("sources", [f"{prog['name']}.c"])]
    elf = build_user(sources, name=prog["name"])
    return subprocess.run([QEMU, str(elf), *prog.get("args", [])], cwd=HERE / prog.get("cwd", "."),
                          env=dict(prog.get("env", {})), capture_output=True, timeout=timeout)


def main(names: list[str]) -> int:
    status = 0
    for prog in load_programs():
        if names and prog["name"] not in names:
            continue
        proc = run_program(prog)
        (HERE / prog["stdout"]).write_bytes(proc.stdout)
        mark = "ok" if proc.returncode == prog["exit_status"] else "EXIT STATUS MISMATCH"
        print(f"{prog['name']:18s} exit {proc.returncode:3d} {len(proc.stdout):6d} bytes  {mark}")
        if mark != "ok":
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
