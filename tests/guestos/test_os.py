"""The guest OS kernel (flashvm/guest/os) booted on the simulated machine.

User programs (static mipsel musl binaries) run as processes of the kernel;
their stdout and exit status must equal what qemu-mipsel gives for the same
binary.  The expected outputs are stored (tests/guest/expected for the
general suite, tests/guest/os/expected for the OS programs, produced by
qemu-mipsel 7.2 except execs.stdout: qemu-user cannot execve a foreign
binary); when qemu-mipsel is installed the OS programs are also compared
live."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

from flashvm.guestos import boot_os, build_kernel, exec_os, make_initrd
from flashvm.toolchain import build_user

GUEST = Path(__file__).parents[1] / "guest"
OSG = GUEST / "os"
PROGRAMS = tomllib.loads((GUEST / "programs.toml").read_text())["program"]
QEMU = shutil.which("qemu-mipsel")


def run(name: str, args=(), *, ncpu: int = 1, ram_mb: int = 64, env=None, extra=None, **kw):
    exe = build_user([OSG / f"{name}.c"])
    files = {f"/bin/{name}": exe, **(extra or {})}
    return boot_os(files, [f"/bin/{name}", *args], ncpu=ncpu, ram_mb=ram_mb, env=env, verbose=1, **kw)


def qemu_run(exe: Path) -> tuple[int, bytes]:
    with tempfile.TemporaryDirectory() as d:
        q = subprocess.run([QEMU, str(exe)], cwd=d, capture_output=True, timeout=120)
    st = 128 - q.returncode if q.returncode < 0 else q.returncode
    return st, q.stdout


def test_kernel_builds_and_boots_hello():
    r = run("hello", ["two words", ""], env={"HOME": "/root"})
    assert r.stdout == b"hello from the flashvm guest OS: argc 3 [two words] [] HOME=/root\n"
    assert r.stderr == b"a line on stderr\n"
    assert r.status == 3
    assert b"init exited: status 3" in r.klog
    # boot + a static musl hello world stays small
    assert r.instructions < 600_000, r.instructions


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p["name"] for p in PROGRAMS])
def test_general_suite_under_the_os(prog):
    exe = build_user([GUEST / s for s in prog.get("sources", [f"{prog['name']}.c"])])
    files = {f"/bin/{prog['name']}": exe, "/data/sample.txt": GUEST / "data" / "sample.txt"}
    r = boot_os(files, [f"/bin/{prog['name']}", *prog.get("args", [])], env=prog.get("env", {}))
    assert r.stdout.decode(errors="replace") == (GUEST / prog["stdout"]).read_text(errors="replace")
    assert r.status == prog["exit_status"]


OS_PROGRAMS = {"procs": 0, "fileops": 0, "mmaps": 0, "sigs": 143, "threads": 0, "segv": 139}


@pytest.mark.parametrize("name", sorted(OS_PROGRAMS))
def test_os_programs_match_qemu(name):
    r = run(name)
    assert r.stdout.decode() == (OSG / "expected" / f"{name}.stdout").read_text()
    assert r.status == OS_PROGRAMS[name]
    if QEMU:
        assert qemu_run(build_user([OSG / f"{name}.c"])) == (r.status, r.stdout)


def test_execve_chain():
    r = run("execs")
    assert r.stdout == (OSG / "expected" / "execs.stdout").read_bytes()
    assert r.status == 32


def test_segfault_kills_only_the_process():
    r = run("procs")
    assert b"segfaulting child: killed by signal 11" in r.stdout
    assert b"pid" in r.klog and b"signal 11" in r.klog
    assert r.status == 0            # the parent and the kernel kept going


def test_out_of_memory_kills_the_hog_and_the_kernel_survives():
    r = run("oom", ram_mb=16)
    assert r.status == 0
    assert r.stdout.splitlines()[-1] == b"parent still allocates: yes"
    assert r.stdout.count(b"round") == 2


def test_an_out_of_memory_kill_is_logged_without_verbose():
    exe = build_user([OSG / "oom.c"])
    r = boot_os({"/bin/oom": exe}, ["/bin/oom"], ram_mb=16, verbose=0)
    assert r.status == 0
    assert b"(oom): out of memory, killed" in r.klog


def test_deterministic():
    a = run("procs")
    b = run("procs")
    assert (a.stdout, a.status, a.instructions) == (b.stdout, b.status, b.instructions)


def test_missing_init_program():
    r = boot_os({}, ["/bin/nothing"], verbose=1)
    assert r.status == 127
    assert b"cannot execute /bin/nothing" in r.klog


def test_exec_os_passes_streams_and_status(tmp_path):
    import io
    out, err = io.BytesIO(), io.BytesIO()
    exe = build_user([OSG / "hello.c"])
    st = exec_os(exe, ["x"], stdout=out, stderr=err)
    assert st == 3
    assert out.getvalue().startswith(b"hello from the flashvm guest OS: argc 2 [x]")
    assert err.getvalue() == b"a line on stderr\n"


@pytest.mark.parametrize("root", ["initrd", "disk"])
def test_root_file_system_is_chosen_by_argument(root):
    """The same files and program on either root: the kernel says which it mounted."""
    exe = build_user([OSG / "hello.c"])
    files = {"/bin/hello": exe, "/data/sample.txt": GUEST / "data" / "sample.txt"}
    r = boot_os(files, ["/bin/hello", "x"], root=root, verbose=1)
    assert r.status == 3 and r.stdout.startswith(b"hello from the flashvm guest OS: argc 2 [x]")
    assert (b"root file system: flashfs on disk0" in r.klog) == (root == "disk"), r.klog[-400:]


def test_unknown_root_is_refused():
    with pytest.raises(ValueError, match="root 'tape'"):
        boot_os({}, ["/bin/x"], root="tape")


def test_initrd_format():
    blob = make_initrd({"/a": b"xyz", "/d": None})
    assert blob[:4] == b"FVRD" and len(blob) % 4 == 0


@pytest.mark.parametrize("ncpu", [2, 4, 8])
def test_smp_threads_and_processes(ncpu):
    for name in ("threads", "procs"):
        r = run(name, ncpu=ncpu)
        assert r.stdout.decode() == (OSG / "expected" / f"{name}.stdout").read_text(), (name, ncpu)
        assert r.status == 0
        assert b"cpu %d up" % (ncpu - 1) in r.klog


def test_parallel_program_scales():
    one = run("parallel", ["8"], ncpu=1)
    eight = run("parallel", ["8"], ncpu=8)
    assert one.stdout == eight.stdout == b"pi ~ 3.141593\n"
    speedup = one.cycles / eight.cycles
    assert speedup > 5.0, speedup


def test_mapped_kernel_variant():
    from flashvm.elf import load_elf
    k = load_elf(build_kernel("mapped"))
    assert any(0xC0000000 <= s.vaddr < 0xE0000000 for s in k.segments)   # body in ksseg
    r = run("hello", variant="mapped")
    assert r.status == 3 and r.stdout.startswith(b"hello from the flashvm guest OS")
    for name, ncpu in (("procs", 1), ("threads", 4)):
        r = run(name, ncpu=ncpu, variant="mapped")
        assert r.stdout.decode() == (OSG / "expected" / f"{name}.stdout").read_text()
        assert r.status == 0


def test_raw_disk_driver_persists(tmp_path):
    img = tmp_path / "disk0.img"
    img.write_bytes(b"HOST DATA 123456" + bytes(1 << 20))
    r = run("rawdisk", ncpu=2, disks=[img])
    assert r.status == 0, r.klog
    assert r.stdout.decode().splitlines() == [
        "disk size 1048576 block device 1", "host wrote: HOST DATA 123456",
        "write 20000", "read 20000", "pattern back: yes"]
    data = img.read_bytes()
    assert data[512:526] == b"guest was here"
    assert data[1000:1000 + 23] == bytes(range(ord("A"), ord("A") + 23))


def test_flashfs_root_disk_persists(tmp_path):
    from flashvm.fs import FlashFS
    from flashvm.guestos import make_disk_image
    exes = {n: build_user([OSG / f"{n}.c"]) for n in ("persist", "fileops")}
    img = make_disk_image(tmp_path / "root.img", {f"/bin/{n}": p for n, p in exes.items()}, size=8 << 20)
    for i in range(2):
        r = boot_os({}, ["/bin/persist", f"run{i}"], disks=[img], ncpu=2, verbose=1)
        assert r.status == 0, r.klog
        assert r.stdout.splitlines()[0] == b"previous boots: %d" % i
        assert b"root file system: flashfs on disk0" in r.klog
    with FlashFS(img) as fs:
        assert fs.read("/out/log.txt") == b"boot 1 argv1 run0\nboot 2 argv1 run1\n"
        assert fs.read("/out/counter") == b"2\n"
        assert len(fs.read("/out/big.bin")) == 300000
    r = boot_os({}, ["/bin/fileops"], disks=[img], ncpu=2)
    assert r.stdout == (OSG / "expected" / "fileops.stdout").read_bytes()


def test_network_driver_loopback_and_magic():
    r = run("nettest", nets=1, ncpu=2)
    assert r.status == 0, r.klog
    assert r.stdout.decode().splitlines() == [
        "mac is set: yes",
        "sent 100", "received 100, same yes",
        "sent 600", "received 600, same yes",
        "sent 1100", "received 1100, same yes",
        "nothing pending: EAGAIN", "magic readable: yes"]


def test_timing_mode_boots():
    r = run("procs", ncpu=2, mode="timing")
    assert r.stdout.decode() == (OSG / "expected" / "procs.stdout").read_text()
    assert r.status == 0


@pytest.mark.parametrize("machine", ["flash8", "uma8"])
def test_flash_machine_configs(machine):
    r = run("threads", machine=machine)
    assert r.stdout.decode() == (OSG / "expected" / "threads.stdout").read_text()
    assert b"8 CPU(s)" in r.klog and b"cpu 7 up" in r.klog


@pytest.mark.parametrize("ncpu", [1, 4])
def test_execve_from_a_multithreaded_process(ncpu):
    r = run("threxec", ncpu=ncpu)
    assert r.stdout == b"exec with 5 threads\nnew image: pid unchanged yes\n"
    assert r.status == 5


def test_fork_while_threads_write_on_other_cpus():
    r = run("mtfork", ncpu=4)
    assert r.stdout == b"child snapshots stable: yes\n" and r.status == 0
