/*
 * initrd.c -- the files the host packs into RAM before boot (flashvm/guestos/image.py
 * make_initrd).
 *
 * Blob: "FVRD", u32 count, then per entry: u32 mode, u32 size, u32 namelen,
 * name (padded to 4), data (padded to 4).  Directories are created on the
 * way; a mode with S_IFDIR makes an (empty) directory.  A ramfs file keeps
 * pointing into the blob until it is first modified; on a flashfs root the
 * data is written to disk.
 */
#include "fs.h"

void initrd_load(void)
{
    if (!bootinfo->initrd_pa || !bootinfo->initrd_size) return;
    const u8 *b = PA2KV(bootinfo->initrd_pa);
    const u32 *w = (const u32 *)b;
    if (w[0] != 0x44525646) { kprintf("initrd: bad magic %x\n", w[0]); return; }
    u32 count = w[1];
    u32 off = 8;
    for (u32 i = 0; i < count; i++) {
        const u32 *h = (const u32 *)(b + off);
        u32 mode = h[0], size = h[1], nlen = h[2];
        char name[PATH_MAX];
        u32 k = MIN(nlen, PATH_MAX - 1);
        memcpy(name, b + off + 12, k);
        name[k] = 0;
        off += 12 + ((nlen + 3) & ~3);
        struct inode *ip = mkpath(name, mode);
        if (S_ISREG(mode) || S_ISLNK(mode)) {     /* a link's data is its target */
            if (ip->flash) {
                v_truncate(ip, 0);
                v_write(ip, b + off, 0, size);
            } else {
                ip->blob = b + off;
                ip->size = size;
            }
        }
        off += (size + 3) & ~3;
    }
}
