/*
 * syscall.c -- the system-call table and the dispatcher.
 *
 * o32 passes the call number in v0 and the first four argument words in
 * a0..a3; further words are on the user stack at sp + 16.  The result goes
 * back in v0 with a3 = 0, or the errno in v0 with a3 = 1.
 */
#include "kernel.h"
#include "syscall.h"

/* One row per call: the handler and the number of argument words it takes
 * (the table reads the ones past the fourth from the user stack).  A row
 * without a handler is a call that is not implemented (-ENOSYS) but still
 * has its stack arguments read. */
struct syscall {
    long (*fn)(u32 *a, struct tf *tf);
    int nargs;
};

#define SYS(name, n)          [NR_##name - NR_syscall] = { sys_##name, n }
#define SYS_AS(name, fn, n)   [NR_##name - NR_syscall] = { fn, n }
#define SYS_NONE(name, n)     [NR_##name - NR_syscall] = { NULL, n }

static const struct syscall syscalls[NR_LAST - NR_syscall + 1] = {
    /* processes */
    SYS(exit, 1), SYS(exit_group, 1), SYS(fork, 0), SYS(clone, 5), SYS(execve, 3),
    SYS(wait4, 4), SYS(waitpid, 3), SYS(getpid, 0), SYS(gettid, 0), SYS(getppid, 0),
    SYS_AS(getuid, sys_zero, 0), SYS_AS(geteuid, sys_zero, 0),
    SYS_AS(getgid, sys_zero, 0), SYS_AS(getegid, sys_zero, 0),
    SYS_AS(getresuid, sys_getresuid, 3), SYS_AS(getresgid, sys_getresuid, 3),
    /* every process runs as root (uid = gid = 0): root may set any id, and the ids stay 0 */
    SYS_AS(setuid, sys_zero, 0), SYS_AS(setgid, sys_zero, 0),
    SYS_AS(setreuid, sys_zero, 0), SYS_AS(setregid, sys_zero, 0),
    SYS_AS(setresuid, sys_zero, 0), SYS_AS(setresgid, sys_zero, 0),
    SYS_AS(setfsuid, sys_zero, 0), SYS_AS(setfsgid, sys_zero, 0),   /* the previous fs id: 0 */
    SYS_AS(setgroups, sys_zero, 0), SYS_AS(getgroups, sys_zero, 0), /* no supplementary groups */
    SYS_AS(getpgid, sys_getpid, 0), SYS_AS(getpgrp, sys_getpid, 0), SYS_AS(getsid, sys_getpid, 0),
    SYS_AS(setpgid, sys_zero, 0), SYS_AS(setsid, sys_zero, 0),
    SYS(set_thread_area, 1), SYS(set_tid_address, 1), SYS_AS(set_robust_list, sys_zero, 0),
    SYS(sched_yield, 0), SYS(sched_getaffinity, 3), SYS(sched_setaffinity, 3),
    SYS(getcpu, 2), SYS(getrandom, 2),
    SYS(prlimit64, 4), SYS(getrlimit, 2), SYS_AS(setrlimit, sys_zero, 0),
    SYS(sysinfo, 1), SYS(getrusage, 2), SYS(prctl, 5), SYS(reboot, 4),
    /* memory */
    SYS(brk, 1), SYS(mmap, 6), SYS(mmap2, 6), SYS(munmap, 2), SYS(mprotect, 3),
    SYS_AS(madvise, sys_zero, 0), SYS_AS(msync, sys_zero, 0),
    SYS_AS(mlock, sys_zero, 0), SYS_AS(munlock, sys_zero, 0), SYS(mremap, 5),
    /* time */
    SYS(uname, 1), SYS(clock_gettime, 2), SYS(clock_gettime64, 2),
    SYS(clock_getres, 2), SYS(clock_getres_time64, 2), SYS(gettimeofday, 1),
    SYS(time, 1), SYS(times, 1), SYS(nanosleep, 2),
    SYS(clock_nanosleep, 4), SYS(clock_nanosleep_time64, 4),
    /* signals and futexes */
    SYS(rt_sigaction, 3), SYS(rt_sigprocmask, 3), SYS(rt_sigpending, 2),
    SYS(rt_sigreturn, 0), SYS(pause, 0), SYS(rt_sigsuspend, 1), SYS(sigaltstack, 2),
    SYS(kill, 2), SYS(tkill, 2), SYS(tgkill, 3),
    SYS(futex, 6), SYS_AS(futex_time64, sys_futex, 6),
    /* files */
    SYS(read, 3), SYS(write, 3), SYS(readv, 3), SYS(writev, 3),
    SYS(pread64, 6), SYS(pwrite64, 6),
    SYS(open, 3), SYS(openat, 4), SYS(creat, 2), SYS(close, 1),
    SYS(lseek, 3), SYS(_llseek, 5), SYS(dup, 1), SYS(dup2, 2), SYS(dup3, 3),
    SYS_AS(fcntl, sys_fcntl, 3), SYS_AS(fcntl64, sys_fcntl, 3),
    SYS(pipe, 0), SYS(pipe2, 2), SYS(ioctl, 3),
    SYS(flock, 2),
    SYS(fstat64, 2), SYS(stat64, 2), SYS(lstat64, 2),
    SYS(fstatat64, 4), SYS(statx, 5), SYS(getdents64, 3),
    SYS(mkdir, 2), SYS(mkdirat, 3), SYS(unlink, 1), SYS(rmdir, 1), SYS(unlinkat, 3),
    SYS(rename, 2), SYS(renameat, 4), SYS_AS(renameat2, sys_renameat, 5),
    SYS(getcwd, 2), SYS(chdir, 1), SYS(fchdir, 1),
    SYS(access, 2), SYS(faccessat, 3), SYS_AS(faccessat2, sys_faccessat, 3),
    SYS(ftruncate64, 3), SYS(truncate64, 3),
    SYS_AS(fsync, sys_zero, 0), SYS_AS(fdatasync, sys_zero, 0), SYS_AS(sync, sys_zero, 0),
    SYS(umask, 0), SYS(readlink, 3), SYS(readlinkat, 4),
    SYS(symlink, 2), SYS(symlinkat, 3), SYS(link, 2), SYS(linkat, 5),
    SYS(statfs64, 3), SYS(fstatfs64, 3),
    SYS(poll, 3), SYS(ppoll, 5), SYS(ppoll_time64, 5), SYS(_newselect, 5),
    SYS(pselect6, 6), SYS(pselect6_time64, 6),
    /* permissions, owners and times are not kept */
    SYS_AS(chmod, sys_zero, 0), SYS_AS(fchmod, sys_zero, 0), SYS_AS(fchmodat, sys_zero, 0),
    SYS_AS(chown, sys_zero, 0), SYS_AS(lchown, sys_zero, 0), SYS_AS(fchown, sys_zero, 0),
    SYS_AS(fchownat, sys_zero, 0), SYS_AS(utimensat, sys_zero, 0),
    /* advice is taken and ignored; there are no extended attributes */
    SYS_AS(fadvise64, sys_zero, 0),
    SYS_AS(getxattr, sys_no_xattr, 0), SYS_AS(lgetxattr, sys_no_xattr, 0),
    SYS_AS(fgetxattr, sys_no_xattr, 0), SYS_AS(listxattr, sys_no_xattr, 0),
    SYS_AS(llistxattr, sys_no_xattr, 0), SYS_AS(flistxattr, sys_no_xattr, 0),
    SYS_AS(setxattr, sys_no_xattr, 0), SYS_AS(lsetxattr, sys_no_xattr, 0),
    SYS_AS(fsetxattr, sys_no_xattr, 0), SYS_AS(removexattr, sys_no_xattr, 0),
    SYS_AS(lremovexattr, sys_no_xattr, 0), SYS_AS(fremovexattr, sys_no_xattr, 0),
    /* not implemented, with more than four arguments */
    SYS_NONE(waitid, 5), SYS_NONE(preadv, 5), SYS_NONE(pwritev, 5),
    SYS_NONE(sendto, 6), SYS_NONE(recvfrom, 6), SYS_NONE(ipc, 6),
    SYS_NONE(splice, 6),
};

