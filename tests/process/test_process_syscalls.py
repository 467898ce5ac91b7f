"""flashvm.process: the Linux o32 system-call layer of process mode.

Most tests drive the handlers directly (registers and guest memory set by
hand); a scripted stand-in for the CPU exercises the run loop; the
end-to-end tests at the bottom run real musl programs on the CPU kernel and
compare with qemu-mipsel."""
from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from flashvm.kernels.state import (
    CP0_Context, CP0_HWREna, CP0_Status, EXC_RI, EXC_SYS, EXC_TLBL, EXC_TLBS, EXIT_BUDGET,
    EXIT_EXCEPTION, INSNS, NPC, PC, PTE_R, PTE_W, PTE_X, SEL_UserLocal, St_CU1, St_UM,
    X_A0, X_A1, X_A2, X_A3, X_REASON,
)
from flashvm.process import (
    DETERMINISTIC_EPOCH, MIPS_ERRNO, MMAP_BASE, STACK_TOP, SYSCALL_NUMBERS, LinuxProcess,
    GuestFault, run_process, stat64_bytes, statx_bytes,
)

from test_elf import build_guest

E = MIPS_ERRNO
NR = SYSCALL_NUMBERS
PAGE = 4096
QEMU = shutil.which("qemu-mipsel")

HELLO_C = r"""
#include <stdio.h>
int main(int argc, char **argv) {
    printf("hello from %s, %d args\n", argv[0], argc);
    return argc + 2;
}
"""

STATDUMP_C = r"""
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static void dump(const char *tag, long r, const unsigned char *b, int n) {
    printf("%s %ld ", tag, r);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}
int main(int argc, char **argv) {
    unsigned char b[320];
    int fd = open(argv[1], O_RDONLY);
    memset(b, 0xaa, sizeof b); dump("fstat64", syscall(SYS_fstat64, fd, b), b, 112);
    memset(b, 0xaa, sizeof b); dump("stat64", syscall(SYS_stat64, argv[1], b), b, 112);
    memset(b, 0xaa, sizeof b); dump("statx", syscall(SYS_statx, AT_FDCWD, argv[1], 0, 0x7ff, b), b, 256);
    return 0;
}
"""


@pytest.fixture(scope="module")
def guests(tmp_path_factory):
    d = tmp_path_factory.mktemp("proc")
    return {"hello": build_guest(d, "proc_hello", HELLO_C),
            "statdump": build_guest(d, "proc_statdump", STATDUMP_C)}


@pytest.fixture
def proc(guests):
    out, err = io.BytesIO(), io.BytesIO()
    p = LinuxProcess(guests["hello"], ["hello", "one", "two"], {"HOME": "/root", "X": "y"},
                     stdin=io.BytesIO(b"input line\nmore\n"), stdout=out, stderr=err,
                     ram_bytes=16 << 20)
    p.out, p.err = out, err
    return p


def scratch(p: LinuxProcess, size: int = 4 * PAGE) -> int:
    """A fresh anonymous read/write buffer in the guest."""
    return p.do_syscall(NR["mmap2"], [0, size, 3, 0x802, 0xFFFFFFFF, 0])


def put_str(p, va, s: bytes) -> int:
    p.write(va, s + b"\0")
    return va


# ------------------------------------------------------------------ initial state
def test_initial_registers(proc):
    m = proc.m
    assert m.cpu[0, PC] == proc.image.entry and m.cpu[0, NPC] == proc.image.entry + 4
    assert m.gpr[0, 29] == proc.sp and proc.sp % 16 == 0
    assert m.cp0[0, CP0_Status, 0] == St_UM | St_CU1
    assert m.cp0[0, CP0_HWREna, 0] == 0x2000000F
    assert all(m.gpr[0, r] == 0 for r in range(32) if r != 29)


