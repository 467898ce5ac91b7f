/*
 * splashos_abi.h -- the calls from SPLASHOS's user half to its kernel half
 * (start.S), shared by C and assembly: #defines only.
 *
 * `syscall` with the call number in $v0 and arguments in $a0..$a1; the result
 * comes back in $v0 (and $v1).  The kernel half touches only $k0, $k1, $v0,
 * $v1, $a0..$a3 and never uses a stack.
 */
#ifndef SPLASHOS_ABI_H
#define SPLASHOS_ABI_H

#define SOS_SYS_WRITE   0   /* a0 = buffer, a1 = length: bytes to the console */
#define SOS_SYS_EXIT    1   /* a0 = status: the VM halts */
#define SOS_SYS_TIME    2   /* v0, v1 = simulated time in ns (low, high) */
#define SOS_SYS_START   3   /* a0 = VCPU, a1 = pc: release a secondary VCPU (the VM's SMP block) */
#define SOS_SYS_NCPU    4   /* v0 = the VM's VCPUs */
#define SOS_SYS_GETC    5   /* v0 = a console byte, or -1 */
#define SOS_SYS_DISKRD  6   /* a0 = register offset in DISK 0's block: v0 = its value */
#define SOS_SYS_DISKWR  7   /* a0 = register offset in DISK 0's block, a1 = value to write */
#define SOS_SYS_ROI     8   /* a0 = ROI command, a1 = region name (NUL-ended, or 0): the ROI device */
#define SOS_NSYS        9

#define SOS_KSSEG       0xC0000000  /* the monitor's wired window: 0xC0000000 + pa -> pa */
#define SOS_MAP_BYTES   0x02000000  /* one wired entry maps a 16 MB page pair */

#endif
