/*
 * sysfile.c -- the file-related system calls (the table is in syscall.c).
 * Each handler takes the argument words a[] of the call.
 */
#include "fs.h"

/* the directory a *at() call starts from; fs_mutex held */
static struct inode *cwd_of(int dirfd, int *err)
{
    struct task *t = current();
    if (dirfd == AT_FDCWD)
        return t->files->cwd;
    struct file *f = fd_get(dirfd);
    if (!f) { *err = -EBADF; return NULL; }
    if (f->type != F_INODE || !S_ISDIR(f->ip->mode)) { *err = -ENOTDIR; return NULL; }
    return f->ip;
}

/* ------------------------------------------------------------ stat */
static void put32(u8 *b, u32 off, u32 v) { memcpy(b + off, &v, 4); }
static void put64(u8 *b, u32 off, u64 v) { memcpy(b + off, &v, 8); }

static int vfs_stat(struct inode *ip, struct file *f, u32 ubuf, int statx)
{
    u32 mode, nlink = 1, size = 0, ino = 0, rdev = 0;
    u64 mt = 0, ct = 0, at = 0;
    if (ip) {
        mode = ip->mode; nlink = ip->nlink; size = S_ISDIR(ip->mode) ? 4096 : ip->size;
        ino = ip->ino; mt = ip->mtime_ns; ct = ip->ctime_ns; at = ip->atime_ns;
        rdev = S_ISCHR(ip->mode) ? (1 << 8) | ip->rdev : 0;
    } else if (f && f->type == F_PIPE) {
        mode = S_IFIFO | 0600;
    } else {
        mode = S_IFCHR | 0620;
        rdev = (5 << 8) | 1;
    }
    u32 blocks = (size + 511) / 512;
    u8 b[256];
    memset(b, 0, sizeof b);
    u64 dt = (u64)1700000000 * 1000000000ULL;
    mt += dt; ct += dt; at += dt;
    if (!statx) {
        put32(b, 0, 0x800);
        put64(b, 16, ino);
        put32(b, 24, mode);
        put32(b, 28, nlink);
        put32(b, 40, rdev);
        put64(b, 56, size);
        put32(b, 64, at / 1000000000); put32(b, 68, at % 1000000000);
        put32(b, 72, mt / 1000000000); put32(b, 76, mt % 1000000000);
        put32(b, 80, ct / 1000000000); put32(b, 84, ct % 1000000000);
        put32(b, 88, 4096);
        put64(b, 96, blocks);
        return copyout(current()->mm, ubuf, b, 104);
    }
    put32(b, 0, 0x7FF);
    put32(b, 4, 4096);
    put32(b, 16, nlink);
    b[28] = mode & 0xFF; b[29] = (mode >> 8) & 0xFF;
    put64(b, 32, ino);
    put64(b, 40, size);
    put64(b, 48, blocks);
    put64(b, 64, at / 1000000000); put32(b, 72, at % 1000000000);
    put64(b, 96, ct / 1000000000); put32(b, 104, ct % 1000000000);
    put64(b, 112, mt / 1000000000); put32(b, 120, mt % 1000000000);
    put32(b, 128, rdev >> 8); put32(b, 132, rdev & 0xFF);
    put32(b, 136, 8); put32(b, 140, 0);
    return copyout(current()->mm, ubuf, b, 256);
}

/* ------------------------------------------------------------ syscalls */
static int getpath(u32 upath, char *buf)
{
    int r = copyinstr(current()->mm, buf, upath, PATH_MAX);
    if (r < 0) return r;
    return 0;
}

/* The directory where open(O_CREAT) makes `path` and the name in `last`:
 * a dangling symbolic link in the last component names the file to make. */
static struct inode *create_parent(struct inode *start, const char *path, char *last, int *err)
{
    char target[PATH_MAX];
    struct inode *dp = walk(start, path, WALK_PARENT, last, err);
    for (int links = 0; dp; links++) {
        struct inode *l = v_lookup(dp, last, err);
        if (!l || !S_ISLNK(l->mode)) break;
        if (links >= MAXSYMLINKS) { *err = -ELOOP; return NULL; }
        int n = v_readlink(l, target, sizeof target - 1);
        if (n < 0) { *err = n; return NULL; }
        target[n] = 0;
        dp = walk(dp, target, WALK_PARENT, last, err);
    }
    return dp;
}

