/* nfs.c -- /sbin/nfs: a small file service over the virtual subnet (docs/disco.md).
 *
 *   nfs serve DIR CLIENTS          export DIR read-only; exit once CLIENTS clients are done
 *   nfs mount DIR [-- CMD ARGS...]  copy the server's export into DIR (a ramfs: /nfs), run
 *                                  CMD, tell the server this client is done, exit with CMD's status
 *
 * Frames are raw Ethernet frames on /dev/net0 with a 64-byte header (struct hdr).  A reply
 * carrying file data puts the data right after the header, so that on the wire and in the
 * receiver's buffer it lies on whole pages: the server sends it from a kernel slot kept per
 * (file, offset) (ioctl NETIO_SENDSLOT), the client gives the pages to the file as they
 * arrived (ioctl NETIO_RECVFILE).  Under Disco the monitor remaps those pages instead of
 * copying them, so every client that reads a file page maps the server's machine page.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NETIO_RECVFILE 0x4E01
#define NETIO_SENDSLOT 0x4E02
#define ETHERTYPE 0x88B5            /* "local experimental" */
#define PAGE 4096
#define CHUNK (15 * PAGE)           /* file bytes per reply: header + 15 pages fit a 64 KB frame */
#define MAXSLOTS 256
enum { OP_LIST = 1, OP_READ = 2, OP_DONE = 3, OP_REPLY = 0x80 };

struct hdr {
    uint8_t dst[6], src[6];
    uint8_t type[2];
    uint16_t op;
    uint32_t xid;
    int32_t status;
    uint32_t off, len, size;
    uint8_t pad[28];
};

static int net;
static uint8_t mymac[6];
static uint8_t frame[65536] __attribute__((aligned(8)));

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void header(struct hdr *h, const uint8_t *to, int op, uint32_t xid)
{
    memset(h, 0, sizeof *h);
    memcpy(h->dst, to, 6);
    memcpy(h->src, mymac, 6);
    h->type[0] = ETHERTYPE >> 8;
    h->type[1] = ETHERTYPE & 0xFF;
    h->op = op;
    h->xid = xid;
}

static void send_frame(const struct hdr *h, const void *body, uint32_t n)
{
    memcpy(frame, h, sizeof *h);
    if (n) memcpy(frame + sizeof *h, body, n);
    if (write(net, frame, sizeof *h + n) < 0) die("nfs: send");
}

/* the next frame of the service (others are ignored); returns its length */
static long recv_frame(void)
{
    for (;;) {
        long n = read(net, frame, sizeof frame);
        if (n < 0) die("nfs: receive");
        struct hdr *h = (struct hdr *)frame;
        if (n >= (long)sizeof *h && h->type[0] == ETHERTYPE >> 8 && h->type[1] == (ETHERTYPE & 0xFF))
            return n;
    }
}

/* ------------------------------------------------------------ server */
static char listing[60000];
static size_t nlisting;

static void walk(const char *root, const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", root, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char r[256], full[512];
        struct stat st;
        snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
        snprintf(full, sizeof full, "%s%s", root, r);
        if (stat(full, &st)) continue;
        int dir = S_ISDIR(st.st_mode);
        if (!dir && !S_ISREG(st.st_mode)) continue;
        nlisting += snprintf(listing + nlisting, sizeof listing - nlisting, "%c %lu %o %s\n",
                             dir ? 'd' : 'f', (unsigned long)st.st_size, (unsigned)(st.st_mode & 0777), r);
        if (nlisting >= sizeof listing) { fprintf(stderr, "nfs: export too large\n"); exit(1); }
        if (dir) walk(root, r);
    }
    closedir(d);
}

struct slot { char path[256]; uint32_t off, len, size; };
static struct slot slots[MAXSLOTS];
static int nslots;

