/*
 * fsdrv -- host test driver for the flashfs C library.
 *
 *   fsdrv IMAGE NBUFS  < commands
 *
 * Mounts the image file (a file-backed fs_dev) with a cache of NBUFS
 * buffers and executes one command per stdin line, answering one line each:
 * "ok ..." or "err N" (N = the negative errno).  Paths are guest paths
 * without spaces; binary data is hex.  See tests/test_fs_c.py.
 *
 *   create PATH MODE        mkdir PATH MODE          symlink PATH TARGET
 *   write PATH OFF HEX      fill PATH OFF LEN SEED   read PATH OFF LEN
 *   cat PATH                readi INO OFF LEN        truncate PATH SIZE
 *   unlink PATH             createi DIRINO NAME      linki INO PATH
 *   rmdir PATH              rename OLD NEW           link OLD NEW
 *   stat PATH               ls PATH                  lookup DIR NAME
 *   readlink PATH           settimes PATH A M        chmod PATH MODE
 *   chown PATH U G          open PATH                close INO
 *   statfs                  sync                     unmount / mount
 *   time T                  iostats                  quit
 *
 * (MODE in octal, numbers otherwise decimal.)  `open` marks an inode open
 * (the is_open callback says so) and `close` drops the mark and calls
 * fs_release, as a kernel would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flashfs.h"

static int img_fd;
static unsigned long nreads, nwrites;
static uint32_t cur_time = 1000;
static uint32_t open_inos[256];
static int nopen;

static int dev_read(void *ctx, uint32_t b, void *buf)
{
    (void)ctx;
    nreads++;
    return pread(img_fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

static int dev_write(void *ctx, uint32_t b, const void *buf)
{
    (void)ctx;
    nwrites++;
    return pwrite(img_fd, buf, FS_BLOCK_SIZE, (off_t)b * FS_BLOCK_SIZE) == FS_BLOCK_SIZE ? 0 : -1;
}

static int dev_is_open(void *ctx, uint32_t ino)
{
    (void)ctx;
    for (int i = 0; i < nopen; i++)
        if (open_inos[i] == ino)
            return 1;
    return 0;
}

static uint32_t dev_now(void *ctx)
{
    (void)ctx;
    return cur_time;
}

static struct fs fs;
static void *cache;
static size_t cache_bytes;
static struct fs_dev dev = { NULL, dev_read, dev_write, dev_is_open, dev_now };

/* split "/a/b/c" into parent inode of "c" and "c" */
static int parent_of(char *path, uint32_t *dir, char **leaf)
{
    char *slash = strrchr(path, '/');
    int err;
    if (!slash) {
        *dir = FS_ROOT_INO;
        *leaf = path;
        return 0;
    }
    *slash = 0;
    err = fs_namei(&fs, path, dir);
    *slash = '/';
    *leaf = slash + 1;
    return err;
}

static void put_hex(const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        putchar(hx[p[i] >> 4]);
        putchar(hx[p[i] & 15]);
    }
}

static size_t from_hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (s[0] && s[1]) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static uint8_t pattern(uint64_t pos, uint32_t seed)
{
    return (uint8_t)(seed + pos * 7u + (pos >> 12) * 13u);
}

#define RESULT(e) if ((e) < 0) { printf("err %d\n", (int)(e)); goto next; }