static long do_openat(int dirfd, u32 upath, u32 flags, u32 mode)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    if (!path[0]) return -ENOENT;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    if (!start) { FS_UNLOCK(); return err; }
    /* O_CREAT | O_EXCL does not follow a link: the link exists */
    int excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    struct inode *ip = walk(start, path, (flags & O_NOFOLLOW) || excl ? WALK_NOFOLLOW : 0, NULL, &err);
    if (!ip && err == -ENOENT && (flags & O_CREAT)) {
        struct inode *dp = create_parent(start, path, last, &err);
        if (!dp) { FS_UNLOCK(); return err; }
        if (!strcmp(last, ".") || !strcmp(last, "..")) { FS_UNLOCK(); return -EISDIR; }
        err = v_create(dp, last, S_IFREG | (mode & 07777), &ip);
        if (err) { FS_UNLOCK(); return err; }
    } else if (!ip) {
        FS_UNLOCK();
        return err;
    } else if (excl) {
        FS_UNLOCK();
        return -EEXIST;
    }
    if (S_ISLNK(ip->mode)) { FS_UNLOCK(); return -ELOOP; }     /* O_NOFOLLOW */
    if (S_ISDIR(ip->mode) && (flags & O_ACCMODE) != O_RDONLY) { FS_UNLOCK(); return -EISDIR; }
    if ((flags & O_DIRECTORY) && !S_ISDIR(ip->mode)) { FS_UNLOCK(); return -ENOTDIR; }
    if ((flags & O_TRUNC) && S_ISREG(ip->mode) && (flags & O_ACCMODE) != O_RDONLY)
        v_truncate(ip, 0);
    idup(ip);
    FS_UNLOCK();
    struct file *f = file_alloc();
    if (!f) { iput(ip); return -ENOMEM; }
    if (S_ISCHR(ip->mode) && ip->rdev == DEV_CONSOLE) {
        f->type = F_CONS;
        f->minor = 1;
        iput(ip);
    } else {
        f->type = F_INODE;
        f->ip = ip;
    }
    f->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    int fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0) file_close(f);
    return fd;
}

static long do_iov(int fd, u32 iov, int cnt, int write)
{
    struct file *f = fd_get(fd);
    if (!f) return -EBADF;
    if (cnt < 0 || cnt > 1024) return -EINVAL;
    long total = 0;
    for (int i = 0; i < cnt; i++) {
        u32 v[2];
        if (copyin(current()->mm, v, iov + 8 * i, 8)) return total ? total : -EFAULT;
        if (!v[1]) continue;
        long r = write ? file_write(f, v[0], v[1]) : file_read(f, v[0], v[1]);
        if (r < 0) return total ? total : r;
        total += r;
        if ((u32)r < v[1]) break;
    }
    return total;
}

static long do_lseek(struct file *f, s64 off, int whence, s64 *res)
{
    if (f->type == F_PIPE) return -ESPIPE;
    if (f->type != F_INODE) { *res = 0; return 0; }
    s64 base;
    switch (whence) {
    case 0: base = 0; break;
    case 1: base = f->off; break;
    case 2: base = f->ip->size; break;
    default: return -EINVAL;
    }
    if (base + off < 0) return -EINVAL;
    f->off = base + off;
    if (S_ISDIR(f->ip->mode)) f->dirpos = f->off;
    *res = f->off;
    return 0;
}

