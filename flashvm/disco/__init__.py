"""Disco: the virtual machine monitor of Bugnion, Devine and Rosenblum (SOSP 1997) on flashvm's FLASH machine."""
from flashvm.disco.monitor import Disco, VirtualMachine, VmFailed, VmSpec

__all__ = ["Disco", "VirtualMachine", "VmFailed", "VmSpec"]
