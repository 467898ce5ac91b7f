/*
 * exec.c -- execve: load a static ELF from the file system into a fresh
 * address space and build the initial stack exactly as Linux does for o32
 * (argc, argv[], NULL, envp[], NULL, auxv pairs, then the AT_RANDOM bytes
 * and the strings near the top).
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
#define PT_LOAD 1
#define PT_PHDR 6

static u32 rng_state = 0x2545F491;
static u32 rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

int do_execve(const char *path, char **argv, char **envp)
{
    struct task *t = current();
    int err;
    struct inode *ip = namei(path, &err);
    if (!ip) return err;
    if (!S_ISREG(ip->mode)) { iput(ip); return -EACCES; }
    struct ehdr eh;
    if (inode_read(ip, &eh, 0, sizeof eh) != sizeof eh || memcmp(eh.ident, "\177ELF", 4) ||
        eh.ident[4] != 1 || eh.ident[5] != 1 || eh.machine != 8 || eh.type != 2 ||
        eh.phentsize != sizeof(struct phdr) || eh.phnum == 0 || eh.phnum > 32) {
        iput(ip);
        return -ENOEXEC;
    }
    struct phdr ph[32];
    if (inode_read(ip, ph, eh.phoff, eh.phnum * sizeof(struct phdr)) != (int)(eh.phnum * sizeof(struct phdr))) {
        iput(ip);
        return -ENOEXEC;
    }
    struct mm *mm = mm_new();
    if (!mm) { iput(ip); return -ENOMEM; }
    u32 end = 0, phdr_addr = 0;
    for (int i = 0; i < eh.phnum; i++) {
        if (ph[i].type == PT_PHDR) phdr_addr = ph[i].vaddr;
        if (ph[i].type != PT_LOAD || ph[i].memsz == 0) continue;
        u32 start = PGDOWN(ph[i].vaddr);
        u32 lead = ph[i].vaddr - start;
        u32 prot = (ph[i].flags & 4 ? VM_READ : 0) | (ph[i].flags & 2 ? VM_WRITE : 0) |
                   (ph[i].flags & 1 ? VM_EXEC : 0);
        err = vm_map(mm, start, lead + ph[i].memsz, prot, 0, ip, ph[i].offset - lead,
                     lead + ph[i].filesz);
        if (err) { mm_put(mm); iput(ip); return err; }
        if (!phdr_addr && eh.phoff >= ph[i].offset && eh.phoff < ph[i].offset + ph[i].filesz)
            phdr_addr = ph[i].vaddr + (eh.phoff - ph[i].offset);
        if (ph[i].vaddr + ph[i].memsz > end) end = ph[i].vaddr + ph[i].memsz;
    }
    iput(ip);
    mm->brk_start = mm->brk = PGROUND(end);
    err = vm_map(mm, USER_TOP - STACK_SIZE, STACK_SIZE, VM_READ | VM_WRITE, VM_STACK, NULL, 0, 0);
    if (err) { mm_put(mm); return err; }

    /* the stack: strings at the top, then AT_RANDOM, auxv, envp, argv, argc */
    int argc = 0, envc = 0;
    while (argv && argv[argc]) argc++;
    while (envp && envp[envc]) envc++;
    u32 p = USER_TOP - 4;                        /* a NULL word ends the area */
    u32 zero = 0;
    copyout(mm, p, &zero, 4);
    u32 plen = strlen(path) + 1;
    p -= plen;
    u32 execfn = p;
    if (copyout(mm, execfn, path, plen)) goto fault;
    u32 total = 0;
    for (int i = 0; i < argc; i++) total += strlen(argv[i]) + 1;
    for (int i = 0; i < envc; i++) total += strlen(envp[i]) + 1;
    p -= total;
    u32 strp = p;
    u32 *ptrs = kmalloc((argc + envc + 1) * 4);
    if (!ptrs) { mm_put(mm); return -ENOMEM; }
    for (int i = 0; i < argc + envc; i++) {
        const char *s = i < argc ? argv[i] : envp[i - argc];
        u32 n = strlen(s) + 1;
        if (copyout(mm, strp, s, n)) { kfree(ptrs); goto fault; }
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
        { AT_PHDR, phdr_addr }, { AT_PHENT, sizeof(struct phdr) }, { AT_PHNUM, eh.phnum },
        { AT_BASE, 0 }, { AT_FLAGS, 0 }, { AT_ENTRY, eh.entry },
        { AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 }, { AT_EGID, 0 },
        { AT_SECURE, 0 }, { AT_RANDOM, random_addr }, { AT_EXECFN, execfn }, { AT_NULL, 0 },
    };
    u32 nwords = 1 + argc + 1 + envc + 1 + 2 * ARRAY_SIZE(auxv);
    u32 sp = (p - 2 * ARRAY_SIZE(auxv) * 4 - (argc + 1 + envc + 1 + 1) * 4) & ~15u;
    u32 *words = kmalloc(nwords * 4);
    if (!words) { kfree(ptrs); mm_put(mm); return -ENOMEM; }
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
    if (bad) goto fault;

    /* point of no return */
    const char *base = path;
    for (const char *q = path; *q; q++) if (*q == '/') base = q + 1;
    strlcpy(t->comm, base, sizeof t->comm);
    struct mm *old = t->mm;
    spin_lock(&sched_lock);
    t->mm = mm;
    spin_unlock(&sched_lock);
    push_off();
    mm_activate(mm);
    pop_off();
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
    tf->epc = eh.entry;
    tf->status = ST_CU1 | ST_UM | ST_EXL | ST_IE | ST_IM(7) | ST_IM(3) | ST_IM(4) | ST_IM(5);
    memset(t->fpu, 0, sizeof t->fpu);
    t->fpu_valid = 1;
    fpu_restore(t->fpu);
    return 0;
fault:
    mm_put(mm);
    return -EFAULT;
}
