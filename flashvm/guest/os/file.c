/*
 * file.c -- open files (shared by fds after dup and fork) and the fd tables
 * of processes; reading and writing a file of any kind.
 */
#include "fs.h"

struct file *file_alloc(void)
{
    struct file *f = kzalloc(sizeof *f);
    if (f) f->refs = 1;
    return f;
}

struct file *file_dup(struct file *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_SEQ_CST);
    return f;
}

void file_close(struct file *f)
{
    int last = __atomic_sub_fetch(&f->refs, 1, __ATOMIC_SEQ_CST) == 0;
    locks_on_close(f, last);
    if (!last)
        return;
    if (f->type == F_INODE && f->ip) iput(f->ip);
    if (f->type == F_PIPE) pipe_close(f->pipe, (f->flags & O_ACCMODE) != O_RDONLY);
    kfree(f);
}

struct files *files_new(void)
{
    struct files *fs = kzalloc(sizeof *fs);
    if (!fs) return NULL;
    fs->refs = 1;
    spin_init(&fs->lock, "fdtab");
    fs->cwd = idup(rootdir);
    strcpy(fs->cwdpath, "/");
    return fs;
}

struct files *files_dup(struct files *old)
{
    struct files *fs = kzalloc(sizeof *fs);
    if (!fs) return NULL;
    fs->refs = 1;
    spin_init(&fs->lock, "fdtab");
    spin_lock(&old->lock);
    for (int i = 0; i < NOFILE; i++)
        if (old->fd[i]) fs->fd[i] = file_dup(old->fd[i]);
    fs->cloexec = old->cloexec;
    fs->cwd = idup(old->cwd);
    strcpy(fs->cwdpath, old->cwdpath);
    spin_unlock(&old->lock);
    return fs;
}

void files_put(struct files *fs)
{
    if (__atomic_sub_fetch(&fs->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    for (int i = 0; i < NOFILE; i++)
        if (fs->fd[i]) file_close(fs->fd[i]);
    iput(fs->cwd);
    kfree(fs);
}

void files_cloexec(struct files *fs)
{
    for (int i = 0; i < NOFILE; i++)
        if ((fs->cloexec >> i) & 1 && fs->fd[i]) {
            file_close(fs->fd[i]);
            fs->fd[i] = NULL;
        }
    fs->cloexec = 0;
}

struct file *fd_get(int fd)
{
    struct files *fs = current()->files;
    if ((unsigned)fd >= NOFILE) return NULL;
    return fs->fd[fd];
}

int fd_install(struct file *f, int min, int cloexec)
{
    struct files *fs = current()->files;
    spin_lock(&fs->lock);
    for (int i = min; i < NOFILE; i++) {
        if (!fs->fd[i]) {
            fs->fd[i] = f;
            if (cloexec) fs->cloexec |= 1ULL << i;
            else fs->cloexec &= ~(1ULL << i);
            spin_unlock(&fs->lock);
            return i;
        }
    }
    spin_unlock(&fs->lock);
    return -EMFILE;
}

/* ------------------------------------------------------------ read/write */
long file_read(struct file *f, u32 ubuf, u32 n)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY) return -EBADF;
    struct mm *mm = current()->mm;
    switch (f->type) {
    case F_PIPE:
        return pipe_read(f, ubuf, n);
    case F_CONS:
        return console_read(ubuf, n);
    case F_INODE: {
        struct inode *ip = f->ip;
        if (S_ISDIR(ip->mode)) return -EISDIR;
        if (S_ISCHR(ip->mode)) return chr_read(f, ubuf, n);
        if (S_ISBLK(ip->mode)) return blk_rw(f, ubuf, n, 0);
        if (ip->proc) return procfs_read(f, ubuf, n);
        u32 done = 0;
        u8 *tmp = page_alloc();
        if (!tmp) return -ENOMEM;
        while (done < n) {
            FS_LOCK();
            if (f->off >= ip->size) { FS_UNLOCK(); break; }
            int k = v_read(ip, tmp, f->off, MIN(n - done, PAGE_SIZE));
            FS_UNLOCK();
            if (k <= 0) break;
            if (copyout(mm, ubuf + done, tmp, k)) { page_free(tmp); return done ? (long)done : -EFAULT; }
            f->off += k;
            done += k;
        }
        page_free(tmp);
        return done;
    }
    }
    return -EBADF;
}

/* from the kernel buffer `kbuf`, or when it is NULL from user memory at `ubuf` */
static long write_common(struct file *f, const u8 *kbuf, u32 ubuf, u32 n)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY) return -EBADF;
    struct mm *mm = current()->mm;
    switch (f->type) {
    case F_PIPE:
        return pipe_write(f, kbuf, ubuf, n);
    case F_CONS:
        return console_write(f, kbuf, ubuf, n);
    case F_INODE: {
        struct inode *ip = f->ip;
        if (S_ISCHR(ip->mode)) return chr_write(f, ubuf, n);
        if (S_ISBLK(ip->mode)) return blk_rw(f, ubuf, n, 1);
        u8 *tmp = page_alloc();
        if (!tmp) return -ENOMEM;
        u32 done = 0;
        while (done < n) {
            u32 k = MIN(n - done, PAGE_SIZE);
            if (kbuf) memcpy(tmp, kbuf + done, k);
            else if (copyin(mm, tmp, ubuf + done, k)) { page_free(tmp); return done ? (long)done : -EFAULT; }
            FS_LOCK();
            if (f->flags & O_APPEND) f->off = ip->size;
            int r = v_write(ip, tmp, f->off, k);
            FS_UNLOCK();
            if (r < 0) { page_free(tmp); return done ? (long)done : r; }
            f->off += r;
            done += r;
            if ((u32)r < k) break;
        }
        page_free(tmp);
        return done;
    }
    }
    return -EBADF;
}

long file_write(struct file *f, u32 ubuf, u32 n) { return write_common(f, NULL, ubuf, n); }
long file_write_k(struct file *f, const void *buf, u32 n) { return write_common(f, buf, 0, n); }