static long do_getdents64(int fd, u32 ubuf, u32 count)
{
    struct file *f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->type != F_INODE || !S_ISDIR(f->ip->mode)) return -ENOTDIR;
    u8 *tmp = page_alloc();
    if (!tmp) return -ENOMEM;
    u32 lim = MIN(count, PAGE_SIZE);
    u32 n = 0;
    long r = 0;
    FS_LOCK();
    struct inode *dp = f->ip;
    u64 pos = f->off;
    char name[NAME_MAX + 1];
    for (;;) {
        u64 next = pos;
        u32 ino;
        int type;
        int got = v_readdir(dp, &next, name, &ino, &type);
        if (got < 0) { r = got; break; }
        if (got == 0) break;
        u32 nl = strlen(name);
        u32 reclen = (19 + nl + 1 + 7) & ~7;
        if (n + reclen > lim) {
            if (n == 0) r = -EINVAL;
            break;
        }
        memset(tmp + n, 0, reclen);
        put64(tmp + n, 0, ino);
        put64(tmp + n, 8, next);
        tmp[n + 16] = reclen & 0xFF; tmp[n + 17] = reclen >> 8;
        tmp[n + 18] = type;
        memcpy(tmp + n + 19, name, nl);
        n += reclen;
        pos = next;
    }
    FS_UNLOCK();
    if (!r) {
        if (n && copyout(current()->mm, ubuf, tmp, n)) r = -EFAULT;
        else { f->off = pos; r = n; }
    }
    page_free(tmp);
    return r;
}

static long do_mkdirat(int dirfd, u32 upath, u32 mode)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *dp = start ? walk(start, path, 1, last, &err) : NULL;
    if (!dp) { FS_UNLOCK(); return err == -EINVAL ? -EEXIST : err; }
    struct inode *ip;
    if (v_lookup(dp, last, &err)) { FS_UNLOCK(); return -EEXIST; }
    err = v_create(dp, last, S_IFDIR | (mode & 07777), &ip);
    FS_UNLOCK();
    return err;
}

static long do_unlinkat(int dirfd, u32 upath, int flags)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *dp = start ? walk(start, path, 1, last, &err) : NULL;
    if (!dp) { FS_UNLOCK(); return err == -EINVAL ? -EBUSY : err; }
    err = v_unlink(dp, last, (flags & AT_REMOVEDIR) != 0);
    FS_UNLOCK();
    return err;
}

static long do_renameat(int od, u32 uold, int nd, u32 unew)
{
    char op[PATH_MAX], np[PATH_MAX], ol[NAME_MAX + 1], nl[NAME_MAX + 1];
    int err = getpath(uold, op);
    if (!err) err = getpath(unew, np);
    if (err) return err;
    FS_LOCK();
    struct inode *s1 = cwd_of(od, &err);
    struct inode *odp = s1 ? walk(s1, op, 1, ol, &err) : NULL;
    struct inode *s2 = odp ? cwd_of(nd, &err) : NULL;
    struct inode *ndp = s2 ? walk(s2, np, 1, nl, &err) : NULL;
    if (!ndp) { FS_UNLOCK(); return err == -EINVAL ? -EBUSY : err; }
    err = v_rename(odp, ol, ndp, nl);
    FS_UNLOCK();
    return err;
}

/* canonical absolute path of `path` relative to `cwd` (no symlinks) */
static int path_join(const char *cwd, const char *path, char *out)
{
    char buf[2 * PATH_MAX];
    if (path[0] == '/') strlcpy(buf, path, sizeof buf);
    else snprintf(buf, sizeof buf, "%s/%s", cwd, path);
    u32 n = 0;
    out[0] = 0;
    const char *p = buf;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != '/') q++;
        u32 l = q - p;
        if (l == 1 && p[0] == '.') {
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
            out[n] = 0;
        } else {
            if (n + 1 + l >= PATH_MAX) return -ENAMETOOLONG;
            out[n++] = '/';
            memcpy(out + n, p, l);
            n += l;
            out[n] = 0;
        }
        p = q;
    }
    if (n == 0) strcpy(out, "/");
    return 0;
}