def test_stack_layout(proc):
    p = proc
    def words(va, n):
        return struct.unpack(f"<{n}I", p.read(va, 4 * n))
    sp = p.sp
    argc, = words(sp, 1)
    assert argc == 3
    argv = words(sp + 4, argc + 1)
    assert argv[-1] == 0
    assert [p.read_cstr(a) for a in argv[:-1]] == [b"hello", b"one", b"two"]
    envp_va = sp + 4 * (argc + 2)
    env = []
    while True:
        a, = words(envp_va, 1)
        envp_va += 4
        if a == 0:
            break
        env.append(p.read_cstr(a))
    assert env == [b"HOME=/root", b"X=y"]
    aux, va = [], envp_va
    while True:
        k, v = words(va, 2)
        va += 8
        aux.append((k, v))
        if k == 0:
            break
    keys = [k for k, _ in aux]
    # Linux's order (create_elf_tables), without a vDSO
    assert keys == [16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 31, 0]
    a = dict(aux)
    img = p.image
    assert a[6] == 4096 and a[17] == 100 and a[16] == 0
    assert (a[3], a[4], a[5], a[9]) == (img.phdr_addr, 32, img.phnum, img.entry)
    assert a[11] == a[12] == os.getuid() and a[13] == a[14] == os.getgid() and a[23] == 0
    # the program headers really are at AT_PHDR
    raw = Path(img.path).read_bytes()
    phoff, = struct.unpack_from("<I", raw, 28)
    assert p.read(a[3], 32 * a[5]) == raw[phoff:phoff + 32 * a[5]]
    # AT_RANDOM: 16 deterministic bytes above the vectors; strings above them
    rnd = p.read(a[25], 16)
    assert len(set(rnd)) > 4 and a[25] >= va
    other = LinuxProcess(img, ["x"], ram_bytes=4 << 20)
    assert other.read(dict(other.auxv)[25], 16) == rnd            # same seed, same bytes
    assert p.read_cstr(a[31]) == os.fsencode(img.path)
    assert argv[0] > a[25] and a[31] > argv[0]
    assert a[31] + len(img.path) + 1 == STACK_TOP - 4
    assert p.read(STACK_TOP - 4, 4) == bytes(4)


# ------------------------------------------------------------------ register convention
def test_handle_syscall_success_and_error(proc):
    m, g = proc.m, proc.m.gpr[0]
    buf = scratch(proc)
    proc.write(buf, b"abc")
    g[2], g[4], g[5], g[6] = NR["write"], 1, buf, 3
    proc.handle_syscall(epc=0x400100)
    assert (g[2], g[7]) == (3, 0)
    assert (m.cpu[0, PC], m.cpu[0, NPC]) == (0x400104, 0x400108)
    assert proc.out.getvalue() == b"abc"
    g[2], g[4] = NR["close"], 77
    proc.handle_syscall(epc=0x400200)
    assert (g[2], g[7]) == (E["EBADF"], 1)


def test_unknown_syscall_enosys_counted(proc):
    g = proc.m.gpr[0]
    for _ in range(2):
        g[2] = 4999
        proc.handle_syscall(epc=0x1000)
        assert (g[2], g[7]) == (E["ENOSYS"], 1) and E["ENOSYS"] == 89
    g[2] = NR["mount"]
    proc.handle_syscall(epc=0x1000)
    assert proc.unknown_syscalls == {4999: 2, NR["mount"]: 1}
    assert proc.syscalls_by_number[4999] == 2


def test_indirect_syscall(proc):
    """o32 syscall 4000: the number in a0, arguments shifted by one."""
    assert proc.do_syscall(4000, [NR["getpid"], 0, 0, 0, 0, 0, 0, 0]) == 1000
    assert proc.do_syscall(4000, [NR["set_thread_area"], 0x1234, 0, 0]) == 0
    assert proc.m.cp0[0, CP0_Context, SEL_UserLocal] == 0x1234
    assert proc.syscalls_by_number[NR["getpid"]] == 1 and 4000 not in proc.syscalls_by_number


def test_stack_arguments(proc):
    """Arguments 5..8 come from sp+16..sp+28 (mmap2's fd and page offset)."""
    g = proc.m.gpr[0]
    sp = proc.sp - 64
    g[29] = sp
    proc.write(sp + 16, struct.pack("<II", 0xFFFFFFFF, 0))
    g[2], g[4], g[5], g[6], g[7] = NR["mmap2"], 0, 8192, 3, 0x802
    proc.handle_syscall(epc=0x1000)
    assert g[7] == 0 and g[2] % PAGE == 0 and g[2] < MMAP_BASE


# ------------------------------------------------------------------ I/O
def test_write_writev_read_readv(proc):
    p = proc
    buf = scratch(p)
    p.write(buf, b"hello ")
    p.write(buf + 100, b"world\n")
    assert p.do_syscall(NR["write"], [1, buf, 6]) == 6
    iov = buf + 200
    p.write(iov, struct.pack("<4I", buf, 6, buf + 100, 6))
    assert p.do_syscall(NR["writev"], [2, iov, 2]) == 12
    assert p.out.getvalue() == b"hello "
    assert p.err.getvalue() == b"hello world\n"
    assert p.do_syscall(NR["read"], [0, buf + 300, 5]) == 5
    assert p.read(buf + 300, 5) == b"input"
    p.write(iov, struct.pack("<4I", buf + 400, 3, buf + 500, 100))
    n = p.do_syscall(NR["readv"], [0, iov, 2])
    assert n == len(b" line\nmore\n")
    assert p.read(buf + 400, 3) + p.read(buf + 500, n - 3) == b" line\nmore\n"
    assert p.do_syscall(NR["read"], [0, buf, 10]) == 0          # EOF
    assert p.do_syscall(NR["write"], [1, 0x10, 4]) == -E["EFAULT"]
    assert p.do_syscall(NR["write"], [0, buf, 1]) == -E["EBADF"]  # stdin is read-only


