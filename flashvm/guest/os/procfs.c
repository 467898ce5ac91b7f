/*
 * procfs.c -- a minimal /proc: what Debian's programs read of it.
 *
 *   /proc/cpuinfo, /proc/meminfo      as Linux prints them on a MIPS 24Kf
 *   /proc/self/exe                    link to the running program
 *   /proc/self/maps                   the caller's mappings
 *   /proc/self/fd/N                   links to the open files
 *
 * The nodes are ramfs inodes (a tree mounted on /proc, like /dev) marked
 * with their kind in `proc`; their contents are made when they are read,
 * for the task that reads them ("self" is always the caller).
 */
#include "fs.h"

enum { PROC_ROOT = 1, PROC_CPUINFO, PROC_MEMINFO, PROC_SELF, PROC_EXE, PROC_MAPS, PROC_FD, PROC_FDLINK };

#define GEN_PAGES 4                 /* the largest file made: 16 KB */

static struct inode *node(struct inode *dir, const char *name, u32 mode, int kind)
{
    struct inode *ip;
    if (ramfs_create(dir, name, mode, &ip)) panic("procfs: cannot make %s", name);
    ip->proc = kind;
    return ip;
}

/* mount /proc (fs_mutex not needed yet: called from fs_init) */
void procfs_init(void)
{
    struct inode *mp = mkpath_in(rootdir, "/proc", S_IFDIR | 0555);
    if (!mp) {                      /* a root disk that cannot take the mount point */
        kprintf("no /proc: cannot make its directory\n");
        return;
    }
    struct inode *root = ramfs_new(S_IFDIR | 0555);
    root->nlink = 2;
    root->refs = 1;
    root->proc = PROC_ROOT;
    root->covered = mp;
    root->parent = mp;
    mp->mounted = root;
    mp->refs++;
    node(root, "cpuinfo", S_IFREG | 0444, PROC_CPUINFO);
    node(root, "meminfo", S_IFREG | 0444, PROC_MEMINFO);
    struct inode *self = node(root, "self", S_IFDIR | 0555, PROC_SELF);
    node(self, "exe", S_IFLNK | 0777, PROC_EXE);
    node(self, "maps", S_IFREG | 0444, PROC_MAPS);
    struct inode *fd = node(self, "fd", S_IFDIR | 0500, PROC_FD);
    for (int i = 0; i < NOFILE; i++) {
        char name[8];
        snprintf(name, sizeof name, "%d", i);
        node(fd, name, S_IFLNK | 0700, PROC_FDLINK)->rdev = i;
    }
}

/* an entry of /proc/self/fd exists only while its fd is open */
int procfs_hidden(struct inode *ip)
{
    return ip->proc == PROC_FDLINK && !fd_get(ip->rdev);
}

/* ------------------------------------------------------------ links */
/* the program: the file mapping at the lowest address (exec.c maps it at
 * its link address or the PIE base, below everything mmap places) */
static struct inode *exe_inode(void)
{
    struct mm *mm = current()->mm;
    struct inode *ip = NULL;
    spin_lock(&mm->lock);
    for (struct vma *v = mm->vmas; v; v = v->next)
        if (v->ip) { ip = idup(v->ip); break; }
    spin_unlock(&mm->lock);
    return ip;
}

/* fs_mutex held */
int procfs_readlink(struct inode *ip, char *buf, u32 n)
{
    char path[PATH_MAX];
    int len = -ENOENT;
    if (ip->proc == PROC_EXE) {
        struct inode *exe = exe_inode();
        if (exe) {
            len = v_path(exe, path, sizeof path);
            iput(exe);
        }
    } else if (ip->proc == PROC_FDLINK) {
        struct file *f = fd_get(ip->rdev);
        if (!f) len = -ENOENT;
        else if (f->type == F_INODE) len = v_path(f->ip, path, sizeof path);
        else if (f->type == F_PIPE) len = snprintf(path, sizeof path, "pipe:[%u]", ((u32)f->pipe >> 4) & 0xFFFFF);
        else len = snprintf(path, sizeof path, "/dev/console");
    }
    if (len < 0) return len;
    len = MIN((u32)len, n);
    memcpy(buf, path, len);
    return len;
}

/* ------------------------------------------------------------ files */
struct gen { char *buf; u32 n, cap; };

static void emit(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct gen *g, const char *fmt, ...)
{
    char line[PATH_MAX + 96];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    k = MIN((u32)k, sizeof line - 1);
    if (g->n + k <= g->cap) {
        memcpy(g->buf + g->n, line, k);
        g->n += k;
    }
}

