/*
 * exec.c -- execve: `#!` scripts, static and dynamically linked ELF
 * programs (ET_EXEC, or ET_DYN = PIE at a load bias), the program
 * interpreter named by PT_INTERP (glibc's ld.so.1) mapped where mmap would
 * put it, and the Linux initial stack for o32 (argc, argv[], NULL, envp[],
 * NULL, auxv pairs, then the AT_RANDOM bytes and the strings near the top).
 */
#include "kernel.h"
#include "fs.h"

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31

struct ehdr {
    u8 ident[16];
    u16 type, machine;
    u32 version, entry, phoff, shoff, flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct phdr { u32 type, offset, vaddr, paddr, filesz, memsz, flags, align; };
#define ET_EXEC 2
#define ET_DYN 3
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PT_MIPS_ABIFLAGS 0x70000003
#define MAXPHDR 32

/* where a PIE main program goes (the classic non-PIE text address: brk
 * grows after it, mmap comes down from MMAP_TOP) */
#define PIE_BASE 0x00400000
/* `#!` nesting allowed before ELOOP (Linux: 4 levels of interpreters) */
#define MAX_SCRIPTS 4
#define SCRIPT_LINE 256

/* an ELF file being loaded: its header, program headers and load bias */
struct elf {
    struct inode *ip;
    struct ehdr eh;
    struct phdr ph[MAXPHDR];
    u32 bias;
};

static u32 rng_state = 0x2545F491;
static u32 rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* read and check the headers of a little-endian 32-bit MIPS executable */
static int elf_read(struct elf *e)
{
    struct ehdr *eh = &e->eh;
    if (inode_read(e->ip, eh, 0, sizeof *eh) != sizeof *eh || memcmp(eh->ident, "\177ELF", 4) ||
        eh->ident[4] != 1 || eh->ident[5] != 1 || eh->machine != 8 ||
        (eh->type != ET_EXEC && eh->type != ET_DYN) ||
        eh->phentsize != sizeof(struct phdr) || eh->phnum == 0 || eh->phnum > MAXPHDR)
        return -ENOEXEC;
    u32 n = eh->phnum * sizeof(struct phdr);
    if (inode_read(e->ip, e->ph, eh->phoff, n) != (int)n)
        return -ENOEXEC;
    return 0;
}

/* The FPU runs with Status.FR = 0 (32-bit registers, doubles in even/odd
 * pairs, the o32 default), as Linux on an FR=0-only CPU: programs built for
 * the FP64 ABIs cannot run (Linux: ELIBBAD); FPXX, double, single and soft
 * float can.  PT_MIPS_ABIFLAGS byte 7 is fp_abi (Val_GNU_MIPS_ABI_FP_*). */
static int elf_fp_abi_ok(struct elf *e)
{
    for (int i = 0; i < e->eh.phnum; i++) {
        if (e->ph[i].type != PT_MIPS_ABIFLAGS || e->ph[i].filesz < 8) continue;
        u8 fl[8];
        if (inode_read(e->ip, fl, e->ph[i].offset, 8) != 8) return -ENOEXEC;
        if (fl[7] == 4 || fl[7] == 6 || fl[7] == 7)       /* OLD_64, 64, 64A: FR=1 */
            return -ELIBBAD;
    }
    return 0;
}

/* the page-rounded extent of the PT_LOAD segments (before the bias) */
static void elf_span(struct elf *e, u32 *lo, u32 *hi)
{
    *lo = ~0u;
    *hi = 0;
    for (int i = 0; i < e->eh.phnum; i++) {
        struct phdr *p = &e->ph[i];
        if (p->type != PT_LOAD || p->memsz == 0) continue;
        *lo = MIN(*lo, PGDOWN(p->vaddr));
        *hi = MAX(*hi, PGROUND(p->vaddr + p->memsz));
    }
}

/* map the PT_LOAD segments at e->bias: file-backed private mappings whose
 * bytes past p_filesz (the rest of the last file page and the bss) are zero */
static int elf_map(struct mm *mm, struct elf *e, u32 *end)
{
    *end = 0;
    for (int i = 0; i < e->eh.phnum; i++) {
        struct phdr *p = &e->ph[i];
        if (p->type != PT_LOAD || p->memsz == 0) continue;
        if (p->filesz > p->memsz || (p->vaddr - p->offset) & (PAGE_SIZE - 1)) return -ENOEXEC;
        u32 va = e->bias + p->vaddr;
        u32 start = PGDOWN(va), lead = va - start;
        u32 prot = (p->flags & 4 ? VM_READ : 0) | (p->flags & 2 ? VM_WRITE : 0) |
                   (p->flags & 1 ? VM_EXEC : 0);
        int err = vm_map(mm, start, lead + p->memsz, prot, 0, e->ip, p->offset - lead,
                         lead + p->filesz);
        if (err) return err;
        *end = MAX(*end, va + p->memsz);
    }
    return 0;
}

/* where the program headers are in memory (PT_PHDR, else inside a segment) */
static u32 elf_phdr_addr(struct elf *e)
{
    for (int i = 0; i < e->eh.phnum; i++)
        if (e->ph[i].type == PT_PHDR) return e->bias + e->ph[i].vaddr;
    for (int i = 0; i < e->eh.phnum; i++) {
        struct phdr *p = &e->ph[i];
        if (p->type == PT_LOAD && e->eh.phoff >= p->offset && e->eh.phoff < p->offset + p->filesz)
            return e->bias + p->vaddr + (e->eh.phoff - p->offset);
    }
    return 0;
}

/* PT_INTERP's path into buf (NUL-terminated); 0 when there is none */
static int elf_interp(struct elf *e, char *buf, u32 size)
{
    for (int i = 0; i < e->eh.phnum; i++) {
        struct phdr *p = &e->ph[i];
        if (p->type != PT_INTERP) continue;
        if (p->filesz < 2 || p->filesz > size) return -ENOEXEC;
        if (inode_read(e->ip, buf, p->offset, p->filesz) != (int)p->filesz) return -ENOEXEC;
        if (buf[p->filesz - 1] != 0) return -ENOEXEC;
        return 1;
    }
    return 0;
}

/* what execve of one ELF file needs besides the kernel stack (8 KB) */
struct exec_ctx {
    struct elf prog, interp;
    char interp_path[SCRIPT_LINE];
};

/* Build the new address space for the ELF file ip (and its interpreter),
 * then switch the task to it.  execfn is the name execve was given. */
static int exec_elf(struct inode *ip, const char *execfn, char **argv, char **envp)
{
    struct task *t = current();
    struct exec_ctx *x = kzalloc(sizeof *x);
    if (!x) return -ENOMEM;
    struct elf *e = &x->prog, *ie = &x->interp;
    struct mm *mm = NULL;
    e->ip = ip;
    int err = elf_read(e);
    if (!err) err = elf_fp_abi_ok(e);
    int has_interp = err ? 0 : elf_interp(e, x->interp_path, sizeof x->interp_path);
    if (has_interp < 0) err = has_interp;
    if (!err && has_interp) {
        ie->ip = namei(x->interp_path, &err);
        if (ie->ip) {
            err = S_ISREG(ie->ip->mode) ? elf_read(ie) : -EACCES;
            if (!err) err = elf_fp_abi_ok(ie);
        }
    }
    if (err) goto fail;
    err = -ENOMEM;
    mm = mm_new();
    if (!mm) goto fail;
    u32 lo, hi, end;
    elf_span(e, &lo, &hi);
    err = -ENOEXEC;
    if (lo >= hi) goto fail;
    e->bias = e->eh.type == ET_DYN ? PIE_BASE - lo : 0;
    if ((err = elf_map(mm, e, &end)) != 0) goto fail;
    mm->brk_start = mm->brk = PGROUND(end);
    err = vm_map(mm, USER_TOP - STACK_SIZE, STACK_SIZE, VM_READ | VM_WRITE, VM_STACK, NULL, 0, 0);
    if (err) goto fail;
    u32 pc = e->bias + e->eh.entry, base = 0;
    if (has_interp) {
        /* the interpreter goes where an mmap of its size would */
        elf_span(ie, &lo, &hi);
        err = -ENOEXEC;
        if (lo >= hi) goto fail;
        if (ie->eh.type == ET_DYN) {
            u32 at = vm_find_free(mm, hi - lo, 0);
            err = -ENOMEM;
            if (!at) goto fail;
            ie->bias = at - lo;
        }
        if ((err = elf_map(mm, ie, &end)) != 0) goto fail;
        base = ie->bias;
        pc = ie->bias + ie->eh.entry;
    }

    /* the stack: strings at the top, then AT_RANDOM, auxv, envp, argv, argc */
    int argc = 0, envc = 0;
    while (argv && argv[argc]) argc++;
    while (envp && envp[envc]) envc++;
    u32 p = USER_TOP - 4;                        /* a NULL word ends the area */
    u32 zero = 0;
    err = -EFAULT;
    if (copyout(mm, p, &zero, 4)) goto fail;
    u32 plen = strlen(execfn) + 1;
    p -= plen;
    u32 execfn_addr = p;
    if (copyout(mm, execfn_addr, execfn, plen)) goto fail;
    u32 total = 0;
    for (int i = 0; i < argc; i++) total += strlen(argv[i]) + 1;
    for (int i = 0; i < envc; i++) total += strlen(envp[i]) + 1;
    p -= total;
    u32 strp = p;
    u32 *ptrs = kmalloc((argc + envc + 1) * 4);
    err = -ENOMEM;
    if (!ptrs) goto fail;
    for (int i = 0; i < argc + envc; i++) {
        const char *s = i < argc ? argv[i] : envp[i - argc];
        u32 n = strlen(s) + 1;
        if (copyout(mm, strp, s, n)) { kfree(ptrs); err = -EFAULT; goto fail; }
        ptrs[i] = strp;
        strp += n;
    }
    p &= ~7u;
    u32 rnd16[4] = { rnd(), rnd(), rnd(), rnd() };
    p -= 16;
    u32 random_addr = p;
    copyout(mm, random_addr, rnd16, 16);
    u32 auxv[][2] = {
        { AT_HWCAP, 0 }, { AT_PAGESZ, PAGE_SIZE }, { AT_CLKTCK, 100 },
        { AT_PHDR, elf_phdr_addr(e) }, { AT_PHENT, sizeof(struct phdr) }, { AT_PHNUM, e->eh.phnum },
        { AT_BASE, base }, { AT_FLAGS, 0 }, { AT_ENTRY, e->bias + e->eh.entry },
        { AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 }, { AT_EGID, 0 },
        { AT_SECURE, 0 }, { AT_RANDOM, random_addr }, { AT_EXECFN, execfn_addr }, { AT_NULL, 0 },
    };
    u32 nwords = 1 + argc + 1 + envc + 1 + 2 * ARRAY_SIZE(auxv);
    u32 sp = (p - 2 * ARRAY_SIZE(auxv) * 4 - (argc + 1 + envc + 1 + 1) * 4) & ~15u;
    u32 *words = kmalloc(nwords * 4);
    if (!words) { kfree(ptrs); err = -ENOMEM; goto fail; }
    u32 k = 0;
    words[k++] = argc;
    for (int i = 0; i < argc; i++) words[k++] = ptrs[i];
    words[k++] = 0;
    for (int i = 0; i < envc; i++) words[k++] = ptrs[argc + i];
    words[k++] = 0;
    for (u32 i = 0; i < ARRAY_SIZE(auxv); i++) { words[k++] = auxv[i][0]; words[k++] = auxv[i][1]; }
    int bad = copyout(mm, sp, words, nwords * 4);
    kfree(words);
    kfree(ptrs);
    err = -EFAULT;
    if (bad) goto fail;
    if (ie->ip) iput(ie->ip);
    kfree(x);

    /* point of no return */
    const char *name = execfn;
    for (const char *q = execfn; *q; q++) if (*q == '/') name = q + 1;
    strlcpy(t->comm, name, sizeof t->comm);
    struct mm *old = t->mm;
    spin_lock(&sched_lock);
    t->mm = mm;
    spin_unlock(&sched_lock);
    push_off();
    mm_activate(mm);
    pop_off();
    vfork_release(t);            /* a vfork parent may run again: the old mm is its own */
    if (old) mm_put(old);
    files_cloexec(t->files);
    for (int s = 1; s <= NSIG; s++) {
        struct k_sigaction *a = &t->sig->act[s];
        if (a->handler != SIG_IGN) { a->handler = SIG_DFL; a->flags = 0; a->mask = 0; }
    }
    t->tls = 0;
    mtc0(4, 2, 0);
    struct tf *tf = t->tf;
    memset(tf, 0, sizeof *tf);
    tf->regs[29] = sp;
    tf->epc = pc;
    /* Status.FR stays 0: see elf_fp_abi_ok */
    tf->status = ST_CU1 | ST_UM | ST_EXL | ST_IE | ST_IM(7) | ST_IM(3) | ST_IM(4) | ST_IM(5);
    memset(t->fpu, 0, sizeof t->fpu);
    t->fpu_valid = 1;
    fpu_restore(t->fpu);
    return 0;
fail:
    if (mm) mm_put(mm);
    if (ie->ip) iput(ie->ip);
    kfree(x);
    return err;
}

/* A `#!` script: argv becomes interpreter, its one optional argument (the
 * rest of the line, trailing blanks cut), the script's name, argv[1...].
 * line holds the first line after "#!"; the new vector is kmalloc'ed. */
static int script_argv(char *line, const char *file, char **argv, char ***out, const char **interp)
{
    char *q = line;
    while (*q && *q != '\n') q++;
    *q = 0;
    q = line;
    while (*q == ' ' || *q == '\t') q++;
    char *name = q;
    while (*q && *q != ' ' && *q != '\t') q++;
    if (*q) *q++ = 0;
    while (*q == ' ' || *q == '\t') q++;
    char *arg = q, *e = q + strlen(q);
    while (e > arg && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
    if (!*name) return -ENOEXEC;
    int argc = 0;
    while (argv && argv[argc]) argc++;
    char **nv = kmalloc((argc + 3) * sizeof(char *));
    if (!nv) return -ENOMEM;
    int k = 0;
    nv[k++] = name;
    if (*arg) nv[k++] = arg;
    nv[k++] = (char *)file;
    for (int i = 1; i < argc; i++) nv[k++] = argv[i];
    nv[k] = NULL;
    *out = nv;
    *interp = name;
    return 0;
}

int do_execve(const char *path, char **argv, char **envp)
{
    char *lines[MAX_SCRIPTS];
    char **vecs[MAX_SCRIPTS];
    int nscripts = 0, err;
    const char *file = path;
    struct inode *ip;
    for (;;) {
        ip = namei(file, &err);
        if (!ip) goto out;
        if (!S_ISREG(ip->mode)) { err = -EACCES; break; }
        char head[2];
        if (inode_read(ip, head, 0, 2) != 2 || head[0] != '#' || head[1] != '!') {
            err = exec_elf(ip, path, argv, envp);
            break;
        }
        err = -ELOOP;
        if (nscripts == MAX_SCRIPTS) break;
        char *line = kmalloc(SCRIPT_LINE);
        err = -ENOMEM;
        if (!line) break;
        int n = inode_read(ip, line, 2, SCRIPT_LINE - 1);
        line[n > 0 ? n : 0] = 0;
        iput(ip);
        lines[nscripts] = line;
        err = script_argv(line, file, argv, &vecs[nscripts], &file);
        if (err) { kfree(line); goto out; }
        argv = vecs[nscripts++];
    }
    iput(ip);
out:
    for (int i = 0; i < nscripts; i++) { kfree(vecs[i]); kfree(lines[i]); }
    return err;
}
