/*
 * flashfs.c -- the flashfs file system library (see flashfs.h, docs/fs.md).
 *
 * Freestanding: no libc, no malloc, no 64-bit division (sizes are split into
 * blocks with shifts and masks only, so no compiler_rt helper is needed).
 * All multi-byte on-disk fields are little-endian and are (de)coded byte by
 * byte, so the code works on any host and never makes unaligned accesses.
 */
#include "flashfs.h"

/* ------------------------------------------------------------ constants */

#define BSHIFT          12u
#define BMASK           (FS_BLOCK_SIZE - 1u)
#define INODE_SIZE      128u
#define INODES_PER_BLK  (FS_BLOCK_SIZE / INODE_SIZE)   /* 32 */
#define IPB_SHIFT       5u
#define PTRS_PER_BLK    (FS_BLOCK_SIZE / 4u)           /* 1024 */
#define PTR_SHIFT       10u
#define BITS_PER_BLK    (FS_BLOCK_SIZE * 8u)
#define NIND_START      FS_NDIRECT                      /* 12 */
#define NDIND_START     (FS_NDIRECT + PTRS_PER_BLK)     /* 1036 */
#define MAX_FILE_BLOCKS (NDIND_START + PTRS_PER_BLK * PTRS_PER_BLK)
#define DIRENT_HDR      8u
#define DIRENT_SIZE(n)  ((DIRENT_HDR + (uint32_t)(n) + 3u) & ~3u)
#define NLINK_MAX       65535u

/* superblock field offsets (block 0) */
#define SB_MAGIC         0
#define SB_VERSION       4
#define SB_BLOCK_SIZE    8
#define SB_TOTAL_BLOCKS  12
#define SB_NINODES       16
#define SB_BBITMAP_START 20
#define SB_BBITMAP_BLKS  24
#define SB_IBITMAP_START 28
#define SB_IBITMAP_BLKS  32
#define SB_ITABLE_START  36
#define SB_ITABLE_BLKS   40
#define SB_DATA_START    44
#define SB_FREE_BLOCKS   48
#define SB_FREE_INODES   52
#define SB_ROOT_INO      56
#define SB_ORPHAN_HEAD   60
#define SB_MKFS_TIME     64
#define SB_WRITE_TIME    68
#define SB_STATE         72
#define SB_INODE_SIZE    76

/* ------------------------------------------------------ tiny libc bits */

typedef uint32_t __attribute__((may_alias)) fs_word;

/* Word-at-a-time when both pointers are 4-byte aligned (the common case:
 * whole or partial blocks of cache buffers), bytes otherwise. */
static void fs_memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if ((((uintptr_t)dp | (uintptr_t)sp) & 3u) == 0) {
        for (; n >= 16; n -= 16, dp += 16, sp += 16) {
            fs_word a = ((const fs_word *)sp)[0], b = ((const fs_word *)sp)[1];
            fs_word c = ((const fs_word *)sp)[2], e = ((const fs_word *)sp)[3];
            ((fs_word *)dp)[0] = a;
            ((fs_word *)dp)[1] = b;
            ((fs_word *)dp)[2] = c;
            ((fs_word *)dp)[3] = e;
        }
        for (; n >= 4; n -= 4, dp += 4, sp += 4)
            *(fs_word *)dp = *(const fs_word *)sp;
    }
    while (n--)
        *dp++ = *sp++;
}

static void fs_memset(void *d, int c, size_t n)
{
    uint8_t *dp = d;
    for (; n && ((uintptr_t)dp & 3u); n--)
        *dp++ = (uint8_t)c;
    if (n >= 4) {
        fs_word w = (uint8_t)c * 0x01010101u;
        for (; n >= 4; n -= 4, dp += 4)
            *(fs_word *)dp = w;
    }
    while (n--)
        *dp++ = (uint8_t)c;
}

static int fs_memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32); }
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint32_t now(struct fs *fs) { return fs->dev.now ? fs->dev.now(fs->dev.ctx) : 0; }

/* --------------------------------------------------------- buffer cache */

static void lru_unlink(struct fs *fs, int32_t i)
{
    struct fs_buf *b = &fs->bufs[i];
    if (b->prev >= 0) fs->bufs[b->prev].next = b->next; else fs->lru_head = b->next;
    if (b->next >= 0) fs->bufs[b->next].prev = b->prev; else fs->lru_tail = b->prev;
    b->prev = b->next = -1;
}

static void lru_push_front(struct fs *fs, int32_t i)
{
    struct fs_buf *b = &fs->bufs[i];
    b->prev = -1;
    b->next = fs->lru_head;
    if (fs->lru_head >= 0) fs->bufs[fs->lru_head].prev = i; else fs->lru_tail = i;
    fs->lru_head = i;
}

static void hash_remove(struct fs *fs, int32_t i)
{
    uint32_t h = fs->bufs[i].blockno % fs->nbufs;
    int32_t *pp = &fs->hash[h];
    while (*pp >= 0) {
        if (*pp == i) { *pp = fs->bufs[i].hnext; break; }
        pp = &fs->bufs[*pp].hnext;
    }
    fs->bufs[i].hnext = -1;
}

static int32_t hash_find(struct fs *fs, uint32_t blockno)
{
    int32_t i = fs->hash[blockno % fs->nbufs];
    while (i >= 0 && fs->bufs[i].blockno != blockno)
        i = fs->bufs[i].hnext;
    return i;
}

/* Get block `blockno` pinned in the cache.  With `zero` the block is not read
 * but its contents are set to zeros (and marked dirty): for freshly allocated
 * blocks. */
static int bget(struct fs *fs, uint32_t blockno, bool zero, struct fs_buf **out)
{
    int32_t i;
    struct fs_buf *b;

    if (blockno >= fs->total_blocks)
        return FS_EUCLEAN;
    i = hash_find(fs, blockno);
    if (i < 0) {
        /* evict the least recently used unpinned buffer */
        for (i = fs->lru_tail; i >= 0 && fs->bufs[i].refcnt; i = fs->bufs[i].prev)
            ;
        if (i < 0)
            return FS_EIO;          /* all buffers pinned: cache far too small */
        b = &fs->bufs[i];
        if (b->valid && b->dirty) {
            if (fs->dev.write(fs->dev.ctx, b->blockno, b->data))
                return FS_EIO;
            b->dirty = 0;
        }
        if (b->valid)
            hash_remove(fs, i);
        b->valid = 0;
        b->blockno = blockno;
        if (zero) {
            fs_memset(b->data, 0, FS_BLOCK_SIZE);
        } else if (fs->dev.read(fs->dev.ctx, blockno, b->data)) {
            return FS_EIO;          /* stays invalid, not hashed */
        }
        b->valid = 1;
        b->hnext = fs->hash[blockno % fs->nbufs];
        fs->hash[blockno % fs->nbufs] = i;
    }
    b = &fs->bufs[i];
    if (zero) {
        fs_memset(b->data, 0, FS_BLOCK_SIZE);
        b->dirty = 1;
    }
    b->refcnt++;
    lru_unlink(fs, i);
    lru_push_front(fs, i);
    *out = b;
    return 0;
}

