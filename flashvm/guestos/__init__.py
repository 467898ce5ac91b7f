"""The host half of flashvm's guest OS (flashvm/guest/os, docs/os.md).

    build    build_kernel(variant) -> Path; VARIANTS; OS_DIR
    image    make_initrd(files) -> bytes; make_disk_image(image, files) -> Path
    console  ConsoleDemux: the kernel's framed console split into stdout/stderr/log
    multi    os_init(files, commands): several command lines under /sbin/multi
    boot     boot_os(files, argv, *, root="initrd"|"disk", ...) -> OsResult;
             boot_commands(files, commands, ...); exec_os(program, args, ...)
"""
from flashvm.guestos.boot import (PANIC_STATUS, OsResult, boot_commands, boot_os, exec_os,
                                  make_machine, os_words)
from flashvm.guestos.build import OS_DIR, VARIANTS, build_kernel, flashfs_dir
from flashvm.guestos.console import ConsoleDemux
from flashvm.guestos.image import ROOTS, have_flashfs, make_disk_image, make_initrd, root_disk_image
from flashvm.guestos.multi import MULTI_PROGRAM, multi_argv, multi_program, os_init

__all__ = ["PANIC_STATUS", "OsResult", "boot_commands", "boot_os", "exec_os", "make_machine",
           "os_words", "OS_DIR", "VARIANTS", "build_kernel", "flashfs_dir", "ConsoleDemux", "ROOTS",
           "have_flashfs", "make_disk_image", "make_initrd", "root_disk_image", "MULTI_PROGRAM", "multi_argv",
           "multi_program", "os_init"]
