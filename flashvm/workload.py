"""Workloads: a directory with C sources and a `workload.toml` saying how to build,
run and check them (the schema is documented at the top of
workloads/raytrace/workload.toml)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class WorkloadError(ValueError):
    """A workload.toml that cannot be used; the message names the file and the problem."""


_KEYS = {
    "": {"name", "description", "build", "run", "check", "reference"},
    "build": {"kind", "sources", "opt", "flags"},
    "run": {"mode", "args", "env", "stdin", "timeout_s", "max_insns", "machine", "sim_mode"},
    "check": {"exit_status", "stdout_contains", "stdout_equals"},
}


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    directory: Path
    kind: str                    # "user" | "bare"
    sources: tuple[Path, ...]
    opt: str
    flags: tuple[str, ...]
    mode: str                    # "process" | "bare"
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    timeout_s: float | None = None
    max_insns: int | None = None
    machine: str = "flash1"          # machine config: a preset name or a config file (relative to the workload)
    sim_mode: str = "functional"     # "functional" or "timing"
    exit_status: int = 0
    stdout_contains: tuple[str, ...] = ()
    stdout_equals: str | None = None

    def build(self) -> Path:
        """Cross-compile the workload (cached) and return the ELF path."""
        from flashvm.toolchain import build_bare, build_user
        builder = build_user if self.kind == "user" else build_bare
        return builder(list(self.sources), opt=self.opt, extra_flags=self.flags, name=self.name)

    def check(self, status: int, stdout: bytes) -> list[str]:
        """Problems with a run's outcome (empty when it is correct)."""
        problems = []
        if status != self.exit_status:
            problems.append(f"exit status {status}, expected {self.exit_status}")
        text = stdout.decode(errors="replace")
        for s in self.stdout_contains:
            if s not in text:
                problems.append(f"stdout lacks {s!r}")
        if self.stdout_equals is not None and text != self.stdout_equals:
            problems.append("stdout differs from check.stdout_equals")
        return problems


def _expect(cond: bool, where: Path, msg: str) -> None:
    if not cond:
        raise WorkloadError(f"{where}: {msg}")


def load_workload(path: str | Path) -> Workload:
    """Read and validate a workload directory (or its workload.toml)."""
    p = Path(path)
    toml_path = p / "workload.toml" if p.is_dir() else p
    if not toml_path.exists():
        raise WorkloadError(f"{toml_path}: no such workload; give a directory holding workload.toml "
                            "(e.g. workloads/raytrace)")
    try:
        data: dict[str, Any] = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise WorkloadError(f"{toml_path}: not valid TOML ({e})") from None
    for section, allowed in _KEYS.items():
        table = data if section == "" else data.get(section, {})
        _expect(isinstance(table, dict), toml_path, f"[{section}] must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = "the top level" if not section else f"[{section}]"
            raise WorkloadError(f"{toml_path}: unknown key {unknown[0]!r} in {where}; "
                                f"allowed: {', '.join(sorted(allowed))}")
    d = toml_path.parent
    build, run, check = data.get("build", {}), data.get("run", {}), data.get("check", {})
    name = data.get("name", d.name)
    _expect(isinstance(name, str) and name, toml_path, "name must be a non-empty string")
    kind = build.get("kind", "user")
    _expect(kind in ("user", "bare"), toml_path, f"build.kind is {kind!r}; use \"user\" or \"bare\"")
    sources = build.get("sources")
    _expect(isinstance(sources, list) and sources and all(isinstance(s, str) for s in sources), toml_path,
            "build.sources must be a non-empty list of file names")
    srcs = tuple(d / s for s in sources)
    for s in srcs:
        _expect(s.exists(), toml_path, f"source {s.name} does not exist in {d}")
    mode = run.get("mode", "process" if kind == "user" else "bare")
    _expect(mode in ("process", "bare"), toml_path, f"run.mode is {mode!r}; use \"process\" or \"bare\"")
    _expect((mode == "process") == (kind == "user"), toml_path,
            f"run.mode {mode!r} does not fit build.kind {kind!r} (process needs user, bare needs bare)")
    args = run.get("args", [])
    _expect(isinstance(args, list), toml_path, "run.args must be a list of strings")
    env = run.get("env", {})
    _expect(isinstance(env, dict), toml_path, "run.env must be a table of strings")
    contains = check.get("stdout_contains", ())
    if isinstance(contains, str):
        contains = (contains,)
    status = check.get("exit_status", 0)
    _expect(isinstance(status, int), toml_path, "check.exit_status must be an integer")
    sim_mode = run.get("sim_mode", "functional")
    _expect(sim_mode in ("functional", "timing"), toml_path,
            f"run.sim_mode is {sim_mode!r}; use \"functional\" or \"timing\"")
    machine = str(run.get("machine", "flash1"))
    if (toml_path.parent / machine).is_file():
        machine = str(toml_path.parent / machine)
    max_insns = run.get("max_insns")
    _expect(max_insns is None or (isinstance(max_insns, int) and max_insns > 0), toml_path,
            "run.max_insns must be a positive integer")
    return Workload(
        name=name, description=data.get("description", ""), directory=d, kind=kind, sources=srcs,
        opt=build.get("opt", "-O2"), flags=tuple(build.get("flags", ())), mode=mode,
        args=tuple(str(a) for a in args), env={str(k): str(v) for k, v in env.items()},
        stdin=str(run.get("stdin", "")).encode(), timeout_s=run.get("timeout_s"), max_insns=max_insns,
        machine=machine, sim_mode=sim_mode,
        exit_status=status, stdout_contains=tuple(contains), stdout_equals=check.get("stdout_equals"),
    )