def test_files(proc, tmp_path):
    p = proc
    buf = scratch(p)
    path = tmp_path / "f.txt"
    put_str(p, buf, os.fsencode(path))
    O_WRONLY, O_CREAT, O_TRUNC = 1, 0o400, 0o1000       # MIPS values
    fd = p.do_syscall(NR["open"], [buf, O_WRONLY | O_CREAT | O_TRUNC, 0o644])
    assert fd == 3
    p.write(buf + 1024, b"0123456789")
    assert p.do_syscall(NR["write"], [fd, buf + 1024, 10]) == 10
    assert p.do_syscall(NR["close"], [fd]) == 0
    assert path.read_bytes() == b"0123456789"
    fd = p.do_syscall(NR["openat"], [0xFFFFFF9C, buf, 0, 0])       # AT_FDCWD, O_RDONLY
    assert fd == 3
    assert p.do_syscall(NR["lseek"], [fd, 4, 0]) == 4
    assert p.do_syscall(NR["read"], [fd, buf + 2048, 3]) == 3
    assert p.read(buf + 2048, 3) == b"456"
    # _llseek(fd, hi, lo, result, whence=SEEK_END)
    assert p.do_syscall(NR["_llseek"], [fd, 0xFFFFFFFF, 0xFFFFFFFE, buf + 3000, 2]) == 0
    assert struct.unpack("<q", p.read(buf + 3000, 8))[0] == 8
    assert p.do_syscall(NR["dup"], [fd]) == 4
    assert p.do_syscall(NR["close"], [fd]) == 0
    assert p.do_syscall(NR["read"], [4, buf + 2048, 10]) == 2   # dup shares the offset
    assert p.do_syscall(NR["write"], [4, buf, 1]) == -E["EBADF"]
    put_str(p, buf, os.fsencode(tmp_path / "missing"))
    assert p.do_syscall(NR["open"], [buf, 0, 0]) == -E["ENOENT"]
    put_str(p, buf, b"relative.txt")
    cwd_before = os.getcwd()
    p.cwd = os.fsencode(tmp_path)
    assert p.do_syscall(NR["open"], [buf, O_WRONLY | O_CREAT, 0o600]) >= 0
    assert (tmp_path / "relative.txt").exists() and os.getcwd() == cwd_before


def test_getcwd_chdir_private(proc, tmp_path):
    p = proc
    buf = scratch(p)
    put_str(p, buf, os.fsencode(tmp_path))
    here = os.getcwd()
    assert p.do_syscall(NR["chdir"], [buf]) == 0
    assert os.getcwd() == here
    n = p.do_syscall(NR["getcwd"], [buf + 512, 256])
    assert p.read(buf + 512, n) == os.fsencode(tmp_path) + b"\0"
    assert p.do_syscall(NR["getcwd"], [buf + 512, 2]) == -E["ERANGE"]


def test_ioctl_not_a_tty(proc):
    buf = scratch(proc)
    assert proc.do_syscall(NR["ioctl"], [1, 0x40087468, buf]) == -E["ENOTTY"]   # TIOCGWINSZ
    assert proc.do_syscall(NR["ioctl"], [1, 0x540D, buf]) == -E["ENOTTY"]       # TCGETS
    assert proc.do_syscall(NR["ioctl"], [9, 0x540D, buf]) == -E["EBADF"]


def test_stat64_layout_fields(proc, tmp_path):
    f = tmp_path / "s"
    f.write_bytes(b"x" * 1234)
    st = os.stat(f)
    b = stat64_bytes(st)
    assert len(b) == 104
    ino, = struct.unpack_from("<Q", b, 16)
    mode, nlink, uid, gid = struct.unpack_from("<4I", b, 24)
    size, = struct.unpack_from("<q", b, 56)
    mtime, mtime_ns = struct.unpack_from("<iI", b, 72)
    blksize, = struct.unpack_from("<I", b, 88)
    blocks, = struct.unpack_from("<q", b, 96)
    assert (ino, mode, nlink, uid, gid, size) == (st.st_ino, st.st_mode, 1, st.st_uid, st.st_gid, 1234)
    assert (mtime, mtime_ns) == divmod(st.st_mtime_ns, 10**9)
    assert (blksize, blocks) == (st.st_blksize, st.st_blocks)
    p = proc
    buf = scratch(p)
    put_str(p, buf, os.fsencode(f))
    assert p.do_syscall(NR["stat64"], [buf, buf + 1024]) == 0
    assert p.read(buf + 1024, 104) == b
    fd = p.do_syscall(NR["open"], [buf, 0, 0])
    assert p.do_syscall(NR["fstat64"], [fd, buf + 2048]) == 0
    assert p.read(buf + 2048, 104) == b
    assert p.do_syscall(NR["statx"], [0xFFFFFF9C, buf, 0, 0x7FF, buf + 3000]) == 0
    sx = p.read(buf + 3000, 256)
    assert struct.unpack_from("<H", sx, 28)[0] == st.st_mode and struct.unpack_from("<Q", sx, 40)[0] == 1234
    # fstat of a Python stream without a host fd: a pipe
    assert p.do_syscall(NR["fstat64"], [1, buf + 2048]) == 0
    assert struct.unpack_from("<I", p.read(buf + 2048, 104), 24)[0] & 0o170000 == 0o010000


