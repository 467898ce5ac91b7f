"""The command line's options shared by `run` and `exec` (and `resume`), defined once: cli.py
keeps only what each command does with them (the checks live in flashvm/session/options.py)."""
from __future__ import annotations

from pathlib import Path

import typer

from flashvm.clitext import (
    CKPT_HELP, FF_HELP, ROI_INSNS_HELP, SAMPLE_HELP, SAMPLED_HELP,
    MACHINE_HELP, MAX_INSNS_HELP, MODE_HELP, NUMA_HELP, SHARE_HELP, TIMEOUT_HELP, WARMUP_HELP,
)

DEFAULT_RESULTS = Path("results")

RESULTS = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file")
MAX_INSNS = typer.Option(None, help=MAX_INSNS_HELP)
TIMEOUT = typer.Option(None, "--timeout", help=TIMEOUT_HELP)
QUIET_RUN = typer.Option(False, "--quiet", "-q", help="no progress display and no summary")
QUIET_EXEC = typer.Option(False, "--quiet", "-q", help="no summary on stderr")
MACHINE = typer.Option(None, "--machine", help=MACHINE_HELP)
MODE = typer.Option(None, "--mode", help=MODE_HELP)
FAST_FORWARD = typer.Option(None, "--fast-forward", help=FF_HELP)
WARMUP = typer.Option(None, "--warmup", help=WARMUP_HELP)
ROI_INSTRUCTIONS = typer.Option(None, "--roi-instructions", help=ROI_INSNS_HELP)
SAMPLE_PERIOD = typer.Option(None, "--sample-period", metavar="P", help=SAMPLE_HELP)
SAMPLE = typer.Option(False, "--sample", help=SAMPLED_HELP)
CHECKPOINT_AT = typer.Option(None, "--checkpoint-at", help=CKPT_HELP)
VM_MEM = typer.Option(None, "--vm-mem", metavar="MB", help="with --vms: each VM's memory in MB")
NUMA_RUN = typer.Option(None, "--numa", help="workloads in VMs: " + NUMA_HELP)
NUMA_EXEC = typer.Option(None, "--numa", help="with --vms/--splashos: " + NUMA_HELP)
SHARE = typer.Option(False, "--share", help=SHARE_HELP)
