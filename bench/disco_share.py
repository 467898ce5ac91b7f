"""Memory shared between Disco's VMs (paper §5.3, Fig. 6): 8 VMs of 1 VCPU each on flash8, every one
running the same programs from the shared root disk.  Prints the virtual footprint (guest-physical
pages the VMs have in use, summed) against the machine footprint (the distinct machine pages backing
them) at the peak and at the end; the bar is machine <= 60% of virtual (the paper: 8 VMs of pmake,
77 MB virtual, 38 MB machine).

    PYTHONPATH=$PWD python bench/disco_share.py pmake [VMS] [MEM_MB]   # Debian's make -j2 driving gcc
    PYTHONPATH=$PWD python bench/disco_share.py suite [VMS] [MEM_MB]   # the guest OS's test programs

`pmake` is the paper's workload: in every VM, make -j2 builds a four-file C program with Debian's
gcc (cc1, as, ld from the shared root image; the sources in each VM's own files) and runs it; it
needs the sysroot of gcc, make, libc6-dev and busybox-static that tests/guestos builds (cached).
`suite`: a runner forks and execs the guest OS's test programs one after the other.
"""
import dataclasses
import sys
import time
from pathlib import Path

from flashvm.disco.footprint import footprint_line
from flashvm.disco.memory import vm_room
from flashvm.machine.config import machine_config
from flashvm.disco.osvm import run_os_vms
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "tests" / "guest" / "os"
SUITE = ["procs", "threads", "fileops", "mmaps", "sigs", "segv"]
what = sys.argv[1] if len(sys.argv) > 1 else "pmake"
vms = int(sys.argv[2]) if len(sys.argv) > 2 else 8
mem = int(sys.argv[3]) if len(sys.argv) > 3 else (44 if what == "pmake" else 24)
kw: dict = {}
if what == "pmake":
    from flashvm.guestos.sysrun import sysroot_boot
    from flashvm.sysroot import Sysroot, sysroot_cache
    C_FILES = {
        "/w/lib.h": b"int sq(int); int cube(int); long fib(int);\n",
        "/w/main.c": b'#include <stdio.h>\n#include "lib.h"\nint main(void) { long s = 0; '
                     b'for (int i = 1; i <= 1000; i++) s += sq(i) + cube(i % 10);\n'
                     b'  printf("sum=%ld fib=%ld\\n", s, fib(40)); return 0; }\n',
        "/w/sq.c": b'#include "lib.h"\nint sq(int x) { return x * x; }\n',
        "/w/cube.c": b'#include "lib.h"\nint cube(int x) { return x * x * x; }\n',
        "/w/fib.c": b'#include "lib.h"\nlong fib(int n) { long a = 0, b = 1; while (n--) { long t = a + b; a = b; '
                    b'b = t; } return a; }\n',
        "/w/Makefile": b"OBJS = main.o sq.o cube.o fib.o\nprog: $(OBJS)\n\tcc -o prog $(OBJS)\n"
                       b"%.o: %.c lib.h\n\tcc -O2 -c $< -o $@\n",
    }
    root = Sysroot.load(sysroot_cache() / "test-roots" / "gcc-make-libc6-dev-busybox-static")
    files, argv, env, image = sysroot_boot(root, [["/bin/sh", "-c", "make -C /w -j2 >&2 && /w/prog"]], C_FILES)
    kw = dict(env=[f"{k}={v}" for k, v in env.items()], root_image=image)
else:
    files = {"/bin/runall": build_user([OSG / "runall.c"]),
             **{f"/bin/{n}": build_user([OSG / f"{n}.c"]) for n in SUITE}}
    argv = ["/bin/runall", *[f"/bin/{n}" for n in SUITE]]
t0 = time.time()
machine = machine_config("flash8")
if vms * mem > vm_room(machine) >> 20:       # more nodes of flash8's kind (Debian's gcc needs more than 1997's)
    per = (machine.mem_per_node >> 20) - 1                         # MB of a node the VMs can have
    machine = dataclasses.replace(machine, name=f"flash8x{-(-vms * mem // per)}", nodes=-(-vms * mem // per))
res, disco, r = run_os_vms(files, argv, vms=vms, cpus_per_vm=1, machine=machine, mem_mb=mem, hal=True, share=True,
                           max_insns=40_000_000_000, **kw)
host = time.time() - t0
if what == "pmake":
    print("VM 0 printed:", res[0].stdout.decode(errors="replace").strip(), "status", res[0].status)
bad = [(v.name, v.failure, v.status) for v in res if not v.ok or v.status]
rep = disco.footprint.report()
mb = 4096 / (1 << 20)
print(f"{machine.name}: {vms} VMs x {mem} MB, {r.instructions:,} instructions, {host:.0f} s host; failed: {bad or 'none'}")
print("per VM (peak): virtual MB", " ".join(f"{g * mb:.1f}" for g in rep["guest_pages_peak"]))
print("per VM (peak): machine MB", " ".join(f"{g * mb:.1f}" for g in rep["machine_pages_peak"]))
print("pages shared by k VMs (end):", {k: int(n) for k, n in enumerate(rep["sharing"]) if n and k})
print("sharing:", disco.share_stats())
print("memory footprint (Fig. 6):", footprint_line(rep))
alone = int(rep["machine_pages_peak"].sum())
print(f"sum of the VMs' own machine-page peaks (no sharing between VMs): {alone * mb:.1f} MB; "
      f"machine footprint at the peak is {100 * rep['machine_pages_total_peak'] / alone:.1f}% of it")
peak = rep["machine_pages_total_peak"] / rep["guest_pages_total_peak"]
print(f"machine / virtual at the peak: {100 * peak:.1f}% (bar: <= 60%)")
sys.exit(0 if peak <= 0.60 and not bad else 1)
