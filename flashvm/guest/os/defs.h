/*
 * defs.h -- every function of the kernel that is called from another file,
 * by the file that defines it.  Included by kernel.h after its types.
 */
#ifndef OS_DEFS_H
#define OS_DEFS_H

struct tf;
struct task;
struct mm;
struct vma;
struct spinlock;
struct mutex;
struct inode;
struct file;
struct files;
struct pipe;

/* lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t n);
int strcmp(const char *a, const char *b);
/* kernel services (syscall.c): entry/exit markers for flashvm's service breakdown, when
 * init's environment holds FLASH_SERVICES=1 (docs/experiments.md) */
extern int svc_on;
void svc(u32 reg, u32 service);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *d, const char *s);
char *strchr(const char *s, int c);
size_t strlcpy(char *d, const char *s, size_t n);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cons_write(int stream, const char *s, size_t n);   /* stream 1 = stdout, 2 = stderr, 3 = kernel log */
int cons_read(char *buf, size_t n);
noreturn void machine_halt(int status);
u64 time_ns(void);

/* main.c */
void shutdown_io(void);

/* mm.c */
void mm_init(u32 kernel_end_pa);
void mm_reserve(u32 pa, u32 len);
void *page_alloc(void);                /* zeroed 4 KB page (kseg0 address), or NULL */
void *page_alloc_n(int n);             /* n contiguous zeroed pages */
#ifdef KERNEL_HAL
void *page_alloc_kind(int n, u32 kind);  /* page_alloc_n telling the monitor what they hold (HAL_KIND_*) */
#else
#define page_alloc_kind(n, kind) ((n) == 1 ? page_alloc() : page_alloc_n(n))
#endif
void page_free(void *p);
void page_free_n(void *p, int n);
void page_ref(u32 pa);
int page_refcount(u32 pa);
void page_unref(u32 pa);               /* drop a reference; frees at zero */
u32 pages_free(void);
u32 pages_available(void);             /* free + held only by the page cache (at most) */
void *kmalloc(size_t n);
void *kzalloc(size_t n);
void kfree(void *p);
u32 node_of_pa(u32 pa);

/* pcache.c: the page cache of file-backed mappings */
u32 pc_get(struct inode *ip, u32 idx);
u32 pc_fill(struct inode *ip, u32 idx);          /* may sleep */
void pc_write(struct inode *ip, const void *buf, u32 off, u32 n);   /* fs_mutex held */
void pc_truncate(struct inode *ip, u32 len);     /* fs_mutex held */
void pc_forget_inode(struct inode *ip);          /* fs_mutex held */
u32 pc_reclaim(u32 want);
u32 pcache_pages(void);

/* vm.c */
struct mm *mm_new(void);
struct mm *mm_fork(struct mm *old);
void mm_put(struct mm *mm);
void mm_activate(struct mm *mm);
int vm_map(struct mm *mm, u32 start, u32 len, u32 prot, u32 flags, struct inode *ip, u32 off, u32 filesz);
int vm_unmap(struct mm *mm, u32 start, u32 len);
int vm_protect(struct mm *mm, u32 start, u32 len, u32 prot);
u32 vm_find_free(struct mm *mm, u32 len, u32 hint);
int vm_fault(struct mm *mm, u32 va, int write);
int copyout(struct mm *mm, u32 dst, const void *src, u32 n);
int copyin(struct mm *mm, void *dst, u32 src, u32 n);
int copyinstr(struct mm *mm, char *dst, u32 src, u32 max);
int put_user32(u32 va, u32 v);
int get_user32(u32 va, u32 *v);
void tlb_init(void);
void tlb_flush_all(void);
void tlb_flush_page(struct mm *mm, u32 va);
void tlb_flush_mm(struct mm *mm);
void tlb_ipi_flush(void);
struct vma *vma_find(struct mm *mm, u32 va);

