/*
 * files.c -- SPLASHOS's files: open/read/write/lseek/close and their stdio
 * forms over the VM's virtual disk (DISK 0), in the small "sosfs" layout
 * flashvm/disco/sosfs.py builds and reads back:
 *
 *   sectors 0..7   header: "SOSFS1\0\0", file count, first free sector, then
 *                  63 entries {name[48], first sector, size, capacity, flags}
 *   then           each file's bytes, from its first sector on (whole sectors)
 *
 * A file created by open(O_CREAT) takes the disk from the first free sector
 * to the end; its close fixes its size and frees the rest (one file is being
 * created at a time).  The header is written back at each create and close.
 * The disk's registers are reached through the kernel half (SOS_SYS_DISKRD/WR);
 * a request is polled to its end (no interrupt: SPLASHOS enables none).
 * One lock serialises all file calls: threads may use files, one at a time.
 */
#include "splashos.h"
#include "splashos_abi.h"
#include "flash_layout.h"

#define SECTOR      512
#define HDR_SECTORS 8
#define NENT        63
#define NOPEN       16
#define BOUNCE      (64 << 10)
#define D_SECTOR 0x00
#define D_COUNT  0x04
#define D_ADDR   0x08
#define D_CMD    0x0C
#define D_STATUS 0x10
#define D_ACK    0x14
#define D_CAP    0x18

struct ent { char name[48]; uint32_t start, size, cap, flags; };
static struct {
    char magic[8];
    uint32_t nfiles, next_free;
    struct ent e[NENT];
    uint8_t pad[HDR_SECTORS * SECTOR - 16 - NENT * sizeof(struct ent)];
} hdr;
struct ofile { int used, ent, flags; uint32_t pos; };
static struct ofile ofiles[NOPEN];
static FILE fobj[NOPEN];
static uint8_t bounce[BOUNCE] __attribute__((aligned(SECTOR)));
static pthread_mutex_t fs_lock;
static int mounted, creating = -1;
static uint32_t capacity;

void __sos_console_write(const char *p, size_t n);

static uint32_t call(uint32_t nr, uint32_t a, uint32_t b)
{
    register uint32_t v0 __asm__("$2") = nr;
    register uint32_t a0 __asm__("$4") = a;
    register uint32_t a1 __asm__("$5") = b;
    __asm__ volatile("syscall" : "+r"(v0), "+r"(a0), "+r"(a1) : : "$3", "$6", "$7", "memory");
    return v0;
}

/* one request, polled to its end; 0 or -1 */
static int disk_io(uint32_t cmd, uint32_t sector, uint32_t count, void *buf)
{
    call(SOS_SYS_DISKWR, D_SECTOR, sector);
    call(SOS_SYS_DISKWR, D_COUNT, count);
    call(SOS_SYS_DISKWR, D_ADDR, (uint32_t)(uintptr_t)buf);   /* user address == guest-physical */
    call(SOS_SYS_DISKWR, D_CMD, cmd);
    uint32_t st;
    while ((st = call(SOS_SYS_DISKRD, D_STATUS, 0)) & 1)
        ;
    call(SOS_SYS_DISKWR, D_ACK, 7);
    return st & 4 ? -1 : 0;
}

static int mount(void)
{
    const struct bootinfo *b = (const struct bootinfo *)FLASH_BOOTINFO_PA;
    if (mounted) return 0;
    if (!b->ndisks) return -1;
    capacity = call(SOS_SYS_DISKRD, D_CAP, 0);
    if (disk_io(1, 0, HDR_SECTORS, &hdr) || memcmp(hdr.magic, "SOSFS1", 6)) return -1;
    mounted = 1;
    return 0;
}

static int save_header(void) { return disk_io(2, 0, HDR_SECTORS, &hdr); }

static int lookup(const char *name)
{
    while (*name == '/') name++;
    for (uint32_t i = 0; i < hdr.nfiles; i++)
        if (!strcmp(hdr.e[i].name, name)) return (int)i;
    return -1;
}