static void gen_cpuinfo(struct gen *g)
{
    u32 mhz = (bootinfo->clock_hz ? bootinfo->clock_hz : 200000000) / 1000000;
    for (unsigned c = 0; c < ncpu; c++) {
        if (c == 0)
            emit(g, "system type\t\t: flashvm FLASH\nmachine\t\t\t: flashvm\n");
        emit(g, "processor\t\t: %u\n", c);
        emit(g, "cpu model\t\t: MIPS 24Kf V7.4  FPU V0.0\n");
        emit(g, "BogoMIPS\t\t: %u.00\n", mhz);
        emit(g, "wait instruction\t: yes\nmicrosecond timers\t: yes\ntlb_entries\t\t: 64\n"
                "extra interrupt vector\t: yes\nhardware watchpoint\t: no\n"
                "isa\t\t\t: mips1 mips2 mips32r1 mips32r2\nASEs implemented\t:\n"
                "shadow register sets\t: 1\nkscratch registers\t: 0\n");
        emit(g, "package\t\t\t: 0\ncore\t\t\t: %u\n", c);
        emit(g, "VCED exceptions\t\t: not available\nVCEI exceptions\t\t: not available\n\n");
    }
}

static void gen_meminfo(struct gen *g)
{
    u32 kb = PAGE_SIZE / 1024, total = ram_bytes / 1024, free = pages_free() * kb;
    emit(g, "MemTotal:       %8u kB\n", total);
    emit(g, "MemFree:        %8u kB\n", free);
    emit(g, "MemAvailable:   %8u kB\n", pages_available() * kb);
    emit(g, "Buffers:        %8u kB\nCached:         %8u kB\n", 0u, pcache_pages() * kb);
    emit(g, "SwapTotal:      %8u kB\nSwapFree:       %8u kB\n", 0u, 0u);
}

/* one line per mapping, as Linux prints them (fs_mutex held) */
static void gen_maps(struct gen *g)
{
    enum { MAXV = 128 };
    struct vma *vs = kmalloc(MAXV * sizeof *vs);
    if (!vs) return;
    struct mm *mm = current()->mm;
    int nv = 0;
    spin_lock(&mm->lock);
    for (struct vma *v = mm->vmas; v && nv < MAXV; v = v->next) {
        vs[nv] = *v;
        if (v->ip) idup(v->ip);
        nv++;
    }
    u32 brk_start = mm->brk_start;
    spin_unlock(&mm->lock);
    char path[PATH_MAX];
    for (int i = 0; i < nv; i++) {
        struct vma *v = &vs[i];
        const char *name = "";
        if (v->ip && v_path(v->ip, path, sizeof path) > 0) name = path;
        else if (v->flags & VM_STACK) name = "[stack]";
        else if (!v->ip && v->start == brk_start) name = "[heap]";
        char head[96];
        int k = snprintf(head, sizeof head, "%08x-%08x %c%c%c%c %08x %02x:%02x %u",
                         v->start, v->end, v->prot & VM_READ ? 'r' : '-',
                         v->prot & VM_WRITE ? 'w' : '-', v->prot & VM_EXEC ? 'x' : '-',
                         v->flags & VM_SHARED ? 's' : 'p', v->ip ? v->off : 0,
                         v->ip ? (v->ip->flash ? 8 : 0) : 0, v->ip ? 1 : 0, v->ip ? v->ip->ino : 0);
        if (*name)
            emit(g, "%s%*s%s\n", head, k < 48 ? 49 - k : 1, "", name);
        else
            emit(g, "%s \n", head);
        if (v->ip) iput(v->ip);
    }
    kfree(vs);
}

/* read(2) of a /proc file: made whole, then the part at the offset */
long procfs_read(struct file *f, u32 ubuf, u32 n)
{
    struct gen g = { page_alloc_n(GEN_PAGES), 0, GEN_PAGES * PAGE_SIZE };
    if (!g.buf) return -ENOMEM;
    FS_LOCK();
    switch (f->ip->proc) {
    case PROC_CPUINFO: gen_cpuinfo(&g); break;
    case PROC_MEMINFO: gen_meminfo(&g); break;
    case PROC_MAPS: gen_maps(&g); break;
    }
    FS_UNLOCK();
    long r = 0;
    if (f->off < g.n) {
        r = MIN(n, g.n - (u32)f->off);
        if (copyout(current()->mm, ubuf, g.buf + f->off, r)) r = -EFAULT;
        else f->off += r;
    }
    page_free_n(g.buf, GEN_PAGES);
    return r;
}
