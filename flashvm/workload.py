"""Workloads: a directory with C sources and a `workload.toml` saying how to build,
run and check them (the schema is documented at the top of
workloads/raytrace/workload.toml), in one or more sizes (`[size.uni]`, `[size.mp]`)."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flashvm.generated import GenerateError, generate
from flashvm.guestos.multi import MULTI_PROGRAM, ROI_PROGRAM, multi_argv, multi_program, roi_program
from flashvm.guestos.sysrun import sysroot_boot
from flashvm.machine.config import ConfigError, MachineConfig, machine_config, machine_with_cpus
from flashvm.spec import GuestFile, RunReport, RunSpec
from flashvm.sysroot import Sysroot, SysrootError, build_sysroot, fetch_source, sysroot_cache
from flashvm.toolchain import build_bare, build_splashos, build_user
from flashvm.tomltypes import field_types, type_problem

class WorkloadError(ValueError):
    """A workload.toml that cannot be used; the message names the file and the problem."""


# a workload's name names its program (/bin/<name>), its build and its result file:
# letters, digits, '-', '_' and '.', not starting with '.', so it never leaves a folder
PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")


MODES = ("process", "bare", "os")
# [run] keys only mode = "os" takes
OS_KEYS = ("cpus", "variant", "files", "commands", "vms", "hal", "vm_mem_mb", "allow_outside", "debian",
           "debian_source", "generate")
VARIANTS = ("kseg0", "mapped")
MAX_CPUS = 64

_KEYS = {
    "": {"name", "description", "build", "run", "check", "reference", "size", "splashos"},
    "build": {"kind", "sources", "opt", "flags"},
    "run": {"mode", "args", "env", "stdin", "timeout_s", "max_insns", "machine", "sim_mode",
            "cpus", "variant", "files", "commands", "vms", "hal", "vm_mem_mb", "allow_outside", "debian",
            "debian_source", "generate"},
    "check": {"exit_status", "stdout_contains", "stdout_equals"},
    # `flashvm run --splashos`: the program built against SPLASHOS, in one Disco VM
    "splashos": {"vm_mem_mb", "stdout_contains"},
}
# the sizes a workload may have (the paper's uniprocessor and multiprocessor forms) and
# the [run] and [check] keys a [size.NAME] table may set over them
SIZES = ("uni", "mp")
SIZE_RUN_KEYS = ("args", "env", "cpus", "machine", "commands", "max_insns", "timeout_s", "vms")
SIZE_CHECK_KEYS = ("stdout_contains", "stdout_equals")
# run.debian_source: a Debian source package's upstream tarball put on the guest's disk
SOURCE_KEYS = ("package", "sha256", "path")
# run.generate: input files a host script in the workload's folder makes on first use
GENERATE_KEYS = ("script", "args", "path")


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    directory: Path
    kind: str                    # "user" | "bare"
    sources: tuple[Path, ...]
    opt: str
    flags: tuple[str, ...]
    mode: str                    # "process" | "bare" | "os"
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
    # mode = "os" (the guest OS kernel, flashvm/guestos)
    cpus: int | None = None          # CPUs the guest OS boots on (the machine's first N; None: 1)
    variant: str = "kseg0"           # kernel link variant: "kseg0" or "mapped"
    files: dict[str, Path] = field(default_factory=dict)   # extra guest files: guest path -> host path
    commands: tuple[tuple[str, ...], ...] = ()   # guest argvs from run.commands (else /bin/<name> + args)
    vms: int | None = None           # run N copies of the guest OS in Disco's VMs (cpus: VCPUs per VM)
    hal: bool = False                # with vms: the kernel's HAL build
    vm_mem_mb: int | None = None     # with vms: each VM's memory in MB (None: 32, less on a small machine)
    allow_outside: bool = False      # run.files may name host files outside the workload's folder
    size: str | None = None          # the [size.NAME] table applied (None: the workload has no sizes)
    sizes: tuple[str, ...] = ()      # the sizes the workload has
    debian: tuple[str, ...] = ()     # Debian packages whose sysroot is the guest's root (docs/sysroot.md)
    splashos: bool = False           # run on SPLASHOS in one Disco VM (flashvm run --splashos, [splashos])
    splashos_vm_mem_mb: int | None = None   # that VM's memory ([splashos] vm_mem_mb)
    debian_source: dict[str, str] = field(default_factory=dict)   # {package, sha256, path}: a source tarball
    generate: dict[str, Any] = field(default_factory=dict)        # {script, args, path}: generated inputs

    @property
    def guest_program(self) -> str:
        """Where the built program is on the guest OS's disk."""
        return f"/bin/{self.name}"

    @property
    def command(self) -> tuple[str, ...]:
        """The one guest argv of run.commands; () without run.commands or with several."""
        return self.commands[0] if len(self.commands) == 1 else ()

    def os_argv(self) -> list[str]:
        """The command line of the guest OS's init process: the one command
        (run.commands or /bin/<name> + run.args), or with several run.commands
        the multi program's (flashvm.guestos.multi_argv), which runs them all."""
        if len(self.commands) > 1:
            return multi_argv(self.commands)
        return list(self.command) if self.command else [self.guest_program, *self.args]

    def os_files(self, exe: Path) -> dict[str, Path]:
        """The guest's root files for `exe` (the built program): the program at
        guest_program, run.files and, with several run.commands, the multi
        program at flashvm.guestos.MULTI_PROGRAM (built on first use)."""
        files: dict[str, Path] = {self.guest_program: Path(exe), **self.files}
        if len(self.commands) > 1:
            files[MULTI_PROGRAM] = multi_program()
        return files

    def sysroot(self) -> Sysroot:
        """The sysroot of run.debian (built, or taken from the cache, on first use)."""
        key = "-".join(sorted(self.debian))[:80]
        try:
            return build_sysroot(sysroot_cache() / "workloads" / key, list(self.debian))
        except SysrootError as e:
            raise WorkloadError(f"{self.name}: run.debian: {e}") from None

    def source_files(self) -> dict[str, Path]:
        """run.debian_source's tarball at its guest path (fetched with apt-get source on first use)."""
        if not self.debian_source:
            return {}
        src = self.debian_source
        try:
            tarball = fetch_source(src["package"], sha256=src["sha256"])
        except SysrootError as e:
            raise WorkloadError(f"{self.name}: run.debian_source: {e}") from None
        return {src["path"]: tarball}

    def generated_files(self) -> dict[str, Path]:
        """run.generate's files, each at run.generate.path/NAME on the guest (made on first use;
        baked into the cached root image, not the initrd: they may be large)."""
        if not self.generate:
            return {}
        g = self.generate
        try:
            made = generate(self.directory / g["script"], [str(a) for a in g.get("args", [])])
        except GenerateError as e:
            raise WorkloadError(f"{self.name}: run.generate: {e}") from None
        return {f"{g['path'].rstrip('/')}/{name}": path for name, path in made.items()}

    def build(self) -> Path:
        """Cross-compile the workload (cached) and return the ELF path; without
        build.sources (a run.debian workload) make the sysroot and return the
        host file of the first command's program."""
        if self.splashos:
            return build_splashos(list(self.sources), opt=self.opt, extra_flags=self.flags, name=self.name)
        if not self.sources:
            root = self.sysroot()
            self.source_files()
            self.generated_files()
            return root.host_path(self.commands[0][0])
        builder = build_user if self.kind == "user" else build_bare
        return builder(list(self.sources), opt=self.opt, extra_flags=self.flags, name=self.name)

    def spec(self, exe: Path, *, machine: MachineConfig, sim_mode: str, cpus: int | None = None,
             variant: str | None = None, max_insns: int | None = None,
             timeout_s: float | None = None) -> RunSpec:
        """The run of `exe` (the built program) this workload asks for, on `machine`
        (for run.mode = "os": already cut down to its CPUs); `cpus`, `variant`,
        `max_insns` and `timeout_s` override run.cpus, run.variant, run.max_insns
        and run.timeout_s."""
        common: dict[str, Any] = dict(
            program=Path(exe), machine=machine, sim_mode=sim_mode, env=dict(self.env), stdin=self.stdin,
            max_insns=max_insns or self.max_insns, timeout_s=timeout_s or self.timeout_s, name=self.name,
            title=f"{self.name} ({self.mode} mode)",
            command="run")
        notes: dict[str, Any] = {"workload": self.name, "env": self.env}
        if self.size is not None:
            notes["size"] = self.size
            common["title"] = f"{self.name} ({self.mode} mode, {self.size} size)"
        if self.mode != "os":
            return RunSpec(self.mode, argv=(self.name, *self.args), notes=notes, **common)
        if self.splashos:
            common["title"] = f"{self.name} (SPLASHOS in 1 Disco VM" + (f", {self.size} size)" if self.size else ")")
            return RunSpec("splashos", argv=(self.name, *self.args), cpus=cpus or self.cpus or 1, vms=1,
                           vm_mem_mb=self.splashos_vm_mem_mb, notes={**notes, "splashos": True}, **common)
        files: dict[str, GuestFile] = dict(self.os_files(exe))
        if not self.debian:      # without a sysroot's image, generated inputs travel in the initrd
            files.update(self.generated_files())
        argv = tuple(self.os_argv())
        ncpus = cpus or self.cpus or 1
        if self.debian:          # the sysroot's root image; the commands run as init's children
            if not self.sources:
                files.pop(self.guest_program)
            files.pop(MULTI_PROGRAM, None)
            cmds = self.commands or ((self.guest_program, *self.args),)
            files.update(self.source_files())
            if self._runs_roi(cmds):
                files["/usr" + ROI_PROGRAM] = roi_program()      # /sbin is a link to usr/sbin in the sysroot
            files, init_argv, env, image = sysroot_boot(self.sysroot(), cmds, files,
                                                        image_files=self.generated_files())
            argv = tuple(init_argv)
            common.update(env={**env, **self.env}, root_image=image)
            notes["debian"] = list(self.debian)
        if self.vms:      # recorded as what workload.toml says: run.mode "os"
            return RunSpec("disco", files=files, argv=argv, cpus=ncpus, vms=self.vms, hal=self.hal,
                           vm_mem_mb=self.vm_mem_mb, notes={**notes, "mode": "os"}, **common)
        return RunSpec("os", files=files, argv=argv, cpus=ncpus, variant=variant or self.variant,
                       notes={**notes, "files": {k: str(v) for k, v in self.files.items()}}, **common)

    def _runs_roi(self, cmds: tuple[tuple[str, ...], ...]) -> bool:
        """Whether a command line or a (small) run.files script names /sbin/roi."""
        if any(ROI_PROGRAM in a for c in cmds for a in c):
            return True
        return any(p.stat().st_size < 65536 and ROI_PROGRAM.encode() in p.read_bytes() for p in self.files.values())

    def check_report(self, report: RunReport) -> str | None:
        """What is wrong with a run's outcome, in one line (None when it is correct);
        in Disco's VMs every VM must pass, each on its own output."""
        if report.vms is not None:
            bad = []
            for vm in report.vms:
                problems = self.check(vm.status if vm.status is not None else 1, vm.stdout)
                if problems:
                    bad.append(f"{vm.name}: " + "; ".join(problems))
            return "check failed: " + " | ".join(bad) if bad else None
        problems = self.check(report.status, report.stdout)
        return "check failed: " + "; ".join(problems) if problems else None

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