static void brelse(struct fs_buf *b) { b->refcnt--; }
static void bdirty(struct fs_buf *b) { b->dirty = 1; }

/* A freed block's cached contents need never be written back. */
static void bforget(struct fs *fs, uint32_t blockno)
{
    int32_t i = hash_find(fs, blockno);
    if (i >= 0 && !fs->bufs[i].refcnt)
        fs->bufs[i].dirty = 0;
}

static int bflush_all(struct fs *fs)
{
    uint32_t i;
    int err = 0;
    for (i = 0; i < fs->nbufs; i++) {
        struct fs_buf *b = &fs->bufs[i];
        if (b->valid && b->dirty) {
            if (fs->dev.write(fs->dev.ctx, b->blockno, b->data))
                err = FS_EIO;
            else
                b->dirty = 0;
        }
    }
    return err;
}

/* ---------------------------------------------------------- superblock */

static int sb_write(struct fs *fs, uint32_t state)
{
    struct fs_buf *b;
    int err = bget(fs, 0, false, &b);
    if (err)
        return err;
    put32(b->data + SB_FREE_BLOCKS, fs->free_blocks);
    put32(b->data + SB_FREE_INODES, fs->free_inodes);
    put32(b->data + SB_ORPHAN_HEAD, fs->orphan_head);
    put32(b->data + SB_WRITE_TIME, now(fs));
    put32(b->data + SB_STATE, state);
    bdirty(b);
    brelse(b);
    fs->sb_dirty = false;
    return 0;
}

int fs_sync(struct fs *fs)
{
    int err = 0;
    if (fs->sb_dirty)
        err = sb_write(fs, 0);
    if (!err)
        err = bflush_all(fs);
    return err;
}

int fs_unmount(struct fs *fs)
{
    int err = sb_write(fs, 1);
    if (!err)
        err = bflush_all(fs);
    if (!err)
        fs->nbufs = 0;
    return err;
}

void fs_statfs(struct fs *fs, uint32_t *total_blocks, uint32_t *free_blocks,
               uint32_t *total_inodes, uint32_t *free_inodes)
{
    if (total_blocks) *total_blocks = fs->total_blocks;
    if (free_blocks) *free_blocks = fs->free_blocks;
    if (total_inodes) *total_inodes = fs->ninodes - 1;
    if (free_inodes) *free_inodes = fs->free_inodes;
}

/* -------------------------------------------------------------- bitmaps */

/* Find a clear bit below nbits in the bitmap at `start`, set it. */
static int bitmap_alloc(struct fs *fs, uint32_t start, uint32_t nblks, uint32_t nbits,
                        uint32_t hint, uint32_t *out)
{
    uint32_t pass, bi = hint / BITS_PER_BLK, byte0 = (hint & (BITS_PER_BLK - 1)) >> 3;
    if (bi >= nblks) { bi = 0; byte0 = 0; }
    for (pass = 0; pass <= nblks; pass++) {
        struct fs_buf *b;
        uint32_t j;
        int err = bget(fs, start + bi, false, &b);
        if (err)
            return err;
        for (j = byte0; j < FS_BLOCK_SIZE; j++) {
            uint8_t v;
            if (!(j & 3u) && *(const fs_word *)(b->data + j) == 0xffffffffu) {
                j += 3;
                continue;
            }
            v = b->data[j];
            if (v != 0xff) {
                uint32_t k = 0, bit;
                while (v & (1u << k))
                    k++;
                bit = bi * BITS_PER_BLK + j * 8u + k;
                if (bit >= nbits)
                    break;
                b->data[j] |= (uint8_t)(1u << k);
                bdirty(b);
                brelse(b);
                *out = bit;
                return 0;
            }
        }
        brelse(b);
        byte0 = 0;
        if (++bi == nblks)
            bi = 0;
    }
    return FS_ENOSPC;
}