static long do_chdir(u32 upath)
{
    char path[PATH_MAX], canon[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    struct inode *ip = namei(path, &err);
    if (!ip) return err;
    if (!S_ISDIR(ip->mode)) { iput(ip); return -ENOTDIR; }
    struct files *fs = current()->files;
    FS_LOCK();
    err = v_path(ip, canon, sizeof canon) < 0;     /* through links: the real path */
    FS_UNLOCK();
    if (err) err = path_join(fs->cwdpath, path, canon);
    if (err) { iput(ip); return err; }
    struct inode *old = fs->cwd;
    fs->cwd = ip;
    strcpy(fs->cwdpath, canon);
    iput(old);
    return 0;
}

static long do_fstatat(int dirfd, u32 upath, u32 ubuf, int flags, int statx)
{
    char path[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    if (!path[0]) {
        if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
        if (dirfd == AT_FDCWD) return vfs_stat(current()->files->cwd, NULL, ubuf, statx);
        struct file *f = fd_get(dirfd);
        if (!f) return -EBADF;
        return vfs_stat(f->type == F_INODE ? f->ip : NULL, f, ubuf, statx);
    }
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    int wf = (flags & AT_SYMLINK_NOFOLLOW) ? WALK_NOFOLLOW : 0;
    struct inode *ip = start ? walk(start, path, wf, NULL, &err) : NULL;
    if (ip) idup(ip);
    FS_UNLOCK();
    if (!ip) return err;
    int r = vfs_stat(ip, NULL, ubuf, statx);
    iput(ip);
    return r;
}

/* ------------------------------------------------------------ handlers */
long sys_read(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    return file_read(f, a[1], a[2]);
}

long sys_write(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    return file_write(f, a[1], a[2]);
}

long sys_readv(u32 *a, struct tf *tf) { return do_iov(a[0], a[1], a[2], 0); }
long sys_writev(u32 *a, struct tf *tf) { return do_iov(a[0], a[1], a[2], 1); }

/* at the 64-bit offset in a[4], a[5], leaving the file offset alone */
static long pread_pwrite(u32 *a, int write)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if (f->type != F_INODE) return -ESPIPE;
    u64 save = f->off;
    f->off = ((u64)a[5] << 32) | a[4];
    long r = write ? file_write(f, a[1], a[2]) : file_read(f, a[1], a[2]);
    f->off = save;
    return r;
}

long sys_pread64(u32 *a, struct tf *tf) { return pread_pwrite(a, 0); }
long sys_pwrite64(u32 *a, struct tf *tf) { return pread_pwrite(a, 1); }
long sys_open(u32 *a, struct tf *tf) { return do_openat(AT_FDCWD, a[0], a[1], a[2]); }
long sys_openat(u32 *a, struct tf *tf) { return do_openat(a[0], a[1], a[2], a[3]); }
long sys_creat(u32 *a, struct tf *tf) { return do_openat(AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]); }

long sys_close(u32 *a, struct tf *tf)
{
    struct files *fs = current()->files;
    if ((unsigned)a[0] >= NOFILE) return -EBADF;
    spin_lock(&fs->lock);
    struct file *f = fs->fd[a[0]];
    fs->fd[a[0]] = NULL;
    spin_unlock(&fs->lock);
    if (!f) return -EBADF;
    file_close(f);
    return 0;
}

long sys_lseek(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    s64 res;
    long r = do_lseek(f, (s32)a[1], a[2], &res);
    return r ? r : (long)res;
}

long sys__llseek(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    s64 res;
    long r = do_lseek(f, (s64)(((u64)a[1] << 32) | a[2]), a[4], &res);
    if (r) return r;
    return copyout(current()->mm, a[3], &res, 8);
}

long sys_dup(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    file_dup(f);
    int fd = fd_install(f, 0, 0);
    if (fd < 0) file_close(f);
    return fd;
}

static long do_dup3(u32 *a, int dup3)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if ((unsigned)a[1] >= NOFILE) return -EBADF;
    if (a[0] == a[1]) return dup3 ? -EINVAL : (long)a[1];
    struct files *fs = current()->files;
    file_dup(f);
    spin_lock(&fs->lock);
    struct file *old = fs->fd[a[1]];
    fs->fd[a[1]] = f;
    if (dup3 && (a[2] & O_CLOEXEC)) fs->cloexec |= 1ULL << a[1];
    else fs->cloexec &= ~(1ULL << a[1]);
    spin_unlock(&fs->lock);
    if (old) file_close(old);
    return a[1];
}

long sys_dup2(u32 *a, struct tf *tf) { return do_dup3(a, 0); }
long sys_dup3(u32 *a, struct tf *tf) { return do_dup3(a, 1); }