# the type TOML must give for a key, where it is not its Workload field's (tomltypes reads
# Path as a string, a tuple as a list); args and env values may be numbers, written as text
_TOML_TYPES: dict[str, Any] = {
    "description": str, "build.kind": str, "run.args": list[str | float], "run.env": dict[str, str | float],
    "check.stdout_contains": str | list[str], "reference": dict, "size": dict, "run.generate": dict,
}
# how each key is written, for the error that says what to write
_EXAMPLES = {
    "name": '"raytrace"', "description": '"what it does"', "build.kind": '"user"',
    "build.sources": '["prog.c"]', "build.opt": '"-O2"', "build.flags": '["-DN=4"]', "run.mode": '"process"',
    "run.args": '["320", "240"]', "run.env": '{ NAME = "value" }', "run.stdin": '"input text"',
    "run.timeout_s": "600", "run.max_insns": "100000000", "run.machine": '"flash8"',
    "run.sim_mode": '"timing"', "run.cpus": "4", "run.variant": '"mapped"',
    "run.files": '{ "/data/in.txt" = "in.txt" }', "run.commands": '[["prog", "arg"], ["prog", "arg2"]]',
    "run.vms": "2", "run.hal": "true", "run.vm_mem_mb": "16", "run.allow_outside": "true",
    "run.debian": '["gcc", "make"]',
    "run.generate": '{ script = "gen.py", args = ["--scale", "0.01"], path = "/data" }',
    "run.debian_source": '{ package = "figlet", sha256 = "...", path = "/src/figlet.tar.gz" }',
    "check.exit_status": "0",
    "check.stdout_contains": '"checksum"', "check.stdout_equals": '"the whole output"',
    "reference": "{ qemu_seconds = 1.3 }",
}


