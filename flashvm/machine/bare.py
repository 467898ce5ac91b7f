"""The bare machine: a one-node FLASH machine with a given number of CPUs and
amount of RAM, for freestanding programs (`flashvm exec --bare`).

It is `FlashMachine` with a config made from the arguments; see
flashvm/machine/flash.py for the wiring and docs/machine.md for the contract.
"""
from __future__ import annotations

from typing import Callable

from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import Machine
from flashvm.machine.config import MachineConfig
from flashvm.machine.devices import ByteSink
from flashvm.machine.flash import FlashMachine, GuestError, RunResult, rom_image
from flashvm.machine.layout import KSEG1, ROM_SIZE


class BareMachine(FlashMachine):
    """CPUs + RAM + ROM + devices on one node, running freestanding programs."""

    def __init__(self, ncpu: int = 1, ram_bytes: int = 64 << 20, *, ntlb: int = 64,
                 out: ByteSink | None = None, clock_mhz: float = 200.0, quantum: int = 10_000,
                 mode: str = "functional"):
        cfg = MachineConfig(name="bare", nodes=1, cpus_per_node=ncpu, mem_per_node=ram_bytes,
                            clock_mhz=clock_mhz, tlb_entries=ntlb, quantum=quantum).validate()
        super().__init__(cfg, mode=mode, out=out)
        self.clock_mhz = clock_mhz

    def run(self, max_insns: int | None = None, progress: Callable[[int], None] | None = None,
            run_fn: Callable[[Machine, int], int] = run_kernel, *, chunk: int | None = None) -> RunResult:
        if chunk is not None:
            self.chunk_cycles = max(self.cfg.quantum, chunk // self.cfg.quantum * self.cfg.quantum)
        return super().run(max_insns=max_insns, progress=progress, run_fn=run_fn)


__all__ = ["BareMachine", "GuestError", "RunResult", "rom_image", "ROM_SIZE", "KSEG1"]