static int bitmap_clear(struct fs *fs, uint32_t start, uint32_t bit)
{
    struct fs_buf *b;
    int err = bget(fs, start + bit / BITS_PER_BLK, false, &b);
    if (err)
        return err;
    bit &= BITS_PER_BLK - 1;
    if (!(b->data[bit >> 3] & (1u << (bit & 7)))) {
        brelse(b);
        return FS_EUCLEAN;          /* double free */
    }
    b->data[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
    bdirty(b);
    brelse(b);
    return 0;
}

/* Allocate a zero-filled block. */
static int balloc(struct fs *fs, uint32_t *bno)
{
    struct fs_buf *b;
    int err;
    if (!fs->free_blocks)
        return FS_ENOSPC;
    err = bitmap_alloc(fs, fs->bbitmap_start, fs->bbitmap_blocks, fs->total_blocks,
                       fs->balloc_hint, bno);
    if (err)
        return err;
    if (*bno < fs->data_start)
        return FS_EUCLEAN;
    fs->free_blocks--;
    fs->sb_dirty = true;
    fs->balloc_hint = *bno + 1;
    err = bget(fs, *bno, true, &b);
    if (err)
        return err;
    brelse(b);
    return 0;
}

static int bfree(struct fs *fs, uint32_t bno)
{
    int err;
    if (bno < fs->data_start || bno >= fs->total_blocks)
        return FS_EUCLEAN;
    err = bitmap_clear(fs, fs->bbitmap_start, bno);
    if (err)
        return err;
    bforget(fs, bno);
    fs->free_blocks++;
    fs->sb_dirty = true;
    return 0;
}

/* --------------------------------------------------------------- inodes */

struct dinode {
    uint32_t mode, nlink, uid, gid;
    uint64_t size;
    uint32_t atime, mtime, ctime, nblocks, flags;
    uint32_t direct[FS_NDIRECT], ind, dind;
    uint32_t next_orphan, rdev;
};

static int iread(struct fs *fs, uint32_t ino, struct dinode *di)
{
    struct fs_buf *b;
    const uint8_t *p;
    uint32_t i;
    int err;
    if (ino == 0 || ino >= fs->ninodes)
        return FS_EINVAL;
    err = bget(fs, fs->itable_start + (ino >> IPB_SHIFT), false, &b);
    if (err)
        return err;
    p = b->data + (ino & (INODES_PER_BLK - 1)) * INODE_SIZE;
    di->mode = get16(p + 0);
    di->nlink = get16(p + 2);
    di->uid = get32(p + 4);
    di->size = get64(p + 8);
    di->gid = get32(p + 16);
    di->atime = get32(p + 20);
    di->mtime = get32(p + 24);
    di->ctime = get32(p + 28);
    di->nblocks = get32(p + 32);
    di->flags = get32(p + 36);
    for (i = 0; i < FS_NDIRECT; i++)
        di->direct[i] = get32(p + 40 + 4 * i);
    di->ind = get32(p + 88);
    di->dind = get32(p + 92);
    di->next_orphan = get32(p + 96);
    di->rdev = get32(p + 100);
    brelse(b);
    return 0;
}

static int iwrite(struct fs *fs, uint32_t ino, const struct dinode *di)
{
    struct fs_buf *b;
    uint8_t *p;
    uint32_t i;
    int err;
    if (ino == 0 || ino >= fs->ninodes)
        return FS_EINVAL;
    err = bget(fs, fs->itable_start + (ino >> IPB_SHIFT), false, &b);
    if (err)
        return err;
    p = b->data + (ino & (INODES_PER_BLK - 1)) * INODE_SIZE;
    fs_memset(p, 0, INODE_SIZE);
    put16(p + 0, di->mode);
    put16(p + 2, di->nlink);
    put32(p + 4, di->uid);
    put64(p + 8, di->size);
    put32(p + 16, di->gid);
    put32(p + 20, di->atime);
    put32(p + 24, di->mtime);
    put32(p + 28, di->ctime);
    put32(p + 32, di->nblocks);
    put32(p + 36, di->flags);
    for (i = 0; i < FS_NDIRECT; i++)
        put32(p + 40 + 4 * i, di->direct[i]);
    put32(p + 88, di->ind);
    put32(p + 92, di->dind);
    put32(p + 96, di->next_orphan);
    put32(p + 100, di->rdev);
    bdirty(b);
    brelse(b);
    return 0;
}

/* Read an inode that must be in use. */
static int iget(struct fs *fs, uint32_t ino, struct dinode *di)
{
    int err = iread(fs, ino, di);
    if (!err && di->mode == 0)
        err = FS_ENOENT;
    return err;
}

static int ialloc(struct fs *fs, uint32_t mode, uint32_t *ino, struct dinode *di)
{
    uint32_t t;
    int err;
    if (!fs->free_inodes)
        return FS_ENOSPC;
    err = bitmap_alloc(fs, fs->ibitmap_start, fs->ibitmap_blocks, fs->ninodes,
                       fs->ialloc_hint, ino);
    if (err)
        return err;
    if (*ino == 0)
        return FS_EUCLEAN;
    fs->free_inodes--;
    fs->sb_dirty = true;
    fs->ialloc_hint = *ino + 1;
    fs_memset(di, 0, sizeof *di);
    t = now(fs);
    di->mode = mode;
    di->atime = di->mtime = di->ctime = t;
    return 0;
}

/* -------------------------------------------------------- block mapping */

/* Entry `idx` of indirect block *slot (allocating both when `alloc`). */
static int ind_lookup(struct fs *fs, struct dinode *di, uint32_t *slot, uint32_t idx,
                      bool alloc, uint32_t *out)
{
    struct fs_buf *b;
    uint32_t v;
    int err;
    *out = 0;
    if (!*slot) {
        if (!alloc)
            return 0;
        err = balloc(fs, slot);
        if (err)
            return err;
        di->nblocks++;
    }
    err = bget(fs, *slot, false, &b);
    if (err)
        return err;
    v = get32(b->data + 4 * idx);
    if (!v && alloc) {
        err = balloc(fs, &v);
        if (err) {
            brelse(b);
            return err;
        }
        di->nblocks++;
        put32(b->data + 4 * idx, v);
        bdirty(b);
    }
    brelse(b);
    *out = v;
    return 0;
}

/* Device block of file block `fbn` (0 = hole unless `alloc`).  May change
 * *di (pointers, nblocks): the caller writes the inode back. */
static int bmap(struct fs *fs, struct dinode *di, uint32_t fbn, bool alloc, uint32_t *bno)
{
    int err;
    *bno = 0;
    if (fbn < NIND_START) {
        if (!di->direct[fbn] && alloc) {
            err = balloc(fs, &di->direct[fbn]);
            if (err)
                return err;
            di->nblocks++;
        }
        *bno = di->direct[fbn];
        return 0;
    }
    if (fbn < NDIND_START)
        return ind_lookup(fs, di, &di->ind, fbn - NIND_START, alloc, bno);
    if (fbn < MAX_FILE_BLOCKS) {
        uint32_t mid;
        fbn -= NDIND_START;
        err = ind_lookup(fs, di, &di->dind, fbn >> PTR_SHIFT, alloc, &mid);
        if (err || !mid)
            return err;
        /* mid != 0, so this never allocates the level-1 block itself */
        err = ind_lookup(fs, di, &mid, fbn & (PTRS_PER_BLK - 1), alloc, bno);
        return err;
    }
    return FS_EFBIG;
}

/* Free everything under indirect block `blk` (level 1: data pointers,
 * level 2: pointers to level-1 blocks) covering relative file blocks >=
 * from.  Does not free `blk` itself. */
static int free_tree(struct fs *fs, struct dinode *di, uint32_t blk, int level, uint32_t from)
{
    struct fs_buf *b;
    uint32_t i;
    int err = bget(fs, blk, false, &b);
    if (err)
        return err;
    for (i = 0; i < PTRS_PER_BLK; i++) {
        uint32_t e = get32(b->data + 4 * i);
        if (!e)
            continue;
        if (level == 1) {
            if (i < from)
                continue;
        } else {
            uint32_t lo = i << PTR_SHIFT;
            if (lo + PTRS_PER_BLK <= from)
                continue;
            err = free_tree(fs, di, e, 1, lo >= from ? 0 : from - lo);
            if (err)
                break;
            if (lo < from)
                continue;       /* partially kept */
        }
        err = bfree(fs, e);
        if (err)
            break;
        di->nblocks--;
        put32(b->data + 4 * i, 0);
        bdirty(b);
    }
    brelse(b);
    return err;
}

/* Free all blocks of file block index >= from. */
static int trunc_blocks(struct fs *fs, struct dinode *di, uint32_t from)
{
    uint32_t i;
    int err;
    for (i = from; i < FS_NDIRECT; i++) {
        if (di->direct[i]) {
            if ((err = bfree(fs, di->direct[i])))
                return err;
            di->direct[i] = 0;
            di->nblocks--;
        }
    }
    if (di->ind) {
        uint32_t f = from > NIND_START ? from - NIND_START : 0;
        if (f < PTRS_PER_BLK) {
            if ((err = free_tree(fs, di, di->ind, 1, f)))
                return err;
            if (f == 0) {
                if ((err = bfree(fs, di->ind)))
                    return err;
                di->ind = 0;
                di->nblocks--;
            }
        }
    }
    if (di->dind) {
        uint32_t f = from > NDIND_START ? from - NDIND_START : 0;
        if ((err = free_tree(fs, di, di->dind, 2, f)))
            return err;
        if (f == 0) {
            if ((err = bfree(fs, di->dind)))
                return err;
            di->dind = 0;
            di->nblocks--;
        }
    }
    return 0;
}

/* Number of blocks needed to hold `size` bytes. */
static uint32_t size_blocks(uint64_t size)
{
    uint64_t n = (size + BMASK) >> BSHIFT;
    return n > MAX_FILE_BLOCKS ? MAX_FILE_BLOCKS : (uint32_t)n;
}

static int ifree(struct fs *fs, uint32_t ino, struct dinode *di)
{
    int err = trunc_blocks(fs, di, 0);
    if (err)
        return err;
    fs_memset(di, 0, sizeof *di);
    if ((err = iwrite(fs, ino, di)))
        return err;
    if ((err = bitmap_clear(fs, fs->ibitmap_start, ino)))
        return err;
    fs->free_inodes++;
    fs->sb_dirty = true;
    return 0;
}

/* ------------------------------------------------------------ file data */

static int32_t do_read(struct fs *fs, struct dinode *di, uint64_t off, void *buf, uint32_t len)
{
    uint8_t *dst = buf;
    uint32_t done = 0;
    if (off >= di->size)
        return 0;
    if (len > 0x40000000u)
        len = 0x40000000u;
    if ((uint64_t)len > di->size - off)
        len = (uint32_t)(di->size - off);
    while (done < len) {
        uint32_t fbn = (uint32_t)(off >> BSHIFT), boff = (uint32_t)off & BMASK;
        uint32_t n = FS_BLOCK_SIZE - boff, bno;
        int err;
        if (n > len - done)
            n = len - done;
        if ((err = bmap(fs, di, fbn, false, &bno)))
            return err;
        if (!bno) {
            fs_memset(dst + done, 0, n);
        } else {
            struct fs_buf *b;
            if ((err = bget(fs, bno, false, &b)))
                return err;
            fs_memcpy(dst + done, b->data + boff, n);
            brelse(b);
        }
        done += n;
        off += n;
    }
    return (int32_t)done;
}

/* The device block holding file offset `off` (block-aligned) of `ino`, in
 * *bno, when the disk has its current contents: 0 in *bno for a hole, a
 * block past the end, or one whose cached copy is newer (dirty). */
int fs_file_block(struct fs *fs, uint32_t ino, uint64_t off, uint32_t *bno)
{
    struct dinode di;
    int32_t i;
    int err = iget(fs, ino, &di);
    *bno = 0;
    if (err)
        return err;
    if (FS_S_ISDIR(di.mode) || (off & BMASK) || off >= di.size)
        return 0;
    if ((err = bmap(fs, &di, (uint32_t)(off >> BSHIFT), false, bno)))
        return err;
    i = *bno ? hash_find(fs, *bno) : -1;
    if (i >= 0 && fs->bufs[i].valid && fs->bufs[i].dirty)
        *bno = 0;
    return 0;
}

int32_t fs_read(struct fs *fs, uint32_t ino, uint64_t off, void *buf, uint32_t len)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    if (FS_S_ISDIR(di.mode))
        return FS_EISDIR;
    return do_read(fs, &di, off, buf, len);
}