int main(int argc, char **argv)
{
    static char line[1 << 20];
    static uint8_t data[1 << 19];
    if (argc != 3) {
        fprintf(stderr, "usage: fsdrv IMAGE NBUFS\n");
        return 2;
    }
    img_fd = open(argv[1], O_RDWR);
    if (img_fd < 0) {
        perror(argv[1]);
        return 2;
    }
    cache_bytes = FS_CACHE_BYTES(atoi(argv[2]));
    if (posix_memalign(&cache, 4096, cache_bytes))
        return 2;
    {
        int err = fs_mount(&fs, &dev, cache, cache_bytes);
        printf(err ? "err %d\n" : "ok mounted\n", err);
        fflush(stdout);
    }
    while (fgets(line, sizeof line, stdin)) {
        char *argv2[8] = {0};
        int n = 0;
        char *tok = strtok(line, " \t\r\n");
        while (tok && n < 8) {
            argv2[n++] = tok;
            tok = strtok(NULL, " \t\r\n");
        }
        if (!n)
            continue;
        char *cmd = argv2[0], *a1 = argv2[1], *a2 = argv2[2], *a3 = argv2[3], *a4 = argv2[4];
        uint32_t dir, ino;
        char *leaf;
        int err;
        if (!strcmp(cmd, "quit")) {
            break;
        } else if (!strcmp(cmd, "create") || !strcmp(cmd, "mkdir")) {
            uint32_t mode = (uint32_t)strtoul(a2, NULL, 8);
            RESULT(err = parent_of(a1, &dir, &leaf));
            err = cmd[0] == 'c' ? fs_create(&fs, dir, leaf, mode, &ino) : fs_mkdir(&fs, dir, leaf, mode, &ino);
            RESULT(err);
            printf("ok %u\n", ino);
        } else if (!strcmp(cmd, "symlink")) {
            RESULT(err = parent_of(a1, &dir, &leaf));
            RESULT(err = fs_symlink(&fs, dir, leaf, a2, &ino));
            printf("ok %u\n", ino);
        } else if (!strcmp(cmd, "write")) {
            size_t len = a3 ? from_hex(a3, data) : 0;
            int32_t r;
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(r = fs_write(&fs, ino, strtoull(a2, NULL, 10), data, (uint32_t)len));
            printf("ok %d\n", r);
        } else if (!strcmp(cmd, "fill")) {
            uint64_t off = strtoull(a2, NULL, 10), len = strtoull(a3, NULL, 10), done = 0;
            uint32_t seed = (uint32_t)strtoul(a4, NULL, 10);
            int32_t r = 0;
            RESULT(err = fs_namei(&fs, a1, &ino));
            while (done < len) {
                uint32_t chunk = len - done > sizeof data ? sizeof data : (uint32_t)(len - done);
                for (uint32_t i = 0; i < chunk; i++)
                    data[i] = pattern(off + done + i, seed);
                r = fs_write(&fs, ino, off + done, data, chunk);
                if (r <= 0)
                    break;
                done += (uint64_t)r;
                if ((uint32_t)r < chunk)
                    break;
            }
            if (!done && r < 0) {
                printf("err %d\n", r);
                goto next;
            }
            printf("ok %llu\n", (unsigned long long)done);
        } else if (!strcmp(cmd, "read") || !strcmp(cmd, "cat")) {
            uint64_t off = 0, len;
            struct fs_stat st;
            int32_t r;
            RESULT(err = fs_namei(&fs, a1, &ino));
            if (cmd[0] == 'r') {
                off = strtoull(a2, NULL, 10);
                len = strtoull(a3, NULL, 10);
            } else {
                RESULT(err = fs_stat(&fs, ino, &st));
                len = st.size;
            }
            if (len > sizeof data)
                len = sizeof data;
            RESULT(r = fs_read(&fs, ino, off, data, (uint32_t)len));
            printf("ok ");
            put_hex(data, (size_t)r);
            printf("\n");
        } else if (!strcmp(cmd, "createi")) {
            RESULT(err = fs_create(&fs, (uint32_t)strtoul(a1, NULL, 10), a2, 0644, &ino));
            printf("ok %u\n", ino);
        } else if (!strcmp(cmd, "linki")) {
            RESULT(err = parent_of(a2, &dir, &leaf));
            RESULT(err = fs_link(&fs, (uint32_t)strtoul(a1, NULL, 10), dir, leaf));
            printf("ok\n");
        } else if (!strcmp(cmd, "readi")) {
            uint64_t len = strtoull(a3, NULL, 10);
            int32_t r;
            if (len > sizeof data)
                len = sizeof data;
            RESULT(r = fs_read(&fs, (uint32_t)strtoul(a1, NULL, 10), strtoull(a2, NULL, 10), data, (uint32_t)len));
            printf("ok ");
            put_hex(data, (size_t)r);
            printf("\n");
        } else if (!strcmp(cmd, "truncate")) {
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(err = fs_truncate(&fs, ino, strtoull(a2, NULL, 10)));
            printf("ok\n");
        } else if (!strcmp(cmd, "unlink") || !strcmp(cmd, "rmdir")) {
            RESULT(err = parent_of(a1, &dir, &leaf));
            RESULT(err = cmd[0] == 'u' ? fs_unlink(&fs, dir, leaf) : fs_rmdir(&fs, dir, leaf));
            printf("ok\n");
        } else if (!strcmp(cmd, "rename") || !strcmp(cmd, "link")) {
            uint32_t dir2;
            char *leaf2;
            RESULT(err = parent_of(a1, &dir, &leaf));
            RESULT(err = parent_of(a2, &dir2, &leaf2));
            if (cmd[0] == 'r') {
                RESULT(err = fs_rename(&fs, dir, leaf, dir2, leaf2));
            } else {
                RESULT(err = fs_lookup(&fs, dir, leaf, &ino));
                RESULT(err = fs_link(&fs, ino, dir2, leaf2));
            }
            printf("ok\n");
        } else if (!strcmp(cmd, "stat")) {
            struct fs_stat st;
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(err = fs_stat(&fs, ino, &st));
            printf("ok %u %o %u %llu %u %u %u %u %u %u\n", st.ino, st.mode, st.nlink,
                   (unsigned long long)st.size, st.blocks, st.uid, st.gid, st.atime, st.mtime, st.ctime);
        } else if (!strcmp(cmd, "ls")) {
            struct fs_dirent de;
            uint64_t cookie = 0;
            RESULT(err = fs_namei(&fs, a1, &ino));
            printf("ok");
            while ((err = fs_readdir(&fs, ino, &cookie, &de)) > 0)
                printf(" %s:%u:%u", de.name, de.ino, de.type);
            if (err < 0)
                printf(" ERROR:%d", err);
            printf("\n");
        } else if (!strcmp(cmd, "lookup")) {
            RESULT(err = fs_namei(&fs, a1, &dir));
            RESULT(err = fs_lookup(&fs, dir, a2 ? a2 : "", &ino));
            printf("ok %u\n", ino);
        } else if (!strcmp(cmd, "readlink")) {
            int32_t r;
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(r = fs_readlink(&fs, ino, (char *)data, sizeof data));
            printf("ok %.*s\n", (int)r, (char *)data);
        } else if (!strcmp(cmd, "settimes")) {
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(err = fs_set_times(&fs, ino, (uint32_t)strtoul(a2, NULL, 10), (uint32_t)strtoul(a3, NULL, 10)));
            printf("ok\n");
        } else if (!strcmp(cmd, "chmod")) {
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(err = fs_chmod(&fs, ino, (uint32_t)strtoul(a2, NULL, 8)));
            printf("ok\n");
        } else if (!strcmp(cmd, "chown")) {
            RESULT(err = fs_namei(&fs, a1, &ino));
            RESULT(err = fs_chown(&fs, ino, (uint32_t)strtoul(a2, NULL, 10), (uint32_t)strtoul(a3, NULL, 10)));
            printf("ok\n");
        } else if (!strcmp(cmd, "open")) {
            RESULT(err = fs_namei(&fs, a1, &ino));
            open_inos[nopen++] = ino;
            printf("ok %u\n", ino);
        } else if (!strcmp(cmd, "close")) {
            ino = (uint32_t)strtoul(a1, NULL, 10);
            for (int i = 0; i < nopen; i++)
                if (open_inos[i] == ino) {
                    open_inos[i] = open_inos[--nopen];
                    break;
                }
            RESULT(err = fs_release(&fs, ino));
            printf("ok\n");
        } else if (!strcmp(cmd, "statfs")) {
            uint32_t tb, fb, ti, fi;
            fs_statfs(&fs, &tb, &fb, &ti, &fi);
            printf("ok %u %u %u %u\n", tb, fb, ti, fi);
        } else if (!strcmp(cmd, "sync")) {
            RESULT(err = fs_sync(&fs));
            printf("ok\n");
        } else if (!strcmp(cmd, "unmount")) {
            RESULT(err = fs_unmount(&fs));
            printf("ok\n");
        } else if (!strcmp(cmd, "mount")) {
            nopen = 0;
            RESULT(err = fs_mount(&fs, &dev, cache, cache_bytes));
            printf("ok\n");
        } else if (!strcmp(cmd, "time")) {
            cur_time = (uint32_t)strtoul(a1, NULL, 10);
            printf("ok\n");
        } else if (!strcmp(cmd, "iostats")) {
            printf("ok %lu %lu\n", nreads, nwrites);
        } else {
            printf("err unknown-command\n");
        }
next:
        fflush(stdout);
    }
    return 0;
}