long sys_fcntl(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    struct files *fs = current()->files;
    switch (a[1]) {
    case 0: case 1030: {     /* F_DUPFD, F_DUPFD_CLOEXEC */
        file_dup(f);
        int fd = fd_install(f, a[2], a[1] == 1030);
        if (fd < 0) file_close(f);
        return fd;
    }
    case 1: return (fs->cloexec >> a[0]) & 1;
    case 2:
        if (a[2] & 1) fs->cloexec |= 1ULL << a[0]; else fs->cloexec &= ~(1ULL << a[0]);
        return 0;
    case 3: return f->flags;
    case 4: f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | (a[2] & (O_APPEND | O_NONBLOCK)); return 0;
    case 6: case 7: case 14:        /* F_SETLK, F_SETLKW, F_GETLK (MIPS numbers) */
    case 33: case 34: case 35:      /* F_GETLK64, F_SETLK64, F_SETLKW64 */
        return fcntl_lock(f, a[1], a[2]);
    default: return -EINVAL;
    }
}

/* pipe returns the write end in v1 (tf->regs[3]); pipe2 stores both fds at a[0] */
static long do_pipe2(u32 *a, struct tf *tf, int pipe2)
{
    struct task *t = current();
    struct file *rf, *wf;
    int r = pipe_alloc(&rf, &wf);
    if (r) return r;
    u32 fl = pipe2 ? a[1] : 0;
    if (fl & O_NONBLOCK) { rf->flags |= O_NONBLOCK; wf->flags |= O_NONBLOCK; }
    int fd0 = fd_install(rf, 0, fl & O_CLOEXEC);
    if (fd0 < 0) { file_close(rf); file_close(wf); return fd0; }
    int fd1 = fd_install(wf, 0, fl & O_CLOEXEC);
    if (fd1 < 0) { t->files->fd[fd0] = NULL; file_close(rf); file_close(wf); return fd1; }
    if (!pipe2) {
        tf->regs[3] = fd1;
        return fd0;
    }
    int fds[2] = { fd0, fd1 };
    if (copyout(t->mm, a[0], fds, 8)) return -EFAULT;
    return 0;
}

long sys_pipe(u32 *a, struct tf *tf) { return do_pipe2(a, tf, 0); }
long sys_pipe2(u32 *a, struct tf *tf) { return do_pipe2(a, tf, 1); }

#define NETIO_RECVFILE 0x4E01     /* {fd, offset, header buffer, size}: next frame into a ramfs file */
#define NETIO_SENDSLOT 0x4E02     /* {slot, frame or 0, length, header}: send a kept frame */

long sys_ioctl(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if (a[1] == 0x8927 && f->type == F_INODE && S_ISCHR(f->ip->mode) &&
        IS_DEV_NET(f->ip->rdev)) {   /* SIOCGIFHWADDR: the MAC */
        u8 mac[6];
        int r = net_mac(f->ip->rdev - DEV_NET0, mac);
        if (r) return r;
        return copyout(current()->mm, a[2], mac, 6) ? -EFAULT : 0;
    }
    if ((a[1] == NETIO_RECVFILE || a[1] == NETIO_SENDSLOT) && f->type == F_INODE &&
        S_ISCHR(f->ip->mode) && IS_DEV_NET(f->ip->rdev)) {   /* the file service's page paths */
        u32 w[4];
        if (copyin(current()->mm, w, a[2], sizeof w)) return -EFAULT;
        unsigned k = f->ip->rdev - DEV_NET0;
        if (a[1] == NETIO_SENDSLOT) return net_send_slot(k, w[0], w[1], w[2], w[3]);
        struct file *to = fd_get(w[0]);       /* {fd, offset, header buffer, its size} */
        if (!to) return -EBADF;
        if (to->type != F_INODE || !S_ISREG(to->ip->mode) || to->ip->flash || !(to->flags & 3))
            return -EINVAL;
        return net_recv_file(k, to->ip, w[1], w[2], w[3]);
    }
    if (a[1] == 0x467F) {         /* FIONREAD */
        u32 n = 0;
        if (f->type == F_INODE && f->off < f->ip->size) n = f->ip->size - f->off;
        else if (f->type == F_PIPE) n = pipe_nread(f->pipe);
        else if (f->type != F_INODE) return -ENOTTY;
        return put_user32(a[2], n);
    }
    return -ENOTTY;
}

long sys_fstat64(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    return vfs_stat(f->type == F_INODE ? f->ip : NULL, f, a[1], 0);
}