/* Write into the file; updates di (caller writes it back). */
static int32_t do_write(struct fs *fs, struct dinode *di, uint64_t off, const void *buf, uint32_t len)
{
    const uint8_t *src = buf;
    uint32_t done = 0;
    int err = 0;
    if (off >= FS_MAX_FILE_SIZE)
        return len ? FS_EFBIG : 0;
    if (len > 0x40000000u)
        len = 0x40000000u;
    if ((uint64_t)len > FS_MAX_FILE_SIZE - off)
        len = (uint32_t)(FS_MAX_FILE_SIZE - off);
    while (done < len) {
        uint32_t fbn = (uint32_t)(off >> BSHIFT), boff = (uint32_t)off & BMASK;
        uint32_t n = FS_BLOCK_SIZE - boff, bno;
        struct fs_buf *b;
        if (n > len - done)
            n = len - done;
        if ((err = bmap(fs, di, fbn, true, &bno)))
            break;
        if ((err = bget(fs, bno, false, &b)))
            break;
        fs_memcpy(b->data + boff, src + done, n);
        bdirty(b);
        brelse(b);
        done += n;
        off += n;
    }
    if (done && off > di->size)
        di->size = off;
    if (done) {
        di->mtime = di->ctime = now(fs);
        return (int32_t)done;
    }
    return err;
}

int32_t fs_write(struct fs *fs, uint32_t ino, uint64_t off, const void *buf, uint32_t len)
{
    struct dinode di;
    int32_t r;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    if (FS_S_ISDIR(di.mode))
        return FS_EISDIR;
    r = do_write(fs, &di, off, buf, len);
    /* write back even on failure: blocks may have been allocated */
    err = iwrite(fs, ino, &di);
    return err ? err : r;
}

static int do_truncate(struct fs *fs, struct dinode *di, uint64_t size)
{
    int err;
    if (size > FS_MAX_FILE_SIZE)
        return FS_EFBIG;
    if (size < di->size && (size & BMASK)) {
        /* zero the tail of the new last block so a later extension reads zeros */
        uint32_t bno;
        if ((err = bmap(fs, di, (uint32_t)(size >> BSHIFT), false, &bno)))
            return err;
        if (bno) {
            struct fs_buf *b;
            uint32_t boff = (uint32_t)size & BMASK;
            if ((err = bget(fs, bno, false, &b)))
                return err;
            fs_memset(b->data + boff, 0, FS_BLOCK_SIZE - boff);
            bdirty(b);
            brelse(b);
        }
    }
    if ((err = trunc_blocks(fs, di, size_blocks(size))))
        return err;
    di->size = size;
    di->mtime = di->ctime = now(fs);
    return 0;
}

int fs_truncate(struct fs *fs, uint32_t ino, uint64_t size)
{
    struct dinode di;
    int err = iget(fs, ino, &di), err2;
    if (err)
        return err;
    if (FS_S_ISDIR(di.mode))
        return FS_EISDIR;
    err = do_truncate(fs, &di, size);
    err2 = iwrite(fs, ino, &di);
    return err ? err : err2;
}

/* ----------------------------------------------------------- attributes */

int fs_stat(struct fs *fs, uint32_t ino, struct fs_stat *st)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    st->ino = ino;
    st->mode = di.mode;
    st->nlink = di.nlink;
    st->uid = di.uid;
    st->gid = di.gid;
    st->size = di.size;
    st->blocks = di.nblocks * (FS_BLOCK_SIZE / 512u);
    st->atime = di.atime;
    st->mtime = di.mtime;
    st->ctime = di.ctime;
    st->blksize = FS_BLOCK_SIZE;
    st->rdev = di.rdev;
    return 0;
}

int fs_set_times(struct fs *fs, uint32_t ino, uint32_t atime, uint32_t mtime)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    di.atime = atime;
    di.mtime = mtime;
    di.ctime = now(fs);
    return iwrite(fs, ino, &di);
}

int fs_chmod(struct fs *fs, uint32_t ino, uint32_t mode)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    di.mode = (di.mode & FS_S_IFMT) | (mode & 07777u);
    di.ctime = now(fs);
    return iwrite(fs, ino, &di);
}