@pytest.mark.skipif(QEMU is None, reason="qemu-mipsel not installed")
def test_stat_layouts_match_qemu(guests, tmp_path):
    f = tmp_path / "target.bin"
    f.write_bytes(b"z" * 5000)
    os.utime(f, ns=(1_600_000_000_123_456_789, 1_650_000_000_987_654_321))
    out = subprocess.run([QEMU, str(guests["statdump"]), str(f)], capture_output=True,
                         check=True, timeout=60).stdout.decode()
    got = {}
    for line in out.splitlines():
        tag, r, hexdata = line.split()
        assert r == "0", line
        got[tag] = bytes.fromhex(hexdata)
    st = os.stat(f)
    mine = stat64_bytes(st)
    assert got["fstat64"][:104] == mine
    assert got["stat64"][:104] == mine
    assert got["stat64"][104:] == b"\xaa" * 8          # the kernel writes exactly 104 bytes
    q, sx = got["statx"], statx_bytes(st)
    assert struct.unpack_from("<I", q, 0)[0] & 0x7FF == 0x7FF
    for off, n in [(4, 4), (16, 14), (32, 24), (64, 12), (96, 12), (112, 12), (128, 16)]:
        assert q[off:off + n] == sx[off:off + n], f"statx bytes {off}..{off + n}"


# ------------------------------------------------------------------ memory
def test_brk_grow_and_shrink(proc):
    p, m = proc, proc.m
    start = p.do_syscall(NR["brk"], [0])
    assert start == p.mem.brk_start and start % PAGE == 0 and start >= p.image.end
    top = p.do_syscall(NR["brk"], [start + 3 * PAGE + 100])
    assert top == start + 3 * PAGE + 100
    vpn = start >> 12
    assert not m.ptab[vpn:vpn + 4].any()                     # demand-zero: nothing yet
    p.write(start + 3 * PAGE + 50, b"\x55")                  # a touch maps the page
    assert m.ptab[vpn + 3] & 7 == PTE_R | PTE_W
    assert p.read(start + 3 * PAGE, 51) == bytes(50) + b"\x55"
    free_before = p.pages.free_pages
    m.tc_tag.fill(7)
    assert p.do_syscall(NR["brk"], [start + PAGE]) == start + PAGE
    assert m.ptab[vpn + 3] == 0 and (m.tc_tag == -1).all()
    assert p.pages.free_pages == free_before + 1
    with pytest.raises(GuestFault):
        p.read(start + 3 * PAGE, 1)
    assert p.do_syscall(NR["brk"], [start - PAGE]) == start + PAGE   # below start: unchanged
    # growing into an existing mapping fails and leaves the break alone
    p.do_syscall(NR["mmap2"], [start + 8 * PAGE, PAGE, 3, 0x812, 0xFFFFFFFF, 0])
    assert p.do_syscall(NR["brk"], [start + 10 * PAGE]) == start + PAGE


def test_mmap_munmap_page_table(proc):
    p, m = proc, proc.m
    a = p.do_syscall(NR["mmap2"], [0, 3 * PAGE, 3, 0x802, 0xFFFFFFFF, 0])
    b = p.do_syscall(NR["mmap2"], [0, PAGE, 1, 0x802, 0xFFFFFFFF, 0])
    assert a % PAGE == 0 and b == a - PAGE                    # top-down
    assert a + 3 * PAGE <= MMAP_BASE
    vpn = a >> 12
    assert not m.ptab[vpn:vpn + 3].any()
    p.write(a + PAGE + 8, b"data")
    pte = int(m.ptab[vpn + 1])
    assert pte & 7 == PTE_R | PTE_W
    pa = pte & ~0xFFF
    assert bytes(m.ram8[pa + 8:pa + 12]) == b"data"          # the PTE points at the bytes
    assert p.read(b, 4) == bytes(4)
    assert m.ptab[b >> 12] & 7 == PTE_R                       # read-only page
    with pytest.raises(GuestFault):
        p.write(b, b"x")
    m.tc_tag.fill(3)
    assert p.do_syscall(NR["munmap"], [a, 2 * PAGE]) == 0
    assert m.ptab[vpn] == 0 and m.ptab[vpn + 1] == 0 and (m.tc_tag == -1).all()
    assert not p.is_mapped(a) and p.is_mapped(a + 2 * PAGE)
    assert p.do_syscall(NR["munmap"], [a + 1, PAGE]) == -E["EINVAL"]
    assert p.do_syscall(NR["mmap2"], [0, 0, 3, 0x802, 0xFFFFFFFF, 0]) == -E["EINVAL"]
    # MAP_FIXED replaces what is there
    p.write(a + 2 * PAGE, b"old")
    c = p.do_syscall(NR["mmap2"], [a + 2 * PAGE, PAGE, 3, 0x812, 0xFFFFFFFF, 0])
    assert c == a + 2 * PAGE and p.read(c, 3) == bytes(3)