long sys_stat64(u32 *a, struct tf *tf) { return do_fstatat(AT_FDCWD, a[0], a[1], 0, 0); }
long sys_lstat64(u32 *a, struct tf *tf) { return do_fstatat(AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW, 0); }
long sys_fstatat64(u32 *a, struct tf *tf) { return do_fstatat(a[0], a[1], a[2], a[3], 0); }
long sys_statx(u32 *a, struct tf *tf) { return do_fstatat(a[0], a[1], a[4], a[2], 1); }
long sys_getdents64(u32 *a, struct tf *tf) { return do_getdents64(a[0], a[1], a[2]); }
long sys_mkdir(u32 *a, struct tf *tf) { return do_mkdirat(AT_FDCWD, a[0], a[1]); }
long sys_mkdirat(u32 *a, struct tf *tf) { return do_mkdirat(a[0], a[1], a[2]); }
long sys_unlink(u32 *a, struct tf *tf) { return do_unlinkat(AT_FDCWD, a[0], 0); }
long sys_rmdir(u32 *a, struct tf *tf) { return do_unlinkat(AT_FDCWD, a[0], AT_REMOVEDIR); }
long sys_unlinkat(u32 *a, struct tf *tf) { return do_unlinkat(a[0], a[1], a[2]); }
long sys_rename(u32 *a, struct tf *tf) { return do_renameat(AT_FDCWD, a[0], AT_FDCWD, a[1]); }
/* renameat and renameat2 (whose flags are ignored) */
long sys_renameat(u32 *a, struct tf *tf) { return do_renameat(a[0], a[1], a[2], a[3]); }

long sys_getcwd(u32 *a, struct tf *tf)
{
    struct files *fs = current()->files;
    u32 n = strlen(fs->cwdpath) + 1;
    if (a[1] < n) return -ERANGE;
    if (copyout(current()->mm, a[0], fs->cwdpath, n)) return -EFAULT;
    return n;
}

long sys_chdir(u32 *a, struct tf *tf) { return do_chdir(a[0]); }

long sys_fchdir(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if (f->type != F_INODE || !S_ISDIR(f->ip->mode)) return -ENOTDIR;
    char canon[PATH_MAX];
    FS_LOCK();
    int r = v_path(f->ip, canon, sizeof canon);
    FS_UNLOCK();
    if (r < 0) return r;
    struct files *fs = current()->files;
    struct inode *old = fs->cwd;
    fs->cwd = idup(f->ip);
    strcpy(fs->cwdpath, canon);
    iput(old);
    return 0;
}