int fs_chown(struct fs *fs, uint32_t ino, uint32_t uid, uint32_t gid)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    di.uid = uid;
    di.gid = gid;
    di.ctime = now(fs);
    return iwrite(fs, ino, &di);
}

/* ---------------------------------------------------------- directories */

static uint8_t mode_to_dt(uint32_t mode)
{
    switch (mode & FS_S_IFMT) {
    case FS_S_IFREG: return FS_DT_REG;
    case FS_S_IFDIR: return FS_DT_DIR;
    case FS_S_IFLNK: return FS_DT_LNK;
    case FS_S_IFCHR: return FS_DT_CHR;
    case FS_S_IFBLK: return FS_DT_BLK;
    case FS_S_IFIFO: return FS_DT_FIFO;
    case FS_S_IFSOCK: return FS_DT_SOCK;
    default: return FS_DT_UNKNOWN;
    }
}

/* Check a name component; returns its length or a negative error. */
static int check_name(const char *name)
{
    uint32_t n = 0;
    if (!name)
        return FS_EINVAL;
    while (name[n]) {
        if (name[n] == '/')
            return FS_EINVAL;
        if (++n > FS_NAME_MAX)
            return FS_ENAMETOOLONG;
    }
    return n ? (int)n : FS_EINVAL;
}

static bool is_dot_or_dotdot(const char *name, uint32_t n)
{
    return name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.'));
}

/* Validate the record at `off` in a directory block. */
static bool rec_ok(const uint8_t *blk, uint32_t off)
{
    uint32_t rl, nl;
    if (off + DIRENT_HDR > FS_BLOCK_SIZE)
        return false;
    rl = get16(blk + off + 4);
    nl = blk[off + 6];
    if (rl < DIRENT_HDR || (rl & 3) || off + rl > FS_BLOCK_SIZE)
        return false;
    if (get32(blk + off) && (nl == 0 || DIRENT_SIZE(nl) > rl))
        return false;
    return true;
}

struct dloc {
    uint32_t bno;       /* device block holding the entry */
    uint32_t off;       /* its offset in the block */
    int32_t prev;       /* offset of the previous record in the block, or -1 */
};

/* Directory block `fbn` of a directory (must not be a hole). */
static int dir_block(struct fs *fs, struct dinode *di, uint32_t fbn, uint32_t *bno)
{
    int err = bmap(fs, di, fbn, false, bno);
    if (!err && !*bno)
        err = FS_EUCLEAN;
    return err;
}

static int dir_find(struct fs *fs, uint32_t dir, const char *name, uint32_t nlen,
                    uint32_t *ino, struct dloc *loc)
{
    struct dinode di;
    uint32_t fbn, nb;
    int err = iget(fs, dir, &di);
    if (err)
        return err;
    if (!FS_S_ISDIR(di.mode))
        return FS_ENOTDIR;
    nb = size_blocks(di.size);
    for (fbn = 0; fbn < nb; fbn++) {
        struct fs_buf *b;
        uint32_t bno, off = 0;
        int32_t prev = -1;
        if ((err = dir_block(fs, &di, fbn, &bno)) || (err = bget(fs, bno, false, &b)))
            return err;
        while (off < FS_BLOCK_SIZE) {
            const uint8_t *r = b->data + off;
            if (!rec_ok(b->data, off)) {
                brelse(b);
                return FS_EUCLEAN;
            }
            if (get32(r) && r[6] == nlen && !fs_memcmp(r + DIRENT_HDR, name, nlen)) {
                *ino = get32(r);
                if (loc) {
                    loc->bno = bno;
                    loc->off = off;
                    loc->prev = prev;
                }
                brelse(b);
                return 0;
            }
            prev = (int32_t)off;
            off += get16(r + 4);
        }
        brelse(b);
    }
    return FS_ENOENT;
}

/* Add entry name -> ino to directory `dir` (the name must not exist). */
static int dir_add(struct fs *fs, uint32_t dir, const char *name, uint32_t nlen,
                   uint32_t ino, uint8_t type)
{
    struct dinode di;
    uint32_t need = DIRENT_SIZE(nlen), fbn, nb, bno = 0, off = 0, rl = 0;
    struct fs_buf *b = NULL;
    uint8_t *r;
    int err = iget(fs, dir, &di);
    if (err)
        return err;
    if (!FS_S_ISDIR(di.mode))
        return FS_ENOTDIR;
    if (di.nlink == 0)
        return FS_ENOENT;           /* removed directory (still open somewhere) */
    nb = size_blocks(di.size);
    for (fbn = 0; fbn < nb && !b; fbn++) {
        if ((err = dir_block(fs, &di, fbn, &bno)) || (err = bget(fs, bno, false, &b)))
            return err;
        for (off = 0; off < FS_BLOCK_SIZE; off += rl) {
            uint32_t used;
            if (!rec_ok(b->data, off)) {
                brelse(b);
                return FS_EUCLEAN;
            }
            r = b->data + off;
            rl = get16(r + 4);
            used = get32(r) ? DIRENT_SIZE(r[6]) : 0;
            if (rl - used >= need) {
                if (used) {             /* split: shrink r, new record after it */
                    put16(r + 4, used);
                    off += used;
                    rl -= used;
                }
                goto found;
            }
        }
        brelse(b);
        b = NULL;
    }
    /* no room: append a block */
    if (nb >= MAX_FILE_BLOCKS)
        return FS_EFBIG;
    if ((err = bmap(fs, &di, nb, true, &bno)))
        goto out_inode;
    if ((err = bget(fs, bno, false, &b)))
        goto out_inode;
    di.size = (uint64_t)(nb + 1) << BSHIFT;
    off = 0;
    rl = FS_BLOCK_SIZE;
found:
    r = b->data + off;
    put32(r, ino);
    put16(r + 4, rl);
    r[6] = (uint8_t)nlen;
    r[7] = type;
    fs_memcpy(r + DIRENT_HDR, name, nlen);
    fs_memset(r + DIRENT_HDR + nlen, 0, DIRENT_SIZE(nlen) - DIRENT_HDR - nlen);
    bdirty(b);
    brelse(b);
    di.mtime = di.ctime = now(fs);
out_inode:
    {
        int err2 = iwrite(fs, dir, &di);
        return err ? err : err2;
    }
}

/* Remove the entry at `loc` (found by dir_find). */
static int dir_remove(struct fs *fs, uint32_t dir, const struct dloc *loc)
{
    struct fs_buf *b;
    struct dinode di;
    int err = bget(fs, loc->bno, false, &b);
    if (err)
        return err;
    if (loc->prev >= 0) {
        uint8_t *p = b->data + loc->prev;
        put16(p + 4, get16(p + 4) + get16(b->data + loc->off + 4));
    } else {
        put32(b->data + loc->off, 0);
    }
    bdirty(b);
    brelse(b);
    if ((err = iget(fs, dir, &di)))
        return err;
    di.mtime = di.ctime = now(fs);
    return iwrite(fs, dir, &di);
}