/* roi(cmd, name, len): a region of interest (flashvm/guest/include/roi.h), passed
 * to the ROI device; a private number outside Linux's table (FLASH_SYS_ROI). */
static long sys_roi(u32 *a, struct tf *tf)
{
    (void)tf;
    char name[64];
    u32 n = a[2] < sizeof name ? a[2] : sizeof name;
    if (n && a[1] && copyin(current()->mm, name, a[1], n) < 0) return -EFAULT;
    for (u32 i = 0; i < n && a[1]; i++)
        wr32(IO(FLASH_ROI_BASE + FLASH_ROI_NAME), (u8)name[i]);
    wr32(IO(FLASH_ROI_BASE + FLASH_ROI_CMD), a[0]);
    return 0;
}

int svc_on;

/* one uncached store to the SVC device (flashvm/machine/services.py) */
void svc(u32 reg, u32 service)
{
    if (svc_on)
        wr32(IO(FLASH_SVC_BASE + reg), service);
}

static u32 svc_of(u32 nr)
{
    switch (nr) {
    case NR_open: case NR_openat: return FLASH_SVC_OPEN;
    case NR_read: case NR_readv: case NR_pread64: return FLASH_SVC_READ;
    case NR_write: case NR_writev: case NR_pwrite64: return FLASH_SVC_WRITE;
    case NR_execve: return FLASH_SVC_EXECVE;
    default: return FLASH_SVC_OTHER_SYSCALL;
    }
}