/* sched.c */
void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
int spin_held(struct spinlock *l);
void push_off(void);
void pop_off(void);
void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
int mutex_held(struct mutex *m);
void send_ipi(int cpu, u32 what);
void ipi_poll(void);
void sched_init(void);
noreturn void scheduler(void);
void yield(void);
void set_affinity(int cpu);            /* -1: any CPU */
void sched(void);
void forkret_c(void);
void sleep_on(void *chan, struct spinlock *lk);
int sleep_intr(void *chan, struct spinlock *lk);    /* returns -EINTR when a signal arrives */
int sleep_until(void *chan, struct spinlock *lk, u64 deadline_ns);
void wakeup(void *chan);
void wakeup_task(struct task *t);
void make_runnable(struct task *t);
struct task *task_alloc(void);
void task_free(struct task *t);
struct task *task_by_pid(int pid);
void timer_tick(void);
void timer_init_cpu(void);
void check_timeouts(void);
u64 uptime_ns(void);
void interrupt(struct tf *tf);

/* proc.c */
int do_fork(u32 flags, u32 newsp, u32 ptid, u32 tls, u32 ctid, struct tf *tf);
noreturn void do_exit(int status);
noreturn void do_exit_group(int status);
int do_wait4(int pid, u32 status_ptr, int options, u32 rusage);
int send_signal(struct task *t, int sig, int group);
int do_kill(int pid, int sig);
void handle_signals(struct tf *tf);
int do_sigreturn(struct tf *tf);
int exec_kill_others(void);
void vfork_release(struct task *t);
int put_rusage(u32 uaddr, u64 ns);
int do_futex(u32 uaddr, int op, u32 val, u32 timeout, u32 uaddr2, u32 val3);
void futex_wake_addr(struct mm *mm, u32 uaddr, int n);

/* exec.c */
int do_execve(const char *path, char **argv, char **envp);

/* start.S */
void swtch(u32 *save_sp, u32 new_sp);
void fpu_save(u32 *buf);
void fpu_restore(u32 *buf);
void forkret(void);
void trap_return(void);
void secondary_entry(void);
void secondary_virtual(void);

/* trap.c */
void trap(struct tf *tf);

/* syscall.c */
void syscall(struct tf *tf);

/* disk.c */
void disk_init(void);
unsigned disk_count(void);
u32 disk_capacity(unsigned k);
int disk_rw(unsigned k, u64 off, void *buf, u32 n, int write);
int disk_read_page(unsigned k, u64 off, void *page);
void disk_interrupt(void);
void disk_flush_all(void);

/* net.c */
void net_init(void);
unsigned net_count(void);
void net_interrupt(void);
long net_send(unsigned k, u32 ubuf, u32 len);
#define NET_HDR 64              /* a file-service frame's header: its payload starts on a page */
struct inode;
long net_recv_file(unsigned k, struct inode *ip, u32 off, u32 uhdr, u32 hcap);
long net_send_slot(unsigned k, u32 s, u32 ubuf, u32 len, u32 uhdr);
long net_recv(unsigned k, u32 ubuf, u32 cap, int nonblock);
int net_mac(unsigned k, u8 *mac);
long magic_read(u64 off, u32 ubuf, u32 n);

/* vfs.c */
void fs_init(void);
struct inode *idup(struct inode *ip);
void iput(struct inode *ip);
int inode_read(struct inode *ip, void *buf, u32 off, u32 n);
int inode_read_page(struct inode *ip, u32 off, void *page);
int inode_write(struct inode *ip, const void *buf, u32 off, u32 n);
struct inode *namei(const char *path, int *err);
struct inode *mkpath(const char *path, u32 mode);
struct inode *mkpath_in(struct inode *top, const char *path, u32 mode);
/* with fs_mutex held: */
struct inode *walk(struct inode *start, const char *path, int flags, char *last, int *err);
int v_path(struct inode *ip, char *out, u32 cap);
void inode_free(struct inode *ip);
int v_readlink(struct inode *ip, char *buf, u32 n);
int v_symlink(struct inode *dp, const char *name, const char *target);
int v_link(struct inode *dp, const char *name, struct inode *ip);
int v_read(struct inode *ip, void *buf, u32 off, u32 n);
int v_write(struct inode *ip, const void *buf, u32 off, u32 n);
int v_truncate(struct inode *ip, u32 len);
struct inode *v_lookup(struct inode *dp, const char *name, int *err);
int v_create(struct inode *dp, const char *name, u32 mode, struct inode **out);
int v_unlink(struct inode *dp, const char *name, int isdir);
int v_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn);
int v_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type);