/* Point the entry at `loc` to another inode. */
static int dir_set(struct fs *fs, const struct dloc *loc, uint32_t ino, uint8_t type)
{
    struct fs_buf *b;
    int err = bget(fs, loc->bno, false, &b);
    if (err)
        return err;
    put32(b->data + loc->off, ino);
    b->data[loc->off + 7] = type;
    bdirty(b);
    brelse(b);
    return 0;
}

/* 1 if the directory has no entries but "." and "..", 0 if it has. */
static int dir_is_empty(struct fs *fs, struct dinode *di)
{
    uint32_t fbn, nb = size_blocks(di->size);
    for (fbn = 0; fbn < nb; fbn++) {
        struct fs_buf *b;
        uint32_t bno, off;
        int err;
        if ((err = dir_block(fs, di, fbn, &bno)) || (err = bget(fs, bno, false, &b)))
            return err;
        for (off = 0; off < FS_BLOCK_SIZE; off += get16(b->data + off + 4)) {
            const uint8_t *r = b->data + off;
            if (!rec_ok(b->data, off)) {
                brelse(b);
                return FS_EUCLEAN;
            }
            if (get32(r) && !is_dot_or_dotdot((const char *)r + DIRENT_HDR, r[6])) {
                brelse(b);
                return 0;
            }
        }
        brelse(b);
    }
    return 1;
}

int fs_lookup(struct fs *fs, uint32_t dir, const char *name, uint32_t *ino)
{
    int n = check_name(name);
    if (n < 0)
        return n;
    return dir_find(fs, dir, name, (uint32_t)n, ino, NULL);
}

int fs_namei(struct fs *fs, const char *path, uint32_t *ino)
{
    char comp[FS_NAME_MAX + 1];
    uint32_t cur = FS_ROOT_INO;
    int err;
    if (!path)
        return FS_EINVAL;
    for (;;) {
        uint32_t n = 0;
        while (*path == '/')
            path++;
        if (!*path)
            break;
        while (path[n] && path[n] != '/') {
            if (n >= FS_NAME_MAX)
                return FS_ENAMETOOLONG;
            comp[n] = path[n];
            n++;
        }
        comp[n] = 0;
        path += n;
        if ((err = dir_find(fs, cur, comp, n, &cur, NULL)))
            return err;
    }
    *ino = cur;
    return 0;
}

int fs_readdir(struct fs *fs, uint32_t dir, uint64_t *cookie, struct fs_dirent *de)
{
    struct dinode di;
    uint64_t pos = *cookie;
    int err = iget(fs, dir, &di);
    if (err)
        return err;
    if (!FS_S_ISDIR(di.mode))
        return FS_ENOTDIR;
    while (pos < di.size) {
        struct fs_buf *b;
        uint32_t fbn = (uint32_t)(pos >> BSHIFT), want = (uint32_t)pos & BMASK, bno, off;
        if ((err = dir_block(fs, &di, fbn, &bno)) || (err = bget(fs, bno, false, &b)))
            return err;
        for (off = 0; off < FS_BLOCK_SIZE; off += get16(b->data + off + 4)) {
            const uint8_t *r = b->data + off;
            if (!rec_ok(b->data, off)) {
                brelse(b);
                return FS_EUCLEAN;
            }
            if (off < want || !get32(r))
                continue;
            de->ino = get32(r);
            de->type = r[7];
            de->namelen = r[6];
            fs_memcpy(de->name, r + DIRENT_HDR, r[6]);
            de->name[r[6]] = 0;
            *cookie = ((uint64_t)fbn << BSHIFT) + off + get16(r + 4);
            brelse(b);
            return 1;
        }
        brelse(b);
        pos = (uint64_t)(fbn + 1) << BSHIFT;
    }
    *cookie = pos;
    return 0;
}

/* ------------------------------------------------------------ namespace */

static int nlink_add(struct fs *fs, uint32_t ino, int delta)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    di.nlink = (uint32_t)((int)di.nlink + delta);
    di.ctime = now(fs);
    return iwrite(fs, ino, &di);
}

/* An inode lost its last link: free it now or make it an orphan. */
static int drop_inode(struct fs *fs, uint32_t ino)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    if (di.nlink)
        return 0;
    if (fs->dev.is_open && fs->dev.is_open(fs->dev.ctx, ino)) {
        di.next_orphan = fs->orphan_head;
        fs->orphan_head = ino;
        fs->sb_dirty = true;
        return iwrite(fs, ino, &di);
    }
    return ifree(fs, ino, &di);
}

int fs_release(struct fs *fs, uint32_t ino)
{
    struct dinode di;
    uint32_t prev = 0, cur, guard = 0;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    if (di.nlink)
        return 0;
    /* unlink it from the orphan list */
    for (cur = fs->orphan_head; cur && guard < fs->ninodes; guard++) {
        struct dinode o;
        if ((err = iread(fs, cur, &o)))
            return err;
        if (cur == ino) {
            if (prev) {
                struct dinode p;
                if ((err = iread(fs, prev, &p)))
                    return err;
                p.next_orphan = o.next_orphan;
                if ((err = iwrite(fs, prev, &p)))
                    return err;
            } else {
                fs->orphan_head = o.next_orphan;
                fs->sb_dirty = true;
            }
            break;
        }
        prev = cur;
        cur = o.next_orphan;
    }
    return ifree(fs, ino, &di);
}

static int make_node(struct fs *fs, uint32_t dir, const char *name, uint32_t mode,
                     uint32_t rdev, uint32_t *ino_out)
{
    struct dinode di;
    uint32_t ino, dummy;
    int n = check_name(name), err;
    if (n < 0)
        return n;
    err = dir_find(fs, dir, name, (uint32_t)n, &dummy, NULL);
    if (err != FS_ENOENT)
        return err ? err : FS_EEXIST;
    if ((err = ialloc(fs, mode, &ino, &di)))
        return err;
    di.nlink = 1;
    di.rdev = rdev;
    if ((err = iwrite(fs, ino, &di)))
        return err;
    if ((err = dir_add(fs, dir, name, (uint32_t)n, ino, mode_to_dt(mode)))) {
        di.nlink = 0;
        ifree(fs, ino, &di);
        return err;
    }
    if (ino_out)
        *ino_out = ino;
    return 0;
}

int fs_mknod(struct fs *fs, uint32_t dir, const char *name, uint32_t mode,
             uint32_t rdev, uint32_t *ino)
{
    uint32_t type = mode & FS_S_IFMT;
    if (type == 0)
        type = FS_S_IFREG;
    if (type == FS_S_IFDIR || mode_to_dt(type) == FS_DT_UNKNOWN)
        return FS_EINVAL;
    return make_node(fs, dir, name, type | (mode & 07777u), rdev, ino);
}

int fs_create(struct fs *fs, uint32_t dir, const char *name, uint32_t mode, uint32_t *ino)
{
    return fs_mknod(fs, dir, name, mode, 0, ino);
}