def test_mprotect(proc):
    p, m = proc, proc.m
    a = scratch(p, 2 * PAGE)
    p.write(a, b"keep")
    vpn = a >> 12
    frame = int(m.ptab[vpn]) & ~0xFFF
    m.tc_tag.fill(1)
    assert p.do_syscall(NR["mprotect"], [a, PAGE, 1 | 4]) == 0       # r-x
    assert m.ptab[vpn] == frame | PTE_R | PTE_X and (m.tc_tag == -1).all()
    assert p.do_syscall(NR["mprotect"], [a, PAGE, 0]) == 0            # PROT_NONE
    assert m.ptab[vpn] == 0
    with pytest.raises(GuestFault):
        p.read(a, 1)
    assert p.do_syscall(NR["mprotect"], [a, PAGE, 3]) == 0
    assert m.ptab[vpn] == frame | PTE_R | PTE_W and p.read(a, 4) == b"keep"
    assert p.do_syscall(NR["mprotect"], [a + 100, PAGE, 3]) == -E["EINVAL"]
    assert p.do_syscall(NR["mprotect"], [0x1000, PAGE, 3]) == -E["ENOMEM"]
    assert p.do_syscall(NR["madvise"], [a, PAGE, 4]) == 0


def test_mmap_private_file(proc, tmp_path):
    p = proc
    f = tmp_path / "m.bin"
    f.write_bytes(bytes(range(256)) * 20)               # 5120 bytes
    buf = scratch(p)
    put_str(p, buf, os.fsencode(f))
    fd = p.do_syscall(NR["open"], [buf, 2, 0])
    a = p.do_syscall(NR["mmap2"], [0, 8192, 3, 2, fd, 0])
    assert a > 0 and p.read(a, 5120) == f.read_bytes() and p.read(a + 5120, 3072) == bytes(3072)
    p.write(a, b"\xff")                                 # private: the file is untouched
    assert f.read_bytes()[0] == 0
    # MAP_SHARED writable: written back at munmap
    s = p.do_syscall(NR["mmap"], [0, 4096, 3, 1, fd, 4096])
    assert p.read(s, 4) == bytes([0, 1, 2, 3])
    p.write(s, b"SHRD")
    assert p.do_syscall(NR["munmap"], [s, 4096]) == 0
    assert f.read_bytes()[4096:4100] == b"SHRD" and len(f.read_bytes()) == 5120


def test_mremap(proc):
    p = proc
    a = scratch(p, 2 * PAGE)
    p.write(a, b"moveme")
    n = p.do_syscall(NR["mremap"], [a, 2 * PAGE, 64 * PAGE, 1, 0])
    assert n > 0 and p.read(n, 6) == b"moveme"
    assert p.do_syscall(NR["mremap"], [n, 64 * PAGE, PAGE, 0, 0]) == n
    assert not p.is_mapped(n + PAGE)


# ------------------------------------------------------------------ misc
def test_identity_and_uname(proc):
    p = proc
    assert p.do_syscall(NR["getpid"], []) == 1000 == p.do_syscall(NR["gettid"], [])
    assert p.do_syscall(NR["set_tid_address"], [0x1234]) == 1000
    assert p.do_syscall(NR["getuid"], []) == os.getuid()
    buf = scratch(p)
    assert p.do_syscall(NR["uname"], [buf]) == 0
    fields = [p.read(buf + 65 * i, 65).split(b"\0")[0] for i in range(6)]
    assert fields[0] == b"Linux" and fields[4] == b"mips"


def test_set_thread_area(proc):
    assert proc.do_syscall(NR["set_thread_area"], [0x7FFF1234]) == 0
    assert proc.m.cp0[0, CP0_Context, SEL_UserLocal] == 0x7FFF1234


