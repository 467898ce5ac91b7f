"""Radix (tests/guest/soak/radix.c) on SPLASHOS vs on the guest OS: 1 VM of 8 VCPUs, 32 MB, flash8,
timing mode; instructions, simulated time, the user / guest kernel / monitor / idle split (docs/splashos.md).

    PYTHONPATH=$PWD python bench/splashos_radix.py [KEYS] [PROGRAM]
"""
import sys
import time

from flashvm.disco.osvm import run_os_vms
from flashvm.disco.splashos import run_splashos
from flashvm.kernels import state as S
from flashvm.toolchain import build_splashos, build_user
n = sys.argv[1] if len(sys.argv) > 1 else "65536"
prog = sys.argv[2] if len(sys.argv) > 2 else "radix"
src = f"tests/guest/soak/{prog}.c"

def show(name, vm, disco, r):
    m = disco.m
    by = m.stats[:, S.S_CYC_BASE:S.S_CYC_BASE + 3].sum(axis=0)
    st = m.stats[:, S.S_STALL_BASE:S.S_STALL_BASE + 3].sum(axis=0)
    idle = int(m.stats[:, S.S_IDLE_CYCLES].sum())
    tot = int(by.sum()) + idle
    ds = disco.vm_stats(disco.vms[0])
    print(f"{name}: {vm.stdout.strip().decode()!r} status {vm.status}")
    print(f"  instructions {r.instructions:,}  simulated {disco.fm.now_ns()/1e6:.3f} ms  cycles (all CPUs) {tot:,}")
    print(f"  user {by[2]:,} ({100*by[2]/tot:.1f}%, stall {st[2]:,})  guest kernel {by[1]:,} ({100*by[1]/tot:.1f}%)"
          f"  monitor {by[0]:,} ({100*by[0]/tot:.1f}%)  idle {idle:,} ({100*idle/tot:.1f}%)")
    print(f"  monitor: traps {ds['traps']:,} emulated {ds['emulated']:,} reflected {ds['reflected']:,} "
          f"l2tlb {ds['l2tlb_hits']:,} vtlb {ds['vtlb_hits']:,} vint {ds['virtual_interrupts']:,}")
    return disco.fm.now_ns()

t0 = time.time()
vms, d, r = run_splashos(build_splashos([src]), [prog, "8", n], cpus=8, machine="flash8", mode="timing",
                         mem_mb=32, max_insns=2_000_000_000)
a = show("SPLASHOS", vms[0], d, r)
vms, d, r = run_os_vms({f"/bin/{prog}": build_user([src])}, [f"/bin/{prog}", "8", n], vms=1, cpus_per_vm=8,
                       machine="flash8", mode="timing", mem_mb=32, max_insns=2_000_000_000)
b = show("guest OS", vms[0], d, r)
print(f"SPLASHOS time / guest OS time = {a/b:.2f}   (host {time.time()-t0:.0f} s)")