/* the file exists (everyone may do everything) */
static long do_faccessat(int dirfd, u32 upath)
{
    char path[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *ip = start ? walk(start, path, 0, NULL, &err) : NULL;
    FS_UNLOCK();
    return ip ? 0 : err;
}

long sys_access(u32 *a, struct tf *tf) { return do_faccessat(AT_FDCWD, a[0]); }
/* faccessat and faccessat2 */
long sys_faccessat(u32 *a, struct tf *tf) { return do_faccessat(a[0], a[1]); }

/* o32 passes the 64-bit length in a[2], a[3] (after a pad word); the high word is ignored */
long sys_ftruncate64(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if (f->type != F_INODE || !S_ISREG(f->ip->mode)) return -EINVAL;
    FS_LOCK();
    int r = v_truncate(f->ip, a[2]);
    FS_UNLOCK();
    return r;
}

long sys_truncate64(u32 *a, struct tf *tf)
{
    char path[PATH_MAX];
    int err = getpath(a[0], path);
    if (err) return err;
    struct inode *ip = namei(path, &err);
    if (!ip) return err;
    FS_LOCK();
    int r = S_ISREG(ip->mode) ? v_truncate(ip, a[2]) : -EISDIR;
    FS_UNLOCK();
    iput(ip);
    return r;
}

long sys_umask(u32 *a, struct tf *tf) { return 022; }

/* ------------------------------------------------------------ links */
static long do_readlinkat(int dirfd, u32 upath, u32 ubuf, int cap)
{
    char path[PATH_MAX], target[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    if (cap <= 0) return -EINVAL;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *ip = start ? walk(start, path, WALK_NOFOLLOW, NULL, &err) : NULL;
    int n = ip ? v_readlink(ip, target, sizeof target) : err;
    FS_UNLOCK();
    if (n < 0) return n;
    n = MIN(n, cap);
    return copyout(current()->mm, ubuf, target, n) ? -EFAULT : n;
}

static long do_symlinkat(u32 utarget, int dirfd, u32 upath)
{
    char target[PATH_MAX], path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(utarget, target);
    if (!err) err = getpath(upath, path);
    if (err) return err;
    if (!target[0] || !path[0]) return -ENOENT;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *dp = start ? walk(start, path, WALK_PARENT, last, &err) : NULL;
    if (dp && v_lookup(dp, last, &err)) err = -EEXIST;
    else if (dp) err = v_symlink(dp, last, target);
    FS_UNLOCK();
    return err == -EINVAL ? -EEXIST : err;
}

static long do_linkat(int od, u32 uold, int nd, u32 unew, int flags)
{
    char op[PATH_MAX], np[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(uold, op);
    if (!err) err = getpath(unew, np);
    if (err) return err;
    FS_LOCK();
    struct inode *s1 = cwd_of(od, &err);
    int wf = (flags & AT_SYMLINK_FOLLOW) ? 0 : WALK_NOFOLLOW;
    struct inode *ip = s1 ? walk(s1, op, wf, NULL, &err) : NULL;
    struct inode *s2 = ip ? cwd_of(nd, &err) : NULL;
    struct inode *dp = s2 ? walk(s2, np, WALK_PARENT, last, &err) : NULL;
    if (dp && v_lookup(dp, last, &err)) err = -EEXIST;
    else if (dp) err = v_link(dp, last, ip);
    FS_UNLOCK();
    return err == -EINVAL && ip ? -EEXIST : err;
}

long sys_readlink(u32 *a, struct tf *tf) { return do_readlinkat(AT_FDCWD, a[0], a[1], a[2]); }
long sys_readlinkat(u32 *a, struct tf *tf) { return do_readlinkat(a[0], a[1], a[2], a[3]); }
long sys_symlink(u32 *a, struct tf *tf) { return do_symlinkat(a[0], AT_FDCWD, a[1]); }
long sys_symlinkat(u32 *a, struct tf *tf) { return do_symlinkat(a[0], a[1], a[2]); }
long sys_link(u32 *a, struct tf *tf) { return do_linkat(AT_FDCWD, a[0], AT_FDCWD, a[1], 0); }
long sys_linkat(u32 *a, struct tf *tf) { return do_linkat(a[0], a[1], a[2], a[3], a[4]); }

/* ------------------------------------------------------------ statfs */
/* struct statfs64 of MIPS (f_files and f_ffree before f_bavail) */
static long put_statfs(struct inode *ip, u32 sz, u32 ubuf)
{
    u32 blocks, bfree, files, ffree, type;
    if (ip && ip->flash) {
        FS_LOCK();
        flash_statfs(&blocks, &bfree, &files, &ffree);
        FS_UNLOCK();
        type = 0x53464C46;           /* flashfs's magic */
    } else {                         /* ramfs: memory is its space */
        blocks = ram_bytes / PAGE_SIZE;
        bfree = pages_free();
        files = blocks;
        ffree = bfree;
        type = ip && ip->proc ? 0x9FA0 : 0x858458F6;     /* PROC_SUPER_MAGIC, RAMFS_MAGIC */
    }
    u8 b[96];
    memset(b, 0, sizeof b);
    put32(b, 0, type);
    put32(b, 4, 4096);
    put32(b, 8, 4096);
    put64(b, 16, blocks);
    put64(b, 24, bfree);
    put64(b, 32, files);
    put64(b, 40, ffree);
    put64(b, 48, bfree);
    put32(b, 64, NAME_MAX);
    if (sz < 88) return -EINVAL;
    return copyout(current()->mm, ubuf, b, MIN(sz, sizeof b)) ? -EFAULT : 0;
}

long sys_statfs64(u32 *a, struct tf *tf)
{
    char path[PATH_MAX];
    int err = getpath(a[0], path);
    if (err) return err;
    struct inode *ip = namei(path, &err);
    if (!ip) return err;
    long r = put_statfs(ip, a[1], a[2]);
    iput(ip);
    return r;
}

long sys_fstatfs64(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    return put_statfs(f->type == F_INODE ? f->ip : NULL, a[1], a[2]);
}