int open(const char *path, int flags, ...)
{
    pthread_mutex_lock(&fs_lock);
    int fd = -1;
    if (mount()) goto out;
    int e = lookup(path);
    if (e < 0 && (flags & O_CREAT)) {
        const char *name = path;
        while (*name == '/') name++;
        if (creating >= 0 || hdr.nfiles == NENT || strlen(name) >= sizeof hdr.e[0].name) goto out;
        e = (int)hdr.nfiles++;
        memset(&hdr.e[e], 0, sizeof hdr.e[e]);
        strcpy(hdr.e[e].name, name);
        hdr.e[e].start = hdr.next_free;
        hdr.e[e].cap = (capacity - hdr.next_free) * SECTOR;
        creating = e;
        if (save_header()) goto out;
    }
    if (e < 0) goto out;
    if ((flags & O_TRUNC) && (flags & 3)) hdr.e[e].size = 0;
    for (fd = 3; fd < NOPEN && ofiles[fd].used; fd++)
        ;
    if (fd == NOPEN) { fd = -1; goto out; }
    ofiles[fd] = (struct ofile){ 1, e, flags, (flags & O_APPEND) ? hdr.e[e].size : 0 };
out:
    pthread_mutex_unlock(&fs_lock);
    return fd;
}

static struct ofile *get(int fd) { return fd >= 3 && fd < NOPEN && ofiles[fd].used ? &ofiles[fd] : 0; }

long read(int fd, void *buf, size_t n)
{
    if (fd == 0) return 0;
    pthread_mutex_lock(&fs_lock);
    struct ofile *o = get(fd);
    long done = -1;
    if (o && (o->flags & 3) != O_WRONLY) {
        struct ent *e = &hdr.e[o->ent];
        if (o->pos >= e->size) n = 0;
        else if (n > e->size - o->pos) n = e->size - o->pos;
        done = 0;
        while ((size_t)done < n) {
            uint32_t first = o->pos / SECTOR, skip = o->pos % SECTOR;
            uint32_t k = n - done < BOUNCE - skip ? n - done : BOUNCE - skip;
            uint32_t count = (skip + k + SECTOR - 1) / SECTOR;
            if (disk_io(1, e->start + first, count, bounce)) { done = done ? done : -1; break; }
            memcpy((char *)buf + done, bounce + skip, k);
            o->pos += k;
            done += k;
        }
    }
    pthread_mutex_unlock(&fs_lock);
    return done;
}

long write(int fd, const void *buf, size_t n)
{
    if (fd == 1 || fd == 2) {
        __sos_console_write((const char *)buf, n);
        return (long)n;
    }
    pthread_mutex_lock(&fs_lock);
    struct ofile *o = get(fd);
    long done = -1;
    if (o && (o->flags & 3) != O_RDONLY) {
        struct ent *e = &hdr.e[o->ent];
        if (o->flags & O_APPEND) o->pos = e->size;
        if (o->pos + n > e->cap) n = o->pos < e->cap ? e->cap - o->pos : 0;
        done = 0;
        while ((size_t)done < n) {
            uint32_t first = o->pos / SECTOR, skip = o->pos % SECTOR;
            uint32_t k = n - done < BOUNCE - skip ? n - done : BOUNCE - skip;
            uint32_t count = (skip + k + SECTOR - 1) / SECTOR;
            /* partial sectors holding file bytes already: read them first */
            if ((skip && o->pos - skip < e->size) || ((skip + k) % SECTOR && o->pos + k < e->size))
                if (disk_io(1, e->start + first, count, bounce)) break;
            memcpy(bounce + skip, (const char *)buf + done, k);
            if (disk_io(2, e->start + first, count, bounce)) break;
            o->pos += k;
            done += k;
            if (o->pos > e->size) e->size = o->pos;
        }
    }
    pthread_mutex_unlock(&fs_lock);
    return done;
}

long lseek(int fd, long off, int whence)
{
    pthread_mutex_lock(&fs_lock);
    struct ofile *o = get(fd);
    long r = -1;
    if (o) {
        long base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (long)o->pos : (long)hdr.e[o->ent].size;
        if (base + off >= 0) r = o->pos = (uint32_t)(base + off);
    }
    pthread_mutex_unlock(&fs_lock);
    return r;
}

