/*
 * main.c -- boot: boot info, memory, exception vectors, the first process,
 * secondary CPUs.
 */
#include "kernel.h"
#include "fs.h"

struct bootinfo *bootinfo = (struct bootinfo *)BOOTINFO;
unsigned ncpu = 1;
volatile u32 cpu_release[MAXCPU];   /* start addresses when there is no SMP block */
u32 cpu_boot_sp[MAXCPU];

/* probing a device register that may not exist: a bus error is skipped */
volatile int probing, probe_failed;

static void install_vectors(void)
{
    memcpy((void *)0x80000000, vec_refill, vec_refill_end - vec_refill);
    memcpy((void *)0x80000180, vec_general, vec_general_end - vec_general);
}


/* at halt (sched_lock held): no more sleeping; flush the disks' caches */
void shutdown_io(void)
{
    disk_polling = 1;
    disk_flush_all();
}

static void init_entry(void)
{
    forkret_c();
    struct task *t = current();
    /* argv/envp from boot info */
    const char *s = (const char *)(BOOTINFO + FLASH_BOOTINFO_STRINGS);
    static char *argv[64], *envp[64];
    u32 argc = MIN(bootinfo->argc, 63), envc = MIN(bootinfo->envc, 63);
    for (u32 i = 0; i < argc; i++) { argv[i] = (char *)s; s += strlen(s) + 1; }
    for (u32 i = 0; i < envc; i++) { envp[i] = (char *)s; s += strlen(s) + 1; }
    argv[argc] = NULL;
    envp[envc] = NULL;
    for (u32 i = 0; i < envc; i++)
        if (!strcmp(envp[i], "FLASH_SERVICES=1"))
            svc_on = 1;
    if (!argc) panic("no init program in boot info");
    int r = do_execve(argv[0], argv, envp);
    if (r) {
        kprintf("init: cannot execute %s: error %d\n", argv[0], -r);
        machine_halt(127);
    }
    __asm__ volatile("move $sp, %0\n\tj trap_return\n\tnop" : : "r"(t->tf));
    __builtin_unreachable();
}

static struct task *make_init(void)
{
    struct task *t = task_alloc();
    if (!t) panic("no task for init");
    t->tgid = t->pid;
    t->leader = t;
    t->nthreads = 1;
    t->files = files_new();
    console_fds(t->files);
    t->sig = kzalloc(sizeof *t->sig);
    t->sig->refs = 1;
    strcpy(t->comm, "init");
    t->start_ns = uptime_ns();
    u32 *frame = (u32 *)((u8 *)t->tf - 24 - 48);
    memset(frame, 0, 48);
    frame[9] = (u32)init_entry;
    frame[10] = (u32)_gp;
    t->ctx_sp = (u32)frame;
    init_task = t;
    spin_lock(&sched_lock);
    make_runnable(t);
    spin_unlock(&sched_lock);
    return t;
}

static void cpu_setup(void)
{
    struct cpu *c = mycpu();
    c->asid_cache = 0x100;
    tlb_init();
    mm_activate(NULL);
    /* interrupt masks: timer, IPI, disk, network; IE stays off in the kernel */
    mtc0(12, 0, ST_IM(7) | ST_IM(3) | ST_IM(4) | ST_IM(5));
    if (smp_hw) { cpu_node[c->id] = rd32(SMP_NODE); if (c->id == 0) cpu_node_known = 1; }
    mtc0(7, 0, 0x2000000F);    /* HWREna: user rdhwr of CPUNum, SYNCI_Step, CC, CCRes, UserLocal */
    timer_init_cpu();
    c->started = 1;
}

void secondary_main(void)
{
    cpu_setup();
    if (bootinfo->verbose) kprintf("cpu %u up\n", cpuid());
    scheduler();
}

static int probe_read(u32 addr, u32 *val)
{
    probe_failed = 0;
    probing = 1;
    u32 v = rd32(addr);
    probing = 0;
    if (probe_failed) return -1;
    *val = v;
    return 0;
}

void kmain(void)
{
    if (bootinfo->magic != BOOTINFO_MAGIC) {
        /* no boot info: assume 64 MB, one CPU, no program */
        static const char msg[] = "flashvm kernel: no boot info at 0x800\n";
        for (const char *p = msg; *p; p++) wr32(UART_TX, *p);
        machine_halt(0xDEAD);
    }
    console_framed = bootinfo->console_mode == FLASH_CONSOLE_FRAMED;
    u32 c0 = mfc0(9, 0);
#define PHASE(name) do { if (bootinfo->verbose > 1) kprintf("boot: %s at %u cycles\n", name, 2 * (mfc0(9, 0) - c0)); } while (0)
    install_vectors();
    sched_init();
    ncpu = bootinfo->ncpu ? MIN(bootinfo->ncpu, MAXCPU) : 1;
    PHASE("start");
    mm_init(KV2PA(_end));
    PHASE("mm_init");
    if (bootinfo->initrd_size)
        mm_reserve(bootinfo->initrd_pa, bootinfo->initrd_size);
    u32 n;
    smp_hw = ncpu > 1 && probe_read(SMP_NCPU, &n) == 0 && n == ncpu;
    cpu_setup();
    PHASE("cpu_setup");
    if (bootinfo->verbose)
        kprintf("flashvm kernel: %u CPU(s), %u MB RAM in %u node(s), %u pages free\n",
                ncpu, ram_bytes >> 20, nnodes, pages_free());
    disk_init();
    net_init();
    PHASE("devices");
    fs_init();
    PHASE("fs_init");
    disk_polling = 0;
    for (unsigned i = 1; i < ncpu; i++) {
        u8 *stk = page_alloc_n(2);
        cpu_boot_sp[i] = (u32)stk + 8192;
        mb();
        /* under Disco the monitor has wired the kernel window: start in mapped text */
        u32 entry = (bootinfo->flags & BOOT_VIRTUAL) ? (u32)secondary_virtual : (u32)secondary_entry;
        if (smp_hw) wr32(SMP_RELEASE(i), entry);
        else cpu_release[i] = entry;
    }
    make_init();
    PHASE("init created");
    scheduler();
}