int fs_symlink(struct fs *fs, uint32_t dir, const char *name, const char *target, uint32_t *ino_out)
{
    uint32_t ino, len = 0;
    int32_t r;
    int err;
    while (target[len])
        if (++len >= FS_BLOCK_SIZE)
            return FS_ENAMETOOLONG;
    if ((err = make_node(fs, dir, name, FS_S_IFLNK | 0777u, 0, &ino)))
        return err;
    r = fs_write(fs, ino, 0, target, len);
    if (r != (int32_t)len) {
        fs_unlink(fs, dir, name);
        return r < 0 ? r : FS_ENOSPC;
    }
    if (ino_out)
        *ino_out = ino;
    return 0;
}

int32_t fs_readlink(struct fs *fs, uint32_t ino, char *buf, uint32_t len)
{
    struct dinode di;
    int err = iget(fs, ino, &di);
    if (err)
        return err;
    if (!FS_S_ISLNK(di.mode))
        return FS_EINVAL;
    return do_read(fs, &di, 0, buf, len);
}

int fs_mkdir(struct fs *fs, uint32_t dir, const char *name, uint32_t mode, uint32_t *ino_out)
{
    struct dinode di, pdi;
    struct fs_buf *b;
    uint32_t ino, bno, dummy;
    int n = check_name(name), err;
    if (n < 0)
        return n;
    err = dir_find(fs, dir, name, (uint32_t)n, &dummy, NULL);
    if (err != FS_ENOENT)
        return err ? err : FS_EEXIST;
    if ((err = iget(fs, dir, &pdi)))
        return err;
    if (pdi.nlink >= NLINK_MAX)
        return FS_EMLINK;
    if ((err = ialloc(fs, FS_S_IFDIR | (mode & 07777u), &ino, &di)))
        return err;
    di.nlink = 2;
    if ((err = bmap(fs, &di, 0, true, &bno)) || (err = bget(fs, bno, false, &b))) {
        di.nlink = 0;
        ifree(fs, ino, &di);
        return err;
    }
    /* "." (12 bytes) and ".." (rest of the block) */
    put32(b->data, ino);
    put16(b->data + 4, 12);
    b->data[6] = 1;
    b->data[7] = FS_DT_DIR;
    b->data[8] = '.';
    put32(b->data + 12, dir);
    put16(b->data + 16, FS_BLOCK_SIZE - 12);
    b->data[18] = 2;
    b->data[19] = FS_DT_DIR;
    b->data[20] = '.';
    b->data[21] = '.';
    bdirty(b);
    brelse(b);
    di.size = FS_BLOCK_SIZE;
    if ((err = iwrite(fs, ino, &di)))
        return err;
    if ((err = dir_add(fs, dir, name, (uint32_t)n, ino, FS_DT_DIR))) {
        di.nlink = 0;
        ifree(fs, ino, &di);
        return err;
    }
    if ((err = nlink_add(fs, dir, 1)))
        return err;
    if (ino_out)
        *ino_out = ino;
    return 0;
}

int fs_link(struct fs *fs, uint32_t ino, uint32_t dir, const char *name)
{
    struct dinode di;
    uint32_t dummy;
    int n = check_name(name), err;
    if (n < 0)
        return n;
    if ((err = iget(fs, ino, &di)))
        return err;
    if (FS_S_ISDIR(di.mode))
        return FS_EPERM;
    if (di.nlink == 0)
        return FS_ENOENT;           /* unlinked but open: cannot be linked again */
    if (di.nlink >= NLINK_MAX)
        return FS_EMLINK;
    err = dir_find(fs, dir, name, (uint32_t)n, &dummy, NULL);
    if (err != FS_ENOENT)
        return err ? err : FS_EEXIST;
    if ((err = dir_add(fs, dir, name, (uint32_t)n, ino, mode_to_dt(di.mode))))
        return err;
    return nlink_add(fs, ino, 1);
}

int fs_unlink(struct fs *fs, uint32_t dir, const char *name)
{
    struct dinode di;
    struct dloc loc;
    uint32_t ino;
    int n = check_name(name), err;
    if (n < 0)
        return n;
    if ((err = dir_find(fs, dir, name, (uint32_t)n, &ino, &loc)))
        return err;
    if ((err = iget(fs, ino, &di)))
        return err;
    if (FS_S_ISDIR(di.mode))
        return FS_EISDIR;
    if ((err = dir_remove(fs, dir, &loc)) || (err = nlink_add(fs, ino, -1)))
        return err;
    return drop_inode(fs, ino);
}

int fs_rmdir(struct fs *fs, uint32_t dir, const char *name)
{
    struct dinode di;
    struct dloc loc;
    uint32_t ino;
    int n = check_name(name), err;
    if (n < 0)
        return n;
    if (n == 1 && name[0] == '.')
        return FS_EINVAL;
    if (n == 2 && name[0] == '.' && name[1] == '.')
        return FS_ENOTEMPTY;
    if ((err = dir_find(fs, dir, name, (uint32_t)n, &ino, &loc)))
        return err;
    if ((err = iget(fs, ino, &di)))
        return err;
    if (!FS_S_ISDIR(di.mode))
        return FS_ENOTDIR;
    if (ino == FS_ROOT_INO)
        return FS_EBUSY;
    if ((err = dir_is_empty(fs, &di)) <= 0)
        return err ? err : FS_ENOTEMPTY;
    if ((err = dir_remove(fs, dir, &loc)) || (err = nlink_add(fs, dir, -1)))
        return err;
    if ((err = iget(fs, ino, &di)))
        return err;
    di.nlink = 0;
    di.ctime = now(fs);
    if ((err = iwrite(fs, ino, &di)))
        return err;
    return drop_inode(fs, ino);
}

