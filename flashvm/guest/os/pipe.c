/*
 * pipe.c -- pipes: a ring buffer with reader and writer counts.
 */
#include "fs.h"

#define PIPE_SIZE 4096
struct pipe {
    struct spinlock lock;
    u32 r, w;             /* free-running indices */
    int readers, writers;
    u8 buf[PIPE_SIZE];
};

void pipe_close(struct pipe *p, int writer)
{
    spin_lock(&p->lock);
    if (writer) p->writers--; else p->readers--;
    int dead = p->readers == 0 && p->writers == 0;
    wakeup(p);
    poll_wake();
    spin_unlock(&p->lock);
    if (dead) kfree(p);
}

long pipe_read(struct file *f, u32 ubuf, u32 n)
{
    struct pipe *p = f->pipe;
    struct mm *mm = current()->mm;
    spin_lock(&p->lock);
    while (p->r == p->w) {
        if (p->writers == 0) { spin_unlock(&p->lock); return 0; }
        if (f->flags & O_NONBLOCK) { spin_unlock(&p->lock); return -EAGAIN; }
        if (sleep_intr(p, &p->lock)) { spin_unlock(&p->lock); return -EINTR; }
    }
    u32 done = 0;
    u8 tmp[256];
    while (done < n && p->r != p->w) {
        u32 k = 0;
        while (k < sizeof tmp && done + k < n && p->r != p->w)
            tmp[k++] = p->buf[p->r++ % PIPE_SIZE];
        spin_unlock(&p->lock);
        if (copyout(mm, ubuf + done, tmp, k)) { spin_lock(&p->lock); wakeup(p); spin_unlock(&p->lock); return done ? (long)done : -EFAULT; }
        done += k;
        spin_lock(&p->lock);
    }
    wakeup(p);
    poll_wake();
    spin_unlock(&p->lock);
    return done;
}

long pipe_write(struct file *f, const u8 *kbuf, u32 ubuf, u32 n)
{
    struct pipe *p = f->pipe;
    struct mm *mm = current()->mm;
    u32 done = 0;
    u8 tmp[256];
    spin_lock(&p->lock);
    while (done < n) {
        if (p->readers == 0) {
            spin_unlock(&p->lock);
            send_signal(current(), SIGPIPE, 0);
            return done ? (long)done : -EPIPE;
        }
        if (p->w - p->r == PIPE_SIZE) {
            if (f->flags & O_NONBLOCK) { spin_unlock(&p->lock); return done ? (long)done : -EAGAIN; }
            wakeup(p);
            if (sleep_intr(p, &p->lock)) { spin_unlock(&p->lock); return done ? (long)done : -EINTR; }
            continue;
        }
        u32 k = MIN(n - done, MIN((u32)sizeof tmp, PIPE_SIZE - (p->w - p->r)));
        if (kbuf) {
            memcpy(tmp, kbuf + done, k);
        } else {
            spin_unlock(&p->lock);
            if (copyin(mm, tmp, ubuf + done, k)) return done ? (long)done : -EFAULT;
            spin_lock(&p->lock);
            k = MIN(k, PIPE_SIZE - (p->w - p->r));
        }
        for (u32 i = 0; i < k; i++)
            p->buf[p->w++ % PIPE_SIZE] = tmp[i];
        done += k;
        wakeup(p);
        poll_wake();
    }
    spin_unlock(&p->lock);
    return done;
}

int pipe_alloc(struct file **rf, struct file **wf)
{
    struct pipe *p = kzalloc(sizeof *p);
    if (!p) return -ENOMEM;
    spin_init(&p->lock, "pipe");
    p->readers = p->writers = 1;
    *rf = file_alloc();
    *wf = file_alloc();
    if (!*rf || !*wf) { kfree(p); kfree(*rf); kfree(*wf); return -ENOMEM; }
    (*rf)->type = (*wf)->type = F_PIPE;
    (*rf)->pipe = (*wf)->pipe = p;
    (*rf)->flags = O_RDONLY;
    (*wf)->flags = O_WRONLY;
    return 0;
}

/* bytes waiting to be read (FIONREAD) */
u32 pipe_nread(struct pipe *p)
{
    return p->w - p->r;
}

/* what poll reports for this end (POLLIN/POLLHUP for the reader,
 * POLLOUT/POLLERR for the writer) */
u32 pipe_poll(struct file *f)
{
    struct pipe *p = f->pipe;
    u32 m = 0;
    spin_lock(&p->lock);
    if ((f->flags & O_ACCMODE) == O_RDONLY) {
        if (p->r != p->w) m |= 0x0041;          /* POLLIN | POLLRDNORM */
        if (p->writers == 0) m |= 0x0010;       /* POLLHUP */
    } else {
        if (p->w - p->r < PIPE_SIZE) m |= 0x0004;   /* POLLOUT */
        if (p->readers == 0) m |= 0x0008;       /* POLLERR */
    }
    spin_unlock(&p->lock);
    return m;
}
