"""Memory shared between Disco's VMs (paper §5.3, Fig. 6): 8 VMs of 1 VCPU each on flash8, every one
running the same programs from the shared root disk (a runner that forks and execs the guest OS's
test programs one after the other, as pmake's many short processes do).  Prints the virtual
footprint (guest-physical pages the VMs have in use, summed) against the machine footprint (the
distinct machine pages backing them) at the peak and at the end; the bar is machine <= 60% of
virtual (the paper: 8 VMs of pmake, 77 MB virtual, 38 MB machine).

    PYTHONPATH=$PWD python bench/disco_share.py [VMS] [MEM_MB]
"""
import sys
import time
from pathlib import Path

from flashvm.disco.footprint import footprint_line
from flashvm.disco.osvm import run_os_vms
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "tests" / "guest" / "os"
SUITE = ["procs", "threads", "fileops", "mmaps", "sigs", "segv"]
vms = int(sys.argv[1]) if len(sys.argv) > 1 else 8
mem = int(sys.argv[2]) if len(sys.argv) > 2 else 24

files = {"/bin/runall": build_user([OSG / "runall.c"]), **{f"/bin/{n}": build_user([OSG / f"{n}.c"]) for n in SUITE}}
t0 = time.time()
res, disco, r = run_os_vms(files, ["/bin/runall", *[f"/bin/{n}" for n in SUITE]], vms=vms, cpus_per_vm=1,
                           machine="flash8", mem_mb=mem, hal=True, share=True, max_insns=4_000_000_000)
host = time.time() - t0
bad = [(v.name, v.failure, v.status) for v in res if not v.ok]
rep = disco.footprint.report()
mb = 4096 / (1 << 20)
print(f"{vms} VMs x {mem} MB, {r.instructions:,} instructions, {host:.0f} s host; failed: {bad or 'none'}")
print("per VM (peak): virtual MB", " ".join(f"{g * mb:.1f}" for g in rep["guest_pages_peak"]))
print("per VM (peak): machine MB", " ".join(f"{g * mb:.1f}" for g in rep["machine_pages_peak"]))
print("pages shared by k VMs (end):", {k: int(n) for k, n in enumerate(rep["sharing"]) if n and k})
print("sharing:", disco.share_stats())
print("memory footprint (Fig. 6):", footprint_line(rep))
peak = rep["machine_pages_total_peak"] / rep["guest_pages_total_peak"]
print(f"machine / virtual at the peak: {100 * peak:.1f}% (bar: <= 60%)")
sys.exit(0 if peak <= 0.60 and not bad else 1)