def _check_types(data: dict[str, Any], toml_path: Path) -> None:
    """Each key's value has the type of the Workload field it fills (one-line
    WorkloadError naming the key, what was given and how to write it)."""
    types = field_types(Workload)
    for section in ("", "build", "run", "check"):
        table = data if section == "" else data.get(section, {})
        for key, value in table.items():
            if section == "" and key in _KEYS:
                continue                         # a section: its keys are checked on their own
            dotted = f"{section}.{key}" if section else key
            tp = _TOML_TYPES.get(dotted, types.get(key))
            problem = type_problem(value, tp)
            if problem is not None:
                example = _EXAMPLES.get(dotted)
                hint = "" if example is None else \
                    f" (e.g. {key} = {example}" + (f" in [{section}])" if section else ")")
                raise WorkloadError(f"{toml_path}: {dotted} is {problem}{hint}")


def _expect(cond: bool, where: Path, msg: str) -> None:
    if not cond:
        raise WorkloadError(f"{where}: {msg}")


def load_workload(path: str | Path, size: str | None = None, splashos: bool = False) -> Workload:
    """Read and validate a workload directory (or its workload.toml) in `size`: its
    [size.NAME] table's keys replace those of [run] and [check]; without `size`, the
    [size.uni] table when there is one, else [run] and [check] as they are.  With
    `splashos`, the program is to be built against SPLASHOS and run in one Disco VM
    (the [splashos] table's vm_mem_mb, and its stdout_contains over [check]'s)."""
    p = Path(path)
    toml_path = p / "workload.toml" if p.is_dir() else p
    if not toml_path.exists():
        raise WorkloadError(f"{toml_path}: no such workload; give a directory holding workload.toml "
                            "(e.g. workloads/raytrace)")
    try:
        data: dict[str, Any] = tomllib.loads(toml_path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise WorkloadError(f"{toml_path}: not valid TOML ({e})") from None
    except OSError as e:
        raise WorkloadError(f"{toml_path}: cannot be read ({e.strerror})") from None
    for section, allowed in _KEYS.items():
        table = data if section == "" else data.get(section, {})
        _expect(isinstance(table, dict), toml_path, f"[{section}] must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = "the top level" if not section else f"[{section}]"
            raise WorkloadError(f"{toml_path}: unknown key {unknown[0]!r} in {where}; "
                                f"allowed: {', '.join(sorted(allowed))}")
    sizes = _check_sizes(data, toml_path)
    if size is None and "uni" in sizes:
        size = "uni"
    if size is not None:
        _expect(size in sizes, toml_path, f"no size {size!r}: " + (
            f"it has {', '.join(sizes)}" if sizes else "it has no [size.NAME] tables"))
        data = _sized(data, size)
    sos = _splashos_table(data, toml_path) if splashos else {}
    if "stdout_contains" in sos:
        data = {**data, "check": {**data.get("check", {}), "stdout_contains": sos["stdout_contains"]}}
    _check_types(data, toml_path)
    d = toml_path.parent
    build, run, check = data.get("build", {}), data.get("run", {}), data.get("check", {})
    name = data.get("name", d.name)
    if not PLAIN_NAME.fullmatch(name):
        given = f"name {name!r}" if "name" in data else f"the folder's name {name!r} (the default name)"
        plain = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-")[:100] or "workload"
        raise WorkloadError(f"{toml_path}: {given} is not a plain name: use letters, digits, '-', '_' and '.', "
                            f"not starting with '.', at most 100 characters (e.g. name = \"{plain}\")")
    kind = build.get("kind", "user")
    _expect(kind in ("user", "bare"), toml_path, f"build.kind is {kind!r}; use \"user\" or \"bare\"")
    sources = build.get("sources")
    _expect(bool(sources) or "sources" not in build and bool(data.get("run", {}).get("debian")), toml_path,
            "build.sources must be a non-empty list of file names")
    sources = sources or []
    srcs = tuple(d / s for s in sources)
    for s in srcs:
        _expect(s.exists(), toml_path, f"source {s.name} does not exist in {d}")
    mode = run.get("mode", "process" if kind == "user" else "bare")
    _expect(mode in MODES, toml_path, f"run.mode is {mode!r}; use \"process\", \"bare\" or \"os\"")
    _expect((mode == "bare") == (kind == "bare"), toml_path,
            f"run.mode {mode!r} does not fit build.kind {kind!r} (process and os need user, bare needs bare)")
    args, env = run.get("args", []), run.get("env", {})
    contains = check.get("stdout_contains", ())
    if isinstance(contains, str):
        contains = (contains,)
    status = check.get("exit_status", 0)
    sim_mode = run.get("sim_mode", "functional")
    _expect(sim_mode in ("functional", "timing"), toml_path,
            f"run.sim_mode is {sim_mode!r}; use \"functional\" or \"timing\"")
    machine = run.get("machine", "flash1")
    if (toml_path.parent / machine).is_file():
        machine = str(toml_path.parent / machine)
    max_insns = run.get("max_insns")
    _expect(max_insns is None or max_insns > 0, toml_path,
            f"run.max_insns is {max_insns}; give a positive number of instructions (or leave it out)")
    timeout_s = run.get("timeout_s")
    _expect(timeout_s is None or timeout_s > 0, toml_path,
            f"run.timeout_s is {timeout_s}; give a positive number of seconds (or leave it out)")
    os_run = _os_keys(run, toml_path, mode, name, machine, args, srcs)
    return Workload(
        name=name, description=data.get("description", ""), directory=d, kind=kind, sources=srcs,
        opt=build.get("opt", "-O2"), flags=tuple(build.get("flags", ())), mode=mode,
        args=tuple(str(a) for a in args), env={str(k): str(v) for k, v in env.items()},
        stdin=run.get("stdin", "").encode(), timeout_s=timeout_s, max_insns=max_insns,
        machine=machine, sim_mode=sim_mode,
        exit_status=status, stdout_contains=tuple(contains), stdout_equals=check.get("stdout_equals"),
        size=size, sizes=sizes, splashos=splashos, splashos_vm_mem_mb=sos.get("vm_mem_mb"), **os_run,
    )


def _splashos_table(data: dict[str, Any], toml_path: Path) -> dict[str, Any]:
    """The [splashos] table, checked: the workload must have one, C sources and run.mode "os"."""
    _expect("splashos" in data, toml_path, "no [splashos] table: this workload does not run on SPLASHOS "
            "(add [splashos] with vm_mem_mb = 32, say)")
    _expect(bool(data.get("build", {}).get("sources")) and data.get("run", {}).get("mode") == "os"
            and not data.get("run", {}).get("commands") and not data.get("run", {}).get("vms"), toml_path,
            "[splashos] needs build.sources, run.mode = \"os\" and one program (no run.commands or run.vms)")
    sos = data["splashos"]
    vm_mem = sos.get("vm_mem_mb")
    _expect(vm_mem is None or (isinstance(vm_mem, int) and not isinstance(vm_mem, bool) and vm_mem >= 1), toml_path,
            f"splashos.vm_mem_mb is {vm_mem!r}; give the VM's memory as a whole number of MB")
    contains = sos.get("stdout_contains", [])
    contains = [contains] if isinstance(contains, str) else contains
    _expect(isinstance(contains, list) and all(isinstance(c, str) for c in contains), toml_path,
            "splashos.stdout_contains must be a string or a list of strings")
    return {**sos, "stdout_contains": contains} if "stdout_contains" in sos else dict(sos)


def _check_sizes(data: dict[str, Any], toml_path: Path) -> tuple[str, ...]:
    """The names of the [size.NAME] tables, each checked: a known size, only the keys
    a size may set, each of its key's type."""
    tables = data.get("size", {})
    _expect(isinstance(tables, dict), toml_path, "[size] must hold tables, e.g. [size.uni] and [size.mp]")
    types = field_types(Workload)
    for name, table in tables.items():
        _expect(name in SIZES, toml_path, f"[size.{name}]: a size is one of {', '.join(SIZES)}")
        _expect(isinstance(table, dict), toml_path, f"size.{name} must be a table ([size.{name}])")
        for key, value in table.items():
            _expect(key in SIZE_RUN_KEYS + SIZE_CHECK_KEYS, toml_path,
                    f"unknown key {key!r} in [size.{name}]; allowed: "
                    f"{', '.join(sorted(SIZE_RUN_KEYS + SIZE_CHECK_KEYS))}")
            section = "run" if key in SIZE_RUN_KEYS else "check"
            problem = type_problem(value, _TOML_TYPES.get(f"{section}.{key}", types.get(key)))
            if problem is not None:
                example = _EXAMPLES.get(f"{section}.{key}")
                hint = "" if example is None else f" (e.g. {key} = {example} in [size.{name}])"
                raise WorkloadError(f"{toml_path}: size.{name}.{key} is {problem}{hint}")
    return tuple(s for s in SIZES if s in tables)


def _sized(data: dict[str, Any], size: str) -> dict[str, Any]:
    """The workload.toml with [size.`size`]'s keys set in [run] and [check] (a size's
    commands replace the args of [run], and its args the commands)."""
    table = data["size"][size]
    run = {k: v for k, v in data.get("run", {}).items()
           if not ((k == "args" and "commands" in table) or (k == "commands" and "args" in table))}
    run.update({k: v for k, v in table.items() if k in SIZE_RUN_KEYS})
    check = {**data.get("check", {}), **{k: v for k, v in table.items() if k in SIZE_CHECK_KEYS}}
    return {**data, "run": run, "check": check}


def _os_keys(run: dict, toml_path: Path, mode: str, name: str, machine: str, args: list,
             sources: tuple[Path, ...]) -> dict:
    """Validate the values of [run]'s guest-OS keys (their types are checked already)."""
    given = [k for k in OS_KEYS if k in run]
    if mode != "os":
        _expect(not given, toml_path, f"run.{given[0] if given else ''} applies only to run.mode = \"os\" "
                                      f"(this workload's mode is {mode!r})")
        return {}
    d = toml_path.parent
    cpus = run.get("cpus")
    if cpus is not None:
        _expect(1 <= cpus <= MAX_CPUS, toml_path,
                f"run.cpus is {cpus!r}; use a whole number of CPUs, 1..{MAX_CPUS}")
        try:
            mcfg = machine_config(machine)
        except ConfigError:
            mcfg = None                   # reported by whoever runs it, with the machine's own error
        if mcfg is not None:
            try:
                machine_with_cpus(mcfg, cpus)
            except ValueError as e:
                raise WorkloadError(f"{toml_path}: run.cpus: {e}") from None
    variant = run.get("variant", "kseg0")
    _expect(variant in VARIANTS and variant != "hal", toml_path,
            f"run.variant is {variant!r}; use " + " or ".join(f'"{v}"' for v in VARIANTS if v != "hal")
            + " (the HAL build: run.vms with run.hal = true)")
    vms = run.get("vms")
    _expect(vms is None or 1 <= vms <= 64, toml_path,
            f"run.vms is {vms!r}; use a whole number of virtual machines, 1..64")
    hal = run.get("hal", False)
    _expect(not hal or vms is not None, toml_path, "run.hal needs run.vms: the HAL kernel runs in Disco's VMs")
    vm_mem_mb = run.get("vm_mem_mb")
    _expect(vm_mem_mb is None or vms is not None, toml_path, "run.vm_mem_mb needs run.vms: it is each VM's memory")
    _expect(vm_mem_mb is None or vm_mem_mb >= 1, toml_path,
            f"run.vm_mem_mb is {vm_mem_mb!r}; give each VM's memory as a whole number of MB")
    allow_outside = run.get("allow_outside", False)
    debian = tuple(run.get("debian", ()))
    _expect(all(debian), toml_path, 'run.debian must name Debian packages, e.g. debian = ["gcc", "make"]')
    source = dict(run.get("debian_source", {}))
    if source:
        _expect(set(source) == set(SOURCE_KEYS) and all(source.values()), toml_path,
                "run.debian_source needs exactly package, sha256 and path, e.g. "
                + _EXAMPLES["run.debian_source"])
        _expect(bool(debian), toml_path, "run.debian_source needs run.debian (the sysroot whose programs use it)")
        _expect(source["path"].startswith("/") and ".." not in source["path"].split("/"), toml_path,
                f"run.debian_source.path {source['path']!r} must be an absolute guest path")
    _expect(bool(sources) or "commands" in run, toml_path, "without build.sources, run.commands must say which "
            'programs of the run.debian packages to run (e.g. commands = [["/usr/bin/sqlite3", ":memory:"]])')
    files: dict[str, Path] = {}
    program = f"/bin/{name}"
    for guest, host in run.get("files", {}).items():
        _expect(bool(host), toml_path, f"run.files: the host path for {guest!r} must be a non-empty string")
        _expect(guest.startswith("/") and not guest.endswith("/") and "//" not in guest
                and not any(part in (".", "..") for part in guest.split("/")), toml_path,
                f"run.files: guest path {guest!r} must be an absolute file path like \"/data/input.txt\"")
        _expect(guest != program, toml_path, f"run.files: {guest} is the workload's own program")
        files[guest] = _host_file(guest, host, d, allow_outside, toml_path)
    commands: list[tuple[str, ...]] = []
    if "commands" in run:
        cmds = run["commands"]
        _expect(bool(cmds) and all(cmds), toml_path,
            'run.commands must be a list of command lines, e.g. [["prog", "arg"]] or [["a"], ["b", "x"]]')
        _expect(not args, toml_path, "run.commands and run.args both given; put the arguments in the command")
        several = len(cmds) > 1
        for i, c in enumerate(cmds, 1):
            prog = c[0]
            guest = prog if prog.startswith("/") else f"/bin/{prog}"
            which = f"command {i}: " if several else ""
            _expect(guest == program or guest in files or (bool(debian) and prog.startswith("/")), toml_path,
                    f"run.commands: {which}program {prog!r} is not on the guest's disk "
                    f"({program} or a run.files entry)")
            commands.append((guest, *c[1:]))
        if several:
            _expect(MULTI_PROGRAM not in files, toml_path,
                    f"run.files: {MULTI_PROGRAM} is where several run.commands need the multi program")
            try:
                multi_argv(commands)
            except ValueError as e:
                raise WorkloadError(f"{toml_path}: run.commands: {e}") from None
    return {"cpus": cpus, "variant": variant, "files": files, "commands": tuple(commands), "vms": vms,
            "hal": hal, "vm_mem_mb": vm_mem_mb, "allow_outside": allow_outside, "debian": debian,
            "debian_source": source, "generate": _generate_key(run, toml_path)}


def _generate_key(run: dict, toml_path: Path) -> dict[str, Any]:
    """run.generate checked: a script in the workload's folder, its arguments, the guest folder."""
    gen = dict(run.get("generate", {}))
    if not gen:
        return {}
    hint = "; e.g. generate = " + _EXAMPLES["run.generate"]
    _expect(set(gen) <= set(GENERATE_KEYS) and {"script", "path"} <= set(gen), toml_path,
            "run.generate takes script, path and (optionally) args" + hint)
    script = gen["script"]
    _expect(isinstance(script, str) and "/" not in script and (toml_path.parent / script).is_file(), toml_path,
            f"run.generate.script {script!r} must be a file in the workload's folder{hint}")
    _expect(isinstance(gen.get("args", []), list), toml_path, "run.generate.args must be a list" + hint)
    path = gen["path"]
    _expect(isinstance(path, str) and path.startswith("/") and ".." not in path.split("/"), toml_path,
            f"run.generate.path {path!r} must be an absolute guest folder{hint}")
    return gen


def _host_file(guest: str, host: str, folder: Path, allow_outside: bool, toml_path: Path) -> Path:
    """The host file a run.files entry names: by default inside the workload's
    folder, relative, without '..' and without a symbolic link leading out of it
    (a workload from elsewhere must not read the user's files); anywhere with
    run.allow_outside = true."""
    path = folder / host
    outside = f"; set run.allow_outside = true to take host files from outside {folder}"
    if not allow_outside:
        _expect(not Path(host).is_absolute() and ".." not in Path(host).parts, toml_path,
                f"run.files: {guest} = {host!r}: the host path must be relative to the workload's folder, "
                f"without '..'{outside}")
    _expect(path.is_file(), toml_path, f"run.files: {guest} = {host!r}: no such file in {folder}")
    if not allow_outside:
        real = path.resolve()
        _expect(real.is_relative_to(folder.resolve()), toml_path,
                f"run.files: {guest} = {host!r} is a link to {real}, outside the workload's folder{outside}")
    return path