int close(int fd)
{
    pthread_mutex_lock(&fs_lock);
    struct ofile *o = get(fd);
    int r = -1;
    if (o) {
        r = 0;
        if (o->ent == creating) {           /* the new file ends here: the rest of the disk is free again */
            struct ent *e = &hdr.e[o->ent];
            e->cap = (e->size + SECTOR - 1) / SECTOR * SECTOR;
            hdr.next_free = e->start + e->cap / SECTOR;
            creating = -1;
        }
        if ((o->flags & 3) != O_RDONLY && save_header()) r = -1;
        o->used = 0;
    }
    pthread_mutex_unlock(&fs_lock);
    return r;
}

long sos_file_size(int fd)
{
    struct ofile *o = get(fd);
    return o ? (long)hdr.e[o->ent].size : -1;
}

/* ------------------------------------------------------------ stdio over them */
FILE *fopen(const char *path, const char *mode)
{
    int flags = mode[0] == 'r' ? (strchr(mode, '+') ? O_RDWR : O_RDONLY)
              : (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_CREAT | (mode[0] == 'a' ? O_APPEND : O_TRUNC);
    int fd = open(path, flags);
    if (fd < 0) return 0;
    fobj[fd].fd = fd;
    fobj[fd].rpos = fobj[fd].rlen = fobj[fd].wlen = 0;
    return &fobj[fd];
}

/* a FILE's buffer holds either bytes read ahead (rpos..rlen) or bytes not yet written (wlen) */
static int flush_out(FILE *f)
{
    int n = f->wlen;
    f->wlen = 0;
    return n && write(f->fd, f->rbuf, (size_t)n) != n ? EOF : 0;
}

int __sos_fflush_file(FILE *f) { return f->fd >= 3 ? flush_out(f) : 0; }

int fclose(FILE *f)
{
    if (!f || f->fd < 3) return 0;
    int r = flush_out(f);
    return close(f->fd) || r ? EOF : 0;
}

/* reads through the FILE's 512-byte buffer (a disk request per 512 bytes at most) */
static int refill(FILE *f)
{
    if (f->wlen && flush_out(f)) return 0;
    long r = read(f->fd, f->rbuf, sizeof f->rbuf);
    f->rpos = 0;
    f->rlen = r > 0 ? (int)r : 0;
    return f->rlen;
}

size_t fread(void *p, size_t size, size_t n, FILE *f)
{
    size_t want = size * n, got = 0;
    if (!want || f->fd < 3 || (f->wlen && flush_out(f))) return 0;
    while (got < want) {
        if (f->rpos == f->rlen) {
            if (want - got >= sizeof f->rbuf) {          /* a big read goes straight to the file */
                long r = read(f->fd, (char *)p + got, want - got);
                if (r > 0) got += (size_t)r;
                break;
            }
            if (!refill(f)) break;
        }
        size_t k = (size_t)(f->rlen - f->rpos) < want - got ? (size_t)(f->rlen - f->rpos) : want - got;
        memcpy((char *)p + got, f->rbuf + f->rpos, k);
        f->rpos += (int)k;
        got += k;
    }
    return got / size;
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    size_t want = size * n;
    if (!want) return 0;
    if (f->fd < 3) {
        long r = write(f->fd, p, want);
        return r > 0 ? (size_t)r / size : 0;
    }
    f->rpos = f->rlen = 0;                      /* (what was read ahead is dropped) */
    if (f->wlen + want > sizeof f->rbuf) {
        if (flush_out(f)) return 0;
        if (want >= sizeof f->rbuf) {
            long r = write(f->fd, p, want);
            return r > 0 ? (size_t)r / size : 0;
        }
    }
    memcpy(f->rbuf + f->wlen, p, want);
    f->wlen += (int)want;
    return n;
}

int fgetc(FILE *f)
{
    if (f->fd == 0) return getchar();
    if (f->rpos == f->rlen && !refill(f)) return EOF;
    return f->rbuf[f->rpos++];
}

char *fgets(char *s, int n, FILE *f)
{
    int i = 0;
    while (i < n - 1) {
        int c = fgetc(f);
        if (c == EOF) break;
        s[i++] = (char)c;
        if (c == '\n') break;
    }
    if (!i) return 0;
    s[i] = 0;
    return s;
}