void syscall(struct tf *tf)
{
    struct task *t = current();
    u32 nr = tf->regs[2];
    u32 a[8] = { tf->regs[4], tf->regs[5], tf->regs[6], tf->regs[7], 0, 0, 0, 0 };
    const struct syscall *sc = NULL;
    static const struct syscall roi = { sys_roi, 3 };
    if (nr == FLASH_SYS_ROI) {
        sc = &roi;
    } else if (nr == NR_syscall) {         /* syscall(nr, ...): the arguments shift down by one */
        nr = a[0];
        a[0] = a[1]; a[1] = a[2]; a[2] = a[3];
        copyin(t->mm, &a[3], tf->regs[29] + 16, 16);
        if (nr - NR_syscall < ARRAY_SIZE(syscalls)) sc = &syscalls[nr - NR_syscall];
    } else if (nr - NR_syscall < ARRAY_SIZE(syscalls)) {
        sc = &syscalls[nr - NR_syscall];
        if (sc->nargs > 4)
            copyin(t->mm, &a[4], tf->regs[29] + 16, 16);
    }
    tf->epc += 4;
    t->sc_nr = tf->regs[2];
    t->sc_a3 = tf->regs[7];
    t->sc_restart = 1;
    u32 service = svc_of(nr);
    svc(FLASH_SVC_ENTER, service);
    long r = sc && sc->fn ? sc->fn(a, tf) : -ENOSYS;
    svc(FLASH_SVC_EXIT, service);
    t->in_syscall = 1;
    if (r == RESULT_SET)
        return;
    if (r == -ENOSYS && bootinfo->verbose > 1)
        kprintf("pid %d: unknown syscall %u\n", t->pid, nr);
    if (r < 0 && r > -4096) {
        tf->regs[2] = -r;
        tf->regs[7] = 1;
    } else {
        tf->regs[2] = r;
        tf->regs[7] = 0;
    }
}