static int serve(const char *root, int clients)
{
    walk(root, "");
    static uint8_t data[sizeof(struct hdr) + CHUNK] __attribute__((aligned(8)));
    int done = 0;
    while (done < clients) {
        recv_frame();
        struct hdr q = *(struct hdr *)frame, r;
        header(&r, q.src, q.op | OP_REPLY, q.xid);
        if (q.op == OP_LIST) {
            r.len = nlisting;
            send_frame(&r, listing, nlisting);
        } else if (q.op == OP_DONE) {
            done++;
            send_frame(&r, NULL, 0);
        } else if (q.op == OP_READ) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(q.len < 255 ? q.len : 255), (char *)frame + sizeof q);
            int s;
            for (s = 0; s < nslots; s++)
                if (slots[s].off == q.off && !strcmp(slots[s].path, name)) break;
            uint32_t fill = 0;
            if (s == nslots) {              /* first read of this chunk: into a new slot */
                char full[512];
                snprintf(full, sizeof full, "%s%s", root, name);
                int fd = open(full, O_RDONLY);
                struct stat st;
                if (fd < 0 || fstat(fd, &st)) {
                    r.status = -1;
                    send_frame(&r, NULL, 0);
                    if (fd >= 0) close(fd);
                    continue;
                }
                long n = pread(fd, data + sizeof r, CHUNK, q.off);
                close(fd);
                if (n < 0) n = 0;
                if (nslots == MAXSLOTS) {   /* out of slots: a plain (copied) reply */
                    r.len = n;
                    r.off = q.off;
                    r.size = st.st_size;
                    send_frame(&r, data + sizeof r, n);
                    continue;
                }
                snprintf(slots[s].path, sizeof slots[s].path, "%s", name);
                slots[s].off = q.off;
                slots[s].len = n;
                slots[s].size = st.st_size;
                nslots++;
                fill = sizeof r + n;
            }
            r.off = q.off;
            r.len = slots[s].len;
            r.size = slots[s].size;
            memcpy(data, &r, sizeof r);
            uint32_t w[4] = { s, fill ? (uint32_t)(uintptr_t)data : 0, fill, (uint32_t)(uintptr_t)&r };
            if (ioctl(net, NETIO_SENDSLOT, w) < 0) die("nfs: send slot");
        }
    }
    printf("nfs: served %d clients, %d file chunks\n", clients, nslots);
    return 0;
}

/* ------------------------------------------------------------ client */
static uint8_t server[6] = { 2, 0, 0, 0, 0, 1 };
static uint32_t xid;

static long call(int op, uint32_t off, const char *name)
{
    struct hdr q;
    header(&q, server, op, ++xid);
    q.off = off;
    q.len = name ? strlen(name) : 0;
    send_frame(&q, name, q.len);
    return 0;
}

static void expect(const struct hdr *h, int op)
{
    if (h->op != (op | OP_REPLY) || h->xid != xid || h->status) {
        fprintf(stderr, "nfs: bad reply (op %x xid %u status %d)\n", h->op, h->xid, h->status);
        exit(1);
    }
}

static int fetch(const char *dir, const char *rel, uint32_t size, unsigned mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die(path);
    for (uint32_t off = 0; off < size; off += CHUNK) {
        call(OP_READ, off, rel);
        struct hdr h;
        uint32_t w[4] = { fd, off, (uint32_t)(uintptr_t)&h, sizeof h };
        if (ioctl(net, NETIO_RECVFILE, w) < 0) die("nfs: receive file");
        expect(&h, OP_READ);
    }
    close(fd);
    chmod(path, mode & 0555);        /* the mount is read-only */
    return 0;
}

static int mount_and_run(const char *dir, char **cmd)
{
    call(OP_LIST, 0, NULL);
    long n;
    do n = recv_frame(); while (((struct hdr *)frame)->xid != xid);
    expect((struct hdr *)frame, OP_LIST);
    static char list[60001];
    uint32_t len = ((struct hdr *)frame)->len;
    memcpy(list, frame + sizeof(struct hdr), len < (uint32_t)n ? len : (uint32_t)n);
    int files = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        char kind;
        unsigned long size;
        unsigned mode;
        char rel[256];
        if (sscanf(line, "%c %lu %o %255s", &kind, &size, &mode, rel) != 4) continue;
        char path[512];
        snprintf(path, sizeof path, "%s%s", dir, rel);
        if (kind == 'd') {
            mkdir(path, 0755);
        } else {
            fetch(dir, rel, size, mode);       /* (uses no strtok: the walk goes on) */
            files++;
        }
    }
    int status = 0;
    if (cmd && cmd[0]) {
        pid_t p = fork();
        if (p == 0) {
            execv(cmd[0], cmd);
            perror(cmd[0]);
            _exit(127);
        }
        int st;
        waitpid(p, &st, 0);
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    call(OP_DONE, 0, NULL);
    do recv_frame(); while (((struct hdr *)frame)->xid != xid);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "serve") && strcmp(argv[1], "mount"))) {
        fprintf(stderr, "usage: nfs serve DIR CLIENTS | nfs mount DIR [-- CMD ARGS...]\n");
        return 2;
    }
    net = open("/dev/net0", O_RDWR);
    if (net < 0) die("nfs: /dev/net0");
    if (ioctl(net, 0x8927, mymac) < 0) die("nfs: MAC");
    if (!strcmp(argv[1], "serve"))
        return serve(argv[2], argc > 3 ? atoi(argv[3]) : 1);
    char **cmd = argc > 4 && !strcmp(argv[3], "--") ? argv + 4 : NULL;
    return mount_and_run(argv[2], cmd);
}