int fs_rename(struct fs *fs, uint32_t olddir, const char *oldname,
              uint32_t newdir, const char *newname)
{
    struct dinode src, tgt, nd;
    struct dloc oloc, nloc;
    uint32_t sino, tino = 0;
    bool exists, sdir;
    int on = check_name(oldname), nn = check_name(newname), err;
    if (on < 0)
        return on;
    if (nn < 0)
        return nn;
    if (is_dot_or_dotdot(oldname, (uint32_t)on) || is_dot_or_dotdot(newname, (uint32_t)nn))
        return FS_EINVAL;
    if ((err = iget(fs, newdir, &nd)))
        return err;
    if (!FS_S_ISDIR(nd.mode))
        return FS_ENOTDIR;
    if ((err = dir_find(fs, olddir, oldname, (uint32_t)on, &sino, &oloc)))
        return err;
    if ((err = iget(fs, sino, &src)))
        return err;
    sdir = FS_S_ISDIR(src.mode);
    err = dir_find(fs, newdir, newname, (uint32_t)nn, &tino, &nloc);
    if (err && err != FS_ENOENT)
        return err;
    exists = !err;
    if (exists && tino == sino)
        return 0;
    if (sdir && olddir != newdir) {
        /* newdir must not be inside the directory being moved */
        uint32_t p = newdir, guard;
        for (guard = 0; p != FS_ROOT_INO; guard++) {
            if (p == sino)
                return FS_EINVAL;
            if (guard > fs->ninodes)
                return FS_EUCLEAN;
            if ((err = dir_find(fs, p, "..", 2, &p, NULL)))
                return err;
        }
    }
    if (exists) {
        if ((err = iget(fs, tino, &tgt)))
            return err;
        if (sdir) {
            if (!FS_S_ISDIR(tgt.mode))
                return FS_ENOTDIR;
            if ((err = dir_is_empty(fs, &tgt)) <= 0)
                return err ? err : FS_ENOTEMPTY;
        } else if (FS_S_ISDIR(tgt.mode)) {
            return FS_EISDIR;
        }
        if ((err = dir_set(fs, &nloc, sino, mode_to_dt(src.mode))))
            return err;
        if (FS_S_ISDIR(tgt.mode)) {
            tgt.nlink = 0;
            if ((err = nlink_add(fs, newdir, -1)))    /* lost tgt's ".." */
                return err;
        } else {
            tgt.nlink--;
        }
        tgt.ctime = now(fs);
        if ((err = iwrite(fs, tino, &tgt)))
            return err;
        if ((err = iget(fs, newdir, &nd)))
            return err;
        nd.mtime = nd.ctime = now(fs);
        if ((err = iwrite(fs, newdir, &nd)))
            return err;
    } else {
        if (sdir && olddir != newdir && nd.nlink >= NLINK_MAX)
            return FS_EMLINK;
        if ((err = dir_add(fs, newdir, newname, (uint32_t)nn, sino, mode_to_dt(src.mode))))
            return err;
    }
    /* the old entry may have moved inside its block: find it again */
    if ((err = dir_find(fs, olddir, oldname, (uint32_t)on, &sino, &oloc)) ||
        (err = dir_remove(fs, olddir, &oloc)))
        return err;
    if (sdir && olddir != newdir) {
        struct dloc dd;
        uint32_t parent;
        if ((err = dir_find(fs, sino, "..", 2, &parent, &dd)) ||
            (err = dir_set(fs, &dd, newdir, FS_DT_DIR)) ||
            (err = nlink_add(fs, olddir, -1)) ||
            (err = nlink_add(fs, newdir, 1)))
            return err;
    }
    if ((err = nlink_add(fs, sino, 0)))     /* ctime */
        return err;
    if (exists)
        return drop_inode(fs, tino);
    return 0;
}

/* ------------------------------------------------------------- mounting */

int fs_mount(struct fs *fs, const struct fs_dev *dev, void *cache, size_t cache_bytes)
{
    uintptr_t p = ((uintptr_t)cache + 7u) & ~(uintptr_t)7u;
    size_t avail, per;
    uint32_t i, n, guard;
    struct fs_buf *b;
    uint8_t *sb;
    int err;

    fs_memset(fs, 0, sizeof *fs);
    if (!dev || !dev->read || !dev->write || !cache || cache_bytes < 8)
        return FS_EINVAL;
    fs->dev = *dev;
    avail = cache_bytes - (size_t)(p - (uintptr_t)cache);
    per = FS_BLOCK_SIZE + sizeof(struct fs_buf) + sizeof(int32_t);
    n = (uint32_t)(avail / per);
    if (n < FS_MIN_BUFS)
        return FS_EINVAL;
    fs->nbufs = n;
    fs->bufs = (struct fs_buf *)(p + (uintptr_t)n * FS_BLOCK_SIZE);
    fs->hash = (int32_t *)(fs->bufs + n);
    fs->lru_head = fs->lru_tail = -1;
    for (i = 0; i < n; i++) {
        struct fs_buf *bb = &fs->bufs[i];
        bb->data = (uint8_t *)(p + (uintptr_t)i * FS_BLOCK_SIZE);
        bb->blockno = 0;
        bb->hnext = -1;
        bb->refcnt = 0;
        bb->valid = bb->dirty = 0;
        fs->hash[i] = -1;
        lru_push_front(fs, (int32_t)i);
    }
    fs->total_blocks = 1;       /* so bget(0) is allowed */
    if ((err = bget(fs, 0, false, &b)))
        goto fail;
    sb = b->data;
    fs->total_blocks = get32(sb + SB_TOTAL_BLOCKS);
    fs->ninodes = get32(sb + SB_NINODES);
    fs->bbitmap_start = get32(sb + SB_BBITMAP_START);
    fs->bbitmap_blocks = get32(sb + SB_BBITMAP_BLKS);
    fs->ibitmap_start = get32(sb + SB_IBITMAP_START);
    fs->ibitmap_blocks = get32(sb + SB_IBITMAP_BLKS);
    fs->itable_start = get32(sb + SB_ITABLE_START);
    fs->itable_blocks = get32(sb + SB_ITABLE_BLKS);
    fs->data_start = get32(sb + SB_DATA_START);
    fs->free_blocks = get32(sb + SB_FREE_BLOCKS);
    fs->free_inodes = get32(sb + SB_FREE_INODES);
    fs->orphan_head = get32(sb + SB_ORPHAN_HEAD);
    err = 0;
    if (get32(sb + SB_MAGIC) != FS_MAGIC || get32(sb + SB_VERSION) != FS_VERSION ||
        get32(sb + SB_BLOCK_SIZE) != FS_BLOCK_SIZE || get32(sb + SB_INODE_SIZE) != INODE_SIZE ||
        get32(sb + SB_ROOT_INO) != FS_ROOT_INO)
        err = FS_EINVAL;
    brelse(b);
    if (err)
        goto fail;
    if (fs->ninodes < 2 || fs->ninodes > fs->itable_blocks * INODES_PER_BLK ||
        fs->bbitmap_start != 1 ||
        fs->bbitmap_blocks * BITS_PER_BLK < fs->total_blocks ||
        fs->ibitmap_start != fs->bbitmap_start + fs->bbitmap_blocks ||
        fs->ibitmap_blocks * BITS_PER_BLK < fs->ninodes ||
        fs->itable_start != fs->ibitmap_start + fs->ibitmap_blocks ||
        fs->data_start != fs->itable_start + fs->itable_blocks ||
        fs->data_start >= fs->total_blocks ||
        fs->free_blocks > fs->total_blocks || fs->free_inodes > fs->ninodes) {
        err = FS_EINVAL;
        goto fail;
    }
    fs->balloc_hint = fs->data_start;
    fs->ialloc_hint = FS_ROOT_INO;
    fs->sb_dirty = true;        /* the first sync records state 0 (in use) */
    /* free the orphans of an earlier life */
    for (guard = 0; fs->orphan_head && guard < fs->ninodes; guard++) {
        struct dinode di;
        uint32_t ino = fs->orphan_head;
        if ((err = iread(fs, ino, &di)))
            goto fail;
        fs->orphan_head = di.next_orphan;
        fs->sb_dirty = true;
        if (di.mode && !di.nlink && (err = ifree(fs, ino, &di)))
            goto fail;
    }
    return 0;
fail:
    fs->nbufs = 0;
    return err;
}