def test_deterministic_clocks(proc):
    p = proc
    buf = scratch(p)
    p.m.cpu[0, INSNS] = 2_500_000_123
    assert p.do_syscall(NR["clock_gettime64"], [1, buf]) == 0              # MONOTONIC
    assert struct.unpack("<qq", p.read(buf, 16)) == (2, 500_000_123)
    assert p.do_syscall(NR["clock_gettime"], [0, buf]) == 0                # REALTIME, 32-bit
    assert struct.unpack("<iI", p.read(buf, 8)) == (DETERMINISTIC_EPOCH + 2, 500_000_123)
    assert p.do_syscall(NR["gettimeofday"], [buf, 0]) == 0
    assert struct.unpack("<iI", p.read(buf, 8)) == (DETERMINISTIC_EPOCH + 2, 500_000)
    assert p.do_syscall(NR["clock_gettime64"], [99, buf]) == -E["EINVAL"]
    # a sleep returns at once and moves the clocks forward
    p.write(buf + 64, struct.pack("<qq", 1, 0))
    assert p.do_syscall(NR["clock_nanosleep_time64"], [1, 0, buf + 64, 0]) == 0
    p.do_syscall(NR["clock_gettime64"], [1, buf])
    assert struct.unpack("<qq", p.read(buf, 16)) == (3, 500_000_123)
    p.do_syscall(NR["clock_gettime64"], [2, buf])                           # CPU time: no sleep
    assert struct.unpack("<qq", p.read(buf, 16)) == (2, 500_000_123)


def test_getrandom_deterministic(guests):
    def draw(seed):
        p = LinuxProcess(guests["hello"], ram_bytes=4 << 20, seed=seed)
        buf = scratch(p)
        assert p.do_syscall(NR["getrandom"], [buf, 32, 0]) == 32
        return p.read(buf, 32)
    assert draw(1) == draw(1) != draw(2)


def test_signals_recorded(proc):
    p = proc
    buf = scratch(p)
    p.write(buf, struct.pack("<II16s", 0x08, 0x401000, bytes(16)))   # SA_SIGINFO, handler
    assert p.do_syscall(NR["rt_sigaction"], [16, buf, 0, 16]) == 0
    assert p.do_syscall(NR["rt_sigaction"], [16, 0, buf + 100, 16]) == 0
    assert p.read(buf + 100, 24) == p.read(buf, 24) and p.signals.handler(16) == 0x401000
    assert p.do_syscall(NR["rt_sigaction"], [9, buf, 0, 16]) == -E["EINVAL"]
    assert p.do_syscall(NR["rt_sigaction"], [16, buf, 0, 8]) == -E["EINVAL"]
    p.write(buf, (1 << 15).to_bytes(16, "little"))
    assert p.do_syscall(NR["rt_sigprocmask"], [1, buf, buf + 200, 16]) == 0   # SIG_BLOCK
    assert p.signals.mask == 1 << 15
    # a blocked signal sent to ourselves stays pending, SIG_IGN drops it
    assert p.do_syscall(NR["kill"], [1000, 16]) == 0
    p.write(buf, struct.pack("<II16s", 0, 1, bytes(16)))
    assert p.do_syscall(NR["rt_sigaction"], [18, buf, 0, 16]) == 0
    assert p.do_syscall(NR["kill"], [1000, 18]) == 0


