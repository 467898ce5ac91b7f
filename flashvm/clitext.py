"""Help texts of the command line's options (a module of its own: cli.py stays short and --help fast)."""

FF_HELP = "functional mode until the guest's first region of interest (roi) or N instructions, then --mode timing"
ROI_INSNS_HELP = ("timing: end the run once its region of interest has run N instructions (a sample; "
                  "with --fast-forward roi the set-up runs in functional mode)")
WARMUP_HELP = ("with --fast-forward: instructions of timing mode before the switch point (warm caches); with "
               "--sample-period: before each sample (default 400000)")
SAMPLE_HELP = ("with --fast-forward roi: sample the whole region, --roi-instructions N (default 100000) measured "
               "in timing mode of every P instructions, after --warmup W; the rest functional; estimates +- 95% CI")
SAMPLED_HELP = ("measure the region of interest cheaply: timing mode, its set-up functional, the region sampled "
                "(--sample-period 8000000, --warmup 400000, --roi-instructions 100000, each times the CPUs; any of "
                "them given replaces its default); estimates +- 95% CI, docs/checkpoints.md")
MAX_INSNS_HELP = "stop the guest after this many instructions (default 10 billion; exit status 124)"
TIMEOUT_HELP = "stop the guest after this many seconds of simulation (host time; exit status 124)"
MACHINE_HELP = "machine: flash1, flash8, uma8 or a TOML config file"
MODE_HELP = "level of detail: functional (fastest) or timing (caches, directory, NUMA latencies)"
GDB_HELP = "serve gdb on localhost:PORT (default 1234; give it before PROGRAM), docs/gdb.md"
TRACE_HELP = "trace insn,exc,syscall (any of them; --trace alone: all), docs/trace.md"
SYSROOT_HELP = "a root of Debian packages (docs/sysroot.md): PROGRAM is a path in it; process mode: like qemu -L; --os: DIR is /"
VMS_HELP = "with --os: run N copies of the guest OS in Disco's virtual machines (--cpus: VCPUs per VM)"
NUMA_HELP = "Disco's NUMA page migration/replication, off|migrate|replicate|both (default: both on NUMA machines)"
SPLASHOS_HELP = "PROGRAM is linked with SPLASHOS (docs/splashos.md): run it in Disco VMs (--vms, default 1; --cpus per VM)"
CKPT_HELP = ("write the whole machine to a checkpoint file at the first region of interest (roi), after N "
             "instructions or at a simulated time (5ms); docs/checkpoints.md")
MOPT_HELP = "change on resume: latency.NAME, l1i/l1d/l2 .size and .ways, hot_page_threshold (comma-separated)"
SHARE_HELP = ("with --vms: memory shared between the VMs (the HAL kernel, its text loaded once, a global disk cache "
              "of the root disk), docs/disco.md")
