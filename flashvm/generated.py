"""Input files a workload generates on the host on first use (workload.toml's
run.generate): a Python script in the workload's folder writes them into a
folder, which is cached under $FLASHVM_CACHE/generated/ by the script's bytes
and arguments, so they are made once and never committed."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from flashvm.toolchain import cache_root

DONE = ".done"             # written last: a folder without it is an interrupted generation


class GenerateError(RuntimeError):
    """The generator failed; the message is one line."""


def generated_dir(script: Path, args: Sequence[str]) -> Path:
    """Where the output of `script args` is cached."""
    key = hashlib.sha256(json.dumps([script.read_bytes().decode(errors="replace"), list(args)]).encode())
    return cache_root() / "generated" / f"{script.stem}-{key.hexdigest()[:16]}"


def generate(script: Path, args: Sequence[str], *, timeout: float = 3600.0) -> dict[str, Path]:
    """The files `python script [args] OUT` writes into OUT ({name: host path}),
    generated on first use and cached."""
    out = generated_dir(script, args)
    if not (out / DONE).is_file():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        try:
            r = subprocess.run([sys.executable, str(script), str(out), *args], capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GenerateError(f"{script.name} took more than {timeout:.0f} s") from None
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise GenerateError(f"{script.name} {' '.join(args)} failed (status {r.returncode}): {last}")
        (out / DONE).touch()
    return {p.name: p for p in sorted(out.iterdir()) if p.is_file() and p.name != DONE}
