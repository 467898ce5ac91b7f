"""The machine's software contract in one table: the numbers the simulator
(Python) and the software it runs (the bare runtime, the guest OS, in C)
must agree on.  docs/machine.md describes them in prose.

    python -m flashvm.machine.layout          # rewrite flashvm/guest/include/flash_layout.h
    python -m flashvm.machine.layout --check  # fail if the header is out of date (the tests do this)

Python code imports the names below; guest C includes the generated header,
where each constant is `FLASH_<name>` and the boot info block is
`struct bootinfo`.  Addresses are physical unless the name says otherwise.

The CPU kernels (flashvm/kernels) sit below this module and keep their own
copies of the few numbers they need (the ROM's physical address, the reset
vector, ksseg, the HAL pages); tests/test_layout.py checks that they agree
with this table.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Const:
    """One number of the contract."""
    name: str       # the Python name; the C header calls it FLASH_<name>
    value: int
    meaning: str    # one line, copied into the header as a comment
    section: str


@dataclass(frozen=True)
class Field:
    """One 32-bit little-endian word of the boot info block."""
    name: str       # the member of struct bootinfo and BootInfo's attribute
    offset: int     # bytes from the start of the block
    meaning: str
    os_private: bool = False    # in the area the machine leaves to the OS


CONSTS: list[Const] = []
_section = ""


def _c(name: str, value: int, meaning: str) -> int:
    CONSTS.append(Const(name, value, meaning, _section))
    return value


# ------------------------------------------------------------------ address space
_section = "MIPS address segments (virtual)"
KSEG0 = _c("KSEG0", 0x80000000, "kseg0: unmapped, cached; virtual = physical + KSEG0")
KSEG1 = _c("KSEG1", 0xA0000000, "kseg1: unmapped, uncached; devices are used through it")
KSSEG = _c("KSSEG", 0xC0000000, "ksseg: mapped; under Disco the kernel's window 0xC0000000 + pa -> pa")
KSEG3 = _c("KSEG3", 0xE0000000, "kseg3: mapped; ksseg ends here")
USER_TOP = _c("USER_TOP", 0x7FFF0000, "the guest OS's user address space ends here")

# ------------------------------------------------------------------ physical map
_section = "physical memory map"
BOOTINFO_PA = _c("BOOTINFO_PA", 0x800, "the boot info block, written by the host before reset")
BOOTINFO_SIZE = _c("BOOTINFO_SIZE", 0x800, "its size in bytes")
DEV_BASE = _c("DEV_BASE", 0x1F000000, "the device window; RAM must end below it")
DEV_BLOCK = _c("DEV_BLOCK", 0x100, "bytes of one device's register block")
UART_BASE = _c("UART_BASE", DEV_BASE + 0x000, "UART: console")
POWER_BASE = _c("POWER_BASE", DEV_BASE + 0x100, "POWER: halt, panic report")
TIMER_BASE = _c("TIMER_BASE", DEV_BASE + 0x200, "TIMER: simulated nanoseconds")
SMP_BASE = _c("SMP_BASE", 0x1F001000, "SMP block: CPU count, IPIs, secondary CPU release")
SMP_SIZE = _c("SMP_SIZE", 0x1000, "its size in bytes")
DISK_BASE = _c("DISK_BASE", 0x1F002000, "DISK k at DISK_BASE + DISK_STRIDE * k")
DISK_STRIDE = _c("DISK_STRIDE", 0x100, "distance between two disks' register blocks")
MAX_DISKS = _c("MAX_DISKS", 16, "disks the window has room for")
NET_BASE = _c("NET_BASE", 0x1F003000, "NET k at NET_BASE + NET_STRIDE * k")
NET_STRIDE = _c("NET_STRIDE", 0x100, "distance between two network interfaces' register blocks")
MAX_NETS = _c("MAX_NETS", 4, "network interfaces the window has room for")
MAGIC_BASE = _c("MAGIC_BASE", 0x1F004000, "MAGIC: per-page, per-node cache-miss counters")
MAGIC_SIZE = _c("MAGIC_SIZE", 0x100, "its size in bytes")
ROI_BASE = _c("ROI_BASE", 0x1F005000, "ROI: region-of-interest markers (docs/results.md)")
ROI_SIZE = _c("ROI_SIZE", 0x100, "its size in bytes")
SVC_BASE = _c("SVC_BASE", 0x1F005100, "SVC: the guest kernel's service entry/exit markers (docs/experiments.md)")
SVC_SIZE = _c("SVC_SIZE", 0x100, "its size in bytes")
ROM_BASE = _c("ROM_BASE", 0x1FC00000, "the boot ROM")
ROM_SIZE = _c("ROM_SIZE", 64 << 10, "its size in bytes")
RESET_VECTOR = _c("RESET_VECTOR", KSEG1 | ROM_BASE, "where every CPU starts (virtual, kseg1)")

# ------------------------------------------------------------------ regions of interest
_section = "ROI device registers (offsets from ROI_BASE) and the guest OS's roi system call"
ROI_NAME = _c("ROI_NAME", 0x00, "write: append one byte (the low 8 bits) to the pending region name")
ROI_CMD = _c("ROI_CMD", 0x04, "write ROI_BEGIN/ROI_END/ROI_MARK: act on the pending name (\"\": \"roi\"), then clear it")
ROI_BEGIN = _c("ROI_BEGIN", 1, "command: a region starts (counters are snapshotted)")
ROI_END = _c("ROI_END", 2, "command: the region ends (no name: the last one begun)")
ROI_MARK = _c("ROI_MARK", 3, "command: end the last region begun (if any) and begin the named one")
SYS_ROI = _c("SYS_ROI", 4990, "o32 system call roi(cmd, name, len) of the guest OS and process mode")

# ------------------------------------------------------------------ kernel services
_section = "SVC device registers (offsets from SVC_BASE) and the guest kernel's service numbers"
SVC_ENTER = _c("SVC_ENTER", 0x00, "write a service number: this CPU enters that service")
SVC_TAG = _c("SVC_TAG", 0x04, "write a service number: the service this CPU is in turns out to be that one")
SVC_EXIT = _c("SVC_EXIT", 0x08, "write a service number: this CPU leaves its innermost service of that kind (any fault's)")
SVC_TASK = _c("SVC_TASK", 0x0C, "write a task's address (0: the scheduler): this CPU now runs it")
SVC_ENV = "FLASH_SERVICES=1"    # in init's environment: the guest kernel writes the markers (off by default)
SVC_DEMAND_ZERO = _c("SVC_DEMAND_ZERO", 0, "page fault answered with a zeroed page")
SVC_QUICK_FAULT = _c("SVC_QUICK_FAULT", 1, "page fault on a present page: the slow TLB refill")
SVC_OTHER_FAULT = _c("SVC_OTHER_FAULT", 2, "page fault reading a file page or copying on write")
SVC_OPEN = _c("SVC_OPEN", 3, "system call open/openat")
SVC_READ = _c("SVC_READ", 4, "system call read/readv/pread64")
SVC_WRITE = _c("SVC_WRITE", 5, "system call write/writev/pwrite64")
SVC_EXECVE = _c("SVC_EXECVE", 6, "system call execve")
SVC_OTHER_SYSCALL = _c("SVC_OTHER_SYSCALL", 7, "every other system call")

# ------------------------------------------------------------------ Disco's HAL pages
_section = "Disco's HAL pages (virtual, ksseg; the guest kernel's HAL build)"
HAL_PAGE = _c("HAL_PAGE", 0xDFFFF000, "the VCPU's special page: CP0 register r (select 0) at + 4 * r")
HAL_EBASE = _c("HAL_EBASE", 0x80, "offset of EBase in the special page")
HAL_MCALL = _c("HAL_MCALL", 0xDFFFE000, "the monitor-call page: a store to it traps into the monitor")
HAL_MC_ZERO = _c("HAL_MC_ZERO", 0x0, "monitor call: zero the guest-physical page stored")
HAL_MC_FREE = _c("HAL_MC_FREE", 0x4, "monitor call: the guest-physical page stored is free")
HAL_MC_DISK = _c("HAL_MC_DISK", 0x8, "monitor call: start the disk request {disk, sector, count, addr, cmd} stored")
HAL_MC_ALLOC = _c("HAL_MC_ALLOC", 0xC, "monitor call (BOOT_SHARE): the page stored is allocated: zero it, count it in use")
HAL_MC_RELEASE = _c("HAL_MC_RELEASE", 0x10, "monitor call (BOOT_SHARE): the page stored is free: drop its machine page or share")
HAL_MC_RESERVE = _c("HAL_MC_RESERVE", 0x14, "monitor call (BOOT_SHARE): the page stored is in use for good (kernel, tables)")

# ------------------------------------------------------------------ boot info
_section = "boot info block (at BOOTINFO_PA)"
BOOTINFO_MAGIC = _c("BOOTINFO_MAGIC", 0x49425646, "the first word: \"FVBI\"")
BOOTINFO_VERSION = _c("BOOTINFO_VERSION", 1, "the second word")
BOOTINFO_OS_AREA = _c("BOOTINFO_OS_AREA", 0x40, "offset of the words reserved for the OS (up to BOOTINFO_STRINGS)")
BOOTINFO_STRINGS = _c("BOOTINFO_STRINGS", 0x100, "offset of the argv strings, then the envp strings (NUL-terminated)")
BOOT_HALT_ON_EXIT = _c("BOOT_HALT_ON_EXIT", 1, "flags bit: halt the machine when init exits (always set)")
BOOT_VIRTUAL = _c("BOOT_VIRTUAL", 2, "flags bit: running in a Disco VM, whose monitor has wired the ksseg window")
BOOT_SHARE = _c("BOOT_SHARE", 4, "flags bit: the monitor shares pages between VMs: tell it of each page used or freed")
CONSOLE_FRAMED = _c("CONSOLE_FRAMED", 1, "console_mode value: stream-framed console (guest OS)")

BOOTINFO_FIELDS: list[Field] = [
    Field("magic", 0x00, "BOOTINFO_MAGIC"),
    Field("version", 0x04, "BOOTINFO_VERSION"),
    Field("ncpu", 0x08, "CPUs"),
    Field("ram_bytes", 0x0C, "RAM bytes (total)"),
    Field("nnodes", 0x10, "nodes"),
    Field("node_bytes", 0x14, "RAM per node; 0 if pages are interleaved"),
    Field("interleave", 0x18, "interleave bytes; 0 if node-contiguous"),
    Field("clock_hz", 0x1C, "CPU clock in Hz"),
    Field("ndisks", 0x20, "disks"),
    Field("nnets", 0x24, "network interfaces"),
    Field("argc", 0x28, "argv strings at BOOTINFO_STRINGS"),
    Field("envc", 0x2C, "envp strings after them"),
    Field("flags", 0x30, "BOOT_* bits"),
    Field("vmnum", 0x34, "VM number (0 on the bare machine)"),
    Field("initrd_pa", 0x40, "physical address of the in-RAM file blob (0: none)", os_private=True),
    Field("initrd_size", 0x44, "its size in bytes", os_private=True),
    Field("console_mode", 0x48, "CONSOLE_FRAMED or 0 (plain)", os_private=True),
    Field("verbose", 0x4C, "kernel log level", os_private=True),
]

OS_WORDS = [f.name for f in BOOTINFO_FIELDS if f.os_private]

# ------------------------------------------------------------------ the C header
HEADER = Path(__file__).resolve().parent.parent / "guest" / "include" / "flash_layout.h"


def generate_header() -> str:
    """The text of flashvm/guest/include/flash_layout.h."""
    out = ["/* flash_layout.h -- the machine's software contract (docs/machine.md).",
           " *",
           " * GENERATED by `python -m flashvm.machine.layout` from flashvm/machine/layout.py:",
           " * do not edit; change the table there and run the generator.",
           " * Included from C and from assembly (only #defines outside __ASSEMBLER__). */",
           "#ifndef FLASH_LAYOUT_H", "#define FLASH_LAYOUT_H"]
    section = None
    width = max(len(c.name) for c in CONSTS) + len("FLASH_")
    for c in CONSTS:
        if c.section != section:
            section = c.section
            out += ["", f"/* {section} */"]
        out.append(f"#define {'FLASH_' + c.name:<{width}} {f'0x{c.value:X}':<10}  /* {c.meaning} */")
    out += ["", "/* boot info: byte offsets of the words */"]
    fw = max(len(f.name) for f in BOOTINFO_FIELDS) + len("FLASH_BI_")
    for f in BOOTINFO_FIELDS:
        out.append(f"#define {'FLASH_BI_' + f.name.upper():<{fw}} 0x{f.offset:02X}")
    out += ["", "#ifndef __ASSEMBLER__", "#include <stdint.h>", "",
            "/* the boot info block at BOOTINFO_PA (through KSEG0, or ksseg under Disco) */",
            "struct bootinfo {"]
    pos, npad = 0, 0
    for f in BOOTINFO_FIELDS:
        if f.offset > pos:
            out.append(f"    uint32_t pad{npad}[{(f.offset - pos) // 4}];")
            npad += 1
        private = "OS-private: " if f.os_private else ""
        out.append(f"    uint32_t {f.name + ';':<14} /* 0x{f.offset:02X}: {private}{f.meaning} */")
        pos = f.offset + 4
    out += ["};",
            f"_Static_assert(sizeof(struct bootinfo) == {pos:#x}, \"boot info layout\");",
            "#endif /* !__ASSEMBLER__ */", "#endif /* FLASH_LAYOUT_H */", ""]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = generate_header()
    if "--check" in argv:
        if not HEADER.exists() or HEADER.read_text() != text:
            print(f"{HEADER} is out of date: run python -m flashvm.machine.layout", file=sys.stderr)
            return 1
        return 0
    HEADER.parent.mkdir(parents=True, exist_ok=True)
    HEADER.write_text(text)
    print(f"wrote {HEADER}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