/* ramfs.c (fs_mutex held) */
struct inode *ramfs_new(u32 mode);
void ramfs_free(struct inode *ip);
int ramfs_read(struct inode *ip, void *buf, u32 off, u32 n);
int ramfs_write(struct inode *ip, const void *buf, u32 off, u32 n);
int ramfs_adopt_page(struct inode *ip, u32 pg, u8 *page, u32 end);
int ramfs_truncate(struct inode *ip, u32 len);
struct inode *ramfs_lookup(struct inode *dp, const char *name, int *err);
int ramfs_create(struct inode *dp, const char *name, u32 mode, struct inode **out);
int ramfs_link(struct inode *dp, const char *name, struct inode *ip);
int ramfs_unlink(struct inode *dp, const char *name, struct inode *ip, int isdir);
int ramfs_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn,
                 struct inode *ip, struct inode *dst);
int ramfs_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type);

/* fsglue.c (fs_mutex held, except fs_sync_all) */
int flash_mount(void);
void fs_sync_all(void);
struct inode *flash_iget(u32 ino);
void flash_release(struct inode *ip);
int flash_read(struct inode *ip, void *buf, u32 off, u32 n);
int flash_read_page(struct inode *ip, u32 off, void *page);
int flash_write(struct inode *ip, const void *buf, u32 off, u32 n);
int flash_truncate(struct inode *ip, u32 len);
struct inode *flash_lookup(struct inode *dp, const char *name, int *err);
int flash_create(struct inode *dp, const char *name, u32 mode, struct inode **out);
int flash_symlink(struct inode *dp, const char *name, const char *target);
int flash_readlink(struct inode *ip, char *buf, u32 n);
int flash_link(struct inode *dp, const char *name, struct inode *ip);
void flash_statfs(u32 *blocks, u32 *bfree, u32 *files, u32 *ffree);
int flash_unlink(struct inode *dp, const char *name, struct inode *ip, int isdir);
int flash_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn,
                 struct inode *ip, struct inode *dst);
int flash_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type);

/* procfs.c */
void procfs_init(void);
int procfs_hidden(struct inode *ip);
int procfs_readlink(struct inode *ip, char *buf, u32 n);
long procfs_read(struct file *f, u32 ubuf, u32 n);

/* initrd.c */
void initrd_load(void);

/* file.c */
struct files *files_new(void);
struct files *files_dup(struct files *f);
void files_put(struct files *f);
void files_cloexec(struct files *f);
struct file *file_alloc(void);
struct file *file_dup(struct file *f);
void file_close(struct file *f);
/* advisory locks (lock.c) */
void locks_on_close(struct file *f, int last);
long fcntl_lock(struct file *f, u32 cmd, u32 uaddr);
struct file *fd_get(int fd);
int fd_install(struct file *f, int min, int cloexec);
long file_read(struct file *f, u32 ubuf, u32 n);
long file_write(struct file *f, u32 ubuf, u32 n);
long file_write_k(struct file *f, const void *buf, u32 n);

/* pipe.c */
int pipe_alloc(struct file **rf, struct file **wf);
void pipe_close(struct pipe *p, int writer);
long pipe_read(struct file *f, u32 ubuf, u32 n);
long pipe_write(struct file *f, const u8 *kbuf, u32 ubuf, u32 n);
u32 pipe_nread(struct pipe *p);
u32 pipe_poll(struct file *f);

/* poll.c */
void poll_wake(void);