# ------------------------------------------------------------------ the run loop (scripted CPU)
class ScriptedCPU:
    """Stands in for flashvm.kernels.run.run: each call performs one scripted step."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, m, budget):
        self.calls += 1
        step = self.steps.pop(0)
        m.cpu[0, INSNS] += 10
        if step == "budget":
            return EXIT_BUDGET
        exc, bad, regs = step
        for r, v in regs.items():
            m.gpr[0, r] = v
        pc = int(m.cpu[0, PC])
        m.exitrec[X_REASON] = EXIT_EXCEPTION
        m.exitrec[X_A0], m.exitrec[X_A1], m.exitrec[X_A2], m.exitrec[X_A3] = exc, bad, pc, 0
        return EXIT_EXCEPTION


def test_run_loop_exit_status(proc):
    cpu = ScriptedCPU(["budget", (EXC_SYS, 0, {2: NR["getpid"]}),
                       (EXC_SYS, 0, {2: NR["exit_group"], 4: 300})])
    r = proc.run(run_fn=cpu)
    assert r.status == 300 & 0xFF == 44 and r.reason == "exited" and r.message is None
    assert proc.syscalls_by_number == {NR["getpid"]: 1, NR["exit_group"]: 1}
    assert r.instructions == 30 and cpu.calls == 3


def test_run_loop_demand_paging_then_segv(proc):
    heap = proc.mem.brk_start
    proc.do_syscall(NR["brk"], [heap + PAGE])
    pc0 = int(proc.m.cpu[0, PC])
    steps = [(EXC_TLBS, heap + 8, {}),              # first touch of the heap: paged in, retried
             (EXC_TLBL, 0x10, {})]                  # NULL dereference
    r = proc.run(run_fn=ScriptedCPU(steps))
    assert proc.m.ptab[heap >> 12] & PTE_W
    assert r.status == 128 + 11 and r.reason == "killed by SIGSEGV"
    assert "SIGSEGV" in r.message and "badvaddr=0x00000010" in r.message
    assert f"pc=0x{pc0:08x}" in r.message and "_start" in r.message
    assert proc.err.getvalue().decode().strip() == r.message         # diagnostics on stderr
    assert proc.out.getvalue() == b""


def test_run_loop_write_to_readonly_is_segv(proc):
    code = proc.image.entry
    r = proc.run(run_fn=ScriptedCPU([(EXC_TLBS, code, {})]))
    assert r.status == 139


def test_run_loop_illegal_instruction_and_abort(proc, guests):
    r = proc.run(run_fn=ScriptedCPU([(EXC_RI, 0, {})]))
    assert r.status == 128 + 4 and "SIGILL" in r.message
    p = LinuxProcess(guests["hello"], stdout=io.BytesIO(), stderr=io.BytesIO(), ram_bytes=4 << 20)
    # abort(): block signals, tkill(SIGABRT), unblock -> dies on unblock
    buf = scratch(p)
    p.write(buf, (2**128 - 1).to_bytes(16, "little"))
    steps = [(EXC_SYS, 0, {2: NR["rt_sigprocmask"], 4: 1, 5: buf, 6: 0, 7: 16}),
             (EXC_SYS, 0, {2: NR["tkill"], 4: 1000, 5: 6}),
             (EXC_SYS, 0, {2: NR["rt_sigprocmask"], 4: 2, 5: buf, 6: 0, 7: 16})]
    r = p.run(run_fn=ScriptedCPU(steps))
    assert r.status == 134 and r.reason == "killed by SIGABRT" and "SIGABRT" in r.message


def test_run_loop_instruction_limit(proc):
    r = proc.run(run_fn=ScriptedCPU(["budget"] * 10), max_insns=30, budget_per_slice=10)
    assert r.status == 128 + 30 and "instruction limit" in r.message and r.instructions == 30


# ------------------------------------------------------------------ end to end on the CPU kernel
RICH_C = r"""
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = envp; *e; e++) printf("env %s\n", *e);
    printf("%.15f %.6g %.6e %.3f\n", sqrt(2.0), sin(1.0), exp(10.0), strtod("2.5e-3", 0) * 1000);
    int n = 5000, *a = malloc(n * sizeof *a);
    for (int i = 0; i < n; i++) a[i] = (i * 7919) % n;
    qsort(a, n, sizeof *a, cmp);
    long sum = 0;
    for (int i = 0; i < n; i++) sum += (long)a[i] * (i % 7);
    printf("sorted %d %d %d sum=%ld\n", a[0], a[n / 2], a[n - 1], sum);
    char *big = malloc(3 << 20);
    memset(big, 5, 3 << 20);
    big = realloc(big, 6 << 20);
    memset(big + (3 << 20), 6, 3 << 20);
    long s2 = 0;
    for (int i = 0; i < (6 << 20); i += 4096) s2 += big[i];
    printf("big %ld\n", s2);
    free(big);
    char *m = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(m + 60000, "mapped");
    printf("%s %d\n", m + 60000, m[100]);
    munmap(m, 1 << 16);
    FILE *f = fopen(argv[1], "w");
    for (int i = 0; i < 1000; i++) fprintf(f, "line %d\n", i);
    fclose(f);
    struct stat st;
    stat(argv[1], &st);
    int fd = open(argv[1], O_RDONLY);
    char buf[64] = {0};
    lseek(fd, 100, SEEK_SET);
    ssize_t r = read(fd, buf, 20);
    close(fd);
    printf("size=%lld read=%zd [%.20s] regular=%d\n", (long long)st.st_size, r, buf, S_ISREG(st.st_mode));
    f = fopen("/nonexistent/file", "r");
    printf("fopen: %s errno=%d\n", f ? "ok" : strerror(errno), errno);
    fprintf(stderr, "to stderr %d\n", 42);
    return 7;
}
"""

STDIN_C = r"""
#include <ctype.h>
#include <stdio.h>
int main(void) {
    int c, lines = 0, bytes = 0;
    while ((c = getchar()) != EOF) { bytes++; lines += c == '\n'; putchar(toupper(c)); }
    printf("%d lines %d bytes\n", lines, bytes);
    return 0;
}
"""

CRASH_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    volatile int zero = argc - 2;
    printf("buffered, lost in a crash\n");
    printf("really buffered\n");
    if (!strcmp(argv[1], "segv")) *(volatile int *)(zero * 16) = 1;
    if (!strcmp(argv[1], "abort")) abort();
    if (!strcmp(argv[1], "exit")) { fflush(stdout); exit(3); }
    if (!strcmp(argv[1], "div")) return 10 / zero;
    return 0;
}
"""


