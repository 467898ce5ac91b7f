"""workload.toml for run.mode = "os": the keys the guest OS takes (cpus,
variant, files, commands), each bad value refused with a one-line error that
names the key, and the shipped raytrace workload running under the OS."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from flashvm.workload import WorkloadError, load_workload

ROOT = Path(__file__).parents[2]


def _write(tmp_path: Path, run: str, *, kind: str = "user") -> Path:
    d = tmp_path / "w"
    d.mkdir(exist_ok=True)
    (d / "p.c").write_text("int main(void){return 0;}\n")
    (d / "in.txt").write_text("data\n")
    (d / "workload.toml").write_text(f'name = "w"\n[build]\nkind = "{kind}"\nsources = ["p.c"]\n[run]\n{run}\n')
    return d


def test_os_keys_are_read(tmp_path):
    w = load_workload(_write(tmp_path, 'mode = "os"\nmachine = "flash8"\ncpus = 4\nvariant = "mapped"\n'
                                       'files = {"/data/in.txt" = "in.txt"}\nargs = ["a", "b"]'))
    assert (w.mode, w.cpus, w.variant, w.machine) == ("os", 4, "mapped", "flash8")
    assert w.files == {"/data/in.txt": w.directory / "in.txt"}
    assert w.os_argv() == ["/bin/w", "a", "b"]
    w = load_workload(_write(tmp_path, 'mode = "os"\nfiles = {"/bin/tool" = "in.txt"}\n'
                                       'commands = [["/bin/tool", "-x"]]'))
    assert w.cpus is None and w.variant == "kseg0" and w.os_argv() == ["/bin/tool", "-x"]
    w = load_workload(_write(tmp_path, 'mode = "os"\ncommands = [["w", "1"]]'))
    assert w.os_argv() == ["/bin/w", "1"]


def test_process_and_bare_modes_are_unchanged(tmp_path):
    w = load_workload(_write(tmp_path, 'args = ["1"]'))
    assert w.mode == "process" and w.cpus is None and w.files == {} and w.command == ()
    w = load_workload(_write(tmp_path, 'mode = "bare"', kind="bare"))
    assert w.mode == "bare"


@pytest.mark.parametrize("run, message", [
    ('mode = "os"\ncpus = 0', "run.cpus is 0; use a whole number of CPUs, 1..64"),
    ('mode = "os"\ncpus = "2"', "run.cpus is the string '2'; expected an integer (e.g. cpus = 4 in [run])"),
    ('mode = "os"\ncpus = true', "run.cpus is true; expected an integer"),
    ('mode = "os"\ncpus = 2', "run.cpus: 2 CPUs asked for, but machine flash1 has 1 CPU"),
    ('mode = "os"\nmachine = "uma8"\ncpus = 9', "run.cpus: 9 CPUs asked for, but machine uma8 has 8 CPUs"),
    ('mode = "os"\nvariant = "paged"', "run.variant is 'paged'; use \"kseg0\" or \"mapped\""),
    ('mode = "os"\nfiles = ["in.txt"]', "run.files is a list ['in.txt']; expected a table of paths (strings) "
                                       "(e.g. files = { \"/data/in.txt\" = \"in.txt\" } in [run])"),
    ('mode = "os"\nfiles = {"data/in.txt" = "in.txt"}', "run.files: guest path 'data/in.txt' must be an absolute"),
    ('mode = "os"\nfiles = {"/data/" = "in.txt"}', "run.files: guest path '/data/' must be an absolute"),
    ('mode = "os"\nfiles = {"/a/../b" = "in.txt"}', "run.files: guest path '/a/../b'"),
    ('mode = "os"\nfiles = {"/in.txt" = 3}', "run.files is a table {'/in.txt': 3}; expected a table of paths (strings)"),
    ('mode = "os"\nfiles = {"/in.txt" = "nope.txt"}', "run.files: /in.txt = 'nope.txt': no such file"),
    ('mode = "os"\nfiles = {"/bin/w" = "in.txt"}', "run.files: /bin/w is the workload's own program"),
    ('mode = "os"\ncommands = "w"', "run.commands is the string 'w'; expected a list of lists of strings"),
    ('mode = "os"\ncommands = [[]]', "run.commands must be a list of command lines"),
    ('mode = "os"\ncommands = [["w", 1]]', "run.commands is a list [['w', 1]]; expected a list of lists of strings"),
    ('mode = "os"\ncommands = [["w"], []]', "run.commands must be a list of command lines"),
    ('mode = "os"\ncommands = [["w"], ["sh", "-c", "w"]]',
     "run.commands: command 2: program 'sh' is not on the guest's disk (/bin/w or a run.files entry)"),
    ('mode = "os"\nargs = ["1"]\ncommands = [["w"], ["w"]]', "run.commands and run.args both given"),
    ('mode = "os"\nfiles = {"/sbin/multi" = "in.txt"}\ncommands = [["w"], ["w"]]',
     "run.files: /sbin/multi is where several run.commands need the multi program"),
    ('mode = "os"\ncommands = [' + ", ".join(['["w"' + ', "a"' * 9 + ']'] * 6) + ']',
     "run.commands: 6 command lines make 67 arguments for init"),
    ('mode = "os"\nargs = ["1"]\ncommands = [["w"]]', "run.commands and run.args both given"),
    ('mode = "os"\ncommands = [["sh", "-c", "w"]]', "run.commands: program 'sh' is not on the guest's disk"),
    ('cpus = 2', "run.cpus applies only to run.mode = \"os\" (this workload's mode is 'process')"),
    ('mode = "process"\nvariant = "kseg0"', "run.variant applies only to run.mode = \"os\""),
    ('files = {"/a" = "in.txt"}', "run.files applies only to run.mode = \"os\""),
    ('commands = [["w"]]', "run.commands applies only to run.mode = \"os\""),
    ('mode = "vm"', "run.mode is 'vm'; use \"process\", \"bare\" or \"os\""),
    ('args = "1 2"', "run.args is the string '1 2'; expected a list of strings or numbers"),
])
def test_bad_os_keys_get_one_line_errors(tmp_path, run, message):
    with pytest.raises(WorkloadError) as e:
        load_workload(_write(tmp_path, run))
    text = str(e.value)
    assert "\n" not in text and "workload.toml" in text
    assert message in text, text


def test_os_mode_needs_a_user_program(tmp_path):
    with pytest.raises(WorkloadError, match="run.mode 'os' does not fit build.kind 'bare'"):
        load_workload(_write(tmp_path, 'mode = "os"', kind="bare"))


# ------------------------------------------------------ validation (issue 10, item 11)
def _toml(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "w"
    d.mkdir(exist_ok=True)
    (d / "p.c").write_text("int main(void){return 0;}\n")
    (d / "workload.toml").write_text(text)
    return d


@pytest.mark.parametrize("text, message", [
    ('name = "../../../x"', "name '../../../x' is not a plain name"),
    ('name = "/tmp/x"', "name '/tmp/x' is not a plain name"),
    ('name = ".w"', "name '.w' is not a plain name"),
    ('name = "a b"', 'not a plain name: use letters, digits, \'-\', \'_\' and \'.\', not starting with \'.\', '
                     'at most 100 characters (e.g. name = "a-b")'),
    ('name = 5', "name is the number 5; expected a string (e.g. name = \"raytrace\")"),
    ('name = "w"\ndescription = ["x"]', "description is a list ['x']; expected a string"),
    ('name = "w"\nreference = 1', "reference is the number 1; expected a table"),
    ('name = "w"\n[build]\nsources = ["p.c"]\nopt = 2', "build.opt is the number 2; expected a string "
                                                        "(e.g. opt = \"-O2\" in [build])"),
    ('name = "w"\n[build]\nsources = ["p.c"]\nflags = "-O3"', "build.flags is the string '-O3'; expected a list of "
                                                              "strings"),
    ('name = "w"\n[build]\nsources = "p.c"', "build.sources is the string 'p.c'; expected a list of paths"),
    ('name = "w"\n[build]\nsources = ["p.c"]\nkind = 1', "build.kind is the number 1; expected a string"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[check]\nstdout_contains = [5]',
     "check.stdout_contains is a list [5]; expected a string or a list of strings"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[check]\nexit_status = "0"',
     "check.exit_status is the string '0'; expected an integer"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[check]\nstdout_equals = 1',
     "check.stdout_equals is the number 1; expected a string"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nstdin = 1', "run.stdin is the number 1; expected a string"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nenv = {A = [1]}', "run.env is a table {'A': [1]}"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmachine = 8', "run.machine is the number 8; expected a string"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nsim_mode = true', "run.sim_mode is true; expected a string"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmax_insns = "9"', "run.max_insns is the string '9'"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmax_insns = -1', "run.max_insns is -1; give a positive"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\ntimeout_s = "1m"', "run.timeout_s is the string '1m'; "
                                                                         "expected a number"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\ntimeout_s = 0', "run.timeout_s is 0; give a positive"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nhal = "yes"', "run.hal is the string 'yes'"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nvms = 2.5', "run.vms is the number 2.5"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nallow_outside = 1',
     "run.allow_outside is the number 1; expected true or false"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nallow_outside = true',
     "run.allow_outside applies only to run.mode = \"os\""),
])
def test_bad_types_and_names_get_one_line_errors(tmp_path, text, message):
    with pytest.raises(WorkloadError) as e:
        load_workload(_toml(tmp_path, text))
    assert "\n" not in str(e.value) and "workload.toml" in str(e.value) and message in str(e.value), str(e.value)


def test_the_folder_name_must_be_plain_when_it_is_the_name(tmp_path):
    d = tmp_path / "my work"
    d.mkdir()
    (d / "p.c").write_text("int main(void){return 0;}\n")
    (d / "workload.toml").write_text('[build]\nsources = ["p.c"]\n')
    with pytest.raises(WorkloadError, match="the folder's name 'my work' .*e.g. name = \"my-work\""):
        load_workload(d)


def test_run_files_stay_in_the_workload_folder(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not the workload's\n")
    d = _write(tmp_path, 'mode = "os"')
    (d / "sub").mkdir()
    (d / "sub" / "ok.txt").write_text("fine\n")
    (d / "link.txt").symlink_to(secret)
    (d / "inner.txt").symlink_to(d / "in.txt")
    for host, words in ((str(secret), "must be relative to the workload's folder"),
                        ("../secret.txt", "without '..'"),
                        ("sub/../../secret.txt", "without '..'"),
                        ("link.txt", f"is a link to {secret.resolve()}, outside the workload's folder")):
        with pytest.raises(WorkloadError) as e:
            load_workload(_write(tmp_path, f'mode = "os"\nfiles = {{"/data/x" = "{host}"}}'))
        assert words in str(e.value) and "set run.allow_outside = true" in str(e.value), str(e.value)
    w = load_workload(_write(tmp_path, 'mode = "os"\nfiles = {"/a" = "sub/ok.txt", "/b" = "inner.txt"}'))
    assert w.files == {"/a": d / "sub" / "ok.txt", "/b": d / "inner.txt"} and not w.allow_outside
    # the user allows more
    w = load_workload(_write(tmp_path, f'mode = "os"\nallow_outside = true\n'
                                       f'files = {{"/a" = "{secret}", "/b" = "../secret.txt", "/c" = "link.txt"}}'))
    assert w.allow_outside and w.files == {"/a": secret, "/b": d / "../secret.txt", "/c": d / "link.txt"}


def test_run_spec_refuses_a_bad_instruction_limit(tmp_path):
    from flashvm.machine.config import FLASH1
    from flashvm.spec import RunSpec, max_insns_problem
    for bad in (-1, 0, True, 2.5):
        with pytest.raises(ValueError, match="max_insns"):
            RunSpec("process", Path("p"), FLASH1, max_insns=bad)
        assert "--max-insns" in max_insns_problem(bad)
    assert max_insns_problem(None) is None and max_insns_problem(10) is None
    with pytest.raises(ValueError, match="cpus 0"):
        RunSpec("os", Path("p"), FLASH1, cpus=0)
    w = load_workload(_write(tmp_path, ""))
    with pytest.raises(ValueError, match="max_insns -5"):
        w.spec(Path("p"), machine=FLASH1, sim_mode="functional", max_insns=-5)
    assert w.spec(Path("p"), machine=FLASH1, sim_mode="functional", max_insns=7).max_insns == 7


def run_os_workload(w):
    """What `flashvm run` does for an OS workload, without the command line: its RunSpec
    on its machine cut down to run.cpus, through the session (output kept, not shown)."""
    from flashvm.machine.config import machine_with_cpus
    from flashvm.session import run
    return run(w.spec(w.build(), machine=machine_with_cpus(w.machine, w.cpus or 1), sim_mode=w.sim_mode))


def test_raytrace_runs_under_the_os_by_default():
    w = load_workload(ROOT / "workloads" / "raytrace")
    assert (w.mode, w.machine, w.cpus, w.size) == ("os", "flash1", 1, "uni")
    assert w.stdout_contains == ("checksum f6ad3f06",)
    # the whole image takes ~20 s; a 16x12 one shows the program runs as a user process of the OS
    r = run_os_workload(dataclasses.replace(w, args=("1", "16", "12")))
    assert r.status == 0 and r.stdout.startswith(b"raytrace 16x12 spp=1 threads 1\n") and b"checksum " in r.stdout
    user = r.machine.stats[:, 2 + __import__("flashvm.kernels.state", fromlist=["S"]).S_CYC_BASE].sum()
    assert user > 0 and r.config.name == "flash1" and r.spec.kind == "os" and r.spec.root == "disk"


# ------------------------------------------------------ several run.commands
def test_several_commands_are_read(tmp_path):
    w = load_workload(_write(tmp_path, 'mode = "os"\nfiles = {"/data/tool" = "in.txt"}\n'
                                       'commands = [["w", "1"], ["/data/tool", "--", "\\\\--", "x"], ["w"]]'))
    assert w.commands == (("/bin/w", "1"), ("/data/tool", "--", "\\--", "x"), ("/bin/w",))
    assert w.command == ()
    assert w.os_argv() == ["/sbin/multi", "--", "/bin/w", "1", "--", "/data/tool", "\\--", "\\\\--", "x",
                           "--", "/bin/w"]
    files = w.os_files(Path("/tmp/w.elf"))
    assert files["/bin/w"] == Path("/tmp/w.elf") and files["/data/tool"] == w.directory / "in.txt"
    assert files["/sbin/multi"].is_file()
    w = load_workload(_write(tmp_path, 'mode = "os"\ncommands = [["w", "1"]]'))    # one: no multi program
    assert w.commands == (("/bin/w", "1"),) and w.command == ("/bin/w", "1")
    assert w.os_argv() == ["/bin/w", "1"] and w.os_files(Path("/tmp/w.elf")) == {"/bin/w": Path("/tmp/w.elf")}


def test_os_init_one_command_is_init_itself():
    from flashvm.guestos import os_init
    files = {"/bin/a": b"x"}
    assert os_init(files, [["/bin/a", "1"]]) == (files, ["/bin/a", "1"])
    f, argv = os_init(files, [["/bin/a", "1"], ["/bin/a"]])
    assert argv == ["/sbin/multi", "--", "/bin/a", "1", "--", "/bin/a"] and set(f) == {"/bin/a", "/sbin/multi"}
    with pytest.raises(ValueError, match="/sbin/multi is among the files"):
        os_init({"/sbin/multi": b""}, [["/bin/a"], ["/bin/a"]])


MULTI_P = r'''#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 0;
    printf("p says %s pid %d ppid %d\n", argc > 1 ? argv[1] : "-", getpid(), getppid());
    fflush(stdout);
    if (code < 0) raise(-code);
    return code;
}
'''
MULTI_Q = r'''#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("q runs with FOO=%s argc %d:", getenv("FOO"), argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    return 0;
}
'''


def _multi_workload(tmp_path: Path, run: str, check: str = "") -> Path:
    """A workload of two programs: p (its own, prints a line and exits with argv[1],
    or raises signal -argv[1]) and /bin/q (prints its argv and $FOO)."""
    from flashvm.toolchain import build_user
    d = tmp_path / "mw"
    d.mkdir()
    (d / "p.c").write_text(MULTI_P)
    (d / "q.c").write_text(MULTI_Q)
    (d / "q.elf").write_bytes(build_user([d / "q.c"], name="multi_test_q").read_bytes())
    (d / "workload.toml").write_text(f'name = "p"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\n'
                                     f'files = {{"/bin/q" = "q.elf"}}\nenv = {{FOO = "bar"}}\n{run}\n'
                                     f'[check]\n{check}\n')
    return d


def test_two_commands_run_at_once_on_two_cpus(tmp_path):
    d = _multi_workload(tmp_path, 'machine = "flash8"\ncpus = 2\n'
                                  'commands = [["p", "0"], ["q", "--", "\\\\--", "two words"]]')
    r = run_os_workload(load_workload(d))
    assert r.status == 0, (r.stderr, r.klog)
    out = r.stdout.decode()
    assert "p says 0 pid " in out and " ppid 1\n" in out
    assert "q runs with FOO=bar argc 4: [--] [\\--] [two words]\n" in out
    assert len(out.splitlines()) == 2 and r.stderr == b""          # multi writes nothing of its own
    assert (r.machine.stats[:2, 2 + __import__("flashvm.kernels.state", fromlist=["S"]).S_CYC_BASE] > 0).all()


@pytest.mark.parametrize("commands, status", [
    ('[["p", "0"], ["p", "3"], ["q"], ["p", "5"]]', 3),       # the first nonzero in command order
    ('[["q"], ["p", "-11"], ["p", "7"]]', 139),               # killed by SIGSEGV: 128 + 11
])
def test_status_is_the_first_nonzero_one(tmp_path, commands, status):
    r = run_os_workload(load_workload(_multi_workload(tmp_path, f"commands = {commands}")))
    assert r.status == status, (r.stderr, r.klog)
    n = commands.count('"p"')
    assert r.stdout.count(b"p says ") == n and r.stdout.count(b"q runs with") == commands.count('"q"')


def test_a_command_that_cannot_execute_is_127(tmp_path):
    from flashvm.guestos import boot_commands
    d = _multi_workload(tmp_path, 'commands = [["p"], ["q"]]')
    r = boot_commands({"/bin/p": load_workload(d).build(), "/etc/notes": b"text\n"},
                      [["/bin/p", "0"], ["/bin/missing", "x"], ["/etc/notes"], ["/bin/p", "4"]])
    assert r.status == 127
    assert r.stdout.count(b"p says ") == 2
    assert b"multi: cannot execute /bin/missing: No such file or directory\n" in r.stderr
    assert b"multi: cannot execute /etc/notes: " in r.stderr


def test_several_commands_in_disco_vms(tmp_path):
    """What `flashvm run` does for run.vms: os_files + os_argv into each VM."""
    from flashvm.disco.osvm import run_os_vms
    w = load_workload(_multi_workload(tmp_path, 'vms = 2\ncommands = [["p", "0"], ["q", "x"], ["p", "3"]]'))
    res, _, _ = run_os_vms(w.os_files(w.build()), w.os_argv(), vms=w.vms, machine="flash8")
    assert [vm.status for vm in res] == [3, 3]
    for vm in res:
        assert vm.stdout.count(b"p says ") == 2 and b"argc 2: [x]\n" in vm.stdout


def test_debian_workload_keys(tmp_path):
    """run.debian names the sysroot's packages; without build.sources, run.commands says what to run."""
    from flashvm.workload import WorkloadError, load_workload
    (tmp_path / "workload.toml").write_text('[run]\nmode = "os"\ndebian = ["sqlite3"]\n'
                                            'commands = [["/usr/bin/sqlite3", ":memory:", "select 1"]]\n')
    w = load_workload(tmp_path)
    assert w.debian == ("sqlite3",) and w.sources == () and w.commands[0][0] == "/usr/bin/sqlite3"
    (tmp_path / "workload.toml").write_text('[run]\nmode = "os"\ndebian = ["sqlite3"]\n')
    with pytest.raises(WorkloadError, match="run.commands must say"):
        load_workload(tmp_path)
    (tmp_path / "workload.toml").write_text('[run]\ndebian = ["sqlite3"]\ncommands = [["/usr/bin/x"]]\n')
    with pytest.raises(WorkloadError):
        load_workload(tmp_path)