/* dev.c */
void dev_populate(struct inode *dev);
void console_fds(struct files *fs);
long console_read(u32 ubuf, u32 n);
long console_write(struct file *f, const u8 *kbuf, u32 ubuf, u32 n);
long chr_read(struct file *f, u32 ubuf, u32 n);
long chr_write(struct file *f, u32 ubuf, u32 n);
long blk_rw(struct file *f, u32 ubuf, u32 n, int write);

/* sysproc.c: the handlers of the system-call table (syscall.c) */
#define SYSCALL(name) long sys_##name(u32 *a, struct tf *tf)
SYSCALL(exit); SYSCALL(exit_group); SYSCALL(fork); SYSCALL(clone); SYSCALL(execve);
SYSCALL(wait4); SYSCALL(waitpid); SYSCALL(getpid); SYSCALL(gettid); SYSCALL(getppid);
SYSCALL(zero); SYSCALL(getresuid); SYSCALL(set_thread_area); SYSCALL(set_tid_address);
SYSCALL(sched_yield); SYSCALL(sched_getaffinity); SYSCALL(sched_setaffinity); SYSCALL(getcpu); SYSCALL(getrandom);
SYSCALL(prlimit64); SYSCALL(getrlimit); SYSCALL(sysinfo); SYSCALL(getrusage); SYSCALL(reboot); SYSCALL(prctl); SYSCALL(no_xattr);
SYSCALL(brk); SYSCALL(mmap); SYSCALL(mmap2); SYSCALL(munmap); SYSCALL(mprotect); SYSCALL(mremap);
SYSCALL(uname); SYSCALL(clock_gettime); SYSCALL(clock_gettime64); SYSCALL(clock_getres);
SYSCALL(clock_getres_time64); SYSCALL(gettimeofday); SYSCALL(time); SYSCALL(times);
SYSCALL(nanosleep); SYSCALL(clock_nanosleep); SYSCALL(clock_nanosleep_time64);
SYSCALL(rt_sigaction); SYSCALL(rt_sigprocmask); SYSCALL(rt_sigpending); SYSCALL(rt_sigreturn);
SYSCALL(pause); SYSCALL(rt_sigsuspend); SYSCALL(sigaltstack); SYSCALL(kill); SYSCALL(tkill);
SYSCALL(tgkill); SYSCALL(futex);
/* sysfile.c */
SYSCALL(read); SYSCALL(write); SYSCALL(readv); SYSCALL(writev); SYSCALL(pread64);
SYSCALL(pwrite64); SYSCALL(open); SYSCALL(openat); SYSCALL(creat); SYSCALL(close);
SYSCALL(lseek); SYSCALL(_llseek); SYSCALL(dup); SYSCALL(dup2); SYSCALL(dup3); SYSCALL(fcntl);
SYSCALL(pipe); SYSCALL(pipe2); SYSCALL(ioctl); SYSCALL(fstat64); SYSCALL(stat64);
SYSCALL(fstatat64); SYSCALL(statx); SYSCALL(getdents64); SYSCALL(mkdir); SYSCALL(mkdirat);
SYSCALL(unlink); SYSCALL(rmdir); SYSCALL(unlinkat); SYSCALL(rename); SYSCALL(renameat);
SYSCALL(getcwd); SYSCALL(chdir); SYSCALL(fchdir); SYSCALL(access); SYSCALL(faccessat);
SYSCALL(ftruncate64); SYSCALL(truncate64); SYSCALL(umask); SYSCALL(readlink);
SYSCALL(readlinkat); SYSCALL(lstat64); SYSCALL(symlink); SYSCALL(symlinkat); SYSCALL(link);
SYSCALL(linkat); SYSCALL(statfs64); SYSCALL(fstatfs64); SYSCALL(flock);
/* poll.c */
SYSCALL(poll); SYSCALL(ppoll); SYSCALL(ppoll_time64); SYSCALL(_newselect); SYSCALL(pselect6);
SYSCALL(pselect6_time64);
#undef SYSCALL
#endif