@pytest.fixture(scope="module")
def cpu_run():
    from flashvm.kernels.run import run
    return run


@pytest.fixture(scope="module")
def e2e_guests(tmp_path_factory, guests):
    d = tmp_path_factory.mktemp("e2e")
    return {**guests,
            "rich": build_guest(d, "proc_rich", RICH_C),
            "stdin": build_guest(d, "proc_stdin", STDIN_C),
            "crash": build_guest(d, "proc_crash", CRASH_C)}


def run_both(exe, argv, env=None, stdin=b""):
    """(status, stdout, stderr) from flashvm and, if installed, from qemu-mipsel."""
    out, err = io.BytesIO(), io.BytesIO()
    proc = LinuxProcess(exe, argv, env or {}, stdin=io.BytesIO(stdin), stdout=out, stderr=err,
                        ram_bytes=64 << 20)
    r = proc.run()
    mine = (r.status, out.getvalue(), err.getvalue(), (r, proc))
    if QEMU is None:
        return mine, None
    q = subprocess.run([QEMU, "-0", argv[0], str(exe), *argv[1:]], input=stdin,
                       capture_output=True, env=env or {}, timeout=120)
    status = q.returncode if q.returncode >= 0 else 128 - q.returncode
    return mine, (status, q.stdout, q.stderr)


def test_e2e_hello(cpu_run, e2e_guests):
    mine, qemu = run_both(e2e_guests["hello"], ["hello", "x"])
    status, out, err, (r, proc) = mine
    assert (status, out, err) == (4, b"hello from hello, 2 args\n", b"")
    assert r.reason == "exited" and r.instructions > 100 and not proc.unknown_syscalls
    if qemu:
        assert qemu == (status, out, err)


def test_e2e_rich_program_matches_qemu(cpu_run, e2e_guests, tmp_path):
    argv = ["rich", str(tmp_path / "out.txt"), "second arg"]
    # one variable only: qemu-user reverses the environment's order, Linux keeps it
    mine, qemu = run_both(e2e_guests["rich"], argv, {"FOO": "bar"})
    status, out, err, r = mine
    assert status == 7, (out, err, r)
    assert b"env FOO=bar\n1.414213562373095 0.841471 2.202647e+04 2.500\n" in out
    assert b"sorted 0 2500 4999 sum=37487500\nbig 8448\nmapped 0\n" in out
    assert b"size=8890 read=20 [3\nline 14\nline 15\nli] regular=1" in out
    assert b"No such file or directory errno=2" in out
    assert err == b"to stderr 42\n"
    if qemu:
        assert (status, out, err) == qemu


def test_e2e_stdin(cpu_run, e2e_guests):
    data = b"hello world\nsecond line\n" * 50
    mine, qemu = run_both(e2e_guests["stdin"], ["stdin"], stdin=data)
    assert mine[0] == 0 and mine[1] == data.upper() + b"100 lines 1200 bytes\n"
    if qemu:
        assert mine[:3] == qemu


@pytest.mark.parametrize("how,status,sig", [("segv", 139, "SIGSEGV"), ("abort", 134, "SIGABRT"),
                                            ("exit", 3, None), ("div", 136, "SIGFPE")])
def test_e2e_crashes(cpu_run, e2e_guests, how, status, sig):
    mine, qemu = run_both(e2e_guests["crash"], ["crash", how])
    st, out, err, (r, _) = mine
    assert st == status, err
    if sig:
        assert r.reason == f"killed by {sig}"
        lines = err.decode().splitlines()
        assert len(lines) == 1 and sig in lines[0] and "pc=0x" in lines[0]
        if how == "segv":
            assert "badvaddr=0x00000000" in lines[0] and "<main+0x" in lines[0]
    else:
        assert err == b""
    # musl writes its first stdout line at once (the buffer is set up on that
    # first write); the second one stays in the full buffer of a pipe and dies
    # with the process unless it exits normally
    assert out == b"buffered, lost in a crash\n" + (b"really buffered\n" if not sig else b"")
    if qemu and how != "div":        # qemu 7.2 reports `teq ...,7` as SIGTRAP; Linux says SIGFPE
        assert qemu[0] == st and qemu[1] == out


def test_e2e_instruction_limit(cpu_run, e2e_guests):
    err = io.BytesIO()
    r = run_process(e2e_guests["stdin"], ["stdin"], stdin=io.BytesIO(b"x" * 100000),
                    stdout=io.BytesIO(), stderr=err, max_insns=20000, budget_per_slice=5000,
                    ram_bytes=16 << 20)
    assert r.status == 128 + 30 and 20000 <= r.instructions < 20000 + 5000
    assert b"instruction limit" in err.getvalue()
